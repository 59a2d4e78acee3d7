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
	if ValidateTopicName(name) != nil {
		return nil, errInvalidTopic(name)
	}
	if req.GetSubscription() == "" {
		return nil, status.Error(codes.InvalidArgument, "The subscription name must not be empty")
	}
	if req.GetConsumerName() == "" {
		return nil, status.Error(codes.InvalidArgument, "The consumer name must not be empty")
	}
	typ := SubscriptionType(req.GetSubscriptionType())
	if typ < Exclusive || typ > KeyShared {
		return nil, errSubscribe(name, "unknown subscription type %d", typ)
	}
	t := s.topic(name)
	if t == nil {
		return nil, errTopicNotFound(name)
	}

	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return nil, errTopicNotFound(name)
	}
	sub := t.subs[req.GetSubscription()]
	created := false
	if sub == nil {
		if max := s.opts.Policies.MaxSubscriptionsPerTopic; max > 0 && len(t.subs) >= max {
			return nil, status.Errorf(codes.PermissionDenied, "Not allowed to create the subscription for the topic: %s", name)
		}
		m := subscriptionMeta{Topic: name, Name: req.GetSubscription(), Type: typ}
		var cursor uint64
		if t.reliable {
			pol := s.opts.FailurePolicy
			m.FailurePolicy = &pol
			cursor = t.log.NextOffset() // new reliable subscriptions start at Latest
			if err := s.putCursor(name, m.Name, cursor); err != nil {
				return nil, errSubscribe(name, "%v", err)
			}
		}
		if err := s.putJSON(storeKey(keySubscriptions, name, m.Name), m); err != nil {
			return nil, errSubscribe(name, "%v", err)
		}
		sub = s.newSubscription(t, m, cursor)
		created = true
	}
	res, err := sub.addConsumer(req.GetConsumerName(), req.GetKeyFilters(), t.consumerCount())
	if err != nil {
		if created {
			s.dropNewSubscription(t, sub)
		}
		return nil, err
	}
	if created {
		t.subs[sub.name] = sub
		t.subsChanged()
		s.startDispatcher(sub)
		s.log.Info("subscription created", "topic", name, "subscription", sub.name, "type", typ.String())
	}
	c := res.c
	if !res.takeover {
		s.registerConsumer(c)
	}
	if t.reliable {
		if res.replaced != nil {
			_ = s.store.Meta().Delete(storeKey(keyConsumers, name, sub.name, res.replaced.name))
		}
		if err := s.putJSON(storeKey(keyConsumers, name, sub.name, c.name), consumerMeta{ID: c.id, Name: c.name, Filters: req.GetKeyFilters()}); err != nil {
			s.log.Error("writing a consumer", "topic", name, "subscription", sub.name, "consumer", c.name, "err", err)
		}
	}
	s.log.Info("consumer subscribed", "topic", name, "subscription", sub.name, "consumer", c.name, "id", c.id, "takeover", res.takeover)
	return &danubepb.ConsumerResponse{RequestId: req.GetRequestId(), ConsumerId: c.id, ConsumerName: c.name}, nil
}

// dropNewSubscription forgets the stored records of a subscription whose first consumer was refused.
func (s *Server) dropNewSubscription(t *topic, sub *subscription) {
	meta := s.store.Meta()
	_ = meta.Delete(storeKey(keySubscriptions, t.name, sub.name))
	_ = meta.Delete(storeKey(keyCursors, t.name, sub.name))
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
