package broker

import (
	"bytes"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"time"

	"github.com/danube-console/danube-console/broker/store"
)

// Defaults the broker applies to zero-valued Options fields. They mirror the real Danube broker's defaults
// except where noted.
const (
	// DefaultHost is the interface the broker listens on when Options.Host is empty.
	DefaultHost = "127.0.0.1"
	// DefaultMaxUnackedMessages is the reliable dispatch window per subscription.
	DefaultMaxUnackedMessages = 10
	// DefaultAckTimeout is how long a reliable message may stay unacknowledged before it is redelivered.
	DefaultAckTimeout = 30 * time.Second
	// DefaultMaxMessageSize is the largest payload a producer may publish. The real broker's effective limit
	// is gRPC's 4 MiB frame; 4,000,000 bytes of payload leaves room for the envelope so that every accepted
	// message can still be delivered to clients that keep gRPC's default 4 MiB receive limit.
	DefaultMaxMessageSize = 4_000_000
	// DefaultConsumerQueue is how many messages may wait for a consumer's stream before non-reliable
	// messages to it are dropped (the real broker allows 4).
	DefaultConsumerQueue = 1024
	// DefaultIdleSubscriptionTimeout is how long a non-reliable subscription may have no connected consumer
	// before it is removed.
	DefaultIdleSubscriptionTimeout = 60 * time.Second
	// DefaultKeySharedEviction is how long a disconnected KeyShared consumer keeps its keys.
	DefaultKeySharedEviction = 3 * time.Second
	// DefaultStreamWaitTimeout is how long a consumer counts as connected after Subscribe without opening
	// its ReceiveMessages stream.
	DefaultStreamWaitTimeout = 30 * time.Second
	// DefaultInactiveConsumerTimeout is how long a consumer may stay disconnected before it is removed from
	// its subscription and from the store.
	DefaultInactiveConsumerTimeout = 60 * time.Second
	// DefaultInactiveProducerTimeout is how long a producer may go without a send, a health check or a
	// CreateProducer before it is removed from its topic and from the store.
	DefaultInactiveProducerTimeout = 30 * time.Minute
	// DefaultCursorFlushInterval is how often a reliable subscription's advancing cursor is written to the store.
	DefaultCursorFlushInterval = time.Second
)

// Policies limit what clients may do; 0 means unlimited except for MaxMessageSize, where 0 means
// DefaultMaxMessageSize. The JSON names are the real broker's policy names.
type Policies struct {
	MaxProducersPerTopic        int `json:"max_producers_per_topic"`
	MaxSubscriptionsPerTopic    int `json:"max_subscriptions_per_topic"`
	MaxConsumersPerTopic        int `json:"max_consumers_per_topic"`
	MaxConsumersPerSubscription int `json:"max_consumers_per_subscription"`
	MaxMessageSize              int `json:"max_message_size"`
}

// BackoffStrategy says how the redelivery delay grows with each attempt.
type BackoffStrategy int

// Backoff strategies; the numbers are the wire values of danube_admin.SubscriptionBackoffStrategy.
const (
	BackoffFixed       BackoffStrategy = 0
	BackoffExponential BackoffStrategy = 1
)

// PoisonPolicy says what happens to a reliable message that failed more than MaxRedeliveryCount times.
type PoisonPolicy int

// Poison policies; the numbers are the wire values of danube_admin.SubscriptionPoisonPolicy.
const (
	// PoisonDeadLetter republishes the message to the dead-letter topic, then skips it.
	PoisonDeadLetter PoisonPolicy = 0
	// PoisonBlock keeps the message and stops the subscription from taking new messages until it is acked.
	PoisonBlock PoisonPolicy = 1
	// PoisonDrop skips the message.
	PoisonDrop PoisonPolicy = 2
)

func (p PoisonPolicy) String() string {
	switch p {
	case PoisonDeadLetter:
		return "DeadLetter"
	case PoisonBlock:
		return "Block"
	case PoisonDrop:
		return "Drop"
	}
	return fmt.Sprintf("PoisonPolicy(%d)", int(p))
}

