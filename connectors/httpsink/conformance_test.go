package httpsink_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/danube-console/danube-console/connectors/connectortest"
	"github.com/danube-console/danube-console/internal/jsonl"
)

// receiver is the outside system of one conformance sub-test: an HTTP endpoint that records the ids it
// accepted, and answers 503 while broken.
type receiver struct {
	srv    *httptest.Server
	broken atomic.Bool
	batch  bool
	mu     sync.Mutex
	ids    []string
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(req.Body)
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	if r.broken.Load() {
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	var ids []string
	if r.batch {
		var recs []jsonl.Record
		if err := json.Unmarshal(body, &recs); err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		for _, rec := range recs {
			p, err := rec.Bytes()
			if err != nil {
				w.WriteHeader(http.StatusBadRequest)
				return
			}
			ids = append(ids, string(p))
		}
	} else {
		ids = []string{string(body)}
	}
	r.mu.Lock()
	r.ids = append(r.ids, ids...)
	r.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

// TestConformance runs the runtime's conformance suite over the http sink in both modes; the endpoint's
// failure (Break) is a 503 to every request until it heals.
func TestConformance(t *testing.T) {
	for _, mode := range []string{"message", "batch"} {
		t.Run(mode, func(t *testing.T) {
			get := func(f *connectortest.Fixture) *receiver { return f.State.(*receiver) }
			connectortest.Conformance(t, connectortest.Harness{
				Kind: "http",
				Settings: func(f *connectortest.Fixture) map[string]any {
					r := &receiver{batch: mode == "batch"}
					r.srv = httptest.NewServer(r)
					f.TB.Cleanup(r.srv.Close)
					f.State = r
					return map[string]any{"url": r.srv.URL + "/ingest", "mode": mode, "max_in_flight": int64(4), "timeout": "2s"}
				},
				Delivered: func(f *connectortest.Fixture) ([]string, error) {
					r := get(f)
					r.mu.Lock()
					defer r.mu.Unlock()
					return append([]string(nil), r.ids...), nil
				},
				Break: func(f *connectortest.Fixture) (func(), error) {
					r := get(f)
					r.broken.Store(true)
					return func() { r.broken.Store(false) }, nil
				},
			})
		})
	}
}
