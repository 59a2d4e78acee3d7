package monitor

import (
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/danube-console/danube-console/client"
)

// The topic actions against the embedded broker: create, describe (with each subscription's policy and
// window, and a partitioned topic merged), change the policy and window, delete; the next snapshots show
// the changes without the test calling Refresh.
func TestClusterAdminTopics(t *testing.T) {
	f := start(t, Options{})
	ctx := ctxT(t)
	if err := f.m.CreateTopic(ctx, "/default/orders", TopicOptions{Reliable: true}); err != nil {
		t.Fatal(err)
	}
	eventually(t, f.m, "the new topic is listed", func(s Snapshot) bool {
		return slices.ContainsFunc(s.Topics, func(tp TopicStats) bool { return tp.Name == "/default/orders" })
	})
	f.consumer(t, "/default/orders", "billing", "c1")
	f.consumer(t, "/default/orders", "audit", "c2")
	p := FailurePolicy{MaxRedeliveries: 3, AckTimeout: 7 * time.Second, BaseRedeliveryDelay: time.Second,
		MaxRedeliveryDelay: 4 * time.Second, Backoff: "fixed", Poison: "drop"}
	if err := f.m.SetFailurePolicy(ctx, "/default/orders", "billing", p); err != nil {
		t.Fatal(err)
	}
	if err := f.m.SetDispatchWindow(ctx, "/default/orders", "billing", 42); err != nil {
		t.Fatal(err)
	}
	d, err := f.m.DescribeTopic(ctx, "/default/orders")
	if err != nil || d.Name != "/default/orders" || !d.Reliable || !slices.Equal(d.Subscriptions, []string{"audit", "billing"}) || len(d.Subs) != 2 {
		t.Fatalf("DescribeTopic = %+v, %v", d, err)
	}
	b := d.Subs[1]
	if b.Name != "billing" || b.Type != SubscriptionShared || b.Policy == nil || *b.Policy != p || b.DispatchWindow != 42 || b.Err != "" {
		t.Fatalf("billing: %+v (policy %+v)", b, b.Policy)
	}
	if a := d.Subs[0]; a.Name != "audit" || a.Type != SubscriptionShared || a.Err != "" {
		t.Fatalf("audit: %+v", a)
	}

	// A partitioned topic's base name is described by merging its partitions.
	if err := f.m.CreateTopic(ctx, "/default/parted", TopicOptions{Partitions: 2}); err != nil {
		t.Fatal(err)
	}
	f.consumer(t, "/default/parted", "s", "c3")
	d, err = f.m.DescribeTopic(ctx, "/default/parted")
	if err != nil || d.Name != "/default/parted" || d.Reliable || !slices.Equal(d.Subscriptions, []string{"s"}) || len(d.Subs) != 1 || d.Subs[0].Policy != nil {
		t.Fatalf("DescribeTopic(partitioned) = %+v, %v", d, err)
	}
	if _, err := f.m.DescribeTopic(ctx, "/default/none"); !errors.Is(err, client.ErrTopicNotFound) {
		t.Fatalf("DescribeTopic(missing) = %v", err)
	}

	// A standalone broker refuses to unload a topic or rebalance: the broker's reason comes through.
	err = f.m.UnloadTopic(ctx, "/default/orders")
	if status.Code(err) != codes.FailedPrecondition || !strings.Contains(err.Error(), "unload topic /default/orders") ||
		!strings.Contains(err.Error(), "at least 2 brokers") {
		t.Fatalf("UnloadTopic = %v", err)
	}
	if _, err := f.m.Rebalance(ctx, true); status.Code(err) != codes.FailedPrecondition || !strings.Contains(err.Error(), "Rebalancing is not configured") {
		t.Fatalf("Rebalance = %v", err)
	}

	if err := f.m.DeleteTopic(ctx, "/default/parted"); err != nil {
		t.Fatal(err)
	}
	eventually(t, f.m, "the deleted topic's partitions are gone", func(s Snapshot) bool {
		return !slices.ContainsFunc(s.Topics, func(tp TopicStats) bool { return strings.HasPrefix(tp.Name, "/default/parted") })
	})
	if err := f.m.DeleteTopic(ctx, "/default/parted"); err == nil || !strings.Contains(err.Error(), "delete topic /default/parted") {
		t.Fatalf("deleting again = %v", err)
	}
}

