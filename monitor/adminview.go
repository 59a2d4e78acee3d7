package monitor

import (
	"cmp"
	"context"
	"encoding/json"
	"hash/fnv"
	"net"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/danube-console/danube-console/client"
)

// The admin source: what Refresh learns of the cluster besides the topics (AdminView), its state in
// Snapshot.Cluster.Sources, the metrics endpoints it discovers from ListBrokers, and the memory that keeps a
// poll's work proportional to what changed.

// fullPass is how long Refresh takes to describe every topic again when nothing says it changed;
// fullPassMetrics the same while a metrics endpoint is up (the metrics then tell which topics' subscriptions
// changed, and the pass only catches what they do not show).
const (
	fullPass        = 60 * time.Second
	fullPassMetrics = 5 * time.Minute
)

// adminSource is the admin source's state and what its last successful poll said; immutable once stored.
type adminSource struct {
	state SourceState
	view  AdminView
}

// adminPoll is Refresh's memory between polls; refreshMu guards it.
type adminPoll struct {
	described map[string]describedTopic // by topic name
	lastStart time.Time                 // when the last Refresh started
	// starts counts the polls started (read without the lock by the callers that wait for it); err is the
	// last one's outcome.
	starts atomic.Uint64
	err    error
}

// describedTopic is what DescribeTopic last said of a topic, and what said it might have changed since.
type describedTopic struct {
	subs     []string // sorted; shared with the TopicStats given out, never changed
	schema   string
	reliable bool
	broker   string
	at       time.Time // when it was described
	// metricSig is the signature of the topic's subscriptions in the metrics when it was described (0: none).
	metricSig uint64
}

// initSource records the admin source for a newly attached admin client (nil: none), before its first poll.
func (m *Monitor) initSource(admin *client.Admin) {
	st := SourceState{Kind: "admin", URL: m.opts.AdminURL, Status: SourceOff}
	switch {
	case admin != nil:
		st.URL, st.Status = admin.URL(), SourcePending
	case st.URL == "" && m.src.Load() == nil:
		return // no admin API configured: no admin source
	}
	m.src.Store(&adminSource{state: st, view: AdminView{Identity: m.opts.Identity}})
}

// sourceOff marks the admin source off (the monitor is closed), keeping what it said last.
func (m *Monitor) sourceOff() {
	if old := m.src.Load(); old != nil {
		src := *old
		src.state.Status, src.state.Err = SourceOff, ""
		m.src.Store(&src)
	}
}

// storeSource records the end of a poll: failing with reason (keeping the last view), or up with view.
func (m *Monitor) storeSource(admin *client.Admin, interval time.Duration, reason string, view *AdminView) {
	now := m.now()
	var src adminSource
	if old := m.src.Load(); old != nil {
		src = *old
	}
	src.state.Kind, src.state.URL, src.state.Interval, src.state.LastTry = "admin", admin.URL(), interval, now
	if view == nil {
		src.state.Status, src.state.Err = SourceFailing, reason
	} else {
		src.state.Status, src.state.Err, src.state.LastOK = SourceUp, "", now
		src.view = *view
	}
	m.src.Store(&src)
}

// pollView asks the admin API for everything of AdminView, at once; each part that fails keeps its reason.
func (m *Monitor) pollView(ctx context.Context, admin *client.Admin, nss []string) AdminView {
	v := AdminView{Identity: m.opts.Identity, Namespaces: make([]NamespaceInfo, len(nss))}
	var wg sync.WaitGroup
	wg.Go(func() {
		bs, err := admin.Brokers(ctx)
		if err != nil {
			v.BrokersErr = err.Error()
			return
		}
		v.Brokers = bs
	})
	wg.Go(func() {
		l, err := admin.Leader(ctx)
		if err != nil {
			v.LeaderErr = err.Error()
			return
		}
		v.Leader = l
	})
	wg.Go(func() {
		st, err := admin.ClusterStatus(ctx)
		if err != nil {
			v.RaftErr = err.Error() // a standalone real broker: Unimplemented or FailedPrecondition
			return
		}
		r := RaftStatus(st)
		v.Raft = &r
	})
	wg.Go(func() {
		b, err := admin.ClusterBalance(ctx)
		if err != nil {
			v.BalanceErr = err.Error()
			return
		}
		v.Balance = balanceOf(b)
	})
	wg.Go(func() {
		roles, err := admin.Roles(ctx)
		if err != nil {
			v.SecurityErr = err.Error() // PermissionDenied without ManageCluster: the rest still stands
			return
		}
		bindings, err := admin.Bindings(ctx)
		if err != nil {
			v.SecurityErr = err.Error()
			return
		}
		v.Roles, v.Bindings = roles, bindings
	})
	sem := make(chan struct{}, refreshWorkers)
	for i, ns := range nss {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			v.Namespaces[i] = namespaceInfo(ctx, admin, ns)
		})
	}
	wg.Wait()
	return v
}

