// Package webhook is the "webhook" source: an HTTP server that turns each accepted POST into one Danube
// message, and answers the caller only after Danube acknowledged it.
//
// Each route maps a URL path to a topic. A request to a route becomes one record: the raw body is the
// payload, the route's topic is the record's topic, and the attributes are "content-type" (the request's
// Content-Type), "x-webhook-route" (the route's path) and one attribute per header listed in
// headers_to_attributes (the header name in lower case; several values are joined with ", ").
//
// Example:
//
//	[[connector]]
//	name = "shop-webhooks"
//	kind = "webhook"
//	listen = "127.0.0.1:8080"                 # default
//	routes = { "/orders" = "/default/orders", "/refunds" = "/default/refunds" }
//	auth = "hmac"                             # none (default) | api-key | hmac | jwt
//	hmac_secret_env = "SHOP_WEBHOOK_SECRET"   # or hmac_secret = "..."
//	hmac_header = "X-Signature-256"           # default; "sha256=<hex>" or "<hex>"
//	headers_to_attributes = ["X-Request-Id", "X-Shop-Event"]
//	max_body_bytes = 1048576                  # default 1 MiB
//	max_in_flight = 16                        # requests handled at once; beyond, 503 at once (default)
//	read_timeout = "30s"                      # to read a whole request, headers and body (default)
//	read_header_timeout = "10s"               # to read a request's headers (default)
//	idle_timeout = "2m"                       # a kept-alive connection waits this long for its next request
//	rate_limit_per_route = 50.0               # requests/s per route (burst = rate); 0 = unlimited (default)
//	queue_size = 1000                         # default
//	batch_size = 100                          # default
//	# tls_cert = "/etc/danube/webhook.crt"    # serve HTTPS when both are set
//	# tls_key  = "/etc/danube/webhook.key"
//
// With auth = "api-key" the caller sends api_key (or the value of the variable api_key_env names) in the
// header api_key_header (default "X-API-Key"); with auth = "jwt" it sends "Authorization: Bearer <token>", a
// JWT signed with HS256 and jwt_secret that must carry an exp claim in the future.
//
// Replies (JSON bodies):
//   - 202 {"status":"accepted","topic":...}: Danube acknowledged the message;
//   - 400 the body could not be read; 401 bad or missing credentials; 404 unknown path; 405 not a POST;
//     408 the body did not arrive within read_timeout; 413 body over max_body_bytes; 429 the route's rate
//     is exceeded (with Retry-After); 422 Danube refused the message for good (e.g. too large); 503
//     max_in_flight requests are already being handled, the queue is full, Danube did not take the
//     message, or the connector is stopping (with Retry-After): the caller should send it again.
//
// Checks run in this order: path (404), method (405), requests in flight (503), rate (429), declared
// body size (413), the credentials carried by headers (401), then the body is read (413, 408, 400) and,
// with auth = "hmac", its signature checked (401). Every request to a route that is let in counts against
// its rate, authenticated or not, and only callers whose headers pass the checks make the server read a
// body.
//
// Resources are bounded. At most max_in_flight requests are handled at once; a request over that limit
// is answered 503 at once, without its body being read. A request keeps its place from its headers until
// its record is settled, even when its caller left, so the queue never holds more than max_in_flight
// records. Each holds at most max_body_bytes of body: a declared Content-Length sizes the buffer exactly,
// and a body sent without one is read into 64 KiB first, then into one buffer of max_body_bytes. With auth
// = "hmac" the signature is computed while the body arrives, in constant memory, and the body is held in
// pooled 64 KiB chunks until the signature is verified, so a refused body leaves no garbage (one that
// passes is copied out of them, briefly taking twice its size). Bodies thus take about max_in_flight ×
// max_body_bytes at most. A caller that sends its request slower than
// read_timeout (its headers slower than read_header_timeout) is cut off.
//
// Delivery is at least once: a 202 means the message is in Danube. A caller that gave up before its reply
// (a timeout, a closed connection) may still have had its message published: the record was already on
// its way, and its acknowledgement still completes (the reply then goes nowhere). Callers that retry after such failures
// produce duplicates, which consumers should tolerate (e.g. deduplicate by an event id header mapped with
// headers_to_attributes).
package webhook

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/danube-console/danube-console/connectors"
)

// Kind is the connector kind this package registers.
const Kind = "webhook"

// Authentication modes (the values of the auth setting).
const (
	AuthNone   = "none"
	AuthAPIKey = "api-key"
	AuthHMAC   = "hmac"
	AuthJWT    = "jwt"
)

