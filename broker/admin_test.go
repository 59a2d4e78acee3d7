package broker_test

import (
	"context"
	"encoding/json"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/proto"

	"github.com/danube-console/danube-console/broker"
	"github.com/danube-console/danube-console/internal/testenv"
	"github.com/danube-console/danube-console/proto/adminpb"
	"github.com/danube-console/danube-console/proto/danubepb"
	"github.com/danube-console/danube-console/proto/schemapb"
)

// Tests of the admin port (danube_admin.BrokerAdmin, NamespaceAdmin, TopicAdmin and SchemaRegistry), always over
// real gRPC to srv.AdminAddr().

// adminClients are raw gRPC clients of every service on a broker's admin port.
type adminClients struct {
	Broker    adminpb.BrokerAdminClient
	Namespace adminpb.NamespaceAdminClient
	Topic     adminpb.TopicAdminClient
	Schema    schemapb.SchemaRegistryClient
}

// dialAdmin connects to srv's admin port; the connection is closed when the test ends.
func dialAdmin(t *testing.T, srv *broker.Server) adminClients {
	t.Helper()
	addr := srv.AdminAddr()
	if addr == nil {
		t.Fatal("the broker serves no admin port")
	}
	conn, err := grpc.NewClient(addr.String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatalf("grpc.NewClient(%s): %v", addr, err)
	}
	t.Cleanup(func() { conn.Close() })
	return adminClientsOf(conn)
}

func adminClientsOf(conn *grpc.ClientConn) adminClients {
	return adminClients{
		Broker:    adminpb.NewBrokerAdminClient(conn),
		Namespace: adminpb.NewNamespaceAdminClient(conn),
		Topic:     adminpb.NewTopicAdminClient(conn),
		Schema:    schemapb.NewSchemaRegistryClient(conn),
	}
}

// newAdminWire starts a broker and connects to both of its ports.
func newAdminWire(t *testing.T, opts broker.Options) (*wire, adminClients) {
	t.Helper()
	w := newWire(t, opts)
	return w, dialAdmin(t, w.srv)
}

func brokerIDString(srv *broker.Server) string { return strconv.FormatUint(srv.BrokerID(), 10) }

func (a adminClients) mustCreateTopic(t *testing.T, name string, reliable bool) {
	t.Helper()
	strat := adminpb.DispatchStrategy_NonReliable
	if reliable {
		strat = adminpb.DispatchStrategy_Reliable
	}
	resp, err := a.Topic.CreateTopic(ctx(t), &adminpb.NewTopicRequest{Name: name, DispatchStrategy: strat})
	if err != nil || !resp.Success {
		t.Fatalf("CreateTopic(%s): %v %v", name, resp, err)
	}
}

func (a adminClients) mustCreateNamespace(t *testing.T, name string) {
	t.Helper()
	resp, err := a.Namespace.CreateNamespace(ctx(t), &adminpb.NamespaceRequest{Name: name})
	if err != nil || !resp.Success {
		t.Fatalf("CreateNamespace(%s): %v %v", name, resp, err)
	}
}

func (a adminClients) namespaces(t *testing.T) []string {
	t.Helper()
	resp, err := a.Broker.ListNamespaces(ctx(t), &adminpb.Empty{})
	if err != nil {
		t.Fatalf("ListNamespaces: %v", err)
	}
	return resp.Namespaces
}

func (a adminClients) subscriptions(t *testing.T, topic string) []string {
	t.Helper()
	resp, err := a.Topic.ListSubscriptions(ctx(t), &adminpb.TopicRequest{Name: topic})
	if err != nil {
		t.Fatalf("ListSubscriptions(%s): %v", topic, err)
	}
	return resp.Subscriptions
}

func (a adminClients) setPolicy(t *testing.T, topic, sub string, p *adminpb.SubscriptionFailurePolicy) {
	t.Helper()
	resp, err := a.Topic.SetSubscriptionFailurePolicy(ctx(t), &adminpb.SetSubscriptionFailurePolicyRequest{
		Topic: topic, Subscription: sub, FailurePolicy: p})
	if err != nil || !resp.Success {
		t.Fatalf("SetSubscriptionFailurePolicy(%s, %s): %v %v", topic, sub, resp, err)
	}
}

func (a adminClients) setWindow(t *testing.T, topic, sub string, n uint32) {
	t.Helper()
	resp, err := a.Topic.SetSubscriptionDispatchConfig(ctx(t), &adminpb.SetSubscriptionDispatchConfigRequest{
		Topic: topic, Subscription: sub, DispatchConfig: &adminpb.SubscriptionDispatchConfig{MaxUnackedMessages: n}})
	if err != nil || !resp.Success {
		t.Fatalf("SetSubscriptionDispatchConfig(%s, %s, %d): %v %v", topic, sub, n, resp, err)
	}
}

func (w *wire) partitions(topic string) []string {
	w.t.Helper()
	resp, err := w.Discovery.TopicPartitions(ctx(w.t), &danubepb.TopicLookupRequest{RequestId: w.reqID.Add(1), Topic: topic})
	if err != nil {
		w.t.Fatalf("TopicPartitions(%s): %v", topic, err)
	}
	return resp.Partitions
}

func strp(s string) *string { return &s }

func TestAdminListBrokersAndLeader(t *testing.T) {
	w, a := newAdminWire(t, broker.Options{MetricsAddr: "127.0.0.1:0"})
	id := brokerIDString(w.srv)
	if w.srv.BrokerID() == 0 {
		t.Fatal("BrokerID is 0 after Start")
	}
	resp, err := a.Broker.ListBrokers(ctx(t), &adminpb.Empty{})
	if err != nil {
		t.Fatalf("ListBrokers: %v", err)
	}
	want := &adminpb.BrokerInfo{
		BrokerId:     id,
		BrokerAddr:   w.srv.URL(),
		BrokerRole:   "Cluster_Leader",
		AdminAddr:    w.srv.AdminURL(),
		MetricsAddr:  w.srv.MetricsAddr(),
		BrokerStatus: "active",
	}
	if len(resp.Brokers) != 1 || !proto.Equal(resp.Brokers[0], want) {
		t.Fatalf("ListBrokers = %v, want exactly [%v]", resp.Brokers, want)
	}
	if got, wantURL := w.srv.AdminURL(), "http://"+w.srv.AdminAddr().String(); got != wantURL {
		t.Fatalf("AdminURL = %q, want %q", got, wantURL)
	}
	if got, wantURL := w.srv.URL(), "http://"+w.srv.Addr().String(); got != wantURL {
		t.Fatalf("URL = %q, want %q", got, wantURL)
	}
	if w.srv.AdminURL() == w.srv.URL() {
		t.Fatalf("admin URL %s is the client URL", w.srv.AdminURL())
	}

	leader, err := a.Broker.GetLeaderBroker(ctx(t), &adminpb.Empty{})
	if err != nil {
		t.Fatalf("GetLeaderBroker: %v", err)
	}
	if leader.Leader != id {
		t.Fatalf("GetLeaderBroker = %q, want %q", leader.Leader, id)
	}
}

func TestAdminListNamespaces(t *testing.T) {
	w, a := newAdminWire(t, broker.Options{})
	if got := a.namespaces(t); !reflect.DeepEqual(got, []string{"default", "system"}) {
		t.Fatalf("ListNamespaces on a new broker = %q, want [default system]", got)
	}
	// Topics in a namespace must not repeat it (the real broker lists one entry per metadata key).
	w.mustProducer("/default/a", "p", false)
	w.mustProducer("/default/b", "p", true)
	a.mustCreateNamespace(t, "analytics")
	a.mustCreateTopic(t, "/analytics/clicks", true)
	a.mustCreateTopic(t, "/analytics/views", false)
	if got := a.namespaces(t); !reflect.DeepEqual(got, []string{"analytics", "default", "system"}) {
		t.Fatalf("ListNamespaces = %q, want [analytics default system] without duplicates", got)
	}
}

