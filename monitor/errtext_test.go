package monitor

import (
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/danube-console/danube-console/client"
)

// unreadable returns what makes an error's text hard to read, or "": a segment (the text split on ": ")
// that repeats, or a subject that the console's layers name other than once (the broker's own answer, an
// *client.APIError, is quoted as it is and not counted).
func unreadable(err error, subjects ...string) string {
	if err == nil {
		return "no error"
	}
	text := err.Error()
	seen := map[string]bool{}
	for seg := range strings.SplitSeq(text, ": ") {
		seg = strings.TrimSpace(seg)
		if seg != "" && seen[seg] {
			return "the segment " + seg + " repeats"
		}
		seen[seg] = true
	}
	ours := text
	if ae, ok := errors.AsType[*client.APIError](err); ok {
		ours = strings.Replace(ours, ae.Error(), "", 1)
	}
	for _, s := range subjects {
		if n := strings.Count(ours, s); n != 1 {
			return "the subject " + s + " is named " + strconv.Itoa(n) + " times"
		}
	}
	return ""
}

// The checker catches the texts it is meant to catch.
func TestUnreadableCatchesRepeats(t *testing.T) {
	for _, c := range []struct {
		err      error
		subjects []string
	}{
		{errors.New("lookup /default/nope: lookup /default/nope: Unable to find"), nil},
		{errors.New("start consumer c on /default/x: subscribe /default/x: danube: topic not found"), []string{"/default/x"}},
		{errors.New("ack 1 message: messages not pending"), []string{"/default/x"}},
	} {
		if unreadable(c.err, c.subjects...) == "" {
			t.Errorf("%q passes", c.err)
		}
	}
	if p := unreadable(errors.New("lookup /default/x: Unable to find the requested topic"), "/default/x"); p != "" {
		t.Errorf("a readable text: %s", p)
	}
}

// Each error of a real failure says once what failed and why: driven against an embedded broker through the
// monitor, no segment of its text repeats, it names its subject once (besides the broker's own words), and
// it still matches the sentinels with errors.Is.
func TestErrorTextsSayItOnce(t *testing.T) {
	f := start(t, Options{})
	ctx := ctxT(t)
	const rel = "/default/rel-texts"
	f.producer(t, rel, "p", true)
	if err := f.m.StartConsumer(ctx, ConsumerSpec{Name: "tap", Topic: rel, Subscription: "s", ManualAck: true}); err != nil {
		t.Fatal(err)
	}
	stream := StreamID(rel, "s", "tap")
	p, err := f.c.NewProducer(ctx, client.ProducerConfig{Topic: rel, Name: "p2", Dispatch: client.Reliable})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(ctx)
	if _, err := p.Send(ctx, []byte("one")); err != nil {
		t.Fatal(err)
	}
	eventually(t, f.m, "a pending message", func(s Snapshot) bool { c, ok := consumerOf(s, stream); return ok && c.Pending == 1 })
	if err := f.m.Ack(ctx, stream, []uint64{1}); err != nil {
		t.Fatal(err)
	}

	lookup := func(topic string) error { _, err := f.m.Lookup(ctx, topic); return err }
	describe := func(topic string) error { _, err := f.m.DescribeTopic(ctx, topic); return err }
	for _, c := range []struct {
		what     string
		err      error
		is       error
		subjects []string
		want     string // a part of the text, when it must say something in particular
	}{
		{"lookup of an unknown topic", lookup("/default/nope"), client.ErrTopicNotFound, []string{"/default/nope"}, "lookup /default/nope: "},
		{"lookup of a bad name", lookup("nope"), client.ErrInvalidTopic, []string{"nope"}, ""},
		{"tap on an unknown topic", f.m.StartConsumer(ctx, ConsumerSpec{Topic: "/default/nope", Subscription: "s1"}),
			client.ErrTopicNotFound, []string{"/default/nope", "s1"}, ""},
		{"tap on a bad name", f.m.StartConsumer(ctx, ConsumerSpec{Topic: "bad", Subscription: "s2"}),
			client.ErrInvalidTopic, []string{"bad", "s2"}, ""},
		{"tap with a name in use", f.m.StartConsumer(ctx, ConsumerSpec{Name: "tap", Topic: rel, Subscription: "s3"}),
			ErrExists, []string{rel}, ""},
		{"non-reliable producer on a reliable topic", f.m.StartProducer(ctx, ProducerSpec{Name: "np", Topic: rel, Rate: 1}),
			client.ErrDispatchMismatch, []string{rel, "np"}, "the topic is reliable"},
		{"produce to a bad name", f.m.Produce(ctx, "bad", []byte("x")), client.ErrInvalidTopic, []string{"bad"}, ""},
		{"ack of a message acked already", f.m.Ack(ctx, stream, []uint64{1}), ErrNotPending, []string{rel}, "offset 0 (acked)"},
		{"nack of a message no longer kept", f.m.Nack(ctx, stream, []uint64{42}, time.Second, "why"), ErrNotPending,
			[]string{rel}, "1 no longer kept"},
		// The broker's answer is a real broker's (which says "active consumers" of a topic that does not exist).
		{"unsubscribe from an unknown topic", f.m.Unsubscribe(ctx, "/default/nope", "s"), nil,
			[]string{"/default/nope"}, ""},
		{"describe an unknown topic", describe("/default/nope"), client.ErrTopicNotFound, []string{"/default/nope"}, ""},
		{"delete an unknown topic", f.m.DeleteTopic(ctx, "/default/nope"), client.ErrTopicNotFound, []string{"/default/nope"}, ""},
		{"unload an unknown topic", f.m.UnloadTopic(ctx, "/default/nope"), nil, []string{"/default/nope"}, ""},
		{"create a topic in an unknown namespace", f.m.CreateTopic(ctx, "/nons/x", TopicOptions{}), client.ErrNamespaceNotFound,
			[]string{"/nons/x"}, ""},
		{"stop an unknown tap", f.m.StopConsumer(ctx, "zz"), ErrNotFound, []string{"zz"}, ""},
		{"replay into an unknown namespace", func() error {
			_, err := f.m.Replay(ctx, []Message{{Topic: rel, Payload: []byte("x")}}, "/nons/y", nil)
			return err
		}(), client.ErrNamespaceNotFound, []string{"/nons/y"}, "stopped after 0 of 1"},
	} {
		t.Run(c.what, func(t *testing.T) {
			if p := unreadable(c.err, c.subjects...); p != "" {
				t.Errorf("%s: %q", p, c.err)
			}
			if c.is != nil && !errors.Is(c.err, c.is) {
				t.Errorf("%q does not match %v", c.err, c.is)
			}
			if c.want != "" && !strings.Contains(c.err.Error(), c.want) {
				t.Errorf("%q does not say %q", c.err, c.want)
			}
			t.Log(c.err)
		})
	}
}
