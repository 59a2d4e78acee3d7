// Package broker is an embeddable, Danube-compatible message broker: the client port of the real Danube
// broker (producers, consumers, discovery, health checks and the schema registry) served over gRPC, so that
// the official Danube clients and danube-console's own client work against it unchanged.
//
// Use it the way the danube-console binary does:
//
//	srv, err := broker.New(broker.Options{Port: 6650})
//	if err != nil { ... }
//	if err := srv.Start(); err != nil { ... }
//	defer srv.Shutdown(context.Background())
//	fmt.Println("serving", srv.URL())
//
// Where the real broker has a defect, this broker implements the intent instead; docs/broker.md lists every
// difference.
package broker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/tap"

	"github.com/danube-console/danube-console/broker/schema"
	"github.com/danube-console/danube-console/broker/store"
	"github.com/danube-console/danube-console/proto/danubepb"
	"github.com/danube-console/danube-console/proto/schemapb"
)

// Namespaces that always exist.
const (
	DefaultNamespace = "default"
	SystemNamespace  = "system"
	// EventsTopic is the system topic the real broker creates at boot.
	EventsTopic = "/system/_events_topic"
)

// envelopeHeadroom is what a message may add to its payload: with DefaultMaxMessageSize the whole message
// stays 1 KiB under gRPC's default 4 MiB receive limit.
const envelopeHeadroom = 4<<20 - 1<<10 - DefaultMaxMessageSize

// recvEnvelope is how much more than the payload limit (Policies.MaxMessageSize) the client port reads of one
// request. It is room for a message's other fields (names, attributes, routing key: at most envelopeHeadroom
// of them are accepted) plus slack, so that a payload up to 4 MiB over the limit is still read and refused with
// InvalidArgument naming the limit, an answer clients do not retry. A larger request is refused by gRPC
// before it is read, with ResourceExhausted "grpc: received message larger than max (N vs. M)": the official
// clients retry that (the Go client's producer for ever; danube-console's client never), which is why the
// envelope is generous. It is also what bounds the memory one call can make the broker hold (gRPC allocates
// the announced length before reading it): the policy plus 4 MiB, not the 2 GiB a gRPC frame can announce.
const recvEnvelope = 4 << 20

// adminMaxRecvMsgSize bounds one request on the admin port, gRPC's default: admin requests carry names,
// policies and schema definitions, never messages.
const adminMaxRecvMsgSize = 4 << 20

// maxHeaderListSize bounds the headers (metadata) of one call on both ports, which gRPC reads before the tap
// handle can refuse the call; gRPC's default is 16 MiB. Danube clients send a token and a URL or two.
const maxHeaderListSize = 64 << 10

// shutdownGrace bounds how long Shutdown waits for in-flight calls before stopping hard.
const shutdownGrace = 5 * time.Second

// Store key prefixes.
const (
	keyNamespaces    = "/namespaces/"
	keyTopics        = "/topics/"
	keyProducers     = "/producers/"
	keySubscriptions = "/subscriptions/"
	keyConsumers     = "/consumers/"
	keyCursors       = "/cursors/"
	keyBrokerID      = "/broker/id"
	// keyDeletedLogs marks a topic whose records are deleted but whose log may not be yet: a log found under
	// such a mark is deleted, any other log the metadata does not know is restored.
	keyDeletedLogs = "/deleted-logs/"
)

