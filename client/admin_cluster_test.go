package client

import (
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/danube-console/danube-console/broker"
	"github.com/danube-console/danube-console/broker/brokertest"
	"github.com/danube-console/danube-console/internal/testenv"
)

// adminTestGroup starts n brokers naming each other as peers (each with its metrics endpoint), changed by
// hook, and shuts them down when the test ends.
func adminTestGroup(t *testing.T, n int, hook func(o *broker.Options)) []*broker.Server {
	t.Helper()
	if hook == nil {
		return brokertest.Group(t, n, nil)
	}
	return brokertest.Group(t, n, func(_ int, o *broker.Options) { hook(o) })
}

func TestAdminClusterStatusAndBalanceStandalone(t *testing.T) {
	srv := brokertest.Run(t, broker.Options{})
	a := adminTestAdmin(t, srv)
	ctx := adminTestCtx(t)
	st, err := a.ClusterStatus(ctx)
	self := srv.BrokerID()
	if err != nil || st.LeaderID != self || st.SelfID != self || !slices.Equal(st.Voters, []uint64{self}) || st.Term == 0 || st.RaftAddr == "" {
		t.Fatalf("ClusterStatus = %+v, %v; want a single-node cluster led by %d", st, err, self)
	}
	if err := a.CreateTopic(ctx, "/default/bal", TopicOptions{}); err != nil {
		t.Fatal(err)
	}
	b, err := a.ClusterBalance(ctx)
	if err != nil || b.BrokerCount != 1 || len(b.Brokers) != 1 || b.Brokers[0].BrokerID != strconv.FormatUint(self, 10) ||
		b.Brokers[0].Topics == 0 || b.CV != 0 || b.Strategy == "" {
		t.Fatalf("ClusterBalance = %+v, %v", b, err)
	}
	// A standalone broker cannot unload itself, its topics or rebalance: the broker's reason comes through.
	_, err = a.UnloadBroker(ctx, strconv.FormatUint(self, 10), UnloadOptions{})
	wantAPICode(t, err, codes.FailedPrecondition)
	if !strings.Contains(err.Error(), "unload broker") || !strings.Contains(err.Error(), "single broker cluster") {
		t.Fatalf("UnloadBroker error %q does not say what failed and why", err)
	}
	err = a.UnloadTopic(ctx, "/default/bal")
	wantAPICode(t, err, codes.FailedPrecondition)
	if !strings.Contains(err.Error(), "unload topic /default/bal") || !strings.Contains(err.Error(), "at least 2 brokers") {
		t.Fatalf("UnloadTopic error %q", err)
	}
	_, err = a.TriggerRebalance(ctx, true, 0)
	wantAPICode(t, err, codes.FailedPrecondition)
	if _, err := a.TriggerRebalance(ctx, false, -1); !errors.Is(err, ErrInvalidConfig) {
		t.Fatalf("TriggerRebalance(-1 moves) = %v, want ErrInvalidConfig", err)
	}
	if _, err := a.UnloadBroker(ctx, "1", UnloadOptions{MaxParallel: -1}); !errors.Is(err, ErrInvalidConfig) {
		t.Fatalf("UnloadBroker(MaxParallel -1) = %v, want ErrInvalidConfig", err)
	}
}

