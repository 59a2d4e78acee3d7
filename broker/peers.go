package broker

import (
	"context"
	"crypto/tls"
	"fmt"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/danube-console/danube-console/proto/danubepb"
)

// Peers: a broker started with Options.Peers forms a small group with them, a test bed for clients and
// consoles that must work against more than one broker. It is not a replicated cluster: each topic lives on
// the broker where it was created, and nothing is copied between brokers.
//
// A topic a broker does not serve but a peer does is answered with a Redirect to that peer in lookups, and
// CreateProducer or Subscribe for it answer Unavailable "served by another broker", exactly as brokers of a
// real Danube cluster do, so that clients follow redirects.
//
// Each broker learns who its peers are by asking them over the client port: a HealthCheck carrying
// peerLookupHeader is answered with header metadata naming the answering broker's id, client and admin
// URLs, metrics address, state and topic count (peerIdentity). The admin answers of the group (ListBrokers,
// GetLeaderBroker, ClusterStatus, GetClusterBalance) are built from those answers, and rpcs about a peer's id
// (ListBrokerTopics, UnloadBroker, ActivateBroker) are forwarded to that peer's admin port, as are the new
// topics of a broker that is not active (grpc_cluster.go).
//
// Brokers call each other as themselves (peerDialOptions): with a broker_internal token minted from the JWT
// secret the group shares, over TLS when they serve it.

// peerLookupHeader marks a call one broker makes to another: a lookup answered only for the asked broker's own
// topics, so that lookups never bounce between peers, or a HealthCheck answered with the broker's identity.
const peerLookupHeader = "x-danube-console-peer-lookup"

// peerTimeout bounds one lookup at a peer.
const peerTimeout = time.Second

// Header metadata a broker answers a peer's HealthCheck with.
const (
	hdrPeerID      = "x-danube-console-broker-id"
	hdrPeerURL     = "x-danube-console-broker-url"
	hdrPeerAdmin   = "x-danube-console-admin-url"
	hdrPeerMetrics = "x-danube-console-metrics-addr"
	hdrPeerStatus  = "x-danube-console-broker-status"
	hdrPeerTopics  = "x-danube-console-topic-count"
)

type peer struct {
	url    string
	dial   []grpc.DialOption // how this broker dials its peers (peerDialOptions)
	conn   *grpc.ClientConn
	disc   danubepb.DiscoveryClient
	health danubepb.HealthCheckClient

	mu       sync.Mutex
	id       uint64           // learned from the peer's last answer; 0 until it has answered once
	admin    *grpc.ClientConn // to adminURL, dialled when an rpc is first forwarded
	adminURL string
}

// peerIdentity is what a broker of the group says about itself.
type peerIdentity struct {
	id       uint64
	url      string // client URL, as the broker advertises it
	adminURL string // "" when its admin port is disabled
	metrics  string // "" without a metrics address
	status   string // "active", "draining" or "drained"
	topics   int    // topics it serves
	peer     *peer  // nil for the broker itself
}

// dialPeers prepares a client of each peer (connections are made lazily), dialled with opts.
func dialPeers(urls []string, opts []grpc.DialOption) ([]*peer, error) {
	var out []*peer
	for _, u := range urls {
		pu, err := url.Parse(u)
		if err != nil || pu.Host == "" || (pu.Scheme != "http" && pu.Scheme != "https") {
			return nil, fmt.Errorf("%w: peer %q must look like http://host:port", ErrInvalidOptions, u)
		}
		conn, err := grpc.NewClient(pu.Host, opts...)
		if err != nil {
			closePeers(out)
			return nil, fmt.Errorf("%w: peer %q: %w", ErrInvalidOptions, u, err)
		}
		out = append(out, &peer{url: u, dial: opts, conn: conn, disc: danubepb.NewDiscoveryClient(conn), health: danubepb.NewHealthCheckClient(conn)})
	}
	return out, nil
}

// peerDialOptions are how this broker calls its peers, on both their ports, as the brokers of a real cluster
// call each other: with the broker's own identity, never a caller's.
//
//   - Transport: plain text, or TLS when the broker serves TLS (its peers then do too), configured by
//     Options.PeerTLS: its RootCAs verify the peers, its Certificates are presented to peers that require
//     client certificates.
//   - Credentials: with a JWT secret, a broker_internal token for "broker/{id}" minted from that secret
//     (peerCredentials), which every broker of a group sharing the secret accepts and allows everything. With
//     mutual TLS alone, the peer knows this broker as the user its client certificate names.
func (s *Server) peerDialOptions() []grpc.DialOption {
	var opts []grpc.DialOption
	if s.opts.TLS != nil {
		cfg := s.opts.PeerTLS
		if cfg == nil {
			cfg = &tls.Config{MinVersion: tls.VersionTLS12}
		}
		opts = append(opts, grpc.WithTransportCredentials(credentials.NewTLS(cfg)))
	} else {
		opts = append(opts, grpc.WithTransportCredentials(insecure.NewCredentials()))
	}
	if len(s.opts.JWTSecret) > 0 {
		opts = append(opts, grpc.WithPerRPCCredentials(&peerCredentials{secret: s.opts.JWTSecret, id: s.BrokerID}))
	}
	return opts
}

