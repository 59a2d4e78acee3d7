package webhook

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"go.uber.org/goleak"

	"github.com/danube-console/danube-console/connectors"
	"github.com/danube-console/danube-console/internal/testenv"
)

// TestMain fails the package's tests when a goroutine outlives them: the server, its connections and the
// handlers must all end with Close.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// clock is a settable clock for Resources.Now.
type clock struct{ t atomic.Pointer[time.Time] }

func newClock() *clock {
	c := &clock{}
	c.set(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	return c
}
func (c *clock) now() time.Time          { return *c.t.Load() }
func (c *clock) set(t time.Time)         { c.t.Store(&t) }
func (c *clock) advance(d time.Duration) { c.set(c.now().Add(d)) }

// options of a test source.
type options struct {
	env   map[string]string
	clock *clock
}

// parse validates raw settings as the config loader does.
func parse(t *testing.T, raw map[string]any, env map[string]string) (connectors.Config, error) {
	t.Helper()
	cfg, errs := Spec.Parse(raw, func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if len(errs) > 0 {
		var all []error
		for _, e := range errs {
			all = append(all, e)
		}
		return cfg, errors.Join(all...)
	}
	return cfg, nil
}

// start builds, connects and (at cleanup) closes a source listening on a free loopback port; raw gets
// listen and a default route unless it sets them. It returns the source and its base URL.
func start(t *testing.T, raw map[string]any, o options) (*Source, string) {
	t.Helper()
	if _, ok := raw["listen"]; !ok {
		raw["listen"] = "127.0.0.1:0"
	}
	if _, ok := raw["routes"]; !ok {
		raw["routes"] = map[string]any{"/orders": "/default/orders", "/refunds": "/default/refunds"}
	}
	cfg, err := parse(t, raw, o.env)
	if err != nil {
		t.Fatalf("settings: %v", err)
	}
	res := connectors.Resources{Name: "test-webhook"}
	if o.clock != nil {
		res.Now = o.clock.now
	}
	s, err := New(cfg, res)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if err := s.Connect(context.Background()); err != nil {
		t.Fatalf("Connect: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.Close(ctx); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s, "http://" + s.Addr().String()
}

// batch is what one Read returned.
type batch struct {
	recs []connectors.Record
	ack  connectors.AckFunc
}

// reader plays the runtime's Read loop and hands each batch to the test. It stops at cleanup (registered
// after the source's, so it runs first).
func reader(t *testing.T, s *Source) <-chan batch {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out := make(chan batch, 1000)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			recs, ack, err := s.Read(ctx)
			if err != nil {
				if ctx.Err() == nil {
					t.Errorf("Read: %v", err)
				}
				return
			}
			out <- batch{recs, ack}
		}
	}()
	t.Cleanup(func() { cancel(); <-done })
	return out
}

// autoAck settles every batch at once with err (nil: Danube took them) and collects the records.
func autoAck(t *testing.T, s *Source, err error) *collected {
	t.Helper()
	c := &collected{}
	ch := reader(t, s)
	done := make(chan struct{})
	stop := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case b := <-ch:
				c.add(b)
				if e := b.ack(context.Background(), err); e != nil {
					t.Errorf("ack: %v", e)
				}
			case <-stop:
				return
			}
		}
	}()
	t.Cleanup(func() { close(stop); <-done })
	return c
}

type collected struct {
	mu      sync.Mutex
	recs    []connectors.Record
	batches []int
}

func (c *collected) add(b batch) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.recs = append(c.recs, b.recs...)
	c.batches = append(c.batches, len(b.recs))
}

func (c *collected) records() []connectors.Record {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]connectors.Record(nil), c.recs...)
}

// reply is a finished HTTP exchange.
type reply struct {
	status int
	header http.Header
	body   map[string]string
	raw    string
}

func (r reply) String() string { return fmt.Sprintf("%d %s", r.status, strings.TrimSpace(r.raw)) }

var httpClient = &http.Client{Timeout: 20 * time.Second}

// post sends a request and reads the reply.
func post(t *testing.T, method, url string, body []byte, header map[string]string) reply {
	t.Helper()
	r, err := do(context.Background(), httpClient, method, url, body, header)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	return r
}

