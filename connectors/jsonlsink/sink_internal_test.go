package jsonlsink

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/danube-console/danube-console/client"
	"github.com/danube-console/danube-console/connectors"
	"github.com/danube-console/danube-console/internal/jsonl"
)

func build(t *testing.T, raw map[string]any) *Sink {
	t.Helper()
	cfg, errs := Spec().Parse(raw, func(string) (string, bool) { return "", false })
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	s, err := New(cfg, connectors.Resources{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close(context.Background()) })
	if err := s.Connect(context.Background()); err != nil {
		t.Fatal(err)
	}
	return s
}

func batchOf(from, n int) []*client.Message {
	out := make([]*client.Message, n)
	for i := range out {
		out[i] = &client.Message{ID: client.MessageID{Topic: "/default/t"}, Payload: []byte(fmt.Sprintf("message %03d", from+i))}
	}
	return out
}

// lines returns the payloads in a file, failing on a line that is not a complete record.
func lines(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) > 0 && b[len(b)-1] != '\n' {
		t.Fatalf("%s ends with a partial line: %q", path, b)
	}
	var out []string
	for _, l := range bytes.Split(bytes.TrimSuffix(b, []byte("\n")), []byte("\n")) {
		if len(l) == 0 {
			continue
		}
		i := bytes.Index(l, []byte(`"payload":"`))
		if i < 0 {
			t.Fatalf("line without payload: %s", l)
		}
		out = append(out, string(l[i+11:i+22]))
	}
	return out
}

// A write that fails (here: the file descriptor was closed under the sink, as when the disk goes away) is
// retryable, and the next Write reopens the file and succeeds without a damaged line in between.
func TestWriteOnAClosedDescriptorIsRetryableAndRecovers(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out.jsonl")
	s := build(t, map[string]any{"path": path})
	ctx := context.Background()
	if err := s.Write(ctx, batchOf(0, 2)); err != nil {
		t.Fatal(err)
	}
	s.mu.Lock()
	s.f.Close()
	s.mu.Unlock()
	err := s.Write(ctx, batchOf(2, 2))
	var be *connectors.BatchError
	if err == nil || connectors.KindOf(err) != connectors.KindRetryable || errors.As(err, &be) || !errors.Is(err, fs.ErrClosed) {
		t.Fatalf("Write = %v, want a retryable whole-batch error", err)
	}
	if err := s.Write(ctx, batchOf(2, 2)); err != nil { // the runtime's retry
		t.Fatalf("retry: %v", err)
	}
	got := lines(t, path)
	want := []string{"message 000", "message 001", "message 002", "message 003"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("file has %v, want %v", got, want)
	}
}

// When a rotation made the first part of a batch durable and the new file cannot be opened, only the rest
// of the batch fails.
func TestFailureAfterRotationFailsOnlyTheRest(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "out.jsonl")
	s := build(t, map[string]any{"path": path, "rotate_bytes": int64(500)})
	encoded, err := json.Marshal(jsonl.FromMessage(batchOf(0, 1)[0]))
	if err != nil {
		t.Fatal(err)
	}
	lineLen := len(encoded) + 1
	perFile := 500 / lineLen
	if perFile < 2 {
		t.Fatalf("lines of %d bytes are too long for the test", lineLen)
	}
	broken := errors.New("injected: cannot open")
	defer func(orig func(string, int, os.FileMode) (*os.File, error)) { openFile = orig }(openFile)
	openFile = func(string, int, os.FileMode) (*os.File, error) { return nil, broken }

	batch := batchOf(0, perFile+3)
	err = s.Write(context.Background(), batch)
	var be *connectors.BatchError
	if !errors.As(err, &be) {
		t.Fatalf("Write = %v, want a *BatchError", err)
	}
	if len(be.Failed) != 3 {
		t.Fatalf("%d messages failed, want the 3 after the rotation: %v", len(be.Failed), be.Failed)
	}
	for i := perFile; i < len(batch); i++ {
		if e := be.Failed[i]; e == nil || !errors.Is(e, broken) || connectors.KindOf(e) != connectors.KindRetryable {
			t.Fatalf("message %d: %v", i, e)
		}
	}
	rotated, err := s.Rotated()
	if err != nil || len(rotated) != 1 {
		t.Fatalf("rotated files %v (%v)", rotated, err)
	}
	if got := lines(t, rotated[0]); len(got) != perFile || got[0] != "message 000" {
		t.Fatalf("the rotated file holds %v", got)
	}

	openFile = os.OpenFile // the disk is back: the retry of the failed part goes to a new file
	if err := s.Write(context.Background(), batch[perFile:]); err != nil {
		t.Fatalf("retry: %v", err)
	}
	if got := lines(t, path); len(got) != 3 || got[0] != fmt.Sprintf("message %03d", perFile) {
		t.Fatalf("the new file holds %v", got)
	}
}
