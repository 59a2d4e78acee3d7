package webhook

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/iotest"
	"time"

	"github.com/danube-console/danube-console/connectors"
	"github.com/danube-console/danube-console/internal/testenv"
)

// hangGuard is how long a raw test connection may stay silent before the test gives up on it. It only
// keeps a broken server from hanging the test; nothing is measured against it.
const hangGuard = time.Minute

// dialRaw opens a plain TCP connection to the source, closed at cleanup.
func dialRaw(t *testing.T, s *Source) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", s.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	_ = c.SetDeadline(time.Now().Add(hangGuard))
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// head is the start of a POST to path with the given extra header lines, up to the empty line.
func head(path string, lines ...string) string {
	return "POST " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" + strings.Join(append(lines, ""), "\r\n") + "\r\n"
}

// readResponse reads one reply from a raw connection.
func readResponse(t *testing.T, c net.Conn) reply {
	t.Helper()
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("reading the reply: %v", err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return reply{status: resp.StatusCode, header: resp.Header, raw: string(raw), body: map[string]string{"error": errorOf(raw)}}
}

// errorOf returns the "error" member of a JSON error reply (its raw text when it is not one).
func errorOf(raw []byte) string {
	s := strings.TrimSpace(string(raw))
	if i := strings.Index(s, `"error":"`); i >= 0 {
		s = s[i+len(`"error":"`):]
		if j := strings.IndexByte(s, '"'); j >= 0 {
			return s[:j]
		}
	}
	return s
}

// inFlight is the number of requests holding a slot.
func inFlight(s *Source) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.st == nil {
		return 0
	}
	return len(s.st.slots)
}

// TestInFlightLimit: beyond max_in_flight requests at once, a request is answered 503 with Retry-After
// before its body is read; a request holds its slot until its record is settled, even after its caller
// left, and frees it then.
func TestInFlightLimit(t *testing.T) {
	s, base := start(t, map[string]any{"max_in_flight": int64(2)}, options{})
	// Two requests wait for their acknowledgement: the limit is reached.
	first := pending(base+"/orders", []byte("1"), nil)
	ctx, leave := context.WithCancel(context.Background())
	left := make(chan error, 1)
	go func() {
		_, err := do(ctx, httpClient, http.MethodPost, base+"/orders", []byte("2"), nil)
		left <- err
	}()
	testenv.Eventually(t, 10*time.Second, func() bool { return queued(s) == 2 }, "two requests queued")

	// The third announces a large body and sends none of it: the reply comes all the same.
	c := dialRaw(t, s)
	if _, err := io.WriteString(c, head("/orders", "Content-Length: 1000000")); err != nil {
		t.Fatal(err)
	}
	rep := readResponse(t, c)
	expect(t, "third request", rep, http.StatusServiceUnavailable, "too many requests in flight")
	if ra := rep.header.Get("Retry-After"); ra != "1" {
		t.Errorf("503 Retry-After %q, want 1", ra)
	}

	// A caller that leaves keeps its slot: its record is still on its way.
	leave()
	if err := <-left; !errors.Is(err, context.Canceled) {
		t.Fatalf("the caller that left: %v", err)
	}
	expect(t, "after a caller left", post(t, http.MethodPost, base+"/orders", []byte("3"), nil), http.StatusServiceUnavailable, "too many requests in flight")
	if n := inFlight(s); n != 2 {
		t.Errorf("%d requests in flight, want 2", n)
	}

	// Once their records are settled, the slots are free again.
	got := autoAck(t, s, nil)
	if r := waitReply(t, "first", first); r.status != http.StatusAccepted {
		t.Errorf("first: %v, want 202", r)
	}
	testenv.Eventually(t, 10*time.Second, func() bool { return inFlight(s) == 0 }, "the slots freed")
	expect(t, "after the acks", post(t, http.MethodPost, base+"/orders", []byte("4"), nil), http.StatusAccepted, "")
	if n := len(got.records()); n != 3 {
		t.Errorf("%d records, want 3 (1, 2 and 4)", n)
	}
}