func do(ctx context.Context, c *http.Client, method, url string, body []byte, header map[string]string) (reply, error) {
	req, err := http.NewRequestWithContext(ctx, method, url, bytes.NewReader(body))
	if err != nil {
		return reply{}, err
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	if err != nil {
		return reply{}, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return reply{}, err
	}
	r := reply{status: resp.StatusCode, header: resp.Header, raw: string(raw)}
	if err := json.Unmarshal(raw, &r.body); err != nil {
		return r, fmt.Errorf("reply %d is not a JSON object: %q", resp.StatusCode, raw)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		return r, fmt.Errorf("reply Content-Type %q", ct)
	}
	return r, nil
}

func expect(t *testing.T, what string, got reply, status int, reason string) {
	t.Helper()
	if got.status != status {
		t.Errorf("%s: %v, want %d", what, got, status)
		return
	}
	if reason != "" && got.body["error"] != reason {
		t.Errorf("%s: reason %q, want %q", what, got.body["error"], reason)
	}
}

func sign(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

func token(t *testing.T, method jwt.SigningMethod, secret any, claims jwt.MapClaims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(method, claims).SignedString(secret)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestAuth(t *testing.T) {
	body := []byte(`{"order":42,"total":"9.99"}`)
	clk := newClock()
	exp := clk.now().Add(time.Hour).Unix()
	type req struct {
		name   string
		body   []byte
		header map[string]string
		status int
		reason string
	}
	for _, tc := range []struct {
		name string
		raw  map[string]any
		env  map[string]string
		reqs []req
	}{
		{"none", map[string]any{}, nil, []req{
			{"anything", body, nil, 202, ""},
		}},
		{"api-key", map[string]any{"auth": "api-key", "api_key": "k-123"}, nil, []req{
			{"right key", body, map[string]string{"X-API-Key": "k-123"}, 202, ""},
			{"wrong key", body, map[string]string{"X-API-Key": "k-124"}, 401, "invalid API key"},
			{"prefix of the key", body, map[string]string{"X-API-Key": "k-12"}, 401, "invalid API key"},
			{"missing key", body, nil, 401, "missing API key"},
			{"key in another header", body, map[string]string{"X-Other": "k-123"}, 401, "missing API key"},
		}},
		{"api-key from the environment and a custom header", map[string]any{"auth": "api-key", "api_key_env": "HOOK_KEY", "api_key_header": "X-Hook-Token"}, map[string]string{"HOOK_KEY": "from-env"}, []req{
			{"right key", body, map[string]string{"X-Hook-Token": "from-env"}, 202, ""},
			{"default header", body, map[string]string{"X-API-Key": "from-env"}, 401, "missing API key"},
			{"wrong key", body, map[string]string{"X-Hook-Token": "HOOK_KEY"}, 401, "invalid API key"},
		}},
		{"hmac", map[string]any{"auth": "hmac", "hmac_secret": "shh"}, nil, []req{
			{"sha256= form", body, map[string]string{"X-Signature-256": "sha256=" + sign("shh", body)}, 202, ""},
			{"bare hex", body, map[string]string{"X-Signature-256": sign("shh", body)}, 202, ""},
			{"upper-case hex", body, map[string]string{"X-Signature-256": strings.ToUpper(sign("shh", body))}, 202, ""},
			{"body changed by one byte", append(bytes.Clone(body[:len(body)-1]), '!'), map[string]string{"X-Signature-256": "sha256=" + sign("shh", body)}, 401, "invalid signature"},
			{"body with a trailing newline", append(bytes.Clone(body), '\n'), map[string]string{"X-Signature-256": "sha256=" + sign("shh", body)}, 401, "invalid signature"},
			{"wrong secret", body, map[string]string{"X-Signature-256": "sha256=" + sign("other", body)}, 401, "invalid signature"},
			{"not hex", body, map[string]string{"X-Signature-256": "sha256=zz"}, 401, "malformed signature"},
			{"truncated", body, map[string]string{"X-Signature-256": sign("shh", body)[:62]}, 401, "malformed signature"},
			{"missing", body, nil, 401, "missing signature"},
		}},
		{"hmac from the environment and a custom header", map[string]any{"auth": "hmac", "hmac_secret_env": "HOOK_SECRET", "hmac_header": "X-Hub-Signature-256"}, map[string]string{"HOOK_SECRET": "env-secret"}, []req{
			{"right", body, map[string]string{"X-Hub-Signature-256": "sha256=" + sign("env-secret", body)}, 202, ""},
			{"empty body signed", []byte{}, map[string]string{"X-Hub-Signature-256": sign("env-secret", nil)}, 202, ""},
			{"default header", body, map[string]string{"X-Signature-256": "sha256=" + sign("env-secret", body)}, 401, "missing signature"},
		}},
		{"jwt", map[string]any{"auth": "jwt", "jwt_secret": "jwt-secret"}, nil, []req{
			{"valid", body, map[string]string{"Authorization": "Bearer " + token(t, jwt.SigningMethodHS256, []byte("jwt-secret"), jwt.MapClaims{"sub": "shop", "exp": exp})}, 202, ""},
			{"lower-case scheme", body, map[string]string{"Authorization": "bearer " + token(t, jwt.SigningMethodHS256, []byte("jwt-secret"), jwt.MapClaims{"exp": exp})}, 202, ""},
			{"expired", body, map[string]string{"Authorization": "Bearer " + token(t, jwt.SigningMethodHS256, []byte("jwt-secret"), jwt.MapClaims{"exp": clk.now().Add(-time.Minute).Unix()})}, 401, "token expired"},
			{"no exp", body, map[string]string{"Authorization": "Bearer " + token(t, jwt.SigningMethodHS256, []byte("jwt-secret"), jwt.MapClaims{"sub": "shop"})}, 401, "token has no exp claim"},
			{"not valid yet", body, map[string]string{"Authorization": "Bearer " + token(t, jwt.SigningMethodHS256, []byte("jwt-secret"), jwt.MapClaims{"exp": exp, "nbf": exp - 60})}, 401, "token not valid yet"},
			{"wrong secret", body, map[string]string{"Authorization": "Bearer " + token(t, jwt.SigningMethodHS256, []byte("other"), jwt.MapClaims{"exp": exp})}, 401, "invalid token"},
			{"HS512", body, map[string]string{"Authorization": "Bearer " + token(t, jwt.SigningMethodHS512, []byte("jwt-secret"), jwt.MapClaims{"exp": exp})}, 401, "invalid token"},
			{"alg none", body, map[string]string{"Authorization": "Bearer " + token(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, jwt.MapClaims{"exp": exp})}, 401, "invalid token"},
			{"garbage", body, map[string]string{"Authorization": "Bearer not.a.jwt"}, 401, "invalid token"},
			{"basic auth", body, map[string]string{"Authorization": "Basic dTpw"}, 401, "missing bearer token"},
			{"missing", body, nil, 401, "missing bearer token"},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, base := start(t, tc.raw, options{env: tc.env, clock: clk})
			got := autoAck(t, s, nil)
			accepted := 0
			for _, r := range tc.reqs {
				rep := post(t, http.MethodPost, base+"/orders", r.body, r.header)
				expect(t, r.name, rep, r.status, r.reason)
				if r.status == 202 {
					accepted++
				}
			}
			if n := len(got.records()); n != accepted {
				t.Errorf("%d records reached Read, want %d (only the authenticated ones)", n, accepted)
			}
		})
	}
}

func TestAuthConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		raw  map[string]any
		want string
	}{
		{map[string]any{"routes": map[string]any{"/a": "/default/a"}, "auth": "api-key"}, "api_key"},
		{map[string]any{"routes": map[string]any{"/a": "/default/a"}, "auth": "hmac"}, "hmac_secret"},
		{map[string]any{"routes": map[string]any{"/a": "/default/a"}, "auth": "jwt"}, "jwt_secret"},
		{map[string]any{"routes": map[string]any{}}, "routes"},
		{map[string]any{"routes": map[string]any{"a": "/default/a"}}, `path "a" must start with "/"`},
		{map[string]any{"routes": map[string]any{"/a": ""}}, `path "/a" has no topic`},
		{map[string]any{"routes": map[string]any{"/a": "/default/a"}, "tls_cert": "c.pem"}, "tls_cert and tls_key go together"},
		{map[string]any{"routes": map[string]any{"/a": "/default/a"}, "headers_to_attributes": []any{"X Bad"}}, `"X Bad" is not a header name`},
	} {
		cfg, err := parse(t, tc.raw, nil)
		if err != nil {
			t.Fatalf("%v: spec: %v", tc.raw, err)
		}
		_, err = New(cfg, connectors.Resources{})
		if err == nil || connectors.KindOf(err) != connectors.KindConfig || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: New = %v (kind %v), want a config error with %q", tc.raw, err, connectors.KindOf(err), tc.want)
		}
	}
	// The spec itself: a missing route table, an unknown auth mode, a secret given twice.
	for _, raw := range []map[string]any{
		{},
		{"routes": map[string]any{"/a": "/default/a"}, "auth": "basic"},
		{"routes": map[string]any{"/a": "/default/a"}, "auth": "jwt", "jwt_secret": "x", "jwt_secret_env": "Y"},
		{"routes": map[string]any{"/a": "/default/a"}, "max_body_bytes": int64(0)},
	} {
		if _, err := parse(t, raw, map[string]string{"Y": "y"}); err == nil {
			t.Errorf("%v: accepted", raw)
		}
	}
}

