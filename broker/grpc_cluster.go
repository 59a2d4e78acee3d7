package broker

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/danube-console/danube-console/proto/adminpb"
	"github.com/danube-console/danube-console/proto/danubepb"
)

// The broker answers the cluster rpcs as a real Danube broker in cluster mode does: alone, as a single-node
// cluster (it leads itself); with peers, as one node of a cluster whose members are the brokers of the group
// (see peers.go). The membership is fixed by the brokers' Options.Peers: there is no Raft log, nodes cannot be
// added, promoted or removed, and topics never move between brokers. Where a real cluster would change its
// membership or move topics, the rpcs answer as the real broker does when it cannot.

// raftTerm is the Raft term reported by ClusterStatus: the group's single, fixed leadership.
const raftTerm = 1

// Broker states (the real broker's /cluster/brokers/{id}/state modes).
const (
	stateActive   = "active"
	stateDraining = "draining"
	stateDrained  = "drained"
)

// keyBrokerState is where a broker's state is kept, under the real broker's key.
func keyBrokerState(id string) string { return "/cluster/brokers/" + id + "/state" }

// brokerState is the value stored at keyBrokerState.
type brokerState struct {
	Mode   string `json:"mode"`
	Reason string `json:"reason"`
}

// brokerStatus returns the mode stored for broker id; a missing or unreadable state is "active", as the real
// broker reads it.
func (s *Server) brokerStatus(id uint64) string {
	b, ok, err := s.store.Meta().Get(keyBrokerState(strconv.FormatUint(id, 10)))
	if err != nil || !ok {
		return stateActive
	}
	var st brokerState
	if json.Unmarshal(b, &st) != nil || st.Mode == "" {
		return stateActive
	}
	return st.Mode
}

// setBrokerState stores a broker's state.
func (s *Server) setBrokerState(id, mode, reason string) error {
	return s.putJSON(keyBrokerState(id), brokerState{Mode: mode, Reason: reason})
}

// markActiveAtBoot makes the broker active when it starts, as a real broker rejoining its cluster does: a
// broker left draining or drained before a restart serves again. The reason says whether it is the first boot.
func (s *Server) markActiveAtBoot() {
	id := strconv.FormatUint(s.BrokerID(), 10)
	reason := "boot"
	if _, ok, err := s.store.Meta().Get(keyBrokerState(id)); err == nil && ok {
		reason = "fast_restart"
	}
	if err := s.setBrokerState(id, stateActive, reason); err != nil {
		s.log.Warn("could not mark the broker active", "err", err)
	}
}

// raftAddr is the address ClusterStatus reports, by the real broker's rule: the host of the advertised URL,
// unless it is 0.0.0.0 or 127.0.0.1, then the bind address. The port is the client port, the one the brokers
// of a group talk to each other on (there is no separate Raft port).
func (s *Server) raftAddr() string {
	a := s.Addr()
	if a == nil {
		return ""
	}
	tcp, ok := a.(*net.TCPAddr)
	if !ok {
		return a.String()
	}
	port := strconv.Itoa(tcp.Port)
	if u, err := url.Parse(s.URL()); err == nil {
		if h := u.Hostname(); h != "" && h != "0.0.0.0" && h != "127.0.0.1" {
			return net.JoinHostPort(h, port)
		}
	}
	return net.JoinHostPort(s.opts.Host, port)
}

// clusterAdmin serves danube_admin.ClusterAdmin.
type clusterAdmin struct {
	adminpb.UnimplementedClusterAdminServer
	s *Server
}

// ClusterStatus describes the group as a Raft status: the group's leader, a fixed term, the number of metadata
// writes this broker made as its last applied index, every member of the group as a voter and no learner.
func (c clusterAdmin) ClusterStatus(ctx context.Context, _ *adminpb.Empty) (*adminpb.ClusterStatusResponse, error) {
	s := c.s
	g, voters := s.membership(ctx)
	return &adminpb.ClusterStatusResponse{
		LeaderId:    groupLeader(g),
		CurrentTerm: raftTerm,
		LastApplied: s.applied.Load(),
		Voters:      voters,
		Learners:    []uint64{},
		SelfNodeId:  s.BrokerID(),
		RaftAddr:    s.raftAddr(),
	}, nil
}

// errFixedMembership is the inner error of a membership change: the group's members are set by the brokers'
// peers when they start.
func errFixedMembership(what string) string {
	return fmt.Sprintf("%s: the members of this broker group are fixed by the peers each broker is started with", what)
}

