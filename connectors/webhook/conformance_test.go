package webhook_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/danube-console/danube-console/connectors/connectortest"
	"github.com/danube-console/danube-console/internal/testenv"
)

// TestConformance runs the runtime's conformance suite over the webhook source. The outside system is the
// HTTP callers: Emit POSTs every id and, as a webhook caller should, sends it again until it is answered
// 202, so a stop, a restart or a broker outage in the middle only costs retries (and possibly duplicates),
// never a lost event. There is no Break: nothing outside the connector can fail on the source's side (its
// callers' failures are their retries, which Emit already does), so FailureRecovery is skipped.
func TestConformance(t *testing.T) {
	connectortest.Conformance(t, connectortest.Harness{
		Kind: "webhook",
		Settings: func(f *connectortest.Fixture) map[string]any {
			port := testenv.FreePort(t)
			f.State = fmt.Sprintf("http://127.0.0.1:%d/events", port) // the events' URL
			return map[string]any{
				"listen":     fmt.Sprintf("127.0.0.1:%d", port),
				"routes":     map[string]any{"/events": f.Topic},
				"auth":       "api-key",
				"api_key":    "conformance",
				"queue_size": int64(16),
				"batch_size": int64(8),
				// The suite's retry table has sink-only keys, which a source refuses; a source's own.
				"retry": map[string]any{"base_backoff": "20ms", "max_backoff": "200ms"},
			}
		},
		// Emit's callers keep retrying while the connector is stopped; they are the outside system.
		IgnoreGoroutines: []string{
			"github.com/danube-console/danube-console/connectors/webhook_test.TestConformance.func2",
			"github.com/danube-console/danube-console/connectors/webhook_test.deliver",
		},
		Emit: func(ctx context.Context, f *connectortest.Fixture, ids []string) error {
			url := f.State.(string)
			tr := &http.Transport{MaxIdleConnsPerHost: 8}
			defer tr.CloseIdleConnections()
			c := &http.Client{Transport: tr, Timeout: 10 * time.Second}
			// Eight callers at a time, each retrying its event until it is accepted.
			sem := make(chan struct{}, 8)
			errs := make(chan error, len(ids))
			var wg sync.WaitGroup
			for _, id := range ids {
				sem <- struct{}{}
				wg.Go(func() {
					defer func() { <-sem }()
					errs <- deliver(ctx, c, url, id)
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				if err != nil {
					return err
				}
			}
			return nil
		},
	})
}

// deliver POSTs one event until the webhook answers 202 or ctx ends.
func deliver(ctx context.Context, c *http.Client, url, id string) error {
	var last string
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader([]byte(id)))
		if err != nil {
			return err
		}
		req.Header.Set("X-API-Key", "conformance")
		resp, err := c.Do(req)
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			switch resp.StatusCode {
			case http.StatusAccepted:
				return nil
			case http.StatusServiceUnavailable, http.StatusTooManyRequests:
				last = resp.Status
			default:
				return fmt.Errorf("event %s: %s", id, resp.Status)
			}
		} else {
			last = err.Error()
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("event %s never accepted (last: %s): %w", id, last, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}
