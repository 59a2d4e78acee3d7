package monitor

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/danube-console/danube-console/client"
)

// refreshWorkers is how many topics Refresh describes at once.
const refreshWorkers = 8

// Lookup looks topic up through the attached client, with its partitions, and remembers the result in
// Snapshot.Lookups (most recent first, at most 20) whether it succeeded or not (ResponseType "failed" and
// Err). A partitioned topic's base name, which brokers do not serve, is answered with its first partition's
// lookup and Partitions listing them all. It fails with ErrNoClient or the client's error
// (client.ErrTopicNotFound...), wrapped.
func (m *Monitor) Lookup(ctx context.Context, topic string) (LookupResult, error) {
	c, _, _ := m.attached()
	if c == nil {
		return LookupResult{Topic: topic, ResponseType: "failed", Err: ErrNoClient.Error()},
			m.failed(fmt.Errorf("lookup %s: %w", topic, ErrNoClient))
	}
	start := time.Now()
	lr := LookupResult{Topic: topic, At: m.now()}
	res, err := c.Lookup(ctx, topic)
	if err == nil || errors.Is(err, client.ErrTopicNotFound) {
		if all, perr := c.Partitions(ctx, topic); perr == nil {
			lr.Partitions = partitionsOf(topic, all)
		}
		if err != nil && len(lr.Partitions) > 0 {
			res, err = c.Lookup(ctx, lr.Partitions[0])
		}
	}
	lr.Latency = res.Latency
	if lr.Latency == 0 {
		lr.Latency = time.Since(start)
	}
	if err != nil {
		lr.ResponseType, lr.Err = "failed", err.Error() // the client's error names the lookup and the topic
	} else {
		lr.ResponseType = strings.ToLower(res.Type.String())
		lr.BrokerURL, lr.ConnectURL, lr.Proxy = res.BrokerURL, res.ConnectURL, res.Proxy
	}
	m.mu.Lock()
	m.lookups = slices.Insert(m.lookups, 0, lr)
	if len(m.lookups) > maxLookups {
		clear(m.lookups[maxLookups:])
		m.lookups = m.lookups[:maxLookups]
	}
	m.mu.Unlock()
	return lr, m.failed(err)
}

// partitionsOf returns the partitions "<topic>-part-N" listed in all, in order; none when topic is not
// partitioned.
func partitionsOf(topic string, all []string) []string {
	var out []string
	for _, p := range all {
		if n, ok := strings.CutPrefix(p, topic+"-part-"); ok && n != "" && strings.Trim(n, "0123456789") == "" {
			out = append(out, p)
		}
	}
	slices.SortFunc(out, func(a, b string) int { return partitionIndex(a) - partitionIndex(b) })
	return out
}

// partitionIndex returns N of a partition name "...-part-N" (-1 when it is not one).
func partitionIndex(name string) int {
	i := strings.LastIndex(name, "-part-")
	if i < 0 {
		return -1
	}
	n, err := strconv.Atoi(name[i+len("-part-"):])
	if err != nil {
		return -1
	}
	return n
}

// maxDescribeErrs is how many DescribeTopic failures Refresh's error names; the others are counted.
const maxDescribeErrs = 3

// pingTimeout bounds Refresh's ping of the broker.
const pingTimeout = 3 * time.Second

