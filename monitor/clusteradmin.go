package monitor

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/danube-console/danube-console/client"
)

// The cluster actions (ClusterAdmin) through the attached admin client. Each fails with ErrNoAdmin without
// one; the ones that change the cluster fail with ErrReadOnly on a read-only monitor; every error is wrapped
// with what failed and keeps the broker's answer (errors.As an *client.APIError, errors.Is its sentinels).
// After a change succeeded, a Refresh runs in the background (at most one at a time, the monitor's
// goroutine), so that a later Snapshot shows what changed without the console asking.

// afterChangeTimeout bounds the Refresh that follows a successful change.
const afterChangeTimeout = 30 * time.Second

// adminFor returns the attached admin client for action what, checking read-only when it changes state.
func (m *Monitor) adminFor(what string, changes bool) (*client.Admin, error) {
	if changes && m.opts.ReadOnly {
		return nil, fmt.Errorf("%s: %w", what, ErrReadOnly)
	}
	_, admin, _ := m.attached()
	if admin == nil {
		return nil, fmt.Errorf("%s: %w", what, ErrNoAdmin)
	}
	return admin, nil
}

// changed records the outcome of a change: an error is LastError; a success is logged and starts a
// background Refresh.
func (m *Monitor) changed(what string, err error) error {
	if err != nil {
		return m.failed(err)
	}
	m.log.Info("cluster changed", "action", what)
	m.refreshSoon()
	return nil
}

// refreshSoon runs Refresh in the background, owned by the monitor; while one runs, another is queued once.
func (m *Monitor) refreshSoon() {
	for {
		v := m.bgRefresh.Load()
		if v != 0 && m.bgRefresh.CompareAndSwap(v, 2) {
			return // the running one goes again when it ends (it had not ended: the swap saw it at v)
		}
		if v == 0 && m.bgRefresh.CompareAndSwap(0, 1) {
			break
		}
	}
	m.amu.Lock()
	defer m.amu.Unlock()
	if m.closed {
		m.bgRefresh.Store(0)
		return
	}
	m.wg.Go(func() {
		for {
			ctx, cancel := context.WithTimeout(m.ctx, afterChangeTimeout)
			m.Refresh(ctx) // its errors are LastError and the admin source's state
			cancel()
			if m.ctx.Err() != nil {
				m.bgRefresh.Store(0)
				return
			}
			if m.bgRefresh.CompareAndSwap(1, 0) {
				return
			}
			m.bgRefresh.Store(1) // it was 2: once more
		}
	})
}

// partitionsOfTopic returns topic's partitions as its namespace lists them (none when it is not partitioned).
func partitionsOfTopic(ctx context.Context, admin *client.Admin, topic string) ([]string, error) {
	ns, _, _ := strings.Cut(strings.TrimPrefix(topic, "/"), "/")
	ts, err := admin.Topics(ctx, ns)
	if err != nil {
		return nil, err
	}
	names := make([]string, len(ts))
	for i, t := range ts {
		names[i] = t.Name
	}
	return partitionsOf(topic, names), nil
}

// targets returns the topics an action on topic applies to: its partitions when it is a partitioned topic's
// base name, else itself.
func targets(ctx context.Context, admin *client.Admin, topic string) ([]string, error) {
	parts, err := partitionsOfTopic(ctx, admin, topic)
	if err != nil {
		return nil, err
	}
	if len(parts) == 0 {
		return []string{topic}, nil
	}
	return parts, nil
}

// DescribeTopic describes a topic with each subscription's type, failure policy and dispatch window, read
// from the broker that serves it, at most refreshWorkers subscriptions at once. A partitioned topic's base
// name (which no broker serves) is described by merging its partitions: the union of their subscriptions,
// and partition 0's broker, delivery and schema; each subscription's policy and window are partition 0's
// (or those of the first partition that has the subscription). A subscription whose policy or window
// cannot be read keeps the reason in its Err; the description itself fails with the broker's error
// (client.ErrTopicNotFound for a topic that does not exist).
func (m *Monitor) DescribeTopic(ctx context.Context, topic string) (TopicDetail, error) {
	what := "describe " + topic
	admin, err := m.adminFor(what, false)
	if err != nil {
		return TopicDetail{}, err
	}
	d, subOn, err := describeMerged(ctx, admin, topic)
	if err != nil {
		return TopicDetail{}, m.failed(err)
	}
	subs := slices.Sorted(slices.Values(d.Subscriptions))
	det := TopicDetail{TopicDescription: d, Subs: make([]SubscriptionDetail, len(subs))}
	det.Subscriptions = subs
	sem := make(chan struct{}, refreshWorkers)
	var wg sync.WaitGroup
	for i, name := range subs {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			det.Subs[i] = describeSub(ctx, admin, subOn[name], name, d.Reliable)
		})
	}
	wg.Wait()
	return det, nil
}

