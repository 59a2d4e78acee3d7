package client

import (
	"context"
	"errors"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/danube-console/danube-console/broker"
	"github.com/danube-console/danube-console/broker/brokertest"
	"github.com/danube-console/danube-console/internal/testenv"
	"github.com/danube-console/danube-console/proto/adminpb"
	"github.com/danube-console/danube-console/proto/danubepb"
	"github.com/danube-console/danube-console/proto/schemapb"
)

// adminTestCtx is a context for one test, cancelled when it ends.
func adminTestCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// adminTestAdmin connects an Admin to srv's admin port and closes it when the test ends.
func adminTestAdmin(t *testing.T, srv *broker.Server, opts ...Option) *Admin {
	t.Helper()
	a, err := ConnectAdmin(context.Background(), srv.AdminURL(), opts...)
	if err != nil {
		t.Fatalf("ConnectAdmin(%s): %v", srv.AdminURL(), err)
	}
	t.Cleanup(func() { a.Close() })
	return a
}

// adminTestClient connects a Client to srv's client port and closes it when the test ends.
func adminTestClient(t *testing.T, srv *broker.Server, opts ...Option) *Client {
	t.Helper()
	c, err := Connect(context.Background(), srv.URL(), opts...)
	if err != nil {
		t.Fatalf("Connect(%s): %v", srv.URL(), err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// wantAPICode fails unless err carries the gRPC code want, both through status.Code and an *APIError.
func wantAPICode(t *testing.T, err error, want codes.Code) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want %s", want)
	}
	if got := status.Code(err); got != want {
		t.Fatalf("status.Code(%v) = %s, want %s", err, got, want)
	}
	var ae *APIError
	if !errors.As(err, &ae) || ae.Code != want {
		t.Fatalf("error %v is not an *APIError with code %s", err, want)
	}
}

func TestConnectAdminURL(t *testing.T) {
	cases := map[string]string{
		"localhost":               "localhost:50051",
		"localhost:1234":          "localhost:1234",
		"http://10.0.0.1":         "http://10.0.0.1:50051",
		"https://admin.example":   "https://admin.example:50051",
		"https://admin.example:9": "https://admin.example:9",
		"[::1]":                   "[::1]:50051",
		"http://[::1]:7":          "http://[::1]:7",
	}
	for in, want := range cases {
		if got := withAdminPort(in); got != want {
			t.Errorf("withAdminPort(%q) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[string]string{
		"localhost":             "http://localhost:50051",
		"https://admin.example": "https://admin.example:50051",
		"127.0.0.1:6000":        "http://127.0.0.1:6000",
	} {
		a, err := ConnectAdmin(context.Background(), in)
		if err != nil {
			t.Fatalf("ConnectAdmin(%q): %v", in, err)
		}
		if a.URL() != want {
			t.Errorf("ConnectAdmin(%q).URL() = %q, want %q", in, a.URL(), want)
		}
		if err := a.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	}
	for _, bad := range []string{"", "ftp://host", "http://host/path"} {
		if _, err := ConnectAdmin(context.Background(), bad); !errors.Is(err, ErrInvalidURL) {
			t.Errorf("ConnectAdmin(%q) = %v, want ErrInvalidURL", bad, err)
		}
	}
	if _, err := ConnectAdmin(context.Background(), "localhost", WithToken("")); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("ConnectAdmin with an empty token = %v, want ErrInvalidConfig", err)
	}
}

func TestAdminClose(t *testing.T) {
	srv := brokertest.Run(t, broker.Options{})
	a, err := ConnectAdmin(context.Background(), srv.AdminURL())
	if err != nil {
		t.Fatal(err)
	}
	ctx := adminTestCtx(t)
	if _, err := a.Leader(ctx); err != nil {
		t.Fatalf("Leader: %v", err)
	}
	if err := a.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := a.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := a.Namespaces(ctx); !errors.Is(err, ErrClosed) {
		t.Fatalf("Namespaces after Close = %v, want ErrClosed", err)
	}
	if _, err := a.Schemas().Subjects(ctx); !errors.Is(err, ErrClosed) {
		t.Fatalf("Subjects after Close = %v, want ErrClosed", err)
	}
}

func TestAdminBrokersAndLeader(t *testing.T) {
	srv := brokertest.Run(t, broker.Options{})
	a := adminTestAdmin(t, srv)
	ctx := adminTestCtx(t)
	bs, err := a.Brokers(ctx)
	if err != nil {
		t.Fatalf("Brokers: %v", err)
	}
	want := BrokerInfo{ID: strconv.FormatUint(srv.BrokerID(), 10), Addr: srv.URL(), Role: "Cluster_Leader", AdminAddr: srv.AdminURL(),
		MetricsAddr: srv.MetricsAddr(), Status: "active"}
	if len(bs) != 1 || bs[0] != want {
		t.Fatalf("Brokers = %+v, want [%+v]", bs, want)
	}
	leader, err := a.Leader(ctx)
	if err != nil || leader != want.ID {
		t.Fatalf("Leader = %q, %v; want %q", leader, err, want.ID)
	}
}

func TestAdminNamespaces(t *testing.T) {
	srv := brokertest.Run(t, broker.Options{Policies: broker.Policies{MaxProducersPerTopic: 7}})
	a := adminTestAdmin(t, srv)
	ctx := adminTestCtx(t)

	ns, err := a.Namespaces(ctx)
	if err != nil || !slices.Equal(ns, []string{"default", "system"}) {
		t.Fatalf("Namespaces = %q, %v; want [default system]", ns, err)
	}
	if err := a.CreateNamespace(ctx, "orders"); err != nil {
		t.Fatalf("CreateNamespace: %v", err)
	}
	if err := a.CreateNamespace(ctx, "/billing"); err != nil { // a leading slash is accepted
		t.Fatalf("CreateNamespace(/billing): %v", err)
	}
	ns, err = a.Namespaces(ctx)
	if err != nil || !slices.Equal(ns, []string{"billing", "default", "orders", "system"}) {
		t.Fatalf("Namespaces = %q, %v", ns, err)
	}
	// Namespace admin failures are NotFound, "already exists" included.
	wantAPICode(t, a.CreateNamespace(ctx, "orders"), codes.NotFound)
	wantAPICode(t, a.DeleteNamespace(ctx, "system"), codes.NotFound) // it holds the events topic
	wantAPICode(t, a.DeleteNamespace(ctx, "missing"), codes.NotFound)

	pol, err := a.NamespacePolicies(ctx, "orders")
	if err != nil {
		t.Fatalf("NamespacePolicies: %v", err)
	}
	if pol["max_producers_per_topic"] != float64(7) || pol["max_message_size"] != float64(broker.DefaultMaxMessageSize) {
		t.Fatalf("NamespacePolicies = %v", pol)
	}
	_, err = a.NamespacePolicies(ctx, "missing")
	wantAPICode(t, err, codes.NotFound)

	// A namespace with a topic cannot be deleted; an empty one can.
	if err := a.CreateTopic(ctx, "/orders/t", TopicOptions{}); err != nil {
		t.Fatalf("CreateTopic: %v", err)
	}
	err = a.DeleteNamespace(ctx, "orders")
	wantAPICode(t, err, codes.NotFound)
	if !strings.Contains(err.Error(), "delete namespace orders") {
		t.Errorf("error %q does not name the operation", err)
	}
	if err := a.DeleteTopic(ctx, "/orders/t"); err != nil {
		t.Fatalf("DeleteTopic: %v", err)
	}
	if err := a.DeleteNamespace(ctx, "orders"); err != nil {
		t.Fatalf("DeleteNamespace: %v", err)
	}
	if err := a.DeleteNamespace(ctx, "billing"); err != nil {
		t.Fatalf("DeleteNamespace(billing): %v", err)
	}
	ns, err = a.Namespaces(ctx)
	if err != nil || !slices.Equal(ns, []string{"default", "system"}) {
		t.Fatalf("Namespaces after delete = %q, %v", ns, err)
	}
}

func TestAdminTopics(t *testing.T) {
	srv := brokertest.Run(t, broker.Options{})
	a := adminTestAdmin(t, srv)
	c := adminTestClient(t, srv)
	ctx := adminTestCtx(t)
	leader, err := a.Leader(ctx)
	if err != nil {
		t.Fatal(err)
	}

	if err := a.CreateTopic(ctx, "/default/rel", TopicOptions{Reliable: true}); err != nil {
		t.Fatalf("CreateTopic reliable: %v", err)
	}
	if err := a.CreateTopic(ctx, "/default/fast", TopicOptions{}); err != nil {
		t.Fatalf("CreateTopic non-reliable: %v", err)
	}
	if err := a.CreateTopic(ctx, "/default/parts", TopicOptions{Reliable: true, Partitions: 3}); err != nil {
		t.Fatalf("CreateTopic partitioned: %v", err)
	}
	wantAPICode(t, a.CreateTopic(ctx, "/default/rel", TopicOptions{}), codes.NotFound) // already exists
	wantAPICode(t, a.CreateTopic(ctx, "/missing/t", TopicOptions{}), codes.NotFound)
	wantAPICode(t, a.CreateTopic(ctx, "no-slash", TopicOptions{}), codes.NotFound)
	wantAPICode(t, a.CreateTopic(ctx, "/default/x", TopicOptions{SchemaSubject: "unregistered"}), codes.NotFound)
	if err := a.CreateTopic(ctx, "/default/neg", TopicOptions{Partitions: -1}); !errors.Is(err, ErrInvalidConfig) {
		t.Fatalf("CreateTopic with -1 partitions = %v, want ErrInvalidConfig", err)
	}

	parts, err := c.Partitions(ctx, "/default/parts")
	if err != nil {
		t.Fatalf("Partitions: %v", err)
	}
	slices.Sort(parts)
	if want := []string{"/default/parts-part-0", "/default/parts-part-1", "/default/parts-part-2"}; !slices.Equal(parts, want) {
		t.Fatalf("Partitions = %q, want %q", parts, want)
	}
	if parts, err := c.Partitions(ctx, "/default/rel"); err != nil || !slices.Equal(parts, []string{"/default/rel"}) {
		t.Fatalf("Partitions of a plain topic = %q, %v", parts, err)
	}

	want := []TopicInfo{
		{Name: "/default/fast", BrokerID: leader},
		{Name: "/default/parts-part-0", BrokerID: leader, Reliable: true},
		{Name: "/default/parts-part-1", BrokerID: leader, Reliable: true},
		{Name: "/default/parts-part-2", BrokerID: leader, Reliable: true},
		{Name: "/default/rel", BrokerID: leader, Reliable: true},
	}
	for _, ns := range []string{"default", "/default"} {
		got, err := a.Topics(ctx, ns)
		if err != nil || !slices.Equal(got, want) {
			t.Fatalf("Topics(%q) = %+v, %v; want %+v", ns, got, err, want)
		}
	}
	if got, err := a.Topics(ctx, "system"); err != nil || slices.ContainsFunc(got, func(ti TopicInfo) bool { return !strings.HasPrefix(ti.Name, "/system/") }) {
		t.Fatalf("Topics(system) = %+v, %v", got, err)
	}
	if got, err := a.Topics(ctx, "missing"); err != nil || len(got) != 0 { // the real broker's answer: OK, none
		t.Fatalf("Topics(missing) = %+v, %v", got, err)
	}
	got, err := a.BrokerTopics(ctx, leader)
	// The broker also serves its own /system topics.
	got = slices.DeleteFunc(got, func(ti TopicInfo) bool { return strings.HasPrefix(ti.Name, "/system/") })
	if err != nil || !slices.Equal(got, want) {
		t.Fatalf("BrokerTopics = %+v, %v; want %+v", got, err, want)
	}
	// A broker id that is no broker's: no topics, as the real broker answers.
	if got, err := a.BrokerTopics(ctx, "12345"); err != nil || len(got) != 0 {
		t.Fatalf("BrokerTopics(unknown) = %+v, %v; want none", got, err)
	}

	d, err := a.DescribeTopic(ctx, "/default/rel")
	if err != nil {
		t.Fatalf("DescribeTopic: %v", err)
	}
	if d.Name != "/default/rel" || d.BrokerID != leader || !d.Reliable || len(d.Subscriptions) != 0 || d.SchemaSubject != "" || d.SchemaID != 0 {
		t.Fatalf("DescribeTopic = %+v", d)
	}
	_, err = a.DescribeTopic(ctx, "/default/missing")
	wantAPICode(t, err, codes.NotFound)

	// Deleting the base name removes every partition; a partition alone cannot be deleted.
	wantAPICode(t, a.DeleteTopic(ctx, "/default/parts-part-1"), codes.NotFound)
	if err := a.DeleteTopic(ctx, "/default/parts"); err != nil {
		t.Fatalf("DeleteTopic(partitioned): %v", err)
	}
	if err := a.DeleteTopic(ctx, "/default/fast"); err != nil {
		t.Fatalf("DeleteTopic: %v", err)
	}
	wantAPICode(t, a.DeleteTopic(ctx, "/default/fast"), codes.NotFound)
	got, err = a.Topics(ctx, "default")
	if err != nil || !slices.Equal(got, []TopicInfo{{Name: "/default/rel", BrokerID: leader, Reliable: true}}) {
		t.Fatalf("Topics after delete = %+v, %v", got, err)
	}
	if parts, err := c.Partitions(ctx, "/default/parts"); err != nil || len(parts) != 0 {
		t.Fatalf("Partitions after delete = %q, %v", parts, err)
	}
}

func TestAdminDescribeTopicWithSchema(t *testing.T) {
	srv := brokertest.Run(t, broker.Options{})
	a := adminTestAdmin(t, srv)
	ctx := adminTestCtx(t)
	id, _, _, err := a.Schemas().Register(ctx, "orders-value", "json_schema", []byte(srJSONv1))
	if err != nil {
		t.Fatal(err)
	}
	if _, v2, _, err := a.Schemas().Register(ctx, "orders-value", "json_schema", []byte(srJSONAddOptional)); err != nil || v2 != 2 {
		t.Fatalf("Register v2 = %d, %v", v2, err)
	}
	if err := a.CreateTopic(ctx, "/default/orders", TopicOptions{Reliable: true, SchemaSubject: "orders-value"}); err != nil {
		t.Fatalf("CreateTopic with a schema: %v", err)
	}
	if err := a.CreateTopic(ctx, "/default/orders-p", TopicOptions{Partitions: 2, SchemaSubject: "orders-value"}); err != nil {
		t.Fatalf("CreateTopic partitioned with a schema: %v", err)
	}
	d, err := a.DescribeTopic(ctx, "/default/orders")
	if err != nil {
		t.Fatal(err)
	}
	want := TopicDescription{Name: "/default/orders", BrokerID: d.BrokerID, Reliable: true, SchemaSubject: "orders-value",
		SchemaID: id, SchemaVersion: 2, SchemaType: "json_schema", Compatibility: "backward"}
	if d.BrokerID == "" || !adminTestEqualDescription(d, want) {
		t.Fatalf("DescribeTopic = %+v, want %+v", d, want)
	}
	d, err = a.DescribeTopic(ctx, "/default/orders-p-part-1")
	if err != nil || d.SchemaSubject != "orders-value" || d.Reliable {
		t.Fatalf("DescribeTopic(partition) = %+v, %v", d, err)
	}
	cfg, err := a.Schemas().TopicConfig(ctx, "/default/orders")
	if err != nil || cfg.Subject != "orders-value" || cfg.SchemaID != id {
		t.Fatalf("TopicConfig = %+v, %v", cfg, err)
	}
}

func adminTestEqualDescription(a, b TopicDescription) bool {
	return a.Name == b.Name && a.BrokerID == b.BrokerID && a.Reliable == b.Reliable &&
		slices.Equal(a.Subscriptions, b.Subscriptions) && a.SchemaSubject == b.SchemaSubject && a.SchemaID == b.SchemaID &&
		a.SchemaVersion == b.SchemaVersion && a.SchemaType == b.SchemaType && a.Compatibility == b.Compatibility
}

// adminTestSubscribe subscribes a consumer over the raw wire API (no stream), so that admin tests do not depend on
// the client's consumer.
func adminTestSubscribe(t *testing.T, w brokertest.Clients, topic, sub, name string, typ danubepb.ConsumerRequest_SubscriptionType) {
	t.Helper()
	_, err := w.Consumer.Subscribe(adminTestCtx(t), &danubepb.ConsumerRequest{RequestId: 1, TopicName: topic,
		ConsumerName: name, Subscription: sub, SubscriptionType: typ})
	if err != nil {
		t.Fatalf("Subscribe(%s, %s): %v", topic, sub, err)
	}
}

func TestAdminSubscriptions(t *testing.T) {
	srv := brokertest.Run(t, broker.Options{StreamWaitTimeout: 300 * time.Millisecond})
	a := adminTestAdmin(t, srv)
	w := brokertest.Dial(t, srv)
	ctx := adminTestCtx(t)
	const topic = "/default/work"
	if err := a.CreateTopic(ctx, topic, TopicOptions{Reliable: true}); err != nil {
		t.Fatal(err)
	}
	if err := a.CreateTopic(ctx, "/default/plain", TopicOptions{}); err != nil {
		t.Fatal(err)
	}
	adminTestSubscribe(t, w, topic, "workers", "w1", danubepb.ConsumerRequest_Shared)
	adminTestSubscribe(t, w, topic, "audit", "a1", danubepb.ConsumerRequest_KeyShared)
	adminTestSubscribe(t, w, "/default/plain", "p", "p1", danubepb.ConsumerRequest_Failover)

	subs, err := a.Subscriptions(ctx, topic)
	if err != nil || !slices.Equal(subs, []string{"audit", "workers"}) {
		t.Fatalf("Subscriptions = %q, %v", subs, err)
	}
	d, err := a.DescribeTopic(ctx, topic)
	if err != nil || !slices.Equal(slices.Sorted(slices.Values(d.Subscriptions)), []string{"audit", "workers"}) {
		t.Fatalf("DescribeTopic.Subscriptions = %q, %v", d.Subscriptions, err)
	}
	if subs, err := a.Subscriptions(ctx, "/default/missing"); err != nil || len(subs) != 0 {
		t.Fatalf("Subscriptions(missing) = %q, %v", subs, err)
	}

	// The broker's default failure policy and the subscription's type.
	p, typ, err := a.FailurePolicy(ctx, topic, "workers")
	if err != nil {
		t.Fatalf("FailurePolicy: %v", err)
	}
	wantDefault := FailurePolicy{MaxRedeliveries: 5, AckTimeout: 30 * time.Second, BaseRedeliveryDelay: time.Second,
		MaxRedeliveryDelay: time.Minute, Backoff: "exponential", Poison: "block"}
	if p != wantDefault || typ != Shared {
		t.Fatalf("FailurePolicy = %+v, %v; want %+v, Shared", p, typ, wantDefault)
	}
	if _, typ, err := a.FailurePolicy(ctx, topic, "audit"); err != nil || typ != KeyShared {
		t.Fatalf("FailurePolicy(audit) type = %v, %v; want KeyShared", typ, err)
	}
	// A non-reliable topic has no failure policy and no window, only a type.
	p, typ, err = a.FailurePolicy(ctx, "/default/plain", "p")
	if err != nil || p != (FailurePolicy{}) || typ != Failover {
		t.Fatalf("FailurePolicy(non-reliable) = %+v, %v, %v", p, typ, err)
	}
	if n, err := a.DispatchWindow(ctx, "/default/plain", "p"); err != nil || n != 0 {
		t.Fatalf("DispatchWindow(non-reliable) = %d, %v", n, err)
	}
	if p, typ, err := a.FailurePolicy(ctx, topic, "missing"); err != nil || p != (FailurePolicy{}) || typ != Exclusive {
		t.Fatalf("FailurePolicy(missing) = %+v, %v, %v", p, typ, err)
	}

	set := FailurePolicy{MaxRedeliveries: 2, AckTimeout: 1500 * time.Millisecond, BaseRedeliveryDelay: 10 * time.Millisecond,
		MaxRedeliveryDelay: 2 * time.Second, Backoff: "Fixed", Poison: "dead-letter", DeadLetterTopic: "/default/work-dlq"}
	if err := a.SetFailurePolicy(ctx, topic, "workers", set); err != nil {
		t.Fatalf("SetFailurePolicy: %v", err)
	}
	p, _, err = a.FailurePolicy(ctx, topic, "workers")
	set.Backoff = "fixed"
	if err != nil || p != set {
		t.Fatalf("FailurePolicy after set = %+v, %v; want %+v", p, err, set)
	}
	// "" means exponential and block.
	if err := a.SetFailurePolicy(ctx, topic, "workers", FailurePolicy{AckTimeout: time.Second, MaxRedeliveryDelay: time.Second}); err != nil {
		t.Fatalf("SetFailurePolicy with defaults: %v", err)
	}
	if p, _, err = a.FailurePolicy(ctx, topic, "workers"); err != nil || p.Backoff != "exponential" || p.Poison != "block" {
		t.Fatalf("FailurePolicy = %+v, %v", p, err)
	}
	for _, bad := range []FailurePolicy{
		{AckTimeout: time.Second, Backoff: "linear"},
		{AckTimeout: time.Second, Poison: "explode"},
		{AckTimeout: -time.Second},
	} {
		if err := a.SetFailurePolicy(ctx, topic, "workers", bad); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("SetFailurePolicy(%+v) = %v, want ErrInvalidConfig", bad, err)
		}
	}
	// The broker refuses what it cannot apply.
	wantAPICode(t, a.SetFailurePolicy(ctx, topic, "workers", FailurePolicy{AckTimeout: time.Second, Poison: "dead-letter"}), codes.InvalidArgument)
	wantAPICode(t, a.SetFailurePolicy(ctx, "/default/plain", "p", FailurePolicy{AckTimeout: time.Second}), codes.FailedPrecondition)

	if n, err := a.DispatchWindow(ctx, topic, "workers"); err != nil || n != 0 { // never set
		t.Fatalf("DispatchWindow = %d, %v", n, err)
	}
	if err := a.SetDispatchWindow(ctx, topic, "workers", 3); err != nil {
		t.Fatalf("SetDispatchWindow: %v", err)
	}
	if n, err := a.DispatchWindow(ctx, topic, "workers"); err != nil || n != 3 {
		t.Fatalf("DispatchWindow after set = %d, %v", n, err)
	}
	if n, err := a.DispatchWindow(ctx, topic, "missing"); err != nil || n != 0 {
		t.Fatalf("DispatchWindow(missing) = %d, %v", n, err)
	}

	// Unsubscribe is refused while the consumer counts as connected, then allowed.
	wantAPICode(t, a.Unsubscribe(ctx, topic, "workers"), codes.NotFound)
	testenv.Eventually(t, 10*time.Second, func() bool { return a.Unsubscribe(ctx, topic, "workers") == nil },
		"Unsubscribe never succeeded")
	subs, err = a.Subscriptions(ctx, topic)
	if err != nil || !slices.Equal(subs, []string{"audit"}) {
		t.Fatalf("Subscriptions after Unsubscribe = %q, %v", subs, err)
	}
	wantAPICode(t, a.Unsubscribe(ctx, topic, "workers"), codes.NotFound)
}

func TestAdminAuth(t *testing.T) {
	secret := []byte("admin-test-secret")
	srv := brokertest.Run(t, broker.Options{JWTSecret: secret, SuperAdmins: []string{"alice"}})
	good, err := broker.NewToken(secret, "alice", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	forged, err := broker.NewToken([]byte("another secret"), "mallory", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	ctx := adminTestCtx(t)

	a := adminTestAdmin(t, srv, WithToken(good))
	if ns, err := a.Namespaces(ctx); err != nil || len(ns) != 2 {
		t.Fatalf("Namespaces with a good token = %q, %v", ns, err)
	}
	if _, _, _, err := a.Schemas().Register(ctx, "s", "string", nil); err != nil {
		t.Fatalf("Register with a good token: %v", err)
	}

	for name, opts := range map[string][]Option{
		"no token":     nil,
		"forged token": {WithToken(forged)},
		"garbage":      {WithToken("not-a-jwt")},
	} {
		bad := adminTestAdmin(t, srv, opts...)
		_, err := bad.Namespaces(ctx)
		if !errors.Is(err, ErrUnauthenticated) {
			t.Errorf("%s: Namespaces = %v, want ErrUnauthenticated", name, err)
		}
		wantAPICode(t, err, codes.Unauthenticated)
		if errors.Is(err, ErrUnavailable) {
			t.Errorf("%s: an authentication failure was retried: %v", name, err)
		}
		if err := bad.CreateTopic(ctx, "/default/t", TopicOptions{}); !errors.Is(err, ErrUnauthenticated) {
			t.Errorf("%s: CreateTopic = %v, want ErrUnauthenticated", name, err)
		}
		if _, err := bad.Schemas().Latest(ctx, "s"); !errors.Is(err, ErrUnauthenticated) {
			t.Errorf("%s: Schemas().Latest = %v, want ErrUnauthenticated", name, err)
		}
		c := adminTestClient(t, srv, opts...)
		if _, err := c.Schemas().Subjects(ctx); !errors.Is(err, ErrUnauthenticated) {
			t.Errorf("%s: client Schemas().Subjects = %v, want ErrUnauthenticated", name, err)
		}
	}
	c := adminTestClient(t, srv, WithToken(good))
	if info, err := c.Schemas().Latest(ctx, "s"); err != nil || info.Type != "string" {
		t.Fatalf("client Latest with a good token = %+v, %v", info, err)
	}
}

func TestAdminRetriesUnavailable(t *testing.T) {
	// A port nobody listens on.
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := lis.Addr().String()
	lis.Close()
	a, err := ConnectAdmin(context.Background(), addr, WithRetry(RetryPolicy{MaxRetries: 2, BaseBackoff: time.Millisecond, MaxBackoff: 2 * time.Millisecond}))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	_, err = a.Namespaces(adminTestCtx(t))
	if !errors.Is(err, ErrUnavailable) || status.Code(err) != codes.Unavailable {
		t.Fatalf("Namespaces on a closed port = %v (code %s), want ErrUnavailable", err, status.Code(err))
	}
}

// ---- a fake admin server with the real broker's quirks ----

type fakeBrokerAdmin struct {
	adminpb.UnimplementedBrokerAdminServer
	failures atomic.Int32 // ListBrokers answers Unavailable while positive
}

func (f *fakeBrokerAdmin) ListNamespaces(context.Context, *adminpb.Empty) (*adminpb.NamespaceListResponse, error) {
	// One entry per metadata key, as a real broker answers.
	return &adminpb.NamespaceListResponse{Namespaces: []string{"system", "default", "default", "orders", "default", "system", "orders"}}, nil
}

func (f *fakeBrokerAdmin) ListBrokers(context.Context, *adminpb.Empty) (*adminpb.BrokerListResponse, error) {
	if f.failures.Add(-1) >= 0 {
		return nil, status.Error(codes.Unavailable, "leader not elected yet")
	}
	return &adminpb.BrokerListResponse{Brokers: []*adminpb.BrokerInfo{{BrokerId: "1"}, {BrokerId: "2"}}}, nil
}

type fakeNamespaceAdmin struct {
	adminpb.UnimplementedNamespaceAdminServer
}

func (fakeNamespaceAdmin) CreateNamespace(context.Context, *adminpb.NamespaceRequest) (*adminpb.NamespaceResponse, error) {
	return &adminpb.NamespaceResponse{Success: false}, nil
}

func (fakeNamespaceAdmin) GetNamespacePolicies(_ context.Context, req *adminpb.NamespaceRequest) (*adminpb.PolicyResponse, error) {
	if req.GetName() == "broken" {
		return &adminpb.PolicyResponse{Policies: "not json"}, nil
	}
	return &adminpb.PolicyResponse{}, nil
}

type fakeTopicAdmin struct {
	adminpb.UnimplementedTopicAdminServer
}

func (fakeTopicAdmin) ListNamespaceTopics(context.Context, *adminpb.NamespaceRequest) (*adminpb.TopicInfoListResponse, error) {
	return &adminpb.TopicInfoListResponse{Topics: []*adminpb.TopicInfo{
		{Name: "default/b", BrokerId: "2", Delivery: "NonReliable"},
		{Name: "/default/a", BrokerId: "1", Delivery: "reliable"},
	}}, nil
}

func (fakeTopicAdmin) DescribeTopic(context.Context, *adminpb.DescribeTopicRequest) (*adminpb.DescribeTopicResponse, error) {
	subj, mode := "s", "BACKWARD"
	return &adminpb.DescribeTopicResponse{Name: "default/a", Delivery: "Reliable", SchemaSubject: &subj, CompatibilityMode: &mode}, nil
}

func (fakeTopicAdmin) GetSubscriptionFailurePolicy(context.Context, *adminpb.GetSubscriptionFailurePolicyRequest) (*adminpb.GetSubscriptionFailurePolicyResponse, error) {
	return &adminpb.GetSubscriptionFailurePolicyResponse{SubscriptionType: 1, FailurePolicy: &adminpb.SubscriptionFailurePolicy{
		BackoffStrategy: 7, PoisonPolicy: adminpb.SubscriptionPoisonPolicy_Drop, AckTimeoutMs: ^uint64(0)}}, nil
}

type fakeSchemaRegistry struct {
	schemapb.UnimplementedSchemaRegistryServer
}

func (fakeSchemaRegistry) GetLatestSchema(context.Context, *schemapb.GetLatestSchemaRequest) (*schemapb.GetSchemaResponse, error) {
	return &schemapb.GetSchemaResponse{SchemaId: 4, Version: 2, Subject: "s", SchemaType: "json_schema",
		SchemaDefinition: []byte(`{"type":"string"}`), CreatedAt: 1_700_000_000_123, CompatibilityMode: "FULL"}, nil
}

func (fakeSchemaRegistry) ConfigureTopicSchema(context.Context, *schemapb.ConfigureTopicSchemaRequest) (*schemapb.ConfigureTopicSchemaResponse, error) {
	return &schemapb.ConfigureTopicSchemaResponse{Success: false, Message: "nope"}, nil
}

// runFakeAdmin serves the fakes on a loopback port until the test ends.
func runFakeAdmin(t *testing.T, ba *fakeBrokerAdmin) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	g := grpc.NewServer()
	adminpb.RegisterBrokerAdminServer(g, ba)
	adminpb.RegisterNamespaceAdminServer(g, fakeNamespaceAdmin{})
	adminpb.RegisterTopicAdminServer(g, fakeTopicAdmin{})
	schemapb.RegisterSchemaRegistryServer(g, fakeSchemaRegistry{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = g.Serve(lis)
	}()
	t.Cleanup(func() {
		g.Stop()
		<-done
	})
	return "http://" + lis.Addr().String()
}

func TestAdminRealBrokerQuirks(t *testing.T) {
	ba := &fakeBrokerAdmin{}
	u := runFakeAdmin(t, ba)
	a, err := ConnectAdmin(context.Background(), u, WithRetry(RetryPolicy{MaxRetries: 3, BaseBackoff: time.Millisecond, MaxBackoff: time.Millisecond}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	ctx := adminTestCtx(t)

	// Duplicates are removed and the list is sorted.
	ns, err := a.Namespaces(ctx)
	if err != nil || !slices.Equal(ns, []string{"default", "orders", "system"}) {
		t.Fatalf("Namespaces = %q, %v", ns, err)
	}
	// A missing leading slash is added; delivery is compared without case.
	ts, err := a.Topics(ctx, "default")
	want := []TopicInfo{{Name: "/default/a", BrokerID: "1", Reliable: true}, {Name: "/default/b", BrokerID: "2"}}
	if err != nil || !slices.Equal(ts, want) {
		t.Fatalf("Topics = %+v, %v; want %+v", ts, err, want)
	}
	d, err := a.DescribeTopic(ctx, "/default/a")
	if err != nil || d.Name != "/default/a" || !d.Reliable || d.Compatibility != "backward" || d.SchemaSubject != "s" {
		t.Fatalf("DescribeTopic = %+v, %v", d, err)
	}
	// success=false is an error.
	if err := a.CreateNamespace(ctx, "x"); err == nil || !strings.Contains(err.Error(), "refused") {
		t.Fatalf("CreateNamespace with success=false = %v", err)
	}
	if err := a.Schemas().BindTopic(ctx, "/default/a", "s", "", false); err == nil || !strings.Contains(err.Error(), "nope") {
		t.Fatalf("BindTopic with success=false = %v", err)
	}
	// Policies: empty is an empty map, garbage is an error.
	if pol, err := a.NamespacePolicies(ctx, "default"); err != nil || len(pol) != 0 {
		t.Fatalf("NamespacePolicies(empty) = %v, %v", pol, err)
	}
	if _, err := a.NamespacePolicies(ctx, "broken"); err == nil {
		t.Fatal("NamespacePolicies accepted policies that are not JSON")
	}
	// Unknown enum values are named, huge durations saturate.
	p, typ, err := a.FailurePolicy(ctx, "/default/a", "s")
	if err != nil || p.Backoff != "unknown(7)" || p.Poison != "drop" || p.AckTimeout <= 0 || typ != Shared {
		t.Fatalf("FailurePolicy = %+v, %v, %v", p, typ, err)
	}
	// Unimplemented rpcs are final errors with their code.
	_, err = a.Leader(ctx)
	wantAPICode(t, err, codes.Unimplemented)
	// A raw (unwrapped) definition is returned unchanged; millisecond timestamps and upper-case modes are read.
	info, err := a.Schemas().Latest(ctx, "s")
	if err != nil || string(info.Definition) != `{"type":"string"}` || info.Compatibility != "full" ||
		!info.CreatedAt.Equal(time.UnixMilli(1_700_000_000_123)) {
		t.Fatalf("Latest = %+v, %v", info, err)
	}

	// Unavailable is retried within the policy...
	ba.failures.Store(2)
	bs, err := a.Brokers(ctx)
	if err != nil || len(bs) != 2 {
		t.Fatalf("Brokers after 2 Unavailable answers = %+v, %v", bs, err)
	}
	// ...and reported as ErrUnavailable when the retries run out.
	ba.failures.Store(10)
	_, err = a.Brokers(ctx)
	if !errors.Is(err, ErrUnavailable) || status.Code(err) != codes.Unavailable {
		t.Fatalf("Brokers after too many Unavailable answers = %v", err)
	}
	if !strings.Contains(err.Error(), "leader not elected yet") {
		t.Errorf("error %q lost the broker's message", err)
	}
}