// AddNode validates as the real broker does, then fails as it does when the learner cannot be added: on a
// follower, because only the leader changes the membership (followerRefusal); on the leader, because the
// group's membership cannot change.
func (c clusterAdmin) AddNode(ctx context.Context, req *adminpb.AddNodeRequest) (*adminpb.AddNodeResponse, error) {
	if req.GetAddr() == "" {
		return nil, status.Error(codes.InvalidArgument, "addr is required")
	}
	if req.GetNodeId() == 0 {
		return nil, status.Error(codes.InvalidArgument, "node_id is required (discovered from the target node's {data_dir}/node_id)")
	}
	if err := c.s.followerRefusal(ctx, "failed to add learner"); err != nil {
		return nil, err
	}
	return nil, status.Errorf(codes.Internal, "failed to add learner: %s",
		errFixedMembership(fmt.Sprintf("node %d at %s cannot be added", req.GetNodeId(), req.GetAddr())))
}

// PromoteNode answers that a member is already a voter (every member is; the real broker answers so without
// asking Raft, on any node); for any other id a follower refuses as it cannot change the membership
// (followerRefusal), and the leader answers that the id is not a learner of the group, both Internal as the
// real broker does.
func (c clusterAdmin) PromoteNode(ctx context.Context, req *adminpb.PromoteNodeRequest) (*adminpb.PromoteNodeResponse, error) {
	id := req.GetNodeId()
	if id == 0 {
		return nil, status.Error(codes.InvalidArgument, "node_id is required")
	}
	g, voters := c.s.membership(ctx)
	for _, v := range voters {
		if v == id {
			return &adminpb.PromoteNodeResponse{Success: true, Message: fmt.Sprintf("Node %d is already a voter", id)}, nil
		}
	}
	if err := c.s.notLeader(g, "failed to promote node"); err != nil {
		return nil, err
	}
	return nil, status.Errorf(codes.Internal, "failed to promote node: learner %d not found: add it as learner before adding it as a voter", id)
}

// RemoveNode refuses to remove the last voter; then a follower refuses any change, member or not
// (followerRefusal). On the leader, an id that is not a member is "removed" (the voter set is unchanged, which
// is what the real broker reports as success) and removing a member of a group fails, as the membership is
// fixed.
func (c clusterAdmin) RemoveNode(ctx context.Context, req *adminpb.RemoveNodeRequest) (*adminpb.RemoveNodeResponse, error) {
	id := req.GetNodeId()
	if id == 0 {
		return nil, status.Error(codes.InvalidArgument, "node_id is required")
	}
	g, voters := c.s.membership(ctx)
	member := false
	for _, v := range voters {
		member = member || v == id
	}
	if member && len(voters) == 1 {
		return nil, status.Error(codes.FailedPrecondition, "cannot remove the last voter from the cluster")
	}
	if err := c.s.notLeader(g, "failed to remove node"); err != nil {
		return nil, err
	}
	if member {
		return nil, status.Errorf(codes.Internal, "failed to remove node: %s",
			errFixedMembership(fmt.Sprintf("node %d cannot be removed", id)))
	}
	return &adminpb.RemoveNodeResponse{Success: true, Message: fmt.Sprintf("Node %d removed from cluster", id)}, nil
}

// followerRefusal is notLeader for the group that answers now.
func (s *Server) followerRefusal(ctx context.Context, what string) error {
	if len(s.peers) == 0 {
		return nil
	}
	return s.notLeader(s.group(ctx), what)
}

// notLeader returns, when this broker is not the leader of g, what a real follower answers a membership change
// with: the Internal status wrapping openraft's ForwardToLeader error, which names the leader's id and node
// (its Raft address, here the host and client port of its URL). It returns nil on the leader.
func (s *Server) notLeader(g []peerIdentity, what string) error {
	leader := groupLeader(g)
	if leader == 0 || leader == s.BrokerID() {
		return nil
	}
	var addr string
	for _, m := range g {
		if m.id == leader {
			if u, err := url.Parse(m.url); err == nil {
				addr = u.Host
			}
		}
	}
	return status.Errorf(codes.Internal, "%s: has to forward request to: Some(%d), Some(BasicNode { addr: %q })", what, leader, addr)
}

// ---- BrokerAdmin answers for a group ----

// brokerRole is the role ListBrokers gives a member.
func brokerRole(id, leader uint64) string {
	if id == leader {
		return "Cluster_Leader"
	}
	return "Cluster_Follower"
}

