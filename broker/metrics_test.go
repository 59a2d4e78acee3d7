package broker_test

import (
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"google.golang.org/grpc/codes"

	"github.com/danube-console/danube-console/broker"
	"github.com/danube-console/danube-console/broker/brokertest"
	"github.com/danube-console/danube-console/internal/testenv"
	"github.com/danube-console/danube-console/proto/adminpb"
	"github.com/danube-console/danube-console/proto/danubepb"
)

// Tests of the Prometheus endpoint (Options.MetricsAddr): the real broker's series names, labels, types and
// exact values after known traffic.

// scrape fetches and parses http://addr/metrics, checks that every sample carries the same non-empty broker
// label, and removes it, so that the tests can compare the other labels.
func scrape(t *testing.T, addr string) map[string]*dto.MetricFamily {
	t.Helper()
	fams, id := scrapeRaw(t, addr)
	for name, f := range fams {
		for _, m := range f.GetMetric() {
			var rest []*dto.LabelPair
			got := ""
			for _, lp := range m.GetLabel() {
				if lp.GetName() == "broker" {
					got = lp.GetValue()
				} else {
					rest = append(rest, lp)
				}
			}
			if got == "" || got != id {
				t.Fatalf("%s%v: broker label %q, want %q", name, m.GetLabel(), got, id)
			}
			m.Label = rest
		}
	}
	return fams
}

// scrapeRaw fetches and parses http://addr/metrics and returns the broker label of its first sample.
func scrapeRaw(t *testing.T, addr string) (map[string]*dto.MetricFamily, string) {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatalf("GET /metrics: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("GET /metrics: %s %s", resp.Status, b)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parsing /metrics: %v", err)
	}
	for _, f := range fams {
		for _, lp := range f.GetMetric()[0].GetLabel() {
			if lp.GetName() == "broker" {
				return fams, lp.GetValue()
			}
		}
	}
	t.Fatal("/metrics has no broker label")
	return nil, ""
}

// series names one sample: a metric name and its complete label set (empty labels count as absent).
type series struct {
	name                                   string
	topic, subscription, result, errorCode string
	poison                                 string // poison_policy
}

func (s series) labels() map[string]string {
	l := map[string]string{}
	for k, v := range map[string]string{"topic": s.topic, "subscription": s.subscription, "result": s.result, "error_code": s.errorCode,
		"poison_policy": s.poison} {
		if v != "" {
			l[k] = v
		}
	}
	return l
}

func (s series) String() string {
	l := s.labels()
	keys := make([]string, 0, len(l))
	for k := range l {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s=%q", k, l[k])
	}
	return s.name + "{" + strings.Join(parts, ",") + "}"
}

func topicSeries(name, topic string) series { return series{name: name, topic: topic} }

func subSeries(name, topic, sub string) series {
	return series{name: name, topic: topic, subscription: sub}
}

func dlqSeries(topic, sub string) series {
	return series{name: "danube_subscription_dlq_total", topic: topic, subscription: sub, poison: "dead_letter"}
}

func sendSeries(topic, result, code string) series {
	return series{name: "danube_producer_send_total", topic: topic, result: result, errorCode: code}
}

// lookup returns the value of s in fams and whether it exists, checking the family's type: names ending in
// _total are counters, the others gauges.
func lookup(fams map[string]*dto.MetricFamily, s series) (float64, bool, error) {
	f := fams[s.name]
	if f == nil {
		return 0, false, nil
	}
	wantType := dto.MetricType_GAUGE
	if strings.HasSuffix(s.name, "_total") {
		wantType = dto.MetricType_COUNTER
	}
	if f.GetType() != wantType {
		return 0, false, fmt.Errorf("%s has type %v, want %v", s.name, f.GetType(), wantType)
	}
	for _, m := range f.GetMetric() {
		got := map[string]string{}
		for _, lp := range m.GetLabel() {
			if lp.GetValue() != "" {
				got[lp.GetName()] = lp.GetValue()
			}
		}
		if fmt.Sprint(got) != fmt.Sprint(s.labels()) {
			continue
		}
		if wantType == dto.MetricType_COUNTER {
			return m.GetCounter().GetValue(), true, nil
		}
		return m.GetGauge().GetValue(), true, nil
	}
	return 0, false, nil
}

