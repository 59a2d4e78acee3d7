package broker_test

import (
	"cmp"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"

	"github.com/danube-console/danube-console/broker"
	"github.com/danube-console/danube-console/proto/adminpb"
	"github.com/danube-console/danube-console/proto/danubepb"
)

// Tests of a group of brokers started with peers, over real gRPC on loopback: with authentication (the brokers
// call each other as broker_internal principals, with tokens minted from the JWT secret they share, or with
// their client certificates), followers' answers to membership changes, and draining brokers.

// startAuthGroup starts n brokers naming each other, sharing testSecret, with alice as super-admin.
func startAuthGroup(t *testing.T, n int) []member {
	t.Helper()
	return startGroupWith(t, n, func(_ int, o *broker.Options) {
		o.JWTSecret = testSecret
		o.SuperAdmins = alice
	})
}

func TestPeerGroupWithJWT(t *testing.T) {
	g := startAuthGroup(t, 3)
	admin := func() context.Context { return principalToken(t, broker.PrincipalUser, "alice") }
	if _, err := g[1].admin.Topic.CreateTopic(admin(), &adminpb.NewTopicRequest{Name: "/default/on-1"}); err != nil {
		t.Fatalf("CreateTopic: %v", err)
	}

	// Lookups at the other brokers redirect to the owner: they asked their peers, who let them in.
	for _, m := range []member{g[0], g[2]} {
		resp, err := m.wire.Discovery.TopicLookup(admin(), &danubepb.TopicLookupRequest{Topic: "/default/on-1"})
		if err != nil || resp.ResponseType != danubepb.TopicLookupResponse_Redirect || resp.BrokerUrl != g[1].srv.URL() {
			t.Fatalf("lookup at %s = %v, %v; want a redirect to %s", m.id(), resp, err, g[1].srv.URL())
		}
		_, err = m.wire.Producer.CreateProducer(admin(), &danubepb.ProducerRequest{RequestId: 1, ProducerName: "p",
			TopicName: "/default/on-1"})
		wantStatus(t, err, codes.Unavailable, "The topic exists but is served by another broker, redo the Lookup request")
	}

	// Every broker lists the whole group and names the same leader.
	var ids []string
	for _, m := range g {
		ids = append(ids, m.id())
	}
	sort.Strings(ids)
	leader := slices.MinFunc(g, func(a, b member) int { return cmp.Compare(a.srv.BrokerID(), b.srv.BrokerID()) }).id()
	for _, m := range g {
		resp, err := m.admin.Broker.ListBrokers(admin(), &adminpb.Empty{})
		if err != nil {
			t.Fatalf("ListBrokers at %s: %v", m.id(), err)
		}
		var got []string
		for _, b := range resp.Brokers {
			got = append(got, b.BrokerId)
		}
		if !slices.Equal(got, ids) {
			t.Fatalf("ListBrokers at %s = %v, want %v", m.id(), got, ids)
		}
		l, err := m.admin.Broker.GetLeaderBroker(admin(), &adminpb.Empty{})
		if err != nil || l.Leader != leader {
			t.Fatalf("GetLeaderBroker at %s = %v, %v; want %s", m.id(), l, err, leader)
		}
	}

	// ListBrokerTopics of a peer is forwarded to it.
	resp, err := g[0].admin.Topic.ListBrokerTopics(admin(), &adminpb.BrokerRequest{BrokerId: g[1].id()})
	if err != nil || !slices.Contains(topicNames(resp), "/default/on-1") || resp.Topics[0].BrokerId != g[1].id() {
		t.Fatalf("ListBrokerTopics(%s) at %s = %v, %v", g[1].id(), g[0].id(), resp, err)
	}

	// A caller without rights is refused everywhere, forwarded rpcs included, and one without credentials
	// too, even claiming to be a broker with the real brokers' internal header.
	nobody := func() context.Context { return principalToken(t, broker.PrincipalUser, "nobody") }
	_, err = g[0].admin.Topic.ListBrokerTopics(nobody(), &adminpb.BrokerRequest{BrokerId: g[1].id()})
	wantStatus(t, err, codes.PermissionDenied, `no binding grants ManageTopic on Broker("`+g[1].id()+`") for user:nobody`)
	_, err = g[0].admin.Broker.ListBrokers(nobody(), &adminpb.Empty{})
	wantStatus(t, err, codes.PermissionDenied, "no binding grants ManageBroker on Cluster for user:nobody")
	_, err = g[0].wire.Discovery.TopicLookup(nobody(), &danubepb.TopicLookupRequest{Topic: "/default/on-1"})
	wantStatus(t, err, codes.PermissionDenied, `no binding grants Lookup on Topic("/default/on-1") for user:nobody`)
	forged := metadata.AppendToOutgoingContext(ctx(t), "x-danube-internal-broker", "broker/"+g[0].id())
	_, err = g[1].admin.Topic.ListBrokerTopics(forged, &adminpb.BrokerRequest{BrokerId: g[1].id()})
	wantStatus(t, err, codes.Unauthenticated, "Authentication credentials are missing")
}

