package httpsink

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/danube-console/danube-console/client"
	"github.com/danube-console/danube-console/connectors"
	"github.com/danube-console/danube-console/internal/jsonl"
)

// Sink is the HTTP sink. Connect builds its HTTP client, Write POSTs a batch, Close releases the idle
// connections. A Sink may be connected again after Close.
type Sink struct {
	set settings
	log *slog.Logger

	mu        sync.Mutex
	client    *http.Client
	transport *http.Transport
}

// ErrNotConnected is returned (retryable) by Write before Connect or after Close; it wraps
// connectors.ErrNotConnected, so that the runtime calls Connect again.
var ErrNotConnected = fmt.Errorf("httpsink: %w", connectors.ErrNotConnected)

// snippetBytes bounds the part of a response body quoted in an error.
const snippetBytes = 256

// drainBytes bounds how much of a response body is read to reuse its connection.
const drainBytes = 64 << 10

// New builds an HTTP sink from its validated settings; it checks them and sends nothing. Configuration
// mistakes are returned as connectors.ConfigError.
func New(cfg connectors.Config, res connectors.Resources) (*Sink, error) {
	set, err := parseSettings(cfg)
	if err != nil {
		return nil, err
	}
	s := &Sink{set: set, log: res.Logger}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	return s, nil
}

// Connect builds the HTTP client (keeping up to max_in_flight idle connections to the endpoint). It does
// not contact the endpoint; Health does when health_url is set. It is a no-op when already connected.
func (s *Sink) Connect(context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.client != nil {
		return nil
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = s.set.maxInFlight
	s.transport = tr
	s.client = &http.Client{
		Transport: tr,
		// Only 307 and 308 keep the method and the body; following the others would turn the POST into
		// a GET and lose the message.
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= 10 {
				return errors.New("stopped after 10 redirects")
			}
			if c := req.Response.StatusCode; c != http.StatusTemporaryRedirect && c != http.StatusPermanentRedirect {
				return http.ErrUseLastResponse
			}
			return nil
		},
	}
	return nil
}

// Close releases the client's idle connections. Requests of a Write still running are not interrupted
// (the runtime calls Close after the last Write returned).
func (s *Sink) Close(context.Context) error {
	s.mu.Lock()
	tr := s.transport
	s.client, s.transport = nil, nil
	s.mu.Unlock()
	if tr != nil {
		tr.CloseIdleConnections()
	}
	return nil
}

// Health GETs health_url (with the configured headers and auth_token) and fails unless it answers 2xx
// within timeout; without health_url it always passes.
func (s *Sink) Health(ctx context.Context) error {
	if s.set.healthURL == "" {
		return nil
	}
	c := s.httpClient()
	if c == nil {
		return ErrNotConnected
	}
	ctx, cancel := context.WithTimeout(ctx, s.set.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.set.healthURL, nil)
	if err != nil {
		return err
	}
	s.setHeaders(req.Header)
	if s.set.authToken != "" {
		req.Header.Set("Authorization", "Bearer "+s.set.authToken)
	}
	resp, err := c.Do(req)
	if err != nil {
		return fmt.Errorf("httpsink: health check: %w", err)
	}
	snippet := readSnippet(resp.Body)
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("httpsink: health check: %s%s", resp.Status, quote(snippet))
	}
	return nil
}

// Write delivers a batch. In batch mode it is one POST whose outcome is the whole batch's: nil, or a
// retryable or invalid-data error. In message mode every message is its own POST, up to max_in_flight at
// a time; it returns nil when all succeeded, otherwise a *connectors.BatchError whose Failed holds exactly
// the failed messages' indices with their (retryable or invalid-data) errors. When ctx ends, the requests
// in flight are cancelled and count as retryable failures.
func (s *Sink) Write(ctx context.Context, batch []*client.Message) error {
	if len(batch) == 0 {
		return nil
	}
	c := s.httpClient()
	if c == nil {
		return connectors.Retryable(ErrNotConnected)
	}
	if s.set.mode == ModeBatch {
		return s.writeBatch(ctx, c, batch)
	}
	return s.writeMessages(ctx, c, batch)
}

func (s *Sink) httpClient() *http.Client {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.client
}

// writeMessages sends one POST per message, max_in_flight at a time.
func (s *Sink) writeMessages(ctx context.Context, c *http.Client, batch []*client.Message) error {
	errs := make([]error, len(batch))
	sem := make(chan struct{}, s.set.maxInFlight)
	var wg sync.WaitGroup
	for i, m := range batch {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			errs[i] = connectors.Retryable(fmt.Errorf("httpsink: not sent: %w", ctx.Err()))
			continue
		}
		wg.Go(func() {
			defer func() { <-sem }()
			errs[i] = s.sendMessage(ctx, c, m)
		})
	}
	wg.Wait()
	var be connectors.BatchError
	for i, err := range errs {
		if err != nil {
			be.Fail(i, err)
		}
	}
	if len(be.Failed) > 0 {
		return &be
	}
	return nil
}

