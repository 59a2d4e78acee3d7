package broker_test

import (
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"google.golang.org/grpc/codes"

	"github.com/danube-console/danube-console/broker"
	"github.com/danube-console/danube-console/broker/store/disk"
	"github.com/danube-console/danube-console/internal/testenv"
	"github.com/danube-console/danube-console/proto/adminpb"
	"github.com/danube-console/danube-console/proto/danubepb"
)

// specFamily is one family of the real broker's exporter: its name, type and labels besides broker.
type specFamily struct {
	name   string
	typ    dto.MetricType
	labels []string
}

var (
	counter = dto.MetricType_COUNTER
	gaugeT  = dto.MetricType_GAUGE
	summ    = dto.MetricType_SUMMARY
)

// realFamilies are the broker series of the real exporter (spec §6.2, without the authz families).
var realFamilies = []specFamily{
	{"danube_topic_messages_in_total", counter, []string{"topic"}},
	{"danube_topic_bytes_in_total", counter, []string{"topic"}},
	{"danube_topic_message_size_bytes", summ, []string{"topic"}},
	{"danube_producer_send_latency_ms", summ, []string{"topic"}},
	{"danube_producer_send_total", counter, []string{"error_code", "result", "topic"}},
	{"danube_consumer_messages_out_total", counter, []string{"subscription", "topic"}},
	{"danube_consumer_bytes_out_total", counter, []string{"subscription", "topic"}},
	{"danube_topic_active_producers", gaugeT, []string{"topic"}},
	{"danube_topic_active_consumers", gaugeT, []string{"topic"}},
	{"danube_topic_active_subscriptions", gaugeT, []string{"topic"}},
	{"danube_subscription_active_consumers", gaugeT, []string{"subscription", "topic"}},
	{"danube_subscription_lag_messages", gaugeT, []string{"subscription", "topic"}},
	{"danube_subscription_nack_total", counter, []string{"subscription", "topic"}},
	{"danube_subscription_ack_timeout_total", counter, []string{"subscription", "topic"}},
	{"danube_subscription_redelivery_total", counter, []string{"subscription", "topic"}},
	{"danube_subscription_retry_exhausted_total", counter, []string{"poison_policy", "subscription", "topic"}},
	{"danube_subscription_dlq_total", counter, []string{"poison_policy", "subscription", "topic"}},
	{"danube_subscription_pending_redelivery", gaugeT, []string{"subscription", "topic"}},
	{"danube_subscription_terminal_blocked", gaugeT, []string{"subscription", "topic"}},
	{"danube_dispatcher_heartbeat_polls_total", counter, nil},
	{"danube_dispatcher_notifier_polls_total", counter, nil},
	{"danube_broker_topics_owned", gaugeT, nil},
	{"danube_broker_rpc_total", counter, []string{"method", "result", "service"}},
	{"danube_client_redirects_total", counter, []string{"reason", "topic_ns"}},
	{"danube_broker_assignments_total", counter, []string{"action", "broker_id"}},
	{"danube_leader_election_state", gaugeT, nil},
	{"danube_cluster_imbalance_cv", gaugeT, nil},
	{"danube_rebalancing_moves_total", counter, []string{"reason"}},
	{"danube_rebalancing_failures_total", counter, nil},
	{"danube_rebalancing_cycle_duration_seconds", summ, nil},
	{"danube_schema_validation_total", counter, []string{"policy", "topic"}},
	{"danube_schema_validation_failures_total", counter, []string{"reason", "topic"}},
}

// storageFamilies are the persistent-storage series the real broker emits for reliable topics (spec §6.2):
// not registered at start, so they have no zero series, and each appears once it has counted something.
var storageFamilies = []specFamily{
	{"danube_wal_append_total", counter, []string{"topic"}},
	{"danube_wal_append_bytes_total", counter, []string{"topic"}},
	{"danube_wal_flush_total", counter, []string{"topic"}},
	{"danube_wal_flush_latency_ms", summ, []string{"topic"}},
	{"danube_wal_file_rotate_total", counter, []string{"reason", "topic"}},
	{"danube_wal_reader_create_total", counter, []string{"mode", "topic"}},
	{"danube_wal_delete_total", counter, []string{"reason", "topic"}},
}

