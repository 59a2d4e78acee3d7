package store

import (
	"bytes"
	"errors"
	"fmt"
	"sync"
	"testing"
)

// payloadOf is the payload of the message at offset off in the tests below: 300 bytes that name it.
func payloadOf(off uint64) []byte {
	return bytes.Repeat([]byte(fmt.Sprintf("%08d", off)), 300/8)
}

// Reads run while the log is trimmed and then deleted: each read returns the messages of its offsets or
// ErrOffsetTruncated / ErrClosed, and what a read returned stays intact after the arenas it was decoded from
// were released and reused by another log writing other bytes.
func TestMemoryReadsSurviveTrimAndReuse(t *testing.T) {
	m := NewMemory()
	defer m.Close()
	lg, _ := m.Log("/default/a")
	const n = 8_000
	var kept [][]*messageAt
	var mu sync.Mutex
	var wg sync.WaitGroup
	stop := make(chan struct{})
	errs := make(chan error, 4)
	for range 2 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				from := lg.StartOffset()
				msgs, err := lg.Read(from, 64)
				if errors.Is(err, ErrOffsetTruncated) || errors.Is(err, ErrClosed) {
					continue
				}
				if err != nil {
					errs <- err
					return
				}
				var got []*messageAt
				for i, msg := range msgs {
					got = append(got, &messageAt{off: from + uint64(i), payload: msg.Payload, msgOff: msg.MsgId.TopicOffset})
				}
				mu.Lock()
				kept = append(kept, got)
				mu.Unlock()
			}
		})
	}
	for i := range n {
		msg := requestMsg(i, nil)
		msg.Payload = payloadOf(uint64(i))
		if _, err := lg.Append(msg); err != nil {
			t.Fatal(err)
		}
		if i%500 == 499 {
			if err := lg.TruncateBefore(uint64(i - 250)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := m.DeleteLog("/default/a"); err != nil {
		t.Fatal(err)
	}
	close(stop)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	// The released arenas are pooled: another log now writes other bytes into them.
	other, _ := m.Log("/default/b")
	for i := range n {
		msg := requestMsg(i, bytes.Repeat([]byte{0xee}, 300))
		if _, err := other.Append(msg); err != nil {
			t.Fatal(err)
		}
	}
	count := 0
	for _, got := range kept {
		for _, g := range got {
			count++
			if g.msgOff != g.off || !bytes.Equal(g.payload, payloadOf(g.off)) {
				t.Fatalf("the message read at offset %d reads offset %d, payload %.16q…", g.off, g.msgOff, g.payload)
			}
		}
	}
	if count == 0 {
		t.Fatal("no read returned a message while the log was written")
	}
}

type messageAt struct {
	off, msgOff uint64
	payload     []byte
}
