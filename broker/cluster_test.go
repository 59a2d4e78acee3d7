package broker_test

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"

	"github.com/danube-console/danube-console/broker"
	"github.com/danube-console/danube-console/broker/brokertest"
	"github.com/danube-console/danube-console/internal/testenv"
	"github.com/danube-console/danube-console/proto/adminpb"
	"github.com/danube-console/danube-console/proto/danubepb"
)

// Tests of danube_admin.ClusterAdmin and of the cluster answers of BrokerAdmin, for a broker alone (a
// single-node cluster) and for a group of brokers started with peers, always over real gRPC on loopback.

// dialCluster connects to the ClusterAdmin service of srv's admin port.
func dialCluster(t *testing.T, srv *broker.Server) adminpb.ClusterAdminClient {
	t.Helper()
	conn, err := grpc.NewClient(srv.AdminAddr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatalf("grpc.NewClient: %v", err)
	}
	t.Cleanup(func() { conn.Close() })
	return adminpb.NewClusterAdminClient(conn)
}

func TestClusterStatusSingleBroker(t *testing.T) {
	w, a := newAdminWire(t, broker.Options{})
	c := dialCluster(t, w.srv)
	id := w.srv.BrokerID()
	st, err := c.ClusterStatus(ctx(t), &adminpb.Empty{})
	if err != nil {
		t.Fatalf("ClusterStatus: %v", err)
	}
	want := &adminpb.ClusterStatusResponse{
		LeaderId: id, CurrentTerm: 1, LastApplied: st.LastApplied, Voters: []uint64{id}, SelfNodeId: id,
		// The bind address (the advertised host is 127.0.0.1), with the port the brokers talk on.
		RaftAddr: w.srv.Addr().String(),
	}
	if !proto.Equal(st, want) || st.LastApplied == 0 {
		t.Fatalf("ClusterStatus = %v, want %v with a last applied index above 0", st, want)
	}
	// Every metadata write is one more applied entry.
	a.mustCreateTopic(t, "/default/applied", true)
	st2, err := c.ClusterStatus(ctx(t), &adminpb.Empty{})
	if err != nil || st2.LastApplied <= st.LastApplied {
		t.Fatalf("last applied after CreateTopic = %d (before %d), %v", st2.GetLastApplied(), st.LastApplied, err)
	}
}

func TestClusterStatusAdvertisedHost(t *testing.T) {
	w := newWire(t, broker.Options{AdvertisedURL: "http://broker1.example:6650"})
	st, err := dialCluster(t, w.srv).ClusterStatus(ctx(t), &adminpb.Empty{})
	if err != nil {
		t.Fatal(err)
	}
	if want := "broker1.example:" + portOf(t, w.srv); st.RaftAddr != want {
		t.Fatalf("raft_addr = %q, want %q", st.RaftAddr, want)
	}
}

func portOf(t *testing.T, srv *broker.Server) string {
	t.Helper()
	a := srv.Addr().String()
	for i := len(a) - 1; i >= 0; i-- {
		if a[i] == ':' {
			return a[i+1:]
		}
	}
	t.Fatalf("address %q has no port", a)
	return ""
}