// listBrokers lists every member of the group that answers.
func (s *Server) listBrokers(ctx context.Context) *adminpb.BrokerListResponse {
	g := s.group(ctx)
	leader := groupLeader(g)
	resp := &adminpb.BrokerListResponse{}
	for _, m := range g {
		resp.Brokers = append(resp.Brokers, &adminpb.BrokerInfo{
			BrokerId:     strconv.FormatUint(m.id, 10),
			BrokerAddr:   m.url,
			BrokerRole:   brokerRole(m.id, leader),
			AdminAddr:    m.adminURL,
			MetricsAddr:  m.metrics,
			BrokerStatus: m.status,
		})
	}
	return resp
}

// leaderBroker returns the group's leader.
func (s *Server) leaderBroker(ctx context.Context) uint64 {
	if len(s.peers) == 0 {
		return s.BrokerID()
	}
	return groupLeader(s.group(ctx))
}

// brokerTopics answers ListBrokerTopics: this broker's topics for its own id (or none given), the peer's
// answer for a peer's id, and an empty list for an id that is not a member, as the real broker answers.
func (s *Server) brokerTopics(ctx context.Context, req *adminpb.BrokerRequest, own func() *adminpb.TopicInfoListResponse) (*adminpb.TopicInfoListResponse, error) {
	id := req.GetBrokerId()
	if id == "" || id == strconv.FormatUint(s.BrokerID(), 10) {
		return own(), nil
	}
	if len(s.peers) > 0 {
		if n, err := strconv.ParseUint(id, 10, 64); err == nil {
			if m, ok := peerByID(s.group(ctx), n); ok {
				conn, err := peerAdmin(m)
				if err != nil {
					return nil, err
				}
				return adminpb.NewTopicAdminClient(conn).ListBrokerTopics(forwardCtx(ctx), req)
			}
		}
	}
	return &adminpb.TopicInfoListResponse{}, nil
}

// activateBroker answers ActivateBroker: the state of a peer is set by that peer, any other id's here, even an
// unknown one, as the real broker does.
func (s *Server) activateBroker(ctx context.Context, req *adminpb.ActivateBrokerRequest) (*adminpb.ActivateBrokerResponse, error) {
	id := req.GetBrokerId()
	if id == "" {
		return nil, status.Error(codes.InvalidArgument, "broker_id must be provided to activate a broker")
	}
	if m, ok := s.peerMember(ctx, id); ok {
		conn, err := peerAdmin(m)
		if err != nil {
			return nil, err
		}
		return adminpb.NewBrokerAdminClient(conn).ActivateBroker(forwardCtx(ctx), req)
	}
	reason := req.GetReason()
	if reason == "" {
		reason = "admin_activate"
	}
	if err := s.setBrokerState(id, stateActive, reason); err != nil {
		return nil, status.Errorf(codes.Internal, "Failed to set broker state to active: %v", err)
	}
	return &adminpb.ActivateBrokerResponse{Success: true}, nil
}

// peerMember returns the member of the group with the decimal id, if it is a peer.
func (s *Server) peerMember(ctx context.Context, id string) (peerIdentity, bool) {
	if len(s.peers) == 0 || id == strconv.FormatUint(s.BrokerID(), 10) {
		return peerIdentity{}, false
	}
	n, err := strconv.ParseUint(id, 10, 64)
	if err != nil {
		return peerIdentity{}, false
	}
	return peerByID(s.group(ctx), n)
}

// errTopicStays is why a topic of a broker being unloaded is not moved.
const errTopicStays = "topics cannot move between the brokers of this group; it stays on the broker that created it"