// The broker asked decides: a caller bound on one broker only (bindings are not shared within a group) is
// answered for a peer by that broker, which asks the peer as itself.
func TestPeerForwardedAsTheBroker(t *testing.T) {
	g := startAuthGroup(t, 2)
	alice := principalToken(t, broker.PrincipalUser, "alice")
	sec := adminpb.NewSecurityAdminClient(dialConnInsecure(t, g[0].srv.AdminAddr().String()))
	mustCreateRole(t, sec, alice, "ops", "ManageTopic")
	mustBind(t, sec, alice, "ops", broker.PrincipalUser, "ops", "cluster", "", "ops")
	if _, err := g[1].admin.Topic.CreateTopic(alice, &adminpb.NewTopicRequest{Name: "/default/t"}); err != nil {
		t.Fatal(err)
	}
	ops := principalToken(t, broker.PrincipalUser, "ops")
	resp, err := g[0].admin.Topic.ListBrokerTopics(ops, &adminpb.BrokerRequest{BrokerId: g[1].id()})
	if err != nil || !slices.Contains(topicNames(resp), "/default/t") {
		t.Fatalf("ListBrokerTopics(peer) at the broker that binds ops = %v, %v", resp, err)
	}
	_, err = g[1].admin.Topic.ListBrokerTopics(ops, &adminpb.BrokerRequest{BrokerId: g[1].id()})
	wantStatus(t, err, codes.PermissionDenied, `no binding grants ManageTopic on Broker("`+g[1].id()+`") for user:ops`)
}

