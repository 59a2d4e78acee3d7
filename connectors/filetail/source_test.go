package filetail_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/danube-console/danube-console/connectors"
	"github.com/danube-console/danube-console/connectors/filetail"
	"github.com/danube-console/danube-console/internal/testenv"
)

// TestMain fails the package when a goroutine outlives its tests.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func noEnv(string) (string, bool) { return "", false }

// newSource builds and connects a source on path with a fast poll interval; extra settings override.
func newSource(t *testing.T, path string, extra map[string]any) *filetail.Source {
	t.Helper()
	raw := map[string]any{"path": path, "poll_interval": "5ms"}
	for k, v := range extra {
		raw[k] = v
	}
	cfg, errs := filetail.Spec().Parse(raw, noEnv)
	if len(errs) > 0 {
		t.Fatalf("Parse(%v): %v", raw, errs)
	}
	s, err := filetail.New(cfg, connectors.Resources{Name: t.Name()})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if err := s.Connect(context.Background()); err != nil {
		t.Fatalf("Connect: %v", err)
	}
	t.Cleanup(func() { s.Close(context.Background()) })
	return s
}

func appendTo(t *testing.T, path, text string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(text); err != nil {
		t.Fatal(err)
	}
}

// lines returns "prefix-from\n" ... for n lines.
func lines(prefix string, from, n int) string {
	var b strings.Builder
	for i := from; i < from+n; i++ {
		fmt.Fprintf(&b, "%s-%04d\n", prefix, i)
	}
	return b.String()
}

func names(prefix string, from, n int) []string {
	return strings.Fields(lines(prefix, from, n))
}

// batch is what one Read returned.
type batch struct {
	recs []connectors.Record
	ack  connectors.AckFunc
}

// readLines reads until n records arrived (failing after 5s) and returns the batches.
func readLines(t *testing.T, s *filetail.Source, n int) []batch {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var out []batch
	got := 0
	for got < n {
		recs, ack, err := s.Read(ctx)
		if err != nil {
			t.Fatalf("Read after %d of %d records: %v", got, n, err)
		}
		if len(recs) == 0 {
			t.Fatal("Read returned no records and no error")
		}
		out = append(out, batch{recs, ack})
		got += len(recs)
	}
	if got != n {
		t.Fatalf("read %d records, want %d", got, n)
	}
	return out
}

func payloads(bs []batch) []string {
	var out []string
	for _, b := range bs {
		for _, r := range b.recs {
			out = append(out, string(r.Payload))
		}
	}
	return out
}

func ackAll(t *testing.T, bs []batch) {
	t.Helper()
	for _, b := range bs {
		if err := b.ack(context.Background(), nil); err != nil {
			t.Fatalf("ack: %v", err)
		}
	}
}

func equal(t *testing.T, got, want []string) {
	t.Helper()
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("got  %v\nwant %v", got, want)
	}
}

// expectNothing checks that Read finds no record within d.
func expectNothing(t *testing.T, s *filetail.Source, d time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	recs, _, err := s.Read(ctx)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Read = %d records, %v; want nothing until the deadline", len(recs), err)
	}
}

func TestReadsAppendedLines(t *testing.T) {
	path := filepath.Join(t.TempDir(), "app.log")
	appendTo(t, path, "first\nsecond\r\n\n")
	s := newSource(t, path, nil)
	equal(t, payloads(readLines(t, s, 2)), []string{"first", "second"})
	appendTo(t, path, "third\n")
	equal(t, payloads(readLines(t, s, 1)), []string{"third"})
	expectNothing(t, s, 50*time.Millisecond)
}

func TestBatchSize(t *testing.T) {
	path := filepath.Join(t.TempDir(), "app.log")
	appendTo(t, path, lines("l", 0, 25))
	s := newSource(t, path, map[string]any{"batch_size": int64(10)})
	bs := readLines(t, s, 25)
	if len(bs) != 3 || len(bs[0].recs) != 10 || len(bs[2].recs) != 5 {
		t.Fatalf("batches of %d, %d, ...", len(bs[0].recs), len(bs[1].recs))
	}
	equal(t, payloads(bs), names("l", 0, 25))
}

