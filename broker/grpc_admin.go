package broker

import (
	"context"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
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

// hasNamespace reports whether the namespace exists.
func (s *Server) hasNamespace(name string) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.namespaces[name] != nil
}

// listedTopics returns a namespace's topics as the admin API lists them, sorted: every topic but the
// broker's events topic, which the real broker does not list in its namespace either. An unknown namespace
// has none. Unlike the real broker's prefix scan, "default" does not list the topics of "default2".
func (s *Server) listedTopics(ns string) []string {
	names := s.namespaceTopics(ns, "")
	out := names[:0]
	for _, n := range names {
		if n != EventsTopic {
			out = append(out, n)
		}
	}
	return out
}

// GetNamespaceTopics lists a namespace's topics without the leading slash ("ns/topic"), as the real broker
// does; an unknown namespace has none.
func (n namespaceAdmin) GetNamespaceTopics(ctx context.Context, req *adminpb.NamespaceRequest) (*adminpb.TopicListResponse, error) {
	resp := &adminpb.TopicListResponse{}
	for _, t := range n.s.listedTopics(req.GetName()) {
		resp.Topics = append(resp.Topics, t[1:])
	}
	return resp, nil
}

// namespacePolicies is the real broker's policies JSON: every key, in its order, 0 meaning unlimited.
type namespacePolicies struct {
	MaxProducersPerTopic        uint32 `json:"max_producers_per_topic"`
	MaxSubscriptionsPerTopic    uint32 `json:"max_subscriptions_per_topic"`
	MaxConsumersPerTopic        uint32 `json:"max_consumers_per_topic"`
	MaxConsumersPerSubscription uint32 `json:"max_consumers_per_subscription"`
	MaxPublishRate              uint32 `json:"max_publish_rate"`
	MaxSubscriptionDispatchRate uint32 `json:"max_subscription_dispatch_rate"`
	MaxMessageSize              uint32 `json:"max_message_size"`
}

func clampU32(v int) uint32 { return uint32(min(max(v, 0), 1<<32-1)) }

