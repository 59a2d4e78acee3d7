package webhook

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/danube-console/danube-console/connectors"
)

// Source is the webhook source. Connect starts its HTTP server, Read hands the runtime what the server
// queued, and the AckFunc of each batch answers the batch's callers; Close stops the server. A Source may be
// connected again after Close.
type Source struct {
	set    settings
	log    *slog.Logger
	now    func() time.Time
	auth   authenticator
	routes map[string]*route

	mu sync.Mutex
	st *server // nil while not connected
}

// route is one configured path.
type route struct {
	path, topic string
	limiter     *rate.Limiter // nil: unlimited
}

// server is one run of the HTTP server, from Connect to Close.
type server struct {
	srv   *http.Server
	ln    net.Listener
	queue chan *request
	// slots holds one token per request being handled (max_in_flight).
	slots chan struct{}
	// stopping is closed when Close begins: waiting handlers answer 503 and new requests are refused.
	stopping chan struct{}
	// served is closed when Serve returned; serveErr is then set.
	served   chan struct{}
	serveErr error

	connMu sync.Mutex
	// fresh are the connections that have not sent a request yet: Shutdown would wait 5 seconds for each
	// before counting it idle, so Close closes them itself.
	fresh map[net.Conn]struct{}
}

// request is an accepted request waiting for its record's acknowledgement.
type request struct {
	rec connectors.Record
	// done receives the batch's outcome once (buffered, so the AckFunc never blocks on a caller that left).
	done chan error
}

// Errors Read returns.
var (
	// ErrNotConnected is returned by Read before Connect, after Close, or when the server's listener failed;
	// it wraps connectors.ErrNotConnected, so that the runtime calls Connect again.
	ErrNotConnected = fmt.Errorf("webhook: %w", connectors.ErrNotConnected)
	// ErrStopped is returned by Read when Close stopped the server while it waited.
	ErrStopped = errors.New("webhook: server stopped")
)

// New builds a webhook source from its validated settings. It only checks the settings; the server starts
// in Connect. Configuration mistakes are returned as connectors.ConfigError.
func New(cfg connectors.Config, res connectors.Resources) (*Source, error) {
	set, err := parseSettings(cfg)
	if err != nil {
		return nil, err
	}
	s := &Source{set: set, log: res.Logger, now: res.Now, routes: make(map[string]*route, len(set.routes))}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	for path, topic := range set.routes {
		r := &route{path: path, topic: topic}
		if set.ratePerRoute > 0 {
			r.limiter = rate.NewLimiter(rate.Limit(set.ratePerRoute), max(1, int(math.Ceil(set.ratePerRoute))))
		}
		s.routes[path] = r
	}
	s.auth = newAuthenticator(set, s.now)
	return s, nil
}

