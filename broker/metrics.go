package broker

import (
	"context"
	"errors"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/danube-console/danube-console/broker/store"
)

// Metrics, as the real Danube broker exports them (names, types, units and labels). The data path only adds
// to atomic counters and small summaries kept on topics, subscriptions and the server; a collector turns them
// into Prometheus series when the metrics endpoint is scraped. Every series carries the label
// broker="{broker id}", and every family of the real broker is also exported as one series with no other
// label and value 0, as the real broker registers each of them at start.

// kind is the Prometheus type of a family.
type kind uint8

const (
	kCounter kind = iota
	kGauge
	kSummary
)

// family is one metric family: its descriptor with the variable labels, and the bare descriptor (same name,
// no variable label) of the zero series every broker exports.
type family struct {
	kind kind
	d    *prometheus.Desc
	bare *prometheus.Desc // nil when d has no variable label
}

// families lists every family in Describe order.
var families []*family

func newFamily(k kind, name, help string, labels ...string) *family {
	f := &family{kind: k, d: prometheus.NewDesc(name, help, labels, nil)}
	if len(labels) > 0 {
		f.bare = prometheus.NewDesc(name, help, nil, nil)
	}
	families = append(families, f)
	return f
}

// The real broker's families (spec §6.2), then the storage families it emits for reliable topics, then this
// broker's additions (dropped messages, store recovery).
var (
	mMsgsIn       = newFamily(kCounter, "danube_topic_messages_in_total", "Total messages published to topic", "topic")
	mBytesIn      = newFamily(kCounter, "danube_topic_bytes_in_total", "Total bytes published to topic", "topic")
	mMsgSize      = newFamily(kSummary, "danube_topic_message_size_bytes", "Message size in bytes", "topic")
	mSendLatency  = newFamily(kSummary, "danube_producer_send_latency_ms", "Producer send latency in milliseconds", "topic")
	mSends        = newFamily(kCounter, "danube_producer_send_total", "Producer send results by outcome", "topic", "result", "error_code")
	mMsgsOut      = newFamily(kCounter, "danube_consumer_messages_out_total", "Total messages delivered to consumers", "topic", "subscription")
	mBytesOut     = newFamily(kCounter, "danube_consumer_bytes_out_total", "Total bytes delivered to consumers", "topic", "subscription")
	mProducers    = newFamily(kGauge, "danube_topic_active_producers", "Active producers per topic", "topic")
	mConsumers    = newFamily(kGauge, "danube_topic_active_consumers", "Active consumers per topic", "topic")
	mSubs         = newFamily(kGauge, "danube_topic_active_subscriptions", "Active subscriptions per topic", "topic")
	mSubConsumers = newFamily(kGauge, "danube_subscription_active_consumers", "Active consumers per subscription", "topic", "subscription")
	mLag          = newFamily(kGauge, "danube_subscription_lag_messages", "Messages published but not yet acknowledged by the subscription", "topic", "subscription")
	mNacks        = newFamily(kCounter, "danube_subscription_nack_total", "Negative acknowledgements received", "topic", "subscription")
	mAckTimeouts  = newFamily(kCounter, "danube_subscription_ack_timeout_total", "Messages whose ack deadline passed", "topic", "subscription")
	mRedelivered  = newFamily(kCounter, "danube_subscription_redelivery_total", "Messages delivered again", "topic", "subscription")
	mExhausted    = newFamily(kCounter, "danube_subscription_retry_exhausted_total", "Messages that used up their redeliveries", "topic", "subscription", "poison_policy")
	mDLQ          = newFamily(kCounter, "danube_subscription_dlq_total", "Messages republished to the dead-letter topic", "topic", "subscription", "poison_policy")
	mPending      = newFamily(kGauge, "danube_subscription_pending_redelivery", "Messages waiting for their next delivery after a nack or an ack timeout (a count)", "topic", "subscription")
	mBlocked      = newFamily(kGauge, "danube_subscription_terminal_blocked", "Messages held by the Block poison policy", "topic", "subscription")
	mHeartbeats   = newFamily(kCounter, "danube_dispatcher_heartbeat_polls_total", "Dispatcher polls for ack timeouts and due redeliveries")
	mNotifier     = newFamily(kCounter, "danube_dispatcher_notifier_polls_total", "Dispatcher polls triggered by new messages, acks or consumer changes")
	mTopicsOwned  = newFamily(kGauge, "danube_broker_topics_owned", "Topics served by this broker")
	mRPCs         = newFamily(kCounter, "danube_broker_rpc_total", "Producer and consumer rpcs by result", "service", "method", "result")
	mRedirects    = newFamily(kCounter, "danube_client_redirects_total", "CreateProducer or Subscribe calls sent to the broker that serves the topic", "reason", "topic_ns")
	mAssignments  = newFamily(kCounter, "danube_broker_assignments_total", "Topic assignments made by the leader", "broker_id", "action")
	mLeader       = newFamily(kGauge, "danube_leader_election_state", "1 when this broker is the cluster leader, 0 otherwise")
	mImbalance    = newFamily(kGauge, "danube_cluster_imbalance_cv", "Coefficient of variation of the brokers' load")
	mMoves        = newFamily(kCounter, "danube_rebalancing_moves_total", "Rebalancing moves made", "reason")
	mMoveFails    = newFamily(kCounter, "danube_rebalancing_failures_total", "Rebalancing moves that failed")
	mCycle        = newFamily(kSummary, "danube_rebalancing_cycle_duration_seconds", "Duration of rebalancing cycles that moved a topic")
	mValidations  = newFamily(kCounter, "danube_schema_validation_total", "Messages checked against the topic's schema", "topic", "policy")
	mValidFails   = newFamily(kCounter, "danube_schema_validation_failures_total", "Messages that failed the topic's schema check", "topic", "reason")

	mWALAppends     = &family{kind: kCounter, d: prometheus.NewDesc("danube_wal_append_total", "Messages appended to the topic's log", []string{"topic"}, nil)}
	mWALAppendBytes = &family{kind: kCounter, d: prometheus.NewDesc("danube_wal_append_bytes_total", "Payload bytes appended to the topic's log", []string{"topic"}, nil)}
	mWALFlushes     = &family{kind: kCounter, d: prometheus.NewDesc("danube_wal_flush_total", "Fsyncs of the topic's log files", []string{"topic"}, nil)}
	mWALFlushTime   = &family{kind: kSummary, d: prometheus.NewDesc("danube_wal_flush_latency_ms", "Duration of the fsyncs of the topic's log files in milliseconds", []string{"topic"}, nil)}
	mWALRotations   = &family{kind: kCounter, d: prometheus.NewDesc("danube_wal_file_rotate_total", "Log files sealed for a new one", []string{"topic", "reason"}, nil)}
	mWALReaders     = &family{kind: kCounter, d: prometheus.NewDesc("danube_wal_reader_create_total", "Readers of the topic's log opened", []string{"topic", "mode"}, nil)}
	mWALDeletes     = &family{kind: kCounter, d: prometheus.NewDesc("danube_wal_delete_total", "Log files deleted (every message in them acknowledged, or retention)", []string{"topic", "reason"}, nil)}

	mDropped      = &family{kind: kCounter, d: prometheus.NewDesc("danube_subscription_dropped_total", "Non-reliable messages no consumer could take (not a series of the real broker).", []string{"topic", "subscription"}, nil)}
	mRecovery     = &family{kind: kGauge, d: prometheus.NewDesc("danube_store_recovery_reports", "What the broker found damaged or incomplete in its data directory at start, by what it did (skipped, truncated, moved, missing, adopted).", []string{"action"}, nil)}
	mRecoveryLost = &family{kind: kGauge, d: prometheus.NewDesc("danube_store_recovery_lost_messages", "Stored messages that recovery at start could not keep, as far as it could count them (damaged records skipped, torn tails cut, segments missing; not the contents of files moved aside whole).", nil, nil)}
)