// label is the policy's name in the x-poison-policy attribute of dead letters, as the real broker writes it.
func (p PoisonPolicy) label() string {
	switch p {
	case PoisonDeadLetter:
		return "dead_letter"
	case PoisonBlock:
		return "block"
	case PoisonDrop:
		return "drop"
	}
	return p.String()
}

// FailurePolicy governs redelivery on a reliable subscription.
type FailurePolicy struct {
	// MaxRedeliveryCount: a message that has been delivered more than this many times and fails again is
	// poisoned.
	MaxRedeliveryCount uint32 `json:"max_redelivery_count"`
	// AckTimeout is how long a delivered message may stay unacknowledged.
	AckTimeout time.Duration `json:"ack_timeout"`
	// BaseRedeliveryDelay and MaxRedeliveryDelay bound the delay before a failed message is sent again.
	BaseRedeliveryDelay time.Duration   `json:"base_redelivery_delay"`
	MaxRedeliveryDelay  time.Duration   `json:"max_redelivery_delay"`
	Backoff             BackoffStrategy `json:"backoff"`
	Poison              PoisonPolicy    `json:"poison_policy"`
	// DeadLetterTopic receives poisoned messages when Poison is PoisonDeadLetter.
	DeadLetterTopic string `json:"dead_letter_topic,omitempty"`
}

// DefaultFailurePolicy returns the real broker's default policy for new reliable subscriptions.
func DefaultFailurePolicy() FailurePolicy {
	return FailurePolicy{
		MaxRedeliveryCount:  5,
		AckTimeout:          DefaultAckTimeout,
		BaseRedeliveryDelay: time.Second,
		MaxRedeliveryDelay:  time.Minute,
		Backoff:             BackoffExponential,
		Poison:              PoisonBlock,
	}
}

// Validate reports whether the policy can be applied.
func (p FailurePolicy) Validate() error {
	if p.AckTimeout <= 0 {
		return fmt.Errorf("%w: ack timeout must be positive", ErrInvalidPolicy)
	}
	if p.BaseRedeliveryDelay < 0 || p.MaxRedeliveryDelay < p.BaseRedeliveryDelay {
		return fmt.Errorf("%w: redelivery delays must satisfy 0 <= base <= max", ErrInvalidPolicy)
	}
	switch p.Poison {
	case PoisonBlock, PoisonDrop:
	case PoisonDeadLetter:
		if p.DeadLetterTopic == "" {
			return fmt.Errorf("%w: the DeadLetter poison policy needs a dead-letter topic", ErrInvalidPolicy)
		}
		if err := ValidateTopicName(p.DeadLetterTopic); err != nil {
			return fmt.Errorf("%w: dead-letter topic: %w", ErrInvalidPolicy, err)
		}
	default:
		return fmt.Errorf("%w: unknown poison policy %d", ErrInvalidPolicy, p.Poison)
	}
	if p.Backoff != BackoffFixed && p.Backoff != BackoffExponential {
		return fmt.Errorf("%w: unknown backoff strategy %d", ErrInvalidPolicy, p.Backoff)
	}
	return nil
}