// A broker with another secret is not let into the group: its peers refuse its calls, so it sees only itself,
// and they never see it.
func TestPeerWithAnotherSecretIsRefused(t *testing.T) {
	g := startAuthGroup(t, 2)
	other := []byte("another secret, not the group's")
	w := newWire(t, broker.Options{JWTSecret: other, SuperAdmins: alice, Peers: []string{g[0].srv.URL(), g[1].srv.URL()}})
	a := dialAdmin(t, w.srv)
	tok, err := broker.NewToken(other, "alice", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := a.Broker.ListBrokers(bearer(t, tok), &adminpb.Empty{})
	if err != nil || len(resp.Brokers) != 1 || resp.Brokers[0].BrokerId != brokerIDString(w.srv) {
		t.Fatalf("ListBrokers at the broker with another secret = %v, %v", resp, err)
	}
	l, err := a.Broker.GetLeaderBroker(bearer(t, tok), &adminpb.Empty{})
	if err != nil || l.Leader != brokerIDString(w.srv) {
		t.Fatalf("GetLeaderBroker = %v, %v; want itself", l, err)
	}
}

func topicNames(resp *adminpb.TopicInfoListResponse) []string {
	var out []string
	for _, ti := range resp.GetTopics() {
		out = append(out, ti.Name)
	}
	return out
}

// A group serving TLS calls its peers over TLS, verifying them with Options.PeerTLS: with a JWT secret the
// brokers present their broker_internal tokens; with mutual TLS alone, their own client certificate, whose
// name the peers make a super-admin.
func TestPeerGroupWithTLS(t *testing.T) {
	pki := newPKI(t)
	brokerCert := pki.issue(t, "danube broker", x509.ExtKeyUsageClientAuth, nil)
	for name, tc := range map[string]struct {
		secret []byte
		mtls   bool
	}{
		"TLS and JWT": {secret: testSecret},
		"mutual TLS":  {mtls: true},
	} {
		t.Run(name, func(t *testing.T) {
			g := startGroupWith(t, 2, func(_ int, o *broker.Options) {
				for i, p := range o.Peers {
					o.Peers[i] = "https" + strings.TrimPrefix(p, "http")
				}
				o.JWTSecret = tc.secret
				o.SuperAdmins = []string{"alice", "danube client", "danube broker"}
				o.TLS = &tls.Config{Certificates: []tls.Certificate{pki.server}, MinVersion: tls.VersionTLS12}
				o.PeerTLS = &tls.Config{RootCAs: pki.pool, MinVersion: tls.VersionTLS12}
				if tc.mtls {
					o.TLS.ClientCAs, o.TLS.ClientAuth = pki.pool, tls.RequireAndVerifyClientCert
					o.PeerTLS.Certificates = []tls.Certificate{brokerCert}
				}
			})
			creds := credentials.NewTLS(&tls.Config{RootCAs: pki.pool, Certificates: []tls.Certificate{pki.client}})
			a0 := adminClientsOf(dialConn(t, g[0].srv.AdminAddr().String(), creds))
			a1 := adminClientsOf(dialConn(t, g[1].srv.AdminAddr().String(), creds))
			c := ctx(t)
			if tc.secret != nil {
				c = principalToken(t, broker.PrincipalUser, "alice")
			}
			if _, err := a1.Topic.CreateTopic(c, &adminpb.NewTopicRequest{Name: "/default/on-1"}); err != nil {
				t.Fatalf("CreateTopic: %v", err)
			}
			resp, err := a0.Broker.ListBrokers(c, &adminpb.Empty{})
			if err != nil || len(resp.Brokers) != 2 {
				t.Fatalf("ListBrokers = %v, %v; want both brokers", resp, err)
			}
			for _, b := range resp.Brokers {
				if !strings.HasPrefix(b.BrokerAddr, "https://") || !strings.HasPrefix(b.AdminAddr, "https://") {
					t.Fatalf("ListBrokers lists %v, want https URLs", b)
				}
			}
			topics, err := a0.Topic.ListBrokerTopics(c, &adminpb.BrokerRequest{BrokerId: g[1].id()})
			if err != nil || !slices.Contains(topicNames(topics), "/default/on-1") {
				t.Fatalf("ListBrokerTopics(peer) = %v, %v", topics, err)
			}
			disc := danubepb.NewDiscoveryClient(dialConn(t, g[0].srv.Addr().String(), creds))
			look, err := disc.TopicLookup(c, &danubepb.TopicLookupRequest{Topic: "/default/on-1"})
			if err != nil || look.ResponseType != danubepb.TopicLookupResponse_Redirect || look.BrokerUrl != g[1].srv.URL() {
				t.Fatalf("lookup = %v, %v; want a redirect to %s", look, err, g[1].srv.URL())
			}
		})
	}
}

func TestPeerSchemeFollowsTLS(t *testing.T) {
	pki := newPKI(t)
	tlsCfg := &tls.Config{Certificates: []tls.Certificate{pki.server}}
	for name, o := range map[string]broker.Options{
		"http peer of a TLS broker":   {TLS: tlsCfg, Peers: []string{"http://127.0.0.1:1"}},
		"https peer of a text broker": {Peers: []string{"https://127.0.0.1:1"}},
	} {
		if _, err := broker.New(o); !errors.Is(err, broker.ErrInvalidOptions) {
			t.Errorf("%s: New = %v, want ErrInvalidOptions", name, err)
		}
	}
}

// Followers answer membership changes as a real follower does: only the leader changes the membership, and
// openraft's error names it. Every node answers "already a voter" for a member without asking Raft.
func TestPeerGroupFollowersForward(t *testing.T) {
	g := startGroup(t, 3)
	sort.Slice(g, func(i, j int) bool { return g[i].srv.BrokerID() < g[j].srv.BrokerID() })
	leader := g[0]
	u, err := url.Parse(leader.srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	fwd := fmt.Sprintf(`has to forward request to: Some(%d), Some(BasicNode { addr: "%s" })`, leader.srv.BrokerID(), u.Host)
	const stranger = 7
	for _, f := range g[1:] {
		_, err := f.c.AddNode(ctx(t), &adminpb.AddNodeRequest{Addr: "127.0.0.1:1", NodeId: stranger})
		wantStatus(t, err, codes.Internal, "failed to add learner: "+fwd)
		_, err = f.c.PromoteNode(ctx(t), &adminpb.PromoteNodeRequest{NodeId: stranger})
		wantStatus(t, err, codes.Internal, "failed to promote node: "+fwd)
		_, err = f.c.RemoveNode(ctx(t), &adminpb.RemoveNodeRequest{NodeId: stranger})
		wantStatus(t, err, codes.Internal, "failed to remove node: "+fwd)
		for _, m := range g {
			id := m.srv.BrokerID()
			pr, err := f.c.PromoteNode(ctx(t), &adminpb.PromoteNodeRequest{NodeId: id})
			if err != nil || !pr.Success || pr.Message != fmt.Sprintf("Node %d is already a voter", id) {
				t.Fatalf("PromoteNode(member) at a follower = %v, %v", pr, err)
			}
			_, err = f.c.RemoveNode(ctx(t), &adminpb.RemoveNodeRequest{NodeId: id})
			wantStatus(t, err, codes.Internal, "failed to remove node: "+fwd)
		}
		// Validation comes first, as on every node.
		_, err = f.c.AddNode(ctx(t), &adminpb.AddNodeRequest{NodeId: stranger})
		wantStatus(t, err, codes.InvalidArgument, "addr is required")
		_, err = f.c.RemoveNode(ctx(t), &adminpb.RemoveNodeRequest{})
		wantStatus(t, err, codes.InvalidArgument, "node_id is required")
	}
	// The leader answers as a leader whose membership cannot change.
	_, err = leader.c.AddNode(ctx(t), &adminpb.AddNodeRequest{Addr: "127.0.0.1:1", NodeId: stranger})
	wantStatusPrefix(t, err, codes.Internal, "failed to add learner: node 7 at 127.0.0.1:1 cannot be added")
	_, err = leader.c.PromoteNode(ctx(t), &adminpb.PromoteNodeRequest{NodeId: stranger})
	wantStatus(t, err, codes.Internal, "failed to promote node: learner 7 not found: add it as learner before adding it as a voter")
	rm, err := leader.c.RemoveNode(ctx(t), &adminpb.RemoveNodeRequest{NodeId: stranger})
	if err != nil || !rm.Success || rm.Message != "Node 7 removed from cluster" {
		t.Fatalf("RemoveNode(stranger) at the leader = %v, %v", rm, err)
	}
	_, err = leader.c.RemoveNode(ctx(t), &adminpb.RemoveNodeRequest{NodeId: g[1].srv.BrokerID()})
	wantStatusPrefix(t, err, codes.Internal, "failed to remove node: node ")

	// When the leader stops, the next broker leads and answers as the leader; the last one follows it.
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := leader.srv.Shutdown(c); err != nil {
		t.Fatal(err)
	}
	_, err = g[1].c.PromoteNode(ctx(t), &adminpb.PromoteNodeRequest{NodeId: stranger})
	wantStatus(t, err, codes.Internal, "failed to promote node: learner 7 not found: add it as learner before adding it as a voter")
	_, err = g[2].c.PromoteNode(ctx(t), &adminpb.PromoteNodeRequest{NodeId: stranger})
	wantStatusPrefix(t, err, codes.Internal, fmt.Sprintf("failed to promote node: has to forward request to: Some(%d), ", g[1].srv.BrokerID()))
}

// A broker that is not active gets no new topics, as in a real cluster: the ones created through it land on
// an active peer, and a producer that would have auto-created one is sent to look it up again.
func TestPeerGroupNotActiveCreatesElsewhere(t *testing.T) {
	g := startGroup(t, 3)
	g[1].wire.mustProducer("/default/b1", "p", false)
	// g[2] has no topics of its own: drained at once; g[1] has one: draining.
	for _, m := range []member{g[2], g[1]} {
		if _, err := g[0].admin.Broker.UnloadBroker(ctx(t), &adminpb.UnloadBrokerRequest{BrokerId: m.id(),
			NamespacesExclude: []string{"system"}}); err != nil {
			t.Fatalf("UnloadBroker(%s): %v", m.id(), err)
		}
	}
	wantGroup(t, g, g, map[string]string{g[1].id(): "draining", g[2].id(): "drained"})

	// CreateTopic through the draining broker answers OK and the topic is served by the only active broker.
	g[1].admin.mustCreateTopic(t, "/default/new", true)
	if _, ok := g[1].srv.Topic("/default/new"); ok {
		t.Fatal("the draining broker took a new topic")
	}
	if info, ok := g[0].srv.Topic("/default/new"); !ok || !info.Reliable {
		t.Fatalf("the active broker serves %v, %v; want the reliable topic", info, ok)
	}
	resp, err := g[1].wire.Discovery.TopicLookup(ctx(t), &danubepb.TopicLookupRequest{Topic: "/default/new"})
	if err != nil || resp.ResponseType != danubepb.TopicLookupResponse_Redirect || resp.BrokerUrl != g[0].srv.URL() {
		t.Fatalf("lookup at the draining broker = %v, %v", resp, err)
	}
	_, err = g[1].admin.Topic.CreateTopic(ctx(t), &adminpb.NewTopicRequest{Name: "/default/new"})
	wantStatus(t, err, codes.NotFound, "Unable to create the topic /default/new due to Topic '/default/new' already exists")
	// Its own topics are its own: "already exists" here.
	_, err = g[1].admin.Topic.CreateTopic(ctx(t), &adminpb.NewTopicRequest{Name: "/default/b1"})
	wantStatus(t, err, codes.NotFound, "Unable to create the topic /default/b1 due to Topic '/default/b1' already exists")
	if _, err := g[2].admin.Topic.CreatePartitionedTopic(ctx(t), &adminpb.PartitionedTopicRequest{BaseName: "/default/parts",
		Partitions: 2}); err != nil {
		t.Fatalf("CreatePartitionedTopic at the drained broker: %v", err)
	}
	for i := range 2 {
		if _, ok := g[0].srv.Topic(broker.PartitionName("/default/parts", i)); !ok {
			t.Fatalf("partition %d is not on the active broker", i)
		}
	}

	// A producer of a new topic at the drained broker: the topic is created on the active broker, and the
	// producer is told to look it up again, which sends it there.
	_, err = g[2].wire.createProducer("/default/auto", "p", false)
	wantStatus(t, err, codes.Unavailable, "The topic metadata was created, need to redo the lookup to find the correct broker")
	if _, ok := g[2].srv.Topic("/default/auto"); ok {
		t.Fatal("the drained broker took a new topic")
	}
	resp, err = g[2].wire.Discovery.TopicLookup(ctx(t), &danubepb.TopicLookupRequest{Topic: "/default/auto"})
	if err != nil || resp.ResponseType != danubepb.TopicLookupResponse_Redirect || resp.BrokerUrl != g[0].srv.URL() {
		t.Fatalf("lookup after the producer was refused = %v, %v", resp, err)
	}
	g[0].wire.mustProducer("/default/auto", "p", false)
	fams := scrape(t, g[2].srv.MetricsAddr())
	if got := value(fams, "danube_client_redirects_total", "reason", "post_create", "topic_ns", "default"); got != 1 {
		t.Fatalf("danube_client_redirects_total{reason=post_create} = %v, want 1", got)
	}

	// Active again, a broker takes its new topics.
	if _, err := g[0].admin.Broker.ActivateBroker(ctx(t), &adminpb.ActivateBrokerRequest{BrokerId: g[1].id()}); err != nil {
		t.Fatal(err)
	}
	g[1].admin.mustCreateTopic(t, "/default/mine", false)
	if _, ok := g[1].srv.Topic("/default/mine"); !ok {
		t.Fatal("the active broker did not take its new topic")
	}
}