// TestBodyLimitBeforeReading: a declared Content-Length over max_body_bytes is refused before any of the
// body is sent, and a body without one is cut at the limit while it is read, past the first 64 KiB too.
func TestBodyLimitBeforeReading(t *testing.T) {
	const limit = 100_000
	s, base := start(t, map[string]any{"max_body_bytes": int64(limit)}, options{})
	got := autoAck(t, s, nil)

	c := dialRaw(t, s)
	if _, err := io.WriteString(c, head("/orders", "Content-Length: 1073741824")); err != nil {
		t.Fatal(err)
	}
	expect(t, "1 GiB announced, nothing sent", readResponse(t, c), http.StatusRequestEntityTooLarge, fmt.Sprintf("body larger than %d bytes", limit))

	chunked := func(n int) reply {
		t.Helper()
		// io.MultiReader hides the length, so the client sends the body chunked.
		req, _ := http.NewRequest(http.MethodPost, base+"/orders", io.MultiReader(bytes.NewReader(bytes.Repeat([]byte("z"), n))))
		resp, err := httpClient.Do(req)
		if err != nil {
			t.Fatalf("chunked %d bytes: %v", n, err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		if req.ContentLength != 0 {
			t.Fatalf("chunked %d bytes: sent with a Content-Length", n)
		}
		return reply{status: resp.StatusCode, raw: string(raw), body: map[string]string{"error": errorOf(raw)}}
	}
	expect(t, "chunked, at the limit", chunked(limit), http.StatusAccepted, "")
	expect(t, "chunked, one byte over", chunked(limit+1), http.StatusRequestEntityTooLarge, fmt.Sprintf("body larger than %d bytes", limit))
	expect(t, "chunked, within the first buffer", chunked(10), http.StatusAccepted, "")

	recs := got.records()
	if len(recs) != 2 || len(recs[0].Payload) != limit || !bytes.Equal(recs[0].Payload, bytes.Repeat([]byte("z"), limit)) || len(recs[1].Payload) != 10 {
		t.Errorf("%d records (want the %d-byte one and the 10-byte one)", len(recs), limit)
	}
}

// TestReadBody checks readBody on its own: exact sizes with a Content-Length, growth without one, and the
// limit even from a reader that does not enforce it.
func TestReadBody(t *testing.T) {
	data := bytes.Repeat([]byte("0123456789"), 20_000) // 200,000 bytes
	for _, tc := range []struct {
		name          string
		n             int
		contentLength int64
		limit         int64
		wantErr       bool
		maxCap        int
	}{
		{"declared", 150_000, 150_000, 200_000, false, 150_000},
		{"declared empty", 0, 0, 10, false, 0},
		{"declared, body shorter", 10, 20, 100, true, 0},
		{"small, undeclared", 100, -1, 200_000, false, firstChunk},
		{"undeclared, past the first buffer", 150_000, -1, 200_000, false, 200_001},
		{"undeclared, at the limit", 200_000, -1, 200_000, false, 200_001},
		{"undeclared, over the limit", 200_000, -1, 199_999, true, 0},
		{"undeclared, limit under the first buffer", 10, -1, 10, false, 11},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// Hand out the bytes in odd pieces.
			src := &pieces{data: data[:tc.n], size: 7001}
			buf, err := readBody(src, tc.contentLength, tc.limit)
			if tc.wantErr {
				if err == nil {
					t.Fatalf("read %d bytes, want an error", len(buf))
				}
				return
			}
			if err != nil || !bytes.Equal(buf, data[:tc.n]) {
				t.Fatalf("read %d bytes, %v; want %d bytes", len(buf), err, tc.n)
			}
			if cap(buf) > tc.maxCap {
				t.Errorf("buffer of %d bytes for %d, want at most %d", cap(buf), tc.n, tc.maxCap)
			}
		})
	}
}

// pieces reads data at most size bytes at a time.
type pieces struct {
	data []byte
	size int
}

func (p *pieces) Read(b []byte) (int, error) {
	if len(p.data) == 0 {
		return 0, io.EOF
	}
	n := copy(b[:min(len(b), p.size)], p.data)
	p.data = p.data[n:]
	return n, nil
}

