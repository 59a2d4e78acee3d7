package broker

import (
	"context"
	"errors"
	"fmt"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/danube-console/danube-console/broker/schema"
	"github.com/danube-console/danube-console/proto/danubepb"
)

// producerService serves danube.ProducerService.
type producerService struct {
	danubepb.UnimplementedProducerServiceServer
	s *Server
}

// CreateProducer attaches a producer to a topic, creating the topic in an existing namespace when needed. A
// producer name that already exists on the topic gets its existing id back.
func (ps producerService) CreateProducer(ctx context.Context, req *danubepb.ProducerRequest) (*danubepb.ProducerResponse, error) {
	s := ps.s
	name := req.GetTopicName()
	if err := checkTopicName(name); err != nil {
		return nil, err
	}
	if req.GetProducerName() == "" {
		return nil, status.Error(codes.InvalidArgument, "The producer name must not be empty")
	}
	if err := checkName("producer name", req.GetProducerName()); err != nil {
		return nil, err
	}
	var reliable bool
	switch req.GetDispatchStrategy() {
	case danubepb.DispatchStrategy_NonReliable:
	case danubepb.DispatchStrategy_Reliable:
		reliable = true
	default:
		return nil, status.Errorf(codes.InvalidArgument, "Unknown dispatch strategy %d", req.GetDispatchStrategy())
	}

	t := s.topic(name)
	if t == nil && s.servedByPeer(ctx, name) {
		s.metrics.redirect(name)
		return nil, errServedElsewhere()
	}
	if t == nil {
		if s.opts.DisableAutoCreate {
			return nil, errTopicNotFound(name)
		}
		if ok, err := s.autoCreateElsewhere(ctx, name, req.GetDispatchStrategy()); ok { // not active (grpc_cluster.go)
			return nil, err
		}
		var err error
		if t, _, err = s.createTopic(name, reliable); err != nil {
			return nil, err
		}
	}
	if t.reliable != reliable {
		return nil, status.Error(codes.FailedPrecondition, "Producer requested dispatch strategy does not match topic strategy")
	}
	if err := s.bindProducerSchema(t, req.GetSchemaRef()); err != nil {
		return nil, err
	}

	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed.Load() {
		return nil, status.Errorf(codes.Unavailable, "The topic %s is being deleted, redo the Lookup request", name)
	}
	if p := t.producers[req.GetProducerName()]; p != nil {
		dontCount(ctx)
		p.touch(s.clock.Load())
		return &danubepb.ProducerResponse{RequestId: req.GetRequestId(), ProducerId: p.id, ProducerName: p.name}, nil
	}
	if max := s.opts.Policies.MaxProducersPerTopic; max > 0 && len(t.producers) >= max {
		return nil, status.Errorf(codes.ResourceExhausted, "Producer limit reached for topic %s", name)
	}
	p := &producer{name: req.GetProducerName(), topic: t, accessMode: int32(req.GetProducerAccessMode())}
	p.touch(s.clock.Load())
	id := s.newProducerID(p)
	if err := s.putJSON(storeKey(keyProducers, name, p.name), producerMeta{Topic: name, Name: p.name, ID: id, AccessMode: p.accessMode}); err != nil {
		s.idsMu.Lock()
		delete(s.producers, id)
		s.idsMu.Unlock()
		return nil, status.Errorf(codes.PermissionDenied, "Not able to create the Producer: %v", err)
	}
	t.producers[p.name] = p
	s.log.Info("producer created", "topic", name, "producer", p.name, "id", id)
	return &danubepb.ProducerResponse{RequestId: req.GetRequestId(), ProducerId: id, ProducerName: p.name}, nil
}