func TestLimits(t *testing.T) {
	s, base := start(t, map[string]any{"max_body_bytes": int64(16)}, options{})
	got := autoAck(t, s, nil)

	expect(t, "16 bytes", post(t, http.MethodPost, base+"/orders", bytes.Repeat([]byte("a"), 16), nil), 202, "")
	expect(t, "17 bytes", post(t, http.MethodPost, base+"/orders", bytes.Repeat([]byte("b"), 17), nil), 413, "body larger than 16 bytes")
	// Without a Content-Length, the limit holds while reading.
	pr, pw := io.Pipe()
	go func() {
		_, _ = pw.Write(bytes.Repeat([]byte("c"), 10))
		_, _ = pw.Write(bytes.Repeat([]byte("c"), 10))
		_ = pw.Close()
	}()
	req, _ := http.NewRequest(http.MethodPost, base+"/orders", pr)
	resp, err := httpClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 413 || req.ContentLength != 0 {
		t.Errorf("chunked 20 bytes: %d (Content-Length %d), want 413", resp.StatusCode, req.ContentLength)
	}

	rep := post(t, http.MethodGet, base+"/orders", nil, nil)
	expect(t, "GET", rep, 405, "only POST is accepted")
	if a := rep.header.Get("Allow"); a != "POST" {
		t.Errorf("405 Allow: %q", a)
	}
	expect(t, "PUT", post(t, http.MethodPut, base+"/orders", []byte("x"), nil), 405, "")
	expect(t, "unknown path", post(t, http.MethodPost, base+"/order", []byte("x"), nil), 404, "no route for /order")
	expect(t, "sub-path", post(t, http.MethodPost, base+"/orders/1", []byte("x"), nil), 404, "")
	expect(t, "GET of an unknown path", post(t, http.MethodGet, base+"/", nil, nil), 404, "")

	recs := got.records()
	if len(recs) != 1 || string(recs[0].Payload) != strings.Repeat("a", 16) {
		t.Errorf("records that reached Read: %+v, want only the 16-byte one", recs)
	}
}

