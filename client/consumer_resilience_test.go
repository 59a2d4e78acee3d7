package client

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"

	"github.com/danube-console/danube-console/broker"
	"github.com/danube-console/danube-console/broker/brokertest"
	"github.com/danube-console/danube-console/broker/store"
	"github.com/danube-console/danube-console/internal/testenv"
	"github.com/danube-console/danube-console/proto/danubepb"
)

// ctCollect receives until every payload in want has been seen at least once (duplicates are allowed:
// delivery is at-least-once), acknowledging each message.
func ctCollect(t *testing.T, cons *Consumer, want map[string]bool, timeout time.Duration) {
	t.Helper()
	deadline := time.After(timeout)
	missing := len(want)
	seen := map[string]bool{}
	for missing > 0 {
		select {
		case m, ok := <-cons.Messages():
			if !ok {
				t.Fatalf("Messages() closed: %v", cons.Err())
			}
			p := string(m.Payload)
			if !want[p] {
				t.Fatalf("unexpected message %q", p)
			}
			if !seen[p] {
				seen[p] = true
				missing--
			}
			ctAck(t, m)
		case <-deadline:
			var left []string
			for p := range want {
				if !seen[p] {
					left = append(left, p)
				}
			}
			t.Fatalf("timed out; never received %v", left)
		}
	}
}

func TestConsumerSurvivesBrokerRestart(t *testing.T) {
	st := store.NewMemory()
	t.Cleanup(func() { st.Close() })
	port := testenv.FreePort(t)
	const topic = "/default/restart"
	b1 := brokertest.Run(t, broker.Options{Port: port, Store: st})
	p := ctNewProducer(t, b1, topic, "p", true)
	obs := &ctObserver{}
	c := ctClient(t, b1.URL(), WithObserver(obs))
	cons := ctSubscribe(t, c, ConsumerConfig{Topic: topic, Subscription: "s", Name: "durable"})
	id := cons.parts[0].consumerID()

	want := map[string]bool{}
	for i := range 10 {
		p.send(fmt.Sprint("before-", i))
		want[fmt.Sprint("before-", i)] = true
	}
	// Take and ack some; the rest are in flight or still stored when the broker stops.
	for range 4 {
		ctAck(t, ctNext(t, cons))
	}

	ctShutdown(t, b1)
	testenv.Eventually(t, 5*time.Second, func() bool { return obs.countConsumer(ConsumerStreamEnded) > 0 },
		"the consumer never saw its stream end")
	b2 := brokertest.Run(t, broker.Options{Port: port, Store: st})
	p2 := ctNewProducer(t, b2, topic, "p", true)
	for i := range 10 {
		p2.send(fmt.Sprint("after-", i))
		want[fmt.Sprint("after-", i)] = true
	}
	// Messages already taken before the restart are not asked for again.
	for i := range 4 {
		delete(want, fmt.Sprint("before-", i))
	}
	ctCollect(t, cons, want, 15*time.Second)

	if n := obs.countConsumer(ConsumerFailed); n != 0 {
		t.Fatalf("consumer failed: %+v", obs.consumerEvents(ConsumerFailed))
	}
	if got := cons.parts[0].consumerID(); got != id {
		t.Fatalf("consumer id changed from %d to %d although the broker kept it", id, got)
	}
}

func TestConsumerResubscribesAfterStatelessRestart(t *testing.T) {
	port := testenv.FreePort(t)
	const topic = "/default/stateless"
	b1 := brokertest.Run(t, broker.Options{Port: port})
	p := ctNewProducer(t, b1, topic, "p", true)
	obs := &ctObserver{}
	c := ctClient(t, b1.URL(), WithObserver(obs))
	cons := ctSubscribe(t, c, ConsumerConfig{Topic: topic, Subscription: "s", Name: "amnesia"})
	p.send("before")
	ctAck(t, ctNext(t, cons))

	// The next broker has a fresh store that knows the topic (as if its producer had recreated it) but no
	// subscription or consumer: the old consumer id answers NotFound.
	fresh := store.NewMemory()
	t.Cleanup(func() { fresh.Close() })
	tmp := brokertest.Run(t, broker.Options{Store: fresh})
	ctNewProducer(t, tmp, topic, "p", true)
	ctShutdown(t, tmp)

	ctShutdown(t, b1)
	b2 := brokertest.Run(t, broker.Options{Port: port, Store: fresh})
	testenv.Eventually(t, 10*time.Second, func() bool { return obs.countConsumer(ConsumerResubscribed) > 0 },
		"the consumer never subscribed again")
	ev := obs.consumerEvents(ConsumerResubscribed)[0]
	if ev.ID == 0 || ev.ID != cons.parts[0].consumerID() || ev.Topic != topic || ev.Name != "amnesia" {
		t.Fatalf("resubscribed event %+v (id now %d)", ev, cons.parts[0].consumerID())
	}

	p2 := ctNewProducer(t, b2, topic, "p", true)
	want := map[string]bool{}
	for i := range 5 {
		p2.send(fmt.Sprint("after-", i))
		want[fmt.Sprint("after-", i)] = true
	}
	ctCollect(t, cons, want, 10*time.Second)
	if n := obs.countConsumer(ConsumerFailed); n != 0 {
		t.Fatalf("consumer failed: %+v", obs.consumerEvents(ConsumerFailed))
	}
}

