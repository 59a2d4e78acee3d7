package client

import (
	"context"
	"fmt"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/danube-console/danube-console/proto/danubepb"
)

// LookupType is a lookup's answer.
type LookupType int

// Lookup answers; the numbers are the wire values of danube.TopicLookupResponse.LookupType.
const (
	// LookupRedirect: another broker serves the topic.
	LookupRedirect LookupType = 0
	// LookupConnect: the asked broker serves the topic.
	LookupConnect LookupType = 1
	// LookupFailed: the broker could not answer (real brokers never send it).
	LookupFailed LookupType = 2
)

// String returns "Redirect", "Connect", "Failed" or "Unknown".
func (t LookupType) String() string {
	switch t {
	case LookupRedirect:
		return "Redirect"
	case LookupConnect:
		return "Connect"
	case LookupFailed:
		return "Failed"
	}
	return "Unknown"
}

// LookupResult is where a topic is served: BrokerURL is the broker's identity, ConnectURL what to dial
// (a proxy when Proxy is set).
type LookupResult struct {
	Type       LookupType
	BrokerURL  string
	ConnectURL string
	Proxy      bool
	// Latency is how long the lookup took (the last attempt, when it was retried).
	Latency time.Duration
}

// Lookup asks the service URL's broker where topic is served. An unknown topic is ErrTopicNotFound.
func (c *Client) Lookup(ctx context.Context, topic string) (LookupResult, error) {
	var res LookupResult
	err := c.opts.Retry.retry(ctx, func(ctx context.Context) error {
		var err error
		res, err = c.lookupAt(ctx, c.serviceURL, topic)
		return err
	}, nil)
	if err != nil {
		return res, apiError("lookup "+topic, err)
	}
	return res, nil
}

// pingTopic is the topic Ping looks up; whether it exists does not matter.
const pingTopic = "/default/danube-console-ping"

// Ping checks that the service URL's broker answers: it sends one topic lookup, not retried and not
// reported to the observer, and returns its round trip. Any answer a Danube broker gives counts (an unknown
// topic or namespace, or a refused token, included); an error means no broker answered: ctx's error,
// ErrClosed, or an error matching ErrUnavailable with the transport's (also when the server there does not
// serve Danube's lookups, e.g. an admin port).
func (c *Client) Ping(ctx context.Context) (time.Duration, error) {
	if c.isClosed() {
		return 0, ErrClosed
	}
	s, err := c.stubs(c.serviceURL)
	if err != nil {
		return 0, err
	}
	start := time.Now()
	_, err = s.discovery.TopicLookup(ctx, &danubepb.TopicLookupRequest{RequestId: nextRequestID(), Topic: pingTopic})
	rtt := time.Since(start)
	switch status.Code(err) {
	case codes.OK, codes.NotFound, codes.InvalidArgument, codes.FailedPrecondition, codes.PermissionDenied,
		codes.Unauthenticated, codes.AlreadyExists:
		return rtt, nil
	}
	if ctx.Err() != nil {
		return rtt, ctx.Err()
	}
	return rtt, fmt.Errorf("ping %s: %w: %w", c.serviceURL, ErrUnavailable, err)
}

// lookupAt sends one lookup to the broker at u and reports it to the observer.
func (c *Client) lookupAt(ctx context.Context, u, topic string) (LookupResult, error) {
	s, err := c.stubs(u)
	if err != nil {
		return LookupResult{}, err
	}
	start := time.Now()
	resp, err := s.discovery.TopicLookup(ctx, &danubepb.TopicLookupRequest{RequestId: nextRequestID(), Topic: topic})
	res := LookupResult{Latency: time.Since(start)}
	if err == nil {
		res.Type = LookupType(resp.GetResponseType())
		res.BrokerURL, res.ConnectURL, res.Proxy = resp.GetBrokerUrl(), resp.GetConnectUrl(), resp.GetProxy()
		if res.Type == LookupFailed {
			err = ErrLookupFailed
		}
	}
	if c.obs != nil {
		c.obs.OnLookup(LookupEvent{Topic: topic, Result: res, Latency: res.Latency, Err: err})
	}
	return res, err
}

// relookup asks cur's broker where topic is served, as the official clients do before each Create/Subscribe
// and after a retryable failure: a Connect or Redirect answer is adopted (one hop); any error, NotFound
// included, keeps cur, which is how a new topic gets created through the seed broker.
func (c *Client) relookup(ctx context.Context, topic string, cur route) route {
	r, _ := c.lookupRoute(ctx, topic, cur)
	return r
}

// locate is relookup with a way out of a broker that died or no longer serves the topic: when the lookup at
// cur fails, the topic is looked up again from the service URL, as a new producer or consumer would (and its
// Connect or Redirect answer is adopted; the service URL itself otherwise).
func (c *Client) locate(ctx context.Context, topic string, cur route) route {
	r, err := c.lookupRoute(ctx, topic, cur)
	if err == nil || cur.connectURL == c.serviceURL || ctx.Err() != nil {
		return r
	}
	c.log.Debug("the topic's broker could not answer a lookup; asking the service URL", "topic", topic, "broker", cur.brokerURL, "err", err)
	return c.relookup(ctx, topic, c.serviceRoute())
}

// lookupRoute asks cur's broker where topic is served and returns the route its answer gives, or cur and the
// lookup's error.
func (c *Client) lookupRoute(ctx context.Context, topic string, cur route) (route, error) {
	res, err := c.lookupAt(ctx, cur.connectURL, topic)
	if err != nil || res.ConnectURL == "" {
		return cur, err
	}
	if _, _, err := normaliseURL(res.ConnectURL); err != nil {
		c.log.Warn("a lookup answered an unusable connect URL", "topic", topic, "url", res.ConnectURL)
		return cur, nil
	}
	return route{brokerURL: res.BrokerURL, connectURL: res.ConnectURL, proxy: res.BrokerURL != res.ConnectURL && res.BrokerURL != ""}, nil
}

// Partitions returns the partitions of topic ("<topic>-part-N"), or [topic] when it is not partitioned, as the
// broker lists them; none when nothing matches.
func (c *Client) Partitions(ctx context.Context, topic string) ([]string, error) {
	parts, err := c.partitions(ctx, topic)
	if err != nil {
		return nil, apiError("partitions of "+topic, err)
	}
	return parts, nil
}

// partitions is Partitions with the error unwrapped, for callers that name the operation themselves.
func (c *Client) partitions(ctx context.Context, topic string) ([]string, error) {
	var parts []string
	err := c.opts.Retry.retry(ctx, func(ctx context.Context) error {
		s, err := c.stubs(c.serviceURL)
		if err != nil {
			return err
		}
		resp, err := s.discovery.TopicPartitions(ctx, &danubepb.TopicLookupRequest{RequestId: nextRequestID(), Topic: topic})
		parts = resp.GetPartitions()
		return err
	}, nil)
	return parts, err
}