func TestRateLimitPerRoute(t *testing.T) {
	clk := newClock()
	s, base := start(t, map[string]any{"rate_limit_per_route": 2.0}, options{clock: clk})
	got := autoAck(t, s, nil)

	for i := range 2 {
		expect(t, fmt.Sprintf("request %d", i+1), post(t, http.MethodPost, base+"/orders", []byte("x"), nil), 202, "")
	}
	rep := post(t, http.MethodPost, base+"/orders", []byte("x"), nil)
	expect(t, "third request in the same instant", rep, 429, "rate limit of the route exceeded")
	if ra := rep.header.Get("Retry-After"); ra != "1" {
		t.Errorf("429 Retry-After %q, want 1", ra)
	}
	// Another route has its own budget.
	expect(t, "other route", post(t, http.MethodPost, base+"/refunds", []byte("y"), nil), 202, "")
	// Refused requests do not use the budget: half a second later there is one token again.
	clk.advance(500 * time.Millisecond)
	expect(t, "after 500ms", post(t, http.MethodPost, base+"/orders", []byte("x"), nil), 202, "")
	expect(t, "right after", post(t, http.MethodPost, base+"/orders", []byte("x"), nil), 429, "")
	clk.advance(time.Second)
	for i := range 2 {
		expect(t, fmt.Sprintf("after 1s, request %d", i+1), post(t, http.MethodPost, base+"/orders", []byte("x"), nil), 202, "")
	}
	if n := len(got.records()); n != 6 {
		t.Errorf("%d records, want 6", n)
	}

	// A fractional rate: 0.2/s gives a burst of 1 and a Retry-After of 5 s.
	s2, base2 := start(t, map[string]any{"rate_limit_per_route": 0.2}, options{clock: clk})
	autoAck(t, s2, nil)
	expect(t, "0.2/s first", post(t, http.MethodPost, base2+"/orders", []byte("x"), nil), 202, "")
	rep = post(t, http.MethodPost, base2+"/orders", []byte("x"), nil)
	if rep.status != 429 || rep.header.Get("Retry-After") != "5" {
		t.Errorf("0.2/s second: %v Retry-After %q, want 429 with 5", rep, rep.header.Get("Retry-After"))
	}
}