// Options configure a Server. The zero value is a usable broker on a random loopback port with in-memory
// storage. Options are copied by New; changing them afterwards has no effect.
type Options struct {
	// Host is the interface to listen on (default DefaultHost).
	Host string
	// Port is the client port; 0 picks a free port.
	Port int
	// AdminPort is the admin port (BrokerAdmin, NamespaceAdmin, TopicAdmin and SchemaRegistry); 0 picks a
	// free port and -1 disables it.
	AdminPort int
	// MetricsAddr, when set (e.g. "127.0.0.1:9040"), serves Prometheus metrics at /metrics on that address.
	MetricsAddr string
	// TLS, when set, serves the client and admin ports over TLS. For mutual TLS set its ClientCAs and
	// ClientAuth; tls.RequireAndVerifyClientCert also authenticates callers by their certificate when there
	// is no JWTSecret (see SuperAdmins). Lookups then answer https:// URLs.
	TLS *tls.Config
	// JWTSecret, when set, requires every call on both ports to carry "authorization: Bearer <JWT>", an HS256
	// token signed with this secret that has not expired (see NewToken); every call is then also authorized
	// against the caller's role bindings (see SuperAdmins).
	JWTSecret []byte
	// SuperAdmins are principal names (of any type) allowed everything, as the real broker's
	// auth.super_admins: the way to create the first roles and bindings. With authentication on (JWTSecret,
	// or TLS that requires and verifies client certificates), every call on both ports is authorized against
	// the roles and bindings managed with SecurityAdmin, as the real broker's RBAC does: a call whose
	// principal neither is a super-admin nor has a binding that grants the permission it needs is refused
	// with PermissionDenied and changes nothing. The principal is the token's principal_type and
	// principal_name (NewPrincipalToken) or, without a JWT secret, the user named by the client
	// certificate's common name. SuperAdmins without authentication are an error.
	SuperAdmins []string
	// Peers are the client URLs of other brokers forming a group with this one, to test clients and consoles
	// against more than one broker (it is not a replicated cluster; topics stay where they are created):
	// lookups of topics a peer serves answer Redirect to it, producers or consumers of such topics are sent
	// there, and the admin API (ListBrokers, GetLeaderBroker, ClusterStatus, ListBrokerTopics,
	// GetClusterBalance, UnloadBroker, ActivateBroker) covers the whole group, as in a real Danube cluster.
	// Brokers of a group should name each other, and share the JWT secret and TLS setup: a broker calls its
	// peers as itself, with a broker_internal token minted from its JWT secret, over TLS (peer URLs are then
	// https://) when it serves TLS.
	Peers []string
	// PeerTLS is the TLS client configuration for calls to peers when TLS is set: RootCAs verify the peers'
	// certificates (nil: the system roots) and Certificates are presented to peers that require client
	// certificates (the broker's own client certificate). Nil means the system roots and no certificate.
	PeerTLS *tls.Config
	// AllowInsecure permits listening beyond loopback without both TLS and JWTSecret.
	AllowInsecure bool
	// AdvertisedURL is the URL clients are told to dial in lookups (broker_url and connect_url), such as
	// "http://broker.example:6650". Empty means "http://<host>:<port>" of the listener.
	AdvertisedURL string
	// Policies are the broker-wide limits.
	Policies Policies
	// MaxUnackedMessages is the reliable dispatch window per subscription (default 10, at most 10000).
	MaxUnackedMessages int
	// FailurePolicy is given to new reliable subscriptions. A zero value means DefaultFailurePolicy(); a zero
	// AckTimeout inside a non-zero policy means DefaultAckTimeout.
	FailurePolicy FailurePolicy
	// ConsumerQueue is how many messages may wait for one consumer's stream (default DefaultConsumerQueue).
	ConsumerQueue int
	// IdleSubscriptionTimeout removes non-reliable subscriptions without a connected consumer for this long
	// (default DefaultIdleSubscriptionTimeout).
	IdleSubscriptionTimeout time.Duration
	// KeySharedEviction is how long a disconnected KeyShared consumer keeps its keys on a reliable topic
	// (default DefaultKeySharedEviction).
	KeySharedEviction time.Duration
	// StreamWaitTimeout is how long a consumer counts as connected after Subscribe without opening its
	// stream (default DefaultStreamWaitTimeout); after it, the consumer is inactive until its stream opens.
	StreamWaitTimeout time.Duration
	// InactiveConsumerTimeout removes a consumer, on every subscription type, once it has been disconnected
	// this long (default DefaultInactiveConsumerTimeout): its stream ended, or it never opened one within
	// StreamWaitTimeout, and neither a new stream nor a Subscribe with its name came. Its record goes from
	// memory and from the store, so that consumers with generated names do not pile up; its id is then
	// unknown (HealthCheck answers CLOSE as soon as it is disconnected, ReceiveMessages NotFound once it is
	// removed) and a Subscribe with its name creates it again with a new id.
	InactiveConsumerTimeout time.Duration
	// InactiveProducerTimeout removes a producer once it has gone this long without a SendMessage, a
	// HealthCheck or a CreateProducer with its name (default DefaultInactiveProducerTimeout; Danube clients
	// check a live producer's health every 5 s). Its record goes from memory and from the store, so that
	// producers with generated names (every run of a command-line producer) do not pile up; its id is then
	// unknown, and a CreateProducer with its name creates it again with a new id.
	InactiveProducerTimeout time.Duration
	// CursorFlushInterval bounds how often cursors are written to the store (default DefaultCursorFlushInterval).
	CursorFlushInterval time.Duration
	// DisableAutoCreate stops CreateProducer from creating missing topics.
	DisableAutoCreate bool
	// Store keeps messages and metadata. Nil means a fresh store.NewMemory() owned by the server; a store
	// passed in is not closed by Shutdown.
	Store store.Store
	// Logger receives the broker's logs. Nil discards them; the library never writes to stdout.
	Logger *slog.Logger
}

