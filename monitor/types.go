// Package monitor is the seam between data and screen. It implements the client's observer, reads the
// connector runtime's state and metrics, and keeps, per producer, consumer, subscription, topic and
// connector, counters, per-second series for sparklines, latency histograms, health results and a bounded
// ring of recent messages per consumer stream. The console pulls a cheap Snapshot on its tick and calls the
// actions of Backend; nothing here imports Bubble Tea, and nothing on the data path waits for the screen.
//
// The states that cross to the screen (ProducerState, ConsumerState, ConnState, HealthStatus,
// MessageState, SubscriptionType) are the monitor's own typed values, and the connector runtime's and the
// client's types the console shows are re-exported here as aliases, so that the console depends on this
// package alone for what it draws.
//
// The package is public, not internal, because tui is: tui.New takes a Backend and draws a Snapshot, so a
// program that embeds the console, or feeds it from another data source, must be able to name, implement
// and wrap these types. Backend is split by domain (Snapshots, Taps, Producers, Connectors, Admin) for
// exactly that: such a source implements the parts it serves.
package monitor

import (
	"context"
	"time"

	"github.com/danube-console/danube-console/monitor/filter"
)

// SeriesLen is how many one-second buckets a Series keeps (the last five minutes).
const SeriesLen = 300

// Backend is everything the console asks of its data: the union of the small interfaces below, one per
// domain, so that a fake or a future data source implements only what it serves. *Monitor implements all of
// them. Snapshot, Messages, Query and Message never block on the network; the other methods may (the console
// calls them off its update loop) and honour ctx. Their errors say once what failed and why: the action
// and its subject (topic, subscription, producer, offsets) are named once, by the layer that knows them,
// and the broker's answer follows; callers show them as they are, without a prefix of their own.
type Backend interface {
	Snapshots
	Taps
	Producers
	Connectors
	Admin
	ClusterAdmin
	History
}

// Snapshots reads the state the console draws.
type Snapshots interface {
	// Snapshot returns the current state of everything the console shows. It is cheap (called 10-20 times
	// a second) and the result is the caller's: later events never change it. Snapshot.Cluster's slices are
	// shared between snapshots and immutable: read them, never change them (sort or filter a copy).
	Snapshot() Snapshot
	// Refresh pings the broker (Snapshot.Reachable) and reloads namespaces, topics and their subscriptions
	// from the admin API into Snapshot.Topics (a failure is Snapshot.AdminErr), and the admin source's view
	// of the cluster into Snapshot.Cluster.Admin.
	Refresh(ctx context.Context) error
}

// Taps are the console's own consumers and what it does with their messages: read, filter, settle,
// replay and export them.
type Taps interface {
	// StartConsumer starts an ad-hoc consumer (auto-ack; with spec.ManualAck its messages stay pending until
	// Ack or Nack) whose messages fill a stream ring; StopConsumer stops it.
	StartConsumer(ctx context.Context, spec ConsumerSpec) error
	StopConsumer(ctx context.Context, name string) error

	// Messages returns up to max of the most recent messages of a consumer stream (StreamID from
	// ConsumerStats.Stream), oldest first, and the total ever received on it (so that the caller can tell how
	// many it did not get). Unknown streams give nil, 0.
	Messages(stream string, max int) ([]Message, uint64)
	// Query returns up to max of the most recent messages of a stream that match f (nil: all), oldest first,
	// with how many of the stream's kept messages match. A filter only hides messages: the ring is not
	// changed. It never blocks on the network and stays within the frame budget with 50k kept messages.
	Query(stream string, f *filter.Filter, max int) QueryResult
	// Message returns the kept message seq of a stream (false when it left the ring).
	Message(stream string, seq uint64) (Message, bool)

	// Ack and Nack settle messages of a manual-ack consumer (ConsumerSpec.ManualAck) by their Seq; every
	// action is written to the audit log (time, topic, subscription, offset, action, delay, reason). Nack asks
	// the broker to deliver them again after at least delay. Messages already settled, or not pending, are an
	// error (ErrNotPending) naming them; the others are settled. ReadOnly refuses both.
	Ack(ctx context.Context, stream string, seqs []uint64) error
	Nack(ctx context.Context, stream string, seqs []uint64, delay time.Duration, reason string) error

	// Replay re-publishes msgs, in order, to topic ("": each to its own topic), with the original key, schema
	// id and version, and attributes plus AttrReplayedFrom = "<topic>@<offset>"; progress (may be nil) is called after each
	// message. It stops at the first failure or when ctx ends, returning what was sent. ReadOnly refuses it.
	Replay(ctx context.Context, msgs []Message, topic string, progress func(done, total int)) (ReplayResult, error)
	// Export writes msgs to path as JSON lines in the format of `consume --jsonl` (so `produce --from-jsonl`
	// replays them), creating or truncating the file; it returns how many it wrote.
	Export(path string, msgs []Message) (int, error)
}

