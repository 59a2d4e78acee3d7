package mqtt

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"go.uber.org/goleak"

	"github.com/danube-console/danube-console/client"
	"github.com/danube-console/danube-console/connectors"
	"github.com/danube-console/danube-console/internal/testenv"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func parse(t *testing.T, spec connectors.Spec, raw map[string]any) connectors.Config {
	t.Helper()
	cfg, errs := spec.Parse(raw, os.LookupEnv)
	if len(errs) > 0 {
		t.Fatalf("settings %v: %v", raw, errs)
	}
	return cfg
}

// newSource builds and connects a source; Close runs at cleanup (again, harmlessly, if the test closed it).
func newSource(t *testing.T, raw map[string]any) *Source {
	t.Helper()
	s, err := NewSource(parse(t, SourceSpec(), raw), connectors.Resources{Name: "mqtt-test"})
	if err != nil {
		t.Fatalf("NewSource: %v", err)
	}
	t.Cleanup(func() { s.Close(context.Background()) })
	if err := s.Connect(testCtx(t)); err != nil {
		t.Fatalf("Connect: %v", err)
	}
	return s
}

func newSink(t *testing.T, raw map[string]any) *Sink {
	t.Helper()
	s, err := NewSink(parse(t, SinkSpec(), raw), connectors.Resources{Name: "mqtt-sink-test"})
	if err != nil {
		t.Fatalf("NewSink: %v", err)
	}
	t.Cleanup(func() { s.Close(context.Background()) })
	if err := s.Connect(testCtx(t)); err != nil {
		t.Fatalf("Connect: %v", err)
	}
	return s
}

// testClient is a plain paho client playing the other side (publisher or subscriber).
func testClient(t *testing.T, broker, id string) paho.Client {
	t.Helper()
	cl := paho.NewClient(paho.NewClientOptions().AddBroker(broker).SetClientID(id).SetAutoReconnect(false))
	if tok := cl.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("test client connect: %v", tok.Error())
	}
	t.Cleanup(func() { cl.Disconnect(100) })
	return cl
}

func publish(t *testing.T, cl paho.Client, topic string, qos byte, retain bool, payload string) {
	t.Helper()
	if tok := cl.Publish(topic, qos, retain, payload); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("publish %s: %v", topic, tok.Error())
	}
}

// subscriber collects the messages of a subscription.
type subscriber struct {
	mu   sync.Mutex
	msgs []paho.Message
}

func subscribe(t *testing.T, cl paho.Client, filter string, qos byte) *subscriber {
	t.Helper()
	sub := &subscriber{}
	tok := cl.Subscribe(filter, qos, func(_ paho.Client, m paho.Message) {
		sub.mu.Lock()
		sub.msgs = append(sub.msgs, m)
		sub.mu.Unlock()
	})
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("subscribe: %v", tok.Error())
	}
	return sub
}

// wait waits until the subscriber has n messages and returns them as "topic payload" strings.
func (s *subscriber) wait(t *testing.T, n int) []string {
	t.Helper()
	var out []string
	testenv.Eventually(t, 10*time.Second, func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		out = out[:0]
		for _, m := range s.msgs {
			out = append(out, m.Topic()+" "+string(m.Payload()))
		}
		return len(out) >= n
	}, "subscriber got fewer than %d messages: %q", n, &out)
	return out
}

// readN reads until it has n records, and returns them with their ack functions.
func readN(t *testing.T, s *Source, n int) ([]connectors.Record, []connectors.AckFunc) {
	t.Helper()
	ctx := testCtx(t)
	var recs []connectors.Record
	var acks []connectors.AckFunc
	for len(recs) < n {
		r, ack, err := s.Read(ctx)
		if err != nil {
			t.Fatalf("Read after %d of %d records: %v", len(recs), n, err)
		}
		recs = append(recs, r...)
		acks = append(acks, ack)
	}
	if len(recs) != n {
		t.Fatalf("read %d records, want %d", len(recs), n)
	}
	return recs, acks
}

// readNone checks that nothing arrives for a while.
func readNone(t *testing.T, s *Source, d time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	if r, _, err := s.Read(ctx); err == nil {
		t.Fatalf("Read returned %d records (%q…), want none", len(r), r[0].Payload)
	} else if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Read: %v, want the deadline", err)
	}
}