func TestPartialLineWaitsForItsNewline(t *testing.T) {
	path := filepath.Join(t.TempDir(), "app.log")
	appendTo(t, path, "whole\npart")
	s := newSource(t, path, nil)
	equal(t, payloads(readLines(t, s, 1)), []string{"whole"})
	expectNothing(t, s, 50*time.Millisecond)
	appendTo(t, path, "ial line")
	expectNothing(t, s, 50*time.Millisecond)
	appendTo(t, path, "\nnext\n")
	equal(t, payloads(readLines(t, s, 2)), []string{"partial line", "next"})
}

func TestLongLinesAreSplit(t *testing.T) {
	path := filepath.Join(t.TempDir(), "app.log")
	long := strings.Repeat("0123456789", 2) + "abcde" // 25 bytes
	appendTo(t, path, long+"\n"+"exactly10!\r\n"+"short\n")
	s := newSource(t, path, map[string]any{"max_line_bytes": int64(10)})
	bs := readLines(t, s, 5)
	recs := bs[0].recs
	for _, b := range bs[1:] {
		recs = append(recs, b.recs...)
	}
	want := []struct {
		payload string
		partial bool
	}{{"0123456789", true}, {"0123456789", true}, {"abcde", false}, {"exactly10!", false}, {"short", false}}
	for i, w := range want {
		if string(recs[i].Payload) != w.payload || (recs[i].Attributes[filetail.PartialLineAttribute] == "true") != w.partial {
			t.Fatalf("record %d = %q %v, want %q partial=%v", i, recs[i].Payload, recs[i].Attributes, w.payload, w.partial)
		}
	}
}

func TestWaitsForAMissingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "later.log")
	s := newSource(t, path, map[string]any{"start_at": "end"}) // a new file is read from its start
	time.AfterFunc(50*time.Millisecond, func() { os.WriteFile(path, []byte("hello\n"), 0o644) })
	equal(t, payloads(readLines(t, s, 1)), []string{"hello"})
}

func TestRotationByRename(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "app.log")
	w, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	w.WriteString(lines("l", 0, 10))
	s := newSource(t, path, nil)
	got := payloads(readLines(t, s, 10))

	// The writer keeps writing to the renamed file (with an unterminated last line) until it reopens.
	if err := os.Rename(path, path+".1"); err != nil {
		t.Fatal(err)
	}
	w.WriteString(lines("l", 10, 5) + "l-0015")
	// path is missing: the source still follows the old file, and its partial last line waits.
	got = append(got, payloads(readLines(t, s, 5))...)
	expectNothing(t, s, 30*time.Millisecond)
	// The new file appears: the old one's unterminated last line is a line, then the new file follows.
	appendTo(t, path, lines("l", 16, 5))
	got = append(got, payloads(readLines(t, s, 6))...)
	appendTo(t, path, lines("l", 21, 3))
	got = append(got, payloads(readLines(t, s, 3))...)
	equal(t, got, names("l", 0, 24))
	expectNothing(t, s, 30*time.Millisecond)
}

func TestRotationByCopyTruncate(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "app.log")
	appendTo(t, path, lines("long-line-before-truncation", 0, 10))
	s := newSource(t, path, nil)
	bs := readLines(t, s, 10)
	ackAll(t, bs)
	got := payloads(bs)
	// copytruncate: copy the file, then truncate it in place (same inode); the writer goes on appending.
	old, _ := os.ReadFile(path)
	os.WriteFile(path+".1", old, 0o644)
	if err := os.Truncate(path, 0); err != nil {
		t.Fatal(err)
	}
	appendTo(t, path, lines("l", 10, 3))
	got = append(got, payloads(readLines(t, s, 3))...)
	appendTo(t, path, lines("l", 13, 2))
	got = append(got, payloads(readLines(t, s, 2))...)
	want := append(names("long-line-before-truncation", 0, 10), names("l", 10, 5)...)
	equal(t, got, want)
}