// Server is an embedded Danube broker. Create it with New, start it with Start, stop it with Shutdown.
// All methods are safe for concurrent use.
//
// Locks are taken in this order, never the other way: Server.lifeMu → Server.mu → topic.mu → topic.trimMu →
// subscription.mu → consumer.recMu → consumer.mu. Server.idsMu, Server.lisMu and the store's locks are leaves: nothing else is
// taken while one is held. Publishing takes only read locks (subscriptions and consumers are atomic
// snapshots), and the dead-letter republish runs outside every subscription lock.
type Server struct {
	opts     Options
	log      *slog.Logger
	brokerID uint64 // random, kept in the store
	// envelopeLimit bounds a whole encoded message (payload, attributes, key), so that with the default
	// payload limit every accepted message fits the 4 MiB receive limit clients keep.
	envelopeLimit int
	store         store.Store
	ownStore      bool
	schemas       *schema.Registry
	// recovery is what the store repaired when it opened and the logs restored without metadata; set by
	// Start, read-only afterwards.
	recovery  []store.RecoveryReport
	startedAt time.Time // set by Start, like recovery

	mu         sync.RWMutex
	namespaces map[string]*namespace
	topics     map[string]*topic

	idsMu     sync.RWMutex // leaf lock
	producers map[uint64]*producer
	consumers map[uint64]*consumer

	auth  *authenticator // nil without a JWT secret
	authz *authorizer
	peers []*peer
	// applied counts metadata writes, reported by ClusterStatus as the last applied index (grpc_cluster.go).
	applied atomic.Uint64

	metrics brokerMetrics // server-wide counters (metrics.go)

	lisMu       sync.RWMutex
	lis         net.Listener
	url         string
	grpc        *grpc.Server
	adminLis    net.Listener
	adminURL    string
	adminGRPC   *grpc.Server
	metricsHTTP *http.Server
	metricsAddr string

	arrivals atomic.Uint64 // stamps Subscribe and ReceiveMessages calls in the order they arrive
	// clock is a coarse monotonic time, nanoseconds since startedAt, set by every sweep of the janitor, for the
	// data path's bookkeeping (producer.seen) without a clock read per message; a step of the wall clock
	// does not move it.
	clock atomic.Int64

	lifeMu   sync.Mutex // serialises Start with the beginning of Shutdown
	started  atomic.Bool
	stopping atomic.Bool
	quit     chan struct{} // closed when Shutdown begins
	stopped  chan struct{} // closed when Shutdown is complete
	wg       sync.WaitGroup
}

// namespace is a namespace's record. Its policies are the broker's (Options.Policies): those are the ones
// enforced, so they are the ones reported.
type namespace struct {
	Name string `json:"name"`
}

// New validates opts and returns a Server that is not yet running; it starts nothing and opens nothing.
func New(opts Options) (*Server, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	s := &Server{
		opts:       o,
		log:        o.Logger,
		store:      o.Store,
		namespaces: make(map[string]*namespace),
		topics:     make(map[string]*topic),
		producers:  make(map[uint64]*producer),
		consumers:  make(map[uint64]*consumer),
		quit:       make(chan struct{}),
		stopped:    make(chan struct{}),
	}
	s.envelopeLimit = o.Policies.MaxMessageSize + envelopeHeadroom
	if len(o.JWTSecret) > 0 {
		s.auth = newAuthenticator(o.JWTSecret)
	}
	s.authz = newAuthorizer(o)
	if s.store == nil {
		s.store = store.NewMemory()
		s.ownStore = true
	}
	return s, nil
}