// Label values.
var (
	poisonLabels     = [...]string{PoisonDeadLetter: "dead_letter", PoisonBlock: "block", PoisonDrop: "drop"}
	validationLabels = [...]string{"Warn", "Enforce"}
)

// Reasons a message fails its topic's schema check (danube_schema_validation_failures_total).
const (
	reasonMissingSchemaID = iota
	reasonSubjectMismatch
	reasonPayloadInvalid
	nReasons
)

var reasonLabels = [nReasons]string{"missing_schema_id", "subject_mismatch", "payload_invalid"}

// validationError is a schema check failure that names its reason; its message is err's.
type validationError struct {
	reason int
	err    error
}

func (e validationError) Error() string { return e.err.Error() }
func (e validationError) Unwrap() error { return e.err }

// validationReason classifies a schema check failure: a validationError's reason, otherwise
// payload_invalid (the payload or its version did not pass).
func validationReason(err error) int {
	if ve, ok := errors.AsType[validationError](err); ok {
		return ve.reason
	}
	return reasonPayloadInvalid
}

// topicCounters are a topic's message counters.
type topicCounters struct {
	msgsIn, bytesIn atomic.Uint64
	// sends counts SendMessage results by gRPC code (codes.OK is a success).
	sends       [codes.Unauthenticated + 1]atomic.Uint64
	validations [2]atomic.Uint64 // by policy: warn, enforce
	invalid     [nReasons]atomic.Uint64
	size        summary // payload bytes of the messages that reach the topic
	latency     summary // milliseconds of successful SendMessage calls
	storage     storageCounters
}

