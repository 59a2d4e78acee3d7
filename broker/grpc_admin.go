package broker

import (
	"context"
	"encoding/json"
	"strconv"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/danube-console/danube-console/proto/adminpb"
	"github.com/danube-console/danube-console/proto/consolepb"
	"github.com/danube-console/danube-console/proto/schemapb"
)

// registerAdmin mounts the admin services on the admin port's server.
func (s *Server) registerAdmin(g *grpc.Server) {
	adminpb.RegisterBrokerAdminServer(g, brokerAdmin{s: s})
	adminpb.RegisterNamespaceAdminServer(g, namespaceAdmin{s: s})
	adminpb.RegisterTopicAdminServer(g, topicAdmin{s: s})
	adminpb.RegisterClusterAdminServer(g, clusterAdmin{s: s})
	schemapb.RegisterSchemaRegistryServer(g, schemaService{s: s})
	consolepb.RegisterBrokerDiagnosticsServer(g, diagnostics{s: s})
}

// errNeedsCluster answers the rpcs that only make sense with several brokers.
func errNeedsCluster(what string) error {
	return status.Errorf(codes.FailedPrecondition,
		"%s needs a Danube cluster; this is a standalone broker that serves every topic itself", what)
}

func delivery(reliable bool) string {
	if reliable {
		return "Reliable"
	}
	return "NonReliable"
}

// brokerAdmin serves danube_admin.BrokerAdmin.
type brokerAdmin struct {
	adminpb.UnimplementedBrokerAdminServer
	s *Server
}

// ListBrokers lists every broker of the group (this broker alone without peers), as a real cluster does.
func (b brokerAdmin) ListBrokers(ctx context.Context, _ *adminpb.Empty) (*adminpb.BrokerListResponse, error) {
	return b.s.listBrokers(ctx), nil
}

// GetLeaderBroker answers the group's leader: this broker without peers.
func (b brokerAdmin) GetLeaderBroker(ctx context.Context, _ *adminpb.Empty) (*adminpb.BrokerResponse, error) {
	return &adminpb.BrokerResponse{Leader: strconv.FormatUint(b.s.leaderBroker(ctx), 10)}, nil
}

// ListNamespaces lists every namespace once.
func (b brokerAdmin) ListNamespaces(ctx context.Context, _ *adminpb.Empty) (*adminpb.NamespaceListResponse, error) {
	return &adminpb.NamespaceListResponse{Namespaces: b.s.namespaceNames()}, nil
}

// UnloadBroker answers as a real cluster of the group's shape does: a single broker cannot be unloaded; in a
// group the broker is marked draining (drained without topics) and its topics are reported as failed, since
// they cannot move.
func (b brokerAdmin) UnloadBroker(ctx context.Context, req *adminpb.UnloadBrokerRequest) (*adminpb.UnloadBrokerResponse, error) {
	return b.s.unloadBroker(ctx, req)
}

// ActivateBroker marks a broker active, for any id, as the real broker does.
func (b brokerAdmin) ActivateBroker(ctx context.Context, req *adminpb.ActivateBrokerRequest) (*adminpb.ActivateBrokerResponse, error) {
	return b.s.activateBroker(ctx, req)
}

// TriggerRebalance answers as a real cluster without a load manager: topics are never moved here.
func (b brokerAdmin) TriggerRebalance(context.Context, *adminpb.RebalanceRequest) (*adminpb.RebalanceResponse, error) {
	return nil, status.Error(codes.FailedPrecondition, "Rebalancing is not configured on this broker")
}

// GetClusterBalance describes the real distribution of topics across the group.
func (b brokerAdmin) GetClusterBalance(ctx context.Context, _ *adminpb.ClusterBalanceRequest) (*adminpb.ClusterBalanceResponse, error) {
	return b.s.clusterBalance(ctx), nil
}

// namespaceAdmin serves danube_admin.NamespaceAdmin.
type namespaceAdmin struct {
	adminpb.UnimplementedNamespaceAdminServer
	s *Server
}

func (n namespaceAdmin) requireNamespace(name string) error {
	n.s.mu.RLock()
	defer n.s.mu.RUnlock()
	if n.s.namespaces[name] == nil {
		return adminErr("Namespace %s not found", name)
	}
	return nil
}

