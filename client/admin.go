package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/danube-console/danube-console/proto/adminpb"
	"github.com/danube-console/danube-console/proto/consolepb"
)

// DefaultAdminURL is where a local broker's admin port listens.
const DefaultAdminURL = "http://127.0.0.1:50051"

// defaultAdminPort is the admin port used when an admin URL has none.
const defaultAdminPort = "50051"

// Admin is a client of a broker's admin port (danube_admin.BrokerAdmin, NamespaceAdmin and TopicAdmin, and
// the schema registry). It is safe for concurrent use. Every call is retried according to the RetryPolicy;
// failures are *APIError values wrapped with the operation, so status.Code(err) gives the broker's code.
// Note that a real broker answers NotFound for most failures of a topic or namespace rpc, even "already
// exists"; the message says what went wrong, and errors.Is matches it (ErrAlreadyExists, ErrTopicNotFound,
// ErrNamespaceNotFound). Listing or describing what does not exist answers OK and empty; DescribeTopic turns
// that answer back into ErrTopicNotFound. An rpc answered with success=false fails with ErrRefused.
type Admin struct {
	c *Client // its connection pool, options and retry policy; serviceURL is the admin URL
}

// ConnectAdmin prepares a client of the admin port at adminURL ("http://host:port", "https://host:port" or
// "host:port"; the port defaults to 50051). It takes the same options as Connect (TLS, token, retry, dial
// options). The connection is made on first use, so ConnectAdmin fails only on bad options or a bad URL.
func ConnectAdmin(ctx context.Context, adminURL string, opts ...Option) (*Admin, error) {
	c, err := Connect(ctx, withAdminPort(adminURL), opts...)
	if err != nil {
		return nil, err
	}
	return &Admin{c: c}, nil
}

// withAdminPort adds the default admin port to a URL that has none, keeping the rest as written.
func withAdminPort(s string) string {
	raw := strings.TrimSpace(s)
	full := raw
	if !strings.Contains(raw, "://") {
		full = "http://" + raw
	}
	u, err := url.Parse(full)
	if err != nil || u.Host == "" || u.Port() != "" {
		return s // normaliseURL reports what is wrong
	}
	u.Host = net.JoinHostPort(u.Hostname(), defaultAdminPort)
	if full != raw {
		return strings.TrimPrefix(u.String(), "http://")
	}
	return u.String()
}

// URL returns the normalised admin URL.
func (a *Admin) URL() string { return a.c.serviceURL }

// Close closes the admin client's connection. Calling it again does nothing.
func (a *Admin) Close() error { return a.c.Close() }

// Schemas returns the schema registry served on the admin port. Topic bindings go to this broker, which
// must serve the topic.
func (a *Admin) Schemas() *SchemaRegistry { return &SchemaRegistry{c: a.c} }

// call runs one admin rpc with retries and wraps its error.
func (a *Admin) call(ctx context.Context, op string, f func(ctx context.Context, cc *grpc.ClientConn) error) error {
	err := a.c.opts.Retry.retry(ctx, func(ctx context.Context) error {
		cc, err := a.c.conn(a.c.serviceURL)
		if err != nil {
			return err
		}
		return f(ctx, cc)
	}, nil)
	return apiError(op, err)
}

// BrokerInfo describes a broker of the cluster.
type BrokerInfo struct {
	ID          string
	Addr        string // the client URL
	Role        string // e.g. "Cluster_Leader", "Cluster_Follower"
	AdminAddr   string
	MetricsAddr string
	Status      string // e.g. "active"
}