// namespaceInfo reads a namespace's policies.
func namespaceInfo(ctx context.Context, admin *client.Admin, ns string) NamespaceInfo {
	info := NamespaceInfo{Name: ns}
	p, err := admin.NamespacePolicies(ctx, ns)
	if err != nil {
		info.Err = err.Error()
		return info
	}
	b, err := json.Marshal(p) // sorted keys
	if err != nil {
		info.Err = err.Error()
		return info
	}
	info.Policies = string(b)
	return info
}

// balanceOf converts the client's balance, its brokers ascending by load.
func balanceOf(b client.ClusterBalance) *Balance {
	out := &Balance{CV: b.CV, Mean: b.Mean, Max: b.Max, Min: b.Min, StdDev: b.StdDev, BrokerCount: b.BrokerCount,
		Strategy: b.Strategy, Brokers: make([]BrokerLoad, len(b.Brokers))}
	for i, l := range b.Brokers {
		out.Brokers[i] = BrokerLoad(l)
	}
	slices.SortStableFunc(out.Brokers, func(x, y BrokerLoad) int {
		return cmp.Or(cmp.Compare(x.Load, y.Load), strings.Compare(x.BrokerID, y.BrokerID))
	})
	return out
}

// discoverMetrics makes the brokers' metrics addresses the scraped endpoints (Options.DiscoverMetrics).
func (m *Monitor) discoverMetrics(brokers []BrokerInfo, adminURL string) {
	host := ""
	if u, err := url.Parse(adminURL); err == nil {
		host = u.Hostname()
	}
	want := make([]endpointSpec, 0, len(brokers))
	for _, b := range brokers {
		if b.MetricsAddr != "" {
			want = append(want, endpointSpec{addr: reachableAddr(b.MetricsAddr, host), broker: b.ID})
		}
	}
	m.amu.Lock() // Close waits for the monitor's goroutines only once closed is set
	defer m.amu.Unlock()
	if !m.closed {
		m.scr.setEndpoints(want)
	}
}

// reachableAddr replaces the wildcard or empty host of a broker's address ("0.0.0.0:9040", "[::]:9040",
// ":9040", with or without a scheme) by host, the host the console reaches the cluster at.
func reachableAddr(addr, host string) string {
	if host == "" {
		return addr
	}
	scheme, rest, ok := strings.Cut(addr, "://")
	if !ok {
		scheme, rest = "", addr
	}
	hostport, path, _ := strings.Cut(rest, "/")
	h, port, err := net.SplitHostPort(hostport)
	if err != nil || (h != "" && h != "0.0.0.0" && h != "::") {
		return addr
	}
	out := net.JoinHostPort(host, port)
	if path != "" {
		out += "/" + path
	}
	if scheme != "" {
		out = scheme + "://" + out
	}
	return out
}

