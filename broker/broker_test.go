package broker_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/danube-console/danube-console/broker"
	"github.com/danube-console/danube-console/proto/danubepb"
)

const (
	exclusive = danubepb.ConsumerRequest_Exclusive
	shared    = danubepb.ConsumerRequest_Shared
	failover  = danubepb.ConsumerRequest_Failover
	keyShared = danubepb.ConsumerRequest_KeyShared
)

func TestLifecycle(t *testing.T) {
	srv, err := broker.New(broker.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if srv.Addr() != nil || srv.URL() != "" {
		t.Fatalf("New must not listen: addr %v url %q", srv.Addr(), srv.URL())
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(); !errors.Is(err, broker.ErrAlreadyStarted) {
		t.Fatalf("second Start: %v", err)
	}
	if !srv.ReadyForConnections(5 * time.Second) {
		t.Fatal("not ready")
	}
	addr := srv.Addr().(*net.TCPAddr)
	if !addr.IP.IsLoopback() || addr.Port == 0 {
		t.Fatalf("addr %v: want a random loopback port", addr)
	}
	if want := "http://" + addr.String(); srv.URL() != want {
		t.Fatalf("URL %q, want %q", srv.URL(), want)
	}
	for range 2 {
		if err := srv.Shutdown(context.Background()); err != nil {
			t.Fatalf("Shutdown: %v", err)
		}
	}
	srv.WaitForShutdown()
	if err := srv.Start(); !errors.Is(err, broker.ErrShutdown) {
		t.Fatalf("Start after Shutdown: %v", err)
	}
	var nilSrv *broker.Server
	if err := nilSrv.Shutdown(context.Background()); err != nil {
		t.Fatalf("nil Shutdown: %v", err)
	}
}

func TestBusyPort(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer lis.Close()
	srv, err := broker.New(broker.Options{Port: lis.Addr().(*net.TCPAddr).Port})
	if err != nil {
		t.Fatal(err)
	}
	err = srv.Start()
	if !errors.Is(err, broker.ErrListen) || !errors.Is(err, syscall.EADDRINUSE) {
		t.Fatalf("Start on a busy port: %v", err)
	}
	_ = srv.Shutdown(context.Background())
}

func TestInvalidOptions(t *testing.T) {
	for name, o := range map[string]broker.Options{
		"port":       {Port: 70000},
		"advertised": {AdvertisedURL: "broker:6650"},
		"noport":     {AdvertisedURL: "http://broker"},
		"window":     {MaxUnackedMessages: 20000},
		"policy":     {Policies: broker.Policies{MaxMessageSize: -1}},
		"deadletter": {FailurePolicy: broker.FailurePolicy{AckTimeout: time.Second, MaxRedeliveryDelay: time.Second, Poison: broker.PoisonDeadLetter}},
	} {
		if _, err := broker.New(o); !errors.Is(err, broker.ErrInvalidOptions) {
			t.Errorf("%s: New = %v, want ErrInvalidOptions", name, err)
		}
	}
}

func TestAdvertisedURL(t *testing.T) {
	w := newWire(t, broker.Options{AdvertisedURL: "http://broker.example:6650"})
	w.mustProducer("/default/adv", "p", false)
	resp, err := w.Discovery.TopicLookup(ctx(t), &danubepb.TopicLookupRequest{RequestId: 7, Topic: "/default/adv"})
	if err != nil {
		t.Fatal(err)
	}
	if resp.ConnectUrl != "http://broker.example:6650" || resp.BrokerUrl != resp.ConnectUrl || resp.Proxy {
		t.Fatalf("lookup %v", resp)
	}
}

func TestTopicNameValidation(t *testing.T) {
	valid := []string{"/default/orders", "/default/a_b-c", "/default/", "//", "a/b/c", "/default/zürich", "/default/订单"}
	invalid := []string{"my-topic", "/default/a.b", "/default/a:b", "/default/a b", "/default/a/b", "", "/default"}
	for _, n := range valid {
		if err := broker.ValidateTopicName(n); err != nil {
			t.Errorf("ValidateTopicName(%q) = %v, want nil", n, err)
		}
	}
	w := newWire(t, broker.Options{})
	for _, n := range invalid {
		if err := broker.ValidateTopicName(n); !errors.Is(err, broker.ErrInvalidTopicName) {
			t.Errorf("ValidateTopicName(%q) = %v, want ErrInvalidTopicName", n, err)
		}
		msg := "The topic: " + n + " has an invalid format, should be: /namespace_name/topic_name"
		_, err := w.createProducer(n, "p", false)
		wantStatus(t, err, codes.InvalidArgument, msg)
		_, err = w.subscribe(n, "s", "c", shared)
		wantStatus(t, err, codes.InvalidArgument, msg)
		_, err = w.Discovery.TopicLookup(ctx(t), &danubepb.TopicLookupRequest{Topic: n})
		wantStatus(t, err, codes.InvalidArgument, msg)
		_, err = w.Discovery.TopicPartitions(ctx(t), &danubepb.TopicLookupRequest{Topic: n})
		wantStatus(t, err, codes.InvalidArgument, msg)
	}
}

func TestLookup(t *testing.T) {
	w := newWire(t, broker.Options{})
	_, err := w.Discovery.TopicLookup(ctx(t), &danubepb.TopicLookupRequest{RequestId: 1, Topic: "/default/missing"})
	wantStatus(t, err, codes.NotFound, "Unable to find the requested topic: /default/missing")

	w.mustProducer("/default/found", "p", false)
	resp, err := w.Discovery.TopicLookup(ctx(t), &danubepb.TopicLookupRequest{RequestId: 9, Topic: "/default/found"})
	if err != nil {
		t.Fatal(err)
	}
	if resp.ResponseType != danubepb.TopicLookupResponse_Connect || resp.RequestId != 9 ||
		resp.ConnectUrl != w.srv.URL() || resp.BrokerUrl != w.srv.URL() || resp.Proxy {
		t.Fatalf("lookup response %v", resp)
	}
	// connect_url must be dialable: it has a scheme, the host and the real port.
	if !strings.HasPrefix(resp.ConnectUrl, "http://") {
		t.Fatalf("connect_url %q has no scheme", resp.ConnectUrl)
	}
	c, err := net.Dial("tcp", strings.TrimPrefix(resp.ConnectUrl, "http://"))
	if err != nil {
		t.Fatalf("connect_url not dialable: %v", err)
	}
	c.Close()
}

func TestPartitions(t *testing.T) {
	w := newWire(t, broker.Options{})
	parts := func(topic string) []string {
		t.Helper()
		resp, err := w.Discovery.TopicPartitions(ctx(t), &danubepb.TopicLookupRequest{RequestId: 3, Topic: topic})
		if err != nil {
			t.Fatalf("TopicPartitions(%s): %v", topic, err)
		}
		return resp.Partitions
	}
	if got := parts("/default/nothing"); len(got) != 0 {
		t.Fatalf("unknown topic: %v, want []", got)
	}
	w.mustProducer("/default/plain", "p", false)
	if got := parts("/default/plain"); strings.Join(got, ",") != "/default/plain" {
		t.Fatalf("plain: %v", got)
	}
	for i := range 12 {
		w.mustProducer(broker.PartitionName("/default/orders", i), "p-"+string(rune('a'+i)), false)
	}
	got := parts("/default/orders")
	if len(got) != 12 || got[0] != "/default/orders-part-0" || got[1] != "/default/orders-part-1" ||
		got[2] != "/default/orders-part-10" || got[4] != "/default/orders-part-2" {
		t.Fatalf("partitions not in lexicographic order: %v", got)
	}
	// The raw prefix scan of the real broker: an absent base matches unrelated topics with that prefix.
	w.mustProducer("/default/foobar", "p", false)
	if got := parts("/default/foo"); strings.Join(got, ",") != "/default/foobar" {
		t.Fatalf("prefix scan: %v", got)
	}
	// Other namespaces never match.
	if got := parts("/system/orders"); len(got) != 0 {
		t.Fatalf("other namespace: %v", got)
	}
}
