package broker

import (
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"google.golang.org/grpc/codes"

	"github.com/danube-console/danube-console/broker/store"
)

// Metrics. The data path only adds to atomic counters kept on topics and subscriptions; a collector turns
// them into Prometheus series, with the real broker's names, when the metrics endpoint is scraped.

// topicCounters are a topic's message counters.
type topicCounters struct {
	msgsIn, bytesIn atomic.Uint64
	// sends counts SendMessage results by gRPC code (codes.OK is a success).
	sends [codes.Unauthenticated + 1]atomic.Uint64
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
}

var (
	descMsgsIn       = prometheus.NewDesc("danube_topic_messages_in_total", "Messages published to the topic.", []string{"topic"}, nil)
	descBytesIn      = prometheus.NewDesc("danube_topic_bytes_in_total", "Payload bytes published to the topic.", []string{"topic"}, nil)
	descProducers    = prometheus.NewDesc("danube_topic_active_producers", "Producers registered on the topic.", []string{"topic"}, nil)
	descConsumers    = prometheus.NewDesc("danube_topic_active_consumers", "Connected consumers on the topic.", []string{"topic"}, nil)
	descSubs         = prometheus.NewDesc("danube_topic_active_subscriptions", "Subscriptions of the topic.", []string{"topic"}, nil)
	descLag          = prometheus.NewDesc("danube_subscription_lag_messages", "Messages published but not yet acknowledged (reliable) or waiting for a consumer's stream (non-reliable).", []string{"topic", "subscription"}, nil)
	descMsgsOut      = prometheus.NewDesc("danube_consumer_messages_out_total", "Messages sent to the subscription's consumers.", []string{"topic", "subscription"}, nil)
	descBytesOut     = prometheus.NewDesc("danube_consumer_bytes_out_total", "Payload bytes sent to the subscription's consumers.", []string{"topic", "subscription"}, nil)
	descNacks        = prometheus.NewDesc("danube_subscription_nack_total", "Negative acknowledgements.", []string{"topic", "subscription"}, nil)
	descRedeliveries = prometheus.NewDesc("danube_subscription_redelivery_total", "Messages delivered again after a nack, an ack timeout or a lost consumer.", []string{"topic", "subscription"}, nil)
	descAckTimeouts  = prometheus.NewDesc("danube_subscription_ack_timeout_total", "Messages whose ack did not come in time.", []string{"topic", "subscription"}, nil)
	descDLQ          = prometheus.NewDesc("danube_subscription_dlq_total", "Messages republished to the dead-letter topic.", []string{"topic", "subscription"}, nil)
	descDropped      = prometheus.NewDesc("danube_subscription_dropped_total", "Non-reliable messages no consumer could take.", []string{"topic", "subscription"}, nil)
	descSends        = prometheus.NewDesc("danube_producer_send_total", "SendMessage results.", []string{"topic", "result", "error_code"}, nil)
	descRecovery     = prometheus.NewDesc("danube_store_recovery_reports", "What the broker found damaged or incomplete in its data directory at start, by what it did (skipped, truncated, moved, missing, adopted).", []string{"action"}, nil)
	descRecoveryLost = prometheus.NewDesc("danube_store_recovery_lost_messages", "Stored messages that recovery at start could not keep, as far as it could count them (damaged records skipped, torn tails cut, segments missing; not the contents of files moved aside whole).", nil, nil)
)

// collector exposes a Server's counters to Prometheus.
type collector struct{ s *Server }

func (c collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descMsgsIn, descBytesIn, descProducers, descConsumers, descSubs, descLag,
		descMsgsOut, descBytesOut, descNacks, descRedeliveries, descAckTimeouts, descDLQ, descDropped, descSends,
		descRecovery, descRecoveryLost} {
		ch <- d
	}
	c.s.describeAuthz(ch)
}

func (c collector) Collect(ch chan<- prometheus.Metric) {
	counter := func(d *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	c.s.collectAuthz(ch)
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
		gauge(descRecovery, float64(n), action)
	}
	gauge(descRecoveryLost, float64(lost))
	for _, t := range c.s.topicList() {
		counter(descMsgsIn, t.counters.msgsIn.Load(), t.name)
		counter(descBytesIn, t.counters.bytesIn.Load(), t.name)
		for code := range t.counters.sends {
			n := t.counters.sends[code].Load()
			if n == 0 {
				continue
			}
			result, errCode := "ok", ""
			if codes.Code(code) != codes.OK {
				result, errCode = "error", codes.Code(code).String()
			}
			counter(descSends, n, t.name, result, errCode)
		}
		t.mu.RLock()
		producers := len(t.producers)
		subs := make([]*subscription, 0, len(t.subs))
		for _, sub := range t.subs {
			subs = append(subs, sub)
		}
		t.mu.RUnlock()
		gauge(descProducers, float64(producers), t.name)
		gauge(descSubs, float64(len(subs)), t.name)
		consumers := 0
		var next uint64
		if t.reliable {
			next = t.log.NextOffset()
		}
		for _, sub := range subs {
			consumers += sub.activeCount()
			var lag uint64
			if sub.d != nil {
				lag = next - min(sub.d.floor.Load(), next)
			} else {
				for _, cs := range *sub.snap.Load() {
					cs.mu.Lock()
					lag += uint64(len(cs.queue))
					cs.mu.Unlock()
				}
			}
			sc := &sub.counters
			gauge(descLag, float64(lag), t.name, sub.name)
			counter(descMsgsOut, sc.msgsOut.Load(), t.name, sub.name)
			counter(descBytesOut, sc.bytesOut.Load(), t.name, sub.name)
			counter(descNacks, sc.nacks.Load(), t.name, sub.name)
			counter(descRedeliveries, sc.redeliveries.Load(), t.name, sub.name)
			counter(descAckTimeouts, sc.ackTimeouts.Load(), t.name, sub.name)
			counter(descDLQ, sc.dl.Load(), t.name, sub.name)
			counter(descDropped, sub.dropped.Load(), t.name, sub.name)
		}
		gauge(descConsumers, float64(consumers), t.name)
	}
}

// Collector returns a Prometheus collector of the broker's metrics, for programs that serve their own
// registry; Options.MetricsAddr serves it on its own.
func (s *Server) Collector() prometheus.Collector { return collector{s} }

// metricsServer builds the HTTP server of Options.MetricsAddr: /metrics with the broker's series (plus the
// Go runtime's).
func (s *Server) metricsServer() *http.Server {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collector{s}, prometheus.NewGoCollector(), prometheus.NewProcessCollector(prometheus.ProcessCollectorOpts{}))
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorLog: nil}))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "danube broker metrics are at /metrics (broker "+strconv.FormatUint(s.BrokerID(), 10)+")", http.StatusNotFound)
	})
	return &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second,
		WriteTimeout: 30 * time.Second, IdleTimeout: time.Minute}
}