func ackAll(t *testing.T, acks []connectors.AckFunc, err error) {
	t.Helper()
	for _, a := range acks {
		if aerr := a(testCtx(t), err); aerr != nil {
			t.Fatalf("ack: %v", aerr)
		}
	}
}

func payloads(recs []connectors.Record) []string {
	var out []string
	for _, r := range recs {
		out = append(out, string(r.Payload))
	}
	slices.Sort(out)
	return out
}

func wantKind(t *testing.T, err error, k connectors.Kind) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want a %v error", k)
	}
	if got := connectors.KindOf(err); got != k {
		t.Fatalf("error %q is %v, want %v", err, got, k)
	}
}

// TestSourceAcksOnlyAfterAckFunc: with an in-flight window of one message, the broker sends the next
// message only after the AckFunc acked the previous one.
func TestSourceAcksOnlyAfterAckFunc(t *testing.T) {
	mosq := testenv.NewMosquitto(t, "max_inflight_messages 1")
	src := newSource(t, map[string]any{"broker": mosq.URL(), "topics": []any{"in/#"}})
	pub := testClient(t, mosq.URL(), "publisher")
	for _, p := range []string{"m1", "m2"} {
		publish(t, pub, "in/x", 1, false, p)
	}
	recs, acks := readN(t, src, 1)
	if string(recs[0].Payload) != "m1" {
		t.Fatalf("first record %q", recs[0].Payload)
	}
	readNone(t, src, 300*time.Millisecond) // m1 not acked: m2 is held back
	ackAll(t, acks, nil)
	recs, acks = readN(t, src, 1)
	if string(recs[0].Payload) != "m2" {
		t.Fatalf("second record %q", recs[0].Payload)
	}
	ackAll(t, acks, nil)
	if err := src.Health(testCtx(t)); err != nil {
		t.Fatalf("Health: %v", err)
	}
}

// TestSourceRedeliversUnacked: a source that stops before its batch was acked (or after the runtime
// settled it with an error) leaves the messages to the durable session; the broker redelivers them to the
// next connection with the same client_id and clean_session = false, and not after they were acked.
func TestSourceRedeliversUnacked(t *testing.T) {
	mosq := testenv.NewMosquitto(t, "log_type all")
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("mosquitto:\n%s", mosq.Log())
		}
	})
	settings := map[string]any{"broker": mosq.URL(), "topics": []any{"orders/+", "alerts/#"}, "client_id": "durable-1", "qos": int64(1)}
	src := newSource(t, settings)
	pub := testClient(t, mosq.URL(), "publisher")
	publish(t, pub, "orders/a", 1, false, "o1")
	publish(t, pub, "orders/b", 1, false, "o2")
	publish(t, pub, "alerts/x/y", 1, false, "a1")
	publish(t, pub, "other", 1, false, "not subscribed")

	recs, _ := readN(t, src, 3)
	if got := payloads(recs); !slices.Equal(got, []string{"a1", "o1", "o2"}) {
		t.Fatalf("payloads %q", got)
	}
	for _, r := range recs {
		if r.Attributes[AttrQoS] != "1" || r.Attributes[AttrRetained] != "false" || !r.HasKey || r.Key != r.Attributes[AttrTopic] {
			t.Fatalf("record %+v", r)
		}
	}
	// The connector dies before Danube acked: no ack is sent.
	closeSession(t, mosq, src, "durable-1", 1)

	src2 := newSource(t, settings)
	recs, acks := readN(t, src2, 3)
	if got := payloads(recs); !slices.Equal(got, []string{"a1", "o1", "o2"}) {
		t.Fatalf("redelivered payloads %q", got)
	}
	ackAll(t, acks, errors.New("runtime stopping")) // settled with an error: still not acked
	closeSession(t, mosq, src2, "durable-1", 2)

	src3 := newSource(t, settings)
	recs, acks = readN(t, src3, 3)
	if got := payloads(recs); !slices.Equal(got, []string{"a1", "o1", "o2"}) {
		t.Fatalf("redelivered payloads %q", got)
	}
	ackAll(t, acks, nil)
	closeSession(t, mosq, src3, "durable-1", 3)

	src4 := newSource(t, settings)
	readNone(t, src4, 500*time.Millisecond)
	// An AckFunc called after its connection closed says it could not ack.
	publish(t, pub, "orders/c", 1, false, "o3")
	_, acks = readN(t, src4, 1)
	src4.Close(testCtx(t))
	if err := acks[0](testCtx(t), nil); err == nil {
		t.Fatal("ack on a closed connection succeeded")
	}
}

