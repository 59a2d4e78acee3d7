package disk

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/danube-console/danube-console/proto/danubepb"
)

// Files and records (format version 2).
//
// A segment file and the metadata file start with an 8-byte file header: a 6-byte magic ("DNSEG\x00" for
// segments, "DNMETA" for the metadata) and the format version as a little-endian uint16 (2). Every record
// after it is framed as
//
//	[uint32 marker][uint64 offset][uint32 body length][uint32 CRC-32C of body][uint32 CRC-32C of the 20 bytes before]
//
// (little endian; CRC-32C is Castagnoli). The marker lets recovery find the next record after a damaged one;
// the header's own checksum lets it trust a header (and so skip exactly one record) whose body is damaged. A
// segment record's offset is the message's offset and its body is proto.Marshal of the danubepb.StreamMessage
// with msg_id.topic_offset set to the same offset. A metadata record's offset is its sequence number in the
// file.
//
// Format version 1, written by earlier releases and still read, has no file header and frames records as
// [uint32 length][uint32 CRC-32C of body][body]; a segment record's offset is then its segment's base plus
// its index in the file.

const (
	fileHeaderSize = 8
	formatV1       = 1
	formatV2       = 2
	recHeaderSize  = 24
	v1HeaderSize   = 8
	// recMarker starts every version 2 record.
	recMarker = 0xD5A1E7C3
	// maxBody bounds a record body so that a corrupt length field never makes the store allocate gigabytes and
	// so that positions within a segment fit in a uint32.
	maxBody = 1<<30 - recHeaderSize
)