// absentStorageFamilies are the real broker's storage series of tiered storage (a cold tier in object
// storage), which this broker does not have: a real broker without one never emits them either.
var absentStorageFamilies = []string{
	"danube_handoff_durable_history_to_hot_total",
	"danube_durable_history_segments_read_total",
	"danube_durable_history_read_bytes_total",
	"danube_durable_history_reader_errors_total",
	"danube_cloud_upload_objects_total",
	"danube_cloud_upload_bytes_total",
	"danube_cloud_upload_latency_ms",
	"danube_cloud_list_total",
	"danube_cloud_list_latency_ms",
}

// checkStorageFamilies reports how the storage families in fams differ from the real broker's: each present
// with its type and labels and without a zero series, and the tiered-storage ones absent.
func checkStorageFamilies(fams map[string]*dto.MetricFamily) []string {
	var out []string
	for _, sf := range storageFamilies {
		f := fams[sf.name]
		if f == nil {
			out = append(out, sf.name+" missing")
			continue
		}
		if f.GetType() != sf.typ {
			out = append(out, sf.name+" has type "+f.GetType().String()+", want "+sf.typ.String())
		}
		for _, m := range f.GetMetric() {
			if got := labelNames(m); !slices.Equal(got, sf.labels) {
				out = append(out, sf.name+" has labels "+strings.Join(got, ",")+", want "+strings.Join(sf.labels, ","))
			}
		}
	}
	for _, name := range absentStorageFamilies {
		if fams[name] != nil {
			out = append(out, name+" is exported; it needs a tiered storage this broker does not have")
		}
	}
	return out
}

// labelNames returns the sorted label names of m.
func labelNames(m *dto.Metric) []string {
	var out []string
	for _, lp := range m.GetLabel() {
		out = append(out, lp.GetName())
	}
	sort.Strings(out)
	return out
}

// checkFamilies reports how fams (broker label removed) differs from the real exporter's families: each one
// present with its type and HELP, every sample with exactly the family's labels, and the zero series with no
// label that the real broker registers at start.
func checkFamilies(fams map[string]*dto.MetricFamily) []string {
	var out []string
	for _, sf := range realFamilies {
		f := fams[sf.name]
		if f == nil {
			out = append(out, sf.name+" missing")
			continue
		}
		if f.GetType() != sf.typ {
			out = append(out, sf.name+" has type "+f.GetType().String()+", want "+sf.typ.String())
		}
		if f.GetHelp() == "" {
			out = append(out, sf.name+" has no HELP")
		}
		bare := 0
		for _, m := range f.GetMetric() {
			got := labelNames(m)
			switch {
			case len(got) == 0:
				bare++
			case !slices.Equal(got, sf.labels):
				out = append(out, sf.name+" has labels "+strings.Join(got, ",")+", want "+strings.Join(sf.labels, ","))
			}
		}
		if bare != 1 {
			out = append(out, sf.name+": want one series with only the broker label")
		}
	}
	for name, f := range fams {
		if strings.HasSuffix(name, "_bucket") || f.GetType() == dto.MetricType_HISTOGRAM {
			out = append(out, name+" is a histogram; the real exporter writes summaries")
		}
	}
	return out
}

// sample finds the sample of family name with exactly the labels kv (name, value, name, value...).
func sample(fams map[string]*dto.MetricFamily, name string, kv ...string) *dto.Metric {
	want := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		want[kv[i]] = kv[i+1]
	}
	for _, m := range fams[name].GetMetric() {
		if len(m.GetLabel()) != len(want) {
			continue
		}
		ok := true
		for _, lp := range m.GetLabel() {
			if want[lp.GetName()] != lp.GetValue() {
				ok = false
			}
		}
		if ok {
			return m
		}
	}
	return nil
}

// value is a sample's counter or gauge value, -1 when absent.
func value(fams map[string]*dto.MetricFamily, name string, kv ...string) float64 {
	m := sample(fams, name, kv...)
	switch {
	case m == nil:
		return -1
	case m.Counter != nil:
		return m.GetCounter().GetValue()
	default:
		return m.GetGauge().GetValue()
	}
}

// quantiles returns a summary sample's quantiles by quantile.
func quantiles(m *dto.Metric) map[float64]float64 {
	out := map[float64]float64{}
	for _, q := range m.GetSummary().GetQuantile() {
		out[q.GetQuantile()] = q.GetValue()
	}
	return out
}