// mismatches lists how fams differs from want (a negative want means "absent").
func mismatches(fams map[string]*dto.MetricFamily, want expect) []string {
	var out []string
	for s, v := range want {
		got, ok, err := lookup(fams, s)
		switch {
		case err != nil:
			out = append(out, err.Error())
		case v < 0 && ok:
			out = append(out, fmt.Sprintf("%v = %v, want absent", s, got))
		case v >= 0 && !ok:
			out = append(out, fmt.Sprintf("%v missing, want %v", s, v))
		case v >= 0 && got != v:
			out = append(out, fmt.Sprintf("%v = %v, want %v", s, got, v))
		}
	}
	sort.Strings(out)
	return out
}

// lazy formats as the result of calling it, so that a failure message can show the state at failure time.
type lazy func() string

func (l lazy) String() string { return l() }

// expect is a set of series and the values they must have (a negative value: the series must be absent).
type expect map[series]float64

// waitMetrics scrapes until every series in want has its value; the counters of a stream are updated just
// after a message is sent, so a scrape may briefly lag what the test has received.
func waitMetrics(t *testing.T, addr string, want expect) {
	t.Helper()
	var last []string
	testenv.Eventually(t, 5*time.Second, func() bool {
		last = mismatches(scrape(t, addr), want)
		return len(last) == 0
	}, "metrics differ:\n%v", lazy(func() string { return strings.Join(last, "\n") }))
}