// Brokers lists the brokers of the cluster.
func (a *Admin) Brokers(ctx context.Context) ([]BrokerInfo, error) {
	var out []BrokerInfo
	err := a.call(ctx, "list brokers", func(ctx context.Context, cc *grpc.ClientConn) error {
		resp, err := adminpb.NewBrokerAdminClient(cc).ListBrokers(ctx, &adminpb.Empty{})
		if err != nil {
			return err
		}
		out = make([]BrokerInfo, 0, len(resp.GetBrokers()))
		for _, b := range resp.GetBrokers() {
			out = append(out, BrokerInfo{ID: b.GetBrokerId(), Addr: b.GetBrokerAddr(), Role: b.GetBrokerRole(),
				AdminAddr: b.GetAdminAddr(), MetricsAddr: b.GetMetricsAddr(), Status: b.GetBrokerStatus()})
		}
		return nil
	})
	return out, err
}

// Leader returns the id of the cluster's leader broker.
func (a *Admin) Leader(ctx context.Context) (string, error) {
	var leader string
	err := a.call(ctx, "get the leader broker", func(ctx context.Context, cc *grpc.ClientConn) error {
		resp, err := adminpb.NewBrokerAdminClient(cc).GetLeaderBroker(ctx, &adminpb.Empty{})
		leader = resp.GetLeader()
		return err
	})
	return leader, err
}

// Namespaces lists the cluster's namespaces, sorted, each once (a real broker answers each namespace once
// per metadata key).
func (a *Admin) Namespaces(ctx context.Context) ([]string, error) {
	var out []string
	err := a.call(ctx, "list namespaces", func(ctx context.Context, cc *grpc.ClientConn) error {
		resp, err := adminpb.NewBrokerAdminClient(cc).ListNamespaces(ctx, &adminpb.Empty{})
		if err != nil {
			return err
		}
		out = make([]string, 0, len(resp.GetNamespaces()))
		for _, ns := range resp.GetNamespaces() {
			if ns != "" {
				out = append(out, ns)
			}
		}
		slices.Sort(out)
		out = slices.Compact(out)
		return nil
	})
	return out, err
}

// namespaceName accepts "ns" and "/ns".
func namespaceName(s string) string { return strings.Trim(strings.TrimSpace(s), "/") }

// CreateNamespace creates a namespace.
func (a *Admin) CreateNamespace(ctx context.Context, name string) error {
	op := "create namespace " + name
	return a.call(ctx, op, func(ctx context.Context, cc *grpc.ClientConn) error {
		resp, err := adminpb.NewNamespaceAdminClient(cc).CreateNamespace(ctx, &adminpb.NamespaceRequest{Name: namespaceName(name)})
		if err != nil {
			return err
		}
		return refused(resp.GetSuccess(), "")
	})
}

// DeleteNamespace deletes a namespace; brokers refuse while it has topics.
func (a *Admin) DeleteNamespace(ctx context.Context, name string) error {
	op := "delete namespace " + name
	return a.call(ctx, op, func(ctx context.Context, cc *grpc.ClientConn) error {
		resp, err := adminpb.NewNamespaceAdminClient(cc).DeleteNamespace(ctx, &adminpb.NamespaceRequest{Name: namespaceName(name)})
		if err != nil {
			return err
		}
		return refused(resp.GetSuccess(), "")
	})
}

// NamespacePolicies returns a namespace's policies, parsed from the JSON the broker answers (numbers are
// float64, as encoding/json decodes them).
func (a *Admin) NamespacePolicies(ctx context.Context, name string) (map[string]any, error) {
	var raw string
	op := "policies of namespace " + name
	err := a.call(ctx, op, func(ctx context.Context, cc *grpc.ClientConn) error {
		resp, err := adminpb.NewNamespaceAdminClient(cc).GetNamespacePolicies(ctx, &adminpb.NamespaceRequest{Name: namespaceName(name)})
		raw = resp.GetPolicies()
		return err
	})
	if err != nil {
		return nil, err
	}
	out := map[string]any{}
	if strings.TrimSpace(raw) == "" {
		return out, nil
	}
	if err := json.Unmarshal([]byte(raw), &out); err != nil {
		return nil, fmt.Errorf("%s: the broker answered policies that are not a JSON object: %w", op, err)
	}
	return out, nil
}