// pending sends a request in the background; the result arrives on the channel.
func pending(url string, body []byte, header map[string]string) <-chan reply {
	ch := make(chan reply, 1)
	go func() {
		r, err := do(context.Background(), httpClient, http.MethodPost, url, body, header)
		if err != nil {
			r = reply{status: -1, raw: err.Error()}
		}
		ch <- r
	}()
	return ch
}

func waitReply(t *testing.T, what string, ch <-chan reply) reply {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(10 * time.Second):
		t.Fatalf("%s: no reply", what)
		return reply{}
	}
}

// stillPending checks that no reply arrives for a while.
func stillPending(t *testing.T, what string, ch <-chan reply) {
	t.Helper()
	select {
	case r := <-ch:
		t.Fatalf("%s: replied %v before the ack", what, r)
	case <-time.After(150 * time.Millisecond):
	}
}

func nextBatch(t *testing.T, ch <-chan batch) batch {
	t.Helper()
	select {
	case b := <-ch:
		return b
	case <-time.After(10 * time.Second):
		t.Fatal("Read returned nothing")
		return batch{}
	}
}

func TestReplyFollowsAck(t *testing.T) {
	for _, tc := range []struct {
		name   string
		err    error
		status int
		check  func(t *testing.T, r reply)
	}{
		{"acked", nil, 202, func(t *testing.T, r reply) {
			if r.body["status"] != "accepted" || r.body["topic"] != "/default/orders" || len(r.body) != 2 {
				t.Errorf("202 body %q", r.raw)
			}
		}},
		{"retryable", connectors.Retryable(errors.New("broker unavailable at 10.0.0.7")), 503, func(t *testing.T, r reply) {
			if r.header.Get("Retry-After") == "" || strings.Contains(r.raw, "10.0.0.7") {
				t.Errorf("503: Retry-After %q, body %q (no internal detail expected)", r.header.Get("Retry-After"), r.raw)
			}
		}},
		{"error without a kind", errors.New("runtime stopping"), 503, nil},
		{"invalid data", connectors.InvalidData(fmt.Errorf("publish: %w", errors.New("danube: message too large"))), 422, func(t *testing.T, r reply) {
			if !strings.Contains(r.body["error"], "message too large") {
				t.Errorf("422 body %q lacks the reason", r.raw)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, base := start(t, map[string]any{}, options{})
			batches := reader(t, s)
			ch := pending(base+"/orders", []byte("order-1"), nil)
			b := nextBatch(t, batches)
			if len(b.recs) != 1 || string(b.recs[0].Payload) != "order-1" {
				t.Fatalf("batch %+v", b.recs)
			}
			stillPending(t, "held ack", ch)
			if err := b.ack(context.Background(), tc.err); err != nil {
				t.Fatalf("ack: %v", err)
			}
			r := waitReply(t, "after the ack", ch)
			if r.status != tc.status {
				t.Fatalf("reply %v, want %d", r, tc.status)
			}
			if tc.check != nil {
				tc.check(t, r)
			}
			// A second call of the AckFunc is harmless.
			if err := b.ack(context.Background(), nil); err != nil {
				t.Errorf("second ack: %v", err)
			}
		})
	}
}

// TestBatchAck checks that one AckFunc answers every request of its batch, and only those.
func TestBatchAck(t *testing.T) {
	s, base := start(t, map[string]any{"batch_size": int64(3)}, options{})
	var replies []<-chan reply
	for i := range 5 {
		replies = append(replies, pending(base+"/orders", fmt.Appendf(nil, "m%d", i), nil))
	}
	// Let all five wait in the queue before reading.
	testenv.Eventually(t, 10*time.Second, func() bool { return queued(s) == 5 }, "5 queued")
	batches := reader(t, s)
	b1 := nextBatch(t, batches)
	b2 := nextBatch(t, batches)
	if len(b1.recs) != 3 || len(b2.recs) != 2 {
		t.Fatalf("batches of %d and %d, want 3 and 2", len(b1.recs), len(b2.recs))
	}
	_ = b2.ack(context.Background(), connectors.InvalidData(errors.New("nope")))
	first := map[string]bool{}
	for _, r := range b1.recs {
		first[string(r.Payload)] = true
	}
	for i, ch := range replies {
		if first[fmt.Sprintf("m%d", i)] {
			stillPending(t, fmt.Sprintf("m%d", i), ch)
		}
	}
	_ = b1.ack(context.Background(), nil)
	for i, ch := range replies {
		want := 422
		if first[fmt.Sprintf("m%d", i)] {
			want = 202
		}
		if r := waitReply(t, fmt.Sprintf("m%d", i), ch); r.status != want {
			t.Errorf("m%d: %v, want %d", i, r, want)
		}
	}
}

func queued(s *Source) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.st == nil {
		return 0
	}
	return len(s.st.queue)
}

