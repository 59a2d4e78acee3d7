// Package httpsink is the "http" sink: it POSTs Danube messages to an HTTP endpoint, one request per
// message or one JSON array per batch.
//
// Example:
//
//	[[connector]]
//	name = "orders-to-billing"
//	kind = "http"
//	topic = "/default/orders"
//	subscription = "billing-http"
//	url = "http://127.0.0.1:9000/ingest"    # required
//	mode = "message"                         # message (default) | batch
//	max_in_flight = 8                        # default; parallel requests in message mode
//	timeout = "10s"                          # default; per request
//	headers = { "X-Source" = "danube" }
//	auth_token_env = "BILLING_TOKEN"         # or auth_token = "..."; sent as "Authorization: Bearer <token>"
//	# health_url = "http://127.0.0.1:9000/healthz"   # GET; a non-2xx answer marks the connector degraded
//
// In message mode each message is one POST whose body is the raw payload, with the headers
//
//	Content-Type: the message's "content-type" attribute, else application/octet-stream
//	X-Danube-Topic: the topic (partition) the message is on
//	X-Danube-Offset: its offset on the topic
//	X-Danube-Key: its routing key, when it has one
//	X-Danube-Attr-<name>: one per attribute, the name as written in the message
//
// and the messages of a batch are sent in parallel (up to max_in_flight), so their order is not kept; set
// max_in_flight = 1 to keep it. The outcome is per message: those that failed are retried or nacked, the
// others acknowledged. An attribute or key that cannot be an HTTP header (a name that is not a token, a
// value with control characters) makes its message invalid data.
//
// In batch mode a batch is one POST of a JSON array (Content-Type: application/json) of records in the
// format of `consume --jsonl` (topic, offset, publish_time, producer, attributes, key, payload as text or
// payload_base64, …); the outcome applies to the whole batch.
//
// Configured headers are sent with every request; they can replace Content-Type but not the X-Danube-*
// headers, and auth_token replaces a configured Authorization.
//
// Answers: 2xx is success; 408, 429, 5xx, timeouts and connection errors are retryable (the runtime retries
// with backoff, then nacks with a delay; a Retry-After is quoted in the error); redirects other than 307
// and 308 are not followed and are retryable (fix url); other 4xx are invalid data: the message (or the
// batch) is nacked at once with the status and the start of the response body as the reason, so that the
// subscription's dead-letter topic takes it.
//
// Delivery is at least once: a message whose request timed out may have been received; endpoints should
// deduplicate by topic and offset.
package httpsink

import (
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/danube-console/danube-console/connectors"
)

// Kind is the connector kind this package registers.
const Kind = "http"

// Modes (the values of the mode setting).
const (
	ModeMessage = "message"
	ModeBatch   = "batch"
)

// Spec is the HTTP sink's settings.
var Spec = connectors.Spec{
	Summary: "POSTs messages to an HTTP endpoint, one request per message or a JSON array per batch.",
	Fields: []connectors.Field{
		{Name: "url", Type: connectors.TypeString, Required: true, Example: `"http://127.0.0.1:9000/ingest"`, Doc: "Endpoint the messages are POSTed to (http or https)."},
		{Name: "mode", Type: connectors.TypeString, Default: ModeMessage, Enum: []string{ModeMessage, ModeBatch}, Doc: "message: one POST per message with the raw payload; batch: one POST of a JSON array per batch."},
		{Name: "max_in_flight", Type: connectors.TypeInt, Default: int64(8), Min: 1, Max: 1024, Doc: "Requests sent in parallel in message mode."},
		{Name: "headers", Type: connectors.TypeStringMap, Redacted: true, Doc: "Headers sent with every request (the console shows their names only)."},
		{Name: "timeout", Type: connectors.TypeDuration, Default: 10 * time.Second, Min: 0.001, Max: 3600, Doc: "Time limit of one request; a request that exceeds it is retried."},
		{Name: "auth_token", Type: connectors.TypeString, Secret: true, Doc: "Bearer token sent as Authorization."},
		{Name: "health_url", Type: connectors.TypeString, Doc: "URL checked with a GET for the connector's health; not checked when empty."},
	},
}

func init() {
	connectors.MustRegisterSink(Kind, Spec, func(cfg connectors.Config, res connectors.Resources) (connectors.Sink, error) {
		return New(cfg, res)
	})
}

// settings are the validated settings New works from.
type settings struct {
	url         string
	mode        string
	maxInFlight int
	headers     map[string]string
	timeout     time.Duration
	authToken   string
	healthURL   string
}

// parseSettings reads cfg and checks what the spec cannot: the URLs and the header names.
func parseSettings(cfg connectors.Config) (settings, error) {
	s := settings{
		url:         cfg.String("url"),
		mode:        cfg.String("mode"),
		maxInFlight: int(cfg.Int("max_in_flight")),
		headers:     cfg.StringMap("headers"),
		timeout:     cfg.Duration("timeout"),
		authToken:   cfg.String("auth_token"),
		healthURL:   cfg.String("health_url"),
	}
	var errs []error
	fail := func(key, format string, a ...any) {
		errs = append(errs, connectors.FieldError{Key: key, Err: fmt.Errorf(format, a...)})
	}
	if err := checkURL(s.url); err != nil {
		fail("url", "%v", err)
	}
	if s.healthURL != "" {
		if err := checkURL(s.healthURL); err != nil {
			fail("health_url", "%v", err)
		}
	}
	for k, v := range s.headers {
		if !validToken(k) {
			fail("headers", "%q is not a header name", k)
		}
		if !validValue(v) {
			fail("headers", "the value of %q has control characters", k)
		}
	}
	if !validValue(s.authToken) {
		fail("auth_token", "has control characters")
	}
	if s.maxInFlight < 1 {
		s.maxInFlight = 1
	}
	if s.timeout <= 0 {
		s.timeout = 10 * time.Second
	}
	if len(errs) > 0 {
		return s, connectors.ConfigError(errors.Join(errs...))
	}
	return s, nil
}

func checkURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("%q is not a URL", raw)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%q is not an http:// or https:// URL", raw)
	}
	return nil
}

// validToken reports whether s is an HTTP token (RFC 9110 §5.6.2), i.e. a valid header name.
func validToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c < 0x80 && isTokenSymbol(c):
		default:
			return false
		}
	}
	return true
}

func isTokenSymbol(c byte) bool {
	switch c {
	case '!', '#', '$', '%', '&', '\'', '*', '+', '-', '.', '^', '_', '`', '|', '~':
		return true
	}
	return false
}

// validValue reports whether s can be a header value: no control characters but tab.
func validValue(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < 0x20 && c != '\t') || c == 0x7f {
			return false
		}
	}
	return true
}
