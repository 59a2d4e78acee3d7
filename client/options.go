package client

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc"
)

// Option changes the client's options; it returns an error for an unusable value.
type Option func(*Options) error

// Options configure a Client. Build them with DefaultOptions and Option functions.
type Options struct {
	// TLS, when set, dials brokers over TLS. An https:// service URL without it uses the system roots, and so
	// does a bare host:port one when a token is set.
	TLS *tls.Config
	// Token returns the bearer token for one call ("" sends none). It is called for every call; an error
	// fails the call with Unavailable, which is retried.
	Token func(ctx context.Context) (string, error)
	// Retry bounds retries.
	Retry RetryPolicy
	// Observer sees the client's events; nil costs nothing. Unless it is an InlineObserver, the client delivers
	// the events through a queue of its own.
	Observer Observer
	// Logger receives the client's logs; nil discards them.
	Logger *slog.Logger
	// HealthInterval is how often producers and consumers check their health with the broker (default 5 s).
	HealthInterval time.Duration
	// ReceiveBuffer is the capacity of a consumer's message channel (default 1000).
	ReceiveBuffer int
	// MaxRecvMsgSize is the largest message the client accepts from a broker (default 256 MiB).
	MaxRecvMsgSize int
	// DialOptions are added to every connection (keepalive, interceptors, ...).
	DialOptions []grpc.DialOption

	tokenFile *tokenFile // the token file of WithTokenFile, which Connect gives the logger
}

// DefaultOptions returns the defaults: plain text, no token, DefaultRetryPolicy, health checks every 5 s.
func DefaultOptions() Options {
	return Options{
		Retry:          DefaultRetryPolicy(),
		HealthInterval: 5 * time.Second,
		ReceiveBuffer:  1000,
		MaxRecvMsgSize: 256 << 20,
	}
}

// WithTLS dials brokers over TLS with cfg (a copy is kept).
func WithTLS(cfg *tls.Config) Option {
	return func(o *Options) error {
		if cfg == nil {
			return fmt.Errorf("%w: nil TLS config", ErrInvalidConfig)
		}
		o.TLS = cfg.Clone()
		return nil
	}
}

// tlsConfig returns the TLS config being built, creating one.
func (o *Options) tlsConfig() *tls.Config {
	if o.TLS == nil {
		o.TLS = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	return o.TLS
}

// WithCAFile dials brokers over TLS and trusts the PEM certificates in path (instead of the system roots).
func WithCAFile(path string) Option {
	return func(o *Options) error {
		pem, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("%w: CA file: %w", ErrInvalidConfig, err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return fmt.Errorf("%w: CA file %s holds no PEM certificate", ErrInvalidConfig, path)
		}
		o.tlsConfig().RootCAs = pool
		return nil
	}
}

// WithClientCert dials brokers over TLS and presents this certificate (mutual TLS).
func WithClientCert(certFile, keyFile string) Option {
	return func(o *Options) error {
		cert, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			return fmt.Errorf("%w: client certificate: %w", ErrInvalidConfig, err)
		}
		o.tlsConfig().Certificates = []tls.Certificate{cert}
		return nil
	}
}

// WithInsecureSkipVerify dials brokers over TLS without checking their certificate. For development only.
func WithInsecureSkipVerify() Option {
	return func(o *Options) error {
		o.tlsConfig().InsecureSkipVerify = true
		return nil
	}
}

// WithToken sends "authorization: Bearer <token>" on every call. As in the official clients, a token turns
// TLS on (with the system roots unless TLS options are given) for a service URL given as a bare host:port;
// an https:// URL uses TLS anyway, and an explicit http:// URL keeps plain text (e.g. for a local broker).
func WithToken(token string) Option {
	return func(o *Options) error {
		if token == "" {
			return fmt.Errorf("%w: empty token", ErrInvalidConfig)
		}
		o.Token = func(context.Context) (string, error) { return token, nil }
		return nil
	}
}

// WithTokenFromEnv sends the token held by the environment variable name, read when the option is applied.
// Like WithToken, it turns TLS on for a bare host:port service URL.
func WithTokenFromEnv(name string) Option {
	return func(o *Options) error {
		tok := os.Getenv(name)
		if tok == "" {
			return fmt.Errorf("%w: environment variable %s holds no token", ErrInvalidConfig, name)
		}
		return WithToken(tok)(o)
	}
}

