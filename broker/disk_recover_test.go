package broker_test

import (
	"encoding/binary"
	"encoding/hex"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/danube-console/danube-console/broker"
)

// damageRecord changes one byte of the record with offset off in a segment file of the current format, at
// position at within the record (0 is the start of its header, 24 the start of its body).
func damageRecord(t *testing.T, path string, off uint64, at int) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for pos := 8; pos+24 <= len(b); pos += 24 + int(binary.LittleEndian.Uint32(b[pos+12:])) {
		if binary.LittleEndian.Uint64(b[pos+4:]) == off {
			b[pos+at] ^= 0x5a
			if err := os.WriteFile(path, b, 0o644); err != nil {
				t.Fatal(err)
			}
			return
		}
	}
	t.Fatalf("no record with offset %d in %s", off, path)
}

// TestDiskRecoverySkipsDamagedRecords damages records of a topic's segment while the broker is stopped (the
// body of one and the header of another in the middle, and the last one): after a restart the subscription
// receives every other message, in order, across the holes, and new messages get offsets past the old ones.
func TestDiskRecoverySkipsDamagedRecords(t *testing.T) {
	dir := t.TempDir()
	st := openDisk(t, dir)
	opts := broker.Options{Store: st, FailurePolicy: fastPolicy()}
	w := newWire(t, opts)
	const topic = "/default/holes"
	p := w.mustProducer(topic, "p", true)
	cid := w.mustSubscribe(topic, "s", "c", exclusive)
	p.mustSend(seq("m", 100)...)
	if err := w.srv.Shutdown(ctx(t)); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	seg := filepath.Join(dir, "topics", "t-"+hex.EncodeToString([]byte(topic)), "00000000000000000000.seg")
	damageRecord(t, seg, 50, 24+3) // its body
	damageRecord(t, seg, 70, 1)    // its marker: found again by resynchronising
	damageRecord(t, seg, 99, 24+3) // the last one: a hole at the end of the log

	st2 := openDisk(t, dir)
	defer st2.Close()
	if r := st2.Recovery(); len(r) != 3 || r[0].FirstOffset != 50 || r[0].Records != 1 || r[1].FirstOffset != 70 || r[1].Records != 1 ||
		r[2].FirstOffset != 99 {
		t.Fatalf("recovery reports %+v", r)
	}
	opts.Store = st2
	w2 := newWire(t, opts)
	if got := w2.srv.Recovery(); !slices.Equal(got, st2.Recovery()) {
		t.Fatalf("the broker reports %+v, want the store's reports", got)
	}
	s := w2.receive(cid)
	for i := range 100 {
		if i == 50 || i == 70 || i == 99 {
			continue
		}
		m := s.next(t)
		if want := "m" + uitoa(uint64(i)); string(m.Payload) != want || m.MsgId.TopicOffset != uint64(i) {
			t.Fatalf("got %q at offset %d, want %s at %d", m.Payload, m.MsgId.TopicOffset, want, i)
		}
		w2.ack("s", m)
	}
	p2 := w2.mustProducer(topic, "p", true)
	p2.mustSend("after")
	if m := s.next(t); string(m.Payload) != "after" || m.MsgId.TopicOffset != 100 {
		t.Fatalf("got %q at offset %d, want after at 100", m.Payload, m.MsgId.TopicOffset)
	}
}
