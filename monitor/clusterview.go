package monitor

import (
	"context"
	"time"

	"github.com/danube-console/danube-console/client"
)

// The cluster as the admin API and the Prometheus server tell it, the problems the console ranks from all
// sources, the charts' history, and the actions on what the console's own clients do not own. These are the
// types the console's cluster, topics, problems and security views draw; the sources that fill them are in
// admin.go (the admin API), scrape.go (the brokers' metrics endpoints) and prom.go (a Prometheus server).

// Aliases of the client's admin types the console shows and sends.
type (
	// BrokerInfo is one broker as ListBrokers answers it.
	BrokerInfo = client.BrokerInfo
	// TopicDescription is DescribeTopic's answer.
	TopicDescription = client.TopicDescription
	// FailurePolicy is a reliable subscription's redelivery policy.
	FailurePolicy = client.FailurePolicy
	// TopicOptions configure a topic CreateTopic makes.
	TopicOptions = client.TopicOptions
	// Role is an RBAC role: a name and the permissions it grants.
	Role = client.Role
	// Binding grants roles to a principal on a scope ("cluster", "namespace" or "topic") and resource.
	Binding = client.Binding
)

// RaftStatus is the cluster's Raft membership, as ClusterStatus answers it (ids are broker ids).
type RaftStatus struct {
	LeaderID, Term, LastApplied uint64
	Voters, Learners            []uint64
	// SelfID and RaftAddr are the answering broker's own.
	SelfID   uint64
	RaftAddr string
}

// BrokerLoad is one broker in the cluster balance.
type BrokerLoad struct {
	BrokerID                string
	Load                    float64
	Topics                  int
	Overloaded, Underloaded bool
}

// Balance is the cluster balance, as GetClusterBalance answers it.
type Balance struct {
	// CV is the coefficient of variation of the active brokers' loads (0 with fewer than two).
	CV, Mean, Max, Min, StdDev float64
	BrokerCount                int
	Strategy                   string
	Brokers                    []BrokerLoad // ascending by load
}

// NamespaceInfo is a namespace and its policies (the broker's raw JSON).
type NamespaceInfo struct {
	Name     string
	Policies string
	Err      string // why the policies could not be read ("" when they were)
}

// AdminView is what the admin source's last successful poll says. Each part that failed on its own (a
// standalone broker has no Raft and no balance; RBAC may deny the security lists) keeps its reason in the
// matching Err field and leaves its data empty.
type AdminView struct {
	Brokers    []BrokerInfo // ListBrokers, in its order
	BrokersErr string       // why ListBrokers failed ("" when it answered; Brokers is then empty)
	Leader     string       // GetLeaderBroker's id ("" when none is known)
	LeaderErr  string       // why GetLeaderBroker failed ("" when it answered)

	Raft    *RaftStatus // nil when unknown or not a cluster (RaftErr says why)
	RaftErr string

	Balance    *Balance // nil when unknown or not a cluster (BalanceErr says why)
	BalanceErr string

	Namespaces []NamespaceInfo // sorted, de-duplicated

	Roles       []Role    // sorted by name
	Bindings    []Binding // sorted by scope, resource, id
	SecurityErr string    // why the roles and bindings could not be read ("" when they were)

	// Identity is the principal the console connects as ("" without a token).
	Identity string
}

// ProblemKind is what an operator must look at.
type ProblemKind uint8

const (
	ProblemUnknown ProblemKind = iota
	// ProblemBrokerDown: a broker is not answering (its metrics endpoint fails, or it left ListBrokers).
	ProblemBrokerDown
	// ProblemSourceFailing: a data source of the console fails (the figures it gives are missing).
	ProblemSourceFailing
	// ProblemTerminalBlocked: a subscription holds messages its poison policy blocked.
	ProblemTerminalBlocked
	// ProblemLagGrowing: a subscription's lag has grown for at least a minute.
	ProblemLagGrowing
	// ProblemNoConsumers: a subscription has a backlog and no consumer.
	ProblemNoConsumers
	// ProblemDeadLetters: messages go to a dead-letter topic.
	ProblemDeadLetters
	// ProblemRedeliveryStorm: a subscription redelivers (or times out acks) at a high rate.
	ProblemRedeliveryStorm
	// ProblemSchemaFailures: publishes fail schema validation.
	ProblemSchemaFailures
	// ProblemAuthzDenials: the brokers deny requests.
	ProblemAuthzDenials
	// ProblemImbalance: the cluster's load is unbalanced.
	ProblemImbalance
)

