package tuitest

import (
	"errors"
	"testing"
	"time"
)

func TestNewChurnRefusesBadInput(t *testing.T) {
	f := Big()
	if _, err := NewChurn(f, 0, 10, 1000, "s00"); err == nil {
		t.Error("a zero interval was accepted")
	}
	if _, err := NewChurn(f, time.Second, 0, 1000, "s00"); err == nil {
		t.Error("zero messages per frame were accepted")
	}
	if _, err := NewChurn(f, time.Second, 10, 1000, "nope"); !errors.Is(err, ErrUnknown) {
		t.Errorf("unknown stream: %v, want ErrUnknown", err)
	}
}

// TestChurnStep checks that a step changes what a frame draws: the clock, every rate and series, the
// counters, and the fed stream, whose new messages continue its sequence.
func TestChurnStep(t *testing.T) {
	f := Big()
	c, err := NewChurn(f, 100*time.Millisecond, 10, 1000, "s00")
	if err != nil {
		t.Fatal(err)
	}
	before := f.Snapshot()
	msgs0, recv0 := f.Messages("s00", 1000)
	c.Step()
	after := f.Snapshot()
	if want := Epoch.Add(100 * time.Millisecond); !c.Now().Equal(want) || !after.Time.Equal(want) {
		t.Errorf("clock %v, snapshot %v, want %v", c.Now(), after.Time, want)
	}
	for i := range after.Producers {
		b, a := before.Producers[i], after.Producers[i]
		if a.MsgRate == b.MsgRate || a.Msgs <= b.Msgs || a.Series[len(a.Series)-1] != a.MsgRate || a.Series[0] != b.Series[1] {
			t.Fatalf("producer %d did not move: rate %v→%v, msgs %d→%d", i, b.MsgRate, a.MsgRate, b.Msgs, a.Msgs)
		}
	}
	for i := range after.Consumers {
		if after.Consumers[i].Received <= before.Consumers[i].Received {
			t.Fatalf("consumer %d received nothing", i)
		}
	}
	if &before.Producers[0].Series[0] == &after.Producers[0].Series[0] {
		t.Error("the step changed a series the last snapshot holds")
	}
	msgs, recv := f.Messages("s00", 1000)
	if recv != recv0+10 || len(msgs) != len(msgs0) {
		t.Fatalf("stream: %d received (%d kept), want %d (%d kept)", recv, len(msgs), recv0+10, len(msgs0))
	}
	last, prev := msgs[len(msgs)-1], msgs0[len(msgs0)-1]
	if last.Seq != prev.Seq+10 || last.Offset != prev.Offset+10 || !last.ReceivedAt.Equal(c.Now()) {
		t.Errorf("newest message: seq %d offset %d at %v, want seq %d offset %d at %v", last.Seq, last.Offset, last.ReceivedAt, prev.Seq+10, prev.Offset+10, c.Now())
	}
}