// unloadBroker answers UnloadBroker with the real broker's checks, in its order. The topics of an unloaded
// broker are reported as failed (they cannot move), so the broker stays draining until it is activated.
func (s *Server) unloadBroker(ctx context.Context, req *adminpb.UnloadBrokerRequest) (*adminpb.UnloadBrokerResponse, error) {
	var g []peerIdentity
	if len(s.peers) > 0 {
		g = s.group(ctx)
	}
	if len(g) < 2 {
		return nil, status.Error(codes.FailedPrecondition, "Cannot unload broker: single broker cluster detected.")
	}
	id := req.GetBrokerId()
	if id == "" {
		return nil, status.Error(codes.InvalidArgument, "broker_id must be provided to unload a broker")
	}
	otherActive := false
	for _, m := range g {
		if strconv.FormatUint(m.id, 10) != id && m.status == stateActive {
			otherActive = true
		}
	}
	if !otherActive {
		return nil, status.Error(codes.FailedPrecondition, "Cannot unload broker: no other active brokers available for reassignment.")
	}
	if n, err := strconv.ParseUint(id, 10, 64); err == nil {
		if m, ok := peerByID(g, n); ok {
			conn, err := peerAdmin(m)
			if err != nil {
				return nil, err
			}
			return adminpb.NewBrokerAdminClient(conn).UnloadBroker(forwardCtx(ctx), req)
		}
	}
	var topics []string
	if id == strconv.FormatUint(s.BrokerID(), 10) {
		topics = filterNamespaces(s.TopicNames(), req.GetNamespacesInclude(), req.GetNamespacesExclude())
	}
	total := uint32(len(topics))
	if req.GetDryRun() {
		return &adminpb.UnloadBrokerResponse{Total: total, Pending: total, FailedTopics: []string{}}, nil
	}
	if total == 0 {
		if err := s.setBrokerState(id, stateDrained, "no_topics"); err != nil {
			return nil, status.Errorf(codes.Internal, "Failed to set broker state to drained: %v", err)
		}
		return &adminpb.UnloadBrokerResponse{Started: true, FailedTopics: []string{}}, nil
	}
	if err := s.setBrokerState(id, stateDraining, "admin_unload"); err != nil {
		return nil, status.Errorf(codes.Internal, "Failed to set broker state: %v", err)
	}
	resp := &adminpb.UnloadBrokerResponse{Started: true, Total: total, Failed: total}
	for _, t := range topics {
		resp.FailedTopics = append(resp.FailedTopics, t+": "+errTopicStays)
	}
	return resp, nil
}

// filterNamespaces keeps the topics of the included namespaces (all when none is given) that are not in an
// excluded one, matching "/{ns}/" as the real broker does.
func filterNamespaces(topics, include, exclude []string) []string {
	in := func(t string, nss []string) bool {
		for _, ns := range nss {
			if strings.HasPrefix(t, "/"+strings.Trim(ns, "/")+"/") {
				return true
			}
		}
		return false
	}
	var out []string
	for _, t := range topics {
		if (len(include) == 0 || in(t, include)) && !in(t, exclude) {
			out = append(out, t)
		}
	}
	return out
}

// assignmentStrategy is what GetClusterBalance reports: the real broker's answer when no load manager is
// configured, which is the case here (topics are never assigned or moved).
const assignmentStrategy = "Balanced"

// clusterBalance answers GetClusterBalance from the group's real distribution: each broker's load is the
// number of topics it serves. The statistics follow the real broker's rules (only active brokers count; fewer
// than two give zeros).
func (s *Server) clusterBalance(ctx context.Context) *adminpb.ClusterBalanceResponse {
	g := []peerIdentity{s.selfIdentity()}
	if len(s.peers) > 0 {
		g = s.group(ctx)
	}
	resp := &adminpb.ClusterBalanceResponse{BrokerCount: uint32(len(g)), AssignmentStrategy: assignmentStrategy}
	var loads []float64
	for _, m := range g {
		if m.status == stateActive {
			loads = append(loads, float64(m.topics))
		}
	}
	var mean, std, lo, hi, margin float64
	if len(loads) >= 2 {
		lo, hi = math.Inf(1), math.Inf(-1)
		for _, l := range loads {
			mean += l
			lo, hi = math.Min(lo, l), math.Max(hi, l)
		}
		mean /= float64(len(loads))
		for _, l := range loads {
			std += (l - mean) * (l - mean)
		}
		std = math.Sqrt(std / float64(len(loads)))
		cv := 0.0
		if mean != 0 {
			cv = std / mean
		}
		m := 1.0
		if cv > 0.3 {
			m = 0.5
		}
		margin = m * math.Max(std, math.Max(0.2*mean, 2.0))
		resp.CoefficientOfVariation, resp.MeanLoad, resp.MaxLoad, resp.MinLoad, resp.StdDeviation = cv, mean, hi, lo, std
		s.metrics.setImbalanceCV(cv)
	}
	for _, m := range g {
		load := float64(m.topics)
		info := &adminpb.BrokerLoadInfo{BrokerId: m.id, Load: load, TopicCount: uint32(m.topics)}
		if len(loads) >= 2 {
			info.IsOverloaded = load > mean+margin
			info.IsUnderloaded = load < mean-margin
		}
		resp.Brokers = append(resp.Brokers, info)
	}
	sort.SliceStable(resp.Brokers, func(i, j int) bool {
		a, b := resp.Brokers[i], resp.Brokers[j]
		return a.Load < b.Load || (a.Load == b.Load && a.BrokerId < b.BrokerId)
	})
	return resp
}

// ---- new topics of a broker that is not active ----

