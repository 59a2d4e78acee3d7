package bench

import (
	"errors"
	"testing"
)

// TestAcknowledgedKeepsFirstError: failed acknowledgements are counted and the first one's error is kept for
// the report (bench then fails with it).
func TestAcknowledgedKeepsFirstError(t *testing.T) {
	var r receivers
	first, second := errors.New("first refusal"), errors.New("second refusal")
	r.acknowledged(nil)
	r.acknowledged(first)
	r.acknowledged(second)
	if r.acked.Load() != 1 || r.ackFailed.Load() != 2 {
		t.Fatalf("acked %d, failed %d", r.acked.Load(), r.ackFailed.Load())
	}
	if e := r.firstAckErr.Load(); e == nil || !errors.Is(*e, first) {
		t.Fatalf("first ack error %v, want %v", e, first)
	}
}