func TestMetricsEndpoint(t *testing.T) {
	w, a := newAdminWire(t, broker.Options{MetricsAddr: "127.0.0.1:0", FailurePolicy: fastPolicy(),
		Policies: broker.Policies{MaxMessageSize: 100}})
	addr := w.srv.MetricsAddr()
	if addr == "" || strings.HasSuffix(addr, ":0") {
		t.Fatalf("MetricsAddr = %q", addr)
	}

	// Reliable topic: two messages, one acked, one nacked, redelivered and acked; an oversized message and one
	// for another topic are refused.
	const rel = "/default/m"
	p := w.mustProducer(rel, "p", true)
	s := w.receive(w.mustSubscribe(rel, "s", "c", exclusive))
	waitMetrics(t, addr, expect{
		topicSeries("danube_topic_messages_in_total", rel):      0,
		topicSeries("danube_topic_active_producers", rel):       1,
		topicSeries("danube_topic_active_consumers", rel):       1,
		topicSeries("danube_topic_active_subscriptions", rel):   1,
		subSeries("danube_subscription_lag_messages", rel, "s"): 0,
		sendSeries(rel, "ok", "OK"):                             -1,
	})
	p.mustSend("hello", "world!")
	m0, m1 := s.next(t), s.next(t)
	if string(m0.Payload) != "hello" || string(m1.Payload) != "world!" {
		t.Fatalf("got %q %q", m0.Payload, m1.Payload)
	}
	waitMetrics(t, addr, expect{
		subSeries("danube_subscription_lag_messages", rel, "s"):   2, // delivered, not acked
		subSeries("danube_consumer_messages_out_total", rel, "s"): 2,
		subSeries("danube_consumer_bytes_out_total", rel, "s"):    11,
	})
	w.ack("s", m0)
	w.nack("s", m1, 0, "again")
	if again := s.next(t); string(again.Payload) != "world!" || again.MsgId.TopicOffset != 1 {
		t.Fatalf("redelivery %q offset %d", again.Payload, again.MsgId.TopicOffset)
	} else {
		w.ack("s", again)
	}
	big := strings.Repeat("x", 101)
	wantStatus(t, p.send(big), codes.InvalidArgument, "Message size 101 exceeds maximum allowed 100 for topic "+rel)
	wrong := p.message("misdirected")
	wrong.MsgId.TopicName = "/default/elsewhere"
	_, err := w.Producer.SendMessage(ctx(t), wrong)
	wantStatusPrefix(t, err, codes.PermissionDenied, "Unable to publish the message: ")

	// Ack timeout: a subscription whose messages are dropped after one unacknowledged delivery.
	const slow = "/default/slow"
	ps := w.mustProducer(slow, "p", true)
	ss := w.receive(w.mustSubscribe(slow, "t", "c", exclusive))
	a.setPolicy(t, slow, "t", &adminpb.SubscriptionFailurePolicy{MaxRedeliveryCount: 0, AckTimeoutMs: 50,
		BaseRedeliveryDelayMs: 10, MaxRedeliveryDelayMs: 100, PoisonPolicy: adminpb.SubscriptionPoisonPolicy_Drop})
	ps.mustSend("ignored")
	ss.next(t) // never acked

	// Dead letter: a nacked message goes to the dead-letter topic.
	const dl, dlq = "/default/dl", "/default/dl-dlq"
	pd := w.mustProducer(dl, "p", true)
	sd := w.receive(w.mustSubscribe(dl, "d", "c", exclusive))
	a.setPolicy(t, dl, "d", &adminpb.SubscriptionFailurePolicy{MaxRedeliveryCount: 0, AckTimeoutMs: 5000,
		BaseRedeliveryDelayMs: 10, MaxRedeliveryDelayMs: 100, PoisonPolicy: adminpb.SubscriptionPoisonPolicy_DeadLetter,
		DeadLetterTopic: strp(dlq)})
	pd.mustSend("poison")
	w.nack("d", sd.next(t), 0, "bad")

	// Non-reliable topic: one consumer with a stream, one subscribed but not reading (its messages wait).
	const nr = "/default/nr"
	pn := w.mustProducer(nr, "p", false)
	sn := w.receive(w.mustSubscribe(nr, "live", "c", shared))
	w.mustSubscribe(nr, "idle", "c", shared)
	pn.mustSend("a", "bb", "ccc")
	for range 3 {
		sn.next(t)
	}

	waitMetrics(t, addr, expect{
		topicSeries("danube_topic_messages_in_total", rel):           2,
		topicSeries("danube_topic_bytes_in_total", rel):              11,
		topicSeries("danube_topic_active_producers", rel):            1,
		topicSeries("danube_topic_active_consumers", rel):            1,
		topicSeries("danube_topic_active_subscriptions", rel):        1,
		subSeries("danube_subscription_lag_messages", rel, "s"):      0,
		subSeries("danube_consumer_messages_out_total", rel, "s"):    3,
		subSeries("danube_consumer_bytes_out_total", rel, "s"):       17,
		subSeries("danube_subscription_nack_total", rel, "s"):        1,
		subSeries("danube_subscription_redelivery_total", rel, "s"):  1,
		subSeries("danube_subscription_ack_timeout_total", rel, "s"): 0,
		dlqSeries(rel, "s"):                          0,
		sendSeries(rel, "ok", "OK"):                  2,
		sendSeries(rel, "error", "InvalidArgument"):  1,
		sendSeries(rel, "error", "PermissionDenied"): 1,
		sendSeries(rel, "error", "NotFound"):         -1,

		topicSeries("danube_topic_messages_in_total", slow):           1,
		subSeries("danube_subscription_ack_timeout_total", slow, "t"): 1,
		subSeries("danube_subscription_redelivery_total", slow, "t"):  0,
		subSeries("danube_subscription_nack_total", slow, "t"):        0,
		subSeries("danube_subscription_lag_messages", slow, "t"):      0, // dropped after the timeout
		subSeries("danube_consumer_messages_out_total", slow, "t"):    1,
		dlqSeries(dl, "d"): 1,
		subSeries("danube_subscription_nack_total", dl, "d"):              1,
		subSeries("danube_subscription_lag_messages", dl, "d"):            0,
		topicSeries("danube_topic_messages_in_total", dlq):                1,
		topicSeries("danube_topic_bytes_in_total", dlq):                   6,
		topicSeries("danube_topic_active_producers", dlq):                 0,
		topicSeries("danube_topic_active_subscriptions", dlq):             0,
		sendSeries(dlq, "ok", "OK"):                                       -1, // republished, not sent by a producer
		topicSeries("danube_topic_messages_in_total", nr):                 3,
		topicSeries("danube_topic_bytes_in_total", nr):                    6,
		topicSeries("danube_topic_active_consumers", nr):                  2,
		topicSeries("danube_topic_active_subscriptions", nr):              2,
		subSeries("danube_consumer_messages_out_total", nr, "live"):       3,
		subSeries("danube_consumer_bytes_out_total", nr, "live"):          6,
		subSeries("danube_subscription_lag_messages", nr, "live"):         0,
		subSeries("danube_consumer_messages_out_total", nr, "idle"):       0,
		subSeries("danube_subscription_lag_messages", nr, "idle"):         3,
		sendSeries(nr, "ok", "OK"):                                        3,
		topicSeries("danube_topic_messages_in_total", broker.EventsTopic): 0,
	})

	// Gauges follow consumers leaving, and a deleted topic's series disappear.
	s.close()
	waitMetrics(t, addr, expect{
		topicSeries("danube_topic_active_consumers", rel):     0,
		topicSeries("danube_topic_active_subscriptions", rel): 1,
	})
	if _, err := a.Topic.DeleteTopic(ctx(t), &adminpb.TopicRequest{Name: slow}); err != nil {
		t.Fatal(err)
	}
	waitMetrics(t, addr, expect{
		topicSeries("danube_topic_messages_in_total", slow):           -1,
		subSeries("danube_subscription_ack_timeout_total", slow, "t"): -1,
		topicSeries("danube_topic_messages_in_total", rel):            2,
	})
}

