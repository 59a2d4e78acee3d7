package broker_test

import (
	"context"
	"crypto/tls"
	"errors"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/danube-console/danube-console/broker"
	"github.com/danube-console/danube-console/proto/adminpb"
	"github.com/danube-console/danube-console/proto/danubepb"
	"github.com/danube-console/danube-console/proto/schemapb"
)

// Authorization, on whenever authentication is: every rpc of both ports checked against roles and bindings
// as the real broker's RBAC does (spec §2.4, §2.5), the denial's status and message, nothing changed by a denied
// call, and the danube_authz_* counters.

func dialConnInsecure(t *testing.T, addr string) *grpc.ClientConn {
	return dialConn(t, addr, insecure.NewCredentials())
}

func topicLookup(topic string) *danubepb.TopicLookupRequest {
	return &danubepb.TopicLookupRequest{Topic: topic}
}

func mustCreateRole(t *testing.T, sec adminpb.SecurityAdminClient, c context.Context, name string, perms ...string) {
	t.Helper()
	if _, err := sec.CreateRole(c, &adminpb.CreateRoleRequest{Role: &adminpb.RoleDefinition{Name: name, Permissions: perms}}); err != nil {
		t.Fatalf("CreateRole %s: %v", name, err)
	}
}

func mustBind(t *testing.T, sec adminpb.SecurityAdminClient, c context.Context, id, typ, name, scope, res string, roles ...string) {
	t.Helper()
	if _, err := sec.CreateBinding(c, &adminpb.CreateBindingRequest{Binding: &adminpb.BindingDefinition{Id: id,
		PrincipalType: typ, PrincipalName: name, RoleNames: roles, Scope: scope, ResourceName: res}}); err != nil {
		t.Fatalf("CreateBinding %s: %v", id, err)
	}
}

func principalToken(t *testing.T, typ, name string) context.Context {
	t.Helper()
	tok, err := broker.NewPrincipalToken(testSecret, typ, name, time.Hour)
	if err != nil {
		t.Fatalf("NewPrincipalToken: %v", err)
	}
	return bearer(t, tok)
}