// storageCounters are a reliable topic's log counters: the store reports its work on files through
// storageObserver, the broker counts the readers it opens.
type storageCounters struct {
	flushes, rotations, deleted, readers atomic.Uint64
	flushTime                            summary // milliseconds per fsync
}

// storageObserver is the store.LogObserver of a reliable topic's log.
type storageObserver struct{ t *topic }

// Flushed implements store.LogObserver.
func (o storageObserver) Flushed(d time.Duration) {
	c := &o.t.counters.storage
	c.flushes.Add(1)
	c.flushTime.observe(float64(d)/float64(time.Millisecond), o.t.srv.clock.Load())
}

// Rotated implements store.LogObserver. The stores rotate for size only.
func (o storageObserver) Rotated(string) { o.t.counters.storage.rotations.Add(1) }

// Deleted implements store.LogObserver. Files removed because every subscription acknowledged their messages
// count with those removed by retention: the real broker only has the latter, labelled retention.
func (o storageObserver) Deleted(files int, _ string) {
	o.t.counters.storage.deleted.Add(uint64(max(files, 0)))
}

// observeLog makes a reliable topic's counters hear of its log's storage events, when the store reports them.
func (t *topic) observeLog() {
	if o, ok := t.log.(store.Observable); ok {
		o.SetObserver(storageObserver{t})
	}
}

func (c *topicCounters) send(code codes.Code) {
	if int(code) < len(c.sends) {
		c.sends[code].Add(1)
	}
}

// subscriptionCounters are a subscription's delivery counters.
type subscriptionCounters struct {
	msgsOut, bytesOut                    atomic.Uint64
	nacks, redeliveries, ackTimeouts, dl atomic.Uint64
	exhausted                            [len(poisonLabels)]atomic.Uint64 // by PoisonPolicy
}

// exhaust counts a message that used up its redeliveries under policy p.
func (c *subscriptionCounters) exhaust(p PoisonPolicy) {
	if int(p) >= 0 && int(p) < len(c.exhausted) {
		c.exhausted[p].Add(1)
	}
}

// rpc indexes danube_broker_rpc_total's (service, method) pairs.
type rpc uint8

const (
	rpcCreateProducer rpc = iota
	rpcSendMessage
	rpcSubscribe
	rpcReceiveMessages
	rpcAck
	rpcNack
	nRPCs
)

var rpcLabels = [nRPCs][2]string{
	{"producer", "create_producer"}, {"producer", "send_message"},
	{"consumer", "subscribe"}, {"consumer", "receive_messages"}, {"consumer", "ack"}, {"consumer", "nack"},
}

// rpcByMethod maps the unary methods counted by the interceptor to their index.
var rpcByMethod = map[string]rpc{
	"/danube.ProducerService/CreateProducer": rpcCreateProducer,
	"/danube.ProducerService/SendMessage":    rpcSendMessage,
	"/danube.ConsumerService/Subscribe":      rpcSubscribe,
	"/danube.ConsumerService/Ack":            rpcAck,
	"/danube.ConsumerService/Nack":           rpcNack,
}