// Start restores the broker's state from its store, binds the client port and serves it in the background.
// It does not block. A port that cannot be bound gives an error wrapping ErrListen and the system error.
func (s *Server) Start() error {
	s.lifeMu.Lock()
	defer s.lifeMu.Unlock()
	if s.stopping.Load() {
		return ErrShutdown
	}
	if !s.started.CompareAndSwap(false, true) {
		return ErrAlreadyStarted
	}
	var lis, adminLis, metricsLis net.Listener
	closeAll := func() {
		for _, l := range []net.Listener{lis, adminLis, metricsLis} {
			if l != nil {
				l.Close()
			}
		}
	}
	var err error
	if lis, err = listen(s.opts.Host, s.opts.Port, ErrListen); err != nil {
		return err
	}
	if s.opts.AdminPort >= 0 {
		if adminLis, err = listen(s.opts.Host, s.opts.AdminPort, ErrAdminListen); err != nil {
			closeAll()
			return err
		}
	}
	if s.opts.MetricsAddr != "" {
		if metricsLis, err = net.Listen("tcp", s.opts.MetricsAddr); err != nil {
			closeAll()
			return fmt.Errorf("%w %s: %w", ErrMetricsListen, s.opts.MetricsAddr, err)
		}
	}
	if s.peers, err = dialPeers(s.opts.Peers, s.peerDialOptions()); err != nil {
		closeAll()
		return err
	}
	if err := s.restore(); err != nil {
		closeAll()
		closePeers(s.peers)
		s.mu.Lock()
		s.namespaces = make(map[string]*namespace)
		s.topics = make(map[string]*topic)
		s.mu.Unlock()
		return fmt.Errorf("broker: restoring state: %w", err)
	}
	if err := s.authz.load(s.store.Meta()); err != nil {
		closeAll()
		closePeers(s.peers)
		return fmt.Errorf("broker: restoring roles and bindings: %w", err)
	}
	s.markActiveAtBoot() // grpc_cluster.go

	g := grpc.NewServer(s.grpcOptions(
		// The message-size policy is enforced by SendMessage with InvalidArgument, which clients do not retry;
		// gRPC's own limit answers ResourceExhausted, which they retry. gRPC's limit therefore sits above the
		// policy, by recvEnvelope, and not at 2 GiB: every request is read whole before its handler runs.
		grpc.MaxRecvMsgSize(s.recvLimit()),
		grpc.InTapHandle(s.clientTap),
		grpc.ChainUnaryInterceptor(s.unaryRPCMetrics), // after authentication (grpcOptions)
		// Serve calls on a fixed set of goroutines instead of one new goroutine (and stack growth) per call.
		grpc.NumStreamWorkers(streamWorkers),
	)...)
	danubepb.RegisterProducerServiceServer(g, producerService{s: s})
	danubepb.RegisterConsumerServiceServer(g, consumerService{s: s})
	danubepb.RegisterDiscoveryServer(g, discoveryService{s: s})
	danubepb.RegisterHealthCheckServer(g, healthService{s: s})
	danubepb.RegisterStorageServiceServer(g, danubepb.UnimplementedStorageServiceServer{})
	schemapb.RegisterSchemaRegistryServer(g, schemaService{s: s})
	var ag *grpc.Server
	if adminLis != nil {
		adminOpts := []grpc.ServerOption{grpc.MaxRecvMsgSize(adminMaxRecvMsgSize)}
		if s.auth != nil {
			adminOpts = append(adminOpts, grpc.InTapHandle(s.auth.tap))
		}
		ag = grpc.NewServer(s.grpcOptions(adminOpts...)...)
		s.registerAdmin(ag)
		s.registerSecurity(ag)
	}

	scheme := "http://"
	if s.opts.TLS != nil {
		scheme = "https://"
	}
	s.lisMu.Lock()
	s.lis, s.grpc = lis, g
	s.adminLis, s.adminGRPC = adminLis, ag
	s.url = s.opts.AdvertisedURL
	if s.url == "" {
		s.url = scheme + dialableAddr(lis.Addr().(*net.TCPAddr))
	}
	if adminLis != nil {
		s.adminURL = scheme + dialableAddr(adminLis.Addr().(*net.TCPAddr))
	}
	if metricsLis != nil {
		s.metricsHTTP = s.metricsServer()
		s.metricsAddr = metricsLis.Addr().String()
	}
	s.lisMu.Unlock()

	serve := func(name string, g *grpc.Server, l net.Listener) {
		s.wg.Go(func() {
			if err := g.Serve(l); err != nil {
				s.log.Error("serving the "+name, "err", err)
			}
		})
	}
	serve("client port", g, lis)
	if ag != nil {
		serve("admin port", ag, adminLis)
	}
	if metricsLis != nil {
		s.wg.Go(func() {
			if err := s.metricsHTTP.Serve(metricsLis); err != nil && !errors.Is(err, http.ErrServerClosed) {
				s.log.Error("serving metrics", "err", err)
			}
		})
	}
	s.wg.Go(s.janitor)
	if s.opts.AdvertisedURL == "" && lis.Addr().(*net.TCPAddr).IP.IsUnspecified() {
		s.log.Warn("listening on all interfaces without an advertised URL; clients are sent "+s.url+
			", set the advertised URL if they cannot resolve it", "url", s.url)
	}
	s.logRecovery()
	s.log.Info("broker started", "addr", lis.Addr().String(), "url", s.url, "admin", s.adminURL, "metrics", s.metricsAddr,
		"tls", s.opts.TLS != nil, "auth", len(s.opts.JWTSecret) > 0)
	return nil
}

// listen binds host:port, wrapping a failure in sentinel.
func listen(host string, port int, sentinel error) (net.Listener, error) {
	addr := net.JoinHostPort(host, strconv.Itoa(port))
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("%w %s: %w", sentinel, addr, err)
	}
	return l, nil
}

// grpcOptions are the options both ports share (keepalive, header size, TLS, authentication) plus extra.
func (s *Server) grpcOptions(extra ...grpc.ServerOption) []grpc.ServerOption {
	opts := []grpc.ServerOption{
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: 5 * time.Second, PermitWithoutStream: true}),
		grpc.MaxHeaderListSize(maxHeaderListSize),
	}
	if s.opts.TLS != nil {
		opts = append(opts, grpc.Creds(credentials.NewTLS(s.opts.TLS)))
	}
	opts = append(opts, grpc.ChainUnaryInterceptor(s.guardUnary), grpc.ChainStreamInterceptor(s.guardStream))
	return append(opts, extra...)
}