func TestPositionIsCommittedOnlyAfterAck(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "app.log")
	appendTo(t, path, lines("l", 0, 10))

	s := newSource(t, path, nil)
	bs := readLines(t, s, 10)
	if _, ok := s.Committed(); ok {
		t.Fatal("a position was committed before any ack")
	}
	if _, err := os.Stat(s.PositionFile()); !os.IsNotExist(err) {
		t.Fatalf("position file exists before any ack: %v", err)
	}
	s.Close(context.Background())

	// Nothing acked: a restart reads everything again.
	s = newSource(t, path, nil)
	bs = readLines(t, s, 10)
	equal(t, payloads(bs), names("l", 0, 10))
	ackAll(t, bs)
	p, ok := s.Committed()
	if fi, _ := os.Stat(path); !ok || p.Offset != fi.Size() {
		t.Fatalf("committed %+v, %v after acking the whole file of %d bytes", p, ok, fi.Size())
	}
	s.Close(context.Background())

	// Acked: a restart resumes after them, also with start_at = end (the saved position wins).
	appendTo(t, path, lines("l", 10, 2))
	s = newSource(t, path, map[string]any{"start_at": "end"})
	equal(t, payloads(readLines(t, s, 2)), names("l", 10, 2))
	expectNothing(t, s, 30*time.Millisecond)
}

func TestAcksOutOfOrderCommitInOrder(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "app.log")
	appendTo(t, path, lines("l", 0, 6))
	s := newSource(t, path, map[string]any{"batch_size": int64(2), "position_file": filepath.Join(dir, "pos.json")})
	bs := readLines(t, s, 6)
	if len(bs) != 3 {
		t.Fatalf("%d batches", len(bs))
	}
	ctx := context.Background()
	bs[2].ack(ctx, nil)
	bs[1].ack(ctx, nil)
	if _, ok := s.Committed(); ok {
		t.Fatal("committed past an unacknowledged batch")
	}
	bs[0].ack(ctx, nil)
	p, _ := s.Committed()
	if want := int64(len(lines("l", 0, 6))); p.Offset != want {
		t.Fatalf("committed offset %d, want %d (after the last batch)", p.Offset, want)
	}
	if _, err := os.Stat(filepath.Join(dir, "pos.json")); err != nil {
		t.Fatalf("position_file: %v", err)
	}
}

func TestFailedBatchBlocksLaterCommits(t *testing.T) {
	path := filepath.Join(t.TempDir(), "app.log")
	appendTo(t, path, lines("l", 0, 6))
	s := newSource(t, path, map[string]any{"batch_size": int64(2)})
	bs := readLines(t, s, 6)
	ctx := context.Background()
	bs[0].ack(ctx, nil)
	first, _ := s.Committed()
	bs[1].ack(ctx, errors.New("not published"))
	bs[2].ack(ctx, nil)
	if p, _ := s.Committed(); p != first {
		t.Fatalf("committed %+v past a failed batch", p)
	}
	// Connect after the failure goes back to the saved position: the failed batch's lines come again.
	if err := s.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	bs2 := readLines(t, s, 4)
	equal(t, payloads(bs2), names("l", 2, 4))
	bs[2].ack(ctx, nil) // a late ack from before the reconnect changes nothing
	if p, _ := s.Committed(); p != first {
		t.Fatalf("a stale ack committed %+v", p)
	}
	ackAll(t, bs2)
	if p, _ := s.Committed(); p.Offset != int64(len(lines("l", 0, 6))) {
		t.Fatalf("committed %+v", p)
	}
}