// brokerMetrics are the server-wide counters.
type brokerMetrics struct {
	rpcs                 [nRPCs][2]atomic.Uint64 // by result: ok, error
	heartbeats, notifier atomic.Uint64
	mu                   sync.Mutex
	redirects            map[[2]string]uint64 // by reason (not_local, post_create) and topic namespace
	imbalance            atomic.Uint64        // float64 bits

	leaderMu      sync.Mutex // serialises scrapes asking the group for its leader
	leaderChecked time.Time
	leader        bool
}

// count records the result of one rpc.
func (m *brokerMetrics) count(r rpc, err error) {
	res := 0
	if err != nil {
		res = 1
	}
	m.rpcs[r][res].Add(1)
}

// redirect counts a CreateProducer or Subscribe answered Unavailable because a peer serves the topic.
func (m *brokerMetrics) redirect(topic string) { m.countRedirect("not_local", topic) }

// redirectPostCreate counts a CreateProducer answered Unavailable because its topic was created on another
// broker (grpc_cluster.go, autoCreateElsewhere).
func (m *brokerMetrics) redirectPostCreate(topic string) { m.countRedirect("post_create", topic) }

func (m *brokerMetrics) countRedirect(reason, topic string) {
	k := [2]string{reason, namespaceOf(topic)}
	m.mu.Lock()
	if m.redirects == nil {
		m.redirects = make(map[[2]string]uint64)
	}
	m.redirects[k]++
	m.mu.Unlock()
}

// setImbalanceCV records the coefficient of variation of the brokers' load each time it is computed with at
// least two active brokers (danube_cluster_imbalance_cv).
func (m *brokerMetrics) setImbalanceCV(cv float64) { m.imbalance.Store(math.Float64bits(cv)) }

// uncounted marks, in a CreateProducer or Subscribe context, a call the real broker does not count in
// danube_broker_rpc_total (a producer or consumer name that already exists).
type uncountedKey struct{}

// dontCount marks ctx's call as not counted; it does nothing outside the interceptor.
func dontCount(ctx context.Context) {
	if p, ok := ctx.Value(uncountedKey{}).(*bool); ok {
		*p = true
	}
}

// unaryRPCMetrics is the client port's interceptor that counts danube_broker_rpc_total. It runs after
// authentication, so calls refused for their credentials are not counted, as in the real broker.
func (s *Server) unaryRPCMetrics(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
	r, ok := rpcByMethod[info.FullMethod]
	if !ok {
		return h(ctx, req)
	}
	if r != rpcCreateProducer && r != rpcSubscribe {
		resp, err := h(ctx, req)
		s.metrics.count(r, err)
		return resp, err
	}
	skip := new(bool)
	resp, err := h(context.WithValue(ctx, uncountedKey{}, skip), req)
	// A Subscribe refused by the per-topic consumer limit (its only ResourceExhausted) is not counted either.
	if !*skip && !(r == rpcSubscribe && status.Code(err) == codes.ResourceExhausted) {
		s.metrics.count(r, err)
	}
	return resp, err
}

// leaderCheckInterval is how often a broker with peers finds out again whether it leads its group, for
// danube_leader_election_state (the real broker checks every 10 s).
const leaderCheckInterval = 10 * time.Second

// leaderState is danube_leader_election_state: 1 when this broker is the leader GetLeaderBroker names. A
// broker without peers leads its one-broker cluster; a broker with peers asks its group at most once per
// leaderCheckInterval, within peerTimeout.
func (s *Server) leaderState() float64 {
	if len(s.peers) == 0 {
		return 1
	}
	m := &s.metrics
	m.leaderMu.Lock()
	defer m.leaderMu.Unlock()
	if now := time.Now(); m.leaderChecked.IsZero() || now.Sub(m.leaderChecked) >= leaderCheckInterval {
		ctx, cancel := context.WithTimeout(context.Background(), peerTimeout)
		leader := s.leaderBroker(ctx)
		cancel()
		m.leader = leader == s.BrokerID()
		m.leaderChecked = now
	}
	if m.leader {
		return 1
	}
	return 0
}

// collector exposes a Server's counters to Prometheus, without the broker label (Server.Collector adds it).
type collector struct{ s *Server }

func (c collector) Describe(ch chan<- *prometheus.Desc) {
	for _, f := range families {
		ch <- f.d
	}
	for _, f := range []*family{mWALAppends, mWALAppendBytes, mWALFlushes, mWALFlushTime, mWALRotations, mWALReaders,
		mWALDeletes, mDropped, mRecovery, mRecoveryLost} {
		ch <- f.d
	}
	c.s.describeAuthz(ch)
}

