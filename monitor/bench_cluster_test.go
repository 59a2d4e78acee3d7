package monitor

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// Sizes of the benchmarked cluster: the 3 brokers, 2,000 topics and 10,000 subscriptions.
const (
	benchBrokers       = 3
	benchTopics        = 2000
	benchSubsPerTopic  = 5
	benchQuantileCount = 7 // the real broker's summaries: 0, 0.5, 0.9, 0.95, 0.99, 0.999, 1
)

// clusterMetricsText is one broker's metrics text, in the real broker's format (series names, labels and
// their order, HELP and TYPE lines, as a scrape of broker.Server gives them), for its share of the
// benchmarked topics (each with benchSubsPerTopic reliable subscriptions); round changes every counter and
// gauge, so that every rate moves.
func clusterMetricsText(broker, round int) string {
	var b strings.Builder
	id := fmt.Sprint(4000000000000000000 + broker)
	var topics []string
	for i := broker; i < benchTopics; i += benchBrokers {
		topics = append(topics, fmt.Sprintf("/default/topic-%04d", i))
	}
	family := func(name, typ string, per func(topic string)) {
		fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s %s\n%s{broker=%q} 0\n", name, name, name, typ, name, id)
		for _, t := range topics {
			per(t)
		}
	}
	r := float64(round)
	topicSeries := func(name, typ string, v func(i int) float64) {
		i := 0
		family(name, typ, func(t string) {
			fmt.Fprintf(&b, "%s{broker=%q,topic=%q} %v\n", name, id, t, v(i))
			i++
		})
	}
	subSeries := func(name, typ, extra string, v func(i int) float64) {
		i := 0
		family(name, typ, func(t string) {
			for s := range benchSubsPerTopic {
				fmt.Fprintf(&b, "%s{broker=%q,%ssubscription=\"sub-%d\",topic=%q} %v\n", name, id, extra, s, t, v(i))
				i++
			}
		})
	}
	summary := func(name string, scale float64) {
		quantiles := []string{"0", "0.5", "0.9", "0.95", "0.99", "0.999", "1"}
		family(name, "summary", func(t string) {
			for j, q := range quantiles[:benchQuantileCount] {
				fmt.Fprintf(&b, "%s{broker=%q,topic=%q,quantile=%q} %v\n", name, id, t, q, scale*float64(j+1))
			}
			fmt.Fprintf(&b, "%s_sum{broker=%q,topic=%q} %v\n", name, id, t, scale*100*(r+1))
			fmt.Fprintf(&b, "%s_count{broker=%q,topic=%q} %v\n", name, id, t, 100*(r+1))
		})
	}
	topicSeries("danube_topic_messages_in_total", "counter", func(i int) float64 { return 1000*r + float64(i) })
	topicSeries("danube_topic_bytes_in_total", "counter", func(i int) float64 { return 100000*r + float64(i) })
	topicSeries("danube_topic_active_producers", "gauge", func(int) float64 { return 2 })
	topicSeries("danube_topic_active_consumers", "gauge", func(int) float64 { return benchSubsPerTopic })
	topicSeries("danube_topic_active_subscriptions", "gauge", func(int) float64 { return benchSubsPerTopic })
	topicSeries("danube_wal_append_total", "counter", func(i int) float64 { return 1000*r + float64(i) })
	topicSeries("danube_wal_append_bytes_total", "counter", func(i int) float64 { return 100000*r + float64(i) })
	summary("danube_producer_send_latency_ms", 0.5)
	summary("danube_topic_message_size_bytes", 100)
	family("danube_producer_send_total", "counter", func(t string) {
		fmt.Fprintf(&b, "danube_producer_send_total{broker=%q,error_code=\"OK\",result=\"ok\",topic=%q} %v\n", id, t, 1000*r)
	})
	subSeries("danube_consumer_messages_out_total", "counter", "", func(i int) float64 { return 990*r + float64(i) })
	subSeries("danube_consumer_bytes_out_total", "counter", "", func(i int) float64 { return 99000*r + float64(i) })
	subSeries("danube_subscription_active_consumers", "gauge", "", func(int) float64 { return 1 })
	subSeries("danube_subscription_lag_messages", "gauge", "", func(i int) float64 { return float64(i%7) * r })
	subSeries("danube_subscription_pending_redelivery", "gauge", "", func(int) float64 { return 0 })
	subSeries("danube_subscription_terminal_blocked", "gauge", "", func(int) float64 { return 0 })
	subSeries("danube_subscription_nack_total", "counter", "", func(int) float64 { return r })
	subSeries("danube_subscription_ack_timeout_total", "counter", "", func(int) float64 { return 0 })
	subSeries("danube_subscription_redelivery_total", "counter", "", func(int) float64 { return r })
	subSeries("danube_subscription_dlq_total", "counter", "poison_policy=\"dead_letter\",", func(int) float64 { return 0 })
	subSeries("danube_subscription_dropped_total", "counter", "", func(int) float64 { return 0 })
	for _, bare := range []string{"danube_broker_topics_owned", "danube_leader_election_state", "danube_cluster_imbalance_cv"} {
		fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s gauge\n%s{broker=%q} %d\n", bare, bare, bare, bare, id, len(topics))
	}
	b.WriteString("# HELP danube_broker_rpc_total rpcs\n# TYPE danube_broker_rpc_total counter\n")
	for _, m := range []string{"create_producer", "send_message", "subscribe", "receive_messages", "ack", "nack"} {
		fmt.Fprintf(&b, "danube_broker_rpc_total{broker=%q,method=%q,result=\"ok\",service=\"producer\"} %v\n", id, m, 1000*r)
	}
	return b.String()
}

