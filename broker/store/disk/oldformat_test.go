package disk

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/danube-console/danube-console/proto/danubepb"
)

// The format version 1 encoders, as earlier releases wrote files: no file header, frames
// [uint32 length][uint32 CRC-32C of body][body].

func appendFramedV1(buf, body []byte) []byte {
	var hdr [v1HeaderSize]byte
	binary.LittleEndian.PutUint32(hdr[0:4], uint32(len(body)))
	binary.LittleEndian.PutUint32(hdr[4:8], checksum(body))
	return append(append(buf, hdr[:]...), body...)
}

func appendRecordV1(t testing.TB, buf []byte, msg *danubepb.StreamMessage) []byte {
	t.Helper()
	body, err := proto.MarshalOptions{Deterministic: true}.Marshal(msg)
	if err != nil {
		t.Fatal(err)
	}
	return appendFramedV1(buf, body)
}

func appendMetaRecordV1(buf []byte, op byte, key string, value []byte) []byte {
	body := []byte{op}
	body = binary.AppendUvarint(body, uint64(len(key)))
	body = append(body, key...)
	body = append(body, value...)
	return appendFramedV1(buf, body)
}

// writeV1Log writes a topic log in format version 1: segments of counts[i] records each, with the payloads
// appendN writes. It returns the segment paths.
func writeV1Log(t testing.TB, dir, topic string, counts []int) []string {
	t.Helper()
	name, _ := topicDirName(topic)
	tdir := filepath.Join(dir, "topics", name)
	if err := os.MkdirAll(tdir, 0o755); err != nil {
		t.Fatal(err)
	}
	var paths []string
	off := uint64(0)
	for _, n := range counts {
		var buf []byte
		base := off
		for range n {
			m := mkMsg(topic, payloadOf(topic, off))
			m.MsgId.TopicOffset = off
			buf = appendRecordV1(t, buf, m)
			off++
		}
		p := filepath.Join(tdir, segmentName(base))
		if err := os.WriteFile(p, buf, 0o644); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	return paths
}

// v1RecordStarts returns the file positions of the records of an undamaged version 1 file.
func v1RecordStarts(t testing.TB, path string) []int64 {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []int64
	for pos := int64(0); pos+v1HeaderSize <= int64(len(b)); pos += v1HeaderSize + int64(binary.LittleEndian.Uint32(b[pos:])) {
		out = append(out, pos)
	}
	return out
}