// WithTokenFile sends the token stored in path, which must hold one when the option is applied. The file is
// read again when it changes (checked at most once a second), so a rotated token is picked up without
// reconnecting; while the file cannot be read, or is empty (e.g. halfway through a rotation), the last token
// read is sent and a warning is logged. Like WithToken, it turns TLS on for a bare host:port service URL.
func WithTokenFile(path string) Option {
	return func(o *Options) error {
		tf := &tokenFile{path: path}
		if _, err := tf.get(); err != nil {
			return fmt.Errorf("%w: token file: %w", ErrInvalidConfig, err)
		}
		o.Token = func(context.Context) (string, error) { return tf.get() }
		o.tokenFile = tf
		return nil
	}
}

// WithTokenFunc calls f for the token of every call. An error from f fails that call with Unavailable, which
// is retried like any Unavailable answer, so a short outage of a token service does not stop consumers. Like
// WithToken, it turns TLS on for a bare host:port service URL.
func WithTokenFunc(f func(ctx context.Context) (string, error)) Option {
	return func(o *Options) error {
		if f == nil {
			return fmt.Errorf("%w: nil token function", ErrInvalidConfig)
		}
		o.Token = f
		return nil
	}
}

// WithRetry sets the retry bounds; zero fields keep their defaults.
func WithRetry(p RetryPolicy) Option {
	return func(o *Options) error {
		o.Retry = p
		return nil
	}
}

// WithObserver installs an observer of the client's events. The client delivers them through a queue of
// clientObserverQueue (8192) events on a goroutine of its own, which Close stops after delivering what is
// queued; when the queue is full, events are dropped. An InlineObserver (whose methods never block) is
// called directly instead, on the data path.
func WithObserver(obs Observer) Option {
	return func(o *Options) error {
		o.Observer = obs
		return nil
	}
}

// WithLogger sets the logger for the client's own messages.
func WithLogger(l *slog.Logger) Option {
	return func(o *Options) error {
		o.Logger = l
		return nil
	}
}

// WithHealthInterval sets how often producers and consumers check their health (default 5 s).
func WithHealthInterval(d time.Duration) Option {
	return func(o *Options) error {
		if d <= 0 {
			return fmt.Errorf("%w: health interval must be positive", ErrInvalidConfig)
		}
		o.HealthInterval = d
		return nil
	}
}

// WithReceiveBuffer sets the capacity of consumers' message channels (default 1000).
func WithReceiveBuffer(n int) Option {
	return func(o *Options) error {
		if n < 1 {
			return fmt.Errorf("%w: receive buffer must be at least 1", ErrInvalidConfig)
		}
		o.ReceiveBuffer = n
		return nil
	}
}

// WithDialOptions adds gRPC dial options to every connection.
func WithDialOptions(opts ...grpc.DialOption) Option {
	return func(o *Options) error {
		o.DialOptions = append(o.DialOptions, opts...)
		return nil
	}
}

// tokenFile caches a token file, re-reading it when its modification time changes. A re-read that fails or
// finds the file empty keeps the last token.
type tokenFile struct {
	path    string
	log     *slog.Logger // set by Connect; nil discards
	mu      sync.Mutex
	checked time.Time
	mod     time.Time
	token   string
	stale   bool // the last re-read failed; the failure was logged
}

func (t *tokenFile) get() (string, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := time.Now()
	if t.token != "" && now.Sub(t.checked) < time.Second {
		return t.token, nil
	}
	t.checked = now
	fi, err := os.Stat(t.path)
	if err != nil {
		return t.keep(err)
	}
	if t.token != "" && fi.ModTime().Equal(t.mod) {
		return t.token, nil
	}
	b, err := os.ReadFile(t.path)
	if err != nil {
		return t.keep(err)
	}
	tok := strings.TrimSpace(string(b))
	if tok == "" {
		return t.keep(fmt.Errorf("%s is empty", t.path))
	}
	if t.stale && t.log != nil {
		t.log.Info("the token file can be read again", "path", t.path)
	}
	t.token, t.mod, t.stale = tok, fi.ModTime(), false
	return tok, nil
}

func (t *tokenFile) setLogger(l *slog.Logger) {
	t.mu.Lock()
	t.log = l
	t.mu.Unlock()
}

// keep answers a failed read: the last good token, if there is one (warning once until a read succeeds).
func (t *tokenFile) keep(err error) (string, error) {
	if t.token == "" {
		return "", err
	}
	if !t.stale {
		t.stale = true
		if t.log != nil {
			t.log.Warn("cannot read the token file; sending the last token read", "path", t.path, "err", err)
		}
	}
	return t.token, nil
}
