package client

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/danube-console/danube-console/broker"
	"github.com/danube-console/danube-console/broker/brokertest"
	"github.com/danube-console/danube-console/internal/testenv"
	"github.com/danube-console/danube-console/proto/danubepb"
)

// The broker that serves a topic dies for good and another one serves it; the service broker redirects
// there. The producer's lookups at the dead broker fail, so it asks the service URL again and re-creates
// itself on the new broker, within one Send's retries.
func TestProducerLeavesDeadBroker(t *testing.T) {
	bPort, cPort := testenv.FreePort(t), testenv.FreePort(t)
	bURL, cURL := fmt.Sprintf("http://127.0.0.1:%d", bPort), fmt.Sprintf("http://127.0.0.1:%d", cPort)
	b := brokertest.Run(t, broker.Options{Port: bPort, AdminPort: -1})
	a := brokertest.Run(t, broker.Options{Peers: []string{bURL, cURL}, AdminPort: -1})
	const topic = "/default/moving"
	ctNewProducer(t, b, topic, "seed", true) // the topic lives on B

	obs := &prodTestObserver{}
	c := ctClient(t, a.URL(), WithObserver(obs))
	p := prodTestProducer(t, c, ProducerConfig{Topic: topic, Name: "mover", Dispatch: Reliable})
	if got := p.parts[0].state.Load().r.connectURL; got != bURL {
		t.Fatalf("producer on %s, want B %s", got, bURL)
	}
	if _, err := p.Send(ctCtx(t), []byte("before")); err != nil {
		t.Fatal(err)
	}

	ctShutdown(t, b)
	cb := brokertest.Run(t, broker.Options{Port: cPort, AdminPort: -1})
	ctNewProducer(t, cb, topic, "seed", true) // the topic now lives on C, and A redirects there
	msgs := prodTestSub(t, brokertest.Dial(t, cb), topic, "s", true)

	for i := range 3 {
		// One Send's retries (5, 10 to 100 ms apart) are enough to find C.
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, err := p.Send(ctx, []byte(fmt.Sprint("after-", i)))
		cancel()
		if err != nil {
			t.Fatalf("Send #%d after B died: %v (producer on %s)", i, err, p.parts[0].state.Load().r.connectURL)
		}
	}
	if got := p.parts[0].state.Load().r.connectURL; got != cURL {
		t.Fatalf("producer on %s, want C %s", got, cURL)
	}
	for i, m := range prodTestRecv(t, msgs, 3) {
		if string(m.Payload) != fmt.Sprint("after-", i) || m.GetMsgId().GetBrokerAddr() != cURL {
			t.Fatalf("message %d on C: %q from %q", i, m.Payload, m.GetMsgId().GetBrokerAddr())
		}
	}
	if k := obs.producerKinds(); len(k) != 2 || k[1] != ProducerRecreated {
		t.Fatalf("producer events %v, want created then recreated", k)
	}
}