func TestAdminCreateNamespace(t *testing.T) {
	w, a := newAdminWire(t, broker.Options{})
	// Namespaces are never auto-created.
	_, err := w.createProducer("/sales/orders", "p", false)
	wantStatus(t, err, codes.Unavailable,
		"Unable to find the namespace sales, the topic can be created only for an exisiting namespace")

	a.mustCreateNamespace(t, "sales")
	w.mustProducer("/sales/orders", "p", false)
	if _, ok := w.srv.Topic("/sales/orders"); !ok {
		t.Fatal("topic in the new namespace not served")
	}

	_, err = a.Namespace.CreateNamespace(ctx(t), &adminpb.NamespaceRequest{Name: "sales"})
	wantStatus(t, err, codes.NotFound, "Unable to create the namespace sales due to Namespace sales already exists.")
	_, err = a.Namespace.CreateNamespace(ctx(t), &adminpb.NamespaceRequest{Name: "default"})
	wantStatus(t, err, codes.NotFound, "Unable to create the namespace default due to Namespace default already exists.")
	for _, bad := range []string{"", "a/b", "has space", "dot.ted"} {
		_, err = a.Namespace.CreateNamespace(ctx(t), &adminpb.NamespaceRequest{Name: bad})
		wantStatus(t, err, codes.NotFound,
			"Unable to create the namespace "+bad+" due to invalid name; use letters, digits, '_' and '-'")
	}
	if got := a.namespaces(t); !reflect.DeepEqual(got, []string{"default", "sales", "system"}) {
		t.Fatalf("ListNamespaces = %q", got)
	}
}

func TestAdminDeleteNamespace(t *testing.T) {
	w, a := newAdminWire(t, broker.Options{})
	a.mustCreateNamespace(t, "tmp")
	a.mustCreateTopic(t, "/tmp/t", true)

	_, err := a.Namespace.DeleteNamespace(ctx(t), &adminpb.NamespaceRequest{Name: "tmp"})
	wantStatus(t, err, codes.NotFound, "Unable to delete the namespace tmp due to Can't delete and non empty namespace: tmp")
	// system holds the events topic, so it is never empty.
	_, err = a.Namespace.DeleteNamespace(ctx(t), &adminpb.NamespaceRequest{Name: "system"})
	wantStatus(t, err, codes.NotFound, "Unable to delete the namespace system due to Can't delete and non empty namespace: system")

	if _, err := a.Topic.DeleteTopic(ctx(t), &adminpb.TopicRequest{Name: "/tmp/t"}); err != nil {
		t.Fatalf("DeleteTopic: %v", err)
	}
	resp, err := a.Namespace.DeleteNamespace(ctx(t), &adminpb.NamespaceRequest{Name: "tmp"})
	if err != nil || !resp.Success {
		t.Fatalf("DeleteNamespace of an empty namespace: %v %v", resp, err)
	}
	if got := a.namespaces(t); !reflect.DeepEqual(got, []string{"default", "system"}) {
		t.Fatalf("ListNamespaces after delete = %q", got)
	}
	_, err = a.Namespace.DeleteNamespace(ctx(t), &adminpb.NamespaceRequest{Name: "tmp"})
	wantStatus(t, err, codes.NotFound, "Unable to delete the namespace tmp due to Namespace tmp does not exists.")
	_, err = w.createProducer("/tmp/t", "p", true)
	wantStatus(t, err, codes.Unavailable,
		"Unable to find the namespace tmp, the topic can be created only for an exisiting namespace")
	_, err = a.Namespace.GetNamespacePolicies(ctx(t), &adminpb.NamespaceRequest{Name: "tmp"})
	wantStatus(t, err, codes.NotFound,
		"Unable to retrieve polices for the namespace tmp due to Unable to retrieve the policies for the namespace")

	// The name can be used again.
	a.mustCreateNamespace(t, "tmp")
	topics, err := a.Namespace.GetNamespaceTopics(ctx(t), &adminpb.NamespaceRequest{Name: "tmp"})
	if err != nil || len(topics.Topics) != 0 {
		t.Fatalf("GetNamespaceTopics of a recreated namespace: %v %v", topics, err)
	}
}

func TestAdminGetNamespaceTopics(t *testing.T) {
	w, a := newAdminWire(t, broker.Options{})
	w.mustProducer("/default/b", "p", true)
	a.mustCreateTopic(t, "/default/a", false)
	a.mustCreatePartitioned(t, "/default/c", 2, false)

	resp, err := a.Namespace.GetNamespaceTopics(ctx(t), &adminpb.NamespaceRequest{Name: "default"})
	if err != nil {
		t.Fatalf("GetNamespaceTopics: %v", err)
	}
	want := []string{"default/a", "default/b", "default/c-part-0", "default/c-part-1"}
	if !reflect.DeepEqual(resp.Topics, want) {
		t.Fatalf("GetNamespaceTopics(default) = %q, want %q (no leading slash)", resp.Topics, want)
	}
	// The events topic is not listed in its namespace, as on the real broker; an unknown namespace has no
	// topics; a namespace whose name starts with another's does not leak into it.
	a.mustCreateNamespace(t, "default2")
	a.mustCreateTopic(t, "/default2/x", false)
	for ns, want := range map[string][]string{"system": nil, "nope": nil, "default2": {"default2/x"}} {
		resp, err = a.Namespace.GetNamespaceTopics(ctx(t), &adminpb.NamespaceRequest{Name: ns})
		if err != nil || !reflect.DeepEqual(resp.Topics, want) {
			t.Fatalf("GetNamespaceTopics(%s) = %v %v, want %q", ns, resp, err, want)
		}
	}
	resp, err = a.Namespace.GetNamespaceTopics(ctx(t), &adminpb.NamespaceRequest{Name: "default"})
	if err != nil || len(resp.Topics) != 4 {
		t.Fatalf("GetNamespaceTopics(default) after default2 = %v %v", resp, err)
	}
}

func TestAdminGetNamespacePolicies(t *testing.T) {
	_, a := newAdminWire(t, broker.Options{Policies: broker.Policies{MaxProducersPerTopic: 3, MaxConsumersPerSubscription: 2}})
	a.mustCreateNamespace(t, "fresh")
	for _, ns := range []string{"default", "system", "fresh"} {
		resp, err := a.Namespace.GetNamespacePolicies(ctx(t), &adminpb.NamespaceRequest{Name: ns})
		if err != nil {
			t.Fatalf("GetNamespacePolicies(%s): %v", ns, err)
		}
		var got map[string]any
		if err := json.Unmarshal([]byte(resp.Policies), &got); err != nil {
			t.Fatalf("GetNamespacePolicies(%s) = %q is not JSON: %v", ns, resp.Policies, err)
		}
		want := map[string]any{
			"max_producers_per_topic":        float64(3),
			"max_subscriptions_per_topic":    float64(0),
			"max_consumers_per_topic":        float64(0),
			"max_consumers_per_subscription": float64(2),
			"max_publish_rate":               float64(0),
			"max_subscription_dispatch_rate": float64(0),
			"max_message_size":               float64(broker.DefaultMaxMessageSize),
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("GetNamespacePolicies(%s) = %v, want %v", ns, got, want)
		}
		// Every key of the real broker, in its order.
		const keys = `{"max_producers_per_topic":3,"max_subscriptions_per_topic":0,"max_consumers_per_topic":0,` +
			`"max_consumers_per_subscription":2,"max_publish_rate":0,"max_subscription_dispatch_rate":0,"max_message_size":4000000}`
		if resp.Policies != keys {
			t.Fatalf("GetNamespacePolicies(%s) = %s, want %s", ns, resp.Policies, keys)
		}
	}
	_, err := a.Namespace.GetNamespacePolicies(ctx(t), &adminpb.NamespaceRequest{Name: "nope"})
	wantStatus(t, err, codes.NotFound,
		"Unable to retrieve polices for the namespace nope due to Unable to retrieve the policies for the namespace")
}

func TestAdminListNamespaceTopics(t *testing.T) {
	w, a := newAdminWire(t, broker.Options{})
	id := brokerIDString(w.srv)
	a.mustCreateTopic(t, "/default/rel", true)
	a.mustCreateTopic(t, "/default/fast", false)
	w.mustProducer("/default/auto", "p", true)
	a.mustCreateNamespace(t, "other")
	a.mustCreateTopic(t, "/other/x", false)

	resp, err := a.Topic.ListNamespaceTopics(ctx(t), &adminpb.NamespaceRequest{Name: "default"})
	if err != nil {
		t.Fatalf("ListNamespaceTopics: %v", err)
	}
	want := []*adminpb.TopicInfo{
		{Name: "/default/auto", BrokerId: id, Delivery: "Reliable"},
		{Name: "/default/fast", BrokerId: id, Delivery: "NonReliable"},
		{Name: "/default/rel", BrokerId: id, Delivery: "Reliable"},
	}
	assertTopicInfos(t, resp.Topics, want)

	resp, err = a.Topic.ListNamespaceTopics(ctx(t), &adminpb.NamespaceRequest{Name: "other"})
	if err != nil {
		t.Fatalf("ListNamespaceTopics(other): %v", err)
	}
	assertTopicInfos(t, resp.Topics, []*adminpb.TopicInfo{{Name: "/other/x", BrokerId: id, Delivery: "NonReliable"}})

	resp, err = a.Topic.ListNamespaceTopics(ctx(t), &adminpb.NamespaceRequest{Name: "nope"})
	if err != nil || len(resp.Topics) != 0 {
		t.Fatalf("ListNamespaceTopics(nope) = %v %v, want OK and none", resp, err)
	}
}