// BenchmarkClusterPoll measures one poll of the whole benchmarked cluster (3 brokers, 2,000 topics, 10,000
// subscriptions: about 6 MB of metrics text per broker), as the monitor does it: each endpoint fetched,
// parsed, its rates computed against its previous scrape and recorded in the charts' history; then the
// Snapshot's part, the cluster merged from the endpoints and its problems ranked. The target is under
// 50 ms of CPU per poll. "loopback": the texts come from HTTP servers on loopback, in the process (their CPU
// is counted too); "in-memory": from an http.RoundTripper that answers them from memory (the console's part
// alone).
func BenchmarkClusterPoll(b *testing.B) {
	var texts [benchBrokers][2][]byte
	for i := range benchBrokers {
		texts[i] = [2][]byte{[]byte(clusterMetricsText(i, 1)), []byte(clusterMetricsText(i, 2))}
	}
	b.Run("loopback", func(b *testing.B) { benchmarkClusterPoll(b, &texts, false) })
	b.Run("in-memory", func(b *testing.B) { benchmarkClusterPoll(b, &texts, true) })
}

// memTransport answers a GET of http://broker-N/metrics with text N of the current round.
type memTransport struct {
	texts *[benchBrokers][2][]byte
	round *atomic.Int64
}

func (t memTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	var i int
	if _, err := fmt.Sscanf(r.URL.Host, "broker-%d", &i); err != nil {
		return nil, err
	}
	return &http.Response{StatusCode: http.StatusOK, Status: "200 OK", Header: http.Header{"Content-Type": {"text/plain; version=0.0.4"}},
		Body: io.NopCloser(bytes.NewReader(t.texts[i][t.round.Load()%2])), Request: r}, nil
}

func benchmarkClusterPoll(b *testing.B, texts *[benchBrokers][2][]byte, inMemory bool) {
	var urls []string
	var round atomic.Int64
	for i := range benchBrokers {
		if inMemory {
			urls = append(urls, fmt.Sprintf("http://broker-%d", i))
			continue
		}
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/plain; version=0.0.4")
			_, _ = w.Write(texts[i][round.Load()%2])
		}))
		b.Cleanup(srv.Close)
		urls = append(urls, srv.URL)
	}
	clk := newFakeClock()
	s := newScraper(urls, false, 5*time.Second, time.Minute, clk.Now)
	b.Cleanup(s.hc.CloseIdleConnections)
	if inMemory {
		s.hc = &http.Client{Transport: memTransport{texts, &round}}
	}
	s.hist = newHistory(s.interval)
	var pr problemRanker
	poll := func() Cluster {
		clk.Advance(5 * time.Second)
		round.Add(1)
		for _, ep := range s.eps {
			s.poll(b.Context(), ep)
		}
		c, gen := s.cluster()
		c.Problems = pr.rank(&c, [2]uint64{gen, 0}, clk.Now())
		return c
	}
	poll()
	c := poll()
	if len(c.Topics) != benchTopics || len(c.Subscriptions) != benchTopics*benchSubsPerTopic || c.Topics[0].MsgsInPerSec != 200 {
		b.Fatalf("%d topics, %d subscriptions, %+v, sources %+v", len(c.Topics), len(c.Subscriptions), c.Topics[0], c.Sources)
	}
	b.SetBytes(int64(len(texts[0][0]) * benchBrokers))
	b.ReportAllocs()
	before := cpuTime(b)
	n := 0
	for b.Loop() {
		poll()
		n++
	}
	// The CPU the process used per poll, which a loaded machine does not inflate as it does the wall time of
	// ns/op.
	b.ReportMetric(float64((cpuTime(b)-before).Milliseconds())/float64(n), "cpu-ms/op")
}

// cpuTime is the CPU time (user and system) the process used so far.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkParseText measures the fast parser alone on one broker's share of the benchmarked cluster
// (about 6 MB of text), with the CPU it used per parse as BenchmarkClusterPoll reports it.
func BenchmarkParseText(b *testing.B) {
	text := []byte(clusterMetricsText(0, 1))
	at := time.Now()
	b.SetBytes(int64(len(text)))
	b.ReportAllocs()
	before := cpuTime(b)
	n := 0
	for b.Loop() {
		if _, err := parseText(text, at); err != nil {
			b.Fatal(err)
		}
		n++
	}
	b.ReportMetric(float64((cpuTime(b)-before).Microseconds())/1000/float64(n), "cpu-ms/op")
}