func TestRecord(t *testing.T) {
	s, base := start(t, map[string]any{
		"routes":                map[string]any{"/hooks/github": "/default/github"},
		"headers_to_attributes": []any{"X-GitHub-Event", "x-request-id", "X-Absent"},
	}, options{})
	got := autoAck(t, s, nil)
	payload := []byte{0, 1, 2, 0xff, '\n', 'x'}
	req, _ := http.NewRequest(http.MethodPost, base+"/hooks/github", bytes.NewReader(payload))
	req.Header.Set("Content-Type", "application/octet-stream")
	req.Header.Set("X-GitHub-Event", "push")
	req.Header.Add("X-Request-Id", "r1")
	req.Header.Add("X-Request-Id", "r2")
	req.Header.Set("X-Other", "not copied")
	resp, err := httpClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 202 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	recs := got.records()
	if len(recs) != 1 {
		t.Fatalf("%d records", len(recs))
	}
	r := recs[0]
	want := map[string]string{
		"content-type":    "application/octet-stream",
		"x-webhook-route": "/hooks/github",
		"x-github-event":  "push",
		"x-request-id":    "r1, r2",
	}
	if !bytes.Equal(r.Payload, payload) || r.Topic != "/default/github" || r.HasKey || fmt.Sprint(r.Attributes) != fmt.Sprint(want) {
		t.Errorf("record %+v\nwant payload %q, topic /default/github, attributes %v", r, payload, want)
	}
	// Without a Content-Type there is no content-type attribute; an empty body is a message too.
	expect(t, "empty", post(t, http.MethodPost, base+"/hooks/github", nil, nil), 202, "")
	recs = got.records()
	if len(recs) != 2 || len(recs[1].Payload) != 0 || recs[1].Attributes["content-type"] != "" || len(recs[1].Attributes) != 1 {
		t.Errorf("empty request's record: %+v", recs[len(recs)-1])
	}
}

func TestQueueFull(t *testing.T) {
	s, base := start(t, map[string]any{"queue_size": int64(1)}, options{})
	first := pending(base+"/orders", []byte("1"), nil)
	testenv.Eventually(t, 10*time.Second, func() bool { return queued(s) == 1 }, "the first request queued")
	rep := post(t, http.MethodPost, base+"/orders", []byte("2"), nil)
	expect(t, "second request", rep, 503, "queue full")
	if rep.header.Get("Retry-After") != "1" {
		t.Errorf("503 Retry-After %q", rep.header.Get("Retry-After"))
	}
	// Once Read takes the first, there is room again.
	batches := reader(t, s)
	b := nextBatch(t, batches)
	third := pending(base+"/orders", []byte("3"), nil)
	b2 := nextBatch(t, batches)
	_ = b.ack(context.Background(), nil)
	_ = b2.ack(context.Background(), nil)
	for _, ch := range []<-chan reply{first, third} {
		if r := waitReply(t, "queued request", ch); r.status != 202 {
			t.Errorf("%v, want 202", r)
		}
	}
}

func TestConcurrentRequests(t *testing.T) {
	const n = 200
	s, base := start(t, map[string]any{"batch_size": int64(7), "queue_size": int64(n), "max_in_flight": int64(n)}, options{})
	got := autoAck(t, s, nil)
	var wg sync.WaitGroup
	var bad atomic.Int32
	for i := range n {
		wg.Go(func() {
			path := []string{"/orders", "/refunds"}[i%2]
			r, err := do(context.Background(), httpClient, http.MethodPost, base+path, fmt.Appendf(nil, "%d", i), nil)
			if err != nil || r.status != 202 {
				bad.Add(1)
				t.Errorf("request %d: %v %v", i, r, err)
			}
		})
	}
	wg.Wait()
	if bad.Load() > 0 {
		return
	}
	seen := map[string]string{}
	for _, r := range got.records() {
		if _, dup := seen[string(r.Payload)]; dup {
			t.Errorf("record %s twice", r.Payload)
		}
		seen[string(r.Payload)] = r.Topic
	}
	for i := range n {
		want := []string{"/default/orders", "/default/refunds"}[i%2]
		if topic, ok := seen[fmt.Sprint(i)]; !ok || topic != want {
			t.Errorf("record %d: topic %q (seen %v), want %s", i, topic, ok, want)
		}
	}
	got.mu.Lock()
	defer got.mu.Unlock()
	for _, size := range got.batches {
		if size < 1 || size > 7 {
			t.Errorf("batch of %d records", size)
		}
	}
}