// Connect starts the HTTP server on the listen address, unless it is already running. A server whose
// listener failed is replaced. An unreadable TLS certificate or key is a connectors.ConfigError; an address
// that cannot be listened on is a retryable error.
func (s *Source) Connect(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if st := s.st; st != nil {
		select {
		case <-st.served:
			s.st = nil
			st.abort()
		default:
			return nil
		}
	}
	var tlsCfg *tls.Config
	if s.set.tlsCert != "" {
		cert, err := tls.LoadX509KeyPair(s.set.tlsCert, s.set.tlsKey)
		if err != nil {
			return connectors.ConfigError(fmt.Errorf("webhook: tls_cert/tls_key: %w", err))
		}
		tlsCfg = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", s.set.listen)
	if err != nil {
		return connectors.Retryable(fmt.Errorf("webhook: listen on %s: %w", s.set.listen, err))
	}
	if tlsCfg != nil {
		ln = tls.NewListener(ln, tlsCfg)
	}
	st := &server{
		ln:       ln,
		queue:    make(chan *request, s.set.queueSize),
		slots:    make(chan struct{}, s.set.maxInFlight),
		stopping: make(chan struct{}),
		served:   make(chan struct{}),
		fresh:    make(map[net.Conn]struct{}),
	}
	st.srv = &http.Server{
		Handler:           s.handler(st),
		ConnState:         st.connState,
		ReadHeaderTimeout: s.set.readHeaderTO,
		// The deadline of the whole request; the handler lifts it once the body is read, so that
		// waiting for Danube's acknowledgement is not cut short.
		ReadTimeout: s.set.readTimeout,
		IdleTimeout: s.set.idleTimeout,
		ErrorLog:    slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
	go func() {
		defer close(st.served)
		err := st.srv.Serve(ln)
		select {
		case <-st.stopping: // Close closed the listener.
		default:
			st.serveErr = err
			s.log.Error("webhook: the server stopped", "err", err)
		}
	}()
	s.st = st
	s.log.Info("webhook: listening", "addr", ln.Addr().String(), "tls", tlsCfg != nil, "routes", len(s.routes))
	return nil
}

// Addr returns the address the server listens on, or nil when it is not connected. With listen =
// "127.0.0.1:0" it tells which port was picked.
func (s *Source) Addr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.st == nil {
		return nil
	}
	return s.st.ln.Addr()
}

// Read waits until at least one request was accepted, then returns the queued ones (at most batch_size)
// as records, with the AckFunc that answers their callers: nil → 202, an InvalidData error → 422, any
// other error → 503. It returns ctx's error when ctx ends first, ErrNotConnected (retryable) when the
// source is not connected or its listener failed (Connect then starts a new server), and ErrStopped
// (retryable) when Close stopped the server.
func (s *Source) Read(ctx context.Context) ([]connectors.Record, connectors.AckFunc, error) {
	s.mu.Lock()
	st := s.st
	s.mu.Unlock()
	if st == nil {
		return nil, nil, connectors.Retryable(ErrNotConnected)
	}
	var first *request
	select {
	case first = <-st.queue:
	case <-ctx.Done():
		return nil, nil, ctx.Err()
	case <-st.stopping:
		return nil, nil, connectors.Retryable(ErrStopped)
	case <-st.served:
		if st.serveErr == nil { // Close is under way
			return nil, nil, connectors.Retryable(ErrStopped)
		}
		return nil, nil, connectors.Retryable(fmt.Errorf("%w: the server stopped: %v", ErrNotConnected, st.serveErr))
	}
	reqs := []*request{first}
drain:
	for len(reqs) < s.set.batchSize {
		select {
		case r := <-st.queue:
			reqs = append(reqs, r)
		default:
			break drain
		}
	}
	recs := make([]connectors.Record, len(reqs))
	for i, r := range reqs {
		recs[i] = r.rec
	}
	var once sync.Once
	ack := func(_ context.Context, err error) error {
		once.Do(func() {
			for _, r := range reqs {
				r.done <- err
			}
		})
		return nil
	}
	return recs, ack, nil
}

// Health reports whether the server is listening.
func (s *Source) Health(context.Context) error {
	s.mu.Lock()
	st := s.st
	s.mu.Unlock()
	if st == nil {
		return ErrNotConnected
	}
	select {
	case <-st.served:
		return fmt.Errorf("webhook: the server stopped: %v", st.serveErr)
	default:
		return nil
	}
}

// Close stops the server: requests still waiting for their acknowledgement, and those arriving meanwhile,
// are answered 503, then the server shuts down gracefully, closing its connections once their replies are
// written. When ctx ends before that, the remaining connections are closed at once and ctx's error is
// returned. Close returns only after the server's goroutines ended; it is a no-op when not connected.
func (s *Source) Close(ctx context.Context) error {
	s.mu.Lock()
	st := s.st
	s.st = nil
	s.mu.Unlock()
	if st == nil {
		return nil
	}
	close(st.stopping)
	// Stop accepting first, so that no connection arrives after the fresh ones are closed.
	_ = st.ln.Close()
	<-st.served
	st.closeFresh()
	err := st.srv.Shutdown(ctx)
	if err != nil {
		_ = st.srv.Close()
	}
	return err
}

// connState tracks the connections that have not sent a request yet.
func (st *server) connState(c net.Conn, cs http.ConnState) {
	st.connMu.Lock()
	defer st.connMu.Unlock()
	if cs == http.StateNew {
		st.fresh[c] = struct{}{}
	} else {
		delete(st.fresh, c)
	}
}

// closeFresh closes the connections that have not sent a request yet.
func (st *server) closeFresh() {
	st.connMu.Lock()
	defer st.connMu.Unlock()
	for c := range st.fresh {
		_ = c.Close()
	}
}

// abort stops a server whose listener already failed.
func (st *server) abort() {
	close(st.stopping)
	_ = st.srv.Close()
	<-st.served
}

// retryAfter503 is the Retry-After of every 503 (seconds).
const retryAfter503 = "1"

// handler serves one run of the server.
func (s *Source) handler(st *server) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rt, ok := s.routes[r.URL.Path]
		if !ok {
			replyError(w, http.StatusNotFound, "no route for "+connectors.Snippet(r.URL.Path, 100))
			return
		}
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			replyError(w, http.StatusMethodNotAllowed, "only POST is accepted")
			return
		}
		select {
		case st.slots <- struct{}{}:
			defer func() { <-st.slots }()
		default:
			w.Header().Set("Retry-After", retryAfter503)
			replyError(w, http.StatusServiceUnavailable, "too many requests in flight")
			return
		}
		if rt.limiter != nil {
			now := s.now()
			res := rt.limiter.ReserveN(now, 1)
			if d := res.DelayFrom(now); d > 0 {
				res.CancelAt(now)
				w.Header().Set("Retry-After", strconv.Itoa(max(1, int(math.Ceil(d.Seconds())))))
				replyError(w, http.StatusTooManyRequests, "rate limit of the route exceeded")
				return
			}
		}
		if r.ContentLength > s.set.maxBody {
			replyError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("body larger than %d bytes", s.set.maxBody))
			return
		}
		check, reason := s.auth.check(r)
		if reason != "" {
			replyError(w, http.StatusUnauthorized, reason)
			return
		}
		src := http.MaxBytesReader(w, r.Body, s.set.maxBody)
		var body []byte
		var err error
		if check != nil {
			body, reason, err = readChecked(src, check)
		} else {
			body, err = readBody(src, r.ContentLength, s.set.maxBody)
		}
		if err != nil {
			s.replyReadError(w, rt, err)
			return
		}
		// The body is in: lift the read deadline, which would otherwise cancel the request's context
		// while it waits for its acknowledgement. A server that cannot (none here) keeps its deadline.
		_ = http.NewResponseController(w).SetReadDeadline(time.Time{})
		if reason != "" {
			replyError(w, http.StatusUnauthorized, reason)
			return
		}
		req := &request{rec: s.record(rt, r, body), done: make(chan error, 1)}
		select {
		case <-st.stopping:
			w.Header().Set("Retry-After", retryAfter503)
			replyError(w, http.StatusServiceUnavailable, "the connector is stopping")
			return
		default:
		}
		select {
		case st.queue <- req:
		default:
			w.Header().Set("Retry-After", retryAfter503)
			replyError(w, http.StatusServiceUnavailable, "queue full")
			return
		}
		// The request keeps its slot until its record is settled, even when the caller left (its reply
		// then goes nowhere): the record's body is held until then, and max_in_flight bounds them all.
		select {
		case err := <-req.done:
			s.replyAck(w, rt, err)
		case <-st.stopping:
			select {
			case err := <-req.done:
				s.replyAck(w, rt, err)
			default:
				w.Header().Set("Retry-After", retryAfter503)
				replyError(w, http.StatusServiceUnavailable, "the connector is stopping")
			}
		}
	})
}