// Producers are the console's own producers.
type Producers interface {
	// StartProducer starts an ad-hoc producer that publishes at spec.Rate until stopped; StopProducer stops
	// it. Names are unique among ad-hoc producers.
	StartProducer(ctx context.Context, spec ProducerSpec) error
	StopProducer(ctx context.Context, name string) error
	// Produce publishes one message (the console's :produce); ReadOnly refuses it.
	Produce(ctx context.Context, topic string, payload []byte) error
}

// Connectors control the connector instances the console hosts.
type Connectors interface {
	// StartConnector, StopConnector and RestartConnector act on a connector instance by name (Stop and
	// Restart drain within ctx).
	StartConnector(name string) error
	StopConnector(ctx context.Context, name string) error
	RestartConnector(ctx context.Context, name string) error
}

// Admin asks the cluster about and acts on what no client of the console owns.
type Admin interface {
	// Lookup looks a topic up (with its partitions) and remembers the result for Snapshot.Lookups.
	Lookup(ctx context.Context, topic string) (LookupResult, error)
	// Unsubscribe deletes a subscription (of every partition of a partitioned topic) with the messages the
	// broker kept for it; brokers refuse while a consumer of it is connected. ReadOnly refuses it.
	Unsubscribe(ctx context.Context, topic, subscription string) error
	// SchemaSubject returns the subject of a schema id ("" when unknown or no registry is reachable); it
	// caches answers.
	SchemaSubject(ctx context.Context, id uint64) (string, error)
}

// AttrReplayedFrom is the attribute Replay adds: the original message's "<topic>@<offset>".
const AttrReplayedFrom = "x-replayed-from"

// QueryResult is a page of a stream's messages that match a filter.
type QueryResult struct {
	Messages []Message // oldest first
	Matches  int       // kept messages that match
	Kept     int       // kept messages
	Total    uint64    // messages ever received on the stream
}

// ReplayResult says what a Replay sent.
type ReplayResult struct {
	Sent   int
	Bytes  int64
	Topics []string // distinct target topics
}

// ProducerSpec describes an ad-hoc producer started from the console.
type ProducerSpec struct {
	Name     string  // unique; empty: generated
	Topic    string  // /namespace/topic
	Reliable bool    // reliable dispatch
	Rate     float64 // messages per second (0: one message, then stop)
	Payload  string  // payload template as the generator connector's (empty: a small JSON document)
	Key      string  // routing key (empty: none)
}

// ConsumerSpec describes an ad-hoc consumer (a tap) started from the console.
type ConsumerSpec struct {
	Name         string // unique; empty: generated
	Topic        string
	Subscription string
	Type         SubscriptionType // SubscriptionUnknown: shared
	// ManualAck keeps every message pending until Ack or Nack (else each is acked when received).
	ManualAck bool
}

// Snapshot is the state of everything the console shows, at Time.
type Snapshot struct {
	Time time.Time
	// ServiceURL is the broker's URL; AdminURL the admin API's ("" when unknown); Embedded says the console
	// started the broker itself; ReadOnly that actions which change state are disabled.
	ServiceURL string
	AdminURL   string
	Embedded   bool
	ReadOnly   bool
	// Reachable says the broker answered recently: a ready connection, or a successful health check, admin
	// call or Refresh's ping within the last few seconds, and no failed ping since.
	Reachable bool
	// AdminErr is the last failure of Refresh's admin API calls ("" after a success, or before the first).
	AdminErr string
	// StoreRecovery is what the broker repaired in its data directory when it started, as its admin API
	// told Refresh: nil when it had nothing to report or does not tell (a real Danube broker).
	StoreRecovery *StoreRecovery

	Producers     []ProducerStats     // sorted by topic, then name; closed ones that sent nothing are left out
	Consumers     []ConsumerStats     // sorted by topic, subscription, name
	Subscriptions []SubscriptionStats // sorted by topic, subscription
	Topics        []TopicStats        // from the admin API, sorted by name (Refresh fills it); shared: do not change
	Namespaces    []string
	Connectors    []ConnectorStats // in configuration order
	Health        []HealthStats    // every producer's and consumer's last check: the live ones first, then the stopped, each sorted by kind, topic, name
	Conns         []ConnStats      // connections per broker address
	Lookups       []LookupResult   // most recent first, at most 20
	// Cluster is what the cluster data sources (the admin API, the brokers' metrics endpoints, a Prometheus server) say of the
	// whole cluster, not only of the console's own clients. Its slices are shared and must not be changed.
	Cluster Cluster

	Totals Totals
	// LastError is the most recent error seen anywhere (send, ack, health, connector, action), with its time.
	LastError   string
	LastErrorAt time.Time
}