// withDefaults returns a copy of o with every zero value replaced by its default, or an error naming the
// first invalid field.
func (o Options) withDefaults() (Options, error) {
	if o.Host == "" {
		o.Host = DefaultHost
	}
	// Keep our own copies: the caller may reuse or wipe its buffers.
	o.JWTSecret = bytes.Clone(o.JWTSecret)
	if o.TLS != nil {
		o.TLS = o.TLS.Clone()
	}
	if o.PeerTLS != nil {
		o.PeerTLS = o.PeerTLS.Clone()
	}
	if o.Port < 0 || o.Port > 65535 {
		return o, fmt.Errorf("%w: port %d is outside 0-65535", ErrInvalidOptions, o.Port)
	}
	if o.AdminPort < -1 || o.AdminPort > 65535 {
		return o, fmt.Errorf("%w: admin port %d is outside 0-65535 (or -1 to disable it)", ErrInvalidOptions, o.AdminPort)
	}
	if o.MetricsAddr != "" {
		host, _, err := net.SplitHostPort(o.MetricsAddr)
		if err != nil {
			return o, fmt.Errorf("%w: metrics address %q must be host:port", ErrInvalidOptions, o.MetricsAddr)
		}
		// Metrics have neither TLS nor tokens and name every topic and subscription.
		if !isLoopback(host) && !o.AllowInsecure {
			return o, fmt.Errorf("%w: metrics address %s: %w", ErrInvalidOptions, o.MetricsAddr, ErrInsecure)
		}
	}
	if !isLoopback(o.Host) && (o.TLS == nil || len(o.JWTSecret) == 0) && !o.AllowInsecure {
		return o, fmt.Errorf("%w: host %s: %w", ErrInvalidOptions, o.Host, ErrInsecure)
	}
	if len(o.SuperAdmins) > 0 && !o.authenticates() {
		return o, fmt.Errorf("%w: super-admins need authentication: a JWT secret, or TLS that requires and verifies client certificates", ErrInvalidOptions)
	}
	o.SuperAdmins = append([]string(nil), o.SuperAdmins...)
	if o.AdvertisedURL != "" {
		u, err := url.Parse(o.AdvertisedURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return o, fmt.Errorf("%w: advertised URL %q must look like http://host:port", ErrInvalidOptions, o.AdvertisedURL)
		}
		if _, _, err := net.SplitHostPort(u.Host); err != nil {
			return o, fmt.Errorf("%w: advertised URL %q needs a port", ErrInvalidOptions, o.AdvertisedURL)
		}
		if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
			return o, fmt.Errorf("%w: advertised URL %q must be only scheme://host:port", ErrInvalidOptions, o.AdvertisedURL)
		}
		if o.TLS != nil && u.Scheme == "http" {
			return o, fmt.Errorf("%w: advertised URL %q is plain http but the broker serves TLS; use https://", ErrInvalidOptions, o.AdvertisedURL)
		}
		o.AdvertisedURL = u.Scheme + "://" + u.Host // clients strip the scheme and dial the rest
	}
	for _, u := range o.Peers {
		pu, err := url.Parse(u)
		if err != nil || pu.Host == "" || (pu.Scheme != "http" && pu.Scheme != "https") {
			return o, fmt.Errorf("%w: peer %q must look like http://host:port", ErrInvalidOptions, u)
		}
		if want := peerScheme(o.TLS != nil); pu.Scheme != want {
			return o, fmt.Errorf("%w: peer %q: the brokers of a group serve TLS together or not at all; use %s://", ErrInvalidOptions, u, want)
		}
	}
	o.Peers = append([]string(nil), o.Peers...)
	p := &o.Policies
	if p.MaxProducersPerTopic < 0 || p.MaxSubscriptionsPerTopic < 0 || p.MaxConsumersPerTopic < 0 ||
		p.MaxConsumersPerSubscription < 0 || p.MaxMessageSize < 0 {
		return o, fmt.Errorf("%w: policies must not be negative", ErrInvalidOptions)
	}
	if p.MaxMessageSize == 0 {
		p.MaxMessageSize = DefaultMaxMessageSize
	}
	switch {
	case o.MaxUnackedMessages == 0:
		o.MaxUnackedMessages = DefaultMaxUnackedMessages
	case o.MaxUnackedMessages < 0 || o.MaxUnackedMessages > 10000:
		return o, fmt.Errorf("%w: max unacked messages %d is outside 1-10000", ErrInvalidOptions, o.MaxUnackedMessages)
	}
	if o.FailurePolicy == (FailurePolicy{}) {
		o.FailurePolicy = DefaultFailurePolicy()
	}
	if o.FailurePolicy.AckTimeout == 0 {
		o.FailurePolicy.AckTimeout = DefaultAckTimeout
	}
	if err := o.FailurePolicy.Validate(); err != nil {
		return o, fmt.Errorf("%w: %w", ErrInvalidOptions, err)
	}
	if o.ConsumerQueue < 0 || o.IdleSubscriptionTimeout < 0 || o.KeySharedEviction < 0 || o.CursorFlushInterval < 0 ||
		o.StreamWaitTimeout < 0 || o.InactiveConsumerTimeout < 0 || o.InactiveProducerTimeout < 0 {
		return o, fmt.Errorf("%w: sizes and durations must not be negative", ErrInvalidOptions)
	}
	if o.ConsumerQueue == 0 {
		o.ConsumerQueue = DefaultConsumerQueue
	}
	if o.IdleSubscriptionTimeout == 0 {
		o.IdleSubscriptionTimeout = DefaultIdleSubscriptionTimeout
	}
	if o.KeySharedEviction == 0 {
		o.KeySharedEviction = DefaultKeySharedEviction
	}
	if o.StreamWaitTimeout == 0 {
		o.StreamWaitTimeout = DefaultStreamWaitTimeout
	}
	if o.InactiveConsumerTimeout == 0 {
		o.InactiveConsumerTimeout = DefaultInactiveConsumerTimeout
	}
	if o.InactiveProducerTimeout == 0 {
		o.InactiveProducerTimeout = DefaultInactiveProducerTimeout
	}
	if o.CursorFlushInterval == 0 {
		o.CursorFlushInterval = DefaultCursorFlushInterval
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o, nil
}

// authenticates reports whether the broker knows who calls it: a JWT secret, or TLS that requires and
// verifies client certificates. Then every call is authorized.
func (o *Options) authenticates() bool {
	return len(o.JWTSecret) > 0 || o.clientCerts()
}

// clientCerts reports whether the TLS handshake requires and verifies client certificates.
func (o *Options) clientCerts() bool {
	return o.TLS != nil && o.TLS.ClientAuth == tls.RequireAndVerifyClientCert
}

// isLoopback reports whether host names only the loopback interface.
func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