// Refresh pings the broker (Snapshot.Reachable; a failed ping makes it unreachable until it answers again)
// and polls the admin API: namespaces, their topics and each topic's subscriptions into Snapshot.Topics and
// Snapshot.Namespaces, and, at the same time, brokers, leader, Raft status, balance, namespace policies,
// roles and bindings into Snapshot.Cluster.Admin (a part that fails alone keeps its reason there: a
// standalone broker has no Raft or balance, RBAC may deny the security lists; none of these fail Refresh).
// Its state is the "admin" source, first in Snapshot.Cluster.Sources: up, or failing when the namespaces
// cannot be listed (also Snapshot.AdminErr; the previous lists are kept). With Options.DiscoverMetrics the
// brokers' metrics addresses become the scraped endpoints. Calls are serialized, and those that waited for a
// poll that started after they were made return its outcome rather than polling again; Snapshot never waits
// for one.
//
// Work per poll: one rpc per namespace to list the topics, a few for the cluster view, and DescribeTopic
// (which lists the subscriptions) only for the topics that are new since the last poll, those whose
// subscriptions the metrics (Snapshot.Cluster.Subscriptions, while an endpoint is up) or the console's own
// consumers say changed, and a rotating share of the others such that each is described again every 60 s
// (every 5 minutes while a metrics endpoint is up) at the console's pace — with 2,000 topics polled every
// 5 s, about 170 (35 with metrics) rather than 2,000. A subscription created or deleted by another program
// therefore shows at the next poll after the metrics name it, and within 60 s without metrics.
//
// A topic that disappears meanwhile is left out; one that cannot be described is listed without its
// subscriptions and the error returned (joined with the others). Partitions are listed as the topics they
// are ("<topic>-part-N"), each with TopicStats.Partitions set to its topic's partition count. Errors become
// LastError. It fails with ErrNoAdmin or the admin client's errors, wrapped.
func (m *Monitor) Refresh(ctx context.Context) error {
	arrived := m.poll.starts.Load()
	m.refreshMu.Lock()
	defer m.refreshMu.Unlock()
	if m.poll.starts.Load() > arrived {
		// A whole poll started after this call and ended while it waited: its answer is as fresh. Callers
		// that pile up behind a slow admin API share it instead of polling again one after another.
		return m.poll.err
	}
	m.poll.starts.Add(1)
	m.poll.err = m.refresh(ctx)
	return m.poll.err
}

// refresh is one poll of Refresh; refreshMu is held.
func (m *Monitor) refresh(ctx context.Context) error {
	c, admin, _ := m.attached()
	if c != nil {
		// The broker may have nothing open by the console to vouch for it: ask it, within a few seconds of
		// ctx's time so that the admin API keeps the rest.
		pctx, cancel := context.WithTimeout(ctx, pingTimeout)
		_, err := c.Ping(pctx)
		cancel()
		switch {
		case err == nil:
			m.markOK()
		case ctx.Err() == nil:
			m.markFail()
		}
	}
	if admin == nil {
		return m.failed(fmt.Errorf("refresh: %w", ErrNoAdmin))
	}
	start := m.now()
	var interval time.Duration
	if !m.poll.lastStart.IsZero() {
		interval = start.Sub(m.poll.lastStart)
	}
	m.poll.lastStart = start
	nss, err := admin.Namespaces(ctx)
	if err != nil {
		if errors.Is(err, client.ErrUnavailable) || errors.Is(err, context.DeadlineExceeded) {
			err = fmt.Errorf("the admin API at %s does not answer: %w", admin.URL(), err)
		}
		msg := err.Error()
		m.adminErr.Store(&msg)
		m.storeSource(admin, interval, msg, nil)
		return m.failed(fmt.Errorf("refresh: %w", err))
	}
	m.adminErr.Store(nil)
	if c == nil {
		m.markOK() // else the ping speaks for the broker: the admin API may be served elsewhere
	}
	var view AdminView
	var vwg sync.WaitGroup
	vwg.Go(func() { view = m.pollView(ctx, admin, nss) })

	var errs []error
	switch rec, err := admin.StoreRecovery(ctx); {
	case err == nil && len(rec.Reports) > 0:
		m.recovery.Store(&rec)
	case err == nil:
		m.recovery.Store(nil)
	case !errors.Is(err, errors.ErrUnsupported): // a real Danube broker does not tell
		errs = append(errs, err)
	}
	topics, terrs := m.listTopics(ctx, admin, nss, interval)
	errs = append(errs, terrs...)
	reliable := make(map[string]bool, len(topics))
	for _, t := range topics {
		reliable[t.Name] = t.Reliable
	}
	m.mu.Lock()
	m.topics = topics
	m.namespaces = slices.Clone(nss)
	m.mu.Unlock()
	m.reliable.Store(&reliable)

	vwg.Wait()
	m.storeSource(admin, interval, "", &view)
	if m.opts.DiscoverMetrics && view.BrokersErr == "" {
		m.discoverMetrics(view.Brokers, admin.URL())
	}
	if err := errors.Join(errs...); err != nil {
		return m.failed(fmt.Errorf("refresh: %w", err))
	}
	return nil
}