// emitter sends one family's samples.
type emitter chan<- prometheus.Metric

func (e emitter) counter(f *family, v uint64, labels ...string) {
	e <- prometheus.MustNewConstMetric(f.d, prometheus.CounterValue, float64(v), labels...)
}

func (e emitter) gauge(f *family, v float64, labels ...string) {
	e <- prometheus.MustNewConstMetric(f.d, prometheus.GaugeValue, v, labels...)
}

func (e emitter) summary(f *family, s *summary, now int64, labels ...string) {
	count, sum, qs := s.snapshot(now)
	e <- prometheus.MustNewConstSummary(f.d, count, sum, qs, labels...)
}

func (c collector) Collect(ch chan<- prometheus.Metric) {
	e := emitter(ch)
	s := c.s
	now := s.clock.Load()
	// The zero series of every labelled family, as the real broker registers them at start.
	for _, f := range families {
		if f.bare == nil {
			continue
		}
		switch f.kind {
		case kCounter:
			ch <- prometheus.MustNewConstMetric(f.bare, prometheus.CounterValue, 0)
		case kGauge:
			ch <- prometheus.MustNewConstMetric(f.bare, prometheus.GaugeValue, 0)
		case kSummary:
			ch <- prometheus.MustNewConstSummary(f.bare, 0, 0, zeroQuantiles())
		}
	}

	c.collectRecovery(e)
	m := &s.metrics
	for r := range nRPCs {
		for res, result := range [2]string{"ok", "error"} {
			if n := m.rpcs[r][res].Load(); n > 0 {
				e.counter(mRPCs, n, rpcLabels[r][0], rpcLabels[r][1], result)
			}
		}
	}
	m.mu.Lock()
	for k, n := range m.redirects {
		e.counter(mRedirects, n, k[0], k[1])
	}
	m.mu.Unlock()
	e.counter(mHeartbeats, m.heartbeats.Load())
	e.counter(mNotifier, m.notifier.Load())
	e.gauge(mLeader, s.leaderState())
	e.gauge(mImbalance, math.Float64frombits(m.imbalance.Load()))
	e.counter(mMoveFails, 0)
	var noCycles summary
	e.summary(mCycle, &noCycles, now)

	c.s.collectAuthz(ch)

	topics := s.topicList()
	e.gauge(mTopicsOwned, float64(len(topics)))
	for _, t := range topics {
		c.collectTopic(e, t, now)
	}
}

func (c collector) collectRecovery(e emitter) {
	byAction := map[string]int{store.RecoverySkipped: 0, store.RecoveryTruncated: 0, store.RecoveryMoved: 0,
		store.RecoveryMissing: 0, store.RecoveryAdopted: 0}
	var lost int64
	for _, r := range c.s.recovery {
		byAction[r.Action]++
		if r.Action != store.RecoveryAdopted {
			lost += max(r.Records, 0) // -1: a count recovery could not tell
		}
	}
	for action, n := range byAction {
		e.gauge(mRecovery, float64(n), action)
	}
	e.gauge(mRecoveryLost, float64(lost))
}