// peerScheme is the scheme of the peers' URLs: https when the broker serves TLS, as its peers then do.
func peerScheme(tls bool) string {
	if tls {
		return "https"
	}
	return "http"
}

// peerTokenTTL is the lifetime of the token a broker presents to its peers; a new one is minted when half of
// it has passed, so that a token in use never expires.
const peerTokenTTL = 10 * time.Minute

// internalBrokerName is the principal name a broker calls its peers as: the name the real brokers send in
// their x-danube-internal-broker header.
func internalBrokerName(id uint64) string { return "broker/" + strconv.FormatUint(id, 10) }

// peerCredentials put a broker_internal token on every call to a peer (credentials.PerRPCCredentials). The
// token is signed with the group's shared JWT secret, so the peer verifies it as any token: unlike the real
// brokers' x-danube-internal-broker header, it cannot be forged by a client.
type peerCredentials struct {
	secret []byte
	id     func() uint64 // the broker's id, known once it has started

	mu    sync.Mutex
	token string
	renew time.Time // when to mint the next token
}

// GetRequestMetadata returns the authorization header of a call to a peer.
func (c *peerCredentials) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if now := time.Now(); c.token == "" || !now.Before(c.renew) {
		tok, err := NewPrincipalToken(c.secret, PrincipalBrokerInternal, internalBrokerName(c.id()), peerTokenTTL)
		if err != nil {
			return nil, fmt.Errorf("minting the token this broker presents to its peers: %w", err)
		}
		c.token, c.renew = tok, now.Add(peerTokenTTL/2)
	}
	return map[string]string{"authorization": "Bearer " + c.token}, nil
}

// RequireTransportSecurity is false: a group without TLS sends its tokens in plain text, as its clients do.
func (c *peerCredentials) RequireTransportSecurity() bool { return false }

func closePeers(ps []*peer) {
	for _, p := range ps {
		p.conn.Close()
		p.mu.Lock()
		if p.admin != nil {
			p.admin.Close()
			p.admin = nil
		}
		p.mu.Unlock()
	}
}

// knownID returns the id the peer last gave, or 0.
func (p *peer) knownID() uint64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.id
}

// adminConn returns a connection to the peer's admin port at adminURL, dialled on first use (as every call
// between peers, see peerDialOptions) and dialled again if the peer moved its admin port.
func (p *peer) adminConn(adminURL string) (*grpc.ClientConn, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.admin != nil && p.adminURL == adminURL {
		return p.admin, nil
	}
	u, err := url.Parse(adminURL)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("peer %s has no usable admin URL %q", p.url, adminURL)
	}
	conn, err := grpc.NewClient(u.Host, p.dial...)
	if err != nil {
		return nil, fmt.Errorf("peer %s admin port: %w", p.url, err)
	}
	if p.admin != nil {
		p.admin.Close()
	}
	p.admin, p.adminURL = conn, adminURL
	return conn, nil
}

// answerPeer adds this broker's identity to the headers of a HealthCheck a peer asked; other callers get
// nothing extra.
func (s *Server) answerPeer(ctx context.Context) {
	if !isPeerLookup(ctx) {
		return
	}
	me := s.selfIdentity()
	md := metadata.Pairs(
		hdrPeerID, strconv.FormatUint(me.id, 10),
		hdrPeerURL, me.url,
		hdrPeerAdmin, me.adminURL,
		hdrPeerMetrics, me.metrics,
		hdrPeerStatus, me.status,
		hdrPeerTopics, strconv.Itoa(me.topics),
	)
	if err := grpc.SetHeader(ctx, md); err != nil {
		s.log.Warn("answering a peer", "err", err)
	}
}

// selfIdentity describes this broker as its peers see it.
func (s *Server) selfIdentity() peerIdentity {
	return peerIdentity{
		id:       s.BrokerID(),
		url:      s.URL(),
		adminURL: s.AdminURL(),
		metrics:  s.MetricsAddr(),
		status:   s.brokerStatus(s.BrokerID()),
		topics:   len(s.TopicNames()),
	}
}

