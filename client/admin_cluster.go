package client

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"google.golang.org/grpc"

	"github.com/danube-console/danube-console/proto/adminpb"
)

// The cluster rpcs of the admin port: Raft status (ClusterAdmin.ClusterStatus), the brokers' load balance,
// unloading and activating brokers, rebalancing, and unloading one topic. A standalone real broker answers
// the cluster-only rpcs with Unimplemented or FailedPrecondition: status.Code(err) tells, and the error's text
// carries the broker's reason.

// ClusterStatus is the cluster's Raft membership as ClusterStatus answers it; ids are broker ids.
type ClusterStatus struct {
	LeaderID, Term, LastApplied uint64
	Voters, Learners            []uint64
	// SelfID and RaftAddr are the answering broker's own.
	SelfID   uint64
	RaftAddr string
}

// ClusterStatus returns the cluster's Raft status as the broker at the admin URL sees it.
func (a *Admin) ClusterStatus(ctx context.Context) (ClusterStatus, error) {
	var out ClusterStatus
	err := a.call(ctx, "cluster status", func(ctx context.Context, cc *grpc.ClientConn) error {
		resp, err := adminpb.NewClusterAdminClient(cc).ClusterStatus(ctx, &adminpb.Empty{})
		if err != nil {
			return err
		}
		out = ClusterStatus{LeaderID: resp.GetLeaderId(), Term: resp.GetCurrentTerm(), LastApplied: resp.GetLastApplied(),
			Voters: resp.GetVoters(), Learners: resp.GetLearners(), SelfID: resp.GetSelfNodeId(), RaftAddr: resp.GetRaftAddr()}
		return nil
	})
	return out, err
}

// BrokerLoad is one broker in the cluster balance.
type BrokerLoad struct {
	BrokerID                string // decimal, as ListBrokers names it
	Load                    float64
	Topics                  int
	Overloaded, Underloaded bool
}

// ClusterBalance is the distribution of load over the cluster's brokers, as GetClusterBalance answers it.
type ClusterBalance struct {
	// CV is the coefficient of variation of the active brokers' loads (0 with fewer than two).
	CV, Mean, Max, Min, StdDev float64
	BrokerCount                int
	Strategy                   string
	Brokers                    []BrokerLoad // in the broker's order
}

// ClusterBalance returns the cluster's load balance.
func (a *Admin) ClusterBalance(ctx context.Context) (ClusterBalance, error) {
	var out ClusterBalance
	err := a.call(ctx, "cluster balance", func(ctx context.Context, cc *grpc.ClientConn) error {
		resp, err := adminpb.NewBrokerAdminClient(cc).GetClusterBalance(ctx, &adminpb.ClusterBalanceRequest{})
		if err != nil {
			return err
		}
		out = ClusterBalance{CV: resp.GetCoefficientOfVariation(), Mean: resp.GetMeanLoad(), Max: resp.GetMaxLoad(),
			Min: resp.GetMinLoad(), StdDev: resp.GetStdDeviation(), BrokerCount: int(resp.GetBrokerCount()),
			Strategy: resp.GetAssignmentStrategy(), Brokers: make([]BrokerLoad, 0, len(resp.GetBrokers()))}
		for _, b := range resp.GetBrokers() {
			out.Brokers = append(out.Brokers, BrokerLoad{BrokerID: strconv.FormatUint(b.GetBrokerId(), 10), Load: b.GetLoad(),
				Topics: int(b.GetTopicCount()), Overloaded: b.GetIsOverloaded(), Underloaded: b.GetIsUnderloaded()})
		}
		return nil
	})
	return out, err
}

// UnloadOptions tune UnloadBroker; the zero value unloads every namespace with the broker's defaults.
type UnloadOptions struct {
	// MaxParallel bounds the topics moved at once (0: the broker's default).
	MaxParallel int
	// Include and Exclude restrict the namespaces whose topics are moved (none: all).
	Include, Exclude []string
	// DryRun reports what would move without moving it.
	DryRun bool
	// Timeout bounds the whole unload on the broker's side, in whole seconds (0: the broker's default).
	Timeout time.Duration
}

// UnloadResult is what UnloadBroker did: how many of the broker's topics it tried to move and how that went.
type UnloadResult struct {
	Started                           bool
	Total, Succeeded, Failed, Pending int
	FailedTopics                      []string
}