func assertTopicInfos(t *testing.T, got, want []*adminpb.TopicInfo) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("topics = %v, want %v", got, want)
	}
	for i := range got {
		if !proto.Equal(got[i], want[i]) {
			t.Fatalf("topic %d = %v, want %v (all: %v)", i, got[i], want[i], got)
		}
	}
}

func TestAdminListBrokerTopics(t *testing.T) {
	w, a := newAdminWire(t, broker.Options{})
	id := brokerIDString(w.srv)
	a.mustCreateNamespace(t, "ns")
	a.mustCreateTopic(t, "/ns/one", true)
	w.mustProducer("/default/two", "p", false)
	want := []*adminpb.TopicInfo{
		{Name: "/default/two", BrokerId: id, Delivery: "NonReliable"},
		{Name: "/ns/one", BrokerId: id, Delivery: "Reliable"},
		{Name: broker.EventsTopic, BrokerId: id, Delivery: "NonReliable"},
	}
	for _, req := range []string{"", id} {
		resp, err := a.Topic.ListBrokerTopics(ctx(t), &adminpb.BrokerRequest{BrokerId: req})
		if err != nil {
			t.Fatalf("ListBrokerTopics(%q): %v", req, err)
		}
		assertTopicInfos(t, resp.Topics, want)
	}
	// An id that is not a broker of the group: OK and no topics, as the real broker answers.
	other := strconv.FormatUint(w.srv.BrokerID()+1, 10)
	resp, err := a.Topic.ListBrokerTopics(ctx(t), &adminpb.BrokerRequest{BrokerId: other})
	if err != nil || len(resp.Topics) != 0 {
		t.Fatalf("ListBrokerTopics(%s) = %v, %v; want OK and no topics", other, resp, err)
	}
}

func TestAdminCreateTopic(t *testing.T) {
	w, a := newAdminWire(t, broker.Options{})
	a.mustCreateTopic(t, "/default/rel", true)
	a.mustCreateTopic(t, "/default/nonrel", false)
	for name, reliable := range map[string]bool{"/default/rel": true, "/default/nonrel": false} {
		info, ok := w.srv.Topic(name)
		if !ok || info.Reliable != reliable || info.Producers != 0 || len(info.Subscriptions) != 0 {
			t.Fatalf("Topic(%s) = %+v %v, want reliable=%v and empty", name, info, ok, reliable)
		}
		// The dispatch strategy is the topic's: a producer must match it.
		_, err := w.createProducer(name, "wrong", !reliable)
		wantStatus(t, err, codes.FailedPrecondition, "Producer requested dispatch strategy does not match topic strategy")
		w.mustProducer(name, "right", reliable)
	}
	// A created topic can be subscribed to at once (Subscribe never creates topics).
	w.mustSubscribe("/default/rel", "s", "c", exclusive)

	_, err := a.Topic.CreateTopic(ctx(t), &adminpb.NewTopicRequest{Name: "/default/rel", DispatchStrategy: adminpb.DispatchStrategy_Reliable})
	wantStatus(t, err, codes.NotFound, "Unable to create the topic /default/rel due to Topic '/default/rel' already exists")
	// A duplicate with another strategy is refused too and changes nothing.
	_, err = a.Topic.CreateTopic(ctx(t), &adminpb.NewTopicRequest{Name: "/default/rel"})
	wantStatus(t, err, codes.NotFound, "Unable to create the topic /default/rel due to Topic '/default/rel' already exists")
	if info, _ := w.srv.Topic("/default/rel"); !info.Reliable || len(info.Subscriptions) != 1 {
		t.Fatalf("duplicate CreateTopic changed the topic: %+v", info)
	}

	for _, bad := range []string{"/default/a.b", "/default", "/default/a/b", "no-slashes"} {
		_, err = a.Topic.CreateTopic(ctx(t), &adminpb.NewTopicRequest{Name: bad})
		wantStatus(t, err, codes.NotFound, "Unable to create the topic "+bad+" due to The topic: "+bad+
			" has an invalid format, should be: /namespace_name/topic_name")
	}
	_, err = a.Topic.CreateTopic(ctx(t), &adminpb.NewTopicRequest{Name: "/nope/t"})
	wantStatus(t, err, codes.NotFound,
		"Unable to create the topic /nope/t due to Unable to find the namespace nope, the topic can be created only for an exisiting namespace")
	_, err = a.Topic.CreateTopic(ctx(t), &adminpb.NewTopicRequest{Name: "/default/odd", DispatchStrategy: adminpb.DispatchStrategy(7)})
	wantStatus(t, err, codes.InvalidArgument, "invalid dispatch_strategy value")
	for _, name := range []string{"/nope/t", "/default/odd"} {
		if _, ok := w.srv.Topic(name); ok {
			t.Fatalf("refused CreateTopic(%s) created the topic", name)
		}
	}
}

func TestAdminCreateTopicWithSchema(t *testing.T) {
	w, a := newAdminWire(t, broker.Options{})
	// The schema registry is served on the admin port too, and shares its state with the client port.
	reg, err := a.Schema.RegisterSchema(ctx(t), &schemapb.RegisterSchemaRequest{Subject: "orders", SchemaType: "json_schema",
		SchemaDefinition: []byte(orderV1)})
	if err != nil || reg.SchemaId == 0 || reg.Version != 1 {
		t.Fatalf("RegisterSchema on the admin port: %v %v", reg, err)
	}
	latest, err := w.Schema.GetLatestSchema(ctx(t), &schemapb.GetLatestSchemaRequest{Subject: "orders"})
	if err != nil || latest.SchemaId != reg.SchemaId || latest.Version != 1 {
		t.Fatalf("GetLatestSchema on the client port after registering on the admin port: %v %v", latest, err)
	}
	adminLatest, err := a.Schema.GetLatestSchema(ctx(t), &schemapb.GetLatestSchemaRequest{Subject: "orders"})
	if err != nil || adminLatest.SchemaId != reg.SchemaId {
		t.Fatalf("GetLatestSchema on the admin port: %v %v", adminLatest, err)
	}

	resp, err := a.Topic.CreateTopic(ctx(t), &adminpb.NewTopicRequest{Name: "/default/orders", SchemaSubject: strp("orders"),
		DispatchStrategy: adminpb.DispatchStrategy_Reliable})
	if err != nil || !resp.Success {
		t.Fatalf("CreateTopic with a schema subject: %v %v", resp, err)
	}
	desc, err := a.Topic.DescribeTopic(ctx(t), &adminpb.DescribeTopicRequest{Name: "/default/orders"})
	if err != nil {
		t.Fatalf("DescribeTopic: %v", err)
	}
	want := &adminpb.DescribeTopicResponse{
		Name:              "/default/orders",
		BrokerId:          brokerIDString(w.srv),
		Delivery:          "Reliable",
		SchemaSubject:     strp("orders"),
		SchemaId:          u64p(reg.SchemaId),
		SchemaVersion:     u32p(1),
		SchemaType:        strp("json_schema"),
		CompatibilityMode: strp("BACKWARD"),
	}
	if !proto.Equal(desc, want) {
		t.Fatalf("DescribeTopic = %v, want %v", desc, want)
	}
	// The binding is the topic's: a producer naming another subject is refused.
	register(t, w, "other", "string", "")
	_, err = w.Producer.CreateProducer(ctx(t), &danubepb.ProducerRequest{ProducerName: "p", TopicName: "/default/orders",
		DispatchStrategy: danubepb.DispatchStrategy_Reliable, SchemaRef: latestRef("other")})
	wantStatus(t, err, codes.FailedPrecondition,
		"Topic '/default/orders' uses schema subject 'orders', cannot use 'other'. Only admin can change topic schema.")
	if _, err := w.Producer.CreateProducer(ctx(t), &danubepb.ProducerRequest{ProducerName: "p", TopicName: "/default/orders",
		DispatchStrategy: danubepb.DispatchStrategy_Reliable, SchemaRef: latestRef("orders")}); err != nil {
		t.Fatalf("CreateProducer with the topic's subject: %v", err)
	}

	_, err = a.Topic.CreateTopic(ctx(t), &adminpb.NewTopicRequest{Name: "/default/ghostly", SchemaSubject: strp("ghost")})
	wantStatus(t, err, codes.NotFound, "Unable to create the topic /default/ghostly due to schema subject ghost is not registered")
	if _, ok := w.srv.Topic("/default/ghostly"); ok {
		t.Fatal("CreateTopic with an unregistered subject created the topic")
	}
	_, err = a.Topic.CreatePartitionedTopic(ctx(t), &adminpb.PartitionedTopicRequest{BaseName: "/default/ghostp", Partitions: 2,
		SchemaSubject: strp("ghost")})
	wantStatus(t, err, codes.NotFound, "Unable to create the topic /default/ghostp-part-0 due to schema subject ghost is not registered")
	if got := w.partitions("/default/ghostp"); len(got) != 0 {
		t.Fatalf("refused partitioned topic has partitions %q", got)
	}
}