// done may call SendAsync even when the window is full: completions run on their own goroutine, so the
// senders keep draining the queue and the place done waits for frees up.
func TestProducerSendAsyncFromDone(t *testing.T) {
	srv := brokertest.Run(t, broker.Options{AdminPort: -1})
	c := prodTestClient(t, srv)
	p := prodTestProducer(t, c, ProducerConfig{Topic: "/default/async-from-done", AsyncWindow: 1})
	const n = 200
	var completed, followUps, followErrs atomic.Int64
	var calls [n]atomic.Int32
	for i := range n {
		// The context bounds the wait for a place and the send; a stuck producer makes SendAsync time out.
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		t.Cleanup(cancel)
		err := p.SendAsync(ctx, []byte("x"), func(_ SendResult, err error) {
			calls[i].Add(1)
			completed.Add(1)
			if err != nil {
				t.Errorf("message %d: %v", i, err)
			}
			// A follow-up message, which waits for the single place of the window.
			if e := p.SendAsync(context.Background(), []byte("follow-up"), func(_ SendResult, err error) {
				if err != nil {
					t.Errorf("follow-up of %d: %v", i, err)
				}
				followUps.Add(1)
			}); e != nil {
				followErrs.Add(1)
			}
		})
		if err != nil {
			t.Fatalf("SendAsync #%d: %v after %d completions: the producer is stuck", i, err, completed.Load())
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// Flush waits for the completions too: the follow-ups queued by the done callbacks it waited for are
	// accepted before those callbacks returned, so a second Flush covers them.
	if err := p.Flush(ctx); err != nil {
		t.Fatalf("Flush: %v", err)
	}
	if completed.Load() != n {
		t.Fatalf("%d messages completed after Flush, want %d", completed.Load(), n)
	}
	if err := p.Flush(ctx); err != nil {
		t.Fatalf("second Flush: %v", err)
	}
	if followUps.Load() != n || followErrs.Load() != 0 {
		t.Fatalf("%d follow-ups completed, %d refused; want %d, 0", followUps.Load(), followErrs.Load(), n)
	}
	for i := range n {
		if got := calls[i].Load(); got != 1 {
			t.Fatalf("done of message %d called %d times", i, got)
		}
	}
	if info, _ := srv.Topic("/default/async-from-done"); info.Producers != 1 {
		t.Fatalf("topic %+v", info)
	}
}

// Flush returns only after the done callbacks of the messages it waits for have returned.
func TestProducerFlushWaitsForCompletions(t *testing.T) {
	srv := brokertest.Run(t, broker.Options{AdminPort: -1})
	c := prodTestClient(t, srv)
	p := prodTestProducer(t, c, ProducerConfig{Topic: "/default/flush-completions", AsyncWindow: 8})
	release := make(chan struct{})
	var returned atomic.Int32
	for range 4 {
		if err := p.SendAsync(prodTestCtx(t), []byte("x"), func(SendResult, error) {
			<-release
			returned.Add(1)
		}); err != nil {
			t.Fatal(err)
		}
	}
	short, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if err := p.Flush(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Flush with done callbacks blocked: %v, want DeadlineExceeded", err)
	}
	// The sends themselves completed, and their window places are free: the senders are not held by done.
	testenv.Eventually(t, 5*time.Second, func() bool { return len(p.slots) == 0 }, "window places not released")
	if _, err := p.Send(prodTestCtx(t), []byte("sync")); err != nil {
		t.Fatal(err)
	}
	close(release)
	if err := p.Flush(prodTestCtx(t)); err != nil || returned.Load() != 4 {
		t.Fatalf("Flush: %v with %d done returned", err, returned.Load())
	}
}

// Under random failures, re-creations, health CLOSE answers, concurrent Flush calls and a Client.Close in
// the middle, every accepted SendAsync message gets exactly one done call, and Close does not hang.
func TestProducerAsyncExactlyOnceUnderChaos(t *testing.T) {
	srv := brokertest.Run(t, broker.Options{AdminPort: -1})
	intercept := func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		if method == danubepb.ProducerService_SendMessage_FullMethodName {
			switch rand.IntN(20) {
			case 0:
				return status.Error(codes.NotFound, "The producer with id 1 does not exist")
			case 1:
				return status.Error(codes.Unavailable, "flaky")
			}
		}
		err := invoker(ctx, method, req, reply, cc, opts...)
		if err == nil && method == danubepb.HealthCheck_HealthCheck_FullMethodName && rand.IntN(3) == 0 {
			reply.(*danubepb.HealthCheckResponse).Status = danubepb.HealthCheckResponse_CLOSE
		}
		return err
	}
	c, err := Connect(context.Background(), srv.URL(), WithHealthInterval(5*time.Millisecond), WithObserver(NopObserver{}),
		WithRetry(RetryPolicy{MaxRetries: 3, BaseBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond}),
		WithDialOptions(grpc.WithChainUnaryInterceptor(intercept)))
	if err != nil {
		t.Fatal(err)
	}
	p, err := c.NewProducer(context.Background(), ProducerConfig{Topic: "/default/chaos", Partitions: 4, AsyncWindow: 8})
	if err != nil {
		t.Fatal(err)
	}
	var accepted, calls, double atomic.Int64
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 8 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				var once atomic.Bool
				if p.SendAsync(context.Background(), []byte("a"), func(SendResult, error) {
					calls.Add(1)
					if once.Swap(true) {
						double.Add(1)
					}
				}) == nil {
					accepted.Add(1)
				}
				_, _ = p.Send(context.Background(), []byte("s"))
			}
		})
	}
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
			_ = p.Flush(ctx)
			cancel()
		}
	})
	// Let the chaos run for a while: enough async sends accepted by a producer being re-created.
	testenv.Eventually(t, 30*time.Second, func() bool { return accepted.Load() >= 200 }, "200 async sends accepted")
	ctCloseWithin(t, c)
	close(stop)
	wg.Wait()
	if accepted.Load() == 0 || accepted.Load() != calls.Load() || double.Load() != 0 {
		t.Fatalf("%d accepted, %d done calls, %d doubles: done is not called exactly once", accepted.Load(), calls.Load(), double.Load())
	}
}

