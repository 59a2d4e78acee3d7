package broker

import (
	"context"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/danube-console/danube-console/proto/danubepb"
)

// discoveryService serves danube.Discovery.
type discoveryService struct {
	danubepb.UnimplementedDiscoveryServer
	s *Server
}

// TopicLookup answers Connect with this broker's URL for a topic it serves, and NotFound otherwise (the real
// broker never answers Failed).
func (ds discoveryService) TopicLookup(ctx context.Context, req *danubepb.TopicLookupRequest) (*danubepb.TopicLookupResponse, error) {
	name := req.GetTopic()
	if err := checkTopicName(name); err != nil {
		return nil, err
	}
	if ds.s.topic(name) == nil {
		if len(ds.s.peers) > 0 && !isPeerLookup(ctx) {
			if owner, ok := ds.s.peerOwner(ctx, name); ok {
				return &danubepb.TopicLookupResponse{
					RequestId:    req.GetRequestId(),
					ResponseType: danubepb.TopicLookupResponse_Redirect,
					BrokerUrl:    owner.GetBrokerUrl(),
					ConnectUrl:   owner.GetConnectUrl(),
					Proxy:        !sameURL(owner.GetBrokerUrl(), owner.GetConnectUrl()),
				}, nil
			}
		}
		return nil, errLookupNotFound(name)
	}
	u := ds.s.URL()
	return &danubepb.TopicLookupResponse{
		RequestId:    req.GetRequestId(),
		ResponseType: danubepb.TopicLookupResponse_Connect,
		BrokerUrl:    u,
		ConnectUrl:   u,
		Proxy:        false,
	}, nil
}

// TopicPartitions answers [topic] for an existing topic; otherwise every topic of the namespace whose name
// starts with the requested one, in lexicographic order (the partitions of a partitioned topic), possibly
// none.
func (ds discoveryService) TopicPartitions(ctx context.Context, req *danubepb.TopicLookupRequest) (*danubepb.TopicPartitionsResponse, error) {
	name := req.GetTopic()
	if err := checkTopicName(name); err != nil {
		return nil, err
	}
	resp := &danubepb.TopicPartitionsResponse{RequestId: req.GetRequestId()}
	if ds.s.topic(name) != nil {
		resp.Partitions = []string{name}
		return resp, nil
	}
	resp.Partitions = ds.s.namespaceTopics(namespaceOf(name), name)
	return resp, nil
}

// healthService serves danube.HealthCheck.
type healthService struct {
	danubepb.UnimplementedHealthCheckServer
	s *Server
}

// HealthCheck answers OK while a producer is registered on a served topic and not closed, or while a
// consumer is known and connected; CLOSE otherwise.
func (hs healthService) HealthCheck(ctx context.Context, req *danubepb.HealthCheckRequest) (*danubepb.HealthCheckResponse, error) {
	hs.s.answerPeer(ctx) // a peer asking who this broker is (peers.go)
	ok := false
	switch req.GetClient() {
	case danubepb.HealthCheckRequest_Producer:
		if p := hs.s.producerByID(req.GetId()); p != nil && !p.closed.Load() {
			p.touch(hs.s.clock.Load())
			ok = hs.s.topic(p.topic.name) == p.topic
		}
	case danubepb.HealthCheckRequest_Consumer:
		if c := hs.s.consumerByID(req.GetId()); c != nil {
			ok = c.active.Load()
		}
	default:
		return nil, status.Error(codes.InvalidArgument, "Invalid client type")
	}
	st := danubepb.HealthCheckResponse_CLOSE
	if ok {
		st = danubepb.HealthCheckResponse_OK
	}
	return &danubepb.HealthCheckResponse{Status: st}, nil
}