// TestMetricsEverySeries runs a scripted workload (producers, consumers, acks, nacks, an ack timeout, a
// pending redelivery, a blocked message, a dead letter, schema rejections, refused sends, a reliable topic
// whose log rotates and is trimmed) on a broker with an on-disk store and checks every family, label and
// value the real broker's exporter would show for it.
func TestMetricsEverySeries(t *testing.T) {
	// Every append fsyncs, and every record gets a segment file of its own: the storage counts are exact.
	ds, err := disk.Open(t.TempDir(), disk.Options{Fsync: disk.FsyncAlways, SegmentBytes: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ds.Close() }) // after the broker's shutdown
	w, a := newAdminWire(t, broker.Options{MetricsAddr: "127.0.0.1:0", FailurePolicy: fastPolicy(),
		Policies: broker.Policies{MaxMessageSize: 100}, Store: ds})
	// The exporter is found where ListBrokers says, host:port without a scheme, as the real broker gives it.
	brokers, err := a.Broker.ListBrokers(ctx(t), &adminpb.Empty{})
	if err != nil || len(brokers.Brokers) != 1 {
		t.Fatalf("ListBrokers: %v %v", brokers, err)
	}
	addr := brokers.Brokers[0].MetricsAddr
	if addr != w.srv.MetricsAddr() || strings.Contains(addr, "://") {
		t.Fatalf("ListBrokers metrics_addr %q, want %q", addr, w.srv.MetricsAddr())
	}
	if _, id := scrapeRaw(t, addr); id != brokerIDString(w.srv) {
		t.Fatalf("broker label %q, want the broker id %s", id, brokerIDString(w.srv))
	}
	policy := func(max uint32, ackMs uint64, maxDelayMs uint64, poison adminpb.SubscriptionPoisonPolicy) *adminpb.SubscriptionFailurePolicy {
		return &adminpb.SubscriptionFailurePolicy{MaxRedeliveryCount: max, AckTimeoutMs: ackMs,
			BaseRedeliveryDelayMs: 10, MaxRedeliveryDelayMs: maxDelayMs, PoisonPolicy: poison}
	}

	// Reliable Exclusive: three messages; one acked, one nacked then acked, one nacked for an hour (pending
	// redelivery). The same producer name twice is one producer, and its second CreateProducer is not counted.
	const orders = "/default/orders"
	p := w.mustProducer(orders, "p", true)
	w.mustProducer(orders, "p", true)
	s := w.receive(w.mustSubscribe(orders, "s", "c", exclusive))
	a.setPolicy(t, orders, "s", policy(5, 5000, 3_600_000, adminpb.SubscriptionPoisonPolicy_Block))
	p.mustSend("a", "bb", "cccc")
	m0, m1, m2 := s.next(t), s.next(t), s.next(t)
	w.ack("s", m0)
	w.nack("s", m1, 0, "again")
	if again := s.next(t); again.MsgId.TopicOffset != m1.MsgId.TopicOffset {
		t.Fatalf("redelivered offset %d, want %d", again.MsgId.TopicOffset, m1.MsgId.TopicOffset)
	} else {
		w.ack("s", again)
	}
	w.nack("s", m2, time.Hour, "later")
	wantStatus(t, p.send(strings.Repeat("x", 101)), codes.InvalidArgument,
		"Message size 101 exceeds maximum allowed 100 for topic "+orders)

	// Ack timeout under Drop.
	const timeout = "/default/timeout"
	pt := w.mustProducer(timeout, "p", true)
	st := w.receive(w.mustSubscribe(timeout, "t", "c", exclusive))
	a.setPolicy(t, timeout, "t", policy(0, 50, 100, adminpb.SubscriptionPoisonPolicy_Drop))
	pt.mustSend("late")
	st.next(t) // never acked

	// A nacked message held under Block.
	const poison = "/default/poison"
	pp := w.mustProducer(poison, "p", true)
	sp := w.receive(w.mustSubscribe(poison, "b", "c", shared))
	a.setPolicy(t, poison, "b", policy(0, 5000, 100, adminpb.SubscriptionPoisonPolicy_Block))
	pp.mustSend("bad")
	w.nack("b", sp.next(t), 0, "bad")

	// A dead letter.
	const dl, dlq = "/default/dl", "/default/dl-dlq"
	pd := w.mustProducer(dl, "p", true)
	sd := w.receive(w.mustSubscribe(dl, "d", "c", failover))
	pol := policy(0, 5000, 100, adminpb.SubscriptionPoisonPolicy_DeadLetter)
	pol.DeadLetterTopic = strp(dlq)
	a.setPolicy(t, dl, "d", pol)
	pd.mustSend("poison")
	w.nack("d", sd.next(t), 0, "bad")

	// A reliable topic's log: five appends, each fsynced once; each record after the first starts a new
	// segment file; once all five are acknowledged, the four sealed files are deleted. Its subscription's
	// dispatcher opened one reader.
	const stored = "/default/stored"
	ps := w.mustProducer(stored, "p", true)
	ss := w.receive(w.mustSubscribe(stored, "w", "c", exclusive))
	ps.mustSend("1", "22", "333", "4444", "55555")
	for range 5 {
		w.ack("w", ss.next(t))
	}

	// KeyShared counts with its labels (the real broker's KeyShared counters have none: a defect not copied).
	const keyed = "/default/keyed"
	pk := w.mustProducer(keyed, "p", true)
	sk := w.receive(w.mustSubscribe(keyed, "k", "c", keyShared))
	pk.mustSendKey("k1", "key")
	mk := sk.next(t)
	w.nack("k", mk, 0, "again")
	w.ack("k", sk.next(t))

	// Schema checks: Enforce refuses a message without a schema id, one with another subject's id and one
	// whose payload does not match; Warn lets a message without a schema id through.
	const typed = "/default/typed"
	ordersSchema := register(t, w, "orders", "json_schema", orderV1)
	other := register(t, w, "other", "json_schema", customerV1)
	py := w.mustProducer(typed, "p", false)
	configure(t, w, typed, "orders", "enforce", true)
	const refused = "Unable to publish the message:"
	wantStatusPrefix(t, py.sendSchema(orderPayload, nil, nil), codes.PermissionDenied, refused)
	wantStatusPrefix(t, py.sendSchema(orderPayload, u64p(other.SchemaId), nil), codes.PermissionDenied, refused)
	wantStatusPrefix(t, py.sendSchema(`{"id":"seven"}`, u64p(ordersSchema.SchemaId), nil), codes.PermissionDenied, refused)
	if err := py.sendSchema(orderPayload, u64p(ordersSchema.SchemaId), nil); err != nil {
		t.Fatal(err)
	}
	configure(t, w, typed, "orders", "warn", false)
	if err := py.sendSchema("anything", nil, nil); err != nil {
		t.Fatal(err)
	}

	// Calls that fail: a Subscribe to a topic nobody created, a send by an unknown producer; a consumer that
	// subscribes again under its name is not counted.
	_, err = w.subscribe("/default/absent", "s", "c", shared)
	wantStatus(t, err, codes.NotFound, "")
	_, err = w.Producer.SendMessage(ctx(t), &danubepb.StreamMessage{MsgId: &danubepb.MsgID{ProducerId: 1 << 40, TopicName: orders}})
	wantStatus(t, err, codes.NotFound, "")
	w.mustSubscribe(orders, "s", "c", exclusive)

	rpc := func(method, service, result string) []string {
		return []string{"danube_broker_rpc_total", "method", method, "result", result, "service", service}
	}
	want := map[string][]any{ // description: {value, family, labels...}
		"orders in":        {3.0, "danube_topic_messages_in_total", "topic", orders},
		"orders bytes":     {7.0, "danube_topic_bytes_in_total", "topic", orders},
		"orders wal":       {3.0, "danube_wal_append_total", "topic", orders},
		"orders wal bytes": {7.0, "danube_wal_append_bytes_total", "topic", orders},
		"orders ok":        {3.0, "danube_producer_send_total", "topic", orders, "result", "ok", "error_code", "OK"},
		"orders too big":   {1.0, "danube_producer_send_total", "topic", orders, "result", "error", "error_code", "InvalidArgument"},
		"orders producers": {1.0, "danube_topic_active_producers", "topic", orders},
		"orders consumers": {1.0, "danube_topic_active_consumers", "topic", orders},
		"orders subs":      {1.0, "danube_topic_active_subscriptions", "topic", orders},
		"s consumers":      {1.0, "danube_subscription_active_consumers", "topic", orders, "subscription", "s"},
		"s out":            {4.0, "danube_consumer_messages_out_total", "topic", orders, "subscription", "s"},
		"s bytes out":      {9.0, "danube_consumer_bytes_out_total", "topic", orders, "subscription", "s"},
		"s nacks":          {2.0, "danube_subscription_nack_total", "topic", orders, "subscription", "s"},
		"s redelivered":    {1.0, "danube_subscription_redelivery_total", "topic", orders, "subscription", "s"},
		"s pending":        {1.0, "danube_subscription_pending_redelivery", "topic", orders, "subscription", "s"},
		"s blocked":        {0.0, "danube_subscription_terminal_blocked", "topic", orders, "subscription", "s"},
		"s lag":            {1.0, "danube_subscription_lag_messages", "topic", orders, "subscription", "s"},
		"s timeouts":       {0.0, "danube_subscription_ack_timeout_total", "topic", orders, "subscription", "s"},
		"s dlq":            {0.0, "danube_subscription_dlq_total", "topic", orders, "subscription", "s", "poison_policy", "dead_letter"},

		"t timeouts":  {1.0, "danube_subscription_ack_timeout_total", "topic", timeout, "subscription", "t"},
		"t exhausted": {1.0, "danube_subscription_retry_exhausted_total", "topic", timeout, "subscription", "t", "poison_policy", "drop"},
		"t lag":       {0.0, "danube_subscription_lag_messages", "topic", timeout, "subscription", "t"},

		"b blocked":   {1.0, "danube_subscription_terminal_blocked", "topic", poison, "subscription", "b"},
		"b exhausted": {1.0, "danube_subscription_retry_exhausted_total", "topic", poison, "subscription", "b", "poison_policy", "block"},
		"b pending":   {0.0, "danube_subscription_pending_redelivery", "topic", poison, "subscription", "b"},

		"d exhausted": {1.0, "danube_subscription_retry_exhausted_total", "topic", dl, "subscription", "d", "poison_policy", "dead_letter"},
		"d dlq":       {1.0, "danube_subscription_dlq_total", "topic", dl, "subscription", "d", "poison_policy", "dead_letter"},
		"dlq in":      {1.0, "danube_topic_messages_in_total", "topic", dlq},
		"dlq wal":     {1.0, "danube_wal_append_total", "topic", dlq},

		"stored wal":       {5.0, "danube_wal_append_total", "topic", stored},
		"stored wal bytes": {15.0, "danube_wal_append_bytes_total", "topic", stored},
		"stored flushes":   {5.0, "danube_wal_flush_total", "topic", stored},
		"stored rotations": {4.0, "danube_wal_file_rotate_total", "topic", stored, "reason", "size"},
		"stored readers":   {1.0, "danube_wal_reader_create_total", "topic", stored, "mode", "wal_only"},
		"stored deleted":   {4.0, "danube_wal_delete_total", "topic", "default/stored", "reason", "retention"},
		"orders flushes":   {3.0, "danube_wal_flush_total", "topic", orders},
		"orders rotations": {2.0, "danube_wal_file_rotate_total", "topic", orders, "reason", "size"},
		"orders readers":   {1.0, "danube_wal_reader_create_total", "topic", orders, "mode", "wal_only"},
		"orders deleted":   {2.0, "danube_wal_delete_total", "topic", "default/orders", "reason", "retention"},
		// The dead-letter topic has no subscription, hence no reader; its one file is the active one.
		"dlq flushes":  {1.0, "danube_wal_flush_total", "topic", dlq},
		"dlq rotation": {-1.0, "danube_wal_file_rotate_total", "topic", dlq, "reason", "size"},
		"dlq readers":  {-1.0, "danube_wal_reader_create_total", "topic", dlq, "mode", "wal_only"},
		// A non-reliable topic has no log.
		"typed wal":     {-1.0, "danube_wal_append_total", "topic", typed},
		"typed flushes": {-1.0, "danube_wal_flush_total", "topic", typed},

		"k nacks":       {1.0, "danube_subscription_nack_total", "topic", keyed, "subscription", "k"},
		"k redelivered": {1.0, "danube_subscription_redelivery_total", "topic", keyed, "subscription", "k"},

		"enforce":          {4.0, "danube_schema_validation_total", "topic", typed, "policy", "Enforce"},
		"warn":             {1.0, "danube_schema_validation_total", "topic", typed, "policy", "Warn"},
		"missing id":       {2.0, "danube_schema_validation_failures_total", "topic", typed, "reason", "missing_schema_id"},
		"subject mismatch": {1.0, "danube_schema_validation_failures_total", "topic", typed, "reason", "subject_mismatch"},
		"payload invalid":  {1.0, "danube_schema_validation_failures_total", "topic", typed, "reason", "payload_invalid"},
		"typed refused":    {3.0, "danube_producer_send_total", "topic", typed, "result", "error", "error_code", "PermissionDenied"},
		"typed ok":         {2.0, "danube_producer_send_total", "topic", typed, "result", "ok", "error_code", "OK"},

		// 7 producers (8 CreateProducer, one a reconnect); 7 Subscribe (one more is a takeover) and one refused.
		"create_producer ok":  row(7.0, rpc("create_producer", "producer", "ok")...),
		"send_message ok":     row(14.0, rpc("send_message", "producer", "ok")...),
		"send_message error":  row(5.0, rpc("send_message", "producer", "error")...),
		"subscribe ok":        row(6.0, rpc("subscribe", "consumer", "ok")...),
		"subscribe error":     row(1.0, rpc("subscribe", "consumer", "error")...),
		"receive_messages ok": row(6.0, rpc("receive_messages", "consumer", "ok")...),
		"ack ok":              row(8.0, rpc("ack", "consumer", "ok")...),
		"nack ok":             row(5.0, rpc("nack", "consumer", "ok")...),

		"topics owned": {9.0, "danube_broker_topics_owned"},
		"leader":       {1.0, "danube_leader_election_state"},
		"cv":           {0.0, "danube_cluster_imbalance_cv"},
	}
	var last []string
	testenv.Eventually(t, 10*time.Second, func() bool {
		fams := scrape(t, addr)
		last = append(checkFamilies(fams), checkStorageFamilies(fams)...)
		for what, v := range want {
			labels := make([]string, 0, len(v)-2)
			for _, l := range v[2:] {
				labels = append(labels, l.(string))
			}
			if got := value(fams, v[1].(string), labels...); got != v[0].(float64) {
				last = append(last, what+": "+v[1].(string)+" = "+ftoa(got)+", want "+ftoa(v[0].(float64)))
			}
		}
		for _, name := range []string{"danube_dispatcher_heartbeat_polls_total", "danube_dispatcher_notifier_polls_total"} {
			if value(fams, name) < 1 {
				last = append(last, name+" did not count")
			}
		}
		sort.Strings(last)
		return len(last) == 0
	}, "metrics differ:\n%v", lazy(func() string { return strings.Join(last, "\n") }))

	// The summaries: the sizes of the three accepted messages (1, 2 and 4 bytes; the refused one is not
	// recorded) and the latency of every successful send.
	fams := scrape(t, addr)
	size := sample(fams, "danube_topic_message_size_bytes", "topic", orders)
	if size == nil || size.GetSummary().GetSampleCount() != 3 || size.GetSummary().GetSampleSum() != 7 {
		t.Fatalf("message size summary: %v", size)
	}
	qs := quantiles(size)
	if len(qs) != 7 || qs[0] != 1 || qs[1] != 4 || math.Abs(qs[0.5]-2) > 0.02*2 {
		t.Fatalf("message size quantiles %v, want 0:1 0.5:2 1:4 and 0.9 0.95 0.99 0.999", qs)
	}
	// A dead-lettered message reaches its topic like any other: its size is recorded there.
	if dsize := sample(fams, "danube_topic_message_size_bytes", "topic", dlq); dsize == nil ||
		dsize.GetSummary().GetSampleCount() != 1 || dsize.GetSummary().GetSampleSum() != float64(len("poison")) {
		t.Fatalf("dead-letter topic message size summary: %v", dsize)
	}
	// One fsync per append of the stored topic, each with a duration; the quantiles of the last minute.
	flush := sample(fams, "danube_wal_flush_latency_ms", "topic", stored)
	if flush == nil || flush.GetSummary().GetSampleCount() != 5 || flush.GetSummary().GetSampleSum() <= 0 {
		t.Fatalf("flush latency summary: %v", flush)
	}
	if fq := quantiles(flush); len(fq) != 7 || fq[1] <= 0 || fq[0] > fq[0.5] || fq[0.5] > fq[1] {
		t.Fatalf("flush latency quantiles %v", fq)
	}
	lat := sample(fams, "danube_producer_send_latency_ms", "topic", orders)
	if lat == nil || lat.GetSummary().GetSampleCount() != 3 || lat.GetSummary().GetSampleSum() <= 0 {
		t.Fatalf("send latency summary: %v", lat)
	}
	lq := quantiles(lat)
	for _, q := range []float64{0, 0.5, 0.9, 0.95, 0.99, 0.999, 1} {
		if v, ok := lq[q]; !ok || v <= 0 || v > lq[1] {
			t.Fatalf("send latency quantiles %v", lq)
		}
	}
}