// streamWorkers is how many goroutines the client port's gRPC server keeps to run calls on. A worker runs one
// call at a time, start to end: a ReceiveMessages stream holds one for as long as its consumer is connected.
// gRPC hands a call to a worker only when one is idle at that instant and otherwise starts a goroutine for
// it, whose stack then grows through gRPC's read path: with GOMAXPROCS workers, held by consumers' streams,
// runtime.newstack took 13–23% of the broker's CPU at 64 concurrent senders. 64 workers leave room for the
// long-lived streams of dozens of consumers beside the concurrent unary calls (Send, Ack); past that, calls
// fall back to a goroutine each, as without workers. More is not better: idle workers take calls in turn,
// and every GC halves the stack of an idle one, which its next call grows again (128 workers measured no
// better than 64; 512: newstack back to 15–18%). BenchmarkStreamWorkers measures it; a variable only so that
// the benchmark can start a broker with another count.
var streamWorkers uint32 = 64

// recvLimit is the largest request the client port reads: the payload limit plus recvEnvelope, at most what
// a gRPC frame can announce.
func (s *Server) recvLimit() int {
	return int(min(int64(s.opts.Policies.MaxMessageSize)+recvEnvelope, math.MaxInt32))
}

// clientTap runs on the client port as a call's headers arrive, before its request is read: it refuses calls
// without valid credentials (authenticator.tap) and stamps consumer calls (stamp).
func (s *Server) clientTap(ctx context.Context, info *tap.Info) (context.Context, error) {
	if s.auth != nil {
		if err := s.auth.checkHeader(info.Header); err != nil {
			return nil, err
		}
	}
	return s.stamp(ctx, info)
}

type arrivalKey struct{}

// stamp runs in each connection's reader goroutine as a call's headers arrive, before the handler is
// scheduled, and numbers Subscribe and ReceiveMessages calls in arrival order. Handlers run concurrently, so
// without the stamp a stream opened just before a takeover (or before a newer stream) could attach after it
// and win.
func (s *Server) stamp(ctx context.Context, info *tap.Info) (context.Context, error) {
	switch info.FullMethodName {
	case danubepb.ConsumerService_Subscribe_FullMethodName, danubepb.ConsumerService_ReceiveMessages_FullMethodName:
		return context.WithValue(ctx, arrivalKey{}, s.arrivals.Add(1)), nil
	}
	return ctx, nil
}

// arrival returns the arrival stamp of the call ctx belongs to (a fresh one when it has none).
func arrival(ctx context.Context, s *Server) uint64 {
	if n, ok := ctx.Value(arrivalKey{}).(uint64); ok {
		return n
	}
	return s.arrivals.Add(1)
}

// dialableAddr turns a wildcard listen address into one a client can dial.
func dialableAddr(a *net.TCPAddr) string {
	host := a.IP.String()
	if a.IP.IsUnspecified() {
		host = "127.0.0.1"
		if h, err := os.Hostname(); err == nil && h != "" {
			host = h
		}
	}
	return net.JoinHostPort(host, strconv.Itoa(a.Port))
}

// Addr returns the address the client port listens on, or nil before Start.
func (s *Server) Addr() net.Addr {
	s.lisMu.RLock()
	defer s.lisMu.RUnlock()
	if s.lis == nil {
		return nil
	}
	return s.lis.Addr()
}

// AdminAddr returns the address the admin port listens on, or nil before Start or when it is disabled.
func (s *Server) AdminAddr() net.Addr {
	s.lisMu.RLock()
	defer s.lisMu.RUnlock()
	if s.adminLis == nil {
		return nil
	}
	return s.adminLis.Addr()
}

// AdminURL returns the admin port's URL (http:// or https:// with a dialable host), or "".
func (s *Server) AdminURL() string {
	s.lisMu.RLock()
	defer s.lisMu.RUnlock()
	return s.adminURL
}

// MetricsAddr returns the address Prometheus metrics are served on, or "".
func (s *Server) MetricsAddr() string {
	s.lisMu.RLock()
	defer s.lisMu.RUnlock()
	return s.metricsAddr
}