// closeSession closes src and waits until the broker logged the n-th clean disconnect of clientID. MQTT
// does not confirm a PUBACK: the client writes its acks and DISCONNECT and closes the socket, and a broker
// that accepts the next connection with the same client id before it read the rest of the old socket drops
// those acks and redelivers (at least once). Waiting for the broker to have read the DISCONNECT makes the
// "acked messages are not redelivered" check about the source, not about that race.
func closeSession(t *testing.T, mosq *testenv.Mosquitto, src *Source, clientID string, n int) {
	t.Helper()
	if err := src.Close(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	line := "Client " + clientID + " disconnected."
	testenv.Eventually(t, 10*time.Second, func() bool { return strings.Count(mosq.Log(), line) >= n },
		"the broker did not log %q %d times: the source closed without a DISCONNECT", line, n)
}

// TestSourceAttributes: retained messages, the delivered QoS, and key_from_topic = false.
func TestSourceAttributes(t *testing.T) {
	mosq := testenv.NewMosquitto(t)
	pub := testClient(t, mosq.URL(), "publisher")
	publish(t, pub, "state/lamp", 1, true, "on")
	src := newSource(t, map[string]any{"broker": mosq.URL(), "topics": []any{"state/#"}, "qos": int64(2),
		"clean_session": true, "key_from_topic": false})
	recs, acks := readN(t, src, 1)
	want := map[string]string{AttrTopic: "state/lamp", AttrQoS: "1", AttrRetained: "true"}
	if string(recs[0].Payload) != "on" || !maps(recs[0].Attributes, want) || recs[0].HasKey {
		t.Fatalf("retained record %+v", recs[0])
	}
	ackAll(t, acks, nil)
	publish(t, pub, "state/door", 0, false, "open")
	publish(t, pub, "state/gate", 2, false, "shut")
	recs, acks = readN(t, src, 2)
	slices.SortFunc(recs, func(a, b connectors.Record) int {
		return strings.Compare(a.Attributes[AttrTopic], b.Attributes[AttrTopic])
	})
	if recs[0].Attributes[AttrQoS] != "0" || recs[1].Attributes[AttrQoS] != "2" || recs[1].Attributes[AttrRetained] != "false" {
		t.Fatalf("records %+v", recs)
	}
	ackAll(t, acks, nil)
}

func maps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// TestSourceBrokerDown: a lost connection ends Read with a Retryable error after the messages already
// received; Connect fails Retryable while the broker is down and succeeds when it is back.
func TestSourceBrokerDown(t *testing.T) {
	mosq := testenv.NewMosquitto(t)
	src := newSource(t, map[string]any{"broker": mosq.URL(), "topics": []any{"t"}, "keep_alive": "2s"})
	pub := testClient(t, mosq.URL(), "publisher")
	publish(t, pub, "t", 1, false, "before")
	testenv.Eventually(t, 10*time.Second, func() bool { return len(src.msgs) > 0 }, "the source received nothing")
	mosq.Stop(t)
	recs, _ := readN(t, src, 1) // received before the loss: still handed out
	if string(recs[0].Payload) != "before" {
		t.Fatalf("record %q", recs[0].Payload)
	}
	_, _, err := src.Read(testCtx(t))
	wantKind(t, err, connectors.KindRetryable)
	if err := src.Health(testCtx(t)); err == nil {
		t.Fatal("Health passes with the broker down")
	}
	wantKind(t, src.Connect(testCtx(t)), connectors.KindRetryable)

	mosq.Start(t)
	if err := src.Connect(testCtx(t)); err != nil {
		t.Fatalf("Connect after the broker came back: %v", err)
	}
	pub2 := testClient(t, mosq.URL(), "publisher-2")
	publish(t, pub2, "t", 1, false, "after")
	recs, acks := readN(t, src, 1)
	if string(recs[0].Payload) != "after" {
		t.Fatalf("record %q", recs[0].Payload)
	}
	ackAll(t, acks, nil)
}

// TestSourceConnectCancelled: a Connect abandoned by its ctx leaves no goroutine behind after Close.
func TestSourceConnectCancelled(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0") // accepts, never answers CONNECT
	if err != nil {
		t.Fatal(err)
	}
	var conns []net.Conn
	var mu sync.Mutex
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
	})
	s, err := NewSource(parse(t, SourceSpec(), map[string]any{"broker": "tcp://" + l.Addr().String(), "topics": []any{"t"},
		"connect_timeout": "300ms"}), connectors.Resources{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	wantKind(t, s.Connect(ctx), connectors.KindRetryable)
	if err := s.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Read(context.Background()); !errors.Is(err, ErrClosed) {
		t.Fatalf("Read after Close: %v", err)
	}
}

// TestSinkWaitsForPuback: Write returns only once the broker's PUBACKs arrived (held back by a proxy).
func TestSinkWaitsForPuback(t *testing.T) {
	mosq := testenv.NewMosquitto(t)
	proxy := startProxy(t, mosq.Addr())
	sub := subscribe(t, testClient(t, mosq.URL(), "subscriber"), "out/#", 1)
	sink := newSink(t, map[string]any{"broker": "tcp://" + proxy.addr(), "mqtt_topic": "out/fixed"})

	proxy.hold()
	done := make(chan error, 1)
	go func() {
		done <- sink.Write(testCtx(t), []*client.Message{{Payload: []byte("p1")}, {Payload: []byte("p2")}})
	}()
	sub.wait(t, 2) // the broker has the messages…
	select {
	case err := <-done:
		t.Fatalf("Write returned %v before the PUBACKs reached the sink", err)
	case <-time.After(300 * time.Millisecond):
	}
	proxy.release() // …and the sink learns it
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Write did not return after the PUBACKs")
	}
	if got := sub.wait(t, 2); !slices.Equal(got, []string{"out/fixed p1", "out/fixed p2"}) {
		t.Fatalf("received %q", got)
	}

	// The connection breaks while Write waits for PUBACKs: Retryable.
	proxy.hold()
	go func() { done <- sink.Write(testCtx(t), []*client.Message{{Payload: []byte("p3")}}) }()
	sub.wait(t, 3)
	proxy.breakAll()
	select {
	case err := <-done:
		wantKind(t, err, connectors.KindRetryable)
	case <-time.After(10 * time.Second):
		t.Fatal("Write did not return after the connection broke")
	}
}

