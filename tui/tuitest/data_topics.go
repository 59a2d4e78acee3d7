package tuitest

import (
	"math"
	"time"

	"github.com/danube-console/danube-console/monitor"
)

// TopicsCluster returns Scripted with a cluster of three brokers around it, as the topics pane and its
// detail view draw it: the admin list with partitions listed by name (/default/orders has three, one of
// which moved from broker 2 to broker 3 and has figures on both; /iot/sensors two), a topic known only to
// the metrics (/legacy/metrics-only), a long name, the brokers' topic and subscription rates with lag
// (billing falls behind, spark has a backlog and no consumer, dashboard holds terminal-blocked messages and
// redelivers), the admin view, a few problems, the description of /default/orders with its subscriptions'
// policies (Details) and 15 minutes of its history from the console's samples (Histories).
func TopicsCluster() *Fake {
	f := Scripted()
	const (
		orders = "/default/orders"
		click  = "/analytics/clickstream-events-eu-west-1"
	)
	lat := func(p50, p95, p99 float64, n uint64) monitor.Quantiles {
		return monitor.Quantiles{P50: p50, P95: p95, P99: p99, Count: n, Sum: p50 * float64(n) * 1.1}
	}
	w := 5 * time.Second
	f.Update(func(s *monitor.Snapshot) {
		s.Namespaces = []string{"analytics", "default", "iot"}
		s.Topics = []monitor.TopicStats{
			{Name: click, Namespace: "analytics", Reliable: true, BrokerID: "3", Subscriptions: []string{"spark"}},
			{Name: "/default/audit", Namespace: "default", Reliable: true, BrokerID: "1", Subscriptions: []string{"archiver"}},
			{Name: orders + "-part-0", Namespace: "default", Reliable: true, BrokerID: "1", Subscriptions: []string{"billing", "shipping"}, Partitions: 3, SchemaSubject: "orders-value"},
			{Name: orders + "-part-1", Namespace: "default", Reliable: true, BrokerID: "3", Subscriptions: []string{"billing", "shipping"}, Partitions: 3, SchemaSubject: "orders-value"},
			{Name: orders + "-part-2", Namespace: "default", Reliable: true, BrokerID: "2", Subscriptions: []string{"billing", "shipping"}, Partitions: 3, SchemaSubject: "orders-value"},
			{Name: "/default/payments", Namespace: "default", BrokerID: "2", Subscriptions: []string{"ledger"}},
			{Name: "/iot/alerts", Namespace: "iot", BrokerID: "3"},
			{Name: "/iot/sensors-part-0", Namespace: "iot", BrokerID: "1", Subscriptions: []string{"dashboard", "pg-sink"}, Partitions: 2},
			{Name: "/iot/sensors-part-1", Namespace: "iot", BrokerID: "2", Subscriptions: []string{"dashboard", "pg-sink"}, Partitions: 2},
		}
		tr := func(broker, topic string, in, out, bytesPer float64, prod, cons, subs, lag int64, pl, ms monitor.Quantiles) monitor.TopicRate {
			return monitor.TopicRate{Broker: broker, Topic: topic, Window: w, MsgsInPerSec: in, MsgsOutPerSec: out,
				BytesInPerSec: in * bytesPer, BytesOutPerSec: out * bytesPer, Producers: prod, Consumers: cons, Subscriptions: subs, Lag: lag,
				PublishLatency: pl, MessageSize: ms, MsgsIn: uint64(in * 3600), BytesIn: uint64(in * bytesPer * 3600)}
		}
		size := lat(180, 420, 910, 0)
		sized := func(n uint64) monitor.Quantiles { q := size; q.Count, q.Sum = n, 205*float64(n); return q }
		s.Cluster.Topics = []monitor.TopicRate{
			tr("3", click, 5400, 3100, 640, 4, 0, 1, 4500, lat(2.1, 6.5, 14, 90000), sized(90000)),
			tr("1", "/default/audit", 2, 2, 200, 1, 1, 1, 0, lat(0.6, 1.4, 2.1, 1204), sized(1204)),
			tr("1", orders+"-part-0", 1250, 1180, 190, 1, 2, 2, 5200, lat(0.85, 4.2, 12, 482113), sized(482113)),
			tr("2", orders+"-part-1", 0, 0, 190, 0, 0, 2, 0, lat(0.9, 5.1, 14, 300000), sized(300000)),
			tr("3", orders+"-part-1", 1190, 1100, 190, 1, 2, 2, 6100, lat(1.4, 7.9, 21, 181990), sized(181990)),
			tr("2", orders+"-part-2", 1210, 1205, 190, 1, 2, 2, 1100, lat(0.8, 3.9, 11, 470000), sized(470000)),
			tr("2", "/default/payments", 0, 0, 200, 1, 1, 1, 0, monitor.Quantiles{}, monitor.Quantiles{}),
			tr("1", "/iot/sensors-part-0", 11800, 11790, 145, 1, 2, 2, 0, lat(0.42, 1.1, 3, 9_876_543), sized(9_876_543)),
			tr("2", "/iot/sensors-part-1", 11656, 11650, 145, 1, 2, 2, 35, lat(0.45, 1.2, 3.3, 9_800_000), sized(9_800_000)),
			tr("2", "/legacy/metrics-only", 12, 0, 80, 1, 0, 0, 0, lat(1, 2, 3, 400), sized(400)),
		}
		sr := func(broker, topic, sub string, out float64, cons, lag, pend, blocked int64, red, nack, ato, dlq float64) monitor.SubscriptionRate {
			return monitor.SubscriptionRate{Broker: broker, Topic: topic, Subscription: sub, Window: w, MsgsOutPerSec: out, BytesOutPerSec: out * 190,
				Consumers: cons, Lag: lag, PendingRedelivery: pend, TerminalBlocked: blocked,
				RedeliveriesPerSec: red, NacksPerSec: nack, AckTimeoutsPerSec: ato, DLQPerSec: dlq}
		}
		s.Cluster.Subscriptions = []monitor.SubscriptionRate{
			sr("3", click, "spark", 3100, 0, 4500, 0, 0, 0, 0, 0, 0),
			sr("1", "/default/audit", "archiver", 2, 1, 0, 0, 0, 0, 0, 0, 0),
			sr("1", orders+"-part-0", "billing", 580, 1, 5200, 12, 0, 2.5, 0.4, 1.2, 0),
			sr("1", orders+"-part-0", "shipping", 600, 1, 0, 0, 0, 0, 0, 0, 0),
			sr("3", orders+"-part-1", "billing", 520, 1, 6100, 8, 0, 1.5, 0.2, 0.8, 0),
			sr("3", orders+"-part-1", "shipping", 580, 1, 0, 0, 0, 0, 0, 0, 0),
			sr("2", orders+"-part-2", "billing", 605, 1, 1100, 0, 0, 0, 0, 0, 0),
			sr("2", orders+"-part-2", "shipping", 600, 1, 0, 0, 0, 0, 0, 0, 0),
			sr("2", "/default/payments", "ledger", 0, 1, 0, 0, 0, 0, 0, 0, 0),
			sr("1", "/iot/sensors-part-0", "dashboard", 5900, 1, 0, 40, 3, 14, 6, 0, 0.5),
			sr("1", "/iot/sensors-part-0", "pg-sink", 5890, 1, 0, 0, 0, 0, 0, 0, 0),
			sr("2", "/iot/sensors-part-1", "dashboard", 5825, 1, 35, 0, 0, 0, 0, 0, 0),
			sr("2", "/iot/sensors-part-1", "pg-sink", 5825, 1, 0, 0, 0, 0, 0, 0, 0),
		}
		s.Cluster.Brokers = []monitor.BrokerMetrics{
			{ID: "1", URL: "http://127.0.0.1:9040/metrics", Window: w, TopicsOwned: 3, Leader: true, RPCPerSec: 410, MsgsInPerSec: 13052, MsgsOutPerSec: 12972},
			{ID: "2", URL: "http://127.0.0.1:9041/metrics", Window: w, TopicsOwned: 4, RPCPerSec: 380, MsgsInPerSec: 12878, MsgsOutPerSec: 12855},
			{ID: "3", URL: "http://127.0.0.1:9042/metrics", Window: w, TopicsOwned: 3, RPCPerSec: 290, MsgsInPerSec: 6590, MsgsOutPerSec: 4200},
		}
		s.Cluster.Sources = []monitor.SourceState{
			{Kind: "metrics", URL: "http://127.0.0.1:9040/metrics", Status: monitor.SourceUp, Broker: "1", Interval: w, LastOK: Epoch.Add(-time.Second)},
			{Kind: "metrics", URL: "http://127.0.0.1:9041/metrics", Status: monitor.SourceUp, Broker: "2", Interval: w, LastOK: Epoch.Add(-2 * time.Second)},
			{Kind: "metrics", URL: "http://127.0.0.1:9042/metrics", Status: monitor.SourceUp, Broker: "3", Interval: w, LastOK: Epoch.Add(-time.Second)},
		}
		s.Cluster.Admin = monitor.AdminView{Leader: "1", Brokers: []monitor.BrokerInfo{
			{ID: "1", Addr: "http://127.0.0.1:6650", Role: "Cluster_Leader", AdminAddr: "127.0.0.1:50051", MetricsAddr: "127.0.0.1:9040", Status: "active"},
			{ID: "2", Addr: "http://127.0.0.1:6651", Role: "Cluster_Follower", AdminAddr: "127.0.0.1:50052", MetricsAddr: "127.0.0.1:9041", Status: "active"},
			{ID: "3", Addr: "http://127.0.0.1:6652", Role: "Cluster_Follower", AdminAddr: "127.0.0.1:50053", MetricsAddr: "127.0.0.1:9042", Status: "active"},
		}}
		s.Cluster.Problems = []monitor.Problem{
			{Kind: monitor.ProblemTerminalBlocked, Severity: monitor.SeverityCritical, Broker: "1", Topic: "/iot/sensors-part-0", Subscription: "dashboard",
				Detail: "3 messages blocked by the poison policy", Since: Epoch.Add(-4 * time.Minute)},
			{Kind: monitor.ProblemNoConsumers, Severity: monitor.SeverityWarning, Broker: "3", Topic: click, Subscription: "spark",
				Detail: "lag 4,500, 0 consumers", Since: Epoch.Add(-9 * time.Minute)},
			{Kind: monitor.ProblemLagGrowing, Severity: monitor.SeverityWarning, Topic: orders, Subscription: "billing",
				Detail: "lag 12,400 (+3,100 in 1m)", Since: Epoch.Add(-2 * time.Minute)},
		}
		s.Lookups = nil
	})
	pol := &monitor.FailurePolicy{MaxRedeliveries: 5, AckTimeout: 30 * time.Second, BaseRedeliveryDelay: time.Second,
		MaxRedeliveryDelay: time.Minute, Backoff: "exponential", Poison: "dead-letter", DeadLetterTopic: "/default/orders-dlq"}
	f.Details = map[string]monitor.TopicDetail{
		orders: {
			TopicDescription: monitor.TopicDescription{Name: orders, BrokerID: "1", Reliable: true, Subscriptions: []string{"billing", "shipping"},
				SchemaSubject: "orders-value", SchemaID: 3, SchemaVersion: 2, SchemaType: "json_schema", Compatibility: "backward"},
			Subs: []monitor.SubscriptionDetail{
				{Name: "billing", Type: monitor.SubscriptionShared, Policy: pol, DispatchWindow: 100},
				{Name: "shipping", Type: monitor.SubscriptionKeyShared, Policy: &monitor.FailurePolicy{MaxRedeliveries: 3, AckTimeout: 10 * time.Second,
					BaseRedeliveryDelay: 500 * time.Millisecond, MaxRedeliveryDelay: 10 * time.Second, Backoff: "fixed", Poison: "block"}, DispatchWindow: 50},
			},
		},
		"/default/payments": {
			TopicDescription: monitor.TopicDescription{Name: "/default/payments", BrokerID: "2", Subscriptions: []string{"ledger"}},
			Subs:             []monitor.SubscriptionDetail{{Name: "ledger", Type: monitor.SubscriptionExclusive}},
		},
	}
	f.Histories = map[string]monitor.TopicHistory{orders: History(orders, 90, 10*time.Second, 3650, 12400)}
	return f
}

// History returns n points of deterministic traffic around in msgs/s, with a lag that grows to lag over
// the last third, the last point at Epoch, from the console's samples.
func History(topic string, n int, step time.Duration, in float64, lag float64) monitor.TopicHistory {
	h := monitor.TopicHistory{Topic: topic, Step: step, End: Epoch, Source: "console",
		In: series(n, in, 2), Out: series(n, in*0.95, 3), Lag: make([]float64, n)}
	for i := range n {
		h.Lag[i] = math.Round(lag * math.Max(0, float64(i-n*2/3)) / float64(n-n*2/3))
	}
	for i := range 4 { // a gap where nothing is known
		h.In[n/4+i], h.Out[n/4+i], h.Lag[n/4+i] = math.NaN(), math.NaN(), math.NaN()
	}
	return h
}