func TestClusterMembershipSingleBroker(t *testing.T) {
	w := newWire(t, broker.Options{})
	c := dialCluster(t, w.srv)
	id := w.srv.BrokerID()
	other := id + 1

	_, err := c.AddNode(ctx(t), &adminpb.AddNodeRequest{NodeId: other})
	wantStatus(t, err, codes.InvalidArgument, "addr is required")
	_, err = c.AddNode(ctx(t), &adminpb.AddNodeRequest{Addr: "10.0.0.2:7650"})
	wantStatus(t, err, codes.InvalidArgument, "node_id is required (discovered from the target node's {data_dir}/node_id)")
	_, err = c.AddNode(ctx(t), &adminpb.AddNodeRequest{Addr: "10.0.0.2:7650", NodeId: other})
	wantStatusPrefix(t, err, codes.Internal, "failed to add learner: ")

	_, err = c.PromoteNode(ctx(t), &adminpb.PromoteNodeRequest{})
	wantStatus(t, err, codes.InvalidArgument, "node_id is required")
	pr, err := c.PromoteNode(ctx(t), &adminpb.PromoteNodeRequest{NodeId: id})
	if err != nil || !proto.Equal(pr, &adminpb.PromoteNodeResponse{Success: true, Message: fmt.Sprintf("Node %d is already a voter", id)}) {
		t.Fatalf("PromoteNode(self) = %v, %v", pr, err)
	}
	_, err = c.PromoteNode(ctx(t), &adminpb.PromoteNodeRequest{NodeId: other})
	wantStatusPrefix(t, err, codes.Internal, "failed to promote node: ")

	_, err = c.RemoveNode(ctx(t), &adminpb.RemoveNodeRequest{})
	wantStatus(t, err, codes.InvalidArgument, "node_id is required")
	_, err = c.RemoveNode(ctx(t), &adminpb.RemoveNodeRequest{NodeId: id})
	wantStatus(t, err, codes.FailedPrecondition, "cannot remove the last voter from the cluster")
	rr, err := c.RemoveNode(ctx(t), &adminpb.RemoveNodeRequest{NodeId: other})
	if err != nil || !proto.Equal(rr, &adminpb.RemoveNodeResponse{Success: true, Message: fmt.Sprintf("Node %d removed from cluster", other)}) {
		t.Fatalf("RemoveNode(unknown) = %v, %v", rr, err)
	}

	// Nothing changed.
	st, err := c.ClusterStatus(ctx(t), &adminpb.Empty{})
	if err != nil || !slices.Equal(st.Voters, []uint64{id}) || len(st.Learners) != 0 || st.LeaderId != id {
		t.Fatalf("ClusterStatus after the membership rpcs = %v, %v", st, err)
	}
}

func TestBrokerAdminSingleBroker(t *testing.T) {
	w, a := newAdminWire(t, broker.Options{})
	id := brokerIDString(w.srv)
	w.mustProducer("/default/t", "p", false)

	// A single broker cannot be unloaded; the check comes before the others.
	for _, req := range []*adminpb.UnloadBrokerRequest{{BrokerId: id}, {}, {BrokerId: id, DryRun: true}} {
		_, err := a.Broker.UnloadBroker(ctx(t), req)
		wantStatus(t, err, codes.FailedPrecondition, "Cannot unload broker: single broker cluster detected.")
	}
	_, err := a.Broker.TriggerRebalance(ctx(t), &adminpb.RebalanceRequest{DryRun: true})
	wantStatus(t, err, codes.FailedPrecondition, "Rebalancing is not configured on this broker")

	_, err = a.Broker.ActivateBroker(ctx(t), &adminpb.ActivateBrokerRequest{})
	wantStatus(t, err, codes.InvalidArgument, "broker_id must be provided to activate a broker")
	for _, target := range []string{id, "12345"} { // any id, even one no broker has
		resp, err := a.Broker.ActivateBroker(ctx(t), &adminpb.ActivateBrokerRequest{BrokerId: target, Reason: "test"})
		if err != nil || !resp.Success {
			t.Fatalf("ActivateBroker(%s) = %v, %v", target, resp, err)
		}
	}
	if got := listBrokers(t, a); len(got) != 1 || got[0].BrokerStatus != "active" || got[0].BrokerRole != "Cluster_Leader" {
		t.Fatalf("ListBrokers = %v", got)
	}
	if _, ok := w.srv.Topic("/default/t"); !ok {
		t.Fatal("the topic went away")
	}
}

func listBrokers(t *testing.T, a adminClients) []*adminpb.BrokerInfo {
	t.Helper()
	resp, err := a.Broker.ListBrokers(ctx(t), &adminpb.Empty{})
	if err != nil {
		t.Fatalf("ListBrokers: %v", err)
	}
	return resp.Brokers
}

// member is one broker of a group under test.
type member struct {
	srv   *broker.Server
	admin adminClients
	wire  *wire
	c     adminpb.ClusterAdminClient
}

