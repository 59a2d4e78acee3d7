package client

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/danube-console/danube-console/broker"
	"github.com/danube-console/danube-console/broker/brokertest"
)

// The sentinels match the texts real and embedded brokers answer, whatever the code when the text is
// unambiguous, and nothing else.
func TestSentinelsMatchBrokerTexts(t *testing.T) {
	cases := []struct {
		code codes.Code
		msg  string
		want error
	}{
		// A real (tonic) broker's decode limit.
		{codes.OutOfRange, "Error, decoded message length too large: found 5242880 bytes, the limit is: 4194304 bytes", ErrMessageTooLarge},
		{codes.InvalidArgument, "Message size 2048 exceeds maximum allowed 1024 for topic /default/t", ErrMessageTooLarge},
		{codes.ResourceExhausted, "trying to send message larger than max (10094 vs. 4096)", ErrMessageTooLarge},
		// A topic that does not exist, in every form.
		{codes.NotFound, "Unable to find the topic: /default/t", ErrTopicNotFound},
		{codes.NotFound, "Unable to find the requested topic: /default/t", ErrTopicNotFound},
		{codes.PermissionDenied, "Unable to publish the message: Topic /default/t not found in registry", ErrTopicNotFound},
		{codes.Internal, "Error acknowledging message: Topic /default/t not found in registry", ErrTopicNotFound},
		{codes.NotFound, "Topic '/default/t' not found on this broker", ErrTopicNotFound},
		{codes.NotFound, "Topic /default/t not found", ErrTopicNotFound},
		{codes.NotFound, "Unable to delete the topic /default/t due to: it does not exist", ErrTopicNotFound},
		{codes.NotFound, "Unable to delete the subscription s due to: topic /default/t does not exist", ErrTopicNotFound},
		// An Ack or a Nack of a subscription the broker does not know.
		{codes.Internal, "Error acknowledging message: Subscription not found", ErrSubscriptionNotFound},
		{codes.Internal, "Error negatively acknowledging message: Subscription not found", ErrSubscriptionNotFound},
		// Namespaces.
		{codes.Unavailable, "Unable to find the namespace foo, the topic can be created only for an exisiting namespace", ErrNamespaceNotFound},
		{codes.NotFound, "Namespace foo not found", ErrNamespaceNotFound},
		{codes.NotFound, "Unable to delete the namespace foo due to: it does not exist", ErrNamespaceNotFound},
		// Already exists, which admin rpcs answer with NotFound.
		{codes.AlreadyExists, "whatever", ErrAlreadyExists},
		{codes.NotFound, "Unable to create the topic /default/t due to: it already exists", ErrAlreadyExists},
		{codes.NotFound, "Unable to create the namespace foo due to: it already exists", ErrAlreadyExists},
		// The real broker's admin texts.
		{codes.NotFound, "Unable to delete the topic /default/t due to Unable to find topic: /default/t", ErrTopicNotFound},
		{codes.NotFound, "Unable to delete the namespace foo due to Namespace foo does not exists.", ErrNamespaceNotFound},
		{codes.NotFound, "Unable to retrieve polices for the namespace foo due to Unable to retrieve the policies for the namespace", ErrNamespaceNotFound},
		{codes.NotFound, "Unable to create the topic /default/t due to Topic '/default/t' already exists", ErrAlreadyExists},
		{codes.NotFound, "Unable to create the namespace foo due to Namespace foo already exists.", ErrAlreadyExists},
		{codes.NotFound, "Unable to create the topic /default/t due to Cannot create topic '/default/t': partitioned topics with this base name already exist (found 2 partitions). Delete the partitioned topics first.", ErrAlreadyExists},
	}
	for _, c := range cases {
		e := &APIError{Code: c.code, Message: c.msg}
		if !errors.Is(e, c.want) {
			t.Errorf("errors.Is(%s %q, %v) = false", c.code, c.msg, c.want)
		}
		if !errors.Is(apiError("op", status.Error(c.code, c.msg)), c.want) {
			t.Errorf("apiError(%s %q) does not match %v", c.code, c.msg, c.want)
		}
	}
	// Texts that must not match.
	negatives := []struct {
		code codes.Code
		msg  string
		not  error
	}{
		{codes.NotFound, "Unable to delete the subscription s due to: it does not exist on topic /default/t", ErrTopicNotFound},
		{codes.PermissionDenied, "Unable to publish the message: Topic /default/t is draining or closed; retry lookup/moved", ErrTopicNotFound},
		{codes.NotFound, "Schema not found for subject: s", ErrTopicNotFound},
		{codes.NotFound, "Broker 7 not found", ErrTopicNotFound},
		{codes.NotFound, "Broker 7 not found", ErrNamespaceNotFound},
		{codes.NotFound, "Unable to delete the topic /default/t due to: it does not exist", ErrNamespaceNotFound},
		{codes.NotFound, "Unable to delete the namespace foo due to: it does not exist", ErrTopicNotFound},
		{codes.NotFound, "Unable to delete the namespace foo due to: it still has topics (/foo/t); delete them first", ErrNamespaceNotFound},
		{codes.OutOfRange, "offset out of range", ErrMessageTooLarge},
		{codes.Internal, "Error acknowledging message: Topic /default/t not found in registry", ErrSubscriptionNotFound},
		{codes.NotFound, "The consumer with the id 3 does not exist", ErrTopicNotFound},
		{codes.NotFound, "Unable to delete the namespace foo due to Can't delete and non empty namespace: foo", ErrNamespaceNotFound},
		{codes.NotFound, "Unable to delete the topic /default/t due to Unable to find topic: /default/t", ErrNamespaceNotFound},
		{codes.NotFound, "Unable to unsubscribe the subscription s due to error: Unable to unsubscribe as the subscription s has active consumers", ErrTopicNotFound},
	}
	for _, c := range negatives {
		if errors.Is(&APIError{Code: c.code, Message: c.msg}, c.not) {
			t.Errorf("errors.Is(%s %q, %v) = true", c.code, c.msg, c.not)
		}
	}
}

