package monitor

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"

	"github.com/danube-console/danube-console/broker"
	"github.com/danube-console/danube-console/broker/brokertest"
	"github.com/danube-console/danube-console/client"
	"github.com/danube-console/danube-console/internal/testenv"
	"github.com/danube-console/danube-console/proto/adminpb"
)

// startGroup starts n brokers naming each other as peers, each with its metrics endpoint, and shuts them
// down when the test ends (a test may shut one down earlier: Shutdown twice is harmless).
func startGroup(t *testing.T, n int) []*broker.Server {
	t.Helper()
	return brokertest.Group(t, n, nil)
}

// adminOf connects an admin client to srv, closed when the test ends.
func adminOf(t *testing.T, srv *broker.Server, opts ...client.Option) *client.Admin {
	t.Helper()
	a, err := client.ConnectAdmin(context.Background(), srv.AdminURL(), opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	return a
}

// The admin source on a standalone embedded broker: first among the sources, up, with every part of the view
// (the embedded broker answers Raft and balance as a single-node cluster), and off after Close.
func TestAdminViewStandalone(t *testing.T) {
	f := start(t, Options{Identity: "user:me"})
	ctx := ctxT(t)
	if s := f.m.Snapshot(); len(s.Cluster.Sources) != 1 || s.Cluster.Sources[0].Kind != "admin" || s.Cluster.Sources[0].Status != SourcePending {
		t.Fatalf("before the first Refresh: %+v", s.Cluster.Sources)
	}
	if err := f.admin.CreateNamespace(ctx, "other"); err != nil {
		t.Fatal(err)
	}
	if err := f.admin.CreateRole(ctx, client.Role{Name: "viewer", Permissions: []string{"Lookup"}}); err != nil {
		t.Fatal(err)
	}
	if err := f.m.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	s := f.m.Snapshot()
	src := s.Cluster.Sources[0]
	if src.Kind != "admin" || src.URL != f.srv.AdminURL() || src.Status != SourceUp || src.LastOK.IsZero() || src.Err != "" {
		t.Fatalf("admin source: %+v", src)
	}
	v := s.Cluster.Admin
	self := strconv.FormatUint(f.srv.BrokerID(), 10)
	if len(v.Brokers) != 1 || v.Brokers[0].ID != self || v.Leader != self || v.BrokersErr != "" {
		t.Fatalf("brokers %+v leader %q (%s)", v.Brokers, v.Leader, v.BrokersErr)
	}
	if v.Raft == nil || v.Raft.LeaderID != f.srv.BrokerID() || !slices.Equal(v.Raft.Voters, []uint64{f.srv.BrokerID()}) || v.RaftErr != "" {
		t.Fatalf("raft %+v (%s)", v.Raft, v.RaftErr)
	}
	if v.Balance == nil || v.Balance.BrokerCount != 1 || len(v.Balance.Brokers) != 1 || v.BalanceErr != "" {
		t.Fatalf("balance %+v (%s)", v.Balance, v.BalanceErr)
	}
	i := slices.IndexFunc(v.Namespaces, func(n NamespaceInfo) bool { return n.Name == "other" })
	if i < 0 || !strings.Contains(v.Namespaces[i].Policies, `"max_producers_per_topic"`) || v.Namespaces[i].Err != "" {
		t.Fatalf("namespaces %+v", v.Namespaces)
	}
	if len(v.Roles) != 1 || v.Roles[0].Name != "viewer" || v.SecurityErr != "" || v.Identity != "user:me" {
		t.Fatalf("roles %+v bindings %+v (%s) identity %q", v.Roles, v.Bindings, v.SecurityErr, v.Identity)
	}
	// Nothing changed: the next snapshot shares the same slices.
	if s2 := f.m.Snapshot(); &s2.Cluster.Sources[0] != &s.Cluster.Sources[0] || &s2.Cluster.Admin.Namespaces[0] != &v.Namespaces[0] {
		t.Fatal("Snapshot copied the cluster's slices though nothing changed")
	}

	// An admin API that stops answering: the source fails with the reason and keeps the last view.
	quick := client.WithRetry(client.RetryPolicy{MaxRetries: 1, BaseBackoff: time.Millisecond, MaxBackoff: time.Millisecond})
	dead, err := client.ConnectAdmin(context.Background(), "127.0.0.1:1", quick)
	if err != nil {
		t.Fatal(err)
	}
	defer dead.Close()
	f.m.Attach(f.c, dead, nil)
	if err := f.m.Refresh(ctx); err == nil {
		t.Fatal("Refresh of a dead admin API succeeded")
	}
	src = f.m.Snapshot().Cluster.Sources[0]
	if src.Status != SourceFailing || !strings.Contains(src.Err, "does not answer") || src.URL != dead.URL() {
		t.Fatalf("failing admin source: %+v", src)
	}
	f.m.Close()
	if src := f.m.Snapshot().Cluster.Sources[0]; src.Status != SourceOff {
		t.Fatalf("after Close: %+v", src)
	}
}

// A principal without ManageCluster: the security lists, Raft and balance are denied with the broker's
// reason, and the rest of the source stands.
func TestAdminViewSecurityDenied(t *testing.T) {
	secret := []byte("monitor-test-secret")
	srv := brokertest.Run(t, broker.Options{JWTSecret: secret, SuperAdmins: []string{"root"}})
	ctx := ctxT(t)
	tok := func(name string) client.Option {
		s, err := broker.NewPrincipalToken(secret, broker.PrincipalUser, name, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		return client.WithToken(s)
	}
	root := adminOf(t, srv, tok("root"))
	if err := root.CreateRole(ctx, client.Role{Name: "ops", Permissions: []string{"ManageBroker", "ManageNamespace", "ManageTopic"}}); err != nil {
		t.Fatal(err)
	}
	if err := root.CreateBinding(ctx, client.Binding{ID: "ops", PrincipalType: broker.PrincipalUser, PrincipalName: "ops",
		Roles: []string{"ops"}, Scope: "cluster"}); err != nil {
		t.Fatal(err)
	}
	m := newTestMonitor(t, Options{AdminURL: srv.AdminURL(), Identity: "user:ops"})
	m.Attach(nil, adminOf(t, srv, tok("ops")), nil)
	if err := m.Refresh(ctx); err != nil {
		t.Fatalf("Refresh as ops: %v", err)
	}
	s := m.Snapshot()
	v := s.Cluster.Admin
	if s.Cluster.Sources[0].Status != SourceUp || len(v.Brokers) != 1 || !slices.Contains(s.Namespaces, "default") {
		t.Fatalf("source %+v brokers %+v namespaces %v", s.Cluster.Sources[0], v.Brokers, s.Namespaces)
	}
	for what, reason := range map[string]string{"security": v.SecurityErr, "raft": v.RaftErr, "balance": v.BalanceErr} {
		if !strings.Contains(reason, "ManageCluster") || !strings.Contains(reason, "user:ops") {
			t.Errorf("%s: %q does not say the broker's reason", what, reason)
		}
	}
	if v.Roles != nil || v.Identity != "user:ops" {
		t.Fatalf("roles %+v identity %q", v.Roles, v.Identity)
	}
	// The denied actions carry the reason too.
	err := m.CreateRole(ctx, Role{Name: "x", Permissions: []string{"Lookup"}})
	if !errors.Is(err, client.ErrPermissionDenied) || !strings.Contains(err.Error(), "create role x") {
		t.Fatalf("CreateRole as ops: %v", err)
	}
}

// countDescribes counts the DescribeTopic rpcs an admin client sends.
func countDescribes(n *atomic.Int64) client.Option {
	return client.WithDialOptions(grpc.WithChainUnaryInterceptor(func(ctx context.Context, method string, req, reply any,
		cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		if method == adminpb.TopicAdmin_DescribeTopic_FullMethodName {
			n.Add(1)
		}
		return invoker(ctx, method, req, reply, cc, opts...)
	}))
}

// Refresh describes every topic once, then only new ones, those the metrics or the console's consumers say
// changed, and a rotating share that covers every topic within fullPass.
func TestRefreshDescribesWhatChanged(t *testing.T) {
	srv := brokertest.Run(t, broker.Options{MetricsAddr: "127.0.0.1:0"})
	ctx := ctxT(t)
	var described atomic.Int64
	admin := adminOf(t, srv, countDescribes(&described))
	const n = 60
	for i := range n {
		if err := admin.CreateTopic(ctx, fmt.Sprintf("/default/t%02d", i), TopicOptions{Reliable: true}); err != nil {
			t.Fatal(err)
		}
	}
	clk := &fakeClock{}
	clk.ns.Store(time.Unix(1_700_000_000, 0).UnixNano())
	m := newTestMonitor(t, Options{Clock: clk.Now})
	m.Attach(nil, admin, nil)
	refresh := func() int64 {
		t.Helper()
		before := described.Load()
		if err := m.Refresh(ctx); err != nil {
			t.Fatal(err)
		}
		clk.Advance(5 * time.Second)
		return described.Load() - before
	}
	if got := refresh(); got != n {
		t.Fatalf("first poll described %d topics, want %d", got, n)
	}
	share := int64((n*5 + 59) / 60) // n topics over 60 s at one poll every 5 s
	if got := refresh(); got != share {
		t.Fatalf("second poll described %d topics, want the rotating share %d", got, share)
	}
	// A new topic and a subscription of the console's own consumer are described at once.
	if err := admin.CreateTopic(ctx, "/default/new", TopicOptions{}); err != nil {
		t.Fatal(err)
	}
	c, err := client.Connect(ctx, srv.URL(), client.WithObserver(m))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	cons, err := c.Subscribe(ctx, client.ConsumerConfig{Topic: "/default/t59", Subscription: "mine", Name: "c"})
	if err != nil {
		t.Fatal(err)
	}
	defer cons.Close(context.Background())
	share = int64(((n+1)*5 + 59) / 60) // one more topic
	if got := refresh(); got != share+2 {
		t.Fatalf("after a new topic and a subscription: described %d, want %d", got, share+2)
	}
	s := m.Snapshot()
	i := slices.IndexFunc(s.Topics, func(tp TopicStats) bool { return tp.Name == "/default/t59" })
	if i < 0 || !slices.Equal(s.Topics[i].Subscriptions, []string{"mine"}) || !slices.ContainsFunc(s.Topics, func(tp TopicStats) bool { return tp.Name == "/default/new" }) {
		t.Fatalf("topics %+v", s.Topics)
	}
	// Every topic is described again within a full pass.
	var total int64
	for range 12 {
		total += refresh()
	}
	if total < n {
		t.Fatalf("12 polls described %d topics, fewer than the %d there are", total, n)
	}
}

// A 3-broker group: Raft and balance cover the group, the metrics endpoints are discovered from ListBrokers,
// and a broker that stops is kept in the sources as failing because it left the cluster.
func TestAdminViewGroupAndDiscovery(t *testing.T) {
	g := startGroup(t, 3)
	ctx := ctxT(t)
	m := newTestMonitor(t, Options{AdminURL: g[0].AdminURL(), DiscoverMetrics: true, MetricsInterval: 100 * time.Millisecond,
		MetricsTimeout: 10 * time.Second})
	m.Attach(nil, adminOf(t, g[0]), nil)
	if err := m.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	s := m.Snapshot()
	v := s.Cluster.Admin
	if v.Raft == nil || len(v.Raft.Voters) != 3 || v.Balance == nil || v.Balance.BrokerCount != 3 || len(v.Brokers) != 3 {
		t.Fatalf("raft %+v (%s) balance %+v brokers %+v", v.Raft, v.RaftErr, v.Balance, v.Brokers)
	}
	s = eventually(t, m, "the three discovered endpoints are up", func(s Snapshot) bool {
		up := 0
		for _, src := range s.Cluster.Sources[1:] {
			if src.Kind == "metrics" && src.Status == SourceUp {
				up++
			}
		}
		return up == 3 && len(s.Cluster.Brokers) == 3
	})
	if len(s.Cluster.Sources) != 4 || s.Cluster.Sources[0].Kind != "admin" {
		t.Fatalf("sources %+v", s.Cluster.Sources)
	}
	// Broker 2 stops: it leaves ListBrokers, and its endpoint says why.
	gone := strconv.FormatUint(g[2].BrokerID(), 10)
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	g[2].Shutdown(sctx)
	cancel()
	if err := m.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	s = eventually(t, m, "the stopped broker's endpoint fails as having left", func(s Snapshot) bool {
		for _, src := range s.Cluster.Sources {
			if src.Broker == gone {
				return src.Status == SourceFailing && strings.Contains(src.Err, "left the cluster")
			}
		}
		return false
	})
	if len(s.Cluster.Admin.Brokers) != 2 || len(s.Cluster.Sources) != 4 {
		t.Fatalf("after broker %s left: brokers %+v sources %+v", gone, s.Cluster.Admin.Brokers, s.Cluster.Sources)
	}
	// A later scrape does not revive it, and Refresh keeps it listed for a while.
	if err := m.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	for _, src := range m.Snapshot().Cluster.Sources {
		if src.Broker == gone && (src.Status != SourceFailing || !strings.Contains(src.Err, "left the cluster")) {
			t.Fatalf("the endpoint of the broker that left: %+v", src)
		}
	}
}

func TestReachableAddr(t *testing.T) {
	for in, want := range map[string]string{
		"0.0.0.0:9040":                "broker.example:9040",
		"[::]:9040":                   "broker.example:9040",
		":9040":                       "broker.example:9040",
		"http://0.0.0.0:9040/metrics": "http://broker.example:9040/metrics",
		"10.0.0.5:9040":               "10.0.0.5:9040",
		"127.0.0.1:9040":              "127.0.0.1:9040",
		"garbage":                     "garbage",
	} {
		if got := reachableAddr(in, "broker.example"); got != want {
			t.Errorf("reachableAddr(%q) = %q, want %q", in, got, want)
		}
	}
}

// With the broker's metrics scraped, a subscription another program creates is described at the first poll
// after the metrics name it, though the rotating share would not reach its topic yet.
func TestRefreshFollowsTheMetrics(t *testing.T) {
	srv := brokertest.Run(t, broker.Options{MetricsAddr: "127.0.0.1:0"})
	ctx := ctxT(t)
	admin := adminOf(t, srv)
	const n = 40
	for i := range n {
		if err := admin.CreateTopic(ctx, fmt.Sprintf("/default/t%02d", i), TopicOptions{Reliable: true}); err != nil {
			t.Fatal(err)
		}
	}
	m := newTestMonitor(t, Options{MetricsURLs: []string{srv.MetricsAddr()}, MetricsInterval: 100 * time.Millisecond,
		MetricsTimeout: 10 * time.Second})
	m.Attach(nil, admin, nil)
	eventually(t, m, "the metrics are up", func(s Snapshot) bool {
		return len(s.Cluster.Sources) == 2 && s.Cluster.Sources[1].Kind == "metrics" && s.Cluster.Sources[1].Status == SourceUp
	})
	for range 2 {
		if err := m.Refresh(ctx); err != nil {
			t.Fatal(err)
		}
	}
	other := connectTo(t, srv) // another program: not observed by the monitor
	cons, err := other.Subscribe(ctx, client.ConsumerConfig{Topic: "/default/t30", Subscription: "theirs", Name: "x"})
	if err != nil {
		t.Fatal(err)
	}
	defer cons.Close(context.Background())
	eventually(t, m, "the metrics name the subscription", func(s Snapshot) bool {
		_, ok := subRow(s, "/default/t30", "theirs")
		return ok
	})
	if err := m.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	s := m.Snapshot()
	i := slices.IndexFunc(s.Topics, func(tp TopicStats) bool { return tp.Name == "/default/t30" })
	if i < 0 || !slices.Equal(s.Topics[i].Subscriptions, []string{"theirs"}) {
		t.Fatalf("topic t30 after the metrics named its subscription: %+v", s.Topics[i])
	}
}

// Refreshes that pile up behind a running one share the next poll instead of polling one after another.
func TestRefreshCoalesces(t *testing.T) {
	f := start(t, Options{})
	ctx := ctxT(t)
	f.m.refreshMu.Lock() // a slow poll
	errs := make(chan error, 10)
	for range 10 {
		go func() { errs <- f.m.Refresh(ctx) }()
	}
	testenv.Eventually(t, 10*time.Second, func() bool { return testenv.GoroutinesIn("monitor.(*Monitor).Refresh(") == 10 },
		"ten callers wait for the running poll")
	f.m.refreshMu.Unlock()
	for range 10 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if n := f.m.poll.starts.Load(); n != 1 {
		t.Fatalf("ten waiting callers ran %d polls, want 1", n)
	}
}
