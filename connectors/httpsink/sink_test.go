package httpsink

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/danube-console/danube-console/client"
	"github.com/danube-console/danube-console/connectors"
	"github.com/danube-console/danube-console/internal/jsonl"
	"github.com/danube-console/danube-console/internal/testenv"
)

// TestMain fails the package's tests when a goroutine outlives them: requests and the client's
// connections must all end by Close.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// seen is one request the endpoint received.
type seen struct {
	method, path string
	header       http.Header
	body         []byte
}

// endpoint is a real HTTP server that records requests and answers with respond (200 when nil).
type endpoint struct {
	srv     *httptest.Server
	mu      sync.Mutex
	reqs    []seen
	respond func(w http.ResponseWriter, r *http.Request, body []byte)
	// raw is every byte the server read, to check header names as sent on the wire.
	raw *lockedBuffer
}

func newEndpoint(t *testing.T, respond func(w http.ResponseWriter, r *http.Request, body []byte)) *endpoint {
	t.Helper()
	e := &endpoint{respond: respond, raw: &lockedBuffer{}}
	e.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			t.Errorf("endpoint: reading the body: %v", err)
		}
		e.mu.Lock()
		e.reqs = append(e.reqs, seen{r.Method, r.URL.Path, r.Header.Clone(), body})
		e.mu.Unlock()
		if e.respond != nil {
			e.respond(w, r, body)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	e.srv.Listener = teeListener{e.srv.Listener, e.raw}
	e.srv.Start()
	t.Cleanup(e.srv.Close)
	return e
}

func (e *endpoint) requests() []seen {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]seen(nil), e.reqs...)
}

type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

type teeListener struct {
	net.Listener
	w io.Writer
}

func (l teeListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return teeConn{c, l.w}, nil
}

type teeConn struct {
	net.Conn
	w io.Writer
}

func (c teeConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	_, _ = c.w.Write(p[:n])
	return n, err
}

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