// URL returns the URL clients use to reach the broker (the advertised URL, or http://host:port of the
// listener), or "" before Start.
func (s *Server) URL() string {
	s.lisMu.RLock()
	defer s.lisMu.RUnlock()
	return s.url
}

// ReadyForConnections reports whether the client port accepts connections within d.
func (s *Server) ReadyForConnections(d time.Duration) bool {
	deadline := time.Now().Add(d)
	for {
		if a := s.Addr(); a != nil && !s.stopping.Load() {
			c, err := net.DialTimeout("tcp", a.String(), time.Until(deadline))
			if err == nil {
				c.Close()
				return true
			}
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Shutdown stops the broker: consumer streams end with Unavailable (clients reconnect elsewhere or later),
// in-flight calls get until ctx is done to finish, cursors are written, and a store the server created is
// closed. It is safe to call on a nil Server and more than once; later calls wait for the first to finish.
func (s *Server) Shutdown(ctx context.Context) error {
	if s == nil {
		return nil
	}
	s.lifeMu.Lock()
	if !s.stopping.CompareAndSwap(false, true) {
		s.lifeMu.Unlock()
		select {
		case <-s.stopped:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	close(s.quit)
	s.lisMu.RLock()
	servers := []*grpc.Server{s.grpc, s.adminGRPC}
	metrics := s.metricsHTTP
	s.lisMu.RUnlock()
	s.lifeMu.Unlock()
	defer close(s.stopped)

	// Streams end at once (they watch quit); unary calls get a short grace period. A consumer that stopped
	// reading blocks its stream in Send, which only a hard stop interrupts.
	var err error
	if metrics != nil {
		mctx, cancel := context.WithTimeout(ctx, time.Second)
		if metrics.Shutdown(mctx) != nil {
			metrics.Close() // a scraper that does not finish must not hold the broker up
		}
		cancel()
	}
	done := make(chan struct{})
	go func() {
		for _, g := range servers {
			if g != nil {
				g.GracefulStop()
			}
		}
		close(done)
	}()
	grace := time.NewTimer(shutdownGrace)
	select {
	case <-done:
	case <-grace.C:
	case <-ctx.Done():
		err = ctx.Err()
	}
	grace.Stop()
	for _, g := range servers {
		if g != nil {
			g.Stop()
		}
	}
	<-done
	s.wg.Wait()
	closePeers(s.peers)

	s.mu.RLock()
	var ds []*dispatcher
	for _, t := range s.topics {
		t.mu.RLock()
		for _, sub := range t.subs {
			if sub.d != nil {
				ds = append(ds, sub.d)
			}
		}
		t.mu.RUnlock()
	}
	s.mu.RUnlock()
	for _, d := range ds {
		d.stop()
	}
	if s.ownStore {
		if cerr := s.store.Close(); cerr != nil && err == nil {
			err = cerr
		}
	}
	s.log.Info("broker stopped")
	return err
}

// WaitForShutdown blocks until Shutdown has finished.
func (s *Server) WaitForShutdown() {
	<-s.stopped
}

// janitor removes consumers disconnected for InactiveConsumerTimeout and idle non-reliable subscriptions, and
// trims reliable logs behind their slowest cursor.
func (s *Server) janitor() {
	tick := max(min(time.Second, s.opts.IdleSubscriptionTimeout/2, s.opts.InactiveConsumerTimeout/2,
		s.opts.InactiveProducerTimeout/2), time.Millisecond)
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		select {
		case <-s.quit:
			return
		case now := <-t.C:
			s.sweep(now)
		}
	}
}

func (s *Server) sweep(now time.Time) {
	s.clock.Store(int64(now.Sub(s.startedAt))) // both carry monotonic readings
	for _, t := range s.topicList() {
		s.removeInactiveProducers(t, now)
		for _, sub := range *t.subsSnap.Load() {
			sub.expireUnattached(now)
			sub.removeInactive(now, s.opts.InactiveConsumerTimeout)
		}
		if t.reliable {
			t.trim()
			continue
		}
		for _, sub := range *t.subsSnap.Load() {
			if since := sub.idleSince(); !since.IsZero() && now.Sub(since) >= s.opts.IdleSubscriptionTimeout {
				s.removeIdleSubscription(t, sub, now)
			}
		}
	}
}

func (s *Server) topicList() []*topic {
	s.mu.RLock()
	defer s.mu.RUnlock()
	ts := make([]*topic, 0, len(s.topics))
	for _, t := range s.topics {
		ts = append(ts, t)
	}
	return ts
}

// topic returns a served topic or nil.
func (s *Server) topic(name string) *topic {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.topics[name]
}

// removeIdleSubscription deletes a non-reliable subscription that has had no connected consumer for the idle
// timeout, checking again under the topic's lock so that a consumer subscribing right now keeps it.
func (s *Server) removeIdleSubscription(t *topic, sub *subscription, now time.Time) {
	_ = s.removeSubscription(t, sub, func() error {
		if since := sub.idleSince(); since.IsZero() || now.Sub(since) < s.opts.IdleSubscriptionTimeout {
			return errNotIdle
		}
		return nil
	})
}

var errNotIdle = errors.New("the subscription has a connected consumer")

// ---- ids ----

func (s *Server) newProducerID(p *producer) uint64 {
	s.idsMu.Lock()
	defer s.idsMu.Unlock()
	for {
		id := rand.Uint64()
		if id != 0 && s.producers[id] == nil {
			p.id = id
			s.producers[id] = p
			return id
		}
	}
}

func (s *Server) newConsumerID() uint64 {
	s.idsMu.Lock()
	defer s.idsMu.Unlock()
	for {
		id := rand.Uint64()
		if _, taken := s.consumers[id]; id != 0 && !taken {
			s.consumers[id] = nil // reserved until registerConsumer
			return id
		}
	}
}

func (s *Server) registerConsumer(c *consumer) {
	s.idsMu.Lock()
	s.consumers[c.id] = c
	s.idsMu.Unlock()
}

func (s *Server) forgetConsumer(id uint64) {
	s.idsMu.Lock()
	delete(s.consumers, id)
	s.idsMu.Unlock()
}

func (s *Server) producerByID(id uint64) *producer {
	s.idsMu.RLock()
	defer s.idsMu.RUnlock()
	return s.producers[id]
}

func (s *Server) consumerByID(id uint64) *consumer {
	s.idsMu.RLock()
	defer s.idsMu.RUnlock()
	return s.consumers[id]
}

// ---- topics ----

// createTopic creates a topic in an existing namespace, or returns the existing one with created false.
func (s *Server) createTopic(name string, reliable bool) (t *topic, created bool, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.createTopicLocked(name, reliable)
}

// createTopicLocked is createTopic for a caller that holds s.mu.
func (s *Server) createTopicLocked(name string, reliable bool) (t *topic, created bool, err error) {
	if t := s.topics[name]; t != nil {
		if t.closed.Load() {
			return nil, false, status.Errorf(codes.Unavailable, "The topic %s is being deleted; retry in a moment", name)
		}
		return t, false, nil
	}
	ns := namespaceOf(name)
	if s.namespaces[ns] == nil {
		return nil, false, errNamespaceMissing(ns)
	}
	if base, ok := partitionBase(name); ok && s.topics[base] != nil {
		return nil, false, status.Errorf(codes.AlreadyExists,
			"Cannot create partitioned topic '%s': a non-partitioned topic '%s' already exists. Delete the non-partitioned topic first.", name, base)
	}
	parts := 0
	for other := range s.topics {
		if b, ok := partitionBase(other); ok && b == name {
			parts++
		}
	}
	if parts > 0 {
		return nil, false, status.Errorf(codes.AlreadyExists,
			"Cannot create topic '%s': partitioned topics with this base name already exist (found %d partitions). Delete the partitioned topics first.", name, parts)
	}
	m := topicMeta{Name: name, Reliable: reliable, ValidationPolicy: ValidationWarn}
	var log store.Log
	if reliable {
		// A log left behind by a deletion that did not finish must not come back with its messages. Any other
		// log under this name was adopted at start and is served as its topic, so none is deleted here.
		if err := s.finishLogDeletion(name); err != nil {
			return nil, false, status.Errorf(codes.Internal, "Unable to create the topic %s: %v", name, err)
		}
		if log, err = s.store.Log(name); err != nil {
			return nil, false, status.Errorf(codes.Internal, "Unable to create the topic %s: %v", name, err)
		}
	}
	if err := s.putJSON(storeKey(keyTopics, name), m); err != nil {
		return nil, false, status.Errorf(codes.Internal, "Unable to create the topic %s: %v", name, err)
	}
	t = newTopic(s, m, log)
	s.topics[name] = t
	s.log.Info("topic created", "topic", name, "reliable", reliable)
	return t, true, nil
}

// publishInternal publishes a copy of m with extra attributes to topic, creating it as a reliable topic if
// needed (dead-letter republishing).
func (s *Server) publishInternal(name string, m *danubepb.StreamMessage, attrs map[string]string) error {
	if err := ValidateTopicName(name); err != nil {
		return err
	}
	t, _, err := s.createTopic(name, true)
	if err != nil {
		return err
	}
	if !t.reliable {
		return fmt.Errorf("dead-letter topic %s is non-reliable and would drop the message; use a reliable topic", name)
	}
	c := &danubepb.StreamMessage{
		RequestId:     m.RequestId,
		Payload:       m.Payload,
		PublishTime:   m.PublishTime,
		ProducerName:  m.ProducerName,
		Attributes:    make(map[string]string, len(m.Attributes)+len(attrs)),
		SchemaId:      m.SchemaId,
		SchemaVersion: m.SchemaVersion,
		RoutingKey:    m.RoutingKey,
		MsgId: &danubepb.MsgID{
			ProducerId: m.GetMsgId().GetProducerId(),
			TopicName:  name,
			BrokerAddr: s.URL(),
		},
	}
	for k, v := range m.Attributes {
		c.Attributes[k] = v
	}
	for k, v := range attrs {
		c.Attributes[k] = v
	}
	t.counters.size.observe(float64(len(c.Payload)), s.clock.Load()) // as for every message that reaches a topic
	return t.publish(c)
}

// ---- store helpers ----

func (s *Server) putJSON(key string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	s.applied.Add(1)
	return s.store.Meta().Put(key, b)
}

// putCursor stores the first offset a subscription has not acknowledged.
func (s *Server) putCursor(topic, sub string, next uint64) error {
	s.applied.Add(1)
	return s.store.Meta().Put(storeKey(keyCursors, topic, sub), []byte(strconv.FormatUint(next, 10)))
}

// subscriptionMeta is what the store keeps about a subscription.
type subscriptionMeta struct {
	Topic         string           `json:"topic"`
	Name          string           `json:"name"`
	Type          SubscriptionType `json:"type"`
	FailurePolicy *FailurePolicy   `json:"failure_policy,omitempty"`
	MaxUnacked    int              `json:"max_unacked_messages,omitempty"`
}

// consumerMeta is what the store keeps about a consumer, so that clients keep their consumer id across a
// broker restart.
type consumerMeta struct {
	ID      uint64   `json:"id"`
	Name    string   `json:"name"`
	Filters []string `json:"filters,omitempty"`
	// InactiveSinceMs is when the consumer's stream ended (Unix milliseconds), 0 while it is connected, so
	// that a restart does not give a consumer gone long ago a new InactiveConsumerTimeout.
	InactiveSinceMs int64 `json:"inactive_since_ms,omitempty"`
}

// restore loads namespaces, topics, subscriptions, consumers and producers from the store and makes sure the
// default and system namespaces and the events topic exist.
func (s *Server) restore() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.idsMu.Lock()
	defer s.idsMu.Unlock()
	s.recovery, s.startedAt = nil, time.Now()
	s.clock.Store(0)
	meta := s.store.Meta()
	reg, err := schema.New(meta)
	if err != nil {
		return err
	}
	s.schemas = reg
	if err := s.loadBrokerID(); err != nil {
		return err
	}

	kvs, err := meta.List(keyNamespaces)
	if err != nil {
		return err
	}
	for _, kv := range kvs {
		var ns namespace
		if err := json.Unmarshal(kv.Value, &ns); err != nil {
			return fmt.Errorf("namespace %s: %w", kv.Key, err)
		}
		s.namespaces[ns.Name] = &ns
	}
	for _, name := range []string{DefaultNamespace, SystemNamespace} {
		if s.namespaces[name] == nil {
			if err := s.addNamespace(name); err != nil {
				return err
			}
		}
	}

	if kvs, err = meta.List(keyTopics); err != nil {
		return err
	}
	for _, kv := range kvs {
		var m topicMeta
		if err := json.Unmarshal(kv.Value, &m); err != nil {
			return fmt.Errorf("topic %s: %w", kv.Key, err)
		}
		var log store.Log
		if m.Reliable {
			if log, err = s.store.Log(m.Name); err != nil {
				return fmt.Errorf("topic %s: %w", m.Name, err)
			}
		}
		s.topics[m.Name] = newTopic(s, m, log)
	}
	if r, ok := s.store.(store.Recoverer); ok {
		s.recovery = append(s.recovery, r.Recovery()...)
	}
	if err := s.restoreOrphanLogs(); err != nil {
		return err
	}
	if s.topics[EventsTopic] == nil {
		if _, _, err := s.createTopicLocked(EventsTopic, false); err != nil {
			return err
		}
	}

	if kvs, err = meta.List(keyProducers); err != nil {
		return err
	}
	for _, kv := range kvs {
		var m producerMeta
		if err := json.Unmarshal(kv.Value, &m); err != nil {
			return fmt.Errorf("producer %s: %w", kv.Key, err)
		}
		t := s.topics[m.Topic]
		if t == nil {
			continue
		}
		p := &producer{id: m.ID, name: m.Name, topic: t, accessMode: m.AccessMode}
		p.touch(s.clock.Load()) // its client has InactiveProducerTimeout from now to come back
		t.producers[m.Name] = p
		s.producers[m.ID] = p
	}

	if kvs, err = meta.List(keySubscriptions); err != nil {
		return err
	}
	for _, kv := range kvs {
		var m subscriptionMeta
		if err := json.Unmarshal(kv.Value, &m); err != nil {
			return fmt.Errorf("subscription %s: %w", kv.Key, err)
		}
		t := s.topics[m.Topic]
		if t == nil {
			continue
		}
		var cursor uint64
		if t.reliable {
			b, ok, err := meta.Get(storeKey(keyCursors, m.Topic, m.Name))
			if err != nil {
				return err
			}
			if ok {
				if cursor, err = strconv.ParseUint(string(b), 10, 64); err != nil {
					return fmt.Errorf("cursor of %s/%s: %w", m.Topic, m.Name, err)
				}
			}
		}
		sub := s.newSubscription(t, m, cursor)
		t.subs[m.Name] = sub
		cs, err := meta.List(storeKey(keyConsumers, m.Topic, m.Name) + "/")
		if err != nil {
			return err
		}
		now := time.Now()
		for _, ckv := range cs {
			var cm consumerMeta
			if err := json.Unmarshal(ckv.Value, &cm); err != nil {
				return fmt.Errorf("consumer %s: %w", ckv.Key, err)
			}
			sub.nextSeq++
			c := newConsumer(cm.ID, cm.Name, sub.nextSeq, sub, cm.Filters)
			c.active.Store(false)
			c.inactiveSince = now // connected when the broker stopped: gone since about now
			if since := time.UnixMilli(cm.InactiveSinceMs); cm.InactiveSinceMs > 0 && since.Before(now) {
				c.inactiveSince = since
				c.storedInactive = true
			}
			sub.consumers = append(sub.consumers, c)
			sub.byName[c.name] = c
			s.consumers[c.id] = c
		}
		sub.consumersChanged()
		t.subsChanged()
	}
	for _, t := range s.topics {
		for _, sub := range t.subs {
			s.startDispatcher(sub)
		}
	}
	return nil
}

// addNamespace creates a namespace with the broker's policies. Caller holds s.mu or runs before Start.
func (s *Server) addNamespace(name string) error {
	ns := &namespace{Name: name}
	if err := s.putJSON(keyNamespaces+name, ns); err != nil {
		return err
	}
	s.namespaces[name] = ns
	return nil
}

// newSubscription builds a subscription and, on a reliable topic, its dispatcher (not yet running).
func (s *Server) newSubscription(t *topic, m subscriptionMeta, cursor uint64) *subscription {
	sub := &subscription{topic: t, name: m.Name, typ: m.Type, reliable: t.reliable, srv: s,
		byName: make(map[string]*consumer), lastConnected: time.Now()}
	sub.consumersChanged()
	if t.reliable {
		pol := s.opts.FailurePolicy
		if m.FailurePolicy != nil {
			pol = *m.FailurePolicy
		}
		window := s.opts.MaxUnackedMessages
		if m.MaxUnacked > 0 {
			window = m.MaxUnacked
		}
		sub.d = newDispatcher(sub, t.log, window, pol, cursor)
	}
	return sub
}

func (s *Server) startDispatcher(sub *subscription) {
	if sub.d != nil {
		sub.d.start()
	}
}

// namespaceTopics returns the names of the topics in ns that start with prefix, sorted.
func (s *Server) namespaceTopics(ns, prefix string) []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []string
	for name, t := range s.topics {
		if t.ns == ns && strings.HasPrefix(name, prefix) && !t.closed.Load() {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}