// TestCloseAnswersWaitingRequests: requests held in a batch, waiting in the queue, or arriving while the
// server stops all get 503, and Close returns.
func TestCloseAnswersWaitingRequests(t *testing.T) {
	s, base := start(t, map[string]any{"batch_size": int64(1)}, options{})
	ctx, cancel := context.WithCancel(context.Background())
	inBatch := pending(base+"/orders", []byte("held"), nil)
	testenv.Eventually(t, 10*time.Second, func() bool { return queued(s) == 1 }, "queued")
	recs, ack, err := s.Read(ctx)
	if err != nil || len(recs) != 1 {
		t.Fatalf("Read: %v %v", recs, err)
	}
	inQueue := pending(base+"/orders", []byte("queued"), nil)
	testenv.Eventually(t, 10*time.Second, func() bool { return queued(s) == 1 }, "queued")
	cancel()

	closeCtx, cancelClose := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancelClose()
	if err := s.Close(closeCtx); err != nil {
		t.Fatalf("Close: %v", err)
	}
	for what, ch := range map[string]<-chan reply{"in a batch": inBatch, "in the queue": inQueue} {
		r := waitReply(t, what, ch)
		if r.status != 503 || r.body["error"] != "the connector is stopping" || r.header.Get("Retry-After") == "" {
			t.Errorf("%s: %v, want 503 stopping with Retry-After", what, r)
		}
	}
	// The runtime settles the batch after Close: nothing blocks, nothing panics.
	if err := ack(context.Background(), errors.New("stopping")); err != nil {
		t.Errorf("late ack: %v", err)
	}
	if _, _, err := s.Read(context.Background()); !errors.Is(err, ErrNotConnected) || connectors.KindOf(err) != connectors.KindRetryable {
		t.Errorf("Read after Close: %v", err)
	}
	if err := s.Health(context.Background()); err == nil {
		t.Error("Health after Close passed")
	}
	if _, err := do(context.Background(), httpClient, http.MethodPost, base+"/orders", []byte("late"), nil); err == nil {
		t.Error("the server still answers after Close")
	}
}

// TestCallerLeaves: a caller that gives up does not block the ack, and its record is still delivered.
func TestCallerLeaves(t *testing.T) {
	s, base := start(t, map[string]any{}, options{})
	batches := reader(t, s)
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, err := do(ctx, httpClient, http.MethodPost, base+"/orders", []byte("impatient"), nil)
		errc <- err
	}()
	b := nextBatch(t, batches)
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("caller: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- b.ack(context.Background(), nil) }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the ack blocked on a caller that left")
	}
	if string(b.recs[0].Payload) != "impatient" {
		t.Errorf("record %q", b.recs[0].Payload)
	}
}

func TestReadContextAndBlocking(t *testing.T) {
	s, base := start(t, map[string]any{}, options{})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, _, err := s.Read(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Read with nothing queued: %v, want the context's error", err)
	}
	// Read blocks until a request arrives.
	got := make(chan batch, 1)
	go func() {
		recs, ack, err := s.Read(context.Background())
		if err != nil {
			t.Error(err)
			close(got)
			return
		}
		got <- batch{recs, ack}
	}()
	rep := pending(base+"/orders", []byte("late"), nil)
	b := nextBatch(t, got)
	_ = b.ack(context.Background(), nil)
	if r := waitReply(t, "late", rep); r.status != 202 {
		t.Errorf("%v", r)
	}
}