// defaultMaxInFlight is max_in_flight's default: with the default 1 MiB body limit, callers can make a
// source hold at most about 16 MiB of bodies, and a webhook's requests are settled within milliseconds.
const defaultMaxInFlight = 16

// Spec is the webhook source's settings.
var Spec = connectors.Spec{
	Summary: "Receives HTTP POSTs on configured routes and publishes each body to the route's topic, replying only after Danube acknowledged it.",
	Fields: []connectors.Field{
		{Name: "listen", Type: connectors.TypeString, Default: "127.0.0.1:8080", Doc: "Address the HTTP server listens on (host:port)."},
		{Name: "routes", Type: connectors.TypeStringMap, Required: true, Example: `{ "/orders" = "/default/orders" }`, Doc: "URL paths mapped to the topics their requests are published to, e.g. { \"/orders\" = \"/default/orders\" }."},
		{Name: "tls_cert", Type: connectors.TypeString, Doc: "PEM certificate file; with tls_key, the server speaks HTTPS."},
		{Name: "tls_key", Type: connectors.TypeString, Doc: "PEM private key file of tls_cert."},
		{Name: "auth", Type: connectors.TypeString, Default: AuthNone, Enum: []string{AuthNone, AuthAPIKey, AuthHMAC, AuthJWT}, Doc: "How callers authenticate: none, api-key, hmac (signature of the body) or jwt (HS256 bearer token)."},
		{Name: "api_key", Type: connectors.TypeString, Secret: true, Doc: "The API key callers must send (auth = \"api-key\")."},
		{Name: "api_key_header", Type: connectors.TypeString, Default: "X-API-Key", Doc: "Header that carries the API key."},
		{Name: "hmac_secret", Type: connectors.TypeString, Secret: true, Doc: "Secret of the HMAC-SHA256 signature over the raw body (auth = \"hmac\")."},
		{Name: "hmac_header", Type: connectors.TypeString, Default: "X-Signature-256", Doc: "Header that carries the signature, as \"sha256=<hex>\" or \"<hex>\"."},
		{Name: "jwt_secret", Type: connectors.TypeString, Secret: true, Doc: "HS256 secret bearer tokens are signed with (auth = \"jwt\"); tokens must carry exp."},
		{Name: "headers_to_attributes", Type: connectors.TypeStrings, Doc: "Request headers copied into message attributes (named in lower case)."},
		{Name: "max_body_bytes", Type: connectors.TypeInt, Default: int64(1 << 20), Min: 1, Max: 1 << 30, Doc: "Largest accepted body; larger ones get 413."},
		{Name: "max_in_flight", Type: connectors.TypeInt, Default: int64(defaultMaxInFlight), Min: 1, Max: 100_000, Doc: "Requests handled at once, from their headers until their record is settled; beyond, callers get 503 at once, without their body being read. Bodies take at most about max_in_flight × max_body_bytes of memory."},
		{Name: "read_timeout", Type: connectors.TypeDuration, Default: 30 * time.Second, Min: 0.001, Max: 3600, Doc: "Longest time to read a whole request, headers and body; a slower caller gets 408 and its connection is closed."},
		{Name: "read_header_timeout", Type: connectors.TypeDuration, Default: 10 * time.Second, Min: 0.001, Max: 3600, Doc: "Longest time to read a request's headers (at most read_timeout); a slower caller's connection is closed."},
		{Name: "idle_timeout", Type: connectors.TypeDuration, Default: 2 * time.Minute, Min: 0.001, Max: 3600, Doc: "How long a kept-alive connection may wait for its next request before it is closed."},
		{Name: "rate_limit_per_route", Type: connectors.TypeFloat, Default: 0.0, Min: 0, Max: 1e6, Doc: "Requests per second accepted on each route (burst = rate); above it callers get 429; 0 means unlimited."},
		{Name: "queue_size", Type: connectors.TypeInt, Default: int64(1000), Min: 1, Max: 1_000_000, Doc: "Requests waiting to be published; when full, callers get 503."},
		{Name: "batch_size", Type: connectors.TypeInt, Default: int64(100), Min: 1, Max: 100_000, Doc: "Most records handed to the runtime at once."},
	},
}

func init() {
	connectors.MustRegisterSource(Kind, Spec, func(cfg connectors.Config, res connectors.Resources) (connectors.Source, error) {
		return New(cfg, res)
	})
}