// TopicInfo is a topic as the admin API lists it. Partitions are listed as separate topics "<base>-part-N".
type TopicInfo struct {
	// Name is "/namespace/topic", always with the leading slash.
	Name     string
	BrokerID string
	Reliable bool
}

// topicName adds the leading slash some admin rpcs leave out.
func topicName(s string) string {
	if s == "" || strings.HasPrefix(s, "/") {
		return s
	}
	return "/" + s
}

func isReliable(delivery string) bool { return strings.EqualFold(delivery, "Reliable") }

func topicInfos(ts []*adminpb.TopicInfo) []TopicInfo {
	out := make([]TopicInfo, 0, len(ts))
	for _, t := range ts {
		out = append(out, TopicInfo{Name: topicName(t.GetName()), BrokerID: t.GetBrokerId(), Reliable: isReliable(t.GetDelivery())})
	}
	slices.SortFunc(out, func(x, y TopicInfo) int { return strings.Compare(x.Name, y.Name) })
	return out
}

// Topics lists a namespace's topics ("ns" or "/ns"), sorted by name.
func (a *Admin) Topics(ctx context.Context, namespace string) ([]TopicInfo, error) {
	var out []TopicInfo
	err := a.call(ctx, "topics of namespace "+namespace, func(ctx context.Context, cc *grpc.ClientConn) error {
		resp, err := adminpb.NewTopicAdminClient(cc).ListNamespaceTopics(ctx, &adminpb.NamespaceRequest{Name: namespaceName(namespace)})
		if err == nil {
			out = topicInfos(resp.GetTopics())
		}
		return err
	})
	return out, err
}

// BrokerTopics lists the topics a broker serves, sorted by name.
func (a *Admin) BrokerTopics(ctx context.Context, brokerID string) ([]TopicInfo, error) {
	var out []TopicInfo
	err := a.call(ctx, "topics of broker "+brokerID, func(ctx context.Context, cc *grpc.ClientConn) error {
		resp, err := adminpb.NewTopicAdminClient(cc).ListBrokerTopics(ctx, &adminpb.BrokerRequest{BrokerId: brokerID})
		if err == nil {
			out = topicInfos(resp.GetTopics())
		}
		return err
	})
	return out, err
}

// TopicOptions configure a new topic.
type TopicOptions struct {
	// Reliable topics store messages and redeliver them until acknowledged.
	Reliable bool
	// Partitions, when positive, creates the partitions "<name>-part-0" … "<name>-part-(N-1)" instead of one
	// topic. A real broker creates them one after another and keeps those created before a failure.
	Partitions int
	// SchemaSubject binds the topic to a registered schema subject.
	SchemaSubject string
}

func dispatchStrategy(reliable bool) adminpb.DispatchStrategy {
	if reliable {
		return adminpb.DispatchStrategy_Reliable
	}
	return adminpb.DispatchStrategy_NonReliable
}

// CreateTopic creates the topic name ("/namespace/topic"), or its partitions.
func (a *Admin) CreateTopic(ctx context.Context, name string, o TopicOptions) error {
	if o.Partitions < 0 || int64(o.Partitions) > int64(^uint32(0)) {
		return fmt.Errorf("%w: %d partitions", ErrInvalidConfig, o.Partitions)
	}
	var subject *string
	if o.SchemaSubject != "" {
		s := o.SchemaSubject
		subject = &s
	}
	op := "create topic " + name
	if o.Partitions > 0 {
		op = fmt.Sprintf("create partitioned topic %s (%d partitions)", name, o.Partitions)
	}
	return a.call(ctx, op, func(ctx context.Context, cc *grpc.ClientConn) error {
		ta := adminpb.NewTopicAdminClient(cc)
		var resp *adminpb.TopicResponse
		var err error
		if o.Partitions > 0 {
			resp, err = ta.CreatePartitionedTopic(ctx, &adminpb.PartitionedTopicRequest{BaseName: name,
				Partitions: uint32(o.Partitions), SchemaSubject: subject, DispatchStrategy: dispatchStrategy(o.Reliable)})
		} else {
			resp, err = ta.CreateTopic(ctx, &adminpb.NewTopicRequest{Name: name, SchemaSubject: subject,
				DispatchStrategy: dispatchStrategy(o.Reliable)})
		}
		if err != nil {
			return err
		}
		return refused(resp.GetSuccess(), "")
	})
}

