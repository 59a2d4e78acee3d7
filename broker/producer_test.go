package broker_test

import (
	"strings"
	"testing"

	"google.golang.org/grpc/codes"

	"github.com/danube-console/danube-console/broker"
	"github.com/danube-console/danube-console/proto/danubepb"
)

func TestCreateProducer(t *testing.T) {
	w := newWire(t, broker.Options{Policies: broker.Policies{MaxProducersPerTopic: 2}})

	t.Run("auto-create in an existing namespace only", func(t *testing.T) {
		w.mustProducer("/default/auto", "p", false)
		w.mustProducer("/system/auto", "p", false)
		_, err := w.createProducer("/nope/auto", "p", false)
		wantStatus(t, err, codes.Unavailable,
			"Unable to find the namespace nope, the topic can be created only for an exisiting namespace")
	})
	t.Run("same name gets the same id", func(t *testing.T) {
		a := w.mustProducer("/default/same", "p", false)
		b := w.mustProducer("/default/same", "p", false)
		c := w.mustProducer("/default/same", "q", false)
		if a.id != b.id || a.id == c.id || a.id == 0 {
			t.Fatalf("ids %d %d %d", a.id, b.id, c.id)
		}
	})
	t.Run("producer limit", func(t *testing.T) {
		w.mustProducer("/default/limit", "p1", false)
		w.mustProducer("/default/limit", "p2", false)
		w.mustProducer("/default/limit", "p1", false) // reconnect by name is not a new producer
		_, err := w.createProducer("/default/limit", "p3", false)
		wantStatus(t, err, codes.ResourceExhausted, "Producer limit reached for topic /default/limit")
	})
	t.Run("dispatch strategy must match", func(t *testing.T) {
		w.mustProducer("/default/rel", "p", true)
		_, err := w.createProducer("/default/rel", "q", false)
		wantStatus(t, err, codes.FailedPrecondition, "Producer requested dispatch strategy does not match topic strategy")
		w.mustProducer("/default/nonrel", "p", false)
		_, err = w.createProducer("/default/nonrel", "q", true)
		wantStatus(t, err, codes.FailedPrecondition, "Producer requested dispatch strategy does not match topic strategy")
	})
	t.Run("empty producer name", func(t *testing.T) {
		_, err := w.createProducer("/default/x", "", false)
		wantStatus(t, err, codes.InvalidArgument, "")
	})
	t.Run("partitioned and plain names conflict", func(t *testing.T) {
		w.mustProducer("/default/plain2", "p", false)
		_, err := w.createProducer("/default/plain2-part-0", "p", false)
		wantStatus(t, err, codes.AlreadyExists, "")
		w.mustProducer("/default/parted-part-0", "p", false)
		_, err = w.createProducer("/default/parted", "p", false)
		wantStatus(t, err, codes.AlreadyExists, "")
		// A name that only looks like a partition without digits is an ordinary topic.
		w.mustProducer("/default/parted-part-x", "p", false)
	})
}

func TestCreateProducerNoAutoCreate(t *testing.T) {
	w := newWire(t, broker.Options{DisableAutoCreate: true})
	_, err := w.createProducer("/default/none", "p", false)
	wantStatus(t, err, codes.NotFound, "Unable to find the topic: /default/none")
}

func TestSendMessageErrors(t *testing.T) {
	w := newWire(t, broker.Options{Policies: broker.Policies{MaxMessageSize: 1000}})
	p := w.mustProducer("/default/send", "p", false)

	t.Run("no msg_id", func(t *testing.T) {
		_, err := w.Producer.SendMessage(ctx(t), &danubepb.StreamMessage{Payload: []byte("x")})
		wantStatus(t, err, codes.InvalidArgument, "")
	})
	t.Run("unknown producer", func(t *testing.T) {
		m := p.message("x")
		m.MsgId.ProducerId = 42
		_, err := w.Producer.SendMessage(ctx(t), m)
		wantStatus(t, err, codes.NotFound, "The producer with id 42 does not exist")
	})
	t.Run("too large", func(t *testing.T) {
		err := p.send(strings.Repeat("x", 1001))
		wantStatus(t, err, codes.InvalidArgument, "Message size 1001 exceeds maximum allowed 1000 for topic /default/send")
		if err := p.send(strings.Repeat("x", 1000)); err != nil {
			t.Fatalf("a message at the limit: %v", err)
		}
	})
	t.Run("wrong topic", func(t *testing.T) {
		m := p.message("x")
		m.MsgId.TopicName = "/default/other"
		_, err := w.Producer.SendMessage(ctx(t), m)
		wantStatus(t, err, codes.PermissionDenied,
			"Unable to publish the message: the producer with id "+itoa(p.id)+" is not attached to topic name: /default/other")
	})
	t.Run("echoes request id", func(t *testing.T) {
		m := p.message("x")
		m.RequestId = 777
		resp, err := w.Producer.SendMessage(ctx(t), m)
		if err != nil || resp.RequestId != 777 {
			t.Fatalf("resp %v err %v", resp, err)
		}
	})
}

// TestOversizedNeverResourceExhausted checks that a message above gRPC's default 4 MiB limit, but within the
// broker's receive envelope (the policy plus 4 MiB), is refused by the size policy (InvalidArgument, not
// retried by clients) rather than by gRPC (ResourceExhausted, retried for ever by the official clients).
// TestLimitOversizedRequestNotRead covers requests beyond the envelope.
func TestOversizedNeverResourceExhausted(t *testing.T) {
	w := newWire(t, broker.Options{})
	p := w.mustProducer("/default/big", "p", false)
	err := p.send(strings.Repeat("x", 6<<20))
	wantStatus(t, err, codes.InvalidArgument, "")
	if err := p.send(strings.Repeat("x", broker.DefaultMaxMessageSize)); err != nil {
		t.Fatalf("a message of the default maximum size: %v", err)
	}
}

func itoa(v uint64) string {
	return strings.TrimSpace(strings.Repeat(" ", 0) + uitoa(v))
}

func uitoa(v uint64) string {
	if v == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	for v > 0 {
		i--
		b[i] = byte('0' + v%10)
		v /= 10
	}
	return string(b[i:])
}