func (a adminClients) mustCreatePartitioned(t *testing.T, base string, n uint32, reliable bool) {
	t.Helper()
	strat := adminpb.DispatchStrategy_NonReliable
	if reliable {
		strat = adminpb.DispatchStrategy_Reliable
	}
	resp, err := a.Topic.CreatePartitionedTopic(ctx(t), &adminpb.PartitionedTopicRequest{BaseName: base, Partitions: n,
		DispatchStrategy: strat})
	if err != nil || !resp.Success {
		t.Fatalf("CreatePartitionedTopic(%s, %d): %v %v", base, n, resp, err)
	}
}

func TestAdminCreatePartitionedTopic(t *testing.T) {
	w, a := newAdminWire(t, broker.Options{})
	id := brokerIDString(w.srv)
	a.mustCreatePartitioned(t, "/default/orders", 3, true)
	want := []string{"/default/orders-part-0", "/default/orders-part-1", "/default/orders-part-2"}
	if got := w.partitions("/default/orders"); !reflect.DeepEqual(got, want) {
		t.Fatalf("TopicPartitions = %q, want %q", got, want)
	}
	// Each partition is an ordinary topic with the requested delivery; there is no base-topic record.
	resp, err := a.Topic.ListNamespaceTopics(ctx(t), &adminpb.NamespaceRequest{Name: "default"})
	if err != nil {
		t.Fatal(err)
	}
	var infos []*adminpb.TopicInfo
	for _, p := range want {
		infos = append(infos, &adminpb.TopicInfo{Name: p, BrokerId: id, Delivery: "Reliable"})
	}
	assertTopicInfos(t, resp.Topics, infos)
	if _, ok := w.srv.Topic("/default/orders"); ok {
		t.Fatal("a base topic record exists")
	}
	// Producers and consumers work on a partition (Subscribe never creates topics).
	p := w.mustProducer("/default/orders-part-1", "p", true)
	s := w.receive(w.mustSubscribe("/default/orders-part-1", "s", "c", exclusive))
	p.mustSend("m")
	if m := s.next(t); string(m.Payload) != "m" || m.MsgId.TopicName != "/default/orders-part-1" {
		t.Fatalf("got %q on %s", m.Payload, m.MsgId.TopicName)
	}

	a.mustCreatePartitioned(t, "/default/one", 1, false)
	if got := w.partitions("/default/one"); !reflect.DeepEqual(got, []string{"/default/one-part-0"}) {
		t.Fatalf("TopicPartitions(one) = %q", got)
	}
	if info, _ := w.srv.Topic("/default/one-part-0"); info.Reliable {
		t.Fatal("non-reliable partition is reliable")
	}

	// Zero partitions: OK, nothing created, as on the real broker.
	if resp, err := a.Topic.CreatePartitionedTopic(ctx(t), &adminpb.PartitionedTopicRequest{BaseName: "/default/zero", Partitions: 0}); err != nil || !resp.Success {
		t.Fatalf("CreatePartitionedTopic with 0 partitions = %v %v, want OK", resp, err)
	}
	if got := w.partitions("/default/zero"); len(got) != 0 {
		t.Fatalf("0 partitions created %q", got)
	}
	_, err = a.Topic.CreatePartitionedTopic(ctx(t), &adminpb.PartitionedTopicRequest{BaseName: "/default/orders", Partitions: 3,
		DispatchStrategy: adminpb.DispatchStrategy_Reliable})
	wantStatus(t, err, codes.NotFound, "Unable to create the topic /default/orders-part-0 due to Topic '/default/orders-part-0' already exists")
	_, err = a.Topic.CreatePartitionedTopic(ctx(t), &adminpb.PartitionedTopicRequest{BaseName: "/default/bad.name", Partitions: 2})
	wantStatus(t, err, codes.NotFound, "Unable to create the topic /default/bad.name-part-0 due to The topic: /default/bad.name-part-0"+
		" has an invalid format, should be: /namespace_name/topic_name")

	// A non-partitioned topic of the same name blocks partitions, and partitions block the plain topic.
	a.mustCreateTopic(t, "/default/plain", false)
	_, err = a.Topic.CreatePartitionedTopic(ctx(t), &adminpb.PartitionedTopicRequest{BaseName: "/default/plain", Partitions: 2})
	wantStatus(t, err, codes.NotFound, "Unable to create the topic /default/plain-part-0 due to "+
		"Cannot create partitioned topic '/default/plain-part-0': a non-partitioned topic '/default/plain' already exists. Delete the non-partitioned topic first.")
	_, err = a.Topic.CreateTopic(ctx(t), &adminpb.NewTopicRequest{Name: "/default/orders", DispatchStrategy: adminpb.DispatchStrategy_Reliable})
	wantStatus(t, err, codes.NotFound, "Unable to create the topic /default/orders due to "+
		"Cannot create topic '/default/orders': partitioned topics with this base name already exist (found 3 partitions). Delete the partitioned topics first.")
	if got := w.partitions("/default/plain"); !reflect.DeepEqual(got, []string{"/default/plain"}) {
		t.Fatalf("TopicPartitions(plain) = %q", got)
	}
}

func TestAdminDeleteTopic(t *testing.T) {
	for _, reliable := range []bool{false, true} {
		t.Run("reliable="+strconv.FormatBool(reliable), func(t *testing.T) {
			w, a := newAdminWire(t, broker.Options{})
			const topic = "/default/doomed"
			p := w.mustProducer(topic, "p", reliable)
			cid := w.mustSubscribe(topic, "s", "c", exclusive)
			s := w.receive(cid)
			p.mustSend("old-0", "old-1")
			for _, want := range []string{"old-0", "old-1"} {
				if m := s.next(t); string(m.Payload) != want {
					t.Fatalf("got %q, want %q", m.Payload, want)
				}
			}
			if got := w.health(danubepb.HealthCheckRequest_Producer, p.id); got != danubepb.HealthCheckResponse_OK {
				t.Fatalf("producer health before delete = %v", got)
			}

			resp, err := a.Topic.DeleteTopic(ctx(t), &adminpb.TopicRequest{Name: topic})
			if err != nil || !resp.Success {
				t.Fatalf("DeleteTopic: %v %v", resp, err)
			}
			if _, ok := w.srv.Topic(topic); ok {
				t.Fatal("deleted topic still served")
			}
			// The producer is told to go away and cannot publish; the consumer's stream ends with a status
			// the clients retry, and its health check says CLOSE.
			if got := w.health(danubepb.HealthCheckRequest_Producer, p.id); got != danubepb.HealthCheckResponse_CLOSE {
				t.Fatalf("producer health after delete = %v, want CLOSE", got)
			}
			wantStatus(t, p.send("late"), codes.NotFound, "The producer with id "+uitoa(p.id)+" does not exist")
			wantStatus(t, s.ended(t), codes.Unavailable, "")
			if got := w.health(danubepb.HealthCheckRequest_Consumer, cid); got != danubepb.HealthCheckResponse_CLOSE {
				t.Fatalf("consumer health after delete = %v, want CLOSE", got)
			}
			rs, err := w.Consumer.ReceiveMessages(ctx(t), &danubepb.ReceiveRequest{ConsumerId: cid})
			if err == nil {
				_, err = rs.Recv() // a server stream reports its status on the first Recv
			}
			wantStatus(t, err, codes.NotFound, "The consumer with the id "+uitoa(cid)+" does not exist")
			_, err = w.Discovery.TopicLookup(ctx(t), &danubepb.TopicLookupRequest{Topic: topic})
			wantStatus(t, err, codes.NotFound, "Unable to find the requested topic: "+topic)
			_, err = w.subscribe(topic, "s", "c", exclusive)
			wantStatus(t, err, codes.NotFound, "Unable to find the topic: "+topic)
			// The real broker's answers for a topic that does not exist: OK and empty.
			if subs := a.subscriptions(t, topic); len(subs) != 0 {
				t.Fatalf("ListSubscriptions after delete = %q", subs)
			}
			desc, err := a.Topic.DescribeTopic(ctx(t), &adminpb.DescribeTopicRequest{Name: topic})
			if err != nil || !proto.Equal(desc, &adminpb.DescribeTopicResponse{Name: topic, Delivery: "NonReliable"}) {
				t.Fatalf("DescribeTopic after delete = %v %v", desc, err)
			}
			_, err = a.Topic.DeleteTopic(ctx(t), &adminpb.TopicRequest{Name: topic})
			wantStatus(t, err, codes.NotFound, "Unable to delete the topic "+topic+" due to Unable to find topic: "+topic)
			lt, err := a.Topic.ListNamespaceTopics(ctx(t), &adminpb.NamespaceRequest{Name: "default"})
			if err != nil || len(lt.Topics) != 0 {
				t.Fatalf("ListNamespaceTopics after delete: %v %v", lt, err)
			}

			// Recreated, the topic starts empty: no old subscription, no old messages, offsets from 0.
			p2 := w.mustProducer(topic, "p", reliable)
			if p2.id == p.id {
				t.Fatalf("recreated producer kept the deleted producer's id %d", p.id)
			}
			info, ok := w.srv.Topic(topic)
			if !ok || len(info.Subscriptions) != 0 || info.NextOffset != 0 || info.StartOffset != 0 {
				t.Fatalf("recreated topic = %+v, want empty", info)
			}
			s2 := w.receive(w.mustSubscribe(topic, "s", "c", exclusive))
			p2.mustSend("new-0")
			m := s2.next(t)
			if string(m.Payload) != "new-0" || m.MsgId.TopicOffset != 0 {
				t.Fatalf("first message on the recreated topic = %q offset %d, want new-0 offset 0", m.Payload, m.MsgId.TopicOffset)
			}
			if reliable {
				w.ack("s", m)
			}
			s2.none(t, 100*time.Millisecond)
			if got := a.subscriptions(t, topic); !reflect.DeepEqual(got, []string{"s"}) {
				t.Fatalf("subscriptions of the recreated topic = %q", got)
			}
		})
	}
}

