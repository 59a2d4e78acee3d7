package broker

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/danube-console/danube-console/proto/danubepb"
)

// Peers: a broker started with Options.Peers forms a small cluster with them. A topic it does not serve but a
// peer does is answered with a Redirect to that peer in lookups, and CreateProducer or Subscribe for it answer
// Unavailable "served by another broker", exactly as brokers of a real Danube cluster do, so that clients
// follow redirects. Each topic lives on the broker where it was created.

// peerLookupHeader marks a lookup one broker asks another: the answer covers only the asked broker's own
// topics, so that lookups never bounce between peers.
const peerLookupHeader = "x-danube-console-peer-lookup"

// peerTimeout bounds one lookup at a peer.
const peerTimeout = time.Second

type peer struct {
	url  string
	conn *grpc.ClientConn
	disc danubepb.DiscoveryClient
}

// dialPeers prepares a client of each peer (connections are made lazily). Peers speak plain text.
func dialPeers(urls []string) ([]*peer, error) {
	var out []*peer
	for _, u := range urls {
		pu, err := url.Parse(u)
		if err != nil || pu.Host == "" || (pu.Scheme != "http" && pu.Scheme != "https") {
			return nil, fmt.Errorf("%w: peer %q must look like http://host:port", ErrInvalidOptions, u)
		}
		conn, err := grpc.NewClient(pu.Host, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			return nil, fmt.Errorf("%w: peer %q: %w", ErrInvalidOptions, u, err)
		}
		out = append(out, &peer{url: u, conn: conn, disc: danubepb.NewDiscoveryClient(conn)})
	}
	return out, nil
}

func closePeers(ps []*peer) {
	for _, p := range ps {
		p.conn.Close()
	}
}

// isPeerLookup reports whether a call is a lookup asked by another broker.
func isPeerLookup(ctx context.Context) bool {
	md, _ := metadata.FromIncomingContext(ctx)
	return len(md.Get(peerLookupHeader)) > 0
}

// peerOwner asks the peers whether one of them serves topic, and returns its lookup answer.
func (s *Server) peerOwner(ctx context.Context, topic string) (*danubepb.TopicLookupResponse, bool) {
	for _, p := range s.peers {
		c, cancel := context.WithTimeout(metadata.AppendToOutgoingContext(ctx, peerLookupHeader, "1"), peerTimeout)
		resp, err := p.disc.TopicLookup(c, &danubepb.TopicLookupRequest{Topic: topic})
		cancel()
		if err == nil && resp.GetResponseType() == danubepb.TopicLookupResponse_Connect {
			return resp, true
		}
		if err != nil && status.Code(err) != codes.NotFound {
			s.log.Warn("a peer did not answer a lookup", "peer", p.url, "topic", topic, "err", err)
		}
	}
	return nil, false
}

// errServedElsewhere is the real broker's answer to CreateProducer or Subscribe for a topic another broker
// serves; clients look the topic up again and follow the redirect.
func errServedElsewhere() error {
	return status.Error(codes.Unavailable, "The topic exists but is served by another broker, redo the Lookup request")
}

// servedByPeer reports whether a peer serves a topic this broker does not know.
func (s *Server) servedByPeer(ctx context.Context, topic string) bool {
	if len(s.peers) == 0 || isPeerLookup(ctx) {
		return false
	}
	_, ok := s.peerOwner(ctx, topic)
	return ok
}

// sameURL compares broker URLs ignoring a trailing slash.
func sameURL(a, b string) bool { return strings.TrimSuffix(a, "/") == strings.TrimSuffix(b, "/") }