func (m member) id() string { return brokerIDString(m.srv) }

// startGroup starts n brokers on loopback, each with every other one as a peer, and metrics served.
func startGroup(t *testing.T, n int) []member {
	t.Helper()
	return startGroupWith(t, n, nil)
}

// startGroupWith is startGroup with a hook that can change each broker's options.
func startGroupWith(t *testing.T, n int, hook func(i int, o *broker.Options)) []member {
	t.Helper()
	srvs := brokertest.Group(t, n, hook)
	out := make([]member, n)
	for i, srv := range srvs {
		w := &wire{t: t, srv: srv, Clients: brokertest.Dial(t, srv)}
		out[i] = member{srv: srv, admin: dialAdmin(t, srv), wire: w, c: dialCluster(t, srv)}
	}
	return out
}

// wantGroup checks that every broker in askers lists exactly the members in want, with their addresses,
// the same leader (the lowest id) and the given states.
func wantGroup(t *testing.T, askers, want []member, states map[string]string) {
	t.Helper()
	sorted := slices.Clone(want)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].id() < sorted[j].id() })
	leader := sorted[0].srv.BrokerID()
	for _, m := range sorted {
		leader = min(leader, m.srv.BrokerID())
	}
	var expect []*adminpb.BrokerInfo
	for _, m := range sorted {
		role := "Cluster_Follower"
		if m.srv.BrokerID() == leader {
			role = "Cluster_Leader"
		}
		st := states[m.id()]
		if st == "" {
			st = "active"
		}
		expect = append(expect, &adminpb.BrokerInfo{
			BrokerId: m.id(), BrokerAddr: m.srv.URL(), BrokerRole: role,
			AdminAddr: m.srv.AdminURL(), MetricsAddr: m.srv.MetricsAddr(), BrokerStatus: st,
		})
	}
	for _, a := range askers {
		got := listBrokers(t, a.admin)
		if len(got) != len(expect) {
			t.Fatalf("ListBrokers at %s = %v, want %v", a.id(), got, expect)
		}
		for i := range got {
			if !proto.Equal(got[i], expect[i]) {
				t.Fatalf("ListBrokers at %s, broker %d = %v, want %v", a.id(), i, got[i], expect[i])
			}
		}
		l, err := a.admin.Broker.GetLeaderBroker(ctx(t), &adminpb.Empty{})
		if err != nil || l.Leader != strconv.FormatUint(leader, 10) {
			t.Fatalf("GetLeaderBroker at %s = %v, %v; want %d", a.id(), l, err, leader)
		}
	}
}

func brokerTopics(t *testing.T, asker member, id string) []string {
	t.Helper()
	resp, err := asker.admin.Topic.ListBrokerTopics(ctx(t), &adminpb.BrokerRequest{BrokerId: id})
	if err != nil {
		t.Fatalf("ListBrokerTopics(%s) at %s: %v", id, asker.id(), err)
	}
	var names []string
	for _, ti := range resp.Topics {
		if ti.BrokerId != id {
			t.Fatalf("ListBrokerTopics(%s) gave %v", id, ti)
		}
		names = append(names, ti.Name)
	}
	return names
}

func TestPeerGroupListsEveryBroker(t *testing.T) {
	g := startGroup(t, 3)
	wantGroup(t, g, g, nil)

	// Every broker reports the same Raft view: the same leader, every broker a voter; its own id and address.
	var ids []uint64
	for _, m := range g {
		ids = append(ids, m.srv.BrokerID())
	}
	slices.Sort(ids)
	for _, m := range g {
		st, err := m.c.ClusterStatus(ctx(t), &adminpb.Empty{})
		if err != nil {
			t.Fatalf("ClusterStatus: %v", err)
		}
		want := &adminpb.ClusterStatusResponse{
			LeaderId: ids[0], CurrentTerm: 1, LastApplied: st.LastApplied, Voters: ids,
			SelfNodeId: m.srv.BrokerID(), RaftAddr: m.srv.Addr().String(),
		}
		if !proto.Equal(st, want) {
			t.Fatalf("ClusterStatus at %s = %v, want %v", m.id(), st, want)
		}
	}
}