func TestAdminDeletePartitionedTopic(t *testing.T) {
	w, a := newAdminWire(t, broker.Options{})
	a.mustCreatePartitioned(t, "/default/pt", 3, true)
	p := w.mustProducer("/default/pt-part-2", "p", true)
	s := w.receive(w.mustSubscribe("/default/pt-part-0", "s", "c", exclusive))
	// A message received proves the stream reached the broker: deleting the topic must end it (a stream
	// opened after the deletion would be refused with NotFound instead).
	w.mustProducer("/default/pt-part-0", "p0", true).mustSend("m")
	s.next(t)

	_, err := a.Topic.DeleteTopic(ctx(t), &adminpb.TopicRequest{Name: "/default/pt-part-1"})
	wantStatus(t, err, codes.NotFound,
		"Unable to delete the topic /default/pt-part-1 due to Cannot delete individual partition '/default/pt-part-1'. "+
			"Delete the base topic instead (e.g., if partition is '/default/mytopic-part-0', delete '/default/mytopic').")
	if got := w.partitions("/default/pt"); len(got) != 3 {
		t.Fatalf("refused delete removed partitions: %q", got)
	}

	resp, err := a.Topic.DeleteTopic(ctx(t), &adminpb.TopicRequest{Name: "/default/pt"})
	if err != nil || !resp.Success {
		t.Fatalf("DeleteTopic(base): %v %v", resp, err)
	}
	if got := w.partitions("/default/pt"); len(got) != 0 {
		t.Fatalf("partitions left after deleting the base: %q", got)
	}
	for i := range 3 {
		if _, ok := w.srv.Topic(broker.PartitionName("/default/pt", i)); ok {
			t.Fatalf("partition %d still served", i)
		}
	}
	if got := w.health(danubepb.HealthCheckRequest_Producer, p.id); got != danubepb.HealthCheckResponse_CLOSE {
		t.Fatalf("producer health on a deleted partition = %v", got)
	}
	wantStatus(t, s.ended(t), codes.Unavailable, "")
	_, err = a.Topic.DeleteTopic(ctx(t), &adminpb.TopicRequest{Name: "/default/pt"})
	wantStatus(t, err, codes.NotFound, "Unable to delete the topic /default/pt due to Unable to find topic: /default/pt")
	// Deleting one partitioned topic leaves a topic whose name only shares the prefix alone.
	a.mustCreatePartitioned(t, "/default/q", 2, false)
	a.mustCreateTopic(t, "/default/q-partial", false)
	if _, err := a.Topic.DeleteTopic(ctx(t), &adminpb.TopicRequest{Name: "/default/q"}); err != nil {
		t.Fatalf("DeleteTopic(/default/q): %v", err)
	}
	if got := w.srv.TopicNames(); !reflect.DeepEqual(got, []string{"/default/q-partial", broker.EventsTopic}) {
		t.Fatalf("topics left = %q", got)
	}
}

func TestAdminClusterOnlyRPCs(t *testing.T) {
	w, a := newAdminWire(t, broker.Options{})
	w.mustProducer("/default/t", "p", false)
	const tail = " needs a Danube cluster; this is a standalone broker that serves every topic itself"
	_, err := a.Topic.UnloadTopic(ctx(t), &adminpb.TopicRequest{Name: "/default/t"})
	wantStatus(t, err, codes.FailedPrecondition, "Cannot unload topic: single broker cluster detected. Unload requires at least 2 brokers.")
	if _, ok := w.srv.Topic("/default/t"); !ok {
		t.Fatal("UnloadTopic unloaded the topic")
	}
}

func TestAdminGetClusterBalance(t *testing.T) {
	w, a := newAdminWire(t, broker.Options{})
	check := func(topics int) {
		t.Helper()
		resp, err := a.Broker.GetClusterBalance(ctx(t), &adminpb.ClusterBalanceRequest{})
		if err != nil {
			t.Fatalf("GetClusterBalance: %v", err)
		}
		// A single-broker cluster: the statistics are zeros, with one entry carrying the broker's load.
		want := &adminpb.ClusterBalanceResponse{
			BrokerCount: 1, AssignmentStrategy: "Balanced",
			Brokers: []*adminpb.BrokerLoadInfo{{BrokerId: w.srv.BrokerID(), Load: float64(topics), TopicCount: uint32(topics)}},
		}
		if !proto.Equal(resp, want) {
			t.Fatalf("GetClusterBalance = %v, want %v", resp, want)
		}
	}
	check(1) // the events topic
	a.mustCreateTopic(t, "/default/a", true)
	a.mustCreatePartitioned(t, "/default/b", 2, false)
	check(4)
}

func TestAdminListSubscriptionsAndDescribeTopic(t *testing.T) {
	w, a := newAdminWire(t, broker.Options{})
	const topic = "/default/described"
	a.mustCreateTopic(t, topic, false)
	if got := a.subscriptions(t, topic); len(got) != 0 {
		t.Fatalf("subscriptions of a new topic = %q", got)
	}
	w.mustSubscribe(topic, "zeta", "c", shared)
	w.mustSubscribe(topic, "alpha", "c", exclusive)
	if got := a.subscriptions(t, topic); !reflect.DeepEqual(got, []string{"alpha", "zeta"}) {
		t.Fatalf("ListSubscriptions = %q, want [alpha zeta]", got)
	}
	desc, err := a.Topic.DescribeTopic(ctx(t), &adminpb.DescribeTopicRequest{Name: topic})
	if err != nil {
		t.Fatalf("DescribeTopic: %v", err)
	}
	want := &adminpb.DescribeTopicResponse{Name: topic, Subscriptions: []string{"alpha", "zeta"},
		BrokerId: brokerIDString(w.srv), Delivery: "NonReliable"}
	if !proto.Equal(desc, want) {
		t.Fatalf("DescribeTopic = %v, want %v", desc, want)
	}
	// An unknown topic: OK with no subscriptions, no broker and NonReliable, as on the real broker.
	if got := a.subscriptions(t, "/default/none"); len(got) != 0 {
		t.Fatalf("ListSubscriptions(unknown) = %q", got)
	}
	desc, err = a.Topic.DescribeTopic(ctx(t), &adminpb.DescribeTopicRequest{Name: "/default/none"})
	if err != nil || !proto.Equal(desc, &adminpb.DescribeTopicResponse{Name: "/default/none", Delivery: "NonReliable"}) {
		t.Fatalf("DescribeTopic(unknown) = %v %v", desc, err)
	}
}