func TestLifecycle(t *testing.T) {
	cfg, err := parse(t, map[string]any{"listen": "127.0.0.1:0", "routes": map[string]any{"/a": "/default/a"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(cfg, connectors.Resources{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := s.Health(ctx); err == nil {
		t.Error("Health before Connect passed")
	}
	if _, _, err := s.Read(ctx); !errors.Is(err, ErrNotConnected) {
		t.Errorf("Read before Connect: %v", err)
	}
	if err := s.Close(ctx); err != nil {
		t.Errorf("Close before Connect: %v", err)
	}
	for round := range 2 {
		if err := s.Connect(ctx); err != nil {
			t.Fatalf("round %d: Connect: %v", round, err)
		}
		addr := s.Addr()
		if err := s.Connect(ctx); err != nil || s.Addr() != addr {
			t.Fatalf("round %d: second Connect: %v, addr %v then %v", round, err, addr, s.Addr())
		}
		if err := s.Health(ctx); err != nil {
			t.Errorf("round %d: Health: %v", round, err)
		}
		ch := pending("http://"+addr.String()+"/a", []byte("x"), nil)
		recs, ack, err := s.Read(ctx)
		if err != nil || len(recs) != 1 {
			t.Fatalf("round %d: Read: %v %v", round, recs, err)
		}
		_ = ack(ctx, nil)
		if r := waitReply(t, "request", ch); r.status != 202 {
			t.Errorf("round %d: %v", round, r)
		}
		if err := s.Close(ctx); err != nil {
			t.Fatalf("round %d: Close: %v", round, err)
		}
		if s.Addr() != nil {
			t.Errorf("round %d: Addr after Close: %v", round, s.Addr())
		}
	}
	httpClient.CloseIdleConnections()

	// An address in use is a retryable Connect error.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	cfg, _ = parse(t, map[string]any{"listen": ln.Addr().String(), "routes": map[string]any{"/a": "/default/a"}}, nil)
	busy, _ := New(cfg, connectors.Resources{})
	if err := busy.Connect(ctx); err == nil || connectors.KindOf(err) != connectors.KindRetryable {
		t.Errorf("Connect on a busy address: %v", err)
	}
}

func TestTLS(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile, pool := selfSigned(t, dir)
	s, _ := start(t, map[string]any{"tls_cert": certFile, "tls_key": keyFile, "auth": "api-key", "api_key": "k"}, options{})
	autoAck(t, s, nil)
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	base := "https://" + s.Addr().String()
	if r, err := do(context.Background(), c, http.MethodPost, base+"/orders", []byte("secure"), map[string]string{"X-API-Key": "k"}); err != nil || r.status != 202 {
		t.Errorf("HTTPS: %v %v", r, err)
	}
	if _, err := do(context.Background(), httpClient, http.MethodPost, "http://"+s.Addr().String()+"/orders", []byte("plain"), nil); err == nil {
		t.Error("plain HTTP accepted by the HTTPS server")
	}

	// Unreadable files are a configuration error at Connect.
	cfg, _ := parse(t, map[string]any{"listen": "127.0.0.1:0", "routes": map[string]any{"/a": "/default/a"}, "tls_cert": filepath.Join(dir, "missing.pem"), "tls_key": keyFile}, nil)
	bad, err := New(cfg, connectors.Resources{})
	if err != nil {
		t.Fatal(err)
	}
	if err := bad.Connect(context.Background()); connectors.KindOf(err) != connectors.KindConfig {
		t.Errorf("Connect with a missing certificate: %v", err)
	}
}

// selfSigned writes a certificate for 127.0.0.1 and its key to dir.
func selfSigned(t *testing.T, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "webhook test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA:         true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

// TestListenerFailure: when the listener fails, Health says so, Read asks the runtime to reconnect, and
// Connect starts a new server.
func TestListenerFailure(t *testing.T) {
	s, _ := start(t, map[string]any{}, options{})
	ctx := context.Background()
	s.mu.Lock()
	old := s.st
	s.mu.Unlock()
	_ = old.ln.Close() // behind the server's back
	<-old.served
	if err := s.Health(ctx); err == nil {
		t.Error("Health passed with a failed listener")
	}
	if _, _, err := s.Read(ctx); !errors.Is(err, connectors.ErrNotConnected) || connectors.KindOf(err) != connectors.KindRetryable {
		t.Errorf("Read with a failed listener: %v, want a retryable connectors.ErrNotConnected", err)
	}
	if err := s.Connect(ctx); err != nil {
		t.Fatalf("Connect: %v", err)
	}
	if err := s.Health(ctx); err != nil {
		t.Errorf("Health after Connect: %v", err)
	}
	autoAck(t, s, nil)
	expect(t, "after reconnecting", post(t, http.MethodPost, "http://"+s.Addr().String()+"/orders", []byte("x"), nil), 202, "")
}