func TestPeerGroupTopicsAndBalance(t *testing.T) {
	g := startGroup(t, 3)
	g[0].wire.mustProducer("/default/a1", "p", false)
	g[0].admin.mustCreateTopic(t, "/default/a2", true)
	g[0].admin.mustCreateTopic(t, "/default/a3", false)
	g[1].wire.mustProducer("/default/b1", "p", true)

	want := map[string][]string{
		g[0].id(): {"/default/a1", "/default/a2", "/default/a3", broker.EventsTopic},
		g[1].id(): {"/default/b1", broker.EventsTopic},
		g[2].id(): {broker.EventsTopic},
	}
	for _, asker := range g {
		for id, topics := range want {
			if got := brokerTopics(t, asker, id); !slices.Equal(got, topics) {
				t.Fatalf("ListBrokerTopics(%s) at %s = %q, want %q", id, asker.id(), got, topics)
			}
		}
		if got := brokerTopics(t, asker, "4242"); len(got) != 0 {
			t.Fatalf("ListBrokerTopics(unknown) = %q", got)
		}
	}

	// Loads 4, 2 and 1: mean 7/3, population std-dev, CV above 0.3 so the margin is 0.5 × max(std, 2).
	const mean = 7.0 / 3
	std := 0.0
	for _, l := range []float64{4, 2, 1} {
		std += (l - mean) * (l - mean)
	}
	std = math.Sqrt(std / 3)
	margin := 0.5 * max(std, max(0.2*mean, 2))
	for _, asker := range g {
		resp, err := asker.admin.Broker.GetClusterBalance(ctx(t), &adminpb.ClusterBalanceRequest{})
		if err != nil {
			t.Fatalf("GetClusterBalance: %v", err)
		}
		exp := &adminpb.ClusterBalanceResponse{
			CoefficientOfVariation: std / mean, MeanLoad: mean, MaxLoad: 4, MinLoad: 1, StdDeviation: std,
			BrokerCount: 3, AssignmentStrategy: "Balanced",
			Brokers: []*adminpb.BrokerLoadInfo{
				{BrokerId: g[2].srv.BrokerID(), Load: 1, TopicCount: 1, IsUnderloaded: 1 < mean-margin},
				{BrokerId: g[1].srv.BrokerID(), Load: 2, TopicCount: 2},
				{BrokerId: g[0].srv.BrokerID(), Load: 4, TopicCount: 4, IsOverloaded: 4 > mean+margin},
			},
		}
		if !proto.Equal(resp, exp) {
			t.Fatalf("GetClusterBalance at %s = %v, want %v", asker.id(), resp, exp)
		}
	}
	_, err := g[1].admin.Broker.TriggerRebalance(ctx(t), &adminpb.RebalanceRequest{})
	wantStatus(t, err, codes.FailedPrecondition, "Rebalancing is not configured on this broker")
}

