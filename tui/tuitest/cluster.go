package tuitest

import (
	"context"
	"fmt"
	"time"

	"github.com/danube-console/danube-console/monitor"
)

// The Fake's cluster actions record their call ("describe /default/orders", "unload-broker 2", …) and
// return ClusterErr; they change nothing in the snapshot, which a test scripts with Update.

func (f *Fake) clusterCall(format string, args ...any) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record(format, args...)
	return f.ClusterErr
}

// DescribeTopic answers from Details.
func (f *Fake) DescribeTopic(_ context.Context, topic string) (monitor.TopicDetail, error) {
	if err := f.clusterCall("describe %s", topic); err != nil {
		return monitor.TopicDetail{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	d, ok := f.Details[topic]
	if !ok {
		return monitor.TopicDetail{}, fmt.Errorf("describe %s: %w", topic, ErrUnknown)
	}
	return d, nil
}

// CreateTopic records the call.
func (f *Fake) CreateTopic(_ context.Context, topic string, o monitor.TopicOptions) error {
	return f.clusterCall("create-topic %s partitions=%d reliable=%t schema=%s", topic, o.Partitions, o.Reliable, o.SchemaSubject)
}

// DeleteTopic records the call.
func (f *Fake) DeleteTopic(_ context.Context, topic string) error {
	return f.clusterCall("delete-topic %s", topic)
}

// UnloadTopic records the call.
func (f *Fake) UnloadTopic(_ context.Context, topic string) error {
	return f.clusterCall("unload-topic %s", topic)
}

// SetFailurePolicy records the call.
func (f *Fake) SetFailurePolicy(_ context.Context, topic, sub string, p monitor.FailurePolicy) error {
	return f.clusterCall("failure-policy %s %s %+v", topic, sub, p)
}

// SetDispatchWindow records the call.
func (f *Fake) SetDispatchWindow(_ context.Context, topic, sub string, n uint32) error {
	return f.clusterCall("dispatch-window %s %s %d", topic, sub, n)
}

// UnloadBroker records the call.
func (f *Fake) UnloadBroker(_ context.Context, id string) (monitor.UnloadResult, error) {
	if err := f.clusterCall("unload-broker %s", id); err != nil {
		return monitor.UnloadResult{}, err
	}
	return monitor.UnloadResult{Started: true}, nil
}

// ActivateBroker records the call.
func (f *Fake) ActivateBroker(_ context.Context, id string) error {
	return f.clusterCall("activate-broker %s", id)
}

// Rebalance records the call.
func (f *Fake) Rebalance(_ context.Context, dryRun bool) (monitor.RebalanceResult, error) {
	if err := f.clusterCall("rebalance dry-run=%t", dryRun); err != nil {
		return monitor.RebalanceResult{}, err
	}
	return monitor.RebalanceResult{Success: true, Message: "Cluster is balanced"}, nil
}

// CreateRole records the call.
func (f *Fake) CreateRole(_ context.Context, r monitor.Role) error {
	return f.clusterCall("create-role %s %v", r.Name, r.Permissions)
}

// DeleteRole records the call.
func (f *Fake) DeleteRole(_ context.Context, name string) error {
	return f.clusterCall("delete-role %s", name)
}

// CreateBinding records the call.
func (f *Fake) CreateBinding(_ context.Context, b monitor.Binding) error {
	return f.clusterCall("create-binding %s %s:%s %v %s %s", b.ID, b.PrincipalType, b.PrincipalName, b.Roles, b.Scope, b.Resource)
}

// DeleteBinding records the call.
func (f *Fake) DeleteBinding(_ context.Context, scope, resource, id string) error {
	return f.clusterCall("delete-binding %s %s %s", scope, resource, id)
}

// TopicHistory answers from Histories (an empty history for unknown topics).
func (f *Fake) TopicHistory(topic string, _ time.Duration) monitor.TopicHistory {
	f.mu.Lock()
	defer f.mu.Unlock()
	if h, ok := f.Histories[topic]; ok {
		return h
	}
	return monitor.TopicHistory{Topic: topic}
}