// DeleteTopic deletes a topic, or every partition of a partitioned topic given its base name.
func (a *Admin) DeleteTopic(ctx context.Context, name string) error {
	op := "delete topic " + name
	return a.call(ctx, op, func(ctx context.Context, cc *grpc.ClientConn) error {
		resp, err := adminpb.NewTopicAdminClient(cc).DeleteTopic(ctx, &adminpb.TopicRequest{Name: name})
		if err != nil {
			return err
		}
		return refused(resp.GetSuccess(), "")
	})
}

// TopicDescription describes a topic: its subscriptions and its schema.
type TopicDescription struct {
	Name          string
	BrokerID      string
	Reliable      bool
	Subscriptions []string
	// SchemaSubject is the bound schema subject ("" when none); the other schema fields describe its latest
	// version and are zero when the broker did not report them.
	SchemaSubject string
	SchemaID      uint64
	SchemaVersion uint32
	SchemaType    string
	// Compatibility is the subject's compatibility mode, in lower case.
	Compatibility string
}

// DescribeTopic describes a topic.
func (a *Admin) DescribeTopic(ctx context.Context, name string) (TopicDescription, error) {
	var d TopicDescription
	err := a.call(ctx, "describe topic "+name, func(ctx context.Context, cc *grpc.ClientConn) error {
		resp, err := adminpb.NewTopicAdminClient(cc).DescribeTopic(ctx, &adminpb.DescribeTopicRequest{Name: name})
		if err != nil {
			return err
		}
		if describesNothing(resp) {
			// A real broker describes a topic that does not exist as OK with nothing in it, which is also what
			// a non-reliable topic without subscriptions looks like on a standalone broker: ask its namespace.
			exists, err := topicListed(ctx, cc, name)
			if err != nil {
				return err
			}
			if !exists {
				return status.Errorf(codes.NotFound, "Topic %s not found", name)
			}
		}
		d = TopicDescription{Name: topicName(resp.GetName()), BrokerID: resp.GetBrokerId(), Reliable: isReliable(resp.GetDelivery()),
			Subscriptions: resp.GetSubscriptions(), SchemaSubject: resp.GetSchemaSubject(), SchemaID: resp.GetSchemaId(),
			SchemaVersion: resp.GetSchemaVersion(), SchemaType: resp.GetSchemaType(),
			Compatibility: strings.ToLower(resp.GetCompatibilityMode())}
		if d.Name == "" {
			d.Name = name
		}
		return nil
	})
	return d, err
}

// describesNothing reports the real broker's description of an unknown topic: no broker, no subscription,
// no schema, NonReliable.
func describesNothing(r *adminpb.DescribeTopicResponse) bool {
	return r.GetBrokerId() == "" && len(r.GetSubscriptions()) == 0 && r.SchemaSubject == nil && !isReliable(r.GetDelivery())
}

// topicListed reports whether a topic appears in its namespace's topic list.
func topicListed(ctx context.Context, cc *grpc.ClientConn, topic string) (bool, error) {
	name := topicName(topic)
	ns, _, _ := strings.Cut(strings.TrimPrefix(name, "/"), "/")
	resp, err := adminpb.NewTopicAdminClient(cc).ListNamespaceTopics(ctx, &adminpb.NamespaceRequest{Name: ns})
	if err != nil {
		return false, err
	}
	for _, t := range resp.GetTopics() {
		if topicName(t.GetName()) == name {
			return true, nil
		}
	}
	return false, nil
}

