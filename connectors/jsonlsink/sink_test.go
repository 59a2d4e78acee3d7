package jsonlsink_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/danube-console/danube-console/client"
	"github.com/danube-console/danube-console/connectors"
	"github.com/danube-console/danube-console/connectors/jsonlsink"
	"github.com/danube-console/danube-console/internal/jsonl"
)

// TestMain fails the package when a goroutine outlives its tests.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func noEnv(string) (string, bool) { return "", false }

// newSink parses raw settings and builds a sink (connected unless connect is false).
func newSink(t *testing.T, raw map[string]any, now func() time.Time) *jsonlsink.Sink {
	t.Helper()
	cfg, errs := jsonlsink.Spec().Parse(raw, noEnv)
	if len(errs) > 0 {
		t.Fatalf("Parse(%v): %v", raw, errs)
	}
	s, err := jsonlsink.New(cfg, connectors.Resources{Name: t.Name(), Now: now})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { s.Close(context.Background()) })
	return s
}

func connect(t *testing.T, s *jsonlsink.Sink) {
	t.Helper()
	if err := s.Connect(context.Background()); err != nil {
		t.Fatalf("Connect: %v", err)
	}
}

// message returns message i with every field set; odd messages have a binary payload.
func message(i int) *client.Message {
	payload := []byte(fmt.Sprintf(`{"n":%d,"text":"héllo <&>"}`, i))
	if i%2 == 1 {
		payload = []byte{0xff, 0xfe, byte(i), byte(i >> 8), 0}
	}
	return &client.Message{
		ID:            client.MessageID{ProducerID: 7, Topic: "/default/orders-part-1", BrokerAddr: "127.0.0.1:6650", Offset: uint64(1000 + i)},
		Payload:       payload,
		PublishTime:   time.UnixMilli(1_700_000_000_000 + int64(i)),
		ProducerName:  "producer-a",
		Attributes:    map[string]string{"seq": fmt.Sprint(i), "kind": "test"},
		RoutingKey:    fmt.Sprintf("key-%d", i%3),
		HasRoutingKey: i%5 != 0,
		SchemaID:      3,
		SchemaVersion: 2,
		RequestID:     uint64(50 + i),
		Subscription:  "archive",
	}
}

func messages(from, n int) []*client.Message {
	out := make([]*client.Message, n)
	for i := range out {
		out[i] = message(from + i)
	}
	return out
}

// readFile reads every record of a JSONL file.
func readFile(t *testing.T, path string) []jsonl.Record {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := jsonl.NewReader(f)
	var out []jsonl.Record
	for {
		rec, err := r.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		out = append(out, rec)
	}
}

// same compares records by their JSON form (time.Time values differ in representation, not in value).
func same(t *testing.T, got, want jsonl.Record) {
	t.Helper()
	g, _ := json.Marshal(got)
	w, _ := json.Marshal(want)
	if string(g) != string(w) {
		t.Fatalf("record\n got %s\nwant %s", g, w)
	}
}

// seqOf returns the message number a record was written from.
func seqOf(t *testing.T, r jsonl.Record) int {
	t.Helper()
	var n int
	if _, err := fmt.Sscan(r.Attributes["seq"], &n); err != nil {
		t.Fatalf("record without seq: %+v", r)
	}
	return n
}