// firstChunk is the buffer a body without a Content-Length is read into first.
const firstChunk = 64 << 10

// readBody reads a body of at most limit bytes from src, which fails past the limit (an
// http.MaxBytesReader). A declared contentLength (at most limit) sizes the buffer exactly; a body without
// one is read into min(limit, 64 KiB) first and, when that fills, into one buffer of limit+1 bytes, so a
// body never takes more than limit+64 KiB while it is read, whatever its size.
func readBody(src io.Reader, contentLength, limit int64) ([]byte, error) {
	if contentLength >= 0 {
		buf := make([]byte, contentLength)
		if _, err := io.ReadFull(src, buf); err != nil {
			return nil, err
		}
		return buf, nil
	}
	buf := make([]byte, 0, min(limit+1, firstChunk))
	for {
		if len(buf) == cap(buf) {
			if int64(cap(buf)) > limit {
				// Only a reader that does not enforce the limit gets here.
				return nil, &http.MaxBytesError{Limit: limit}
			}
			bigger := make([]byte, len(buf), limit+1)
			copy(bigger, buf)
			buf = bigger
		}
		n, err := src.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		switch {
		case errors.Is(err, io.EOF):
			return buf, nil
		case err != nil:
			return nil, err
		}
	}
}

// chunkSize is the size of the pooled buffers a body whose credentials depend on it is read into.
const chunkSize = 64 << 10