// GetNamespaceTopics lists a namespace's topics without the leading slash ("ns/topic"), as the real broker does.
func (n namespaceAdmin) GetNamespaceTopics(ctx context.Context, req *adminpb.NamespaceRequest) (*adminpb.TopicListResponse, error) {
	if err := n.requireNamespace(req.GetName()); err != nil {
		return nil, err
	}
	resp := &adminpb.TopicListResponse{}
	for _, t := range n.s.namespaceTopics(req.GetName(), "") {
		resp.Topics = append(resp.Topics, t[1:])
	}
	return resp, nil
}

// GetNamespacePolicies returns a namespace's policies as JSON: the broker's, which every namespace uses.
func (n namespaceAdmin) GetNamespacePolicies(ctx context.Context, req *adminpb.NamespaceRequest) (*adminpb.PolicyResponse, error) {
	if err := n.requireNamespace(req.GetName()); err != nil {
		return nil, err
	}
	b, err := json.Marshal(n.s.opts.Policies)
	if err != nil {
		return nil, status.Errorf(codes.Internal, "encoding policies: %v", err)
	}
	return &adminpb.PolicyResponse{Policies: string(b)}, nil
}

// CreateNamespace creates a namespace.
func (n namespaceAdmin) CreateNamespace(ctx context.Context, req *adminpb.NamespaceRequest) (*adminpb.NamespaceResponse, error) {
	if err := n.s.createNamespace(req.GetName()); err != nil {
		return nil, err
	}
	return &adminpb.NamespaceResponse{Success: true}, nil
}

// DeleteNamespace deletes an empty namespace.
func (n namespaceAdmin) DeleteNamespace(ctx context.Context, req *adminpb.NamespaceRequest) (*adminpb.NamespaceResponse, error) {
	if err := n.s.deleteNamespace(req.GetName()); err != nil {
		return nil, err
	}
	return &adminpb.NamespaceResponse{Success: true}, nil
}

// topicAdmin serves danube_admin.TopicAdmin.
type topicAdmin struct {
	adminpb.UnimplementedTopicAdminServer
	s *Server
}

func (ta topicAdmin) topicInfos(names []string) *adminpb.TopicInfoListResponse {
	resp := &adminpb.TopicInfoListResponse{}
	id := strconv.FormatUint(ta.s.BrokerID(), 10)
	for _, name := range names {
		if t := ta.s.topic(name); t != nil {
			resp.Topics = append(resp.Topics, &adminpb.TopicInfo{Name: name, BrokerId: id, Delivery: delivery(t.reliable)})
		}
	}
	return resp
}

// ListNamespaceTopics lists a namespace's topics with their delivery.
func (ta topicAdmin) ListNamespaceTopics(ctx context.Context, req *adminpb.NamespaceRequest) (*adminpb.TopicInfoListResponse, error) {
	if err := (namespaceAdmin{s: ta.s}).requireNamespace(req.GetName()); err != nil {
		return nil, err
	}
	return ta.topicInfos(ta.s.namespaceTopics(req.GetName(), "")), nil
}

// ListBrokerTopics lists the topics a broker of the group serves (see Server.brokerTopics).
func (ta topicAdmin) ListBrokerTopics(ctx context.Context, req *adminpb.BrokerRequest) (*adminpb.TopicInfoListResponse, error) {
	return ta.s.brokerTopics(ctx, req, func() *adminpb.TopicInfoListResponse { return ta.topicInfos(ta.s.TopicNames()) })
}

func reliableStrategy(d adminpb.DispatchStrategy) (bool, error) {
	switch d {
	case adminpb.DispatchStrategy_NonReliable:
		return false, nil
	case adminpb.DispatchStrategy_Reliable:
		return true, nil
	}
	return false, status.Errorf(codes.InvalidArgument, "Unknown dispatch strategy %d", d)
}