func (c collector) collectTopic(e emitter, t *topic, now int64) {
	tc := &t.counters
	e.counter(mMsgsIn, tc.msgsIn.Load(), t.name)
	e.counter(mBytesIn, tc.bytesIn.Load(), t.name)
	if t.reliable {
		e.counter(mWALAppends, tc.msgsIn.Load(), t.name)
		e.counter(mWALAppendBytes, tc.bytesIn.Load(), t.name)
		c.collectStorage(e, t, now)
	}
	e.summary(mMsgSize, &tc.size, now, t.name)
	e.summary(mSendLatency, &tc.latency, now, t.name)
	for code := range tc.sends {
		n := tc.sends[code].Load()
		if n == 0 {
			continue
		}
		result := "ok"
		if codes.Code(code) != codes.OK {
			result = "error"
		}
		e.counter(mSends, n, t.name, result, codes.Code(code).String())
	}
	for i, policy := range validationLabels {
		if n := tc.validations[i].Load(); n > 0 {
			e.counter(mValidations, n, t.name, policy)
		}
	}
	for i, reason := range reasonLabels {
		if n := tc.invalid[i].Load(); n > 0 {
			e.counter(mValidFails, n, t.name, reason)
		}
	}

	t.mu.RLock()
	producers := len(t.producers)
	subs := make([]*subscription, 0, len(t.subs))
	for _, sub := range t.subs {
		subs = append(subs, sub)
	}
	t.mu.RUnlock()
	e.gauge(mProducers, float64(producers), t.name)
	e.gauge(mSubs, float64(len(subs)), t.name)
	consumers := 0
	var next uint64
	if t.reliable {
		next = t.log.NextOffset()
	}
	for _, sub := range subs {
		active := sub.activeCount()
		consumers += active
		var lag uint64
		if sub.d != nil {
			lag = next - min(sub.d.floor.Load(), next)
			pending, blocked := sub.d.held()
			e.gauge(mPending, float64(pending), t.name, sub.name)
			e.gauge(mBlocked, float64(blocked), t.name, sub.name)
		} else {
			for _, cs := range *sub.snap.Load() {
				cs.mu.Lock()
				lag += uint64(len(cs.queue))
				cs.mu.Unlock()
			}
		}
		sc := &sub.counters
		e.gauge(mSubConsumers, float64(active), t.name, sub.name)
		e.gauge(mLag, float64(lag), t.name, sub.name)
		e.counter(mMsgsOut, sc.msgsOut.Load(), t.name, sub.name)
		e.counter(mBytesOut, sc.bytesOut.Load(), t.name, sub.name)
		e.counter(mNacks, sc.nacks.Load(), t.name, sub.name)
		e.counter(mRedelivered, sc.redeliveries.Load(), t.name, sub.name)
		e.counter(mAckTimeouts, sc.ackTimeouts.Load(), t.name, sub.name)
		for p, label := range poisonLabels {
			if n := sc.exhausted[p].Load(); n > 0 {
				e.counter(mExhausted, n, t.name, sub.name, label)
			}
		}
		e.counter(mDLQ, sc.dl.Load(), t.name, sub.name, poisonLabels[PoisonDeadLetter])
		e.counter(mDropped, sub.dropped.Load(), t.name, sub.name)
	}
	e.gauge(mConsumers, float64(consumers), t.name)
}

// collectStorage sends a reliable topic's log series. As in the real broker, whose storage series are not
// registered at start, each appears once it has counted something.
func (c collector) collectStorage(e emitter, t *topic, now int64) {
	sc := &t.counters.storage
	if n := sc.flushes.Load(); n > 0 {
		e.counter(mWALFlushes, n, t.name)
		e.summary(mWALFlushTime, &sc.flushTime, now, t.name)
	}
	if n := sc.rotations.Load(); n > 0 {
		e.counter(mWALRotations, n, t.name, store.RotateSize)
	}
	if n := sc.readers.Load(); n > 0 {
		e.counter(mWALReaders, n, t.name, "wal_only") // there is no cold tier to read from first
	}
	if n := sc.deleted.Load(); n > 0 {
		e.counter(mWALDeletes, n, strings.TrimPrefix(t.name, "/"), "retention") // ns/t, as the real deleter labels it
	}
}

// held counts the window's messages waiting for a redelivery and those held by the Block poison policy.
func (d *dispatcher) held() (pending, blocked int) {
	d.s.mu.Lock()
	defer d.s.mu.Unlock()
	for _, p := range d.win {
		switch p.state {
		case stDelayed:
			pending++
		case stPoisoned:
			blocked++
		}
	}
	return pending, blocked
}

// Collector returns a Prometheus collector of the broker's metrics, every series labelled with the broker
// id, for programs that serve their own registry; Options.MetricsAddr serves it on its own.
func (s *Server) Collector() prometheus.Collector {
	return prometheus.WrapCollectorWith(prometheus.Labels{"broker": strconv.FormatUint(s.BrokerID(), 10)}, collector{s})
}