// describeMerged describes topic, or merges the descriptions of its partitions; subOn says which topic (or
// partition) each subscription is read from.
func describeMerged(ctx context.Context, admin *client.Admin, topic string) (TopicDescription, map[string]string, error) {
	d, err := admin.DescribeTopic(ctx, topic)
	if err == nil {
		subOn := make(map[string]string, len(d.Subscriptions))
		for _, s := range d.Subscriptions {
			subOn[s] = topic
		}
		return d, subOn, nil
	}
	if !errors.Is(err, client.ErrTopicNotFound) {
		return d, nil, err
	}
	parts, perr := partitionsOfTopic(ctx, admin, topic)
	if perr != nil || len(parts) == 0 {
		return d, nil, err // the topic's own answer says it best
	}
	merged := TopicDescription{Name: topic}
	subOn := map[string]string{}
	for i, p := range parts {
		pd, err := admin.DescribeTopic(ctx, p)
		if err != nil {
			return TopicDescription{}, nil, err // the client's error names the partition
		}
		if i == 0 {
			merged = pd
			merged.Name, merged.Subscriptions = topic, nil
		}
		for _, s := range pd.Subscriptions {
			if _, ok := subOn[s]; !ok {
				subOn[s] = p
				merged.Subscriptions = append(merged.Subscriptions, s)
			}
		}
	}
	return merged, subOn, nil
}

// describeSub reads one subscription's type, failure policy and dispatch window.
func describeSub(ctx context.Context, admin *client.Admin, topic, name string, reliable bool) SubscriptionDetail {
	sd := SubscriptionDetail{Name: name}
	var errs []string
	p, typ, err := admin.FailurePolicy(ctx, topic, name)
	if err != nil {
		errs = append(errs, err.Error())
	} else {
		sd.Type = SubscriptionTypeOf(typ)
		if reliable && p != (FailurePolicy{}) {
			sd.Policy = &p
		}
	}
	if reliable {
		n, err := admin.DispatchWindow(ctx, topic, name)
		if err != nil {
			errs = append(errs, err.Error())
		}
		sd.DispatchWindow = n
	}
	sd.Err = strings.Join(errs, "; ")
	return sd
}

// CreateTopic creates a topic, or a partitioned topic with o.Partitions partitions.
func (m *Monitor) CreateTopic(ctx context.Context, topic string, o TopicOptions) error {
	what := "create topic " + topic
	admin, err := m.adminFor(what, true)
	if err != nil {
		return err
	}
	if err := admin.CreateTopic(ctx, topic, o); err != nil {
		return m.failed(err) // the client's error names the operation
	}
	return m.changed(what, nil)
}

// DeleteTopic deletes a topic (every partition of a partitioned topic given its base name).
func (m *Monitor) DeleteTopic(ctx context.Context, topic string) error {
	what := "delete topic " + topic
	admin, err := m.adminFor(what, true)
	if err != nil {
		return err
	}
	if err := admin.DeleteTopic(ctx, topic); err != nil {
		return m.failed(err) // the client's error names the operation
	}
	return m.changed(what, nil)
}

// UnloadTopic moves a topic (every partition of a partitioned topic) to another broker.
func (m *Monitor) UnloadTopic(ctx context.Context, topic string) error {
	what := "unload topic " + topic
	return m.eachPartition(ctx, what, topic, func(admin *client.Admin, t string) error { return admin.UnloadTopic(ctx, t) })
}

// SetFailurePolicy sets a subscription's failure policy (on every partition of a partitioned topic).
func (m *Monitor) SetFailurePolicy(ctx context.Context, topic, sub string, p FailurePolicy) error {
	what := fmt.Sprintf("set the failure policy of %s on %s", sub, topic)
	return m.eachPartition(ctx, what, topic, func(admin *client.Admin, t string) error { return admin.SetFailurePolicy(ctx, t, sub, p) })
}