// Totals are the console-wide counters of the status bar.
type Totals struct {
	ReceivedPerSec  float64 // messages received per second by every consumer, over the last second
	Received        uint64  // messages received since the start
	Shown           uint64  // messages kept in the stream rings (what the console can show)
	DroppedFromView uint64  // messages evicted from the rings before the console showed them
	BufferFill      float64 // fill of the rings, 0..1
	ObserverDropped uint64  // client events dropped because the monitor's queue was full
}

// Latency summarises a latency histogram.
type Latency struct {
	Count         uint64
	P50, P99, Max time.Duration
}

// ProducerStats are one producer's (per partition: Topic is the partition) counters.
type ProducerStats struct {
	Name, Topic string
	ID          uint64
	State       ProducerState
	AdHoc       bool // started from the console (StopProducer applies)
	Msgs, Bytes uint64
	Errors      uint64
	MsgRate     float64   // messages per second over the last second
	ByteRate    float64   // bytes per second over the last second
	Series      []float64 // messages per second, one bucket a second, oldest first, at most SeriesLen
	Publish     Latency
	LastError   string
}

// ConsumerStats are one consumer's counters; Stream names its message ring for Backend.Messages.
type ConsumerStats struct {
	Stream                    string
	Name, Topic, Subscription string
	Type                      SubscriptionType
	ID                        uint64
	State                     ConsumerState
	AdHoc                     bool
	Received, Bytes           uint64
	Rate                      float64 // messages per second over the last second
	Series                    []float64
	// EndToEnd is a message's first delivery time minus its publish time; Redelivery, for the messages the
	// broker delivered again (nacked, or their ack timeout passed), this delivery's time minus the first's.
	EndToEnd, Redelivery Latency
	LastError            string
	// ManualAck says the consumer's messages wait for Ack or Nack; Pending counts the messages delivered to
	// it and neither acked nor nacked yet, each once however often it was delivered (for a manual-ack
	// consumer, those waiting for Ack or Nack), and AckTimeout is the subscription's (the broker redelivers
	// a message not settled within it; 0: unknown).
	ManualAck  bool
	Pending    int
	AckTimeout time.Duration
}

// SubscriptionStats are the acks of one subscription on one topic (or partition).
type SubscriptionStats struct {
	Topic, Subscription string
	Received            uint64
	Acked, Nacked       uint64
	AckErrors           uint64
	Redelivered         uint64 // messages received again with an offset already received (reliable topics)
	// Pending is the sum of its consumers' ConsumerStats.Pending: messages delivered and neither acked nor
	// nacked yet, each counted once (Received counts every delivery).
	Pending    int64
	AckLatency Latency
	Redelivery Latency // from a message's first delivery to its redelivery (see ConsumerStats.Redelivery)
}

// TopicStats describe a topic from the admin API.
type TopicStats struct {
	Name          string // /namespace/topic
	Namespace     string
	Reliable      bool
	BrokerID      string
	Subscriptions []string
	Partitions    int // 0: not partitioned (partition topics are listed by name)
	SchemaSubject string
}

// ConnectorStats are a connector instance's status with its throughput series.
type ConnectorStats struct {
	ConnectorStatus
	Series []float64 // processed per second, oldest first
}

// HealthStats are the last health check of a producer or consumer.
type HealthStats struct {
	Consumer   bool // a consumer's, not a producer's
	Name       string
	Topic      string
	ID         uint64
	Status     HealthStatus
	At         time.Time
	RTT        time.Duration
	Err        string
	Reconnects uint64 // times the producer was re-created or the consumer re-subscribed
}

// ConnStats is the state of the connection to one broker address.
type ConnStats struct {
	Addr        string
	State       ConnState
	Since       time.Time
	Transitions uint64
}

// LookupResult is a topic lookup as the console shows it.
type LookupResult struct {
	Topic        string
	At           time.Time
	ResponseType string // redirect, connect, failed
	BrokerURL    string
	ConnectURL   string
	Proxy        bool
	Partitions   []string // the partition topics, when partitioned
	Latency      time.Duration
	Err          string
}

// Message is a received message as the console shows and inspects it. Payload is the message's own bytes:
// never change it.
type Message struct {
	Seq           uint64 // position in its stream, from 1
	ReceivedAt    time.Time
	PublishTime   time.Time
	Topic         string // the topic or partition
	Offset        uint64
	ProducerID    uint64
	ProducerName  string
	BrokerAddr    string
	Subscription  string
	Consumer      string
	Key           string
	HasKey        bool
	Attributes    map[string]string
	SchemaID      uint64
	SchemaVersion uint32
	Payload       []byte
	// Redelivered says the stream had received this offset before.
	Redelivered bool
	// State is, for a manual-ack consumer, StatePending, StateAcked, StateNacked or StateExpired (StateNone
	// otherwise);
	// AckDeadline is when the broker redelivers a pending message (ReceivedAt + the subscription's ack
	// timeout; zero: unknown).
	State       MessageState
	AckDeadline time.Time
}

var _ Backend = (*Monitor)(nil)