// CreateTopic creates a topic.
func (ta topicAdmin) CreateTopic(ctx context.Context, req *adminpb.NewTopicRequest) (*adminpb.TopicResponse, error) {
	reliable, err := reliableStrategy(req.GetDispatchStrategy())
	if err != nil {
		return nil, err
	}
	if err := ta.s.adminCreateTopic(req.GetName(), reliable, req.GetSchemaSubject()); err != nil {
		return nil, err
	}
	return &adminpb.TopicResponse{Success: true}, nil
}

// CreatePartitionedTopic creates the partitions of a topic.
func (ta topicAdmin) CreatePartitionedTopic(ctx context.Context, req *adminpb.PartitionedTopicRequest) (*adminpb.TopicResponse, error) {
	reliable, err := reliableStrategy(req.GetDispatchStrategy())
	if err != nil {
		return nil, err
	}
	if err := ta.s.adminCreatePartitioned(req.GetBaseName(), req.GetPartitions(), reliable, req.GetSchemaSubject()); err != nil {
		return nil, err
	}
	return &adminpb.TopicResponse{Success: true}, nil
}

// DeleteTopic deletes a topic, or all partitions given the base name.
func (ta topicAdmin) DeleteTopic(ctx context.Context, req *adminpb.TopicRequest) (*adminpb.TopicResponse, error) {
	if err := ta.s.deleteTopic(req.GetName()); err != nil {
		return nil, err
	}
	return &adminpb.TopicResponse{Success: true}, nil
}

// UnloadTopic needs a cluster.
func (ta topicAdmin) UnloadTopic(context.Context, *adminpb.TopicRequest) (*adminpb.TopicResponse, error) {
	return nil, errNeedsCluster("Unloading a topic")
}

// ListSubscriptions lists a topic's subscriptions.
func (ta topicAdmin) ListSubscriptions(ctx context.Context, req *adminpb.TopicRequest) (*adminpb.SubscriptionListResponse, error) {
	info, ok := ta.s.Topic(req.GetName())
	if !ok {
		return nil, adminErr("Topic %s not found", req.GetName())
	}
	resp := &adminpb.SubscriptionListResponse{}
	for _, si := range info.Subscriptions {
		resp.Subscriptions = append(resp.Subscriptions, si.Name)
	}
	return resp, nil
}

// Unsubscribe deletes a subscription without connected consumers.
func (ta topicAdmin) Unsubscribe(ctx context.Context, req *adminpb.SubscriptionRequest) (*adminpb.SubscriptionResponse, error) {
	if err := ta.s.unsubscribe(req.GetTopic(), req.GetSubscription()); err != nil {
		return nil, err
	}
	return &adminpb.SubscriptionResponse{Success: true}, nil
}

func policyFromProto(p *adminpb.SubscriptionFailurePolicy) FailurePolicy {
	return FailurePolicy{
		MaxRedeliveryCount:  p.GetMaxRedeliveryCount(),
		AckTimeout:          time.Duration(p.GetAckTimeoutMs()) * time.Millisecond,
		BaseRedeliveryDelay: time.Duration(p.GetBaseRedeliveryDelayMs()) * time.Millisecond,
		MaxRedeliveryDelay:  time.Duration(p.GetMaxRedeliveryDelayMs()) * time.Millisecond,
		Backoff:             BackoffStrategy(p.GetBackoffStrategy()),
		Poison:              PoisonPolicy(p.GetPoisonPolicy()),
		DeadLetterTopic:     p.GetDeadLetterTopic(),
	}
}

func policyToProto(p FailurePolicy) *adminpb.SubscriptionFailurePolicy {
	out := &adminpb.SubscriptionFailurePolicy{
		MaxRedeliveryCount:    p.MaxRedeliveryCount,
		AckTimeoutMs:          uint64(p.AckTimeout / time.Millisecond),
		BaseRedeliveryDelayMs: uint64(p.BaseRedeliveryDelay / time.Millisecond),
		MaxRedeliveryDelayMs:  uint64(p.MaxRedeliveryDelay / time.Millisecond),
		BackoffStrategy:       adminpb.SubscriptionBackoffStrategy(p.Backoff),
		PoisonPolicy:          adminpb.SubscriptionPoisonPolicy(p.Poison),
	}
	if p.DeadLetterTopic != "" {
		out.DeadLetterTopic = &p.DeadLetterTopic
	}
	return out
}