// SetDispatchWindow sets a subscription's dispatch window (on every partition of a partitioned topic).
func (m *Monitor) SetDispatchWindow(ctx context.Context, topic, sub string, n uint32) error {
	what := fmt.Sprintf("set the dispatch window of %s on %s to %d", sub, topic, n)
	return m.eachPartition(ctx, what, topic, func(admin *client.Admin, t string) error { return admin.SetDispatchWindow(ctx, t, sub, n) })
}

// eachPartition runs a change on topic, or on each of its partitions, stopping at the first failure.
func (m *Monitor) eachPartition(ctx context.Context, what, topic string, f func(admin *client.Admin, topic string) error) error {
	admin, err := m.adminFor(what, true)
	if err != nil {
		return err
	}
	ts, err := targets(ctx, admin, topic)
	if err != nil {
		return m.failed(fmt.Errorf("%s: %w", what, err))
	}
	for _, t := range ts {
		if err := f(admin, t); err != nil {
			return m.failed(err) // the client's error names the operation and the topic or partition
		}
	}
	return m.changed(what, nil)
}

// UnloadBroker moves a broker's topics to the other active brokers and leaves it drained until
// ActivateBroker.
func (m *Monitor) UnloadBroker(ctx context.Context, brokerID string) (UnloadResult, error) {
	what := "unload broker " + brokerID
	admin, err := m.adminFor(what, true)
	if err != nil {
		return UnloadResult{}, err
	}
	r, err := admin.UnloadBroker(ctx, brokerID, client.UnloadOptions{})
	if err != nil {
		return UnloadResult{}, m.failed(err)
	}
	return UnloadResult(r), m.changed(what, nil)
}

// ActivateBroker makes a broker take topics again.
func (m *Monitor) ActivateBroker(ctx context.Context, brokerID string) error {
	what := "activate broker " + brokerID
	admin, err := m.adminFor(what, true)
	if err != nil {
		return err
	}
	if err := admin.ActivateBroker(ctx, brokerID, "activated from danube-console"); err != nil {
		return m.failed(err) // the client's error names the operation
	}
	return m.changed(what, nil)
}

// Rebalance asks the cluster to move topics from loaded brokers to idle ones (dryRun: only propose). A dry
// run changes nothing and is allowed on a read-only monitor.
func (m *Monitor) Rebalance(ctx context.Context, dryRun bool) (RebalanceResult, error) {
	what := "rebalance"
	if dryRun {
		what = "rebalance (dry run)"
	}
	admin, err := m.adminFor(what, !dryRun)
	if err != nil {
		return RebalanceResult{}, err
	}
	r, err := admin.TriggerRebalance(ctx, dryRun, 0)
	res := RebalanceResult{Success: r.Success, MovesExecuted: r.MovesExecuted, Message: r.Message}
	for _, mv := range r.Moves {
		res.Moves = append(res.Moves, RebalanceMove(mv))
	}
	if err != nil {
		return res, m.failed(err)
	}
	if dryRun {
		return res, nil
	}
	return res, m.changed(what, nil)
}

// CreateRole creates (or replaces) a role.
func (m *Monitor) CreateRole(ctx context.Context, r Role) error {
	what := "create role " + r.Name
	admin, err := m.adminFor(what, true)
	if err != nil {
		return err
	}
	if err := admin.CreateRole(ctx, r); err != nil {
		return m.failed(err) // the client's error names the operation
	}
	return m.changed(what, nil)
}

// DeleteRole deletes a role.
func (m *Monitor) DeleteRole(ctx context.Context, name string) error {
	what := "delete role " + name
	admin, err := m.adminFor(what, true)
	if err != nil {
		return err
	}
	if err := admin.DeleteRole(ctx, name); err != nil {
		return m.failed(err) // the client's error names the operation
	}
	return m.changed(what, nil)
}

// CreateBinding creates (or replaces) a binding.
func (m *Monitor) CreateBinding(ctx context.Context, b Binding) error {
	what := "create binding " + b.ID
	admin, err := m.adminFor(what, true)
	if err != nil {
		return err
	}
	if err := admin.CreateBinding(ctx, b); err != nil {
		return m.failed(err) // the client's error names the operation
	}
	return m.changed(what, nil)
}

// DeleteBinding deletes the binding id of a scope and resource.
func (m *Monitor) DeleteBinding(ctx context.Context, scope, resource, id string) error {
	what := "delete binding " + id
	admin, err := m.adminFor(what, true)
	if err != nil {
		return err
	}
	if err := admin.DeleteBinding(ctx, scope, resource, id); err != nil {
		return m.failed(err) // the client's error names the operation
	}
	return m.changed(what, nil)
}