// metricSigs returns, per topic, a signature of the subscriptions the metrics name (nil when no metrics
// endpoint is up): a topic whose signature changed since it was described has gained or lost one.
func metricSigs(c Cluster) map[string]uint64 {
	up := false
	for _, s := range c.Sources {
		up = up || (s.Kind == "metrics" && s.Status == SourceUp)
	}
	if !up {
		return nil
	}
	sigs := make(map[string]uint64, len(c.Topics))
	h := fnv.New64a()
	var topic, last string
	flush := func() {
		if topic != "" {
			sigs[topic] = h.Sum64()
		}
	}
	for _, s := range c.Subscriptions { // sorted by topic, subscription, broker
		if s.Topic != topic {
			flush()
			topic, last = s.Topic, ""
			h.Reset()
		}
		if s.Subscription != last { // one row per broker: count each name once
			last = s.Subscription
			h.Write([]byte(s.Subscription))
			h.Write([]byte{0})
		}
	}
	flush()
	return sigs
}

// toDescribe chooses the topics Refresh describes: those it never described, those whose subscriptions the
// metrics or the console's own consumers say changed, and the fullPass (fullPassMetrics while metrics are up)
// share of the others described longest ago (so that each is described again every pass at the console's
// pace). The rest keep what
// they were last described with. interval is the time between Refreshes (0: unknown, taken as 5 s).
func (m *Monitor) toDescribe(topics []TopicStats, sigs map[string]uint64, interval time.Duration) []int {
	m.staleMu.Lock()
	stale := m.stale
	m.stale = nil
	m.staleMu.Unlock()
	own := map[string][]string{}
	for _, s := range m.idx.Load().subList {
		own[s.topic] = append(own[s.topic], s.name)
	}
	var need, rest []int
	for i, t := range topics {
		d, ok := m.poll.described[t.Name]
		switch {
		case !ok, stale[t.Name], sigs != nil && sigs[t.Name] != d.metricSig:
			need = append(need, i)
		case slices.ContainsFunc(own[t.Name], func(s string) bool { _, found := slices.BinarySearch(d.subs, s); return !found }):
			need = append(need, i)
		default:
			rest = append(rest, i)
		}
	}
	if interval <= 0 {
		interval = 5 * time.Second
	}
	pass := fullPass
	if sigs != nil {
		pass = fullPassMetrics
	}
	share := int((int64(len(topics))*int64(interval) + int64(pass) - 1) / int64(pass))
	if share > len(rest) {
		share = len(rest)
	}
	slices.SortStableFunc(rest, func(a, b int) int {
		return m.poll.described[topics[a].Name].at.Compare(m.poll.described[topics[b].Name].at)
	})
	return append(need, rest[:share]...)
}

// markStale makes the next Refresh describe topics whose subscriptions the console changed.
func (m *Monitor) markStale(topics ...string) {
	m.staleMu.Lock()
	defer m.staleMu.Unlock()
	if m.stale == nil {
		m.stale = map[string]bool{}
	}
	for _, t := range topics {
		m.stale[t] = true
	}
}

// scrCluster is what the metrics endpoints say now.
func (m *Monitor) scrCluster() Cluster {
	c, _ := m.scr.cluster()
	return c
}

// cluster returns Snapshot.Cluster: the admin source then the metrics endpoints, with their figures and
// the admin view. It is rebuilt only when a source changed; otherwise the same (immutable) slices are
// returned.
func (m *Monitor) cluster() Cluster {
	sc, gen := m.scr.cluster()
	pgen := m.prom.generation()
	src := m.src.Load()
	m.ccMu.Lock()
	defer m.ccMu.Unlock()
	if m.ccOK && gen == m.ccScr && pgen == m.ccProm && src == m.ccSrc {
		return m.cc
	}
	c := sc
	// The scraper's slices are shared: clipped, an append below copies them instead of writing past them.
	c.Sources, c.Brokers = slices.Clip(c.Sources), slices.Clip(c.Brokers)
	c.Topics, c.Subscriptions = slices.Clip(c.Topics), slices.Clip(c.Subscriptions)
	m.prom.addTo(&c)
	if src != nil {
		c.Sources = append([]SourceState{src.state}, c.Sources...)
		c.Admin = src.view
	}
	c.Problems = m.probs.rank(&c, [2]uint64{gen, pgen}, m.now())
	m.cc, m.ccScr, m.ccProm, m.ccSrc, m.ccOK = c, gen, pgen, src, true
	return c
}