// Subscriptions lists a topic's subscriptions, sorted.
func (a *Admin) Subscriptions(ctx context.Context, topic string) ([]string, error) {
	var out []string
	err := a.call(ctx, "subscriptions of "+topic, func(ctx context.Context, cc *grpc.ClientConn) error {
		resp, err := adminpb.NewTopicAdminClient(cc).ListSubscriptions(ctx, &adminpb.TopicRequest{Name: topic})
		if err == nil {
			out = slices.Sorted(slices.Values(resp.GetSubscriptions()))
		}
		return err
	})
	return out, err
}

// Unsubscribe deletes a subscription of topic; brokers refuse while a consumer of it is connected.
func (a *Admin) Unsubscribe(ctx context.Context, topic, subscription string) error {
	op := "unsubscribe " + subscription + " from " + topic
	return a.call(ctx, op, func(ctx context.Context, cc *grpc.ClientConn) error {
		resp, err := adminpb.NewTopicAdminClient(cc).Unsubscribe(ctx, &adminpb.SubscriptionRequest{Topic: topic, Subscription: subscription})
		if err != nil {
			return err
		}
		return refused(resp.GetSuccess(), "")
	})
}

// FailurePolicy governs redelivery on a subscription of a reliable topic.
type FailurePolicy struct {
	// MaxRedeliveries: a message delivered more than this many times that fails again is poisoned.
	MaxRedeliveries uint32
	// AckTimeout is how long a delivered message may stay unacknowledged before it is redelivered.
	AckTimeout time.Duration
	// BaseRedeliveryDelay and MaxRedeliveryDelay bound the wait before a failed message is sent again.
	BaseRedeliveryDelay time.Duration
	MaxRedeliveryDelay  time.Duration
	// Backoff is "fixed" or "exponential" ("" sets "exponential").
	Backoff string
	// Poison is what happens to a poisoned message: "block" (hold the subscription until it is acked),
	// "drop" or "dead-letter" (republish it to DeadLetterTopic); "" sets "block".
	Poison string
	// DeadLetterTopic receives poisoned messages under "dead-letter".
	DeadLetterTopic string
}

func backoffName(b adminpb.SubscriptionBackoffStrategy) string {
	switch b {
	case adminpb.SubscriptionBackoffStrategy_Fixed:
		return "fixed"
	case adminpb.SubscriptionBackoffStrategy_Exponential:
		return "exponential"
	}
	return fmt.Sprintf("unknown(%d)", int32(b))
}

func poisonName(p adminpb.SubscriptionPoisonPolicy) string {
	switch p {
	case adminpb.SubscriptionPoisonPolicy_Block:
		return "block"
	case adminpb.SubscriptionPoisonPolicy_Drop:
		return "drop"
	case adminpb.SubscriptionPoisonPolicy_DeadLetter:
		return "dead-letter"
	}
	return fmt.Sprintf("unknown(%d)", int32(p))
}