// GetNamespacePolicies returns a namespace's policies as the real broker's JSON. Every namespace has the
// broker's limits (Options.Policies), which are the ones enforced; the embedded broker has no rate limits.
func (n namespaceAdmin) GetNamespacePolicies(ctx context.Context, req *adminpb.NamespaceRequest) (*adminpb.PolicyResponse, error) {
	name := req.GetName()
	if !n.s.hasNamespace(name) {
		// "polices" is the real broker's spelling.
		return nil, adminErr("Unable to retrieve polices for the namespace %s due to Unable to retrieve the policies for the namespace", name)
	}
	p := n.s.opts.Policies
	b, err := json.Marshal(namespacePolicies{
		MaxProducersPerTopic:        clampU32(p.MaxProducersPerTopic),
		MaxSubscriptionsPerTopic:    clampU32(p.MaxSubscriptionsPerTopic),
		MaxConsumersPerTopic:        clampU32(p.MaxConsumersPerTopic),
		MaxConsumersPerSubscription: clampU32(p.MaxConsumersPerSubscription),
		MaxMessageSize:              clampU32(p.MaxMessageSize),
	})
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

// ListNamespaceTopics lists a namespace's topics with their delivery; an unknown namespace has none.
func (ta topicAdmin) ListNamespaceTopics(ctx context.Context, req *adminpb.NamespaceRequest) (*adminpb.TopicInfoListResponse, error) {
	return ta.topicInfos(ta.s.listedTopics(req.GetName())), nil
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
	return false, status.Error(codes.InvalidArgument, "invalid dispatch_strategy value")
}

// CreateTopic creates a topic.
func (ta topicAdmin) CreateTopic(ctx context.Context, req *adminpb.NewTopicRequest) (*adminpb.TopicResponse, error) {
	reliable, err := reliableStrategy(req.GetDispatchStrategy())
	if err != nil {
		return nil, err
	}
	if resp, ok, err := ta.s.createTopicElsewhere(ctx, req); ok { // not active: created on a peer (grpc_cluster.go)
		return resp, err
	}
	if err := ta.s.adminCreateTopic(req.GetName(), reliable, req.GetSchemaSubject()); err != nil {
		return nil, err
	}
	return &adminpb.TopicResponse{Success: true}, nil
}

// CreatePartitionedTopic creates the partitions of a topic; zero partitions create nothing.
func (ta topicAdmin) CreatePartitionedTopic(ctx context.Context, req *adminpb.PartitionedTopicRequest) (*adminpb.TopicResponse, error) {
	reliable, err := reliableStrategy(req.GetDispatchStrategy())
	if err != nil {
		return nil, err
	}
	if resp, ok, err := ta.s.createPartitionedElsewhere(ctx, req); ok { // not active: created on a peer
		return resp, err
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

// UnloadTopic answers as a real single-broker cluster: there is no other broker to move the topic to.
func (ta topicAdmin) UnloadTopic(context.Context, *adminpb.TopicRequest) (*adminpb.TopicResponse, error) {
	return nil, status.Error(codes.FailedPrecondition,
		"Cannot unload topic: single broker cluster detected. Unload requires at least 2 brokers.")
}

// subscriptionNames lists a topic's subscriptions once each, sorted: those that exist and those configured
// with the admin API before their first Subscribe, as the real broker lists them. An unknown topic has none.
func (ta topicAdmin) subscriptionNames(topicName string) []string {
	var names []string
	if info, ok := ta.s.Topic(topicName); ok {
		for _, si := range info.Subscriptions {
			names = append(names, si.Name)
		}
		names = append(names, ta.s.configuredSubscriptions(topicName)...)
	}
	slices.Sort(names)
	return slices.Compact(names)
}

// ListSubscriptions lists a topic's subscriptions (see subscriptionNames).
func (ta topicAdmin) ListSubscriptions(ctx context.Context, req *adminpb.TopicRequest) (*adminpb.SubscriptionListResponse, error) {
	return &adminpb.SubscriptionListResponse{Subscriptions: ta.subscriptionNames(req.GetName())}, nil
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
		AckTimeout:          time.Duration(min(p.GetAckTimeoutMs(), maxMillis)) * time.Millisecond,
		BaseRedeliveryDelay: time.Duration(min(p.GetBaseRedeliveryDelayMs(), maxMillis)) * time.Millisecond,
		MaxRedeliveryDelay:  time.Duration(min(p.GetMaxRedeliveryDelayMs(), maxMillis)) * time.Millisecond,
		Backoff:             BackoffStrategy(p.GetBackoffStrategy()),
		Poison:              PoisonPolicy(p.GetPoisonPolicy()),
		DeadLetterTopic:     p.GetDeadLetterTopic(),
	}
}

// maxMillis is the longest duration in milliseconds that a time.Duration holds.
const maxMillis = uint64(1<<63-1) / uint64(time.Millisecond)

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

// SetSubscriptionFailurePolicy sets the failure policy of a subscription of a reliable topic. The
// subscription need not exist: a subscription created later starts with it (the way to configure a
// dead-letter policy before starting consumers); a live one takes it at once.
func (ta topicAdmin) SetSubscriptionFailurePolicy(ctx context.Context, req *adminpb.SetSubscriptionFailurePolicyRequest) (*adminpb.SubscriptionResponse, error) {
	if err := ta.s.setFailurePolicy(req.GetTopic(), req.GetSubscription(), req.GetFailurePolicy()); err != nil {
		return nil, err
	}
	return &adminpb.SubscriptionResponse{Success: true}, nil
}

// GetSubscriptionFailurePolicy returns a subscription's type and failure policy; it answers OK for unknown
// topics and subscriptions, without a policy when none applies.
func (ta topicAdmin) GetSubscriptionFailurePolicy(ctx context.Context, req *adminpb.GetSubscriptionFailurePolicyRequest) (*adminpb.GetSubscriptionFailurePolicyResponse, error) {
	typ, pol := ta.s.subscriptionPolicy(req.GetTopic(), req.GetSubscription())
	resp := &adminpb.GetSubscriptionFailurePolicyResponse{SubscriptionType: int32(typ)}
	if pol != nil {
		resp.FailurePolicy = policyToProto(*pol)
	}
	return resp, nil
}

// SetSubscriptionDispatchConfig sets a subscription's window of unacknowledged messages: stored for the
// subscription (existing or not) and applied to it on a reliable topic, at once or when it is created
// (the real broker stores it only).
func (ta topicAdmin) SetSubscriptionDispatchConfig(ctx context.Context, req *adminpb.SetSubscriptionDispatchConfigRequest) (*adminpb.SubscriptionResponse, error) {
	if err := ta.s.setDispatchWindow(req.GetTopic(), req.GetSubscription(), req.GetDispatchConfig()); err != nil {
		return nil, err
	}
	return &adminpb.SubscriptionResponse{Success: true}, nil
}

// GetSubscriptionDispatchConfig returns the window set with SetSubscriptionDispatchConfig, or no
// dispatch_config when none was set (the subscription then uses the broker's MaxUnackedMessages).
func (ta topicAdmin) GetSubscriptionDispatchConfig(ctx context.Context, req *adminpb.GetSubscriptionDispatchConfigRequest) (*adminpb.GetSubscriptionDispatchConfigResponse, error) {
	n, err := ta.s.subscriptionWindow(req.GetTopic(), req.GetSubscription())
	if err != nil {
		return nil, err
	}
	resp := &adminpb.GetSubscriptionDispatchConfigResponse{}
	if n > 0 {
		resp.DispatchConfig = &adminpb.SubscriptionDispatchConfig{MaxUnackedMessages: n}
	}
	return resp, nil
}

// DescribeTopic describes a topic: subscriptions, delivery and its schema. An unknown topic is described as
// the real broker does, OK with no subscriptions, no broker and "NonReliable".
func (ta topicAdmin) DescribeTopic(ctx context.Context, req *adminpb.DescribeTopicRequest) (*adminpb.DescribeTopicResponse, error) {
	info, ok := ta.s.Topic(req.GetName())
	if !ok {
		return &adminpb.DescribeTopicResponse{Name: req.GetName(), Subscriptions: []string{}, Delivery: delivery(false)}, nil
	}
	resp := &adminpb.DescribeTopicResponse{
		Name:          info.Name,
		BrokerId:      strconv.FormatUint(ta.s.BrokerID(), 10),
		Delivery:      delivery(info.Reliable),
		Subscriptions: ta.subscriptionNames(info.Name),
	}
	if subj := info.SchemaSubject; subj != "" {
		resp.SchemaSubject = &subj
		if v, mode, err := ta.s.schemas.Latest(subj); err == nil {
			id, version, typ, m := v.SchemaID, v.Version, string(v.Type), strings.ToUpper(string(mode))
			resp.SchemaId, resp.SchemaVersion, resp.SchemaType, resp.CompatibilityMode = &id, &version, &typ, &m
		}
	}
	return resp, nil
}