// TestSinkTopicTemplate: topics rendered per message; messages that render an invalid topic or are too
// large fail as InvalidData and the others are delivered.
func TestSinkTopicTemplate(t *testing.T) {
	mosq := testenv.NewMosquitto(t, "max_packet_size 2048")
	sub := subscribe(t, testClient(t, mosq.URL(), "subscriber"), "#", 1)
	sink := newSink(t, map[string]any{"broker": mosq.URL(), "qos": int64(2), "max_payload_bytes": int64(1024),
		"mqtt_topic": `dev/{{.Key}}/{{index .Attributes "kind"}}{{.Attributes.suffix}}`})
	batch := []*client.Message{
		{Payload: []byte("a"), RoutingKey: "d1", HasRoutingKey: true, Attributes: map[string]string{"kind": "cmd"}},
		{Payload: []byte("b"), RoutingKey: "d+", HasRoutingKey: true},        // wildcard in the topic
		{Payload: make([]byte, 1025), RoutingKey: "d3", HasRoutingKey: true}, // too large
		{Payload: []byte("c"), RoutingKey: "d4", HasRoutingKey: true, Attributes: map[string]string{"suffix": "-x"}},
	}
	err := sink.Write(testCtx(t), batch)
	var be *connectors.BatchError
	if !errors.As(err, &be) || len(be.Failed) != 2 ||
		connectors.KindOf(be.Failed[1]) != connectors.KindInvalidData || connectors.KindOf(be.Failed[2]) != connectors.KindInvalidData {
		t.Fatalf("Write: %v", err)
	}
	got := sub.wait(t, 2)
	slices.Sort(got)
	if !slices.Equal(got, []string{"dev/d1/cmd a", "dev/d4/-x c"}) {
		t.Fatalf("received %q", got)
	}
	if err := sink.Health(testCtx(t)); err != nil {
		t.Fatalf("Health: %v", err)
	}
}