func TestPeerGroupUnloadAndActivate(t *testing.T) {
	g := startGroup(t, 3)
	g[1].wire.mustProducer("/default/b1", "p", false)
	g[1].admin.mustCreateNamespace(t, "ns")
	g[1].admin.mustCreateTopic(t, "/ns/b2", true)
	b1, b2 := g[1].id(), g[2].id()

	_, err := g[0].admin.Broker.UnloadBroker(ctx(t), &adminpb.UnloadBrokerRequest{})
	wantStatus(t, err, codes.InvalidArgument, "broker_id must be provided to unload a broker")

	// A dry run changes nothing and counts the topics, filtered by namespace.
	dry, err := g[0].admin.Broker.UnloadBroker(ctx(t), &adminpb.UnloadBrokerRequest{BrokerId: b1, DryRun: true, NamespacesExclude: []string{"system"}})
	if err != nil || !proto.Equal(dry, &adminpb.UnloadBrokerResponse{Total: 2, Pending: 2}) {
		t.Fatalf("UnloadBroker(dry run) = %v, %v", dry, err)
	}
	dry, err = g[2].admin.Broker.UnloadBroker(ctx(t), &adminpb.UnloadBrokerRequest{BrokerId: b1, DryRun: true, NamespacesInclude: []string{"ns"}})
	if err != nil || !proto.Equal(dry, &adminpb.UnloadBrokerResponse{Total: 1, Pending: 1}) {
		t.Fatalf("UnloadBroker(dry run, ns only) = %v, %v", dry, err)
	}
	wantGroup(t, g, g, nil)

	// A broker without (selected) topics is drained at once; the state shows on every broker.
	res, err := g[0].admin.Broker.UnloadBroker(ctx(t), &adminpb.UnloadBrokerRequest{BrokerId: b2, NamespacesExclude: []string{"system"}})
	if err != nil || !proto.Equal(res, &adminpb.UnloadBrokerResponse{Started: true}) {
		t.Fatalf("UnloadBroker(no topics) = %v, %v", res, err)
	}
	wantGroup(t, g, g, map[string]string{b2: "drained"})

	// A broker with topics starts draining; its topics cannot move, so each is reported failed and stays.
	res, err = g[2].admin.Broker.UnloadBroker(ctx(t), &adminpb.UnloadBrokerRequest{BrokerId: b1, NamespacesExclude: []string{"system"}})
	if err != nil || !res.Started || res.Total != 2 || res.Succeeded != 0 || res.Failed != 2 || res.Pending != 0 ||
		len(res.FailedTopics) != 2 || !strings.HasPrefix(res.FailedTopics[0], "/default/b1: ") || !strings.HasPrefix(res.FailedTopics[1], "/ns/b2: ") {
		t.Fatalf("UnloadBroker(with topics) = %v, %v", res, err)
	}
	wantGroup(t, g, g, map[string]string{b1: "draining", b2: "drained"})
	if _, ok := g[1].srv.Topic("/ns/b2"); !ok {
		t.Fatal("the topic of the unloaded broker went away")
	}

	// Only g[0] is active: it cannot be unloaded.
	_, err = g[1].admin.Broker.UnloadBroker(ctx(t), &adminpb.UnloadBrokerRequest{BrokerId: g[0].id()})
	wantStatus(t, err, codes.FailedPrecondition, "Cannot unload broker: no other active brokers available for reassignment.")

	// The balance counts only active brokers: one left, so the statistics are zeros.
	bal, err := g[0].admin.Broker.GetClusterBalance(ctx(t), &adminpb.ClusterBalanceRequest{})
	if err != nil || bal.BrokerCount != 3 || bal.MeanLoad != 0 || bal.StdDeviation != 0 || len(bal.Brokers) != 3 {
		t.Fatalf("GetClusterBalance with one active broker = %v, %v", bal, err)
	}

	// ActivateBroker, asked anywhere, reaches the broker itself.
	for _, id := range []string{b1, b2} {
		resp, err := g[0].admin.Broker.ActivateBroker(ctx(t), &adminpb.ActivateBrokerRequest{BrokerId: id})
		if err != nil || !resp.Success {
			t.Fatalf("ActivateBroker(%s) = %v, %v", id, resp, err)
		}
	}
	wantGroup(t, g, g, nil)
}

func TestPeerGroupMembership(t *testing.T) {
	g := startGroup(t, 3)
	for _, m := range g {
		for _, target := range g {
			id := target.srv.BrokerID()
			pr, err := m.c.PromoteNode(ctx(t), &adminpb.PromoteNodeRequest{NodeId: id})
			if err != nil || !pr.Success || pr.Message != fmt.Sprintf("Node %d is already a voter", id) {
				t.Fatalf("PromoteNode(member) = %v, %v", pr, err)
			}
			_, err = m.c.RemoveNode(ctx(t), &adminpb.RemoveNodeRequest{NodeId: id})
			wantStatusPrefix(t, err, codes.Internal, "failed to remove node: ")
		}
		_, err := m.c.AddNode(ctx(t), &adminpb.AddNodeRequest{Addr: "127.0.0.1:1", NodeId: 7})
		wantStatusPrefix(t, err, codes.Internal, "failed to add learner: ")
	}
}