func TestAdminUnsubscribe(t *testing.T) {
	for _, reliable := range []bool{false, true} {
		t.Run("reliable="+strconv.FormatBool(reliable), func(t *testing.T) {
			w, a := newAdminWire(t, broker.Options{})
			const topic = "/default/unsub"
			p := w.mustProducer(topic, "p", reliable)
			cid := w.mustSubscribe(topic, "s", "c", exclusive)
			w.mustSubscribe(topic, "keep", "k", exclusive)
			s := w.receive(cid)
			p.mustSend("m0")
			if m := s.next(t); string(m.Payload) != "m0" {
				t.Fatalf("got %q", m.Payload)
			}

			_, err := a.Topic.Unsubscribe(ctx(t), &adminpb.SubscriptionRequest{Topic: topic, Subscription: "s"})
			const refused = "Unable to unsubscribe the subscription s due to error: Unable to unsubscribe as the subscription s has active consumers"
			wantStatus(t, err, codes.NotFound, refused)
			if got := a.subscriptions(t, topic); !reflect.DeepEqual(got, []string{"keep", "s"}) {
				t.Fatalf("refused Unsubscribe changed the subscriptions: %q", got)
			}
			if got := w.health(danubepb.HealthCheckRequest_Consumer, cid); got != danubepb.HealthCheckResponse_OK {
				t.Fatalf("consumer health after a refused Unsubscribe = %v", got)
			}

			s.close()
			testenv.Eventually(t, 5*time.Second, func() bool {
				return subInfo(t, w, topic, "s").ActiveConsumers == 0
			}, "consumer still active after its stream closed")
			resp, err := a.Topic.Unsubscribe(ctx(t), &adminpb.SubscriptionRequest{Topic: topic, Subscription: "s"})
			if err != nil || !resp.Success {
				t.Fatalf("Unsubscribe after the consumer left: %v %v", resp, err)
			}
			if got := a.subscriptions(t, topic); !reflect.DeepEqual(got, []string{"keep"}) {
				t.Fatalf("subscriptions after Unsubscribe = %q, want [keep]", got)
			}
			if _, ok := trySubInfo(w, topic, "s"); ok {
				t.Fatal("the subscription is still served")
			}
			if got := w.health(danubepb.HealthCheckRequest_Consumer, cid); got != danubepb.HealthCheckResponse_CLOSE {
				t.Fatalf("consumer health after Unsubscribe = %v, want CLOSE", got)
			}
			_, err = a.Topic.Unsubscribe(ctx(t), &adminpb.SubscriptionRequest{Topic: topic, Subscription: "s"})
			wantStatus(t, err, codes.NotFound, refused) // the real broker's one text for every refusal
			_, err = a.Topic.Unsubscribe(ctx(t), &adminpb.SubscriptionRequest{Topic: "/default/none", Subscription: "s"})
			wantStatus(t, err, codes.NotFound, refused)

			// Subscribing again makes a new subscription: a new consumer id, and (reliable) it starts at
			// the latest offset rather than at the deleted subscription's cursor.
			p.mustSend("gap")
			cid2 := w.mustSubscribe(topic, "s", "c", shared)
			if cid2 == cid {
				t.Fatalf("resubscribing kept the deleted consumer id %d", cid)
			}
			if info := subInfo(t, w, topic, "s"); info.Type != broker.Shared {
				t.Fatalf("recreated subscription type %v, want Shared (the old Exclusive one is gone)", info.Type)
			}
			s2 := w.receive(cid2)
			p.mustSend("after")
			if m := s2.next(t); string(m.Payload) != "after" {
				t.Fatalf("first message after resubscribing = %q, want after", m.Payload)
			}
		})
	}
}

func TestAdminFailurePolicy(t *testing.T) {
	w, a := newAdminWire(t, broker.Options{FailurePolicy: fastPolicy()})
	const topic = "/default/fp"
	p := w.mustProducer(topic, "p", true)
	s := w.receive(w.mustSubscribe(topic, "s", "c", exclusive))

	got, err := a.Topic.GetSubscriptionFailurePolicy(ctx(t), &adminpb.GetSubscriptionFailurePolicyRequest{Topic: topic, Subscription: "s"})
	if err != nil {
		t.Fatalf("GetSubscriptionFailurePolicy: %v", err)
	}
	wantDefault := &adminpb.GetSubscriptionFailurePolicyResponse{SubscriptionType: 0, FailurePolicy: &adminpb.SubscriptionFailurePolicy{
		MaxRedeliveryCount: 5, AckTimeoutMs: 5000, BaseRedeliveryDelayMs: 10, MaxRedeliveryDelayMs: 1000,
		BackoffStrategy: adminpb.SubscriptionBackoffStrategy_Fixed, PoisonPolicy: adminpb.SubscriptionPoisonPolicy_Block}}
	if !proto.Equal(got, wantDefault) {
		t.Fatalf("GetSubscriptionFailurePolicy = %v, want the broker's policy %v", got, wantDefault)
	}

	// Refusals.
	set := func(topic, sub string, p *adminpb.SubscriptionFailurePolicy) error {
		_, err := a.Topic.SetSubscriptionFailurePolicy(ctx(t), &adminpb.SetSubscriptionFailurePolicyRequest{
			Topic: topic, Subscription: sub, FailurePolicy: p})
		return err
	}
	dl := &adminpb.SubscriptionFailurePolicy{MaxRedeliveryCount: 1, AckTimeoutMs: 1000, BaseRedeliveryDelayMs: 10,
		MaxRedeliveryDelayMs: 100, PoisonPolicy: adminpb.SubscriptionPoisonPolicy_DeadLetter}
	// Refusals: the real broker's checks, codes and texts, in its order.
	const deadLetterText = "dead_letter_topic must be configured when poison_policy is DeadLetter"
	const reliableOnly = "subscription failure policy can only be configured for reliable topics"
	wantStatus(t, set(topic, "s", dl), codes.InvalidArgument, deadLetterText)
	dl.DeadLetterTopic = strp("  ")
	wantStatus(t, set(topic, "s", dl), codes.InvalidArgument, deadLetterText)
	dl.DeadLetterTopic = nil
	wantStatus(t, set(topic, "s", nil), codes.InvalidArgument, "failure_policy must be provided")
	wantStatus(t, set("/default/none", "s", dl), codes.FailedPrecondition, reliableOnly)
	badBackoff := proto.Clone(wantDefault.FailurePolicy).(*adminpb.SubscriptionFailurePolicy)
	badBackoff.BackoffStrategy = 7
	wantStatus(t, set(topic, "s", badBackoff), codes.InvalidArgument, "invalid backoff_strategy value")
	badPoison := proto.Clone(wantDefault.FailurePolicy).(*adminpb.SubscriptionFailurePolicy)
	badPoison.PoisonPolicy = 9
	wantStatus(t, set(topic, "s", badPoison), codes.InvalidArgument, "invalid poison_policy value")
	if got, _ := a.Topic.GetSubscriptionFailurePolicy(ctx(t), &adminpb.GetSubscriptionFailurePolicyRequest{Topic: topic, Subscription: "s"}); !proto.Equal(got, wantDefault) {
		t.Fatalf("a refused policy changed the subscription: %v", got)
	}

	// Non-reliable topics have no failure policy.
	w.mustProducer("/default/fp-nr", "p", false)
	w.mustSubscribe("/default/fp-nr", "n", "c", shared)
	wantStatus(t, set("/default/fp-nr", "n", wantDefault.FailurePolicy), codes.FailedPrecondition, reliableOnly)
	nr, err := a.Topic.GetSubscriptionFailurePolicy(ctx(t), &adminpb.GetSubscriptionFailurePolicyRequest{Topic: "/default/fp-nr", Subscription: "n"})
	if err != nil || !proto.Equal(nr, &adminpb.GetSubscriptionFailurePolicyResponse{SubscriptionType: 1}) {
		t.Fatalf("GetSubscriptionFailurePolicy on a non-reliable topic = %v %v, want type 1 and no policy", nr, err)
	}
	// Unknown topics and subscriptions: OK, type 0, no policy.
	for _, q := range [][2]string{{topic, "nope"}, {"/default/none", "s"}} {
		got, err := a.Topic.GetSubscriptionFailurePolicy(ctx(t), &adminpb.GetSubscriptionFailurePolicyRequest{Topic: q[0], Subscription: q[1]})
		if err != nil || !proto.Equal(got, &adminpb.GetSubscriptionFailurePolicyResponse{}) {
			t.Fatalf("GetSubscriptionFailurePolicy(%s, %s) = %v %v, want OK and empty", q[0], q[1], got, err)
		}
	}

	// Drop after the first delivery: a nacked message is skipped instead of coming back 10 ms later.
	drop := &adminpb.SubscriptionFailurePolicy{MaxRedeliveryCount: 0, AckTimeoutMs: 5000, BaseRedeliveryDelayMs: 10,
		MaxRedeliveryDelayMs: 1000, BackoffStrategy: adminpb.SubscriptionBackoffStrategy_Exponential,
		PoisonPolicy: adminpb.SubscriptionPoisonPolicy_Drop}
	a.setPolicy(t, topic, "s", drop)
	got, err = a.Topic.GetSubscriptionFailurePolicy(ctx(t), &adminpb.GetSubscriptionFailurePolicyRequest{Topic: topic, Subscription: "s"})
	if err != nil || !proto.Equal(got.FailurePolicy, drop) || got.SubscriptionType != 0 {
		t.Fatalf("GetSubscriptionFailurePolicy after Set = %v %v, want %v", got, err, drop)
	}
	p.mustSend("poison", "fine")
	m0, m1 := s.next(t), s.next(t)
	if string(m0.Payload) != "poison" || string(m1.Payload) != "fine" {
		t.Fatalf("got %q, %q", m0.Payload, m1.Payload)
	}
	w.nack("s", m0, 0, "bad")
	w.ack("s", m1)
	testenv.Eventually(t, 5*time.Second, func() bool {
		return subInfo(t, w, topic, "s").Cursor == 2
	}, "cursor did not pass the dropped message")
	s.none(t, 300*time.Millisecond)

	// DeadLetter with a topic: the nacked message is republished there and skipped.
	a.mustCreateTopic(t, "/default/fp-dlq", true)
	dlq := w.receive(w.mustSubscribe("/default/fp-dlq", "d", "c", exclusive))
	dl.DeadLetterTopic = strp("/default/fp-dlq")
	dl.MaxRedeliveryCount = 0
	a.setPolicy(t, topic, "s", dl)
	got, _ = a.Topic.GetSubscriptionFailurePolicy(ctx(t), &adminpb.GetSubscriptionFailurePolicyRequest{Topic: topic, Subscription: "s"})
	if !proto.Equal(got.FailurePolicy, dl) {
		t.Fatalf("GetSubscriptionFailurePolicy = %v, want %v", got.FailurePolicy, dl)
	}
	p.mustSend("to-dlq")
	m2 := s.next(t)
	if string(m2.Payload) != "to-dlq" || m2.MsgId.TopicOffset != 2 {
		t.Fatalf("got %q offset %d", m2.Payload, m2.MsgId.TopicOffset)
	}
	w.nack("s", m2, 0, "broken")
	d := dlq.next(t)
	if string(d.Payload) != "to-dlq" || d.Attributes["x-original-topic"] != topic || d.Attributes["x-original-subscription"] != "s" ||
		d.Attributes["x-failure-reason"] != "broken" || d.Attributes["x-poison-policy"] != "dead_letter" {
		t.Fatalf("dead-lettered message %q attributes %v", d.Payload, d.Attributes)
	}
	s.none(t, 200*time.Millisecond)
}