func TestMetricsHTTP(t *testing.T) {
	srv := brokertest.Run(t, broker.Options{MetricsAddr: "127.0.0.1:0"})
	resp, err := http.Get("http://" + srv.MetricsAddr() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
		t.Fatalf("GET /metrics: %s %q", resp.Status, resp.Header.Get("Content-Type"))
	}
	id := strconv.FormatUint(srv.BrokerID(), 10)
	for _, want := range []string{
		`danube_topic_messages_in_total{broker="` + id + `",topic="/system/_events_topic"} 0`,
		`danube_topic_messages_in_total{broker="` + id + `"} 0`, // registered at start, as the real broker does
		`danube_leader_election_state{broker="` + id + `"} 1`,
	} {
		if !strings.Contains(string(body), want) {
			t.Fatalf("/metrics lacks %s:\n%s", want, body)
		}
	}
	// As with the real exporter, every path answers the metrics, and /health answers OK.
	for path, want := range map[string]string{"/": "danube_broker_topics_owned{", "/anything": "danube_broker_topics_owned{", "/health": "OK"} {
		resp, err = http.Get("http://" + srv.MetricsAddr() + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), want) ||
			!strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
			t.Fatalf("GET %s: %s %q %.200q", path, resp.Status, resp.Header.Get("Content-Type"), body)
		}
	}

	// Without MetricsAddr nothing is served.
	plain := brokertest.Run(t, broker.Options{})
	if got := plain.MetricsAddr(); got != "" {
		t.Fatalf("MetricsAddr without the option = %q", got)
	}
	// A bad address is refused by New.
	if _, err := broker.New(broker.Options{MetricsAddr: "9040"}); err == nil {
		t.Fatal("New accepted metrics address 9040")
	}
}

// TestMetricsCounterOnRestartedProducer checks that a producer created again under the same name counts on
// the same series, and that a send by an unknown producer counts on none.
func TestMetricsCounterOnRestartedProducer(t *testing.T) {
	w := newWire(t, broker.Options{MetricsAddr: "127.0.0.1:0"})
	p := w.mustProducer("/default/c", "p", false)
	p.mustSend("12345")
	// The same producer name gets the same producer; its sends count on the same topic.
	p2 := w.mustProducer("/default/c", "p", false)
	if p2.id != p.id {
		t.Fatalf("same name, new id %d != %d", p2.id, p.id)
	}
	p2.mustSend("678")
	_, err := w.Producer.SendMessage(ctx(t), &danubepb.StreamMessage{MsgId: &danubepb.MsgID{ProducerId: p.id + 1, TopicName: "/default/c"}})
	wantStatus(t, err, codes.NotFound, "The producer with id "+uitoa(p.id+1)+" does not exist")
	waitMetrics(t, w.srv.MetricsAddr(), expect{
		topicSeries("danube_topic_messages_in_total", "/default/c"): 2,
		topicSeries("danube_topic_bytes_in_total", "/default/c"):    8,
		topicSeries("danube_topic_active_producers", "/default/c"):  1,
		sendSeries("/default/c", "ok", "OK"):                        2,
		sendSeries("/default/c", "error", "NotFound"):               -1, // an unknown producer belongs to no topic
	})
}