// sendMessage POSTs one message.
func (s *Sink) sendMessage(ctx context.Context, c *http.Client, m *client.Message) error {
	h := make(http.Header, len(m.Attributes)+8)
	h.Set("Content-Type", "application/octet-stream")
	if ct, ok := m.Attributes["content-type"]; ok && ct != "" && validValue(ct) {
		h.Set("Content-Type", ct)
	}
	s.setHeaders(h)
	h.Set("X-Danube-Topic", m.ID.Topic)
	h.Set("X-Danube-Offset", strconv.FormatUint(m.ID.Offset, 10))
	if m.HasRoutingKey {
		if !validValue(m.RoutingKey) {
			return connectors.InvalidData(fmt.Errorf("httpsink: the routing key %q cannot be sent as an HTTP header", connectors.Snippet(m.RoutingKey, 64)))
		}
		h.Set("X-Danube-Key", m.RoutingKey)
	}
	for name, v := range m.Attributes {
		if !validToken(name) || !validValue(v) {
			return connectors.InvalidData(fmt.Errorf("httpsink: attribute %q cannot be sent as an HTTP header", connectors.Snippet(name, 64)))
		}
		// Set without canonicalising, so that the attribute's name keeps its case on the wire.
		h["X-Danube-Attr-"+name] = []string{v}
	}
	if s.set.authToken != "" {
		h.Set("Authorization", "Bearer "+s.set.authToken)
	}
	return s.post(ctx, c, h, m.Payload)
}

// writeBatch POSTs the batch as one JSON array of jsonl records.
func (s *Sink) writeBatch(ctx context.Context, c *http.Client, batch []*client.Message) error {
	recs := make([]jsonl.Record, len(batch))
	for i, m := range batch {
		recs[i] = jsonl.FromMessage(m)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(recs); err != nil {
		return connectors.InvalidData(fmt.Errorf("httpsink: encoding the batch: %w", err))
	}
	h := make(http.Header, len(s.set.headers)+2)
	h.Set("Content-Type", "application/json")
	s.setHeaders(h)
	if s.set.authToken != "" {
		h.Set("Authorization", "Bearer "+s.set.authToken)
	}
	return s.post(ctx, c, h, buf.Bytes())
}

// setHeaders adds the configured headers.
func (s *Sink) setHeaders(h http.Header) {
	for k, v := range s.set.headers {
		h.Set(k, v)
	}
}

// post sends one request and classifies its outcome.
func (s *Sink) post(ctx context.Context, c *http.Client, h http.Header, body []byte) error {
	rctx, cancel := context.WithTimeout(ctx, s.set.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodPost, s.set.url, bytes.NewReader(body))
	if err != nil {
		return connectors.Fatal(fmt.Errorf("httpsink: %w", err))
	}
	req.Header = h
	resp, err := c.Do(req)
	if err != nil {
		switch {
		case ctx.Err() != nil:
			return connectors.Retryable(fmt.Errorf("httpsink: POST %s: %w", s.set.url, ctx.Err()))
		case errors.Is(err, context.DeadlineExceeded):
			return connectors.Retryable(fmt.Errorf("httpsink: POST %s: no answer within %v", s.set.url, s.set.timeout))
		}
		return connectors.Retryable(fmt.Errorf("httpsink: POST %s: %w", s.set.url, err))
	}
	snippet := readSnippet(resp.Body)
	return classify(resp, snippet)
}

// classify turns a response into the request's outcome.
func classify(resp *http.Response, snippet string) error {
	code := resp.StatusCode
	switch {
	case code/100 == 2:
		return nil
	case code == http.StatusTooManyRequests || code == http.StatusRequestTimeout || code/100 == 5:
		msg := "httpsink: the endpoint answered " + resp.Status
		if ra := retryAfter(resp.Header.Get("Retry-After"), time.Now()); ra > 0 {
			msg += fmt.Sprintf(" (retry after %v)", ra)
		}
		return connectors.Retryable(errors.New(msg + quote(snippet)))
	case code/100 == 4:
		return connectors.InvalidData(fmt.Errorf("httpsink: the endpoint refused the message: %s%s", resp.Status, quote(snippet)))
	case code/100 == 3:
		return connectors.Retryable(fmt.Errorf("httpsink: the endpoint redirects (%s to %q); set url to the final address", resp.Status, resp.Header.Get("Location")))
	}
	return connectors.Retryable(fmt.Errorf("httpsink: unexpected answer %s%s", resp.Status, quote(snippet)))
}

// retryAfter parses a Retry-After header (seconds or an HTTP date); 0 when absent or unreadable.
func retryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if n, err := strconv.Atoi(v); err == nil && n > 0 {
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now).Round(time.Second)
	}
	return 0
}

// readSnippet reads the start of a body (at most snippetBytes, as text), drains a bounded rest so that the
// connection can be reused, and closes it.
func readSnippet(body io.ReadCloser) string {
	defer body.Close()
	b, _ := io.ReadAll(io.LimitReader(body, snippetBytes+1))
	_, _ = io.Copy(io.Discard, io.LimitReader(body, drainBytes))
	s := string(b)
	if len(b) > snippetBytes {
		s = connectors.Snippet(s, snippetBytes)
	}
	s = strings.TrimSpace(strings.ToValidUTF8(s, "�"))
	return s
}

// quote renders a response snippet for an error message.
func quote(snippet string) string {
	if snippet == "" {
		return ""
	}
	return ": " + strconv.Quote(snippet)
}