// askPeer asks a peer who it is; an error means the peer is not reachable (or is not a danube-console broker).
func (s *Server) askPeer(ctx context.Context, p *peer) (peerIdentity, error) {
	c, cancel := context.WithTimeout(metadata.AppendToOutgoingContext(ctx, peerLookupHeader, "1"), peerTimeout)
	defer cancel()
	var md metadata.MD
	_, err := p.health.HealthCheck(c, &danubepb.HealthCheckRequest{Client: danubepb.HealthCheckRequest_Producer}, grpc.Header(&md))
	if err != nil {
		return peerIdentity{}, fmt.Errorf("peer %s: %w", p.url, err)
	}
	first := func(k string) string {
		if v := md.Get(k); len(v) > 0 {
			return v[0]
		}
		return ""
	}
	id, err := strconv.ParseUint(first(hdrPeerID), 10, 64)
	if err != nil || id == 0 {
		return peerIdentity{}, fmt.Errorf("peer %s did not say who it is", p.url)
	}
	topics, _ := strconv.Atoi(first(hdrPeerTopics))
	st := first(hdrPeerStatus)
	if st == "" {
		st = stateActive
	}
	u := first(hdrPeerURL)
	if u == "" {
		u = p.url
	}
	p.mu.Lock()
	p.id = id
	p.mu.Unlock()
	return peerIdentity{id: id, url: u, adminURL: first(hdrPeerAdmin), metrics: first(hdrPeerMetrics),
		status: st, topics: topics, peer: p}, nil
}

// group returns this broker and every peer that answers now, in the order a real cluster lists its brokers:
// by id as a decimal string. A peer giving this broker's own id (a peer URL naming this broker) is left out.
func (s *Server) group(ctx context.Context) []peerIdentity {
	me := s.selfIdentity()
	answers := make([]peerIdentity, len(s.peers))
	var wg sync.WaitGroup
	for i, p := range s.peers {
		wg.Go(func() {
			id, err := s.askPeer(ctx, p)
			if err != nil {
				s.log.Debug("a peer did not answer", "peer", p.url, "err", err)
				return
			}
			answers[i] = id
		})
	}
	wg.Wait()
	out := []peerIdentity{me}
	seen := map[uint64]bool{me.id: true}
	for _, a := range answers {
		if a.id != 0 && !seen[a.id] {
			seen[a.id] = true
			out = append(out, a)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		return strconv.FormatUint(out[i].id, 10) < strconv.FormatUint(out[j].id, 10)
	})
	return out
}

// groupLeader is the leader of a group: the member with the lowest id. Every broker of a group whose members
// name each other as peers sees the same members, so every broker names the same leader.
func groupLeader(g []peerIdentity) uint64 {
	var leader uint64
	for _, m := range g {
		if leader == 0 || m.id < leader {
			leader = m.id
		}
	}
	return leader
}

// membership returns the group that answers now and the voters of the group as a real cluster's membership
// lists them: this broker and every peer that has ever answered (a peer that stopped answering is still a
// member, as a stopped voter is), ascending.
func (s *Server) membership(ctx context.Context) (group []peerIdentity, voters []uint64) {
	group = s.group(ctx)
	voters = []uint64{s.BrokerID()}
	for _, p := range s.peers {
		if id := p.knownID(); id != 0 && !slices.Contains(voters, id) {
			voters = append(voters, id)
		}
	}
	slices.Sort(voters)
	return group, voters
}

// peerByID returns the member of g with id, if it is a peer.
func peerByID(g []peerIdentity, id uint64) (peerIdentity, bool) {
	for _, m := range g {
		if m.id == id && m.peer != nil {
			return m, true
		}
	}
	return peerIdentity{}, false
}

// forwardCtx is the context of an rpc forwarded to a peer: the caller's deadline and cancellation, none of its
// metadata. The caller was authorized here, for the same permission on the same resource the peer would check;
// the peer answers this broker, which calls it as itself (peerDialOptions), as the brokers of a real cluster
// act on each other's behalf.
func forwardCtx(ctx context.Context) context.Context {
	return metadata.NewOutgoingContext(ctx, metadata.MD{})
}

// peerAdmin returns a connection to a peer's admin port, or an Unavailable status naming why there is none.
func peerAdmin(m peerIdentity) (*grpc.ClientConn, error) {
	if m.adminURL == "" {
		return nil, status.Errorf(codes.Unavailable, "broker %d has no admin port", m.id)
	}
	conn, err := m.peer.adminConn(m.adminURL)
	if err != nil {
		return nil, status.Errorf(codes.Unavailable, "broker %d: %v", m.id, err)
	}
	return conn, nil
}

// isPeerLookup reports whether a call is a lookup asked by another broker.
func isPeerLookup(ctx context.Context) bool {
	return len(metadata.ValueFromIncomingContext(ctx, peerLookupHeader)) > 0
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