func TestWritesRecordsReadableByJSONLReader(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out.jsonl")
	s := newSink(t, map[string]any{"path": path}, nil)
	connect(t, s)
	ctx := context.Background()
	var want []*client.Message
	for b := range 3 {
		batch := messages(len(want), 4+b)
		if err := s.Write(ctx, batch); err != nil {
			t.Fatalf("Write: %v", err)
		}
		want = append(want, batch...)
		// Right after Write returned, the file holds the batch (it was written and fsynced, not buffered).
		got := readFile(t, path)
		if len(got) != len(want) {
			t.Fatalf("after batch %d the file has %d records, want %d", b, len(got), len(want))
		}
		for i := range got {
			same(t, got[i], jsonl.FromMessage(want[i]))
		}
	}
	got := readFile(t, path)
	// Spot-check the fields themselves, not only the round trip.
	r0, r1 := got[0], got[1]
	if r0.Topic != "/default/orders-part-1" || r0.ProducerID != 7 || r0.BrokerAddr != "127.0.0.1:6650" || r0.Offset != 1000 ||
		!r0.PublishTime.Equal(time.UnixMilli(1_700_000_000_000)) || r0.Producer != "producer-a" || r0.RequestID != 50 ||
		r0.Subscription != "archive" || r0.Key != nil || r0.Attributes["kind"] != "test" || r0.SchemaID != 3 || r0.SchemaVersion != 2 {
		t.Fatalf("record 0 = %+v", r0)
	}
	if p, _ := r0.Bytes(); string(p) != `{"n":0,"text":"héllo <&>"}` || r0.Payload == nil {
		t.Fatalf("record 0 payload %q", p)
	}
	if p, _ := r1.Bytes(); r1.PayloadBase64 == nil || string(p) != string(message(1).Payload) {
		t.Fatalf("record 1 payload %q (base64 %v)", p, r1.PayloadBase64)
	}
	if r1.Key == nil || *r1.Key != "key-1" {
		t.Fatalf("record 1 key %v", r1.Key)
	}
	if err := s.Write(ctx, nil); err != nil {
		t.Fatalf("Write of an empty batch: %v", err)
	}
}

func TestAppendsToAnExistingFileAndCutsAPartialLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out.jsonl")
	good, _ := json.Marshal(jsonl.FromMessage(message(0)))
	if err := os.WriteFile(path, append(append(good, '\n'), `{"topic":"/default/x","pay`...), 0o644); err != nil {
		t.Fatal(err)
	}
	s := newSink(t, map[string]any{"path": path}, nil)
	connect(t, s)
	if err := s.Write(context.Background(), messages(1, 2)); err != nil {
		t.Fatal(err)
	}
	got := readFile(t, path)
	if len(got) != 3 {
		t.Fatalf("%d records, want 3", len(got))
	}
	for i, r := range got {
		if seqOf(t, r) != i {
			t.Fatalf("record %d is message %d", i, seqOf(t, r))
		}
	}
}

func TestMkdir(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a", "b", "out.jsonl")
	s := newSink(t, map[string]any{"path": path}, nil)
	err := s.Connect(context.Background())
	if err == nil || !strings.Contains(err.Error(), "mkdir") || connectors.KindOf(err) != connectors.KindRetryable {
		t.Fatalf("Connect without the directory = %v, want a retryable error suggesting mkdir", err)
	}
	s = newSink(t, map[string]any{"path": path, "mkdir": true}, nil)
	connect(t, s)
	if err := s.Write(context.Background(), messages(0, 1)); err != nil {
		t.Fatal(err)
	}
	if n := len(readFile(t, path)); n != 1 {
		t.Fatalf("%d records", n)
	}
}

// collect reads the rotated files (oldest first) and then the current one.
func collect(t *testing.T, s *jsonlsink.Sink) (files []string, recs []jsonl.Record) {
	t.Helper()
	rotated, err := s.Rotated()
	if err != nil {
		t.Fatal(err)
	}
	files = append(rotated, s.Path())
	for _, f := range files {
		recs = append(recs, readFile(t, f)...)
	}
	return files, recs
}