func TestRestartAfterRotationWhileDownStartsTheNewFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "app.log")
	appendTo(t, path, lines("old", 0, 5))
	s := newSource(t, path, nil)
	ackAll(t, readLines(t, s, 5))
	s.Close(context.Background())

	os.Rename(path, path+".1")
	appendTo(t, path, lines("new", 0, 3))
	s = newSource(t, path, nil)
	equal(t, payloads(readLines(t, s, 3)), names("new", 0, 3))
}

func TestRestartOnARewrittenFileStartsAtTheBeginning(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "app.log")
	appendTo(t, path, lines("old", 0, 5))
	s := newSource(t, path, nil)
	ackAll(t, readLines(t, s, 5))
	s.Close(context.Background())

	// Same inode, other content, longer than the saved offset: only the fingerprint tells.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(lines("rewritten", 0, 8))
	f.Close()
	s = newSource(t, path, nil)
	equal(t, payloads(readLines(t, s, 8)), names("rewritten", 0, 8))
}

func TestStartAtEnd(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "app.log")
	appendTo(t, path, lines("before", 0, 5)+"being wri")
	s := newSource(t, path, map[string]any{"start_at": "end"})
	if p, ok := s.Committed(); !ok || p.Offset != int64(len(lines("before", 0, 5))) {
		t.Fatalf("start_at end saved %+v, %v; want the end of the last complete line", p, ok)
	}
	expectNothing(t, s, 30*time.Millisecond)
	appendTo(t, path, "tten\nafter\n")
	equal(t, payloads(readLines(t, s, 2)), []string{"being written", "after"})
	s.Close(context.Background())

	// Nothing acked, but the starting point was saved: a restart does not skip to the new end.
	appendTo(t, path, "while down\n")
	s = newSource(t, path, map[string]any{"start_at": "end"})
	equal(t, payloads(readLines(t, s, 3)), []string{"being written", "after", "while down"})
}

func TestCloseWakesARead(t *testing.T) {
	path := filepath.Join(t.TempDir(), "app.log")
	appendTo(t, path, "")
	s := newSource(t, path, nil)
	errc := make(chan error, 1)
	go func() {
		_, _, err := s.Read(context.Background())
		errc <- err
	}()
	testenv.Eventually(t, 5*time.Second, func() bool { return testenv.GoroutinesIn("filetail.(*Source).Read(") == 1 },
		"the Read did not start")
	s.Close(context.Background())
	select {
	case err := <-errc:
		if !errors.Is(err, filetail.ErrClosed) {
			t.Fatalf("Read = %v, want ErrClosed", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("Read did not return after Close")
	}
	if err := s.Connect(context.Background()); !errors.Is(err, filetail.ErrClosed) {
		t.Fatalf("Connect after Close = %v", err)
	}
}

// A writer rotates the file by rename many times while the source reads and batches are acknowledged
// concurrently and out of order: every line arrives once, in order, and the final position lets a restart
// read nothing again.
func TestConcurrentRotationsAndAcks(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "app.log")
	appendTo(t, path, "")
	s := newSource(t, path, map[string]any{"batch_size": int64(7), "poll_interval": "1ms"})
	const total = 3000
	var read atomic.Int64              // lines the reader got
	progress := make(chan struct{}, 1) // signalled when read grows

	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // the writer: rotates every ~300 lines, keeping 3 old files
		defer wg.Done()
		f, _ := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
		for i := range total {
			fmt.Fprintf(f, "line-%05d\n", i)
			if i%300 == 299 && i < total-1 {
				// Rotate only once the reader follows the current file: a file rotated twice within one
				// poll interval is skipped (see the package doc).
				for read.Load() <= int64(i-299) {
					<-progress
				}
				f.Close()
				os.Rename(path+".2", path+".3")
				os.Rename(path+".1", path+".2")
				os.Rename(path, path+".1")
				f, _ = os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
			}
			if i%50 == 0 {
				time.Sleep(time.Millisecond) // pacing the writer, not a wait
			}
		}
		f.Close()
	}()

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var got []string
	for len(got) < total {
		recs, ack, err := s.Read(ctx)
		if err != nil {
			t.Fatalf("Read after %d lines: %v", len(got), err)
		}
		for _, r := range recs {
			got = append(got, string(r.Payload))
		}
		read.Store(int64(len(got)))
		select {
		case progress <- struct{}{}:
		default:
		}
		wg.Add(1)
		go func() { // acks complete in any order
			defer wg.Done()
			time.Sleep(time.Duration(rand.IntN(3000)) * time.Microsecond) // acks in a random order: the scenario
			if err := ack(context.Background(), nil); err != nil {
				t.Errorf("ack: %v", err)
			}
		}()
		_, _ = s.Committed()
	}
	wg.Wait()
	for i, l := range got {
		if want := fmt.Sprintf("line-%05d", i); l != want {
			t.Fatalf("line %d is %q, want %q", i, l, want)
		}
	}
	p, ok := s.Committed()
	fi, _ := os.Stat(path)
	if !ok || p.Offset != fi.Size() {
		t.Fatalf("committed %+v, want the end of the current file (%d bytes)", p, fi.Size())
	}
	s.Close(context.Background())
	s = newSource(t, path, nil)
	expectNothing(t, s, 30*time.Millisecond)
}

