package broker_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/danube-console/danube-console/broker"
	"github.com/danube-console/danube-console/broker/brokertest"
	"github.com/danube-console/danube-console/proto/adminpb"
	"github.com/danube-console/danube-console/proto/danubepb"
)

// tokenCreds puts a bearer token on every call of a connection.
type tokenCreds string

func (t tokenCreds) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": "Bearer " + string(t)}, nil
}

func (tokenCreds) RequireTransportSecurity() bool { return false }

func tokenConn(b *testing.B, addr, tok string) *grpc.ClientConn {
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithPerRPCCredentials(tokenCreds(tok)))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { conn.Close() })
	return conn
}

// authzBenchBindings is how many bindings the authorizing broker holds.
const authzBenchBindings = 1000

// benchAuthzBroker starts a broker with a JWT secret, a non-reliable topic with a producer and a draining
// subscriber, and returns a connection carrying the publisher's token and a message maker. With authz, the
// publisher is authorized by its bindings among authzBenchBindings; without, it is a super-admin, which
// authorization lets through after authentication without looking at any binding.
func benchAuthzBroker(b *testing.B, authz bool) (*grpc.ClientConn, func() *danubepb.StreamMessage) {
	opts := broker.Options{JWTSecret: testSecret, SuperAdmins: []string{"root"}}
	if !authz {
		opts.SuperAdmins = append(opts.SuperAdmins, "publisher")
	}
	srv := brokertest.Run(b, opts)
	tok, err := broker.NewPrincipalToken(testSecret, broker.PrincipalServiceAccount, "publisher", time.Hour)
	if err != nil {
		b.Fatal(err)
	}
	topic := "/default/bench"
	if authz {
		root, err := broker.NewToken(testSecret, "root", time.Hour)
		if err != nil {
			b.Fatal(err)
		}
		sec := adminpb.NewSecurityAdminClient(tokenConn(b, srv.AdminAddr().String(), root))
		c := context.Background()
		for _, r := range []*adminpb.RoleDefinition{{Name: "reader", Permissions: []string{"Lookup", "Consume"}},
			{Name: "writer", Permissions: []string{"Lookup", "Produce", "Consume"}}} {
			if _, err := sec.CreateRole(c, &adminpb.CreateRoleRequest{Role: r}); err != nil {
				b.Fatal(err)
			}
		}
		// Other principals' bindings at every scope, and the publisher's own: a few on other topics and
		// roles that do not grant Produce, checked before the one that does, plus Consume on the cluster.
		scopes := []struct{ scope, res string }{{"cluster", ""}, {"namespace", "default"}, {"topic", topic}}
		for i := range authzBenchBindings - 7 {
			s := scopes[i%len(scopes)]
			if _, err := sec.CreateBinding(c, &adminpb.CreateBindingRequest{Binding: &adminpb.BindingDefinition{
				Id: fmt.Sprintf("b%d", i), PrincipalType: "service_account", PrincipalName: fmt.Sprintf("svc-%d", i),
				RoleNames: []string{"writer"}, Scope: s.scope, ResourceName: s.res}}); err != nil {
				b.Fatal(err)
			}
		}
		own := []*adminpb.BindingDefinition{
			{Id: "p1", Scope: "topic", ResourceName: "/default/a", RoleNames: []string{"writer"}},
			{Id: "p2", Scope: "topic", ResourceName: "/default/b", RoleNames: []string{"writer"}},
			{Id: "p3", Scope: "topic", ResourceName: "/default/c", RoleNames: []string{"writer"}},
			{Id: "p4", Scope: "namespace", ResourceName: "other", RoleNames: []string{"writer"}},
			{Id: "p5", Scope: "cluster", RoleNames: []string{"reader"}},
			{Id: "p6", Scope: "namespace", ResourceName: "default", RoleNames: []string{"reader", "missing"}},
			{Id: "p7", Scope: "topic", ResourceName: topic, RoleNames: []string{"reader", "writer"}},
		}
		for _, bd := range own {
			bd.PrincipalType, bd.PrincipalName = "service_account", "publisher"
			if _, err := sec.CreateBinding(c, &adminpb.CreateBindingRequest{Binding: bd}); err != nil {
				b.Fatal(err)
			}
		}
		all, err := sec.ListAllBindings(c, &adminpb.Empty{})
		if err != nil || len(all.Bindings) != authzBenchBindings {
			b.Fatalf("bindings: %d, %v", len(all.GetBindings()), err)
		}
	}
	conn := tokenConn(b, srv.Addr().String(), tok)
	pc, cc := danubepb.NewProducerServiceClient(conn), danubepb.NewConsumerServiceClient(conn)
	resp, err := pc.CreateProducer(context.Background(), &danubepb.ProducerRequest{ProducerName: "bench", TopicName: topic})
	if err != nil {
		b.Fatal(err)
	}
	cid, err := cc.Subscribe(context.Background(), &danubepb.ConsumerRequest{TopicName: topic, Subscription: "bench",
		ConsumerName: "c", SubscriptionType: danubepb.ConsumerRequest_Shared})
	if err != nil {
		b.Fatal(err)
	}
	drain(b, cc, cid.ConsumerId, "", nil)
	payload := make([]byte, benchPayload)
	return conn, func() *danubepb.StreamMessage {
		return &danubepb.StreamMessage{
			MsgId:   &danubepb.MsgID{ProducerId: resp.ProducerId, TopicName: topic, BrokerAddr: srv.URL()},
			Payload: payload, ProducerName: "bench", Attributes: map[string]string{},
		}
	}
}

// BenchmarkPublishAuthorization: non-reliable publish throughput at 64 concurrent senders from a publisher
// that 1,000 bindings authorize on every SendMessage, next to one that is only authenticated (a
// super-admin), in the same run.
// cost-% is the throughput lost to authorization (target: below 5).
func BenchmarkPublishAuthorization(b *testing.B) {
	authnConn, authnMsg := benchAuthzBroker(b, false)
	authzConn, authzMsg := benchAuthzBroker(b, true)
	publishAll(b, authnConn, 1000, benchConcurrency, authnMsg) // warm both up
	publishAll(b, authzConn, 1000, benchConcurrency, authzMsg)

	b.SetBytes(benchPayload)
	b.ResetTimer()
	authnT, authzT := sideBySide(b,
		func(n int) time.Duration { return publishAll(b, authnConn, n, benchConcurrency, authnMsg) },
		func(n int) time.Duration { return publishAll(b, authzConn, n, benchConcurrency, authzMsg) })
	b.StopTimer()
	b.ReportMetric(float64(b.N)/authzT.Seconds(), "msgs/s")
	b.ReportMetric(float64(b.N)/authnT.Seconds(), "authn-only-msgs/s")
	b.ReportMetric(authnT.Seconds()/authzT.Seconds(), "ratio-to-authn")
	b.ReportMetric(100*(1-authnT.Seconds()/authzT.Seconds()), "cost-%")
}