// TestReadTimeouts: a caller that sends its headers and then stalls in the body is answered 408 and cut
// off after read_timeout; one that stalls in its headers is cut off after read_header_timeout; a request
// whose acknowledgement takes longer than read_timeout still gets its 202.
func TestReadTimeouts(t *testing.T) {
	s, base := start(t, map[string]any{"read_timeout": "300ms", "read_header_timeout": "200ms"}, options{})
	batches := reader(t, s)

	// A request held in a batch from before the stalled bodies below began.
	held := pending(base+"/orders", []byte("slow ack"), nil)
	b := nextBatch(t, batches)

	// Headers, ten bytes of a hundred, then nothing.
	stalled := dialRaw(t, s)
	if _, err := io.WriteString(stalled, head("/orders", "Content-Length: 100")+"0123456789"); err != nil {
		t.Fatal(err)
	}
	rep := readResponse(t, stalled)
	expect(t, "stalled body", rep, http.StatusRequestTimeout, "body not received within 300ms")
	if rest, err := io.ReadAll(stalled); err != nil && !isReset(err) || len(rest) != 0 {
		t.Errorf("after the 408: %q, %v; want the connection closed", rest, err)
	}

	// Half a request line and a header, then nothing: the connection is closed without a request.
	halfHeaders := dialRaw(t, s)
	if _, err := io.WriteString(halfHeaders, "POST /orders HTTP/1.1\r\nHost: 127.0.0.1\r\n"); err != nil {
		t.Fatal(err)
	}
	if rest, err := io.ReadAll(halfHeaders); err != nil && !isReset(err) || len(rest) != 0 && !strings.HasPrefix(string(rest), "HTTP/1.1 408") {
		t.Errorf("stalled headers: %q, %v; want the connection closed", rest, err)
	}

	// The held request has now waited longer than read_timeout: its acknowledgement still reaches it.
	if err := b.ack(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	if r := waitReply(t, "held request", held); r.status != http.StatusAccepted {
		t.Errorf("held request: %v, want 202", r)
	}
	if n := len(b.recs); n != 1 {
		t.Errorf("the stalled requests reached Read: batch of %d", n)
	}
}

// isReset reports whether err is the peer resetting the connection.
func isReset(err error) bool {
	return err != nil && (strings.Contains(err.Error(), "connection reset") || strings.Contains(err.Error(), "broken pipe"))
}

// TestTimeoutSettings: read_header_timeout may not exceed read_timeout, which covers the headers too.
func TestTimeoutSettings(t *testing.T) {
	cfg, err := parse(t, map[string]any{"routes": map[string]any{"/a": "/default/a"}, "read_timeout": "1s", "read_header_timeout": "2s"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := New(cfg, connectors.Resources{}); err == nil || !strings.Contains(err.Error(), "read_header_timeout") {
		t.Errorf("New = %v, want an error on read_header_timeout", err)
	}
	for _, raw := range []map[string]any{
		{"routes": map[string]any{"/a": "/default/a"}, "max_in_flight": int64(0)},
		{"routes": map[string]any{"/a": "/default/a"}, "read_timeout": "0s"},
		{"routes": map[string]any{"/a": "/default/a"}, "idle_timeout": int64(5)},
	} {
		if _, err := parse(t, raw, nil); err == nil {
			t.Errorf("%v: accepted", raw)
		}
	}
}

// TestMemoryUnderBadSignatures sends 1,000 concurrent 1 MiB bodies with a wrong signature to a running
// source over loopback and checks that the heap stays bounded: each request is let in only while one of
// max_in_flight slots is free, and the others are answered 503 without their bodies being read.
func TestMemoryUnderBadSignatures(t *testing.T) {
	if testing.Short() {
		t.Skip("sends 1 GiB over loopback")
	}
	const (
		callers = 1000
		size    = 1 << 20
		slots   = defaultMaxInFlight // the attack on a source with the default settings
	)
	s, _ := start(t, map[string]any{"auth": "hmac", "hmac_secret": "right"}, options{})
	got := autoAck(t, s, nil)
	body := bytes.Repeat([]byte("x"), size) // shared by every caller: the test's own heap stays flat
	reqHead := head("/orders", fmt.Sprintf("Content-Length: %d", size), "X-Signature-256: sha256="+sign("wrong", body), "Connection: close")
	addr := s.Addr().String()

	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)

	// Sample the heap until the callers are done.
	var peak atomic.Uint64
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		var m runtime.MemStats
		for {
			runtime.ReadMemStats(&m)
			if m.HeapInuse > peak.Load() {
				peak.Store(m.HeapInuse)
			}
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	}()

	var unauthorized, busy, other, failed atomic.Int32
	var firstOther atomic.Value
	var wg sync.WaitGroup
	begin := make(chan struct{})
	for range callers {
		wg.Go(func() {
			<-begin
			c, err := net.Dial("tcp", addr)
			if err != nil {
				failed.Add(1)
				return
			}
			defer c.Close()
			_ = c.SetDeadline(time.Now().Add(hangGuard))
			// A refused request may be closed on while its body is still being sent: the reply can
			// still be read.
			_, _ = io.WriteString(c, reqHead)
			_, _ = c.Write(body)
			line, err := bufio.NewReaderSize(c, 64).ReadString('\n')
			switch {
			case err != nil && line == "":
				failed.Add(1)
			case strings.HasPrefix(line, "HTTP/1.1 401 "):
				unauthorized.Add(1)
			case strings.HasPrefix(line, "HTTP/1.1 503 "):
				busy.Add(1)
			default:
				other.Add(1)
				firstOther.CompareAndSwap(nil, line)
			}
		})
	}
	close(begin)
	wg.Wait()
	close(stop)
	<-sampled

	growth := int64(peak.Load()) - int64(before.HeapInuse)
	t.Logf("%d callers: %d answered 401, %d answered 503, %d other, %d cut off; heap in use %d MiB before, peak growth %d MiB",
		callers, unauthorized.Load(), busy.Load(), other.Load(), failed.Load(), before.HeapInuse>>20, growth>>20)
	if other.Load() > 0 {
		t.Errorf("%d unexpected replies, e.g. %q", other.Load(), firstOther.Load())
	}
	if unauthorized.Load() == 0 {
		t.Error("no body was read and refused (401): the test did not exercise the signature check")
	}
	if busy.Load() == 0 {
		t.Errorf("no request was refused for the limit of %d in flight: the test did not fill it", slots)
	}
	if n := len(got.records()); n != 0 {
		t.Errorf("%d records reached Read with a wrong signature", n)
	}
	// At most 16 bodies are held at once (16 MiB), in pooled chunks that a refused body gives back; the rest
	// is the connections' buffers. Without the limit the same load grew the heap by hundreds of MiB.
	const bound = 40 << 20
	if growth > bound {
		t.Errorf("the heap grew by %d MiB under the load, want under %d MiB", growth>>20, bound>>20)
	}
	testenv.Eventually(t, 10*time.Second, func() bool { return inFlight(s) == 0 }, "every slot freed")
}

// TestReadChecked checks readChecked on its own: bodies across chunk boundaries come back whole when the
// signature holds, and a wrong signature or a failed read returns no body.
func TestReadChecked(t *testing.T) {
	a := hmacAuth{header: "X-Sig", secret: []byte("k")}
	data := bytes.Repeat([]byte("abcdefghijklmnopq"), 20_000) // 340,000 bytes
	for _, n := range []int{0, 1, chunkSize - 1, chunkSize, chunkSize + 1, 3 * chunkSize, len(data)} {
		for _, good := range []bool{true, false} {
			body := data[:n]
			secret := "k"
			if !good {
				secret = "not k"
			}
			r, _ := http.NewRequest(http.MethodPost, "/", nil)
			r.Header.Set("X-Sig", sign(secret, body))
			check, reason := a.check(r)
			if reason != "" || check == nil {
				t.Fatalf("%d bytes: header check %q", n, reason)
			}
			got, reason, err := readChecked(&pieces{data: body, size: 5003}, check)
			switch {
			case err != nil:
				t.Errorf("%d bytes: %v", n, err)
			case good && (reason != "" || !bytes.Equal(got, body)):
				t.Errorf("%d bytes, right signature: %q, %d bytes back", n, reason, len(got))
			case !good && (reason != "invalid signature" || got != nil):
				t.Errorf("%d bytes, wrong signature: %q, %d bytes back", n, reason, len(got))
			}
		}
	}
	// A read error ends it, whatever the signature.
	r, _ := http.NewRequest(http.MethodPost, "/", nil)
	r.Header.Set("X-Sig", sign("k", nil))
	check, _ := a.check(r)
	boom := errors.New("boom")
	if got, _, err := readChecked(io.MultiReader(bytes.NewReader(data[:100]), iotest.ErrReader(boom)), check); !errors.Is(err, boom) || got != nil {
		t.Errorf("failed read: %d bytes, %v", len(got), err)
	}
}