func TestPeerGroupStoppedBroker(t *testing.T) {
	g := startGroup(t, 3)
	wantGroup(t, g, g, nil)
	// Stop the leader: it leaves ListBrokers, the others agree on a new leader, and it stays a voter.
	sort.Slice(g, func(i, j int) bool { return g[i].srv.BrokerID() < g[j].srv.BrokerID() })
	var voters []uint64
	for _, m := range g {
		voters = append(voters, m.srv.BrokerID())
	}
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := g[0].srv.Shutdown(c); err != nil {
		t.Fatal(err)
	}
	rest := g[1:]
	wantGroup(t, rest, rest, nil)
	for _, m := range rest {
		st, err := m.c.ClusterStatus(ctx(t), &adminpb.Empty{})
		if err != nil || st.LeaderId != g[1].srv.BrokerID() || !slices.Equal(st.Voters, voters) {
			t.Fatalf("ClusterStatus after the leader stopped = %v, %v", st, err)
		}
	}
}

func TestPeerUnreachable(t *testing.T) {
	w, a := newAdminWire(t, broker.Options{Peers: []string{"http://127.0.0.1:" + strconv.Itoa(testenv.FreePort(t))}})
	if got := listBrokers(t, a); len(got) != 1 || got[0].BrokerId != brokerIDString(w.srv) || got[0].BrokerRole != "Cluster_Leader" {
		t.Fatalf("ListBrokers with an unreachable peer = %v", got)
	}
	_, err := a.Broker.UnloadBroker(ctx(t), &adminpb.UnloadBrokerRequest{BrokerId: brokerIDString(w.srv)})
	wantStatus(t, err, codes.FailedPrecondition, "Cannot unload broker: single broker cluster detected.")
}

func TestPeerRestartIsActive(t *testing.T) {
	st := newMemoryStore() // kept by the test, so that the broker restarts with its state
	var opts broker.Options
	g := startGroupWith(t, 2, func(i int, o *broker.Options) {
		if i == 1 {
			o.Store = st
			opts = *o
		}
	})
	b := g[1]
	res, err := g[0].admin.Broker.UnloadBroker(ctx(t), &adminpb.UnloadBrokerRequest{BrokerId: b.id(), NamespacesExclude: []string{"system"}})
	if err != nil || !res.Started {
		t.Fatalf("UnloadBroker = %v, %v", res, err)
	}
	wantGroup(t, g, g, map[string]string{b.id(): "drained"})

	// A broker that restarts is active again, with the same id.
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := b.srv.Shutdown(c); err != nil {
		t.Fatal(err)
	}
	srv := brokertest.Run(t, opts)
	if srv.BrokerID() != b.srv.BrokerID() {
		t.Fatalf("the restarted broker has id %d, want %d", srv.BrokerID(), b.srv.BrokerID())
	}
	again := member{srv: srv, admin: dialAdmin(t, srv), c: dialCluster(t, srv)}
	wantGroup(t, []member{g[0], again}, []member{g[0], again}, nil)
}

// A broker lists its peers by the URL they advertise, not by the URL it was given for them.
func TestPeerListedByAdvertisedURL(t *testing.T) {
	g := startGroupWith(t, 2, func(i int, o *broker.Options) {
		for j, p := range o.Peers {
			o.Peers[j] = strings.Replace(p, "127.0.0.1", "localhost", 1)
		}
	})
	wantGroup(t, g, g, nil)
}

// Only a peer's HealthCheck is answered with the broker's identity.
func TestHealthCheckIdentityOnlyForPeers(t *testing.T) {
	w := newWire(t, broker.Options{})
	var md metadata.MD
	_, err := w.Health.HealthCheck(ctx(t), &danubepb.HealthCheckRequest{}, grpc.Header(&md))
	if err != nil {
		t.Fatal(err)
	}
	for k := range md {
		if strings.HasPrefix(k, "x-danube-console-") {
			t.Fatalf("a client's HealthCheck was answered with %s: %q", k, md[k])
		}
	}
}