// listTopics lists the namespaces' topics, sorted by name, with their subscriptions: described again where
// toDescribe says, else as last described.
func (m *Monitor) listTopics(ctx context.Context, admin *client.Admin, nss []string, interval time.Duration) ([]TopicStats, []error) {
	var errs []error
	var topics []TopicStats
	for _, ns := range nss {
		ts, err := admin.Topics(ctx, ns)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, t := range ts {
			topics = append(topics, TopicStats{Name: t.Name, Namespace: ns, Reliable: t.Reliable, BrokerID: t.BrokerID})
		}
	}
	sigs := metricSigs(m.scrCluster())
	if m.poll.described == nil {
		m.poll.described = make(map[string]describedTopic, len(topics))
	}
	now := m.now()

	// Describe the chosen topics, refreshWorkers at a time.
	pick := m.toDescribe(topics, sigs, interval)
	gone := make([]bool, len(topics))
	derrs := make([]error, len(topics))
	fresh := make([]*describedTopic, len(topics))
	sem := make(chan struct{}, refreshWorkers)
	var wg sync.WaitGroup
	for _, i := range pick {
		sem <- struct{}{}
		if ctx.Err() != nil { // out of time: the rest keep what they were last described with
			<-sem
			break
		}
		wg.Go(func() {
			defer func() { <-sem }()
			t := &topics[i]
			d, err := admin.DescribeTopic(ctx, t.Name)
			switch {
			case errors.Is(err, client.ErrTopicNotFound):
				gone[i] = true
			case err != nil:
				derrs[i] = err
			default:
				fresh[i] = &describedTopic{subs: slices.Sorted(slices.Values(d.Subscriptions)), schema: d.SchemaSubject,
					reliable: d.Reliable, broker: d.BrokerID, at: now, metricSig: sigs[t.Name]}
			}
		})
	}
	wg.Wait()
	seen := make(map[string]bool, len(topics))
	kept := topics[:0]
	failed := 0
	for i, t := range topics {
		if derrs[i] != nil {
			if failed++; failed <= maxDescribeErrs {
				errs = append(errs, derrs[i])
			}
		}
		if gone[i] {
			continue
		}
		seen[t.Name] = true
		d, ok := m.poll.described[t.Name]
		if fresh[i] != nil {
			d, ok = *fresh[i], true
			m.poll.described[t.Name] = d
		}
		t.Subscriptions = []string{}
		if ok && derrs[i] == nil {
			t.Subscriptions, t.SchemaSubject, t.Reliable = d.subs, d.schema, d.reliable
			if d.broker != "" {
				t.BrokerID = d.broker
			}
		}
		kept = append(kept, t)
	}
	if failed > maxDescribeErrs {
		errs = append(errs, fmt.Errorf("%d more topics could not be described", failed-maxDescribeErrs))
	}
	for name := range m.poll.described {
		if !seen[name] {
			delete(m.poll.described, name)
		}
	}
	topics = kept
	slices.SortFunc(topics, func(a, b TopicStats) int { return strings.Compare(a.Name, b.Name) })
	// Partition topics carry their partitioned topic's partition count.
	parts := map[string]int{}
	for _, t := range topics {
		if i := partitionIndex(t.Name); i >= 0 {
			parts[t.Name[:strings.LastIndex(t.Name, "-part-")]]++
		}
	}
	for i := range topics {
		t := &topics[i]
		if partitionIndex(t.Name) >= 0 {
			t.Partitions = parts[t.Name[:strings.LastIndex(t.Name, "-part-")]]
		}
	}
	return topics, errs
}