func TestRotationLosesAndDuplicatesNothing(t *testing.T) {
	lineLen := func(i int) int {
		b, _ := json.Marshal(jsonl.FromMessage(message(i)))
		return len(b) + 1
	}
	limit := int64(lineLen(0) * 5) // about five lines a file
	clock := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tick := func() time.Time { clock = clock.Add(400 * time.Millisecond); return clock } // several rotations share a second

	dir := t.TempDir()
	path := filepath.Join(dir, "out.jsonl")
	s := newSink(t, map[string]any{"path": path, "rotate_bytes": limit}, tick)
	connect(t, s)
	const total = 200
	for from := 0; from < total; from += 7 {
		if err := s.Write(context.Background(), messages(from, min(7, total-from))); err != nil {
			t.Fatalf("Write: %v", err)
		}
	}
	files, recs := collect(t, s)
	if len(files) < total/6 {
		t.Fatalf("only %d files for %d messages of ~%d bytes with rotate_bytes %d", len(files), total, lineLen(0), limit)
	}
	for _, f := range files {
		fi, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Size() > limit {
			t.Errorf("%s has %d bytes, above rotate_bytes %d", f, fi.Size(), limit)
		}
		if !strings.HasPrefix(filepath.Base(f), "out.jsonl") {
			t.Errorf("unexpected file %s", f)
		}
	}
	if len(recs) != total {
		t.Fatalf("%d records across %d files, want %d", len(recs), len(files), total)
	}
	for i, r := range recs {
		if seqOf(t, r) != i {
			t.Fatalf("record %d (in order across the files) is message %d", i, seqOf(t, r))
		}
		same(t, r, jsonl.FromMessage(message(i)))
	}
	// Names are <path>.<UTC time>.<n>.
	if base := filepath.Base(files[0]); base != "out.jsonl.20260102T030405Z.1" {
		t.Errorf("first rotated file is %s", base)
	}
}

func TestRotationKeepsKeepFiles(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "out.jsonl")
	b, _ := json.Marshal(jsonl.FromMessage(message(0)))
	limit := int64(len(b)+1) * 4
	s := newSink(t, map[string]any{"path": path, "rotate_bytes": limit, "keep_files": int64(3)}, nil)
	connect(t, s)
	const total = 100
	for from := 0; from < total; from += 3 {
		if err := s.Write(context.Background(), messages(from, min(3, total-from))); err != nil {
			t.Fatalf("Write: %v", err)
		}
	}
	files, recs := collect(t, s)
	if len(files) != 4 {
		t.Fatalf("files %v, want 3 rotated and the current one", files)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 4 {
		t.Fatalf("directory has %d entries, want 4", len(entries))
	}
	// The kept files hold the newest messages, contiguous, ending with the last one.
	if len(recs) == 0 || seqOf(t, recs[len(recs)-1]) != total-1 {
		t.Fatalf("the kept files do not end with the last message")
	}
	first := seqOf(t, recs[0])
	for i, r := range recs {
		if seqOf(t, r) != first+i {
			t.Fatalf("kept record %d is message %d, want %d", i, seqOf(t, r), first+i)
		}
	}
}

func TestMessageLargerThanTheLimitGetsAFileOfItsOwn(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out.jsonl")
	s := newSink(t, map[string]any{"path": path, "rotate_bytes": int64(100)}, nil) // every line is larger
	connect(t, s)
	if err := s.Write(context.Background(), messages(0, 3)); err != nil {
		t.Fatal(err)
	}
	if err := s.Write(context.Background(), messages(3, 1)); err != nil {
		t.Fatal(err)
	}
	files, recs := collect(t, s)
	if len(files) != 4 || len(recs) != 4 {
		t.Fatalf("%d files with %d records, want 4 and 4", len(files), len(recs))
	}
	for i, f := range files {
		if r := readFile(t, f); len(r) != 1 || seqOf(t, r[0]) != i {
			t.Fatalf("file %s holds %d records", f, len(r))
		}
	}
}

func TestWriteFailureIsRetryable(t *testing.T) {
	if _, err := os.Stat("/dev/full"); err != nil {
		t.Skip("no /dev/full")
	}
	s := newSink(t, map[string]any{"path": "/dev/full"}, nil) // every write fails with ENOSPC
	connect(t, s)
	err := s.Write(context.Background(), messages(0, 3))
	var be *connectors.BatchError
	if err == nil || connectors.KindOf(err) != connectors.KindRetryable || errors.As(err, &be) {
		t.Fatalf("Write to a full disk = %v (kind %v), want a retryable whole-batch error", err, connectors.KindOf(err))
	}
	if !strings.Contains(err.Error(), "no space") {
		t.Errorf("error %q does not say why", err)
	}
	// The next Write tries again (reopening the file) and fails the same way.
	if err := s.Write(context.Background(), messages(0, 1)); err == nil || connectors.KindOf(err) != connectors.KindRetryable {
		t.Fatalf("second Write = %v", err)
	}
}

