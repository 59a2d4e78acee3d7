package broker

import (
	"context"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/danube-console/danube-console/proto/danubepb"
)

// consumerService serves danube.ConsumerService.
type consumerService struct {
	danubepb.UnimplementedConsumerServiceServer
	s *Server
}

// Subscribe attaches a consumer to a subscription, creating the subscription on first use. It never creates
// topics. A consumer name already on the subscription takes that consumer over and keeps its id.
func (cs consumerService) Subscribe(ctx context.Context, req *danubepb.ConsumerRequest) (*danubepb.ConsumerResponse, error) {
	s := cs.s
	name := req.GetTopicName()
	if err := checkTopicName(name); err != nil {
		return nil, err
	}
	if req.GetSubscription() == "" {
		return nil, status.Error(codes.InvalidArgument, "The subscription name must not be empty")
	}
	if req.GetConsumerName() == "" {
		return nil, status.Error(codes.InvalidArgument, "The consumer name must not be empty")
	}
	if err := checkName("subscription name", req.GetSubscription()); err != nil {
		return nil, err
	}
	if err := checkName("consumer name", req.GetConsumerName()); err != nil {
		return nil, err
	}
	if err := checkKeyFilters(req.GetKeyFilters()); err != nil {
		return nil, err
	}
	typ := SubscriptionType(req.GetSubscriptionType())
	if typ < Exclusive || typ > KeyShared {
		return nil, errSubscribe(name, "unknown subscription type %d", typ)
	}
	t := s.topic(name)
	if t == nil {
		if s.servedByPeer(ctx, name) {
			return nil, errServedElsewhere()
		}
		return nil, errTopicNotFound(name)
	}

	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed.Load() {
		return nil, errTopicNotFound(name)
	}
	sub := t.subs[req.GetSubscription()]
	if sub != nil && sub.deleting.Load() {
		return nil, status.Errorf(codes.Unavailable, "The subscription %s is being deleted; retry in a moment", sub.name)
	}
	created := false
	if sub == nil {
		if max := s.opts.Policies.MaxSubscriptionsPerTopic; max > 0 && len(t.subs) >= max {
			return nil, status.Errorf(codes.PermissionDenied, "Not allowed to create the subscription for the topic: %s", name)
		}
		var err error
		if sub, err = s.addSubscription(t, req.GetSubscription(), typ); err != nil {
			return nil, err
		}
		created = true
	}
	res, err := sub.addConsumer(req.GetConsumerName(), req.GetKeyFilters(), t.consumerCount(), arrival(ctx, s))
	if err == nil && created {
		err = s.persistSubscription(sub)
	}
	if err != nil {
		if created {
			delete(t.subs, sub.name)
			t.subsChanged()
			sub.removeAll()
			s.dropStoredSubscription(t, sub)
		}
		return nil, err
	}
	if created {
		s.startDispatcher(sub)
		s.log.Info("subscription created", "topic", name, "subscription", sub.name, "type", typ.String())
	}
	c := res.c
	if !res.takeover {
		s.registerConsumer(c)
	}
	c.recMu.Lock() // the record of a connected consumer: see persistState
	if err := s.putJSON(storeKey(keyConsumers, name, sub.name, c.name), consumerMeta{ID: c.id, Name: c.name, Filters: req.GetKeyFilters()}); err != nil {
		s.log.Error("writing a consumer", "topic", name, "subscription", sub.name, "consumer", c.name, "err", err)
	} else {
		c.storedInactive = false
	}
	c.recMu.Unlock()
	s.log.Info("consumer subscribed", "topic", name, "subscription", sub.name, "consumer", c.name, "id", c.id, "takeover", res.takeover)
	return &danubepb.ConsumerResponse{RequestId: req.GetRequestId(), ConsumerId: c.id, ConsumerName: c.name}, nil
}

// addSubscription creates a subscription and makes it visible to publishing and log trimming at once, so
// that a new reliable subscription's starting offset (the latest) cannot be trimmed before it is counted.
// Caller holds t.mu.
func (s *Server) addSubscription(t *topic, name string, typ SubscriptionType) (*subscription, error) {
	m := subscriptionMeta{Topic: t.name, Name: name, Type: typ}
	var cursor uint64
	if t.reliable {
		pol := s.opts.FailurePolicy
		m.FailurePolicy = &pol
		if err := s.applyStoredConfig(t, &m); err != nil { // set with the admin API before the first Subscribe
			return nil, err
		}
		t.trimMu.RLock()
		defer t.trimMu.RUnlock()
		cursor = t.log.NextOffset() // new reliable subscriptions start at Latest
		if t.meta.Adopted {
			cursor = t.log.StartOffset() // its old subscriptions are lost: nothing stored may be skipped
		}
	}
	sub := s.newSubscription(t, m, cursor)
	t.subs[name] = sub
	t.subsChanged()
	return sub, nil
}