// bindProducerSchema applies a producer's schema reference to the topic: the first producer with a subject
// binds it; a different subject is refused.
func (s *Server) bindProducerSchema(t *topic, ref *danubepb.SchemaReference) error {
	subject := ref.GetSubject()
	if subject == "" {
		return nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if cur := t.meta.SchemaSubject; cur != "" {
		if cur != subject {
			return status.Errorf(codes.FailedPrecondition,
				"Topic '%s' uses schema subject '%s', cannot use '%s'. Only admin can change topic schema.", t.name, cur, subject)
		}
	} else {
		if _, ok := s.schemas.SubjectID(subject); !ok {
			return status.Errorf(codes.FailedPrecondition,
				"Failed to assign schema '%s' to topic '%s': subject not found. Ensure schema is registered first.", subject, t.name)
		}
	}
	var want uint32
	switch v := ref.GetVersionRef().(type) {
	case *danubepb.SchemaReference_PinnedVersion:
		want = v.PinnedVersion
	case *danubepb.SchemaReference_MinVersion:
		latest, _, err := s.schemas.Latest(subject)
		if err != nil || latest.Version < v.MinVersion {
			return status.Errorf(codes.FailedPrecondition,
				"Schema subject '%s' has no version at or above %d", subject, v.MinVersion)
		}
	}
	if want != 0 {
		if _, ok := s.schemas.Version(subject, want); !ok {
			return status.Errorf(codes.FailedPrecondition, "Schema subject '%s' has no version %d", subject, want)
		}
	}
	if t.meta.SchemaSubject == "" {
		m := t.meta
		m.SchemaSubject = subject
		if err := s.putJSON(storeKey(keyTopics, t.name), m); err != nil {
			return status.Errorf(codes.FailedPrecondition, "Failed to assign schema '%s' to topic '%s': %v", subject, t.name, err)
		}
		t.meta = m
	}
	return nil
}

// SendMessage publishes one message. On reliable topics the answer comes after the message is stored.
func (ps producerService) SendMessage(ctx context.Context, m *danubepb.StreamMessage) (*danubepb.MessageResponse, error) {
	s := ps.s
	start := time.Now()
	id := m.GetMsgId()
	if id == nil {
		return nil, status.Error(codes.InvalidArgument, "The message has no msg_id")
	}
	p := s.producerByID(id.ProducerId)
	if p == nil {
		return nil, errProducerNotFound(id.ProducerId)
	}
	p.touch(s.clock.Load())
	t := p.topic
	resp, err := ps.send(t, p, m)
	t.counters.send(status.Code(err))
	if err == nil {
		t.counters.latency.observe(float64(time.Since(start))/float64(time.Millisecond), s.clock.Load())
	}
	return resp, err
}

// send checks and publishes a message of producer p on topic t.
func (ps producerService) send(t *topic, p *producer, m *danubepb.StreamMessage) (*danubepb.MessageResponse, error) {
	s, id := ps.s, m.MsgId
	if p.closed.Load() {
		return nil, errPublish("Topic %s is draining or closed; retry lookup/moved", t.name)
	}
	if limit := s.opts.Policies.MaxMessageSize; len(m.Payload) > limit {
		return nil, status.Errorf(codes.InvalidArgument, "Message size %d exceeds maximum allowed %d for topic %s",
			len(m.Payload), limit, t.name)
	}
	if size := proto.Size(m); size > s.envelopeLimit {
		return nil, status.Errorf(codes.InvalidArgument,
			"Message size %d (payload, attributes and key) exceeds maximum allowed %d for topic %s", size, s.envelopeLimit, t.name)
	}
	if err := checkMessageLimits(m); err != nil {
		return nil, err
	}
	if id.TopicName != t.name {
		return nil, errPublish("the producer with id %d is not attached to topic name: %s", id.ProducerId, id.TopicName)
	}
	t.counters.size.observe(float64(len(m.Payload)), s.clock.Load())
	if err := s.checkSchema(t, m); err != nil {
		return nil, err
	}
	if err := t.publish(m); err != nil {
		return nil, errPublish("%v", err)
	}
	return &danubepb.MessageResponse{RequestId: m.RequestId}, nil
}

// checkSchema applies the topic's validation policy to a message.
func (s *Server) checkSchema(t *topic, m *danubepb.StreamMessage) error {
	cfg := t.schemaConfig()
	if cfg.SchemaSubject == "" || cfg.ValidationPolicy == ValidationNone {
		return nil
	}
	policy := 0
	if cfg.ValidationPolicy == ValidationEnforce {
		policy = 1
	}
	t.counters.validations[policy].Add(1)
	err := s.validateMessage(cfg, m)
	if err == nil {
		return nil
	}
	t.counters.invalid[validationReason(err)].Add(1)
	if cfg.ValidationPolicy == ValidationEnforce {
		return errPublish("%v", err)
	}
	s.log.Warn("message does not match the topic schema", "topic", t.name, "subject", cfg.SchemaSubject, "err", err)
	return nil
}

func (s *Server) validateMessage(cfg topicMeta, m *danubepb.StreamMessage) error {
	if m.SchemaId == nil {
		return validationError{reasonMissingSchemaID, errors.New("the message carries no schema id")}
	}
	id, ok := s.schemas.SubjectID(cfg.SchemaSubject)
	if !ok {
		return validationError{reasonSubjectMismatch, schema.ErrSubjectNotFound}
	}
	if *m.SchemaId != id {
		return validationError{reasonSubjectMismatch,
			fmt.Errorf("schema id %d is not the id %d of subject %s", *m.SchemaId, id, cfg.SchemaSubject)}
	}
	if !cfg.PayloadValidation {
		if m.SchemaVersion != nil {
			if _, ok := s.schemas.Version(cfg.SchemaSubject, *m.SchemaVersion); !ok {
				return schema.ErrVersionNotFound
			}
		}
		return nil
	}
	var version uint32
	if m.SchemaVersion != nil {
		version = *m.SchemaVersion
	} else {
		latest, _, err := s.schemas.Latest(cfg.SchemaSubject)
		if err != nil {
			return err
		}
		version = latest.Version
	}
	return s.schemas.Validate(cfg.SchemaSubject, *m.SchemaId, version, m.Payload)
}
