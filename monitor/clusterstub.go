package monitor

import (
	"context"
	"errors"
)

// errTODO marks the contract's methods not implemented yet.
var errTODO = errors.ErrUnsupported

func (m *Monitor) DescribeTopic(ctx context.Context, topic string) (TopicDetail, error) {
	return TopicDetail{}, errTODO
}
func (m *Monitor) CreateTopic(ctx context.Context, topic string, o TopicOptions) error {
	return errTODO
}
func (m *Monitor) DeleteTopic(ctx context.Context, topic string) error { return errTODO }
func (m *Monitor) UnloadTopic(ctx context.Context, topic string) error { return errTODO }
func (m *Monitor) SetFailurePolicy(ctx context.Context, topic, sub string, p FailurePolicy) error {
	return errTODO
}
func (m *Monitor) SetDispatchWindow(ctx context.Context, topic, sub string, n uint32) error {
	return errTODO
}
func (m *Monitor) UnloadBroker(ctx context.Context, id string) (UnloadResult, error) {
	return UnloadResult{}, errTODO
}
func (m *Monitor) ActivateBroker(ctx context.Context, id string) error { return errTODO }
func (m *Monitor) Rebalance(ctx context.Context, dryRun bool) (RebalanceResult, error) {
	return RebalanceResult{}, errTODO
}
func (m *Monitor) CreateRole(ctx context.Context, r Role) error                   { return errTODO }
func (m *Monitor) DeleteRole(ctx context.Context, name string) error              { return errTODO }
func (m *Monitor) CreateBinding(ctx context.Context, b Binding) error             { return errTODO }
func (m *Monitor) DeleteBinding(ctx context.Context, scope, res, id string) error { return errTODO }