func TestConsumerHealthCloseResubscribes(t *testing.T) {
	srv := brokertest.Run(t, broker.Options{})
	const topic = "/default/health-close"
	p := ctNewProducer(t, srv, topic, "p", true)

	// The broker answers CLOSE while forceClose is set (as it does for a consumer it has forgotten).
	var forceClose atomic.Bool
	intercept := func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		err := invoker(ctx, method, req, reply, cc, opts...)
		if err == nil && method == "/danube.HealthCheck/HealthCheck" && forceClose.Load() {
			reply.(*danubepb.HealthCheckResponse).Status = danubepb.HealthCheckResponse_CLOSE
		}
		return err
	}
	obs := &ctObserver{}
	c := ctClient(t, srv.URL(), WithObserver(obs), WithHealthInterval(20*time.Millisecond),
		WithDialOptions(grpc.WithChainUnaryInterceptor(intercept)))
	cons := ctSubscribe(t, c, ConsumerConfig{Topic: topic, Subscription: "s", Name: "checked"})
	p.send("one")
	ctAck(t, ctNext(t, cons))

	forceClose.Store(true)
	testenv.Eventually(t, 10*time.Second, func() bool { return obs.countConsumer(ConsumerResubscribed) >= 3 },
		"CLOSE did not make the consumer subscribe again")
	forceClose.Store(false)
	if len(obs.healthEvents(HealthClose)) == 0 {
		t.Fatal("no CLOSE health event")
	}
	// Re-subscribing starts no goroutine: still one receive loop and one health loop.
	if n := cons.running.Load(); n != 2 {
		t.Fatalf("%d goroutines running, want 2", n)
	}
	p.send("two")
	if m := ctNext(t, cons); string(m.Payload) != "two" {
		t.Fatalf("after CLOSE got %q", m.Payload)
	}
	if err := cons.Close(ctCtx(t)); err != nil {
		t.Fatal(err)
	}
	if n := cons.running.Load(); n != 0 {
		t.Fatalf("%d goroutines still running after Close", n)
	}
}

func TestConsumerTakeoverReconnects(t *testing.T) {
	// A stream the broker ends (here: another Subscribe with the same name takes the consumer over) is
	// reopened by the consumer, which takes it back.
	srv := brokertest.Run(t, broker.Options{})
	const topic = "/default/takeover"
	p := ctNewProducer(t, srv, topic, "p", true)
	obs := &ctObserver{}
	c := ctClient(t, srv.URL(), WithObserver(obs))
	cons := ctSubscribe(t, c, ConsumerConfig{Topic: topic, Subscription: "s", Name: "same"})
	p.send("stream open")
	ctAck(t, ctNext(t, cons)) // the stream is open
	raw := brokertest.Dial(t, srv)
	if _, err := raw.Consumer.Subscribe(ctCtx(t), &danubepb.ConsumerRequest{
		RequestId: 1, TopicName: topic, ConsumerName: "same", Subscription: "s",
	}); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 5*time.Second, func() bool { return obs.countConsumer(ConsumerStreamEnded) > 0 }, "stream not ended")
	p.send("still here")
	if m := ctNext(t, cons); string(m.Payload) != "still here" {
		t.Fatalf("got %q", m.Payload)
	}
}

func TestConsumerFollowsRedirect(t *testing.T) {
	b := brokertest.Run(t, broker.Options{})
	a := brokertest.Run(t, broker.Options{Peers: []string{b.URL()}})
	p := ctNewProducer(t, b, "/default/on-b", "p", true)
	var parts []*ctProducer
	for i := range 2 {
		parts = append(parts, ctNewProducer(t, b, fmt.Sprintf("/default/parted-on-b-part-%d", i), "p", true))
	}
	obs := &ctObserver{}
	c := ctClient(t, a.URL(), WithObserver(obs))

	cons := ctSubscribe(t, c, ConsumerConfig{Topic: "/default/on-b", Subscription: "s"})
	if rt := cons.parts[0].route(); rt.connectURL != b.URL() {
		t.Fatalf("consuming from %s, want %s", rt.connectURL, b.URL())
	}
	p.send("from b")
	m := ctNext(t, cons)
	if string(m.Payload) != "from b" {
		t.Fatalf("got %q", m.Payload)
	}
	ctAck(t, m)
	redirects := 0
	obs.mu.Lock()
	for _, e := range obs.lookups {
		if e.Err == nil && e.Result.Type == LookupRedirect && e.Result.ConnectURL == b.URL() {
			redirects++
		}
	}
	obs.mu.Unlock()
	if redirects == 0 {
		t.Fatal("no Redirect lookup observed")
	}

	pc := ctSubscribe(t, c, ConsumerConfig{Topic: "/default/parted-on-b", Subscription: "s", Type: Shared})
	if len(pc.Partitions()) != 2 {
		t.Fatalf("partitions on b: %v", pc.Partitions())
	}
	for i, p := range parts {
		p.send(fmt.Sprint("part ", i))
	}
	ctCollect(t, pc, map[string]bool{"part 0": true, "part 1": true}, 10*time.Second)
}