// settings are the validated settings New works from.
type settings struct {
	listen          string
	tlsCert, tlsKey string
	routes          map[string]string
	auth            string
	apiKey          string
	apiKeyHeader    string
	hmacSecret      string
	hmacHeader      string
	jwtSecret       string
	headerAttrs     []string
	maxBody         int64
	maxInFlight     int
	readTimeout     time.Duration
	readHeaderTO    time.Duration
	idleTimeout     time.Duration
	ratePerRoute    float64
	queueSize       int
	batchSize       int
}

// parseSettings reads cfg and checks what the spec cannot: the settings each auth mode needs, the routes'
// shape, and TLS files given in pairs.
func parseSettings(cfg connectors.Config) (settings, error) {
	s := settings{
		listen:       cfg.String("listen"),
		tlsCert:      cfg.String("tls_cert"),
		tlsKey:       cfg.String("tls_key"),
		routes:       cfg.StringMap("routes"),
		auth:         cfg.String("auth"),
		apiKey:       cfg.String("api_key"),
		apiKeyHeader: cfg.String("api_key_header"),
		hmacSecret:   cfg.String("hmac_secret"),
		hmacHeader:   cfg.String("hmac_header"),
		jwtSecret:    cfg.String("jwt_secret"),
		headerAttrs:  cfg.Strings("headers_to_attributes"),
		maxBody:      cfg.Int("max_body_bytes"),
		maxInFlight:  int(cfg.Int("max_in_flight")),
		readTimeout:  cfg.Duration("read_timeout"),
		readHeaderTO: cfg.Duration("read_header_timeout"),
		idleTimeout:  cfg.Duration("idle_timeout"),
		ratePerRoute: cfg.Float("rate_limit_per_route"),
		queueSize:    int(cfg.Int("queue_size")),
		batchSize:    int(cfg.Int("batch_size")),
	}
	var errs []error
	fail := func(key, format string, a ...any) {
		errs = append(errs, connectors.FieldError{Key: key, Err: fmt.Errorf(format, a...)})
	}
	if s.listen == "" {
		fail("listen", "must be an address such as \"127.0.0.1:8080\"")
	}
	if len(s.routes) == 0 {
		fail("routes", "needs at least one route, e.g. { \"/orders\" = \"/default/orders\" }")
	}
	for path, topic := range s.routes {
		if !strings.HasPrefix(path, "/") {
			fail("routes", "path %q must start with \"/\"", path)
		}
		if strings.TrimSpace(topic) == "" {
			fail("routes", "path %q has no topic", path)
		}
	}
	if (s.tlsCert == "") != (s.tlsKey == "") {
		fail("tls_cert", "tls_cert and tls_key go together")
	}
	switch s.auth {
	case AuthAPIKey:
		if s.apiKey == "" {
			fail("api_key", "auth = \"api-key\" needs api_key or api_key_env")
		}
		if s.apiKeyHeader == "" {
			fail("api_key_header", "must name a header")
		}
	case AuthHMAC:
		if s.hmacSecret == "" {
			fail("hmac_secret", "auth = \"hmac\" needs hmac_secret or hmac_secret_env")
		}
		if s.hmacHeader == "" {
			fail("hmac_header", "must name a header")
		}
	case AuthJWT:
		if s.jwtSecret == "" {
			fail("jwt_secret", "auth = \"jwt\" needs jwt_secret or jwt_secret_env")
		}
	}
	for _, h := range s.headerAttrs {
		if !validHeaderName(h) {
			fail("headers_to_attributes", "%q is not a header name", h)
		}
	}
	if s.readHeaderTO > s.readTimeout {
		fail("read_header_timeout", "%v is longer than read_timeout (%v), which covers the headers too", s.readHeaderTO, s.readTimeout)
	}
	if s.queueSize < 1 {
		s.queueSize = 1
	}
	if s.batchSize < 1 {
		s.batchSize = 1
	}
	if s.maxBody < 1 {
		s.maxBody = 1 << 20
	}
	if s.maxInFlight < 1 {
		s.maxInFlight = 64
	}
	// A Config built without Spec.Parse has no defaults: zero timeouts would mean none at all.
	if s.readTimeout <= 0 {
		s.readTimeout = 30 * time.Second
	}
	if s.readHeaderTO <= 0 {
		s.readHeaderTO = min(10*time.Second, s.readTimeout)
	}
	if s.idleTimeout <= 0 {
		s.idleTimeout = 2 * time.Minute
	}
	if len(errs) > 0 {
		return s, connectors.ConfigError(errors.Join(errs...))
	}
	return s, nil
}

// validHeaderName reports whether s is an HTTP token (RFC 9110 §5.6.2).
func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}