func TestAdminDispatchConfig(t *testing.T) {
	w, a := newAdminWire(t, broker.Options{FailurePolicy: fastPolicy()})
	const topic = "/default/window"
	p := w.mustProducer(topic, "p", true)
	s := w.receive(w.mustSubscribe(topic, "s", "c", exclusive))

	getWindow := func() *adminpb.GetSubscriptionDispatchConfigResponse {
		t.Helper()
		resp, err := a.Topic.GetSubscriptionDispatchConfig(ctx(t), &adminpb.GetSubscriptionDispatchConfigRequest{Topic: topic, Subscription: "s"})
		if err != nil {
			t.Fatalf("GetSubscriptionDispatchConfig: %v", err)
		}
		return resp
	}
	// Never set: no dispatch_config (the subscription uses the broker's window), as on the real broker.
	if got := getWindow(); got.DispatchConfig != nil {
		t.Fatalf("window never set = %v, want none", got)
	}
	a.setWindow(t, topic, "s", 2)
	if got := getWindow(); got.DispatchConfig.GetMaxUnackedMessages() != 2 {
		t.Fatalf("window after Set = %v, want 2", got)
	}

	p.mustSend(seq("m", 5)...)
	first := []*danubepb.StreamMessage{s.next(t), s.next(t)}
	if got := payloads(first); !reflect.DeepEqual(got, []string{"m0", "m1"}) {
		t.Fatalf("got %q", got)
	}
	s.none(t, 300*time.Millisecond) // the window is full
	if info := subInfo(t, w, topic, "s"); info.InFlight != 2 {
		t.Fatalf("in flight = %d, want 2", info.InFlight)
	}
	w.ack("s", first[0])
	m2 := s.next(t)
	if string(m2.Payload) != "m2" {
		t.Fatalf("after one ack got %q, want m2", m2.Payload)
	}
	s.none(t, 200*time.Millisecond)
	w.ack("s", first[1])
	w.ack("s", m2)
	rest := []*danubepb.StreamMessage{s.next(t), s.next(t)}
	if got := payloads(rest); !reflect.DeepEqual(got, []string{"m3", "m4"}) {
		t.Fatalf("got %q", got)
	}

	// Widening the window lets more out at once.
	a.setWindow(t, topic, "s", 5)
	p.mustSend(seq("n", 3)...)
	if got := payloads([]*danubepb.StreamMessage{s.next(t), s.next(t), s.next(t)}); !reflect.DeepEqual(got, []string{"n0", "n1", "n2"}) {
		t.Fatalf("after widening got %q", got)
	}

	setErr := func(topic, sub string, cfg *adminpb.SubscriptionDispatchConfig) error {
		_, err := a.Topic.SetSubscriptionDispatchConfig(ctx(t), &adminpb.SetSubscriptionDispatchConfigRequest{
			Topic: topic, Subscription: sub, DispatchConfig: cfg})
		return err
	}
	for _, n := range []uint32{0, 10001} {
		wantStatus(t, setErr(topic, "s", &adminpb.SubscriptionDispatchConfig{MaxUnackedMessages: n}), codes.InvalidArgument,
			"max_unacked_messages must be between 1 and 10000")
	}
	wantStatus(t, setErr(topic, "s", nil), codes.InvalidArgument, "dispatch_config is required")
	if got := getWindow(); got.DispatchConfig.GetMaxUnackedMessages() != 5 {
		t.Fatalf("a refused Set changed the window: %v", got)
	}

	// No topic, subscription or reliability check: the value is stored and read back.
	w.mustProducer("/default/window-nr", "p", false)
	w.mustSubscribe("/default/window-nr", "n", "c", exclusive)
	for _, q := range [][2]string{{"/default/window-nr", "n"}, {topic, "later"}, {"/default/none", "x"}} {
		if err := setErr(q[0], q[1], &adminpb.SubscriptionDispatchConfig{MaxUnackedMessages: 3}); err != nil {
			t.Fatalf("SetSubscriptionDispatchConfig(%s, %s): %v", q[0], q[1], err)
		}
		got, err := a.Topic.GetSubscriptionDispatchConfig(ctx(t), &adminpb.GetSubscriptionDispatchConfigRequest{Topic: q[0], Subscription: q[1]})
		if err != nil || got.DispatchConfig.GetMaxUnackedMessages() != 3 {
			t.Fatalf("GetSubscriptionDispatchConfig(%s, %s) = %v %v, want 3", q[0], q[1], got, err)
		}
	}
	nr, err := a.Topic.GetSubscriptionDispatchConfig(ctx(t), &adminpb.GetSubscriptionDispatchConfigRequest{Topic: "/default/window-nr", Subscription: "other"})
	if err != nil || nr.DispatchConfig != nil {
		t.Fatalf("GetSubscriptionDispatchConfig never set = %v %v, want no config", nr, err)
	}
	// A window set before the subscription exists applies when it is created.
	s2 := w.receive(w.mustSubscribe(topic, "later", "c", exclusive))
	p.mustSend(seq("l", 5)...)
	s2.next(t)
	s2.next(t)
	s2.next(t)
	s2.none(t, 200*time.Millisecond)
	if info := subInfo(t, w, topic, "later"); info.InFlight != 3 {
		t.Fatalf("in flight on a subscription configured beforehand = %d, want 3", info.InFlight)
	}
}

