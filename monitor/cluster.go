package monitor

import "time"

// What the console knows of the whole cluster, from sources other than its own clients: direct scraping of
// the brokers' Prometheus endpoints (Options.MetricsURLs; each endpoint is one SourceState, and the figures
// computed from its last two scrapes are the rows of Cluster) and a Prometheus server (Options.PrometheusURL,
// prom.go: its rows when no endpoint is scraped, and the charts' history); problems.go ranks what they say.

// DefaultMetricsInterval is how often each metrics endpoint is scraped when Options.MetricsInterval is 0.
const DefaultMetricsInterval = 5 * time.Second

// maxMetricsTimeout bounds one scrape when Options.MetricsTimeout is 0: the interval, but no more than this.
const maxMetricsTimeout = 5 * time.Second

// SourceStatus is the state of a cluster data source.
type SourceStatus uint8

const (
	// SourceOff: the source is not configured, or the monitor is closed.
	SourceOff SourceStatus = iota
	// SourcePending: configured, and no scrape has finished yet.
	SourcePending
	// SourceUp: the last scrape succeeded.
	SourceUp
	// SourceFailing: the last scrape failed; SourceState.Err says why.
	SourceFailing
)

func (s SourceStatus) String() string {
	switch s {
	case SourcePending:
		return "pending"
	case SourceUp:
		return "up"
	case SourceFailing:
		return "failing"
	}
	return "off"
}

// SourceState is one cluster data source as the header shows it.
type SourceState struct {
	// Kind is what the source is: "metrics" for a broker's Prometheus endpoint.
	Kind string
	// URL is the address polled (with the scheme and path the monitor added).
	URL    string
	Status SourceStatus
	// Err is the reason of the last failure while Status is SourceFailing ("" otherwise).
	Err string
	// Broker is the broker id the endpoint's series are labelled with ("" before the first good scrape).
	Broker string
	// Interval is the source's poll interval; LastOK is when its last successful answer came (zero before
	// one: the Window of its rows is the time between two of them), LastTry the end of its last poll.
	Interval        time.Duration
	LastOK, LastTry time.Time
}

// Quantiles are a summary's figures as the broker exports them: the quantiles of its rolling window (the
// last 60 s on a Danube broker) and the cumulative count and sum.
type Quantiles struct {
	P50, P95, P99 float64
	Count         uint64
	Sum           float64
}

// TopicRate is one topic (or partition) on one broker, from that broker's metrics. The rates are per
// second over Window, the time between the endpoint's last two successful scrapes; Window is 0, and every
// rate 0, until there are two. A counter that went down between them (the broker restarted) counts from 0.
type TopicRate struct {
	Broker, Topic string
	Window        time.Duration

	MsgsInPerSec, BytesInPerSec   float64 // danube_topic_messages_in_total, danube_topic_bytes_in_total
	MsgsOutPerSec, BytesOutPerSec float64 // danube_consumer_{messages,bytes}_out_total, summed over subscriptions
	MsgsIn, BytesIn               uint64  // the counters' values at the last scrape

	// Producers, Consumers and Subscriptions are the broker's gauges danube_topic_active_{producers,
	// consumers,subscriptions} (the real broker lets the first two drift upward: see the spec).
	Producers, Consumers, Subscriptions int64
	// Lag is the sum of the subscriptions' danube_subscription_lag_messages (reliable topics only).
	Lag int64

	// PublishLatency is danube_producer_send_latency_ms (milliseconds); MessageSize is
	// danube_topic_message_size_bytes (bytes).
	PublishLatency, MessageSize Quantiles

	// SchemaFailuresPerSec is the rate of danube_schema_validation_failures_total (every reason);
	// ProducerErrorsPerSec the rate of danube_producer_send_total{result="error"} (every error code).
	SchemaFailuresPerSec, ProducerErrorsPerSec float64
}

// SubscriptionRate is one subscription of a topic on one broker, from that broker's metrics (rates as in
// TopicRate).
type SubscriptionRate struct {
	Broker, Topic, Subscription string
	Window                      time.Duration

	MsgsOutPerSec, BytesOutPerSec float64 // danube_consumer_{messages,bytes}_out_total
	MsgsOut, BytesOut             uint64  // the counters' values at the last scrape
	// Consumers is danube_subscription_active_consumers; Lag danube_subscription_lag_messages (0 for a
	// non-reliable subscription, and before its first ack); PendingRedelivery and TerminalBlocked the gauges
	// of those names.
	Consumers, Lag, PendingRedelivery, TerminalBlocked int64
	// Rates of danube_subscription_{redelivery,nack,ack_timeout,dlq}_total.
	RedeliveriesPerSec, NacksPerSec, AckTimeoutsPerSec, DLQPerSec float64
	// RetryExhaustedPerSec is the rate of danube_subscription_retry_exhausted_total (every poison policy).
	RetryExhaustedPerSec float64
	// LagGrowingSince is since when Lag has grown at every scrape (the scrape before the first growth), and
	// LagGrowingFrom the lag then; zero when the lag did not grow since the previous scrape. From a
	// Prometheus server (no metrics endpoints scraped) it is the same over its polls.
	LagGrowingSince time.Time
	LagGrowingFrom  int64
}

// BrokerMetrics is one broker's own figures, from its metrics (rates as in TopicRate).
type BrokerMetrics struct {
	// ID is the broker label of its series; URL the endpoint they came from.
	ID, URL string
	Window  time.Duration
	// TopicsOwned is danube_broker_topics_owned; Leader is danube_leader_election_state = 1.
	TopicsOwned int64
	Leader      bool
	// RPCPerSec is the rate of danube_broker_rpc_total summed over service, method and result;
	// RPCErrorsPerSec the part with result="error".
	RPCPerSec, RPCErrorsPerSec float64
	// AuthzDeniesPerSec is the rate of danube_authz_deny_total (every resource and permission). The brokers
	// export no connection count (spec §6.2): the admin UI's active connections are the producer and
	// consumer gauges of TopicRate, summed.
	AuthzDeniesPerSec float64
	// MsgsInPerSec, BytesInPerSec, MsgsOutPerSec and BytesOutPerSec sum the broker's topics.
	MsgsInPerSec, BytesInPerSec, MsgsOutPerSec, BytesOutPerSec float64
	// PublishLatencyMeanMs is the mean publish latency over Window, from the sum and count of every topic's
	// danube_producer_send_latency_ms (0 when nothing was published in it). Per-topic quantiles are in
	// TopicRate.PublishLatency: quantiles of different topics cannot be combined.
	PublishLatencyMeanMs float64
}

// Cluster is what the cluster data sources say. Rows come only from sources that are up: a failing
// endpoint's figures are dropped (not shown stale) until it answers again.
//
// Its slices (and those of Admin) are shared between snapshots and immutable: a source that learns
// something builds new slices, never changes the ones it gave out, so that Snapshot only copies the
// headers. Callers must not modify them (sort or filter a copy).
type Cluster struct {
	Sources       []SourceState      // the admin source, then the metrics endpoints, then the Prometheus server
	Brokers       []BrokerMetrics    // sorted by ID, then URL
	Topics        []TopicRate        // sorted by topic, then broker
	Subscriptions []SubscriptionRate // sorted by topic, subscription, then broker
	// Admin is what the admin API says of the cluster (zero without an admin client).
	Admin AdminView
	// Problems are what an operator must look at first, most severe first, from every source.
	Problems []Problem
}
