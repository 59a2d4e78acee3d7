package broker_test

import (
	"errors"
	"testing"

	"google.golang.org/grpc/codes"

	"github.com/danube-console/danube-console/broker"
	"github.com/danube-console/danube-console/proto/danubepb"
)

func TestPeersRedirect(t *testing.T) {
	b := newWire(t, broker.Options{})
	a := newWire(t, broker.Options{Peers: []string{b.srv.URL()}})
	b.mustProducer("/default/on-b", "p", false)

	resp, err := a.Discovery.TopicLookup(ctx(t), &danubepb.TopicLookupRequest{RequestId: 4, Topic: "/default/on-b"})
	if err != nil {
		t.Fatal(err)
	}
	if resp.ResponseType != danubepb.TopicLookupResponse_Redirect || resp.BrokerUrl != b.srv.URL() ||
		resp.ConnectUrl != b.srv.URL() || resp.Proxy || resp.RequestId != 4 {
		t.Fatalf("lookup at the other broker: %v", resp)
	}
	_, err = a.createProducer("/default/on-b", "q", false)
	wantStatus(t, err, codes.Unavailable, "The topic exists but is served by another broker, redo the Lookup request")
	_, err = a.subscribe("/default/on-b", "s", "c", shared)
	wantStatus(t, err, codes.Unavailable, "The topic exists but is served by another broker, redo the Lookup request")

	// Topics nobody serves are still NotFound, and a's own topics are Connect to a.
	_, err = a.Discovery.TopicLookup(ctx(t), &danubepb.TopicLookupRequest{Topic: "/default/nowhere"})
	wantStatus(t, err, codes.NotFound, "Unable to find the requested topic: /default/nowhere")
	a.mustProducer("/default/on-a", "p", false)
	resp, err = a.Discovery.TopicLookup(ctx(t), &danubepb.TopicLookupRequest{Topic: "/default/on-a"})
	if err != nil || resp.ResponseType != danubepb.TopicLookupResponse_Connect || resp.ConnectUrl != a.srv.URL() {
		t.Fatalf("own topic: %v %v", resp, err)
	}
	// b does not know a, so it never redirects there.
	_, err = b.Discovery.TopicLookup(ctx(t), &danubepb.TopicLookupRequest{Topic: "/default/on-a"})
	wantStatus(t, err, codes.NotFound, "")
}

func TestPeersMustBeURLs(t *testing.T) {
	if _, err := broker.New(broker.Options{Peers: []string{"not a url"}}); !errors.Is(err, broker.ErrInvalidOptions) {
		t.Fatalf("New with a bad peer URL: %v", err)
	}
}
