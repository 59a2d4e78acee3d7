package filetail_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/danube-console/danube-console/connectors/connectortest"
	"github.com/danube-console/danube-console/connectors/filetail"
)

// TestConformance runs the runtime's conformance suite over the source following a real file, against an
// embedded broker. Records are lines appended to the file. The outside system fails when the file is moved
// away and a directory takes its place (the source cannot read what path names); healing removes the
// directory, and the writer, which retried meanwhile, starts a new file there.
func TestConformance(t *testing.T) {
	pathOf := func(f *connectortest.Fixture) string { return filepath.Join(f.Dir, "app.log") }
	connectortest.Conformance(t, connectortest.Harness{
		Kind: filetail.Kind,
		Settings: func(f *connectortest.Fixture) map[string]any {
			return map[string]any{"path": pathOf(f), "poll_interval": "10ms", "batch_size": int64(8)}
		},
		Emit: func(ctx context.Context, f *connectortest.Fixture, ids []string) error {
			text := strings.Join(ids, "\n") + "\n"
			for {
				w, err := os.OpenFile(pathOf(f), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
				if err == nil {
					_, err = w.WriteString(text)
					if cerr := w.Close(); err == nil {
						err = cerr
					}
					return err
				}
				select { // broken: the writer retries until path is a file again
				case <-ctx.Done():
					return ctx.Err()
				case <-time.After(10 * time.Millisecond):
				}
			}
		},
		Break: func(f *connectortest.Fixture) (func(), error) {
			path := pathOf(f)
			if err := os.Rename(path, path+".1"); err != nil {
				return nil, err
			}
			if err := os.Mkdir(path, 0o755); err != nil {
				return nil, err
			}
			return func() {
				if err := os.Remove(path); err != nil {
					f.TB.Errorf("heal: %v", err)
				}
			}, nil
		},
	})
}