// UnloadBroker moves a broker's topics to the other active brokers and marks it drained; a broker stays out
// of new assignments until ActivateBroker. Brokers refuse (FailedPrecondition) when there is no other active
// broker, or the cluster has a single broker.
func (a *Admin) UnloadBroker(ctx context.Context, brokerID string, o UnloadOptions) (UnloadResult, error) {
	if o.MaxParallel < 0 || o.Timeout < 0 || int64(o.MaxParallel) > int64(^uint32(0)) {
		return UnloadResult{}, fmt.Errorf("unload broker %s: %w: negative or too large MaxParallel or Timeout", brokerID, ErrInvalidConfig)
	}
	var out UnloadResult
	err := a.call(ctx, "unload broker "+brokerID, func(ctx context.Context, cc *grpc.ClientConn) error {
		resp, err := adminpb.NewBrokerAdminClient(cc).UnloadBroker(ctx, &adminpb.UnloadBrokerRequest{BrokerId: brokerID,
			MaxParallel: uint32(o.MaxParallel), NamespacesInclude: o.Include, NamespacesExclude: o.Exclude, DryRun: o.DryRun,
			TimeoutSeconds: uint32(min(o.Timeout/time.Second, 1<<32-1))})
		if err != nil {
			return err
		}
		out = UnloadResult{Started: resp.GetStarted(), Total: int(resp.GetTotal()), Succeeded: int(resp.GetSucceeded()),
			Failed: int(resp.GetFailed()), Pending: int(resp.GetPending()), FailedTopics: resp.GetFailedTopics()}
		return nil
	})
	return out, err
}

// ActivateBroker marks a broker active again (after UnloadBroker), with reason recorded by the broker ("":
// the broker's default).
func (a *Admin) ActivateBroker(ctx context.Context, brokerID, reason string) error {
	return a.call(ctx, "activate broker "+brokerID, func(ctx context.Context, cc *grpc.ClientConn) error {
		resp, err := adminpb.NewBrokerAdminClient(cc).ActivateBroker(ctx, &adminpb.ActivateBrokerRequest{BrokerId: brokerID, Reason: reason})
		if err != nil {
			return err
		}
		return refused(resp.GetSuccess(), "")
	})
}

// RebalanceMove is one topic move of a rebalance.
type RebalanceMove struct {
	Topic, From, To string // broker ids in decimal
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

// TriggerRebalance asks the cluster's load manager to move topics from loaded brokers to idle ones (dryRun:
// only propose the moves), at most maxMoves of them (0: the broker's limit). An answer with success=false
// fails with ErrRefused and the broker's message; a broker without a load manager answers FailedPrecondition.
func (a *Admin) TriggerRebalance(ctx context.Context, dryRun bool, maxMoves int) (RebalanceResult, error) {
	if maxMoves < 0 || int64(maxMoves) > int64(^uint32(0)) {
		return RebalanceResult{}, fmt.Errorf("rebalance: %w: %d moves", ErrInvalidConfig, maxMoves)
	}
	var out RebalanceResult
	op := "rebalance"
	if dryRun {
		op = "rebalance (dry run)"
	}
	err := a.call(ctx, op, func(ctx context.Context, cc *grpc.ClientConn) error {
		req := &adminpb.RebalanceRequest{DryRun: dryRun}
		if maxMoves > 0 {
			n := uint32(maxMoves)
			req.MaxMoves = &n
		}
		resp, err := adminpb.NewBrokerAdminClient(cc).TriggerRebalance(ctx, req)
		if err != nil {
			return err
		}
		out = RebalanceResult{Success: resp.GetSuccess(), MovesExecuted: int(resp.GetMovesExecuted()), Message: resp.GetErrorMessage()}
		for _, m := range resp.GetProposedMoves() {
			out.Moves = append(out.Moves, RebalanceMove{Topic: topicName(m.GetTopicName()), From: strconv.FormatUint(m.GetFromBroker(), 10),
				To: strconv.FormatUint(m.GetToBroker(), 10), EstimatedLoad: m.GetEstimatedLoad(), Reason: m.GetReason()})
		}
		return refused(resp.GetSuccess(), resp.GetErrorMessage())
	})
	return out, err
}

// UnloadTopic moves a topic off its broker to another one; a single-broker cluster refuses
// (FailedPrecondition).
func (a *Admin) UnloadTopic(ctx context.Context, name string) error {
	return a.call(ctx, "unload topic "+name, func(ctx context.Context, cc *grpc.ClientConn) error {
		resp, err := adminpb.NewTopicAdminClient(cc).UnloadTopic(ctx, &adminpb.TopicRequest{Name: name})
		if err != nil {
			return err
		}
		return refused(resp.GetSuccess(), "")
	})
}