// chunk is one pooled buffer of readChecked.
type chunk [chunkSize]byte

var chunks = sync.Pool{New: func() any { return new(chunk) }}

// readChecked reads a body from src, which fails past the limit (an http.MaxBytesReader), writing it to
// check as it arrives. The body is held in pooled 64 KiB chunks until check has verified it: a refused
// body goes back to the pool and leaves no garbage, so that callers with bad credentials cannot make the
// heap grow beyond what the requests in flight hold. Only a body that passes is copied into a buffer of
// its own. It returns check's reason when the body is refused, or the read error.
func readChecked(src io.Reader, check bodyCheck) (body []byte, reason string, err error) {
	var held []*chunk
	defer func() {
		for _, c := range held {
			chunks.Put(c)
		}
	}()
	total, used := 0, chunkSize // bytes read; bytes used in the last chunk
	for {
		if used == chunkSize {
			held = append(held, chunks.Get().(*chunk))
			used = 0
		}
		last := held[len(held)-1]
		n, err := src.Read(last[used:])
		_, _ = check.Write(last[used : used+n])
		used += n
		total += n
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, "", err
		}
	}
	if reason := check.verify(); reason != "" {
		return nil, reason, nil
	}
	body = make([]byte, total)
	off := 0
	for _, c := range held {
		off += copy(body[off:], c[:])
	}
	return body, "", nil
}

// replyReadError answers a request whose body could not be read: 413 past max_body_bytes, 408 past
// read_timeout, 400 otherwise (e.g. the caller closed the connection before sending it all).
func (s *Source) replyReadError(w http.ResponseWriter, rt *route, err error) {
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		replyError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("body larger than %d bytes", s.set.maxBody))
	case errors.Is(err, os.ErrDeadlineExceeded):
		s.log.Debug("webhook: a body arrived too slowly", "route", rt.path, "read_timeout", s.set.readTimeout)
		w.Header().Set("Connection", "close")
		replyError(w, http.StatusRequestTimeout, fmt.Sprintf("body not received within %v", s.set.readTimeout))
	default:
		s.log.Debug("webhook: a body could not be read", "route", rt.path, "err", err)
		replyError(w, http.StatusBadRequest, "could not read the body")
	}
}

// record builds the record of an accepted request.
func (s *Source) record(rt *route, r *http.Request, body []byte) connectors.Record {
	attrs := make(map[string]string, len(s.set.headerAttrs)+2)
	for _, h := range s.set.headerAttrs {
		if vs := r.Header.Values(h); len(vs) > 0 {
			attrs[strings.ToLower(h)] = strings.Join(vs, ", ")
		}
	}
	if ct := r.Header.Get("Content-Type"); ct != "" {
		attrs["content-type"] = ct
	}
	attrs["x-webhook-route"] = rt.path
	return connectors.Record{Payload: body, Attributes: attrs, Topic: rt.topic}
}

// replyAck answers a request from its batch's outcome.
func (s *Source) replyAck(w http.ResponseWriter, rt *route, err error) {
	switch {
	case err == nil:
		writeJSON(w, http.StatusAccepted, map[string]string{"status": "accepted", "topic": rt.topic})
	case connectors.KindOf(err) == connectors.KindInvalidData:
		replyError(w, http.StatusUnprocessableEntity, "rejected by Danube: "+connectors.Snippet(err.Error(), 200))
	default:
		s.log.Debug("webhook: a request was not published", "route", rt.path, "err", err)
		w.Header().Set("Retry-After", retryAfter503)
		replyError(w, http.StatusServiceUnavailable, "not published, try again")
	}
}

// replyError writes an error reply {"error": reason}.
func replyError(w http.ResponseWriter, status int, reason string) {
	writeJSON(w, status, map[string]string{"error": reason})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)+1))
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}