// A real cluster never assigns a new topic to a broker that is not active (draining or drained): the leader
// assigns it to an active broker, and CreateTopic answers as soon as the metadata is written. A broker of a
// group that is not active therefore creates a new topic on an active peer instead of on itself (assignTarget):
// CreateTopic and CreatePartitionedTopic are forwarded there and answer what the peer answers; a producer that
// would auto-create the topic gets the real answer to a producer that made a cluster create a topic, Unavailable
// "…redo the lookup…", and its next lookup redirects it to that peer. With no active peer, the topic is created
// here, the only place it can live (a real cluster would leave it unassigned until a broker is active).

// errPostCreate is the real broker's answer to a CreateProducer that made the cluster create its topic.
func errPostCreate() error {
	return status.Error(codes.Unavailable, "The topic metadata was created, need to redo the lookup to find the correct broker")
}

// assignTarget returns where a new topic goes when this broker is not active: the active peer with an admin
// port that has the fewest topics (the lowest id among equals), as the load manager picks the lowest-loaded
// active broker. ok is false when this broker is active, has no peers, or no peer can take the topic.
func (s *Server) assignTarget(ctx context.Context) (peerIdentity, bool) {
	if len(s.peers) == 0 || s.brokerStatus(s.BrokerID()) == stateActive {
		return peerIdentity{}, false
	}
	var best peerIdentity
	found := false
	for _, m := range s.group(ctx) {
		if m.peer == nil || m.status != stateActive || m.adminURL == "" {
			continue
		}
		if !found || m.topics < best.topics || (m.topics == best.topics && m.id < best.id) {
			best, found = m, true
		}
	}
	return best, found
}

// createTopicElsewhere forwards an admin CreateTopic to assignTarget; handled is false when the topic is to
// be created here (this broker is active, or no peer can take it, or the topic already exists here).
func (s *Server) createTopicElsewhere(ctx context.Context, req *adminpb.NewTopicRequest) (resp *adminpb.TopicResponse, handled bool, err error) {
	return s.forwardCreate(ctx, s.topic(req.GetName()) != nil, func(c adminpb.TopicAdminClient, ctx context.Context) (*adminpb.TopicResponse, error) {
		return c.CreateTopic(ctx, req)
	})
}

// createPartitionedElsewhere is createTopicElsewhere for CreatePartitionedTopic.
func (s *Server) createPartitionedElsewhere(ctx context.Context, req *adminpb.PartitionedTopicRequest) (resp *adminpb.TopicResponse, handled bool, err error) {
	here := req.GetPartitions() == 0 || s.topic(PartitionName(req.GetBaseName(), 0)) != nil
	return s.forwardCreate(ctx, here, func(c adminpb.TopicAdminClient, ctx context.Context) (*adminpb.TopicResponse, error) {
		return c.CreatePartitionedTopic(ctx, req)
	})
}

// forwardCreate runs create on the admin port of assignTarget, unless here says the topic stays on this
// broker or no peer can take it (handled false).
func (s *Server) forwardCreate(ctx context.Context, here bool, create func(adminpb.TopicAdminClient, context.Context) (*adminpb.TopicResponse, error)) (*adminpb.TopicResponse, bool, error) {
	if here {
		return nil, false, nil
	}
	m, ok := s.assignTarget(ctx)
	if !ok {
		return nil, false, nil
	}
	conn, err := peerAdmin(m)
	if err != nil {
		return nil, true, err
	}
	resp, err := create(adminpb.NewTopicAdminClient(conn), forwardCtx(ctx))
	return resp, true, err
}

// autoCreateElsewhere creates, for a producer of an unknown topic, the topic on assignTarget and returns the
// real answer to that producer (errPostCreate); handled is false when the topic is to be created here.
func (s *Server) autoCreateElsewhere(ctx context.Context, name string, strategy danubepb.DispatchStrategy) (handled bool, err error) {
	m, ok := s.assignTarget(ctx)
	if !ok {
		return false, nil
	}
	conn, err := peerAdmin(m)
	if err != nil {
		return true, err
	}
	_, err = adminpb.NewTopicAdminClient(conn).CreateTopic(forwardCtx(ctx), &adminpb.NewTopicRequest{Name: name,
		DispatchStrategy: adminpb.DispatchStrategy(strategy)})
	if err != nil && !strings.Contains(status.Convert(err).Message(), "already exists") {
		return true, err
	}
	// Created, or created meanwhile by another producer: either way the producer looks the topic up again.
	s.metrics.redirectPostCreate(name)
	return true, errPostCreate()
}