// Severity ranks problems: higher first.
type Severity uint8

const (
	SeverityInfo Severity = iota
	SeverityWarning
	SeverityCritical
)

// Problem is one thing an operator must look at, with the numbers that show it.
type Problem struct {
	Kind     ProblemKind
	Severity Severity
	// Broker, Topic and Subscription name what the problem is about (those that apply).
	Broker, Topic, Subscription string
	// Detail is the numbers that show it ("lag 12,400 (+3,100 in 1m), 0 consumers").
	Detail string
	// Since is when the console first saw it (zero: unknown).
	Since time.Time
}

// TopicHistory is a topic's (or, for "", the whole cluster's) traffic over time: one point per Step, the
// last at End; NaN where nothing is known.
type TopicHistory struct {
	Topic string
	Step  time.Duration
	End   time.Time
	// In and Out are messages per second published to and dispatched from the topic (every partition
	// summed); Lag is the sum of its subscriptions' lag.
	In, Out, Lag []float64
	// Source says where the points came from: "console" (its own samples) or "prometheus".
	Source string
}

// History reads the charts' history. It never blocks on the network: a Prometheus range query it needs runs
// in the background, and its answer shows in a later call.
type History interface {
	// TopicHistory returns the topic's traffic over the last span ("" for the whole cluster): from the
	// Prometheus server when one is configured and has answered, else from the console's own samples of the
	// metrics endpoints (at most the last 15 minutes).
	TopicHistory(topic string, span time.Duration) TopicHistory
}

// UnloadResult is what UnloadBroker did.
type UnloadResult struct {
	Started                           bool
	Total, Succeeded, Failed, Pending int
	FailedTopics                      []string
}

// RebalanceMove is one topic move of a rebalance.
type RebalanceMove struct {
	Topic, From, To string
	EstimatedLoad   float64
	Reason          string
}

// RebalanceResult is what TriggerRebalance answered.
type RebalanceResult struct {
	Success       bool
	MovesExecuted int
	Moves         []RebalanceMove
	Message       string
}

// SubscriptionDetail is one subscription of a described topic.
type SubscriptionDetail struct {
	Name string
	Type SubscriptionType
	// Policy is the failure policy (nil for a non-reliable subscription, or when the broker has none);
	// DispatchWindow the reliable dispatch window (0: unknown).
	Policy         *FailurePolicy
	DispatchWindow uint32
	Err            string // why the policy or window could not be read
}

// TopicDetail is a topic described for its detail view: DescribeTopic with each subscription's policy.
type TopicDetail struct {
	TopicDescription
	Subs []SubscriptionDetail
}

// ClusterAdmin acts on the cluster. Every method may block on the network and honours ctx; those that
// change the cluster return ErrReadOnly when the monitor is read-only. Errors carry the broker's reason.
type ClusterAdmin interface {
	// DescribeTopic describes a topic with each subscription's type, failure policy and dispatch window.
	DescribeTopic(ctx context.Context, topic string) (TopicDetail, error)
	CreateTopic(ctx context.Context, topic string, o TopicOptions) error
	DeleteTopic(ctx context.Context, topic string) error
	UnloadTopic(ctx context.Context, topic string) error
	SetFailurePolicy(ctx context.Context, topic, subscription string, p FailurePolicy) error
	SetDispatchWindow(ctx context.Context, topic, subscription string, n uint32) error

	UnloadBroker(ctx context.Context, brokerID string) (UnloadResult, error)
	ActivateBroker(ctx context.Context, brokerID string) error
	Rebalance(ctx context.Context, dryRun bool) (RebalanceResult, error)

	CreateRole(ctx context.Context, r Role) error
	DeleteRole(ctx context.Context, name string) error
	CreateBinding(ctx context.Context, b Binding) error
	DeleteBinding(ctx context.Context, scope, resource, id string) error
}
