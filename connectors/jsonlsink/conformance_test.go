package jsonlsink_test

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/danube-console/danube-console/connectors/connectortest"
	"github.com/danube-console/danube-console/connectors/jsonlsink"
	"github.com/danube-console/danube-console/internal/jsonl"
)

// TestConformance runs the runtime's conformance suite over the sink writing real files (rotating every few
// hundred bytes, so that batches cross files), against an embedded broker. The outside system fails when
// its directory is replaced by a plain file: the sink notices at the next batch that its file is no longer at
// path, cannot create a new one, and fails (retryably) until the directory is back.
func TestConformance(t *testing.T) {
	dirOf := func(f *connectortest.Fixture) string { return filepath.Join(f.Dir, "out") }
	connectortest.Conformance(t, connectortest.Harness{
		Kind: jsonlsink.Kind,
		Settings: func(f *connectortest.Fixture) map[string]any {
			return map[string]any{"path": filepath.Join(dirOf(f), "out.jsonl"), "mkdir": true, "rotate_bytes": int64(2000)}
		},
		Delivered: func(f *connectortest.Fixture) ([]string, error) { return deliveredIDs(dirOf(f)) },
		Break: func(f *connectortest.Fixture) (func(), error) {
			dir := dirOf(f)
			if err := os.Rename(dir, dir+".away"); err != nil {
				return nil, err
			}
			if err := os.WriteFile(dir, []byte("not a directory"), 0o644); err != nil {
				return nil, err
			}
			return func() {
				if err := os.Remove(dir); err != nil {
					f.TB.Errorf("heal: %v", err)
				}
				if err := os.Rename(dir+".away", dir); err != nil {
					f.TB.Errorf("heal: %v", err)
				}
			}, nil
		},
	})
}

// deliveredIDs reads the payloads of every complete record in the directory's files (rotated or not). A
// file renamed or removed while it is read makes it fail; the suite then asks again.
func deliveredIDs(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), "out.jsonl") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		b = b[:bytes.LastIndexByte(b, '\n')+1] // a line being written is not delivered yet
		r := jsonl.NewReader(bytes.NewReader(b))
		for {
			rec, err := r.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				return nil, fmt.Errorf("%s: %w", e.Name(), err)
			}
			p, err := rec.Bytes()
			if err != nil {
				return nil, err
			}
			ids = append(ids, string(p))
		}
	}
	slices.Sort(ids)
	return ids, nil
}
