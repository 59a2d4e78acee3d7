package tui

import (
	"slices"
	"testing"

	"github.com/danube-console/danube-console/monitor"
	"github.com/danube-console/danube-console/tui/tuitest"
)

func TestFromChanged(t *testing.T) {
	var f from[monitor.TopicRate]
	a := []monitor.TopicRate{{Broker: "1", Topic: "/a/b", MsgsInPerSec: 3}}
	if !f.changed(a) {
		t.Error("the first slice is not a change")
	}
	if f.changed(a) {
		t.Error("the same slice is a change")
	}
	if f.changed(slices.Clone(a)) {
		t.Error("a copy with the same figures is a change")
	}
	b := slices.Clone(a)
	b[0].MsgsInPerSec = 4
	if !f.changed(b) {
		t.Error("other figures are no change")
	}
	if !f.changed(nil) || f.changed(nil) {
		t.Error("emptied: want one change, then none")
	}
}

// TestSumTopicsAndSubs: partitions sum under their base topic, over brokers; latency quantiles are the
// worst partition's; subscriptions sum per base topic and name.
func TestSumTopicsAndSubs(t *testing.T) {
	c := tuitest.ClusterTraffic().Snapshot().Cluster
	ts := sumTopics(c.Topics)
	i := slices.IndexFunc(ts, func(t clusterTopic) bool { return t.topic == "/default/orders" })
	if i < 0 {
		t.Fatalf("no /default/orders in %v", ts)
	}
	o := ts[i]
	if o.partitions != 3 || o.brokers != "1,2" || o.in != 1250+1190+1210 || o.lag != 1100+980+12_400 || o.p99 != 14 || o.producers != 3 {
		t.Errorf("/default/orders summed to %+v", o)
	}
	if slices.ContainsFunc(ts, func(t clusterTopic) bool { return t.topic == "/default/orders-part-0" }) {
		t.Error("a partition shows as a topic of its own")
	}
	ss := sumSubs(c.Subscriptions)
	j := slices.IndexFunc(ss, func(s clusterSub) bool { return s.topic == "/default/orders" && s.sub == "shipping" })
	if j < 0 || ss[j].lag != 1050+940+12_340 || ss[j].consumers != 3 || ss[j].partitions != 3 {
		t.Errorf("shipping of /default/orders summed to %+v", ss[j])
	}
}

// TestJoinBrokers: ListBrokers' brokers in order, with their metrics and endpoints; an endpoint that never
// answered is a row of its own; a failing endpoint makes its broker down.
func TestBrokerRows(t *testing.T) {
	c := tuitest.ClusterTraffic().Snapshot().Cluster
	c.Sources = append(slices.Clone(c.Sources), monitor.SourceState{Kind: "metrics", URL: "http://10.0.0.9:9040/metrics", Status: monitor.SourceFailing, Err: "timeout"})
	bs := brokerRows(&c)
	if len(bs) != 4 {
		t.Fatalf("%d brokers, want 4: %+v", len(bs), bs)
	}
	if bs[0].id != "1" || !bs[0].leader() || bs[0].met == nil || bs[0].src == nil {
		t.Errorf("broker 1: %+v", bs[0])
	}
	if up, down := bs[2].state(); up || !down || bs[2].met != nil {
		t.Errorf("broker 3 (its endpoint refuses): up %v down %v metrics %v", up, down, bs[2].met)
	}
	if bs[3].id != "? 10.0.0.9:9040" || bs[3].addr() != "http://10.0.0.9:9040/metrics" {
		t.Errorf("the endpoint that never answered: %+v", bs[3])
	}
	if got := ago(tuitest.Epoch, bs[2].src.LastOK); got != "1m35s" {
		t.Errorf("broker 3 last scraped %s ago, want 1m35s", got)
	}
}