// While one send re-creates the producer (and the broker keeps answering Unavailable), another send gives
// up when its own context ends instead of waiting for the other's retries.
func TestProducerRecreateWaitersHonourContext(t *testing.T) {
	srv := brokertest.Run(t, broker.Options{AdminPort: -1})
	var failCreate atomic.Bool
	intercept := func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		if method == danubepb.ProducerService_CreateProducer_FullMethodName && failCreate.Load() {
			return status.Error(codes.Unavailable, "The topic exists but is served by another broker, redo the Lookup request")
		}
		return invoker(ctx, method, req, reply, cc, opts...)
	}
	c := prodTestClient(t, srv, WithHealthInterval(time.Hour),
		WithRetry(RetryPolicy{MaxRetries: 4, BaseBackoff: time.Second, MaxBackoff: time.Second}),
		WithDialOptions(grpc.WithChainUnaryInterceptor(intercept)))
	p := prodTestProducer(t, c, ProducerConfig{Topic: "/default/recreate-ctx"})
	pp := p.parts[0]
	pp.state.Load().stale.Store(true) // as after a health check's CLOSE
	failCreate.Store(true)
	first := make(chan error, 1)
	go func() {
		_, err := p.Send(context.Background(), []byte("first")) // re-creates, retrying for seconds
		first <- err
	}()
	testenv.Eventually(t, 5*time.Second, func() bool {
		pp.mu.Lock()
		defer pp.mu.Unlock()
		return pp.inflight != nil
	}, "no re-creation in flight")
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	// The re-creation keeps failing until the send returns: a send that waited for it would not end with
	// its own deadline.
	if _, err := p.Send(ctx, []byte("second")); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Send with a 200 ms deadline: %v; want DeadlineExceeded", err)
	}
	failCreate.Store(false)
	if err := <-first; err != nil {
		t.Fatalf("the re-creating send: %v", err)
	}
}