// TestAdminSubscriptionConfigSurvivesRestart checks that a policy and a window set through the admin API are
// stored, not only applied: a broker restarted on the same store still has them.
func TestAdminSubscriptionConfigSurvivesRestart(t *testing.T) {
	st := newMemoryStore()
	w, a := newAdminWire(t, broker.Options{Store: st})
	const topic = "/default/kept"
	w.mustProducer(topic, "p", true)
	w.mustSubscribe(topic, "s", "c", shared)
	pol := &adminpb.SubscriptionFailurePolicy{MaxRedeliveryCount: 2, AckTimeoutMs: 1234, BaseRedeliveryDelayMs: 5,
		MaxRedeliveryDelayMs: 50, BackoffStrategy: adminpb.SubscriptionBackoffStrategy_Fixed,
		PoisonPolicy: adminpb.SubscriptionPoisonPolicy_DeadLetter, DeadLetterTopic: strp("/default/kept-dlq")}
	a.setPolicy(t, topic, "s", pol)
	a.setWindow(t, topic, "s", 3)
	if err := w.srv.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}

	_, a2 := newAdminWire(t, broker.Options{Store: st})
	gp, err := a2.Topic.GetSubscriptionFailurePolicy(ctx(t), &adminpb.GetSubscriptionFailurePolicyRequest{Topic: topic, Subscription: "s"})
	if err != nil || !proto.Equal(gp.FailurePolicy, pol) || gp.SubscriptionType != 1 {
		t.Fatalf("policy after restart = %v %v, want %v", gp, err, pol)
	}
	gw, err := a2.Topic.GetSubscriptionDispatchConfig(ctx(t), &adminpb.GetSubscriptionDispatchConfigRequest{Topic: topic, Subscription: "s"})
	if err != nil || gw.DispatchConfig.GetMaxUnackedMessages() != 3 {
		t.Fatalf("window after restart = %v %v, want 3", gw, err)
	}
}

func TestAdminPortDisabled(t *testing.T) {
	w := newWire(t, broker.Options{AdminPort: -1})
	if a := w.srv.AdminAddr(); a != nil {
		t.Fatalf("AdminAddr = %v with AdminPort -1, want nil", a)
	}
	if u := w.srv.AdminURL(); u != "" {
		t.Fatalf("AdminURL = %q with AdminPort -1, want empty", u)
	}
	// The admin services are never mounted on the client port.
	a := adminClientsOf(w.Conn)
	_, err := a.Broker.ListBrokers(ctx(t), &adminpb.Empty{})
	wantStatusPrefix(t, err, codes.Unimplemented, "unknown service danube_admin.BrokerAdmin")
	_, err = a.Topic.CreateTopic(ctx(t), &adminpb.NewTopicRequest{Name: "/default/x"})
	wantStatusPrefix(t, err, codes.Unimplemented, "unknown service danube_admin.TopicAdmin")
	// The client port still works.
	w.mustProducer("/default/x", "p", false)
}

func TestAdminPortDefaultIsSeparate(t *testing.T) {
	w := newWire(t, broker.Options{})
	if w.srv.AdminAddr() == nil {
		t.Fatal("AdminPort 0 did not pick a port")
	}
	if w.srv.AdminAddr().String() == w.srv.Addr().String() {
		t.Fatalf("admin and client ports are both %s", w.srv.Addr())
	}
	if !strings.HasPrefix(w.srv.AdminURL(), "http://127.0.0.1:") {
		t.Fatalf("AdminURL = %q", w.srv.AdminURL())
	}
	// Client-port services are not on the admin port, except the schema registry.
	conn, err := grpc.NewClient(w.srv.AdminAddr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_, err = danubepb.NewProducerServiceClient(conn).CreateProducer(ctx(t), &danubepb.ProducerRequest{ProducerName: "p", TopicName: "/default/x"})
	wantStatusPrefix(t, err, codes.Unimplemented, "unknown service danube.ProducerService")
	_, err = schemapb.NewSchemaRegistryClient(conn).GetLatestSchema(ctx(t), &schemapb.GetLatestSchemaRequest{Subject: "none"})
	wantStatus(t, err, codes.NotFound, "Schema not found for subject: none")
}

// TestAdminDeletionsSurviveRestart checks that what the admin API deletes is deleted from the store too: a
// broker restarted on the same store does not bring back a deleted topic, subscription or namespace.
func TestAdminDeletionsSurviveRestart(t *testing.T) {
	st := newMemoryStore()
	w, a := newAdminWire(t, broker.Options{Store: st})
	a.mustCreateNamespace(t, "gone")
	a.mustCreateNamespace(t, "kept")
	a.mustCreateTopic(t, "/gone/t", false)
	p := w.mustProducer("/default/deleted", "p", true)
	cid := w.mustSubscribe("/default/deleted", "s", "c", exclusive)
	p.mustSend("x")
	a.mustCreatePartitioned(t, "/default/parts", 2, true)
	stays := w.mustProducer("/default/stays", "p", true)
	dropped := w.receive(w.mustSubscribe("/default/stays", "dropped", "c", shared))
	w.mustSubscribe("/default/stays", "kept", "c", shared)
	// Make the consumer of "dropped" inactive so that it can be deleted: close its stream once it is
	// certainly attached (it has received a message).
	stays.mustSend("y")
	dropped.next(t)
	dropped.close()
	testenv.Eventually(t, 5*time.Second, func() bool {
		return subInfo(t, w, "/default/stays", "dropped").ActiveConsumers == 0
	}, "consumer still active")

	for _, name := range []string{"/default/deleted", "/default/parts", "/gone/t"} {
		if _, err := a.Topic.DeleteTopic(ctx(t), &adminpb.TopicRequest{Name: name}); err != nil {
			t.Fatalf("DeleteTopic(%s): %v", name, err)
		}
	}
	if _, err := a.Namespace.DeleteNamespace(ctx(t), &adminpb.NamespaceRequest{Name: "gone"}); err != nil {
		t.Fatalf("DeleteNamespace: %v", err)
	}
	if _, err := a.Topic.Unsubscribe(ctx(t), &adminpb.SubscriptionRequest{Topic: "/default/stays", Subscription: "dropped"}); err != nil {
		t.Fatalf("Unsubscribe: %v", err)
	}
	if err := w.srv.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}

	w2, a2 := newAdminWire(t, broker.Options{Store: st})
	if got := w2.srv.TopicNames(); !reflect.DeepEqual(got, []string{"/default/stays", broker.EventsTopic}) {
		t.Fatalf("topics after restart = %q", got)
	}
	if got := a2.namespaces(t); !reflect.DeepEqual(got, []string{"default", "kept", "system"}) {
		t.Fatalf("namespaces after restart = %q", got)
	}
	if got := a2.subscriptions(t, "/default/stays"); !reflect.DeepEqual(got, []string{"kept"}) {
		t.Fatalf("subscriptions after restart = %q", got)
	}
	if got := w2.health(danubepb.HealthCheckRequest_Producer, p.id); got != danubepb.HealthCheckResponse_CLOSE {
		t.Fatalf("producer of a deleted topic is %v after restart", got)
	}
	if got := w2.health(danubepb.HealthCheckRequest_Consumer, cid); got != danubepb.HealthCheckResponse_CLOSE {
		t.Fatalf("consumer of a deleted topic is %v after restart", got)
	}
	// The deleted reliable topic comes back empty when recreated.
	p2 := w2.mustProducer("/default/deleted", "p", true)
	if info, _ := w2.srv.Topic("/default/deleted"); info.NextOffset != 0 || len(info.Subscriptions) != 0 {
		t.Fatalf("recreated topic after restart = %+v", info)
	}
	s := w2.receive(w2.mustSubscribe("/default/deleted", "s", "c", exclusive))
	p2.mustSend("fresh")
	if m := s.next(t); string(m.Payload) != "fresh" || m.MsgId.TopicOffset != 0 {
		t.Fatalf("got %q offset %d", m.Payload, m.MsgId.TopicOffset)
	}
}

// TestAdminNamespacePoliciesReportEnforcedLimits checks that GetNamespacePolicies reports the limits the
// broker actually applies, also after a restart with other limits on the same store: a console shows these
// numbers to users.
func TestAdminNamespacePoliciesReportEnforcedLimits(t *testing.T) {
	st := newMemoryStore()
	w, _ := newAdminWire(t, broker.Options{Store: st, Policies: broker.Policies{MaxMessageSize: 100}})
	if err := w.srv.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	w2, a2 := newAdminWire(t, broker.Options{Store: st, Policies: broker.Policies{MaxMessageSize: 200}})
	resp, err := a2.Namespace.GetNamespacePolicies(ctx(t), &adminpb.NamespaceRequest{Name: "default"})
	if err != nil {
		t.Fatal(err)
	}
	var pol broker.Policies
	if err := json.Unmarshal([]byte(resp.Policies), &pol); err != nil {
		t.Fatal(err)
	}
	limit := pol.MaxMessageSize
	p := w2.mustProducer("/default/limits", "p", false)
	if err := p.send(strings.Repeat("x", limit)); err != nil {
		t.Fatalf("GetNamespacePolicies reports max_message_size %d, but a message of that size is refused: %v", limit, err)
	}
	if err := p.send(strings.Repeat("x", limit+1)); statusCode(err) != codes.InvalidArgument {
		t.Fatalf("GetNamespacePolicies reports max_message_size %d, but a message of %d bytes gets %v, want InvalidArgument",
			limit, limit+1, err)
	}
}