// persistSubscription writes a new subscription (and its starting cursor) to the store.
func (s *Server) persistSubscription(sub *subscription) error {
	t := sub.topic
	m := subscriptionMeta{Topic: t.name, Name: sub.name, Type: sub.typ}
	if sub.d != nil {
		pol := sub.d.policy
		m.FailurePolicy = &pol
		if sub.d.window != s.opts.MaxUnackedMessages {
			m.MaxUnacked = sub.d.window // set with the admin API
		}
		if err := s.putCursor(t.name, sub.name, sub.d.floor.Load()); err != nil {
			return errSubscribe(t.name, "%v", err)
		}
	}
	if err := s.putJSON(storeKey(keySubscriptions, t.name, sub.name), m); err != nil {
		return errSubscribe(t.name, "%v", err)
	}
	return nil
}

// dropStoredSubscription forgets the stored records of a subscription.
func (s *Server) dropStoredSubscription(t *topic, sub *subscription) {
	meta := s.store.Meta()
	for _, k := range []string{storeKey(keySubscriptions, t.name, sub.name), storeKey(keyCursors, t.name, sub.name)} {
		if err := meta.Delete(k); err != nil {
			s.log.Error("deleting subscription state", "key", k, "err", err)
		}
	}
	if err := meta.DeletePrefix(storeKey(keyConsumers, t.name, sub.name) + "/"); err != nil {
		s.log.Error("deleting subscription consumers", "topic", t.name, "subscription", sub.name, "err", err)
	}
}

// ReceiveMessages streams a consumer's messages. A newer stream for the same consumer, or a takeover, ends
// this one with Unavailable.
func (cs consumerService) ReceiveMessages(req *danubepb.ReceiveRequest, stream danubepb.ConsumerService_ReceiveMessagesServer) error {
	c := cs.s.consumerByID(req.GetConsumerId())
	if c == nil {
		return errConsumerNotFound(req.GetConsumerId())
	}
	return c.sub.serve(stream.Context(), c, stream)
}

// ackTarget finds the subscription an Ack or Nack is about; nil with a nil error means "nothing to do"
// (non-reliable topic).
func (s *Server) ackTarget(id *danubepb.MsgID, subName, verb string) (*subscription, error) {
	if id == nil {
		return nil, status.Error(codes.InvalidArgument, "The request has no msg_id")
	}
	t := s.topic(id.TopicName)
	if t == nil {
		return nil, status.Errorf(codes.Internal, "Error %s message: Topic %s not found in registry", verb, id.TopicName)
	}
	if !t.reliable {
		return nil, nil
	}
	sub := t.subscription(subName)
	if sub == nil {
		return nil, status.Errorf(codes.Internal, "Error %s message: Subscription not found", verb)
	}
	return sub, nil
}

// Ack acknowledges a reliable message by topic, subscription and offset. Unknown offsets are ignored.
func (cs consumerService) Ack(ctx context.Context, req *danubepb.AckRequest) (*danubepb.AckResponse, error) {
	sub, err := cs.s.ackTarget(req.GetMsgId(), req.GetSubscriptionName(), "acknowledging")
	if err != nil {
		return nil, err
	}
	if sub != nil {
		sub.ack(req.GetMsgId().GetTopicOffset())
	}
	return &danubepb.AckResponse{RequestId: req.GetRequestId()}, nil
}

// Nack asks for a reliable message to be delivered again after at least the requested delay.
func (cs consumerService) Nack(ctx context.Context, req *danubepb.NackRequest) (*danubepb.NackResponse, error) {
	sub, err := cs.s.ackTarget(req.GetMsgId(), req.GetSubscriptionName(), "negatively acknowledging")
	if err != nil {
		return nil, err
	}
	if sub != nil {
		sub.nack(req.GetMsgId().GetTopicOffset(), time.Duration(req.GetDelayMs())*time.Millisecond, req.GetReason())
	}
	return &danubepb.NackResponse{RequestId: req.GetRequestId()}, nil
}