// Sends that find the producer stale at the same time share one re-creation: one CreateProducer call.
func TestProducerRecreateSharedBySends(t *testing.T) {
	srv := brokertest.Run(t, broker.Options{AdminPort: -1})
	calls := &prodTestCalls{method: "CreateProducer"}
	obs := &prodTestObserver{}
	c := prodTestClient(t, srv, calls.option(), WithObserver(obs), WithHealthInterval(time.Hour))
	p := prodTestProducer(t, c, ProducerConfig{Topic: "/default/recreate-shared", Name: "shared"})
	if calls.count() != 1 {
		t.Fatalf("%d CreateProducer calls", calls.count())
	}
	calls.mu.Lock()
	calls.gate = make(chan struct{})
	calls.mu.Unlock()
	p.parts[0].state.Load().stale.Store(true)
	const n = 8
	errs := make(chan error, n)
	for range n {
		go func() {
			_, err := p.Send(prodTestCtx(t), []byte("x"))
			errs <- err
		}()
	}
	testenv.Eventually(t, 5*time.Second, func() bool { return calls.cur.Load() == 1 }, "the re-creation did not start")
	// Every send is inside recreate: one runs the re-creation, the others wait for it.
	testenv.Eventually(t, 5*time.Second, func() bool { return testenv.GoroutinesIn("client.(*partProducer).recreate(") == n },
		"%d sends waiting for the re-creation", n)
	calls.mu.Lock()
	close(calls.gate)
	calls.gate = nil
	calls.mu.Unlock()
	for range n {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if calls.count() != 2 || calls.peak.Load() != 1 {
		t.Fatalf("%d CreateProducer calls (peak %d concurrent), want 2 (creation and one re-creation)", calls.count(), calls.peak.Load())
	}
	if k := obs.producerKinds(); len(k) != 2 || k[1] != ProducerRecreated {
		t.Fatalf("producer events %v", k)
	}
}

// Closing the client while NewProducer or Subscribe is in progress makes them fail with ErrClosed, at once.
func TestCloseDuringNewProducerAndSubscribe(t *testing.T) {
	srv := brokertest.Run(t, broker.Options{AdminPort: -1})
	ctNewProducer(t, srv, "/default/close-sub", "p", true)
	var held atomic.Int32
	hold := func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		if method == danubepb.ProducerService_CreateProducer_FullMethodName || method == danubepb.ConsumerService_Subscribe_FullMethodName {
			held.Add(1)
			<-ctx.Done()
			return status.FromContextError(ctx.Err()).Err()
		}
		return invoker(ctx, method, req, reply, cc, opts...)
	}
	c, err := Connect(context.Background(), srv.URL(), WithDialOptions(grpc.WithChainUnaryInterceptor(hold)))
	if err != nil {
		t.Fatal(err)
	}
	res := make(chan error, 2)
	go func() {
		_, err := c.NewProducer(context.Background(), ProducerConfig{Topic: "/default/close-prod", Partitions: 4})
		res <- err
	}()
	go func() {
		_, err := c.Subscribe(context.Background(), ConsumerConfig{Topic: "/default/close-sub", Subscription: "s"})
		res <- err
	}()
	testenv.Eventually(t, 5*time.Second, func() bool { return held.Load() == 5 }, "calls not in flight")
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		select {
		case err := <-res:
			if !errors.Is(err, ErrClosed) {
				t.Fatalf("%v; want ErrClosed", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("NewProducer or Subscribe still running after Close")
		}
	}
}

// A size limit answered by gRPC itself (ResourceExhausted) is final for every call, not only for Send.
func TestSizeLimitNotRetried(t *testing.T) {
	srv := brokertest.Run(t, broker.Options{})
	calls := &prodTestCalls{method: "RegisterSchema"}
	small := func(o *Options) error { o.MaxRecvMsgSize = 4096; return nil } // the client's own send limit
	c := prodTestClient(t, srv, small, calls.option(),
		WithRetry(RetryPolicy{MaxRetries: 5, BaseBackoff: 100 * time.Millisecond, MaxBackoff: 100 * time.Millisecond}))
	def := []byte(`{"type":"object","description":"` + strings.Repeat("x", 10000) + `"}`)
	_, _, _, err := c.Schemas().Register(prodTestCtx(t), "big", "json_schema", def)
	if !errors.Is(err, ErrMessageTooLarge) || errors.Is(err, ErrUnavailable) || status.Code(err) != codes.ResourceExhausted {
		t.Fatalf("Register of an oversized schema: %v", err)
	}
	if calls.count() != 1 {
		t.Fatalf("%d RegisterSchema calls, want 1", calls.count())
	}
	p := prodTestProducer(t, c, ProducerConfig{Topic: "/default/size"})
	if _, err := p.Send(prodTestCtx(t), make([]byte, 10000)); !errors.Is(err, ErrMessageTooLarge) || errors.Is(err, ErrUnavailable) {
		t.Fatalf("oversized Send: %v", err)
	}
}