// policyToWire checks p and converts it.
func policyToWire(p FailurePolicy) (*adminpb.SubscriptionFailurePolicy, error) {
	if p.AckTimeout < 0 || p.BaseRedeliveryDelay < 0 || p.MaxRedeliveryDelay < 0 {
		return nil, fmt.Errorf("%w: failure policy durations must not be negative", ErrInvalidConfig)
	}
	w := &adminpb.SubscriptionFailurePolicy{
		MaxRedeliveryCount:    p.MaxRedeliveries,
		AckTimeoutMs:          uint64(p.AckTimeout.Milliseconds()),
		BaseRedeliveryDelayMs: uint64(p.BaseRedeliveryDelay.Milliseconds()),
		MaxRedeliveryDelayMs:  uint64(p.MaxRedeliveryDelay.Milliseconds()),
	}
	switch strings.ToLower(p.Backoff) {
	case "", "exponential":
		w.BackoffStrategy = adminpb.SubscriptionBackoffStrategy_Exponential
	case "fixed":
		w.BackoffStrategy = adminpb.SubscriptionBackoffStrategy_Fixed
	default:
		return nil, fmt.Errorf("%w: backoff %q (want fixed or exponential)", ErrInvalidConfig, p.Backoff)
	}
	switch strings.ToLower(p.Poison) {
	case "", "block":
		w.PoisonPolicy = adminpb.SubscriptionPoisonPolicy_Block
	case "drop":
		w.PoisonPolicy = adminpb.SubscriptionPoisonPolicy_Drop
	case "dead-letter", "deadletter", "dead_letter":
		w.PoisonPolicy = adminpb.SubscriptionPoisonPolicy_DeadLetter
	default:
		return nil, fmt.Errorf("%w: poison policy %q (want block, drop or dead-letter)", ErrInvalidConfig, p.Poison)
	}
	if p.DeadLetterTopic != "" {
		dlt := p.DeadLetterTopic
		w.DeadLetterTopic = &dlt
	}
	return w, nil
}

// FailurePolicy returns a subscription's type and, on a reliable topic, its failure policy (the zero
// FailurePolicy on a non-reliable topic, which has none).
func (a *Admin) FailurePolicy(ctx context.Context, topic, sub string) (FailurePolicy, SubscriptionType, error) {
	var p FailurePolicy
	var typ SubscriptionType
	err := a.call(ctx, "failure policy of "+sub+" on "+topic, func(ctx context.Context, cc *grpc.ClientConn) error {
		resp, err := adminpb.NewTopicAdminClient(cc).GetSubscriptionFailurePolicy(ctx,
			&adminpb.GetSubscriptionFailurePolicyRequest{Topic: topic, Subscription: sub})
		if err != nil {
			return err
		}
		typ = subscriptionTypeFromWire(resp.GetSubscriptionType())
		if w := resp.GetFailurePolicy(); w != nil {
			p = FailurePolicy{
				MaxRedeliveries:     w.GetMaxRedeliveryCount(),
				AckTimeout:          msDuration(w.GetAckTimeoutMs()),
				BaseRedeliveryDelay: msDuration(w.GetBaseRedeliveryDelayMs()),
				MaxRedeliveryDelay:  msDuration(w.GetMaxRedeliveryDelayMs()),
				Backoff:             backoffName(w.GetBackoffStrategy()),
				Poison:              poisonName(w.GetPoisonPolicy()),
				DeadLetterTopic:     w.GetDeadLetterTopic(),
			}
		}
		return nil
	})
	if err != nil {
		return FailurePolicy{}, 0, err
	}
	return p, typ, nil
}

// msDuration converts milliseconds, saturating instead of overflowing.
func msDuration(ms uint64) time.Duration {
	const maxMs = uint64(1<<63-1) / uint64(time.Millisecond)
	if ms > maxMs {
		ms = maxMs
	}
	return time.Duration(ms) * time.Millisecond
}

// SetFailurePolicy replaces the failure policy of a subscription of a reliable topic. Durations are sent in
// whole milliseconds.
func (a *Admin) SetFailurePolicy(ctx context.Context, topic, sub string, p FailurePolicy) error {
	w, err := policyToWire(p)
	if err != nil {
		return err
	}
	op := "set the failure policy of " + sub + " on " + topic
	return a.call(ctx, op, func(ctx context.Context, cc *grpc.ClientConn) error {
		resp, err := adminpb.NewTopicAdminClient(cc).SetSubscriptionFailurePolicy(ctx,
			&adminpb.SetSubscriptionFailurePolicyRequest{Topic: topic, Subscription: sub, FailurePolicy: w})
		if err != nil {
			return err
		}
		return refused(resp.GetSuccess(), "")
	})
}