func TestPathUnderAFileIsRetryable(t *testing.T) {
	file := filepath.Join(t.TempDir(), "plain")
	if err := os.WriteFile(file, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	s := newSink(t, map[string]any{"path": filepath.Join(file, "out.jsonl"), "mkdir": true}, nil)
	if err := s.Connect(context.Background()); err == nil || connectors.KindOf(err) != connectors.KindRetryable {
		t.Fatalf("Connect = %v, want a retryable error", err)
	}
	if err := s.Write(context.Background(), messages(0, 1)); err == nil || connectors.KindOf(err) != connectors.KindRetryable {
		t.Fatalf("Write = %v, want a retryable error", err)
	}
}

func TestClosedSink(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out.jsonl")
	s := newSink(t, map[string]any{"path": path}, nil)
	connect(t, s)
	if err := s.Write(context.Background(), messages(0, 2)); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(context.Background()); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := s.Close(context.Background()); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	err := s.Write(context.Background(), messages(2, 1))
	if !errors.Is(err, jsonlsink.ErrClosed) || connectors.KindOf(err) != connectors.KindFatal {
		t.Fatalf("Write after Close = %v", err)
	}
	if err := s.Connect(context.Background()); !errors.Is(err, jsonlsink.ErrClosed) {
		t.Fatalf("Connect after Close = %v", err)
	}
	if n := len(readFile(t, path)); n != 2 {
		t.Fatalf("%d records after Close, want 2", n)
	}
}

func TestBadSettings(t *testing.T) {
	for _, tc := range []struct {
		raw  map[string]any
		key  string
		want string
	}{
		{map[string]any{}, "path", "required"},
		{map[string]any{"path": int64(1)}, "path", "string"},
		{map[string]any{"path": "x", "rotate_bytes": int64(-1)}, "rotate_bytes", "outside"},
		{map[string]any{"path": "x", "rotate_bytes": "1MB"}, "rotate_bytes", "integer"},
		{map[string]any{"path": "x", "keep_files": int64(-2)}, "keep_files", "outside"},
		{map[string]any{"path": "x", "mkdir": "yes"}, "mkdir", "boolean"},
		{map[string]any{"path": "x", "fsync": true}, "fsync", "unknown key"},
	} {
		_, errs := jsonlsink.Spec().Parse(tc.raw, noEnv)
		if len(errs) != 1 || errs[0].Key != tc.key || !strings.Contains(errs[0].Err.Error(), tc.want) {
			t.Errorf("Parse(%v) = %v, want one error on %s mentioning %q", tc.raw, errs, tc.key, tc.want)
		}
	}
	cfg, errs := jsonlsink.Spec().Parse(map[string]any{"path": ""}, noEnv)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	if _, err := jsonlsink.New(cfg, connectors.Resources{}); connectors.KindOf(err) != connectors.KindConfig {
		t.Fatalf("New with an empty path = %v, want a config error", err)
	}
}

func TestFileMovedAwayIsNotWrittenBehindThePath(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "out.jsonl")
	s := newSink(t, map[string]any{"path": path}, nil)
	connect(t, s)
	ctx := context.Background()
	if err := s.Write(ctx, messages(0, 2)); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(path, path+".moved"); err != nil { // e.g. an external logrotate
		t.Fatal(err)
	}
	if err := s.Write(ctx, messages(2, 2)); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(path); err != nil { // deleted
		t.Fatal(err)
	}
	if err := s.Write(ctx, messages(4, 1)); err != nil {
		t.Fatal(err)
	}
	if n := len(readFile(t, path+".moved")); n != 2 {
		t.Fatalf("the moved file has %d records, want 2", n)
	}
	if got := readFile(t, path); len(got) != 1 || seqOf(t, got[0]) != 4 {
		t.Fatalf("the file at path has %d records, want message 4 alone", len(got))
	}
}
