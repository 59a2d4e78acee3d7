package client

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/connectivity"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/danube-console/danube-console/proto/danubepb"
	"github.com/danube-console/danube-console/proto/schemapb"
)

// DefaultServiceURL is where a local broker listens.
const DefaultServiceURL = "http://127.0.0.1:6650"

// brokerURLHeader is sent on producer and consumer calls when a lookup said the broker is behind a proxy.
const brokerURLHeader = "x-danube-broker-url"

// Client is a connection to a Danube cluster: a pool of gRPC connections, one per broker, shared by its
// producers and consumers. It is safe for concurrent use. Close ends everything it started.
type Client struct {
	opts       Options
	serviceURL string // normalised, with scheme
	log        *slog.Logger
	obs        Observer       // nil when unset
	asyncObs   *AsyncObserver // the queue obs delivers through, when the client made one; closed by Close
	// topicGrace is how long a consumer keeps subscribing again to a topic the broker does not know
	// (topicReturnGrace; tests shorten it).
	topicGrace time.Duration

	ctx    context.Context // the client's lifetime; cancelled by Close
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu       sync.Mutex
	closed   bool
	conns    map[string]*grpc.ClientConn // by dial address
	children map[closer]struct{}
}

// closer is a producer or consumer the client closes with itself.
type closer interface {
	close(ctx context.Context) error
}

// Connect prepares a client of the cluster at serviceURL ("http://host:port", "https://host:port" or
// "host:port"; the port defaults to 6650). Connections are made on first use, so Connect fails only on bad
// options; the first call reports an unreachable broker.
//
// Brokers are dialled over TLS for an https:// URL, when TLS options are given (WithTLS, WithCAFile, ...), and,
// as in the official clients, when a token option is given with a bare host:port URL; an explicit http://
// URL with a token keeps plain text (e.g. a local broker).
func Connect(ctx context.Context, serviceURL string, opts ...Option) (*Client, error) {
	o := DefaultOptions()
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return nil, err
		}
	}
	u, tlsOn, err := normaliseURL(serviceURL)
	if err != nil {
		return nil, err
	}
	if o.Token != nil && !strings.Contains(serviceURL, "://") {
		tlsOn = true // a token over a URL without a scheme means TLS, as in the official clients
	}
	if tlsOn && o.TLS == nil {
		o.TLS = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	if o.TLS != nil && strings.HasPrefix(u, "http://") && !strings.HasPrefix(serviceURL, "http://") {
		u = "https://" + strings.TrimPrefix(u, "http://")
	}
	o.Retry = o.Retry.withDefaults()
	if o.HealthInterval <= 0 {
		o.HealthInterval = DefaultOptions().HealthInterval
	}
	if o.ReceiveBuffer <= 0 {
		o.ReceiveBuffer = DefaultOptions().ReceiveBuffer
	}
	if o.MaxRecvMsgSize <= 0 {
		o.MaxRecvMsgSize = DefaultOptions().MaxRecvMsgSize
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if o.tokenFile != nil {
		o.tokenFile.setLogger(log)
	}
	c := &Client{opts: o, serviceURL: u, log: log, obs: o.Observer, topicGrace: topicReturnGrace,
		conns: make(map[string]*grpc.ClientConn), children: make(map[closer]struct{})}
	if _, inline := o.Observer.(InlineObserver); o.Observer != nil && !inline {
		c.asyncObs = NewAsyncObserver(o.Observer, clientObserverQueue)
		c.obs = c.asyncObs
	}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	return c, nil
}

// normaliseURL turns a service or broker URL into "scheme://host:port" and says whether it asks for TLS.
func normaliseURL(s string) (string, bool, error) {
	raw := strings.TrimSpace(s)
	if raw == "" {
		return "", false, fmt.Errorf("%w: empty", ErrInvalidURL)
	}
	if !strings.Contains(raw, "://") {
		raw = "http://" + raw
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", false, fmt.Errorf("%w: %q: %w", ErrInvalidURL, s, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return "", false, fmt.Errorf("%w: %q: use http://host:port or https://host:port", ErrInvalidURL, s)
	}
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Host == "" {
		return "", false, fmt.Errorf("%w: %q: only scheme://host:port is allowed", ErrInvalidURL, s)
	}
	host := u.Host
	if _, _, err := net.SplitHostPort(host); err != nil {
		host = net.JoinHostPort(strings.Trim(host, "[]"), "6650")
	}
	return u.Scheme + "://" + host, u.Scheme == "https", nil
}

// dialAddr strips the scheme from a normalised URL.
func dialAddr(u string) string {
	return strings.TrimPrefix(strings.TrimPrefix(u, "https://"), "http://")
}

// ServiceURL returns the normalised service URL the client was created with.
func (c *Client) ServiceURL() string { return c.serviceURL }

// conn returns the pooled connection to the broker at URL u, creating it.
func (c *Client) conn(u string) (*grpc.ClientConn, error) {
	nu, tlsOn, err := normaliseURL(u)
	if err != nil {
		return nil, err
	}
	addr := dialAddr(nu)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil, ErrClosed
	}
	if cc := c.conns[addr]; cc != nil {
		return cc, nil
	}
	var creds credentials.TransportCredentials
	switch {
	case c.opts.TLS != nil:
		creds = credentials.NewTLS(c.opts.TLS)
	case tlsOn:
		creds = credentials.NewTLS(&tls.Config{MinVersion: tls.VersionTLS12})
	default:
		creds = insecure.NewCredentials()
	}
	dopts := []grpc.DialOption{
		grpc.WithTransportCredentials(creds),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(c.opts.MaxRecvMsgSize), grpc.MaxCallSendMsgSize(c.opts.MaxRecvMsgSize)),
		grpc.WithKeepaliveParams(keepalive.ClientParameters{Time: 30 * time.Second, Timeout: 10 * time.Second}),
	}
	if c.opts.Token != nil {
		dopts = append(dopts, grpc.WithPerRPCCredentials(tokenCreds{c.opts.Token}))
	}
	dopts = append(dopts, c.opts.DialOptions...)
	cc, err := grpc.NewClient(addr, dopts...)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrInvalidURL, u, err)
	}
	c.conns[addr] = cc
	if c.obs != nil {
		c.wg.Go(func() { c.watchConn(addr, cc) })
	}
	return cc, nil
}