func TestConsumerToken(t *testing.T) {
	secret := []byte("consumer tests secret")
	srv := brokertest.Run(t, broker.Options{JWTSecret: secret, SuperAdmins: []string{"tester"}})
	good, err := broker.NewToken(secret, "tester", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	const topic = "/default/secured"
	p := ctNewProducerOn(t, brokertest.Dial(t, srv), srv.URL(), good, topic, "p", true)

	t.Run("wrong token", func(t *testing.T) {
		c := ctClient(t, srv.URL(), WithToken("not-a-token"))
		if _, err := c.Subscribe(ctCtx(t), ConsumerConfig{Topic: topic, Subscription: "s"}); !errors.Is(err, ErrUnauthenticated) {
			t.Fatalf("Subscribe with a wrong token: %v", err)
		}
	})

	t.Run("token, then a revoked one", func(t *testing.T) {
		var tok atomic.Value
		tok.Store(good)
		obs := &ctObserver{}
		c := ctClient(t, srv.URL(), WithObserver(obs),
			WithTokenFunc(func(context.Context) (string, error) { return tok.Load().(string), nil }))
		cons := ctSubscribe(t, c, ConsumerConfig{Topic: topic, Subscription: "s", Name: "holder"})
		p.send("authorised")
		m := ctNext(t, cons)
		ctAck(t, m)

		// The token stops working; when the broker ends the stream (another Subscribe with the same name
		// takes it over), reopening it is refused for good.
		tok.Store("revoked")
		raw := brokertest.Dial(t, srv)
		ctx := metadata.AppendToOutgoingContext(ctCtx(t), "authorization", "Bearer "+good)
		if _, err := raw.Consumer.Subscribe(ctx, &danubepb.ConsumerRequest{
			RequestId: 1, TopicName: topic, ConsumerName: "holder", Subscription: "s",
		}); err != nil {
			t.Fatal(err)
		}
		select {
		case _, ok := <-cons.Messages():
			if ok {
				t.Fatal("unexpected message")
			}
		case <-time.After(10 * time.Second):
			t.Fatal("Messages() not closed after the final error")
		}
		if _, err := cons.Receive(ctCtx(t)); !errors.Is(err, ErrUnauthenticated) {
			t.Fatalf("Receive after the failure: %v", err)
		}
		if !errors.Is(cons.Err(), ErrUnauthenticated) {
			t.Fatalf("Err() = %v", cons.Err())
		}
		failed := obs.consumerEvents(ConsumerFailed)
		if len(failed) != 1 || !errors.Is(failed[0].Err, ErrUnauthenticated) || failed[0].Topic != topic {
			t.Fatalf("failed events %+v", failed)
		}
		if err := cons.Close(ctCtx(t)); err != nil {
			t.Fatal(err)
		}
		if _, err := cons.Receive(ctCtx(t)); !errors.Is(err, ErrClosed) {
			t.Fatalf("Receive after Close: %v", err)
		}
	})
}

// ctTLS generates a throwaway CA and a certificate for 127.0.0.1 signed by it. It returns the server's
// config, a pool trusting the CA and the CA's PEM file.
func ctTLS(t *testing.T) (*tls.Config, *x509.CertPool, string) {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "consumer test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, DNSNames: []string{"localhost"},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(caCert)
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}
	return cfg, pool, caFile
}

func TestConsumerTLS(t *testing.T) {
	serverTLS, pool, caFile := ctTLS(t)
	srv := brokertest.Run(t, broker.Options{TLS: serverTLS})
	const topic = "/default/tls"
	raw := ctDial(t, srv, credentials.NewTLS(&tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}))
	p := ctNewProducerOn(t, raw, srv.URL(), "", topic, "p", true)

	for name, opt := range map[string]Option{
		"CA file":    WithCAFile(caFile),
		"TLS config": WithTLS(&tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}),
	} {
		t.Run(name, func(t *testing.T) {
			c := ctClient(t, srv.URL(), opt)
			cons := ctSubscribe(t, c, ConsumerConfig{Topic: topic, Subscription: name})
			p.send("secret " + name)
			m := ctNext(t, cons)
			if string(m.Payload) != "secret "+name {
				t.Fatalf("got %q", m.Payload)
			}
			ctAck(t, m)
		})
	}

	t.Run("plain text", func(t *testing.T) {
		c := ctClient(t, "http://"+srv.Addr().String(), WithRetry(RetryPolicy{MaxRetries: 1, BaseBackoff: 10 * time.Millisecond}))
		if _, err := c.Subscribe(ctCtx(t), ConsumerConfig{Topic: topic, Subscription: "plain"}); !errors.Is(err, ErrUnavailable) {
			t.Fatalf("plain-text Subscribe to a TLS broker: %v", err)
		}
	})
}