// SetSubscriptionFailurePolicy replaces a reliable subscription's failure policy.
func (ta topicAdmin) SetSubscriptionFailurePolicy(ctx context.Context, req *adminpb.SetSubscriptionFailurePolicyRequest) (*adminpb.SubscriptionResponse, error) {
	if req.GetFailurePolicy() == nil {
		return nil, status.Error(codes.InvalidArgument, "The request has no failure_policy")
	}
	if err := ta.s.setFailurePolicy(req.GetTopic(), req.GetSubscription(), policyFromProto(req.GetFailurePolicy())); err != nil {
		return nil, err
	}
	return &adminpb.SubscriptionResponse{Success: true}, nil
}

// GetSubscriptionFailurePolicy returns a subscription's type and, on reliable topics, its failure policy.
func (ta topicAdmin) GetSubscriptionFailurePolicy(ctx context.Context, req *adminpb.GetSubscriptionFailurePolicyRequest) (*adminpb.GetSubscriptionFailurePolicyResponse, error) {
	typ, pol, _, err := ta.s.subscriptionConfig(req.GetTopic(), req.GetSubscription())
	if err != nil {
		return nil, err
	}
	resp := &adminpb.GetSubscriptionFailurePolicyResponse{SubscriptionType: int32(typ)}
	if pol != nil {
		resp.FailurePolicy = policyToProto(*pol)
	}
	return resp, nil
}

// SetSubscriptionDispatchConfig sets a reliable subscription's window of unacknowledged messages (applied at
// once, unlike the real broker, which stores it only).
func (ta topicAdmin) SetSubscriptionDispatchConfig(ctx context.Context, req *adminpb.SetSubscriptionDispatchConfigRequest) (*adminpb.SubscriptionResponse, error) {
	if req.GetDispatchConfig() == nil {
		return nil, status.Error(codes.InvalidArgument, "The request has no dispatch_config")
	}
	if err := ta.s.setDispatchWindow(req.GetTopic(), req.GetSubscription(), req.GetDispatchConfig().GetMaxUnackedMessages()); err != nil {
		return nil, err
	}
	return &adminpb.SubscriptionResponse{Success: true}, nil
}

// GetSubscriptionDispatchConfig returns a reliable subscription's window.
func (ta topicAdmin) GetSubscriptionDispatchConfig(ctx context.Context, req *adminpb.GetSubscriptionDispatchConfigRequest) (*adminpb.GetSubscriptionDispatchConfigResponse, error) {
	_, pol, window, err := ta.s.subscriptionConfig(req.GetTopic(), req.GetSubscription())
	if err != nil {
		return nil, err
	}
	resp := &adminpb.GetSubscriptionDispatchConfigResponse{}
	if pol != nil {
		resp.DispatchConfig = &adminpb.SubscriptionDispatchConfig{MaxUnackedMessages: uint32(window)}
	}
	return resp, nil
}

// DescribeTopic describes a topic: subscriptions, delivery and its schema.
func (ta topicAdmin) DescribeTopic(ctx context.Context, req *adminpb.DescribeTopicRequest) (*adminpb.DescribeTopicResponse, error) {
	info, ok := ta.s.Topic(req.GetName())
	if !ok {
		return nil, adminErr("Topic %s not found", req.GetName())
	}
	resp := &adminpb.DescribeTopicResponse{
		Name:     info.Name,
		BrokerId: strconv.FormatUint(ta.s.BrokerID(), 10),
		Delivery: delivery(info.Reliable),
	}
	for _, si := range info.Subscriptions {
		resp.Subscriptions = append(resp.Subscriptions, si.Name)
	}
	if subj := info.SchemaSubject; subj != "" {
		resp.SchemaSubject = &subj
		if v, mode, err := ta.s.schemas.Latest(subj); err == nil {
			id, version, typ, m := v.SchemaID, v.Version, string(v.Type), string(mode)
			resp.SchemaId, resp.SchemaVersion, resp.SchemaType, resp.CompatibilityMode = &id, &version, &typ, &m
		}
	}
	return resp, nil
}