// watchConn reports a connection's state changes to the observer until the client closes.
func (c *Client) watchConn(addr string, cc *grpc.ClientConn) {
	for {
		s := cc.GetState()
		c.obs.OnConnState(ConnStateEvent{Addr: addr, State: connState(s)})
		if !cc.WaitForStateChange(c.ctx, s) {
			return
		}
	}
}

func connState(s connectivity.State) ConnState {
	switch s {
	case connectivity.Connecting:
		return ConnConnecting
	case connectivity.Ready:
		return ConnReady
	case connectivity.TransientFailure:
		return ConnTransientFailure
	case connectivity.Shutdown:
		return ConnShutdown
	}
	return ConnIdle
}

// tokenCreds adds the bearer token to every call.
type tokenCreds struct {
	f func(ctx context.Context) (string, error)
}

// GetRequestMetadata returns the authorization header. A failure of the token provider fails the call with
// Unavailable, which is retried (gRPC would otherwise make it a final Unauthenticated).
func (t tokenCreds) GetRequestMetadata(ctx context.Context, _ ...string) (map[string]string, error) {
	tok, err := t.f(ctx)
	if err != nil {
		return nil, status.Error(codes.Unavailable, "danube: getting the token: "+err.Error())
	}
	if tok == "" {
		return nil, nil
	}
	return map[string]string{"authorization": "Bearer " + tok}, nil
}

// RequireTransportSecurity is false so that tokens also work against a local plain-text broker (an explicit
// http:// service URL).
func (tokenCreds) RequireTransportSecurity() bool { return false }

// route is the broker a topic's producer or consumer talks to.
type route struct {
	brokerURL  string
	connectURL string
	proxy      bool
}

// serviceRoute is where every topic starts: the service URL.
func (c *Client) serviceRoute() route {
	return route{brokerURL: c.serviceURL, connectURL: c.serviceURL}
}

// callCtx adds the proxy header to producer and consumer calls on a proxied route.
func callCtx(ctx context.Context, r route) context.Context {
	if !r.proxy {
		return ctx
	}
	return metadata.AppendToOutgoingContext(ctx, brokerURLHeader, r.brokerURL)
}

// stubs are the generated clients of one broker connection.
type stubs struct {
	producer  danubepb.ProducerServiceClient
	consumer  danubepb.ConsumerServiceClient
	discovery danubepb.DiscoveryClient
	health    danubepb.HealthCheckClient
	schema    schemapb.SchemaRegistryClient
}

func (c *Client) stubs(u string) (stubs, error) {
	cc, err := c.conn(u)
	if err != nil {
		return stubs{}, err
	}
	return stubs{
		producer:  danubepb.NewProducerServiceClient(cc),
		consumer:  danubepb.NewConsumerServiceClient(cc),
		discovery: danubepb.NewDiscoveryClient(cc),
		health:    danubepb.NewHealthCheckClient(cc),
		schema:    schemapb.NewSchemaRegistryClient(cc),
	}, nil
}

// track registers a producer or consumer to close with the client; it fails after Close.
func (c *Client) track(x closer) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return ErrClosed
	}
	c.children[x] = struct{}{}
	return nil
}

func (c *Client) untrack(x closer) {
	c.mu.Lock()
	delete(c.children, x)
	c.mu.Unlock()
}

// Close closes every producer and consumer of the client, then its connections, and waits for every
// goroutine it started; last, it delivers the observer's queued events and stops its queue. Calling it again
// does nothing.
func (c *Client) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	children := make([]closer, 0, len(c.children))
	for x := range c.children {
		children = append(children, x)
	}
	c.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, x := range children {
		_ = x.close(ctx)
	}
	c.cancel()
	c.mu.Lock()
	conns := c.conns
	c.conns = map[string]*grpc.ClientConn{}
	c.mu.Unlock()
	var firstErr error
	for _, cc := range conns {
		if err := cc.Close(); err != nil && firstErr == nil {
			firstErr = err
		}
	}
	c.wg.Wait()
	if c.asyncObs != nil {
		c.asyncObs.Close()
		if n := c.asyncObs.Dropped(); n > 0 {
			c.log.Warn("the observer was too slow: events were dropped", "dropped", n)
		}
	}
	return firstErr
}

// isClosed reports whether Close was called.
func (c *Client) isClosed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed || c.ctx.Err() != nil
}