// DispatchWindow returns the window of unacknowledged messages set for a subscription with SetDispatchWindow,
// or 0 when none was set (the subscription then uses the broker's default), as brokers answer.
func (a *Admin) DispatchWindow(ctx context.Context, topic, sub string) (uint32, error) {
	var n uint32
	err := a.call(ctx, "dispatch window of "+sub+" on "+topic, func(ctx context.Context, cc *grpc.ClientConn) error {
		resp, err := adminpb.NewTopicAdminClient(cc).GetSubscriptionDispatchConfig(ctx,
			&adminpb.GetSubscriptionDispatchConfigRequest{Topic: topic, Subscription: sub})
		n = resp.GetDispatchConfig().GetMaxUnackedMessages()
		return err
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}

// SetDispatchWindow sets how many messages a subscription of a reliable topic may have unacknowledged at
// once. The embedded broker applies it at once; a real v0.15 broker stores it only.
func (a *Admin) SetDispatchWindow(ctx context.Context, topic, sub string, n uint32) error {
	op := fmt.Sprintf("set the dispatch window of %s on %s to %d", sub, topic, n)
	return a.call(ctx, op, func(ctx context.Context, cc *grpc.ClientConn) error {
		resp, err := adminpb.NewTopicAdminClient(cc).SetSubscriptionDispatchConfig(ctx, &adminpb.SetSubscriptionDispatchConfigRequest{
			Topic: topic, Subscription: sub, DispatchConfig: &adminpb.SubscriptionDispatchConfig{MaxUnackedMessages: n}})
		if err != nil {
			return err
		}
		return refused(resp.GetSuccess(), "")
	})
}

// RecoveryReport is one thing a broker found damaged or incomplete in its data directory when it started,
// and what it did: Action is "skipped" (damaged records skipped, the ones after kept), "truncated" (a torn
// tail cut off), "moved" (an unreadable file moved aside to MovedTo), "missing" (offsets no file holds) or
// "adopted" (a topic log without metadata served again). Records (-1: unknown), FirstOffset and LastOffset
// say which messages.
type RecoveryReport struct {
	Topic       string // "" for the broker's metadata
	File        string
	Action      string
	Records     int64
	FirstOffset uint64
	LastOffset  uint64
	Position    int64
	Bytes       int64
	MovedTo     string
	Reason      string
}

// StoreRecovery is a broker's answer about its own start.
type StoreRecovery struct {
	BrokerID  string
	StartedAt time.Time
	Reports   []RecoveryReport
}

// StoreRecovery asks the broker what it repaired in its data directory when it started (danube-console's
// danube_console.BrokerDiagnostics service). With a broker that does not serve it, such as a real Danube
// broker, the error matches errors.ErrUnsupported.
func (a *Admin) StoreRecovery(ctx context.Context) (StoreRecovery, error) {
	var out StoreRecovery
	err := a.call(ctx, "ask about the store's recovery", func(ctx context.Context, cc *grpc.ClientConn) error {
		resp, err := consolepb.NewBrokerDiagnosticsClient(cc).StoreRecovery(ctx, &consolepb.StoreRecoveryRequest{})
		if err != nil {
			return err
		}
		out = StoreRecovery{BrokerID: resp.GetBrokerId(), StartedAt: time.UnixMilli(resp.GetStartedAtMs())}
		for _, r := range resp.GetReports() {
			out.Reports = append(out.Reports, RecoveryReport{Topic: r.GetTopic(), File: r.GetFile(), Action: r.GetAction(),
				Records: r.GetRecords(), FirstOffset: r.GetFirstOffset(), LastOffset: r.GetLastOffset(), Position: r.GetPosition(), Bytes: r.GetBytes(),
				MovedTo: r.GetMovedTo(), Reason: r.GetReason()})
		}
		return nil
	})
	if status.Code(err) == codes.Unimplemented {
		err = fmt.Errorf("%w (%w)", err, errors.ErrUnsupported)
	}
	return out, err
}
