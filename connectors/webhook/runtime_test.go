package webhook_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/danube-console/danube-console/broker"
	"github.com/danube-console/danube-console/broker/brokertest"
	"github.com/danube-console/danube-console/client"
	"github.com/danube-console/danube-console/connectors"
	_ "github.com/danube-console/danube-console/connectors/httpsink"
	_ "github.com/danube-console/danube-console/connectors/webhook"
	"github.com/danube-console/danube-console/internal/testenv"
)

// TestLoopThroughRuntime runs both connectors of this repository's HTTP pair in the real runtime, from a
// TOML file: a webhook source publishes to a reliable topic, an http sink consumes it and POSTs to an
// endpoint. A 202 from the webhook means Danube has the event, and the endpoint then receives it with the
// webhook's attributes as X-Danube-Attr-* headers.
func TestLoopThroughRuntime(t *testing.T) {
	srv := brokertest.Run(t, broker.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c, err := client.Connect(ctx, srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	type got struct {
		header http.Header
		body   []byte
	}
	var mu sync.Mutex
	var received []got
	endpoint := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		received = append(received, got{r.Header.Clone(), b})
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	defer endpoint.Close()

	port := testenv.FreePort(t)
	toml := fmt.Sprintf(`
[[connector]]
name = "hooks-in"
kind = "webhook"
topic = "/default/hooks"
reliable = true
listen = "127.0.0.1:%d"
routes = { "/hooks/shop" = "/default/hooks" }
auth = "hmac"
hmac_secret_env = "LOOP_SECRET"
headers_to_attributes = ["X-Event-Id"]

[[connector]]
name = "hooks-out"
kind = "http"
topic = "/default/hooks"
subscription = "to-endpoint"
url = "%s/ingest"
auth_token = "t"
`, port, endpoint.URL)
	cfgs, err := connectors.ParseConfig("loop.toml", []byte(toml), connectors.DefaultEnv(), func(k string) (string, bool) {
		if k == "LOOP_SECRET" {
			return "s3cret", true
		}
		return "", false
	})
	if err != nil {
		t.Fatal(err)
	}
	rt := connectors.NewRuntime(c, connectors.DefaultEnv(), connectors.RuntimeOptions{})
	defer func() {
		cctx, ccancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer ccancel()
		if err := rt.Close(cctx); err != nil {
			t.Errorf("runtime Close: %v", err)
		}
	}()
	for _, cfg := range cfgs {
		if err := rt.Add(cfg); err != nil {
			t.Fatal(err)
		}
	}
	// The source first: its producer creates the topic the sink subscribes to.
	for _, name := range []string{"hooks-in", "hooks-out"} {
		if err := rt.Start(name); err != nil {
			t.Fatal(err)
		}
		testenv.Eventually(t, 20*time.Second, func() bool {
			st, _ := rt.Status(name)
			return st.State == connectors.StateRunning
		}, "%s running", name)
	}

	base := fmt.Sprintf("http://127.0.0.1:%d/hooks/shop", port)
	send := func(body []byte, sig string) int {
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, base, bytes.NewReader(body))
		req.Header.Set("X-Signature-256", sig)
		req.Header.Set("X-Event-Id", "evt-"+string(body))
		req.Header.Set("Content-Type", "text/plain")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	mac := func(b []byte) string {
		m := hmac.New(sha256.New, []byte("s3cret"))
		m.Write(b)
		return "sha256=" + hex.EncodeToString(m.Sum(nil))
	}
	for i := range 5 {
		body := fmt.Appendf(nil, "%d", i)
		if code := send(body, mac(body)); code != http.StatusAccepted {
			t.Fatalf("event %d: %d, want 202", i, code)
		}
	}
	if code := send([]byte("forged"), mac([]byte("other"))); code != http.StatusUnauthorized {
		t.Errorf("forged event: %d, want 401", code)
	}
	testenv.Eventually(t, 20*time.Second, func() bool { mu.Lock(); defer mu.Unlock(); return len(received) >= 5 }, "5 deliveries")
	time.Sleep(100 * time.Millisecond) // a quiet period in which nothing else may arrive: nothing to wait for
	http.DefaultClient.CloseIdleConnections()

	mu.Lock()
	defer mu.Unlock()
	if len(received) != 5 {
		t.Fatalf("%d deliveries, want 5", len(received))
	}
	seen := map[string]bool{}
	for _, r := range received {
		id := string(r.body)
		seen[id] = true
		h := r.header
		if h.Get("X-Danube-Topic") != "/default/hooks" || h.Get("X-Danube-Attr-X-Event-Id") != "evt-"+id ||
			h.Get("X-Danube-Attr-X-Webhook-Route") != "/hooks/shop" || h.Get("Content-Type") != "text/plain" ||
			h.Get("Authorization") != "Bearer t" {
			t.Errorf("delivery %q: headers %v", id, h)
		}
	}
	for i := range 5 {
		if !seen[fmt.Sprint(i)] {
			t.Errorf("event %d never delivered", i)
		}
	}
}