// authzCount reads one danube_authz_* counter from the broker's collector (0 when the series is absent).
func authzCount(t *testing.T, srv *broker.Server, name, res, perm string) float64 {
	t.Helper()
	reg := prometheus.NewRegistry()
	reg.MustRegister(srv.Collector())
	fams, err := reg.Gather()
	if err != nil {
		t.Fatalf("gathering metrics: %v", err)
	}
	for _, f := range fams {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.Metric {
			l := map[string]string{}
			for _, lp := range m.Label {
				l[lp.GetName()] = lp.GetValue()
			}
			if l["resource"] == res && l["permission"] == perm {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}

// deltas tracks danube_authz_* counters against their values when it was made.
type deltas struct {
	t    *testing.T
	srv  *broker.Server
	base map[[3]string]float64
}

func newDeltas(t *testing.T, srv *broker.Server, keys ...[3]string) *deltas {
	d := &deltas{t: t, srv: srv, base: map[[3]string]float64{}}
	for _, k := range keys {
		d.base[k] = authzCount(t, srv, k[0], k[1], k[2])
	}
	return d
}

func (d *deltas) want(k [3]string, n float64) {
	d.t.Helper()
	if got := authzCount(d.t, d.srv, k[0], k[1], k[2]) - d.base[k]; got != n {
		d.t.Errorf("%s{resource=%q,permission=%q} went up by %v, want %v", k[0], k[1], k[2], got, n)
	}
}

func authzOpts() broker.Options {
	return broker.Options{JWTSecret: testSecret, SuperAdmins: []string{"root"}}
}

func TestAuthzClientPort(t *testing.T) {
	w, sec := securityClient(t, authzOpts())
	root := principalToken(t, broker.PrincipalUser, "root")
	billing := principalToken(t, broker.PrincipalServiceAccount, "billing")
	carol := principalToken(t, broker.PrincipalUser, "carol")
	mustCreateRole(t, sec, root, "producer", "Lookup", "Produce")
	mustCreateRole(t, sec, root, "consumer", "Consume")
	mustBind(t, sec, root, "billing-orders", "service_account", "billing", "topic", "/default/orders", "producer")
	denyProduce := [3]string{"danube_authz_deny_total", "topic", "Produce"}
	allowProduce := [3]string{"danube_authz_allow_total", "topic", "Produce"}
	denyConsumeTopic := [3]string{"danube_authz_deny_total", "topic", "Consume"}
	denyConsumeCluster := [3]string{"danube_authz_deny_total", "cluster", "Consume"}
	d := newDeltas(t, w.srv, denyProduce, allowProduce, denyConsumeTopic, denyConsumeCluster)

	// Granted on its topic: lookup, create a producer, send.
	if _, err := w.Discovery.TopicPartitions(billing, topicLookup("/default/orders")); err != nil {
		t.Fatalf("TopicPartitions with Lookup on the topic: %v", err)
	}
	pr, err := w.Producer.CreateProducer(billing, &danubepb.ProducerRequest{ProducerName: "billing", TopicName: "/default/orders"})
	if err != nil {
		t.Fatalf("CreateProducer with Produce on the topic: %v", err)
	}
	send := func(c context.Context, topic, payload string) error {
		_, err := w.Producer.SendMessage(c, &danubepb.StreamMessage{RequestId: 1, Payload: []byte(payload), ProducerName: "billing",
			MsgId: &danubepb.MsgID{ProducerId: pr.ProducerId, TopicName: topic}})
		return err
	}
	if err := send(billing, "/default/orders", "first"); err != nil {
		t.Fatalf("SendMessage with Produce on the topic: %v", err)
	}

	// Denied elsewhere, with the real message, and nothing is created.
	_, err = w.Producer.CreateProducer(billing, &danubepb.ProducerRequest{ProducerName: "billing", TopicName: "/default/other"})
	wantStatus(t, err, codes.PermissionDenied, `no binding grants Produce on Topic("/default/other") for service_account:billing`)
	if _, ok := w.srv.Topic("/default/other"); ok {
		t.Fatal("a denied CreateProducer created its topic")
	}
	// SendMessage is checked on every message, on the topic its message id names.
	err = send(billing, "/default/other", "sneaky")
	wantStatus(t, err, codes.PermissionDenied, `no binding grants Produce on Topic("/default/other") for service_account:billing`)
	_, err = w.Consumer.Subscribe(billing, &danubepb.ConsumerRequest{TopicName: "/default/orders", ConsumerName: "c", Subscription: "s"})
	wantStatus(t, err, codes.PermissionDenied, `no binding grants Consume on Topic("/default/orders") for service_account:billing`)
	// The principal's type is part of its identity.
	_, err = w.Discovery.TopicLookup(principalToken(t, broker.PrincipalUser, "billing"), topicLookup("/default/orders"))
	wantStatus(t, err, codes.PermissionDenied, `no binding grants Lookup on Topic("/default/orders") for user:billing`)
	d.want(denyProduce, 2)
	d.want(allowProduce, 2)
	d.want(denyConsumeTopic, 1)

	// A topic-scoped Consume lets a consumer subscribe but not receive or ack: those are checked on the
	// cluster (consumer_handler.rs).
	mustBind(t, sec, root, "carol-orders", "user", "carol", "topic", "/default/orders", "consumer")
	cr, err := w.Consumer.Subscribe(carol, &danubepb.ConsumerRequest{TopicName: "/default/orders", ConsumerName: "carol",
		Subscription: "audit", SubscriptionType: danubepb.ConsumerRequest_Exclusive})
	if err != nil {
		t.Fatalf("Subscribe with Consume on the topic: %v", err)
	}
	rs, err := w.Consumer.ReceiveMessages(carol, &danubepb.ReceiveRequest{ConsumerId: cr.ConsumerId})
	if err == nil {
		_, err = rs.Recv()
	}
	wantStatus(t, err, codes.PermissionDenied, "no binding grants Consume on Cluster for user:carol")
	_, err = w.Consumer.Ack(carol, &danubepb.AckRequest{MsgId: &danubepb.MsgID{TopicName: "/default/orders"}, SubscriptionName: "audit"})
	wantStatus(t, err, codes.PermissionDenied, "no binding grants Consume on Cluster for user:carol")
	d.want(denyConsumeCluster, 2)

	mustBind(t, sec, root, "carol-all", "user", "carol", "cluster", "", "consumer")
	sctx, cancel := context.WithCancel(carol)
	defer cancel()
	rs, err = w.Consumer.ReceiveMessages(sctx, &danubepb.ReceiveRequest{ConsumerId: cr.ConsumerId})
	if err != nil {
		t.Fatal(err)
	}
	if err := send(billing, "/default/orders", "second"); err != nil {
		t.Fatal(err)
	}
	if m, err := rs.Recv(); err != nil || string(m.Payload) != "second" {
		t.Fatalf("Recv with Consume on the cluster: %v %v", m, err)
	}

	// A namespace binding covers every topic of the namespace; deleting it revokes at once.
	mustBind(t, sec, root, "billing-ns", "service_account", "billing", "namespace", "default", "producer")
	if _, err := w.Producer.CreateProducer(billing, &danubepb.ProducerRequest{ProducerName: "b2", TopicName: "/default/other"}); err != nil {
		t.Fatalf("CreateProducer with Produce on the namespace: %v", err)
	}
	if _, err := sec.DeleteBinding(root, &adminpb.DeleteBindingRequest{Scope: "namespace", ResourceName: "default", BindingId: "billing-ns"}); err != nil {
		t.Fatal(err)
	}
	_, err = w.Discovery.TopicPartitions(billing, topicLookup("/default/third"))
	wantStatus(t, err, codes.PermissionDenied, `no binding grants Lookup on Topic("/default/third") for service_account:billing`)
	// A role deleted under a binding grants nothing any more.
	if _, err := sec.DeleteRole(root, &adminpb.DeleteRoleRequest{Name: "producer"}); err != nil {
		t.Fatal(err)
	}
	err = send(billing, "/default/orders", "third")
	wantStatus(t, err, codes.PermissionDenied, `no binding grants Produce on Topic("/default/orders") for service_account:billing`)

	// HealthCheck needs authentication only; a broker_internal token and super-admins pass every check.
	if _, err := w.Health.HealthCheck(principalToken(t, broker.PrincipalUser, "nobody"), &danubepb.HealthCheckRequest{Id: 1}); err != nil {
		t.Fatalf("HealthCheck without bindings: %v", err)
	}
	if _, err := w.Discovery.TopicPartitions(principalToken(t, broker.PrincipalBrokerInternal, "broker/1"), topicLookup("/default/x")); err != nil {
		t.Fatalf("broker_internal: %v", err)
	}
	if _, err := w.Producer.CreateProducer(root, &danubepb.ProducerRequest{ProducerName: "root", TopicName: "/default/root"}); err != nil {
		t.Fatalf("super-admin: %v", err)
	}
	// Authentication comes first.
	_, err = w.Discovery.TopicPartitions(ctx(t), topicLookup("/default/x"))
	wantStatus(t, err, codes.Unauthenticated, "Authentication credentials are missing")
}

func TestAuthzAdminPort(t *testing.T) {
	w, a := newAdminWire(t, authzOpts())
	conn := dialConnInsecure(t, w.srv.AdminAddr().String())
	sec := adminpb.NewSecurityAdminClient(conn)
	root := principalToken(t, broker.PrincipalUser, "root")
	dave := principalToken(t, broker.PrincipalUser, "dave")
	denyTopic := [3]string{"danube_authz_deny_total", "topic", "ManageTopic"}
	denyCluster := [3]string{"danube_authz_deny_total", "cluster", "ManageCluster"}
	d := newDeltas(t, w.srv, denyTopic, denyCluster)

	for name, tc := range map[string]struct {
		call func() error
		msg  string
	}{
		"CreateTopic": {func() error {
			_, err := a.Topic.CreateTopic(dave, &adminpb.NewTopicRequest{Name: "/default/t"})
			return err
		}, `no binding grants ManageTopic on Topic("/default/t") for user:dave`},
		"CreatePartitionedTopic": {func() error {
			_, err := a.Topic.CreatePartitionedTopic(dave, &adminpb.PartitionedTopicRequest{BaseName: "/default/p", Partitions: 2})
			return err
		}, `no binding grants ManageTopic on Topic("/default/p") for user:dave`},
		"Unsubscribe": {func() error {
			_, err := a.Topic.Unsubscribe(dave, &adminpb.SubscriptionRequest{Topic: "/default/t", Subscription: "s"})
			return err
		}, `no binding grants ManageTopic on Topic("/default/t") for user:dave`},
		"ListNamespaceTopics": {func() error {
			_, err := a.Topic.ListNamespaceTopics(dave, &adminpb.NamespaceRequest{Name: "default"})
			return err
		}, `no binding grants ManageTopic on Namespace("default") for user:dave`},
		"ListBrokerTopics": {func() error {
			_, err := a.Topic.ListBrokerTopics(dave, &adminpb.BrokerRequest{BrokerId: "42"})
			return err
		}, `no binding grants ManageTopic on Broker("42") for user:dave`},
		"ListBrokers": {func() error {
			_, err := a.Broker.ListBrokers(dave, &adminpb.Empty{})
			return err
		}, "no binding grants ManageBroker on Cluster for user:dave"},
		"UnloadBroker": {func() error {
			_, err := a.Broker.UnloadBroker(dave, &adminpb.UnloadBrokerRequest{BrokerId: "7"})
			return err
		}, `no binding grants ManageBroker on Broker("7") for user:dave`},
		"ListNamespaces": {func() error {
			_, err := a.Broker.ListNamespaces(dave, &adminpb.Empty{})
			return err
		}, "no binding grants ManageNamespace on Cluster for user:dave"},
		"GetClusterBalance": {func() error {
			_, err := a.Broker.GetClusterBalance(dave, &adminpb.ClusterBalanceRequest{})
			return err
		}, "no binding grants ManageCluster on Cluster for user:dave"},
		"CreateNamespace": {func() error {
			_, err := a.Namespace.CreateNamespace(dave, &adminpb.NamespaceRequest{Name: "sales"})
			return err
		}, `no binding grants ManageNamespace on Namespace("sales") for user:dave`},
		"CreateRole": {func() error {
			_, err := sec.CreateRole(dave, &adminpb.CreateRoleRequest{Role: &adminpb.RoleDefinition{Name: "mine", Permissions: []string{"ManageCluster"}}})
			return err
		}, "no binding grants ManageCluster on Cluster for user:dave"},
		"CreateBinding": {func() error {
			_, err := sec.CreateBinding(dave, &adminpb.CreateBindingRequest{Binding: &adminpb.BindingDefinition{Id: "x",
				PrincipalType: "user", PrincipalName: "dave", RoleNames: []string{"mine"}, Scope: "cluster"}})
			return err
		}, "no binding grants ManageCluster on Cluster for user:dave"},
		"RegisterSchema": {func() error {
			_, err := a.Schema.RegisterSchema(dave, &schemapb.RegisterSchemaRequest{Subject: "orders-value", SchemaType: "string"})
			return err
		}, `no binding grants ManageSchema on SchemaSubject("orders-value") for user:dave`},
		"ListSubjects": {func() error {
			_, err := a.Schema.ListSubjects(dave, &schemapb.ListSubjectsRequest{})
			return err
		}, "no binding grants ManageSchema on Cluster for user:dave"},
		"GetTopicSchemaConfig": {func() error {
			_, err := a.Schema.GetTopicSchemaConfig(dave, &schemapb.GetTopicSchemaConfigRequest{TopicName: "/default/t"})
			return err
		}, `no binding grants ManageSchema on Topic("/default/t") for user:dave`},
		// Checked before the request is validated: a bad name is still a denial.
		"CreateTopic bad name": {func() error {
			_, err := a.Topic.CreateTopic(dave, &adminpb.NewTopicRequest{Name: "no slashes"})
			return err
		}, `no binding grants ManageTopic on Topic("no slashes") for user:dave`},
	} {
		err := tc.call()
		t.Run(name, func(t *testing.T) { wantStatus(t, err, codes.PermissionDenied, tc.msg) })
	}
	d.want(denyTopic, 4)
	d.want(denyCluster, 3)
	// The denied calls changed nothing.
	if _, ok := w.srv.Topic("/default/t"); ok {
		t.Error("a denied CreateTopic created the topic")
	}
	if ns, err := a.Broker.ListNamespaces(root, &adminpb.Empty{}); err != nil || len(ns.Namespaces) != 2 {
		t.Errorf("namespaces after a denied CreateNamespace: %v %v", ns, err)
	}
	if got := roleNames(t, sec, root); len(got) != 0 {
		t.Errorf("roles after a denied CreateRole: %q", got)
	}
	if got := bindingIDs(sec.ListAllBindings(root, &adminpb.Empty{})); len(got) != 0 {
		t.Errorf("bindings after a denied CreateBinding: %q", got)
	}

	// Granted: ManageTopic on the namespace covers its topics only; ManageSchema on a subject (topic scope).
	mustCreateRole(t, sec, root, "topics", "ManageTopic")
	mustCreateRole(t, sec, root, "schemas", "ManageSchema")
	mustBind(t, sec, root, "dave-topics", "user", "dave", "namespace", "default", "topics")
	mustBind(t, sec, root, "dave-schema", "user", "dave", "topic", "orders-value", "schemas")
	if _, err := a.Topic.CreateTopic(dave, &adminpb.NewTopicRequest{Name: "/default/t"}); err != nil {
		t.Fatalf("CreateTopic with ManageTopic on the namespace: %v", err)
	}
	_, err := a.Topic.CreateTopic(dave, &adminpb.NewTopicRequest{Name: "/other/t"})
	wantStatus(t, err, codes.PermissionDenied, `no binding grants ManageTopic on Topic("/other/t") for user:dave`)
	if _, err := a.Schema.RegisterSchema(dave, &schemapb.RegisterSchemaRequest{Subject: "orders-value", SchemaType: "string"}); err != nil {
		t.Fatalf("RegisterSchema with ManageSchema on the subject: %v", err)
	}
}

// TestAuthzCountsWithoutAuthentication: without authentication every call is allowed, and still counted, as
// the real broker counts its anonymous requests in mode none.
func TestAuthzCountsWithoutAuthentication(t *testing.T) {
	w := newWire(t, broker.Options{})
	allow := [3]string{"danube_authz_allow_total", "topic", "Produce"}
	d := newDeltas(t, w.srv, allow)
	p := w.mustProducer("/default/open", "p", false)
	p.mustSend("a", "b", "c")
	d.want(allow, 4) // CreateProducer and three SendMessage
	if n := authzCount(t, w.srv, "danube_authz_deny_total", "topic", "Produce"); n != 0 {
		t.Fatalf("denials without authentication: %v", n)
	}
}

// TestAuthzMutualTLS: without a JWT secret, the principal is the user named by the client certificate.
func TestAuthzMutualTLS(t *testing.T) {
	pki := newPKI(t)
	srv := newWire(t, broker.Options{TLS: &tls.Config{
		Certificates: []tls.Certificate{pki.server}, ClientCAs: pki.pool,
		ClientAuth: tls.RequireAndVerifyClientCert, MinVersion: tls.VersionTLS12}}).srv
	creds := credentials.NewTLS(&tls.Config{RootCAs: pki.pool, Certificates: []tls.Certificate{pki.client}})
	disc := danubepb.NewDiscoveryClient(dialConn(t, srv.Addr().String(), creds))
	_, err := disc.TopicPartitions(ctx(t), topicLookup("/default/x"))
	wantStatus(t, err, codes.PermissionDenied, `no binding grants Lookup on Topic("/default/x") for user:danube client`)

	sec := adminpb.NewSecurityAdminClient(dialConn(t, srv.AdminAddr().String(), creds))
	_, err = sec.CreateRole(ctx(t), &adminpb.CreateRoleRequest{Role: &adminpb.RoleDefinition{Name: "r", Permissions: []string{"Lookup"}}})
	wantStatus(t, err, codes.PermissionDenied, "no binding grants ManageCluster on Cluster for user:danube client")
}

// TestAuthzMutualTLSSuperAdmin: a certificate's name can be a super-admin, which bootstraps the bindings.
func TestAuthzMutualTLSSuperAdmin(t *testing.T) {
	pki := newPKI(t)
	srv := newWire(t, broker.Options{SuperAdmins: []string{"danube client"}, TLS: &tls.Config{
		Certificates: []tls.Certificate{pki.server}, ClientCAs: pki.pool,
		ClientAuth: tls.RequireAndVerifyClientCert, MinVersion: tls.VersionTLS12}}).srv
	creds := credentials.NewTLS(&tls.Config{RootCAs: pki.pool, Certificates: []tls.Certificate{pki.client}})
	sec := adminpb.NewSecurityAdminClient(dialConn(t, srv.AdminAddr().String(), creds))
	mustCreateRole(t, sec, ctx(t), "r", "Lookup")
	disc := danubepb.NewDiscoveryClient(dialConn(t, srv.Addr().String(), creds))
	if _, err := disc.TopicPartitions(ctx(t), topicLookup("/default/x")); err != nil {
		t.Fatalf("super-admin by certificate: %v", err)
	}
}

// TestSuperAdminsNeedAuthentication: super-admins on a broker that cannot tell who calls are a mistake.
func TestSuperAdminsNeedAuthentication(t *testing.T) {
	pki := newPKI(t)
	root := []string{"root"}
	for name, o := range map[string]broker.Options{
		"nothing":                    {SuperAdmins: root},
		"TLS without client certs":   {SuperAdmins: root, TLS: &tls.Config{Certificates: []tls.Certificate{pki.server}}},
		"client certs only if given": {SuperAdmins: root, TLS: &tls.Config{Certificates: []tls.Certificate{pki.server}, ClientCAs: pki.pool, ClientAuth: tls.VerifyClientCertIfGiven}},
	} {
		if _, err := broker.New(o); !errors.Is(err, broker.ErrInvalidOptions) {
			t.Errorf("%s: New = %v, want ErrInvalidOptions", name, err)
		}
	}
}

func TestNewPrincipalToken(t *testing.T) {
	if _, err := broker.NewPrincipalToken(testSecret, "admin", "x", time.Hour); !errors.Is(err, broker.ErrInvalidOptions) {
		t.Fatalf("unknown principal type: %v", err)
	}
}

// TestAuthzPrincipalFromClaims: the principal is principal_type and principal_name (authn.rs): "user" is a
// user, "broker_internal" the broker, any other type a service account; a token without those claims is the
// user named by sub, and one that names nobody is invalid.
func TestAuthzPrincipalFromClaims(t *testing.T) {
	w := newWire(t, authzOpts())
	exp := time.Now().Add(time.Hour).Unix()
	for name, tc := range map[string]struct {
		claims jwt.MapClaims
		msg    string
	}{
		"sub only":           {jwt.MapClaims{"sub": "erin", "exp": exp}, `no binding grants Lookup on Topic("/default/x") for user:erin`},
		"name wins over sub": {jwt.MapClaims{"sub": "erin", "principal_type": "user", "principal_name": "frank", "exp": exp}, `no binding grants Lookup on Topic("/default/x") for user:frank`},
		"other type":         {jwt.MapClaims{"sub": "r2", "principal_type": "robot", "principal_name": "r2", "iss": "x", "exp": exp}, `no binding grants Lookup on Topic("/default/x") for service_account:r2`},
	} {
		_, err := w.Discovery.TopicPartitions(bearer(t, signed(t, testSecret, tc.claims)), topicLookup("/default/x"))
		t.Run(name, func(t *testing.T) { wantStatus(t, err, codes.PermissionDenied, tc.msg) })
	}
	_, err := w.Discovery.TopicPartitions(bearer(t, signed(t, testSecret, jwt.MapClaims{"exp": exp})), topicLookup("/default/x"))
	wantStatus(t, err, codes.Unauthenticated, "Invalid token")
	internal := signed(t, testSecret, jwt.MapClaims{"sub": "broker/7", "principal_type": "broker_internal", "principal_name": "broker/7", "exp": exp})
	if _, err := w.Discovery.TopicPartitions(bearer(t, internal), topicLookup("/default/x")); err != nil {
		t.Fatalf("broker_internal token: %v", err)
	}
}
