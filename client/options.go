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
	// TLS, when set, dials brokers over TLS. An https:// service URL without it uses the system roots.
	TLS *tls.Config
	// Token returns the bearer token for one call ("" sends none). It is called for every call.
	Token func(ctx context.Context) (string, error)
	// Retry bounds retries.
	Retry RetryPolicy
	// Observer sees the client's events; nil costs nothing.
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

// WithToken sends "authorization: Bearer <token>" on every call.
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
func WithTokenFromEnv(name string) Option {
	return func(o *Options) error {
		tok := os.Getenv(name)
		if tok == "" {
			return fmt.Errorf("%w: environment variable %s holds no token", ErrInvalidConfig, name)
		}
		return WithToken(tok)(o)
	}
}

// WithTokenFile sends the token stored in path. The file is read again when it changes (checked at most
// once a second), so a rotated token is picked up without reconnecting.
func WithTokenFile(path string) Option {
	return func(o *Options) error {
		tf := &tokenFile{path: path}
		if _, err := tf.get(); err != nil {
			return fmt.Errorf("%w: token file: %w", ErrInvalidConfig, err)
		}
		o.Token = func(context.Context) (string, error) { return tf.get() }
		return nil
	}
}

// WithTokenFunc calls f for the token of every call.
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

// WithObserver installs an observer of the client's events. Its methods run on the data path and must return
// quickly; wrap a slow observer with NewAsyncObserver.
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

// tokenFile caches a token file, re-reading it when its modification time changes.
type tokenFile struct {
	path    string
	mu      sync.Mutex
	checked time.Time
	mod     time.Time
	token   string
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
		return "", err
	}
	if t.token != "" && fi.ModTime().Equal(t.mod) {
		return t.token, nil
	}
	b, err := os.ReadFile(t.path)
	if err != nil {
		return "", err
	}
	tok := strings.TrimSpace(string(b))
	if tok == "" {
		return "", fmt.Errorf("%s is empty", t.path)
	}
	t.token, t.mod = tok, fi.ModTime()
	return tok, nil
}