// The admin API's answers match the sentinels against the embedded broker.
func TestAdminErrorsMatchSentinels(t *testing.T) {
	srv := brokertest.Run(t, broker.Options{})
	a := adminTestAdmin(t, srv)
	ctx := adminTestCtx(t)
	if err := a.CreateTopic(ctx, "/default/dup", TopicOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := a.CreateTopic(ctx, "/default/dup", TopicOptions{}); !errors.Is(err, ErrAlreadyExists) {
		t.Errorf("creating a topic twice: %v", err)
	}
	if err := a.CreateNamespace(ctx, "default"); !errors.Is(err, ErrAlreadyExists) {
		t.Errorf("creating an existing namespace: %v", err)
	}
	if err := a.DeleteTopic(ctx, "/default/missing"); !errors.Is(err, ErrTopicNotFound) {
		t.Errorf("deleting a missing topic: %v", err)
	}
	if _, err := a.DescribeTopic(ctx, "/default/missing"); !errors.Is(err, ErrTopicNotFound) {
		t.Errorf("describing a missing topic: %v", err)
	}
	if err := a.CreateTopic(ctx, "/default/dup-part-0", TopicOptions{}); !errors.Is(err, ErrAlreadyExists) {
		t.Errorf("creating a partition of an existing topic: %v", err)
	}
	if _, err := a.NamespacePolicies(ctx, "missing"); !errors.Is(err, ErrNamespaceNotFound) {
		t.Errorf("policies of a missing namespace: %v", err)
	}
	if err := a.DeleteNamespace(ctx, "missing"); !errors.Is(err, ErrNamespaceNotFound) {
		t.Errorf("deleting a missing namespace: %v", err)
	}
	if _, err := a.Schemas().TopicConfig(ctx, "/default/missing"); !errors.Is(err, ErrTopicNotFound) {
		t.Errorf("schema config of a missing topic: %v", err)
	}
}

// A call answered with success=false matches ErrRefused and carries the broker's reason.
func TestRefusedMatchesSentinel(t *testing.T) {
	err := apiError("bind topic", refused(false, "nope"))
	if !errors.Is(err, ErrRefused) || err.Error() != "bind topic: danube: refused by the broker: nope" {
		t.Fatalf("refused: %v", err)
	}
	if refused(true, "") != nil {
		t.Fatal("success refused")
	}
	a, err := ConnectAdmin(context.Background(), runFakeAdmin(t, &fakeBrokerAdmin{}))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if err := a.Schemas().BindTopic(adminTestCtx(t), "/default/a", "s", "", false); !errors.Is(err, ErrRefused) {
		t.Fatalf("BindTopic answered success=false: %v", err)
	}
}

// A call whose context ends during the retries keeps the context's error next to the broker's answer.
func TestRetriesKeepContextError(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens: every call is Unavailable
	c, err := Connect(context.Background(), "http://"+addr, WithRetry(RetryPolicy{MaxRetries: 5, BaseBackoff: 2 * time.Second, MaxBackoff: 2 * time.Second}))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	calls := map[string]func(ctx context.Context) error{
		"Lookup": func(ctx context.Context) error { _, err := c.Lookup(ctx, "/default/t"); return err },
		"Subscribe": func(ctx context.Context) error {
			_, err := c.Subscribe(ctx, ConsumerConfig{Topic: "/default/t", Subscription: "s"})
			return err
		},
		"NewProducer": func(ctx context.Context) error {
			_, err := c.NewProducer(ctx, ProducerConfig{Topic: "/default/t"})
			return err
		},
		"Partitions": func(ctx context.Context) error { _, err := c.Partitions(ctx, "/default/t"); return err },
	}
	for name, call := range calls {
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		err := call(ctx)
		cancel()
		var ae *APIError
		if !errors.Is(err, context.DeadlineExceeded) || !errors.As(err, &ae) || ae.Code != codes.Unavailable {
			t.Errorf("%s: %v; want the broker's Unavailable and DeadlineExceeded", name, err)
		}
		ctx, cancel = context.WithCancel(context.Background())
		time.AfterFunc(100*time.Millisecond, cancel)
		if err := call(ctx); !errors.Is(err, context.Canceled) {
			t.Errorf("%s cancelled: %v; want Canceled", name, err)
		}
		cancel()
	}
}

// apiError keeps ErrUnavailable, context errors and ErrClosed next to the broker's answer.
func TestAPIErrorKeepsSentinels(t *testing.T) {
	st := status.Error(codes.Unavailable, "down")
	err := apiError("op", errors.Join(st, context.DeadlineExceeded))
	if !errors.Is(err, context.DeadlineExceeded) || status.Code(err) != codes.Unavailable || err.Error() != "op: down (Unavailable) (context deadline exceeded)" {
		t.Errorf("deadline: %v", err)
	}
	err = apiError("op", errors.Join(status.Error(codes.Internal, "x"), ErrUnavailable, ErrClosed))
	if !errors.Is(err, ErrUnavailable) || !errors.Is(err, ErrClosed) || status.Code(err) != codes.Internal {
		t.Errorf("unavailable and closed: %v", err)
	}
	if err := apiError("op", errors.Join(st, ErrUnavailable)); err.Error() != "op: down (Unavailable)" {
		t.Errorf("exhausted Unavailable: %q", err)
	}
	if err := apiError("op", context.Canceled); !errors.Is(err, context.Canceled) {
		t.Errorf("plain context error: %v", err)
	}
}

// Backoff never overflows nor panics, whatever the policy.
func TestBackoffBounds(t *testing.T) {
	huge := RetryPolicy{MaxRetries: 5, BaseBackoff: 10 * time.Second, MaxBackoff: math.MaxInt64}.withDefaults()
	for _, a := range []int{-1, 0, 1, 29, 30, 45, 62, 63, 64, 1000, math.MaxInt} {
		d := huge.Backoff(a)
		if d < 5*time.Second || d > math.MaxInt64 {
			t.Errorf("Backoff(%d) = %v", a, d)
		}
	}
	if d := huge.Backoff(1000); d < math.MaxInt64/2 {
		t.Errorf("Backoff(1000) = %v, want close to MaxBackoff", d)
	}
	def := DefaultRetryPolicy()
	for a := range 10 {
		want := min(def.BaseBackoff<<a, def.MaxBackoff)
		if d := def.Backoff(a); d < want/2 || d > want {
			t.Errorf("default Backoff(%d) = %v, want in [%v, %v]", a, d, want/2, want)
		}
	}
	for _, p := range []RetryPolicy{{}, {BaseBackoff: -time.Second, MaxBackoff: -time.Second}, {BaseBackoff: time.Second, MaxBackoff: -1}} {
		for _, a := range []int{0, 5, 100} {
			if d := p.Backoff(a); d != 0 {
				t.Errorf("%+v.Backoff(%d) = %v, want 0", p, a, d)
			}
		}
	}
	if d := (RetryPolicy{BaseBackoff: 1, MaxBackoff: 1}).Backoff(3); d < 0 || d > 1 {
		t.Errorf("1 ns policy: %v", d)
	}
}

// A size limit is never retried, by any call.
func TestSizeLimitIsFinal(t *testing.T) {
	ctx := context.Background()
	for _, err := range []error{
		status.Error(codes.ResourceExhausted, "trying to send message larger than max (10094 vs. 4096)"),
		status.Error(codes.ResourceExhausted, "grpc: received message larger than max (5000 vs. 4096)"),
		status.Error(codes.OutOfRange, "Error, decoded message length too large: found 5242880 bytes, the limit is: 4194304 bytes"),
	} {
		if retryable(ctx, err) {
			t.Errorf("%v is retried", err)
		}
	}
	if !retryable(ctx, status.Error(codes.ResourceExhausted, "Producer limit reached for topic /default/t")) {
		t.Error("a producer limit is not retried")
	}
}

// String never panics, whatever the value.
func TestStringMethodsOutOfRange(t *testing.T) {
	for _, c := range []struct {
		got, want string
	}{
		{ProducerEventKind(7).String(), "ProducerEventKind(7)"},
		{ProducerEventKind(-1).String(), "ProducerEventKind(-1)"},
		{ProducerRecreated.String(), "recreated"},
		{ConsumerEventKind(-1).String(), "ConsumerEventKind(-1)"},
		{ConsumerEventKind(5).String(), "ConsumerEventKind(5)"},
		{ConsumerStreamEnded.String(), "stream-ended"},
		{HealthStatus(5).String(), "HealthStatus(5)"},
		{HealthClose.String(), "CLOSE"},
		{ConnState(9).String(), "ConnState(9)"},
		{ConnState(-3).String(), "ConnState(-3)"},
		{ConnTransientFailure.String(), "transient-failure"},
		{LookupType(9).String(), "Unknown"},
		{SubscriptionType(9).String(), "SubscriptionType(9)"},
		{DispatchStrategy(9).String(), "DispatchStrategy(9)"},
		{AccessMode(9).String(), "AccessMode(9)"},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
	_ = fmt.Sprint(ProducerEvent{Kind: 99}, ConsumerEvent{Kind: -5}, HealthEvent{Status: 42}, ConnStateEvent{State: 17})
}

func TestCertificateFailuresAreNotRetried(t *testing.T) {
	err := status.Error(codes.Unavailable, "connection error: desc = \"transport: authentication handshake failed: tls: failed to verify certificate: x509: certificate signed by unknown authority\"")
	if retryable(context.Background(), err) {
		t.Fatal("a certificate failure is retried")
	}
	if !retryable(context.Background(), status.Error(codes.Unavailable, "connection refused")) {
		t.Fatal("a refused connection is not retried")
	}
}

// TestAPIErrorNamesCodeWhereItSaysSomething: the brokers answer every admin refusal with NotFound, so the code
// is left out of a NotFound whose text says nothing is missing; elsewhere it stays.
func TestAPIErrorNamesCodeWhereItSaysSomething(t *testing.T) {
	for _, tc := range []struct {
		code codes.Code
		msg  string
		want string
	}{
		{codes.NotFound, "Unable to unsubscribe the subscription s due to error: Unable to unsubscribe as the subscription s has active consumers",
			"Unable to unsubscribe the subscription s due to error: Unable to unsubscribe as the subscription s has active consumers"},
		{codes.NotFound, "Unable to find the requested topic: /default/nope", "Unable to find the requested topic: /default/nope (NotFound)"},
		{codes.NotFound, "Topic /default/nope not found", "Topic /default/nope not found (NotFound)"},
		{codes.NotFound, "Unable to delete the topic /a/b due to: it does not exist", "Unable to delete the topic /a/b due to: it does not exist (NotFound)"},
		{codes.Unavailable, "broker is draining", "broker is draining (Unavailable)"},
		{codes.FailedPrecondition, "dispatch strategy mismatch", "dispatch strategy mismatch (FailedPrecondition)"},
	} {
		if got := (&APIError{Code: tc.code, Message: tc.msg}).Error(); got != tc.want {
			t.Errorf("%v %q: got %q, want %q", tc.code, tc.msg, got, tc.want)
		}
	}
}