// TestMetricsRedirects checks danube_client_redirects_total on a broker with a peer serving the topic.
func TestMetricsRedirects(t *testing.T) {
	b := newWire(t, broker.Options{})
	a := newWire(t, broker.Options{MetricsAddr: "127.0.0.1:0", Peers: []string{b.srv.URL()}})
	b.mustProducer("/default/on-b", "p", false)
	_, err := a.createProducer("/default/on-b", "q", false)
	wantStatus(t, err, codes.Unavailable, "The topic exists but is served by another broker, redo the Lookup request")
	_, err = a.subscribe("/default/on-b", "s", "c", shared)
	wantStatus(t, err, codes.Unavailable, "The topic exists but is served by another broker, redo the Lookup request")
	// TopicLookup is not counted.
	if _, err := a.Discovery.TopicLookup(ctx(t), &danubepb.TopicLookupRequest{Topic: "/default/on-b"}); err != nil {
		t.Fatal(err)
	}
	fams := scrape(t, a.srv.MetricsAddr())
	if got := value(fams, "danube_client_redirects_total", "reason", "not_local", "topic_ns", "default"); got != 2 {
		t.Fatalf("redirects = %v, want 2", got)
	}
}

func ftoa(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

// row is an expected value followed by a family name and its labels.
func row(v float64, nameAndLabels ...string) []any {
	out := []any{v}
	for _, s := range nameAndLabels {
		out = append(out, s)
	}
	return out
}

// TestMetricsPeerGroup scrapes every broker of a group where ListBrokers says its metrics are: each labels
// its series with its own id, exactly the leader GetLeaderBroker names reports danube_leader_election_state
// 1, and GetClusterBalance sets danube_cluster_imbalance_cv on the broker that computed it.
func TestMetricsPeerGroup(t *testing.T) {
	g := startGroup(t, 3)
	g[0].wire.mustProducer("/default/a1", "p", false)
	g[0].wire.mustProducer("/default/a2", "p", false)
	leader, err := g[1].admin.Broker.GetLeaderBroker(ctx(t), &adminpb.Empty{})
	if err != nil {
		t.Fatal(err)
	}
	list, err := g[2].admin.Broker.ListBrokers(ctx(t), &adminpb.Empty{})
	if err != nil || len(list.Brokers) != 3 {
		t.Fatalf("ListBrokers: %v %v", list, err)
	}
	for _, b := range list.Brokers {
		fams, id := scrapeRaw(t, b.MetricsAddr)
		if id != b.BrokerId {
			t.Fatalf("the metrics at %s are labelled broker %q, ListBrokers says %s", b.MetricsAddr, id, b.BrokerId)
		}
		want := 0.0
		if b.BrokerId == leader.Leader {
			want = 1
		}
		if got := fams["danube_leader_election_state"].GetMetric()[0].GetGauge().GetValue(); got != want {
			t.Fatalf("broker %s (leader %s): danube_leader_election_state = %v, want %v", b.BrokerId, leader.Leader, got, want)
		}
	}

	bal, err := g[0].admin.Broker.GetClusterBalance(ctx(t), &adminpb.ClusterBalanceRequest{})
	if err != nil || bal.CoefficientOfVariation <= 0 {
		t.Fatalf("GetClusterBalance: %v %v", bal, err)
	}
	if got := value(scrape(t, g[0].srv.MetricsAddr()), "danube_cluster_imbalance_cv"); got != bal.CoefficientOfVariation {
		t.Fatalf("danube_cluster_imbalance_cv = %v, want %v", got, bal.CoefficientOfVariation)
	}
}