// newSink builds and connects a sink; it is closed at cleanup.
func newSink(t *testing.T, raw map[string]any, env map[string]string) *Sink {
	t.Helper()
	cfg, err := parse(t, raw, env)
	if err != nil {
		t.Fatalf("settings: %v", err)
	}
	s, err := New(cfg, connectors.Resources{Name: "test-http"})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if err := s.Connect(context.Background()); err != nil {
		t.Fatalf("Connect: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(context.Background()); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

func msg(topic string, offset uint64, payload string, attrs map[string]string) *client.Message {
	return &client.Message{
		ID:           client.MessageID{ProducerID: 3, Topic: topic, BrokerAddr: "http://127.0.0.1:6650", Offset: offset},
		Payload:      []byte(payload),
		PublishTime:  time.UnixMilli(1_760_000_000_000 + int64(offset)),
		ProducerName: "orders-writer",
		Attributes:   attrs,
		Subscription: "http-sink",
	}
}

func numbered(n int) []*client.Message {
	batch := make([]*client.Message, n)
	for i := range batch {
		batch[i] = msg("/default/orders", uint64(100+i), strconv.Itoa(i), nil)
	}
	return batch
}

func TestMessageMode(t *testing.T) {
	e := newEndpoint(t, nil)
	s := newSink(t, map[string]any{
		"url":            e.srv.URL + "/ingest",
		"headers":        map[string]any{"X-Source": "danube", "Authorization": "Basic overridden"},
		"auth_token_env": "SINK_TOKEN",
	}, map[string]string{"SINK_TOKEN": "t0ken"})

	keyed := msg("/default/orders-part-1", 7, `{"id":1}`, map[string]string{"content-type": "application/json", "Region": "eu-west", "trace_id": "abc 123"})
	keyed.RoutingKey, keyed.HasRoutingKey = "customer-9", true
	emptyKey := msg("/default/orders", 8, "", nil)
	emptyKey.HasRoutingKey = true
	binary := msg("/default/orders", 9, string([]byte{0, 0xff, '\n'}), map[string]string{"empty": ""})
	if err := s.Write(context.Background(), []*client.Message{keyed, emptyKey, binary}); err != nil {
		t.Fatalf("Write: %v", err)
	}

	reqs := e.requests()
	if len(reqs) != 3 {
		t.Fatalf("%d requests, want 3", len(reqs))
	}
	byOffset := map[string]seen{}
	for _, r := range reqs {
		if r.method != http.MethodPost || r.path != "/ingest" {
			t.Errorf("%s %s", r.method, r.path)
		}
		if got := r.header.Get("Authorization"); got != "Bearer t0ken" {
			t.Errorf("Authorization %q", got)
		}
		if got := r.header.Get("X-Source"); got != "danube" {
			t.Errorf("X-Source %q", got)
		}
		byOffset[r.header.Get("X-Danube-Offset")] = r
	}
	for _, tc := range []struct {
		offset  string
		m       *client.Message
		ctype   string
		key     []string
		attrs   map[string]string
		payload []byte
	}{
		{"7", keyed, "application/json", []string{"customer-9"}, map[string]string{"Region": "eu-west", "Trace_id": "abc 123", "Content-Type": "application/json"}, []byte(`{"id":1}`)},
		{"8", emptyKey, "application/octet-stream", []string{""}, map[string]string{}, nil},
		{"9", binary, "application/octet-stream", nil, map[string]string{"Empty": ""}, []byte{0, 0xff, '\n'}},
	} {
		r, ok := byOffset[tc.offset]
		if !ok {
			t.Errorf("no request for offset %s", tc.offset)
			continue
		}
		if !bytes.Equal(r.body, tc.payload) {
			t.Errorf("offset %s: body %q, want %q", tc.offset, r.body, tc.payload)
		}
		if got := r.header.Get("Content-Type"); got != tc.ctype {
			t.Errorf("offset %s: Content-Type %q, want %q", tc.offset, got, tc.ctype)
		}
		if got := r.header.Get("X-Danube-Topic"); got != tc.m.ID.Topic {
			t.Errorf("offset %s: X-Danube-Topic %q", tc.offset, got)
		}
		if got := r.header.Values("X-Danube-Key"); !reflect.DeepEqual(got, tc.key) {
			t.Errorf("offset %s: X-Danube-Key %q, want %q", tc.offset, got, tc.key)
		}
		attrs := map[string]string{}
		for k, v := range r.header {
			if name, ok := strings.CutPrefix(k, "X-Danube-Attr-"); ok {
				attrs[name] = v[0]
			}
		}
		if !reflect.DeepEqual(attrs, tc.attrs) {
			t.Errorf("offset %s: attribute headers %v, want %v", tc.offset, attrs, tc.attrs)
		}
	}
	// Attribute names keep their case on the wire (the server above canonicalises them).
	wire := e.raw.String()
	for _, h := range []string{"X-Danube-Attr-Region: eu-west\r\n", "X-Danube-Attr-trace_id: abc 123\r\n", "X-Danube-Attr-content-type: application/json\r\n"} {
		if !strings.Contains(wire, h) {
			t.Errorf("the wire lacks %q", h)
		}
	}
}

func TestBatchMode(t *testing.T) {
	e := newEndpoint(t, nil)
	s := newSink(t, map[string]any{"url": e.srv.URL, "mode": "batch", "headers": map[string]any{"X-Source": "danube"}, "auth_token": "tok"}, nil)
	batch := numbered(3)
	batch[1].Attributes = map[string]string{"a": "1", "bad name": "x\ny"} // fine in JSON
	batch[1].RoutingKey, batch[1].HasRoutingKey = "k", true
	batch[2].Payload = []byte{0xff, 0xfe}
	if err := s.Write(context.Background(), batch); err != nil {
		t.Fatalf("Write: %v", err)
	}
	if err := s.Write(context.Background(), nil); err != nil {
		t.Fatalf("Write of an empty batch: %v", err)
	}
	reqs := e.requests()
	if len(reqs) != 1 {
		t.Fatalf("%d requests, want 1", len(reqs))
	}
	r := reqs[0]
	if r.header.Get("Content-Type") != "application/json" || r.header.Get("Authorization") != "Bearer tok" || r.header.Get("X-Source") != "danube" {
		t.Errorf("headers %v", r.header)
	}
	var got []jsonl.Record
	if err := json.Unmarshal(r.body, &got); err != nil {
		t.Fatalf("body is not a JSON array of records: %v\n%s", err, r.body)
	}
	want := make([]jsonl.Record, len(batch))
	for i, m := range batch {
		want[i] = jsonl.FromMessage(m)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("records\n got %+v\nwant %+v", got, want)
	}
	if got[2].PayloadBase64 == nil || *got[2].PayloadBase64 != "//4=" {
		t.Errorf("binary payload: %+v", got[2])
	}
}

// classifyCase is an endpoint answer and what Write should make of it.
type classifyCase struct {
	name    string
	respond func(w http.ResponseWriter, r *http.Request, body []byte)
	kind    connectors.Kind
	wants   []string
	maxLen  int
}

func status(code int, header map[string]string, body string) func(http.ResponseWriter, *http.Request, []byte) {
	return func(w http.ResponseWriter, _ *http.Request, _ []byte) {
		for k, v := range header {
			w.Header().Set(k, v)
		}
		w.WriteHeader(code)
		_, _ = io.WriteString(w, body)
	}
}

func classifyCases() []classifyCase {
	return []classifyCase{
		{"500", status(500, nil, "boom"), connectors.KindRetryable, []string{"500 Internal Server Error", `"boom"`}, 0},
		{"503 with Retry-After", status(503, map[string]string{"Retry-After": "7"}, ""), connectors.KindRetryable, []string{"503", "retry after 7s"}, 0},
		{"429", status(429, map[string]string{"Retry-After": "2"}, "slow down"), connectors.KindRetryable, []string{"429", "retry after 2s", "slow down"}, 0},
		{"408", status(408, nil, ""), connectors.KindRetryable, []string{"408"}, 0},
		{"400", status(400, nil, `{"error":"field total is missing"}`), connectors.KindInvalidData, []string{"400 Bad Request", "field total is missing"}, 0},
		{"404", status(404, nil, "no such hook"), connectors.KindInvalidData, []string{"404", "no such hook"}, 0},
		{"422 with a huge body", status(422, nil, strings.Repeat("x", 100_000)), connectors.KindInvalidData, []string{"422", "xxxx…"}, 400},
		{"302 is not followed", status(302, map[string]string{"Location": "/elsewhere"}, ""), connectors.KindRetryable, []string{"302", "/elsewhere"}, 0},
	}
}

func TestStatusClassification(t *testing.T) {
	for _, mode := range []string{ModeMessage, ModeBatch} {
		for _, tc := range classifyCases() {
			t.Run(mode+"/"+tc.name, func(t *testing.T) {
				e := newEndpoint(t, tc.respond)
				s := newSink(t, map[string]any{"url": e.srv.URL, "mode": mode}, nil)
				err := s.Write(context.Background(), numbered(1))
				if mode == ModeMessage {
					var be *connectors.BatchError
					if !errors.As(err, &be) || len(be.Failed) != 1 || be.Failed[0] == nil {
						t.Fatalf("Write = %v, want a BatchError for message 0", err)
					}
					err = be.Failed[0]
				}
				if err == nil || connectors.KindOf(err) != tc.kind {
					t.Fatalf("Write = %v (kind %v), want kind %v", err, connectors.KindOf(err), tc.kind)
				}
				for _, w := range tc.wants {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q lacks %q", err, w)
					}
				}
				if tc.maxLen > 0 && len(err.Error()) > tc.maxLen {
					t.Errorf("error of %d bytes: the body snippet is not bounded", len(err.Error()))
				}
				if n := len(e.requests()); n != 1 {
					t.Errorf("%d requests, want 1", n)
				}
			})
		}
	}
}

// TestRedirect307 checks that a 307 is followed with the same method, body and headers.
func TestRedirect307(t *testing.T) {
	e := newEndpoint(t, func(w http.ResponseWriter, r *http.Request, _ []byte) {
		if r.URL.Path == "/old" {
			http.Redirect(w, r, "/new", http.StatusTemporaryRedirect)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	s := newSink(t, map[string]any{"url": e.srv.URL + "/old"}, nil)
	if err := s.Write(context.Background(), numbered(1)); err != nil {
		t.Fatalf("Write: %v", err)
	}
	reqs := e.requests()
	if len(reqs) != 2 || reqs[1].method != http.MethodPost || reqs[1].path != "/new" || string(reqs[1].body) != "0" || reqs[1].header.Get("X-Danube-Offset") != "100" {
		t.Errorf("requests %+v", reqs)
	}
}

func TestTimeoutAndConnectionErrors(t *testing.T) {
	release := make(chan struct{})
	e := newEndpoint(t, func(w http.ResponseWriter, r *http.Request, _ []byte) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	})
	defer close(release)
	for _, mode := range []string{ModeMessage, ModeBatch} {
		s := newSink(t, map[string]any{"url": e.srv.URL, "mode": mode, "timeout": "100ms"}, nil)
		// The endpoint never answers before the test ends: Write returns only through its timeout.
		err := s.Write(context.Background(), numbered(2))
		checkAll(t, mode, err, 2, connectors.KindRetryable, "no answer within 100ms")
	}

	// Nothing listens on the port.
	addr := "127.0.0.1:" + strconv.Itoa(testenv.FreePort(t))
	for _, mode := range []string{ModeMessage, ModeBatch} {
		s := newSink(t, map[string]any{"url": "http://" + addr + "/x", "mode": mode}, nil)
		checkAll(t, mode, s.Write(context.Background(), numbered(2)), 2, connectors.KindRetryable, "connection refused")
	}
}

// checkAll checks that every message of a batch of n failed with kind (message mode) or the batch did.
func checkAll(t *testing.T, mode string, err error, n int, kind connectors.Kind, text string) {
	t.Helper()
	errs := []error{err}
	if mode == ModeMessage {
		var be *connectors.BatchError
		if !errors.As(err, &be) || len(be.Failed) != n {
			t.Fatalf("%s: Write = %v, want a BatchError for all %d messages", mode, err, n)
		}
		errs = errs[:0]
		for _, e := range be.Failed {
			errs = append(errs, e)
		}
	}
	for _, e := range errs {
		if e == nil || connectors.KindOf(e) != kind || !strings.Contains(e.Error(), text) {
			t.Errorf("%s: %v (kind %v), want kind %v with %q", mode, e, connectors.KindOf(e), kind, text)
		}
	}
}

// TestBatchErrorIndices: an endpoint that fails every third message (by its payload, as requests run in
// parallel) makes exactly those indices fail, each with the kind of its answer.
func TestBatchErrorIndices(t *testing.T) {
	e := newEndpoint(t, func(w http.ResponseWriter, _ *http.Request, body []byte) {
		i, _ := strconv.Atoi(string(body))
		switch {
		case i%6 == 2:
			w.WriteHeader(http.StatusBadGateway)
		case i%6 == 5:
			w.WriteHeader(http.StatusBadRequest)
			_, _ = fmt.Fprintf(w, "message %d is bad", i)
		default:
			w.WriteHeader(http.StatusAccepted)
		}
	})
	s := newSink(t, map[string]any{"url": e.srv.URL}, nil)
	err := s.Write(context.Background(), numbered(30))
	var be *connectors.BatchError
	if !errors.As(err, &be) {
		t.Fatalf("Write = %v, want a BatchError", err)
	}
	var failed []int
	for i, ferr := range be.Failed {
		failed = append(failed, i)
		want := connectors.KindRetryable
		if i%6 == 5 {
			want = connectors.KindInvalidData
			if !strings.Contains(ferr.Error(), fmt.Sprintf("message %d is bad", i)) {
				t.Errorf("#%d: %v lacks the endpoint's reason", i, ferr)
			}
		}
		if connectors.KindOf(ferr) != want {
			t.Errorf("#%d: %v is %v, want %v", i, ferr, connectors.KindOf(ferr), want)
		}
	}
	sort.Ints(failed)
	if want := []int{2, 5, 8, 11, 14, 17, 20, 23, 26, 29}; !reflect.DeepEqual(failed, want) {
		t.Errorf("failed indices %v, want %v", failed, want)
	}
	if n := len(e.requests()); n != 30 {
		t.Errorf("%d requests, want 30 (each message once)", n)
	}
}

func TestMaxInFlight(t *testing.T) {
	const limit = 3
	var cur, peak atomic.Int32
	e := newEndpoint(t, func(w http.ResponseWriter, _ *http.Request, _ []byte) {
		n := cur.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		// Hold the request until the limit is reached (or a while), so that any excess would show: the
		// endpoint's behaviour, not a wait of the test.
		deadline := time.Now().Add(300 * time.Millisecond)
		for cur.Load() < limit && time.Now().Before(deadline) {
			time.Sleep(2 * time.Millisecond)
		}
		time.Sleep(5 * time.Millisecond)
		cur.Add(-1)
		w.WriteHeader(http.StatusOK)
	})
	s := newSink(t, map[string]any{"url": e.srv.URL, "max_in_flight": int64(limit)}, nil)
	if err := s.Write(context.Background(), numbered(20)); err != nil {
		t.Fatalf("Write: %v", err)
	}
	if p := peak.Load(); p != limit {
		t.Errorf("peak concurrency %d, want %d", p, limit)
	}
	if n := len(e.requests()); n != 20 {
		t.Errorf("%d requests", n)
	}

	// max_in_flight = 1 sends one at a time, in order.
	peak.Store(0)
	e2 := newEndpoint(t, nil)
	s1 := newSink(t, map[string]any{"url": e2.srv.URL, "max_in_flight": int64(1)}, nil)
	if err := s1.Write(context.Background(), numbered(10)); err != nil {
		t.Fatal(err)
	}
	for i, r := range e2.requests() {
		if string(r.body) != strconv.Itoa(i) {
			t.Errorf("request %d carries %q", i, r.body)
		}
	}
}

func TestUnsendableAttributes(t *testing.T) {
	e := newEndpoint(t, nil)
	s := newSink(t, map[string]any{"url": e.srv.URL}, nil)
	batch := numbered(4)
	batch[1].Attributes = map[string]string{"bad name": "x"}
	batch[2].Attributes = map[string]string{"ok": "line\nbreak"}
	batch[3].RoutingKey, batch[3].HasRoutingKey = "k\r\nX-Injected: 1", true
	err := s.Write(context.Background(), batch)
	var be *connectors.BatchError
	if !errors.As(err, &be) || len(be.Failed) != 3 {
		t.Fatalf("Write = %v, want 3 failures", err)
	}
	for i := 1; i <= 3; i++ {
		if connectors.KindOf(be.Failed[i]) != connectors.KindInvalidData {
			t.Errorf("#%d: %v, want invalid data", i, be.Failed[i])
		}
	}
	if reqs := e.requests(); len(reqs) != 1 || string(reqs[0].body) != "0" {
		t.Errorf("requests %+v, want only message 0", reqs)
	}
}

func TestContextCancelled(t *testing.T) {
	arrived := make(chan struct{}, 10)
	e := newEndpoint(t, func(w http.ResponseWriter, r *http.Request, _ []byte) {
		arrived <- struct{}{}
		<-r.Context().Done()
	})
	s := newSink(t, map[string]any{"url": e.srv.URL, "max_in_flight": int64(2)}, nil)
	ctx, cancel := context.WithCancel(context.Background())
	go func() { <-arrived; cancel() }()
	err := s.Write(ctx, numbered(5))
	checkAll(t, ModeMessage, err, 5, connectors.KindRetryable, "context canceled")
}

func TestHealth(t *testing.T) {
	var healthy atomic.Bool
	healthy.Store(true)
	e := newEndpoint(t, func(w http.ResponseWriter, r *http.Request, _ []byte) {
		if r.Method != http.MethodGet || r.URL.Path != "/healthz" || r.Header.Get("X-Source") != "danube" || r.Header.Get("Authorization") != "Bearer tok" {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		if !healthy.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = io.WriteString(w, "db down")
			return
		}
		w.WriteHeader(http.StatusOK)
	})
	s := newSink(t, map[string]any{"url": e.srv.URL + "/ingest", "health_url": e.srv.URL + "/healthz", "headers": map[string]any{"X-Source": "danube"}, "auth_token": "tok"}, nil)
	if err := s.Health(context.Background()); err != nil {
		t.Errorf("Health: %v", err)
	}
	healthy.Store(false)
	if err := s.Health(context.Background()); err == nil || !strings.Contains(err.Error(), "503") || !strings.Contains(err.Error(), "db down") {
		t.Errorf("Health of a failing endpoint: %v", err)
	}
	none := newSink(t, map[string]any{"url": "http://127.0.0.1:1/x"}, nil)
	if err := none.Health(context.Background()); err != nil {
		t.Errorf("Health without health_url: %v", err)
	}
}

func TestLifecycle(t *testing.T) {
	e := newEndpoint(t, nil)
	cfg, err := parse(t, map[string]any{"url": e.srv.URL}, nil)
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(cfg, connectors.Resources{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := s.Write(ctx, numbered(1)); !errors.Is(err, ErrNotConnected) || connectors.KindOf(err) != connectors.KindRetryable {
		t.Errorf("Write before Connect: %v", err)
	}
	for round := range 2 {
		if err := s.Connect(ctx); err != nil {
			t.Fatal(err)
		}
		if err := s.Connect(ctx); err != nil {
			t.Fatal(err)
		}
		if err := s.Write(ctx, numbered(3)); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		if err := s.Close(ctx); err != nil {
			t.Fatal(err)
		}
		if err := s.Write(ctx, numbered(1)); !errors.Is(err, ErrNotConnected) {
			t.Errorf("Write after Close: %v", err)
		}
	}
	if err := s.Close(ctx); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		raw  map[string]any
		want string
	}{
		{map[string]any{"url": "ftp://host/x"}, "not an http:// or https:// URL"},
		{map[string]any{"url": "/relative"}, "not an http:// or https:// URL"},
		{map[string]any{"url": "http://h/x", "health_url": "h:1"}, "health_url"},
		{map[string]any{"url": "http://h/x", "headers": map[string]any{"Bad Header": "v"}}, `"Bad Header" is not a header name`},
		{map[string]any{"url": "http://h/x", "headers": map[string]any{"X-A": "a\nb"}}, "control characters"},
	} {
		cfg, err := parse(t, tc.raw, nil)
		if err != nil {
			t.Fatalf("%v: spec: %v", tc.raw, err)
		}
		if _, err := New(cfg, connectors.Resources{}); err == nil || connectors.KindOf(err) != connectors.KindConfig || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: New = %v, want a config error with %q", tc.raw, err, tc.want)
		}
	}
	for _, raw := range []map[string]any{
		{},
		{"url": "http://h/x", "mode": "stream"},
		{"url": "http://h/x", "max_in_flight": int64(0)},
		{"url": "http://h/x", "timeout": "0s"},
	} {
		if _, err := parse(t, raw, nil); err == nil {
			t.Errorf("%v: accepted", raw)
		}
	}
	cfg, err := parse(t, map[string]any{"url": "http://h/x"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(cfg, connectors.Resources{})
	if err != nil || s.set.mode != ModeMessage || s.set.maxInFlight != 8 || s.set.timeout != 10*time.Second {
		t.Errorf("defaults: %+v %v", s, err)
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for v, want := range map[string]time.Duration{
		"":                              0,
		"3":                             3 * time.Second,
		"-1":                            0,
		"soon":                          0,
		"Sun, 01 Mar 2026 12:00:30 GMT": 30 * time.Second,
		"Sun, 01 Mar 2026 11:00:00 GMT": 0,
	} {
		if got := retryAfter(v, now); got != want {
			t.Errorf("retryAfter(%q) = %v, want %v", v, got, want)
		}
	}
}
