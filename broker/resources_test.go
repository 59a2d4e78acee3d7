package broker_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"io"
	"net"
	"net/http"
	"net/url"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/danube-console/danube-console/broker"
	"github.com/danube-console/danube-console/broker/brokertest"
	"github.com/danube-console/danube-console/proto/danubepb"
)

// What one client can make the broker hold: requests are refused before they are read when they carry no
// valid credentials or announce more than the receive limit.

// zeros reads as an endless run of zero bytes without allocating.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// rawCall sends one gRPC request to method at addr over a hand-framed HTTP/2 (h2c) stream: a SendMessage
// whose payload is size zero bytes, streamed as it is written so that the client side allocates next to
// nothing, and returns the call's grpc-status and grpc-message. token, when set, is sent as the bearer token.
func rawCall(t *testing.T, addr net.Addr, method, token string, size int) (codes.Code, string) {
	t.Helper()
	// The request message: field 3 (payload) of danube.StreamMessage, size bytes long.
	var field []byte
	field = protowire.AppendTag(field, 3, protowire.BytesType)
	field = protowire.AppendVarint(field, uint64(size))
	frame := make([]byte, 5, 5+len(field))
	binary.BigEndian.PutUint32(frame[1:], uint32(len(field)+size))
	frame = append(frame, field...)
	body := io.MultiReader(bytes.NewReader(frame), io.LimitReader(zeros{}, int64(size)))

	var mu sync.Mutex
	var conns []net.Conn
	tr := &http.Transport{
		Protocols: new(http.Protocols),
		DialContext: func(ctx context.Context, network, a string) (net.Conn, error) {
			c, err := (&net.Dialer{}).DialContext(ctx, network, a)
			if err == nil {
				mu.Lock()
				conns = append(conns, c)
				mu.Unlock()
			}
			return c, err
		},
	}
	tr.Protocols.SetUnencryptedHTTP2(true)
	defer func() {
		tr.CloseIdleConnections()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
	}()
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(c, http.MethodPost, "http://"+addr.String()+method, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/grpc")
	req.Header.Set("TE", "trailers")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		t.Fatalf("%s: %v", method, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	st, msg := resp.Trailer.Get("Grpc-Status"), resp.Trailer.Get("Grpc-Message")
	if st == "" { // a trailers-only answer
		st, msg = resp.Header.Get("Grpc-Status"), resp.Header.Get("Grpc-Message")
	}
	n, err := strconv.Atoi(st)
	if err != nil {
		t.Fatalf("%s: HTTP %d without a grpc-status (%q)", method, resp.StatusCode, st)
	}
	if m, err := url.PathUnescape(msg); err == nil {
		msg = m
	}
	return codes.Code(n), msg
}

// allocatedDuring returns how many bytes the process allocated on the heap while f ran.
func allocatedDuring(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

const (
	bigRequest    = 256 << 20 // what a hostile client sends
	allowedGrowth = 64 << 20  // what the broker may allocate meanwhile (megabytes, not the request's size)
)

// TestLimitUnauthenticatedRequestNotRead: with authentication on, a 256 MiB SendMessage without a token is
// refused with Unauthenticated before it is read; the broker does not allocate anything near its size. The
// same holds on the admin port.
func TestLimitUnauthenticatedRequestNotRead(t *testing.T) {
	srv := brokertest.Run(t, broker.Options{JWTSecret: testSecret})
	for _, c := range []struct {
		port   string
		addr   net.Addr
		method string
	}{
		{"client", srv.Addr(), danubepb.ProducerService_SendMessage_FullMethodName},
		{"admin", srv.AdminAddr(), "/danube_admin.TopicAdmin/CreateTopic"},
	} {
		for _, tok := range []string{"", "not-a-token"} {
			var code codes.Code
			var msg string
			grew := allocatedDuring(func() { code, msg = rawCall(t, c.addr, c.method, tok, bigRequest) })
			want := "Authentication credentials are missing"
			if tok != "" {
				want = "Invalid token"
			}
			if code != codes.Unauthenticated || msg != want {
				t.Errorf("%s port, token %q: %v %q, want Unauthenticated %q", c.port, tok, code, msg, want)
			}
			if grew > allowedGrowth {
				t.Errorf("%s port, token %q: the process allocated %d MiB during a refused %d MiB request",
					c.port, tok, grew>>20, bigRequest>>20)
			}
		}
	}
}

// TestLimitOversizedRequestNotRead: an authenticated request that announces more than the receive limit
// (the payload policy plus the envelope) is refused by gRPC before it is read; one within the envelope is
// read and refused by the policy with InvalidArgument naming the limit.
func TestLimitOversizedRequestNotRead(t *testing.T) {
	const policy = 1 << 20
	w := newWire(t, broker.Options{JWTSecret: testSecret, SuperAdmins: alice, Policies: broker.Policies{MaxMessageSize: policy}})
	tok := mustToken(t, testSecret, "alice", time.Hour)
	p, err := w.Producer.CreateProducer(bearer(t, tok), &danubepb.ProducerRequest{
		RequestId: 1, ProducerName: "p", TopicName: "/default/oversized",
	})
	if err != nil {
		t.Fatal(err)
	}
	var code codes.Code
	var msg string
	grew := allocatedDuring(func() {
		code, msg = rawCall(t, w.srv.Addr(), danubepb.ProducerService_SendMessage_FullMethodName, tok, bigRequest)
	})
	if code != codes.ResourceExhausted {
		t.Errorf("a %d MiB request: %v %q, want ResourceExhausted", bigRequest>>20, code, msg)
	}
	if grew > allowedGrowth {
		t.Errorf("the process allocated %d MiB during a refused %d MiB request", grew>>20, bigRequest>>20)
	}
	// Within the envelope: read, then refused by the policy, naming it.
	m := &danubepb.StreamMessage{
		MsgId:   &danubepb.MsgID{ProducerId: p.ProducerId, TopicName: "/default/oversized"},
		Payload: make([]byte, policy+3<<20),
	}
	_, err = w.Producer.SendMessage(bearer(t, tok), m)
	wantStatus(t, err, codes.InvalidArgument,
		"Message size "+strconv.Itoa(policy+3<<20)+" exceeds maximum allowed "+strconv.Itoa(policy)+" for topic /default/oversized")
}

// TestLimitHeaderSize: a call whose metadata exceeds 64 KiB is refused (gRPC's default would read 16 MiB of
// headers before the tap could refuse the call); ordinary metadata passes.
func TestLimitHeaderSize(t *testing.T) {
	w := newWire(t, broker.Options{})
	big := metadata.AppendToOutgoingContext(ctx(t), "x-big", strings.Repeat("h", 128<<10))
	_, err := w.Discovery.TopicLookup(big, &danubepb.TopicLookupRequest{Topic: "/default/t"})
	if c := statusCode(err); c == codes.OK || c == codes.NotFound {
		t.Fatalf("a call with 128 KiB of metadata: %v", err)
	}
	small := metadata.AppendToOutgoingContext(ctx(t), "x-small", strings.Repeat("h", 4<<10))
	_, err = w.Discovery.TopicLookup(small, &danubepb.TopicLookupRequest{Topic: "/default/t"})
	wantStatus(t, err, codes.NotFound, "")
}