// TestSinkRetainQoS0: a fixed topic with retain and QoS 0 (no acknowledgement to wait for).
func TestSinkRetainQoS0(t *testing.T) {
	mosq := testenv.NewMosquitto(t)
	sink := newSink(t, map[string]any{"broker": mosq.URL(), "mqtt_topic": "status/last", "qos": int64(0), "retain": true})
	if err := sink.Write(testCtx(t), []*client.Message{{Payload: []byte("v1")}, {Payload: []byte("v2")}}); err != nil {
		t.Fatal(err)
	}
	var got []string
	testenv.Eventually(t, 10*time.Second, func() bool {
		sub := subscribe(t, testClient(t, mosq.URL(), "late-"+time.Now().Format("150405.000000")), "status/#", 1)
		sub.wait(t, 1) // a retained message comes right after the subscription
		sub.mu.Lock()
		defer sub.mu.Unlock()
		got = got[:0]
		for _, m := range sub.msgs {
			got = append(got, string(m.Payload()))
			if !m.Retained() {
				t.Fatalf("message %q not retained", m.Payload())
			}
		}
		return slices.Equal(got, []string{"v2"})
	}, "retained %q", &got)
}

// TestSinkBrokerDown: Write and Connect fail Retryable while the broker is down; the sink recovers.
func TestSinkBrokerDown(t *testing.T) {
	mosq := testenv.NewMosquitto(t)
	sink := newSink(t, map[string]any{"broker": mosq.URL(), "mqtt_topic": "x", "publish_timeout": "2s"})
	mosq.Stop(t)
	batch := []*client.Message{{Payload: []byte("1")}, {Payload: []byte("2")}}
	wantKind(t, sink.Write(testCtx(t), batch), connectors.KindRetryable)
	wantKind(t, sink.Write(testCtx(t), batch), connectors.KindRetryable)
	if err := sink.Health(testCtx(t)); err == nil {
		t.Fatal("Health passes with the broker down")
	}
	wantKind(t, sink.Connect(testCtx(t)), connectors.KindRetryable)
	mosq.Start(t)
	sub := subscribe(t, testClient(t, mosq.URL(), "subscriber"), "x", 1)
	if err := sink.Connect(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	if err := sink.Write(testCtx(t), batch); err != nil {
		t.Fatal(err)
	}
	sub.wait(t, 2)
	if err := sink.Close(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	wantKind(t, sink.Write(testCtx(t), batch), connectors.KindFatal)
}

// TestRefusedLoginIsConfig: a broker that refuses the client's login is a configuration error.
func TestRefusedLoginIsConfig(t *testing.T) {
	mosq := testenv.NewMosquitto(t, "allow_anonymous false")
	t.Setenv("DANUBE_TEST_MQTT_PASSWORD", "pw")
	src, err := NewSource(parse(t, SourceSpec(), map[string]any{"broker": mosq.URL(), "topics": []any{"t"},
		"username": "u", "password_env": "DANUBE_TEST_MQTT_PASSWORD"}), connectors.Resources{})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close(context.Background())
	wantKind(t, src.Connect(testCtx(t)), connectors.KindConfig)
	sink, err := NewSink(parse(t, SinkSpec(), map[string]any{"broker": mosq.URL(), "mqtt_topic": "t"}), connectors.Resources{})
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close(context.Background())
	wantKind(t, sink.Connect(testCtx(t)), connectors.KindConfig)
}

func TestConfigErrors(t *testing.T) {
	srcCases := map[string]map[string]any{
		"no host":          {"broker": "tcp://", "topics": []any{"t"}},
		"bad scheme":       {"broker": "http://h:1", "topics": []any{"t"}},
		"not a url":        {"broker": "tcp://h:1:%zz", "topics": []any{"t"}},
		"no topics":        {"broker": "tcp://h:1", "topics": []any{}},
		"empty filter":     {"broker": "tcp://h:1", "topics": []any{""}},
		"hash inside":      {"broker": "tcp://h:1", "topics": []any{"a/#/b"}},
		"plus in level":    {"broker": "tcp://h:1", "topics": []any{"a/b+"}},
		"password no user": {"broker": "tcp://h:1", "topics": []any{"t"}, "password": "x"},
	}
	for name, raw := range srcCases {
		_, err := NewSource(parse(t, SourceSpec(), raw), connectors.Resources{})
		if connectors.KindOf(err) != connectors.KindConfig || err == nil {
			t.Errorf("source %s: %v", name, err)
		}
	}
	sinkCases := map[string]map[string]any{
		"wildcard topic": {"broker": "tcp://h:1", "mqtt_topic": "a/+"},
		"empty topic":    {"broker": "tcp://h:1", "mqtt_topic": ""},
		"bad template":   {"broker": "tcp://h:1", "mqtt_topic": "a/{{.Key"},
		"unknown field":  {"broker": "tcp://h:1", "mqtt_topic": "a/{{.Nope}}"},
	}
	for name, raw := range sinkCases {
		_, err := NewSink(parse(t, SinkSpec(), raw), connectors.Resources{})
		if connectors.KindOf(err) != connectors.KindConfig || err == nil {
			t.Errorf("sink %s: %v", name, err)
		}
	}
	for _, raw := range []map[string]any{
		{"broker": "tcp://h:1", "topics": []any{"t"}, "qos": int64(3)},
		{"broker": "tcp://h:1"},
	} {
		if _, errs := SourceSpec().Parse(raw, os.LookupEnv); len(errs) == 0 {
			t.Errorf("spec accepted %v", raw)
		}
	}
	s, err := NewSource(parse(t, SourceSpec(), map[string]any{"broker": "tcp://h:1", "topics": []any{"t"}}), connectors.Resources{Name: "n"})
	if err != nil || s.conn.cs.clientID != "danube-n" {
		t.Fatalf("default client id: %v %v", s, err)
	}
	if err := s.Health(context.Background()); !errors.Is(err, ErrNotConnected) {
		t.Fatalf("Health before Connect: %v", err)
	}
	if _, _, err := s.Read(context.Background()); connectors.KindOf(err) != connectors.KindRetryable {
		t.Fatalf("Read before Connect: %v", err)
	}
	s.Close(context.Background())
}

// proxy relays one TCP connection at a time to an upstream address; hold stops the upstream→client
// direction (the broker's acks) until release; breakAll closes every connection.
type proxy struct {
	l  net.Listener
	mu sync.Mutex
	// gate is nil when traffic flows, else a channel closed by release.
	gate  chan struct{}
	conns []net.Conn
	wg    sync.WaitGroup
}

func startProxy(t *testing.T, upstream string) *proxy {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{l: l}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			u, err := net.Dial("tcp", upstream)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, u)
			p.mu.Unlock()
			p.wg.Add(2)
			go func() { defer p.wg.Done(); io.Copy(u, c); u.Close() }()
			go func() { defer p.wg.Done(); p.copyGated(c, u); c.Close() }()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		p.release()
		p.breakAll()
		p.wg.Wait()
	})
	return p
}

func (p *proxy) addr() string { return p.l.Addr().String() }

func (p *proxy) copyGated(dst, src net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			p.mu.Lock()
			gate := p.gate
			p.mu.Unlock()
			if gate != nil {
				<-gate
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

func (p *proxy) hold() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.gate == nil {
		p.gate = make(chan struct{})
	}
}

func (p *proxy) release() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.gate != nil {
		close(p.gate)
		p.gate = nil
	}
}

func (p *proxy) breakAll() {
	p.mu.Lock()
	conns := p.conns
	p.conns = nil
	gate := p.gate
	p.gate = nil
	p.mu.Unlock()
	for _, c := range conns {
		c.Close()
	}
	if gate != nil {
		close(gate)
	}
}