// Roles and bindings created and deleted through the monitor show in the admin view.
func TestClusterAdminSecurity(t *testing.T) {
	f := start(t, Options{})
	ctx := ctxT(t)
	if err := f.m.CreateRole(ctx, Role{Name: "viewer", Permissions: []string{"Lookup"}}); err != nil {
		t.Fatal(err)
	}
	if err := f.m.CreateBinding(ctx, Binding{ID: "b", PrincipalType: "user", PrincipalName: "carol", Roles: []string{"viewer"},
		Scope: "namespace", Resource: "default"}); err != nil {
		t.Fatal(err)
	}
	eventually(t, f.m, "the role and binding show", func(s Snapshot) bool {
		v := s.Cluster.Admin
		return len(v.Roles) == 1 && v.Roles[0].Name == "viewer" && len(v.Bindings) == 1 && v.Bindings[0].PrincipalName == "carol"
	})
	if err := f.m.CreateRole(ctx, Role{Name: "bad", Permissions: []string{"Fly"}}); status.Code(err) != codes.InvalidArgument ||
		!strings.Contains(err.Error(), "unknown permission: Fly") {
		t.Fatalf("CreateRole(bad) = %v", err)
	}
	if err := f.m.DeleteBinding(ctx, "namespace", "default", "b"); err != nil {
		t.Fatal(err)
	}
	if err := f.m.DeleteRole(ctx, "viewer"); err != nil {
		t.Fatal(err)
	}
	eventually(t, f.m, "the role and binding are gone", func(s Snapshot) bool {
		v := s.Cluster.Admin
		return len(v.Roles) == 0 && len(v.Bindings) == 0 && s.Cluster.Sources[0].Status == SourceUp
	})
	if err := f.m.DeleteRole(ctx, "viewer"); status.Code(err) != codes.NotFound {
		t.Fatalf("DeleteRole(gone) = %v", err)
	}
}

// Read-only refuses every change (a dry-run rebalance is not one), and without an admin client every
// action says so.
func TestClusterAdminRefusals(t *testing.T) {
	f := start(t, Options{ReadOnly: true})
	ctx := ctxT(t)
	changes := map[string]func() error{
		"create topic":  func() error { return f.m.CreateTopic(ctx, "/default/x", TopicOptions{}) },
		"delete topic":  func() error { return f.m.DeleteTopic(ctx, "/default/x") },
		"unload topic":  func() error { return f.m.UnloadTopic(ctx, "/default/x") },
		"policy":        func() error { return f.m.SetFailurePolicy(ctx, "/default/x", "s", FailurePolicy{}) },
		"window":        func() error { return f.m.SetDispatchWindow(ctx, "/default/x", "s", 1) },
		"unload broker": func() error { _, err := f.m.UnloadBroker(ctx, "1"); return err },
		"activate":      func() error { return f.m.ActivateBroker(ctx, "1") },
		"rebalance":     func() error { _, err := f.m.Rebalance(ctx, false); return err },
		"create role":   func() error { return f.m.CreateRole(ctx, Role{Name: "r"}) },
		"delete role":   func() error { return f.m.DeleteRole(ctx, "r") },
		"bind":          func() error { return f.m.CreateBinding(ctx, Binding{ID: "b"}) },
		"unbind":        func() error { return f.m.DeleteBinding(ctx, "cluster", "", "b") },
	}
	for what, do := range changes {
		if err := do(); !errors.Is(err, ErrReadOnly) {
			t.Errorf("%s on a read-only monitor = %v", what, err)
		}
	}
	if _, err := f.m.Rebalance(ctx, true); errors.Is(err, ErrReadOnly) || status.Code(err) != codes.FailedPrecondition {
		t.Errorf("a dry-run rebalance on a read-only monitor = %v, want the broker's answer", err)
	}
	if _, err := f.m.DescribeTopic(ctx, "/default/none"); !errors.Is(err, client.ErrTopicNotFound) {
		t.Errorf("DescribeTopic on a read-only monitor = %v", err)
	}
	m := newTestMonitor(t, Options{})
	if _, err := m.DescribeTopic(ctx, "/default/x"); !errors.Is(err, ErrNoAdmin) || !strings.Contains(err.Error(), "describe /default/x") {
		t.Errorf("DescribeTopic without admin = %v", err)
	}
	if err := m.ActivateBroker(ctx, "1"); !errors.Is(err, ErrNoAdmin) {
		t.Errorf("ActivateBroker without admin = %v", err)
	}
}

// Unload and activate a broker of a 3-broker group through the monitor; the admin view shows its status.
func TestClusterAdminBrokers(t *testing.T) {
	g := startGroup(t, 3)
	ctx := ctxT(t)
	m := newTestMonitor(t, Options{AdminURL: g[0].AdminURL()})
	m.Attach(nil, adminOf(t, g[0]), nil)
	id := strconv.FormatUint(g[2].BrokerID(), 10)
	res, err := m.UnloadBroker(ctx, id)
	if err != nil || !res.Started {
		t.Fatalf("UnloadBroker(%s) = %+v, %v", id, res, err)
	}
	statusOf := func(s Snapshot) string {
		for _, b := range s.Cluster.Admin.Brokers {
			if b.ID == id {
				return b.Status
			}
		}
		return ""
	}
	eventually(t, m, "the unloaded broker is not active", func(s Snapshot) bool { return statusOf(s) != "" && statusOf(s) != "active" })
	if err := m.ActivateBroker(ctx, id); err != nil {
		t.Fatal(err)
	}
	eventually(t, m, "the broker is active again", func(s Snapshot) bool { return statusOf(s) == "active" })
	// A broker id no member has: the broker's answer.
	if _, err := m.UnloadBroker(ctx, ""); status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "broker_id") {
		t.Fatalf("UnloadBroker(\"\") = %v", err)
	}
}