var (
	segMagic  = [6]byte{'D', 'N', 'S', 'E', 'G', 0}
	metaMagic = [6]byte{'D', 'N', 'M', 'E', 'T', 'A'}
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Reasons a record fails to decode. They end up in RecoveryReport.Reason.
var (
	errShortHeader = errors.New("torn record header")
	errBadHeader   = errors.New("damaged record header")
	errShortBody   = errors.New("torn record body")
	errTooLarge    = errors.New("record length out of range")
	errChecksum    = errors.New("checksum mismatch")
	errNoMsgID     = errors.New("message has no msg_id")
)

func checksum(b []byte) uint32 { return crc32.Checksum(b, castagnoli) }

// fileHeader returns the version 2 file header with the given magic.
func fileHeader(magic [6]byte) []byte {
	h := make([]byte, fileHeaderSize)
	copy(h, magic[:])
	binary.LittleEndian.PutUint16(h[6:], formatV2)
	return h
}

// parseFileHeader reports whether b starts with magic and, if so, the format version it names.
func parseFileHeader(b []byte, magic [6]byte) (version uint16, ok bool) {
	if len(b) < fileHeaderSize || [6]byte(b[:6]) != magic {
		return 0, false
	}
	return binary.LittleEndian.Uint16(b[6:8]), true
}

// putRecHeader fills a version 2 record header for body.
func putRecHeader(hdr []byte, off uint64, body []byte) {
	binary.LittleEndian.PutUint32(hdr[0:4], recMarker)
	binary.LittleEndian.PutUint64(hdr[4:12], off)
	binary.LittleEndian.PutUint32(hdr[12:16], uint32(len(body)))
	binary.LittleEndian.PutUint32(hdr[16:20], checksum(body))
	binary.LittleEndian.PutUint32(hdr[20:24], checksum(hdr[:20]))
}

// recHeader is a decoded version 2 record header.
type recHeader struct {
	off     uint64
	size    uint32
	bodyCRC uint32
}

// parseRecHeader decodes the version 2 record header at the front of b. ok is false when b is too short, the
// marker is missing, the header's checksum fails or the length is out of range.
func parseRecHeader(b []byte) (h recHeader, ok bool) {
	if len(b) < recHeaderSize || binary.LittleEndian.Uint32(b[0:4]) != recMarker ||
		checksum(b[:20]) != binary.LittleEndian.Uint32(b[20:24]) {
		return h, false
	}
	h = recHeader{
		off:     binary.LittleEndian.Uint64(b[4:12]),
		size:    binary.LittleEndian.Uint32(b[12:16]),
		bodyCRC: binary.LittleEndian.Uint32(b[16:20]),
	}
	return h, h.size <= maxBody
}

// appendRecord appends the version 2 framed encoding of msg, whose msg_id.topic_offset is its offset, to buf.
func appendRecord(buf []byte, msg *danubepb.StreamMessage) ([]byte, error) {
	start := len(buf)
	buf = append(buf, make([]byte, recHeaderSize)...)
	var err error
	buf, err = proto.MarshalOptions{Deterministic: true}.MarshalAppend(buf, msg)
	if err != nil {
		return buf[:start], fmt.Errorf("disk: encoding message: %w", err)
	}
	body := buf[start+recHeaderSize:]
	if len(body) > maxBody {
		return buf[:start], fmt.Errorf("disk: message of %d bytes: %w", len(body), errTooLarge)
	}
	putRecHeader(buf[start:start+recHeaderSize], msg.MsgId.GetTopicOffset(), body)
	return buf, nil
}

// appendFramed appends a version 2 frame around an already encoded body.
func appendFramed(buf []byte, off uint64, body []byte) []byte {
	var hdr [recHeaderSize]byte
	putRecHeader(hdr[:], off, body)
	return append(append(buf, hdr[:]...), body...)
}

// decodeFrame reads one version 2 framed record from the front of b. It returns the record's offset, its
// body (aliasing b) and its total length. It fails with errShortHeader or errShortBody when b ends inside the
// record, errBadHeader for a header that does not check out and errChecksum when the body does not match its
// CRC.
func decodeFrame(b []byte) (off uint64, body []byte, n int, err error) {
	if len(b) < recHeaderSize {
		return 0, nil, 0, errShortHeader
	}
	h, ok := parseRecHeader(b)
	if !ok {
		return 0, nil, 0, errBadHeader
	}
	if uint64(len(b)-recHeaderSize) < uint64(h.size) {
		return h.off, nil, 0, errShortBody
	}
	body = b[recHeaderSize : recHeaderSize+int(h.size)]
	if checksum(body) != h.bodyCRC {
		return h.off, nil, 0, errChecksum
	}
	return h.off, body, recHeaderSize + int(h.size), nil
}

// decodeRecord decodes one version 2 segment record from the front of b and checks that it carries offset
// want, in its header and in its message.
func decodeRecord(b []byte, want uint64) (*danubepb.StreamMessage, int, error) {
	off, body, n, err := decodeFrame(b)
	if err != nil {
		return nil, 0, err
	}
	if off != want {
		return nil, 0, fmt.Errorf("record header carries offset %d, expected %d", off, want)
	}
	m, err := decodeBody(body, want)
	if err != nil {
		return nil, 0, err
	}
	return m, n, nil
}

// decodeFrameV1 reads one version 1 framed record from the front of b, like decodeFrame.
func decodeFrameV1(b []byte) (body []byte, n int, err error) {
	if len(b) < v1HeaderSize {
		return nil, 0, errShortHeader
	}
	size := binary.LittleEndian.Uint32(b[0:4])
	if size > maxBody {
		return nil, 0, errTooLarge
	}
	if uint64(len(b)-v1HeaderSize) < uint64(size) {
		return nil, 0, errShortBody
	}
	body = b[v1HeaderSize : v1HeaderSize+int(size)]
	if checksum(body) != binary.LittleEndian.Uint32(b[4:8]) {
		return nil, 0, errChecksum
	}
	return body, v1HeaderSize + int(size), nil
}

// decodeRecordV1 decodes one version 1 segment record from the front of b and checks that it carries offset
// want.
func decodeRecordV1(b []byte, want uint64) (*danubepb.StreamMessage, int, error) {
	body, n, err := decodeFrameV1(b)
	if err != nil {
		return nil, 0, err
	}
	m, err := decodeBody(body, want)
	if err != nil {
		return nil, 0, err
	}
	return m, n, nil
}

// decodeBody unmarshals a segment record body and checks that it carries offset want.
func decodeBody(body []byte, want uint64) (*danubepb.StreamMessage, error) {
	m := new(danubepb.StreamMessage)
	if err := proto.Unmarshal(body, m); err != nil {
		return nil, fmt.Errorf("undecodable message: %w", err)
	}
	if m.MsgId == nil {
		return nil, errNoMsgID
	}
	if m.MsgId.TopicOffset != want {
		return nil, fmt.Errorf("record carries offset %d, expected %d", m.MsgId.TopicOffset, want)
	}
	return m, nil
}

// checkBody checks that body, a segment record body whose CRC has already matched, carries a msg_id whose
// topic_offset is want. Recovery uses it so that it can scan millions of records quickly.
//
// The CRC proves that the body holds the bytes the store wrote, and the store writes only proto.Marshal of a
// StreamMessage: a full validation would prove nothing more. What the CRC cannot prove is that the record
// holds the offset expected at its place in the file (a version 1 record's offset is its position; a version
// 2 record found by resynchronisation may be a frame embedded in a message), so checkBody reads the offset,
// and the wire format on the way to it.
func checkBody(body []byte, want uint64) error {
	off, hasID, err := scanBody(body)
	if err != nil {
		return fmt.Errorf("undecodable message: %w", err)
	}
	if !hasID {
		return errNoMsgID
	}
	if off != want {
		return fmt.Errorf("record carries offset %d, expected %d", off, want)
	}
	return nil
}

// Field numbers of StreamMessage.msg_id and MsgID.topic_offset (proto/DanubeApi.proto).
const (
	fieldMsgID       protowire.Number = 2
	fieldTopicOffset protowire.Number = 5
)

var errWire = errors.New("invalid wire-format data")

// scanBody reads msg_id.topic_offset from an encoded StreamMessage, without allocating, the way
// proto.Unmarshal would: msg_id fields merge and the last topic_offset wins; a field whose wire type does not
// match its declaration is an unknown field. It checks the wire format of the message and of its msg_id (tags,
// lengths, groups) and nothing else: for any body proto.Unmarshal accepts it finds the same offset, and it
// may accept bodies that proto.Unmarshal rejects (a string that is not UTF-8, say).
func scanBody(body []byte) (off uint64, hasID bool, err error) {
	err = eachField(body, func(num protowire.Number, typ protowire.Type, v []byte) error {
		if num != fieldMsgID || typ != protowire.BytesType {
			return nil
		}
		id, _ := protowire.ConsumeBytes(v)
		hasID = true
		return eachField(id, func(num protowire.Number, typ protowire.Type, v []byte) error {
			if num == fieldTopicOffset && typ == protowire.VarintType {
				off, _ = protowire.ConsumeVarint(v)
			}
			return nil
		})
	})
	if err != nil {
		return 0, false, err
	}
	return off, hasID, nil
}

// eachField calls f with each field of the encoded message b: its number, wire type and encoded value.
func eachField(b []byte, f func(num protowire.Number, typ protowire.Type, v []byte) error) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 || typ == protowire.EndGroupType {
			return errWire
		}
		b = b[n:]
		if n = protowire.ConsumeFieldValue(num, typ, b); n < 0 {
			return errWire
		}
		if err := f(num, typ, b[:n]); err != nil {
			return err
		}
		b = b[n:]
	}
	return nil
}
