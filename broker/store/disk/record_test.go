package disk

import (
	"errors"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/danube-console/danube-console/proto/danubepb"
)

// TestCheckBody: recovery's offset reader finds msg_id.topic_offset as proto.Unmarshal would, and rejects a
// body it cannot walk.
func TestCheckBody(t *testing.T) {
	m := mkMsg("/default/t", "hello")
	m.MsgId.TopicOffset = 42
	marshalled, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	msgID := func(fields ...[]byte) []byte {
		var id []byte
		for _, f := range fields {
			id = append(id, f...)
		}
		return protowire.AppendBytes(protowire.AppendTag(nil, fieldMsgID, protowire.BytesType), id)
	}
	offset := func(v uint64) []byte {
		return protowire.AppendVarint(protowire.AppendTag(nil, fieldTopicOffset, protowire.VarintType), v)
	}
	cat := func(bs ...[]byte) []byte {
		var out []byte
		for _, b := range bs {
			out = append(out, b...)
		}
		return out
	}
	for _, tc := range []struct {
		name string
		body []byte
		want uint64
		err  error // nil, errNoMsgID or errWire
	}{
		{"marshalled", marshalled, 42, nil},
		{"empty body", nil, 0, errNoMsgID},
		{"empty msg_id", msgID(), 0, nil},
		{"msg_id fields merge", cat(msgID(offset(7)), msgID()), 7, nil},
		{"the last offset wins", cat(msgID(offset(7)), msgID(offset(9))), 9, nil},
		{"an offset of another wire type is unknown", msgID(protowire.AppendFixed64(protowire.AppendTag(nil, fieldTopicOffset, protowire.Fixed64Type), 5)), 0, nil},
		{"a msg_id of another wire type is unknown", protowire.AppendVarint(protowire.AppendTag(nil, fieldMsgID, protowire.VarintType), 3), 0, errNoMsgID},
		{"a torn body", marshalled[:len(marshalled)-1], 0, errWire},
		{"a torn msg_id", msgID(offset(1 << 40))[:6], 0, errWire},
		{"a stray end-group", []byte{0x0c}, 0, errWire},
		{"field number 0", []byte{0x00}, 0, errWire},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := checkBody(tc.body, tc.want)
			if !errors.Is(err, tc.err) {
				t.Fatalf("checkBody(%x, %d) = %v, want %v", tc.body, tc.want, err, tc.err)
			}
			if tc.err == nil {
				if err := checkBody(tc.body, tc.want+1); err == nil {
					t.Errorf("checkBody accepted offset %d for a body that carries %d", tc.want+1, tc.want)
				}
				var got danubepb.StreamMessage
				if proto.Unmarshal(tc.body, &got) == nil && got.GetMsgId().GetTopicOffset() != tc.want {
					t.Errorf("proto.Unmarshal finds offset %d, checkBody %d", got.GetMsgId().GetTopicOffset(), tc.want)
				}
			}
		})
	}
	if n := testing.AllocsPerRun(100, func() { _ = checkBody(marshalled, 42) }); n != 0 {
		t.Errorf("checkBody allocates %v times per record", n)
	}
}