func TestBadSettings(t *testing.T) {
	for _, tc := range []struct {
		raw  map[string]any
		key  string
		want string
	}{
		{map[string]any{}, "path", "required"},
		{map[string]any{"path": "x", "start_at": "middle"}, "start_at", "not one of"},
		{map[string]any{"path": "x", "poll_interval": "often"}, "poll_interval", "not a duration"},
		{map[string]any{"path": "x", "poll_interval": "0s"}, "poll_interval", "outside"},
		{map[string]any{"path": "x", "max_line_bytes": int64(0)}, "max_line_bytes", "outside"},
		{map[string]any{"path": "x", "batch_size": int64(0)}, "batch_size", "outside"},
		{map[string]any{"path": "x", "follow": true}, "follow", "unknown key"},
	} {
		_, errs := filetail.Spec().Parse(tc.raw, noEnv)
		if len(errs) != 1 || errs[0].Key != tc.key || !strings.Contains(errs[0].Err.Error(), tc.want) {
			t.Errorf("Parse(%v) = %v, want one error on %s mentioning %q", tc.raw, errs, tc.key, tc.want)
		}
	}
	cfg, _ := filetail.Spec().Parse(map[string]any{"path": "/tmp/x.log", "position_file": "/tmp/x.log"}, noEnv)
	if _, err := filetail.New(cfg, connectors.Resources{}); connectors.KindOf(err) != connectors.KindConfig {
		t.Fatalf("position_file = path: %v, want a config error", err)
	}
	// A position file that is not one is a config error naming it.
	dir := t.TempDir()
	path := filepath.Join(dir, "app.log")
	os.WriteFile(path+".pos", []byte("garbage"), 0o644)
	cfg, _ = filetail.Spec().Parse(map[string]any{"path": path}, noEnv)
	s, err := filetail.New(cfg, connectors.Resources{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(context.Background())
	if err := s.Connect(context.Background()); connectors.KindOf(err) != connectors.KindConfig || !strings.Contains(err.Error(), "position_file") {
		t.Fatalf("Connect with a bad position file = %v", err)
	}
}

func TestUnreadablePathRecovers(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "app.log")
	appendTo(t, path, lines("l", 0, 2))
	s := newSource(t, path, nil)
	equal(t, payloads(readLines(t, s, 2)), names("l", 0, 2))
	os.Rename(path, path+".1")
	if err := os.Mkdir(path, 0o755); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, _, err := s.Read(ctx)
	if err == nil || connectors.KindOf(err) != connectors.KindRetryable || !strings.Contains(err.Error(), "directory") {
		t.Fatalf("Read with a directory at path = %v, want a retryable error", err)
	}
	os.Remove(path)
	appendTo(t, path, lines("l", 2, 2))
	equal(t, payloads(readLines(t, s, 2)), names("l", 2, 2))
}