func TestAdminClusterGroup(t *testing.T) {
	g := adminTestGroup(t, 3, nil)
	ctx := adminTestCtx(t)
	a := adminTestAdmin(t, g[0])
	var ids []uint64
	for _, s := range g {
		ids = append(ids, s.BrokerID())
	}
	slices.Sort(ids)
	st, err := a.ClusterStatus(ctx)
	if err != nil || !slices.Equal(slices.Sorted(slices.Values(st.Voters)), ids) || st.LeaderID != ids[0] || st.SelfID != g[0].BrokerID() {
		t.Fatalf("ClusterStatus = %+v, %v; want voters %v led by %d", st, err, ids, ids[0])
	}

	// Two topics on broker 1, none elsewhere: the balance says so.
	a1 := adminTestAdmin(t, g[1])
	for _, n := range []string{"/default/g1", "/default/g2"} {
		if err := a1.CreateTopic(ctx, n, TopicOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	b, err := a.ClusterBalance(ctx)
	if err != nil || b.BrokerCount != 3 || len(b.Brokers) != 3 || b.CV <= 0 {
		t.Fatalf("ClusterBalance = %+v, %v", b, err)
	}
	id1 := strconv.FormatUint(g[1].BrokerID(), 10)
	i := slices.IndexFunc(b.Brokers, func(l BrokerLoad) bool { return l.BrokerID == id1 })
	j := (i + 1) % len(b.Brokers) // every broker serves its own events topic besides
	if i < 0 || b.Brokers[i].Topics != b.Brokers[j].Topics+2 || b.Brokers[i].Load != float64(b.Brokers[i].Topics) || !b.Brokers[i].Overloaded {
		t.Fatalf("broker %s in the balance: %+v", id1, b.Brokers)
	}

	// Unload broker 2 from broker 0 (forwarded to it): its topic cannot move, so it stays draining, until it is
	// activated again.
	id2 := strconv.FormatUint(g[2].BrokerID(), 10)
	res, err := a.UnloadBroker(ctx, id2, UnloadOptions{DryRun: true})
	if err != nil || res.Started || res.Total == 0 || res.Pending != res.Total {
		t.Fatalf("dry-run UnloadBroker = %+v, %v", res, err)
	}
	res, err = a.UnloadBroker(ctx, id2, UnloadOptions{})
	if err != nil || !res.Started {
		t.Fatalf("UnloadBroker = %+v, %v", res, err)
	}
	statusOf := func(id string) string {
		bs, err := a.Brokers(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range bs {
			if b.ID == id {
				return b.Status
			}
		}
		return "absent"
	}
	testenv.Eventually(t, 10*time.Second, func() bool { return statusOf(id2) != "active" }, "broker %s unloaded", id2)
	if err := a.ActivateBroker(ctx, id2, "test"); err != nil {
		t.Fatalf("ActivateBroker: %v", err)
	}
	testenv.Eventually(t, 10*time.Second, func() bool { return statusOf(id2) == "active" }, "broker %s active again", id2)

	// Broker 1's topics cannot move: the answer lists them as failed.
	res, err = a.UnloadBroker(ctx, id1, UnloadOptions{})
	if err != nil || !res.Started || res.Total < 2 || res.Failed != res.Total || len(res.FailedTopics) != res.Total {
		t.Fatalf("UnloadBroker(%s) = %+v, %v", id1, res, err)
	}
	if err := a.ActivateBroker(ctx, "", ""); !errors.Is(err, ErrInvalidConfig) && statusCode(err) != codes.InvalidArgument {
		t.Fatalf("ActivateBroker(\"\") = %v, want InvalidArgument", err)
	}
}

func statusCode(err error) codes.Code {
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.Code
	}
	return codes.OK
}

func TestAdminSecurity(t *testing.T) {
	secret := []byte("a-secret-for-the-test")
	srv := brokertest.Run(t, broker.Options{JWTSecret: secret, SuperAdmins: []string{"root"}})
	ctx := adminTestCtx(t)
	token := func(name string) Option {
		tok, err := broker.NewPrincipalToken(secret, broker.PrincipalUser, name, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		return WithToken(tok)
	}
	root := adminTestAdmin(t, srv, token("root"))
	if err := root.CreateRole(ctx, Role{Name: "viewer", Permissions: []string{"Lookup"}}); err != nil {
		t.Fatalf("CreateRole: %v", err)
	}
	if err := root.CreateRole(ctx, Role{Name: "ops", Permissions: []string{"ManageTopic"}}); err != nil {
		t.Fatalf("CreateRole: %v", err)
	}
	err := root.CreateRole(ctx, Role{Name: "bad", Permissions: []string{"Fly"}})
	wantAPICode(t, err, codes.InvalidArgument)
	if !strings.Contains(err.Error(), "create role bad") || !strings.Contains(err.Error(), "unknown permission: Fly") {
		t.Fatalf("CreateRole with a bad permission: %v", err)
	}
	for _, b := range []Binding{
		{ID: "b2", PrincipalType: broker.PrincipalUser, PrincipalName: "carol", Roles: []string{"viewer"}, Scope: "namespace", Resource: "default"},
		{ID: "b1", PrincipalType: broker.PrincipalUser, PrincipalName: "dave", Roles: []string{"ops"}, Scope: "cluster"},
	} {
		if err := root.CreateBinding(ctx, b); err != nil {
			t.Fatalf("CreateBinding %s: %v", b.ID, err)
		}
	}
	roles, err := root.Roles(ctx)
	if err != nil || len(roles) != 2 || roles[0].Name != "ops" || roles[1].Name != "viewer" || !slices.Equal(roles[1].Permissions, []string{"Lookup"}) {
		t.Fatalf("Roles = %+v, %v", roles, err)
	}
	bs, err := root.Bindings(ctx)
	if err != nil || len(bs) != 2 || bs[0].ID != "b1" || bs[0].Scope != "cluster" || bs[1].Resource != "default" ||
		!slices.Equal(bs[1].Roles, []string{"viewer"}) || bs[1].PrincipalName != "carol" {
		t.Fatalf("Bindings = %+v, %v", bs, err)
	}

	// carol may look up but not manage the cluster: the broker's reason comes through.
	carol := adminTestAdmin(t, srv, token("carol"))
	_, err = carol.Roles(ctx)
	if !errors.Is(err, ErrPermissionDenied) || !strings.Contains(err.Error(), "list roles") || !strings.Contains(err.Error(), "carol") {
		t.Fatalf("Roles as carol = %v, want a permission denial naming her", err)
	}
	if err := carol.DeleteRole(ctx, "ops"); !errors.Is(err, ErrPermissionDenied) {
		t.Fatalf("DeleteRole as carol = %v", err)
	}

	if err := root.DeleteBinding(ctx, "cluster", "", "b1"); err != nil {
		t.Fatalf("DeleteBinding: %v", err)
	}
	err = root.DeleteBinding(ctx, "cluster", "", "b1")
	wantAPICode(t, err, codes.NotFound)
	if err := root.DeleteRole(ctx, "ops"); err != nil {
		t.Fatalf("DeleteRole: %v", err)
	}
	wantAPICode(t, root.DeleteRole(ctx, "ops"), codes.NotFound)
	roles, _ = root.Roles(ctx)
	bs, _ = root.Bindings(ctx)
	if len(roles) != 1 || len(bs) != 1 {
		t.Fatalf("after deleting: roles %+v bindings %+v", roles, bs)
	}
}
