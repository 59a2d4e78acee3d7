package store

import (
	"errors"
	"strconv"
	"testing"

	"github.com/danube-console/danube-console/proto/danubepb"
)

// fullRecord returns the record of a message with every optional field set, and the interner it was encoded
// with.
func fullRecord(t *testing.T) ([]byte, *interner) {
	t.Helper()
	schema, version, key := uint64(7), uint32(3), "key-1"
	m := &danubepb.StreamMessage{
		RequestId: 1 << 40, PublishTime: 1_765_000_000_000, ProducerName: "p", SubscriptionName: "s",
		SchemaId: &schema, SchemaVersion: &version, RoutingKey: &key,
		Attributes: map[string]string{"a": "1", "b": "22"},
		Payload:    []byte("payload"),
		MsgId:      &danubepb.MsgID{ProducerId: 9, TopicName: "/default/t", BrokerAddr: "127.0.0.1:6650"},
	}
	m.ProtoReflect().SetUnknown([]byte{0xf8, 0x07, 0x01}) // field 127, varint 1
	m.MsgId.ProtoReflect().SetUnknown([]byte{0xf8, 0x07, 0x02})
	in := &interner{}
	rec := append(in.appendHeader(nil, m), m.Payload...)
	return rec, in
}

func decodeOf(in *interner, rec []byte) error {
	var m danubepb.StreamMessage
	var id danubepb.MsgID
	pay := make([]byte, 0, len(rec))
	return in.decodeRecord(rec, 5, &m, &id, &pay)
}

// A damaged record never panics the decoder: it decodes or fails with errDamagedRecord, whatever byte is
// changed and wherever the record is cut; cut inside its header, or with flag bits that no record has, it
// fails.
func TestDecodeDamagedRecord(t *testing.T) {
	rec, in := fullRecord(t)
	if err := decodeOf(in, rec); err != nil {
		t.Fatalf("the intact record: %v", err)
	}
	header := len(rec) - len("payload")
	check := func(name string, b []byte, mustFail bool) {
		t.Helper()
		defer func() {
			if r := recover(); r != nil {
				t.Fatalf("%s: decoding panicked: %v", name, r)
			}
		}()
		err := decodeOf(in, b)
		if err != nil && !errors.Is(err, errDamagedRecord) {
			t.Fatalf("%s: %v, want errDamagedRecord", name, err)
		}
		if mustFail && err == nil {
			t.Fatalf("%s: decoded without an error", name)
		}
	}
	for n := range header {
		check("cut at "+strconv.Itoa(n), rec[:n:n], true)
	}
	for i := range rec {
		for _, v := range []byte{0x00, 0x01, 0x7f, 0x80, 0xff, rec[i] ^ 0x55} {
			b := append([]byte(nil), rec...)
			b[i] = v
			check("byte "+strconv.Itoa(i)+" set to "+strconv.Itoa(int(v)), b, false)
		}
	}
	for bit := recNilPayload << 1; bit < 1<<8; bit <<= 1 {
		b := append([]byte(nil), rec...)
		b[0] |= byte(bit)
		check("flag "+strconv.Itoa(bit), b, true)
	}
}