// metricsServer builds the HTTP server of Options.MetricsAddr. As the real broker's exporter does, every
// path answers the metrics text, and /health answers OK.
func (s *Server) metricsServer() *http.Server {
	reg := prometheus.NewRegistry()
	labelled := prometheus.WrapRegistererWith(prometheus.Labels{"broker": strconv.FormatUint(s.BrokerID(), 10)}, reg)
	labelled.MustRegister(collector{s}, prometheus.NewGoCollector(), prometheus.NewProcessCollector(prometheus.ProcessCollectorOpts{}))
	mux := http.NewServeMux()
	mux.HandleFunc("/health", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		_, _ = w.Write([]byte("OK"))
	})
	mux.Handle("/", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	return &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second,
		WriteTimeout: 30 * time.Second, IdleTimeout: time.Minute}
}

// Summaries. The real exporter writes its "histograms" as Prometheus summaries: the quantiles of a rolling
// 60 s window (three buckets of 20 s) and a cumulative sum and count. Each bucket is a sketch of relative
// accuracy 1% (log-spaced bins, the technique of DDSketch) with the exact minimum and maximum, which are
// the 0 and 1 quantiles.

var summaryQuantiles = [...]float64{0, 0.5, 0.9, 0.95, 0.99, 0.999, 1}

const (
	summaryAges   = 3
	summaryAge    = int64(20 * time.Second)
	sketchAlpha   = 0.01
	sketchMinimum = 1e-9 // smaller values count as zero
)

var (
	sketchGamma    = (1 + sketchAlpha) / (1 - sketchAlpha)
	sketchLogGamma = math.Log(sketchGamma)
)

func zeroQuantiles() map[float64]float64 {
	qs := make(map[float64]float64, len(summaryQuantiles))
	for _, q := range summaryQuantiles {
		qs[q] = 0
	}
	return qs
}

// summary is a rolling-window quantile summary; the zero value is ready to use.
type summary struct {
	mu    sync.Mutex
	count uint64
	sum   float64
	ages  [summaryAges]sketch
}

type sketch struct {
	epoch    int64 // which 20 s period it holds
	n, zeros uint64
	min, max float64
	bins     map[int32]uint64
}

// observe records v at time now (Server.clock).
func (s *summary) observe(v float64, now int64) {
	if math.IsNaN(v) || v < 0 {
		return
	}
	epoch := now / summaryAge
	s.mu.Lock()
	s.count++
	s.sum += v
	k := &s.ages[epoch%summaryAges]
	if k.epoch != epoch || k.n == 0 {
		k.epoch, k.n, k.zeros, k.min, k.max = epoch, 0, 0, v, v
		clear(k.bins)
	}
	k.n++
	k.min, k.max = min(k.min, v), max(k.max, v)
	if v < sketchMinimum {
		k.zeros++
	} else {
		if k.bins == nil {
			k.bins = make(map[int32]uint64)
		}
		k.bins[int32(math.Ceil(math.Log(v)/sketchLogGamma))]++
	}
	s.mu.Unlock()
}

// snapshot returns the cumulative count and sum and the quantiles of the last 60 s at time now (zeros when
// nothing was observed in that window).
func (s *summary) snapshot(now int64) (uint64, float64, map[float64]float64) {
	epoch := now / summaryAge
	s.mu.Lock()
	defer s.mu.Unlock()
	qs := zeroQuantiles()
	var n, zeros uint64
	lo, hi := math.Inf(1), math.Inf(-1)
	bins := map[int32]uint64{}
	for i := range s.ages {
		k := &s.ages[i]
		if k.n == 0 || k.epoch <= epoch-summaryAges || k.epoch > epoch {
			continue
		}
		n += k.n
		zeros += k.zeros
		lo, hi = min(lo, k.min), max(hi, k.max)
		for b, c := range k.bins {
			bins[b] += c
		}
	}
	if n == 0 {
		return s.count, s.sum, qs
	}
	keys := make([]int32, 0, len(bins))
	for b := range bins {
		keys = append(keys, b)
	}
	slices.Sort(keys)
	for _, q := range summaryQuantiles {
		switch q {
		case 0:
			qs[q] = lo
			continue
		case 1:
			qs[q] = hi
			continue
		}
		rank := uint64(q * float64(n-1))
		v := 0.0
		if rank >= zeros {
			seen := zeros
			for _, b := range keys {
				seen += bins[b]
				if seen > rank {
					v = 2 * math.Pow(sketchGamma, float64(b)) / (sketchGamma + 1)
					break
				}
			}
		}
		qs[q] = min(max(v, lo), hi)
	}
	return s.count, s.sum, qs
}
