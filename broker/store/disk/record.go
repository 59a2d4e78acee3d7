package disk

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"unicode/utf8"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

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

// checkBody verifies, without allocating, that body unmarshals into a StreamMessage (scanBody accepts exactly
// what proto.Unmarshal accepts, which FuzzRecordDecode checks) that has a msg_id whose topic_offset is want.
// Recovery uses it so that it can scan millions of records quickly.
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

// scanBody validates an encoded StreamMessage and returns its msg_id.topic_offset (following protobuf's merge
// rules: repeated msg_id fields merge, the last topic_offset wins) and whether msg_id is present.
func scanBody(body []byte) (off uint64, hasID bool, err error) {
	c := offsetCapture{}
	if err := validateMessage(body, streamMessageSchema, 0, &c); err != nil {
		return 0, false, err
	}
	return c.off, c.hasID, nil
}

var (
	errWire = errors.New("invalid wire-format data")
	errUTF8 = errors.New("string field contains invalid UTF-8")
)

// msgSchema is a message descriptor compiled for validation: what each field number expects.
type msgSchema struct {
	byNum []*fieldSchema // indexed by field number
	more  map[protowire.Number]*fieldSchema
}

type fieldSchema struct {
	wire     protowire.Type // wire type of one element
	packable bool           // a repeated scalar, which may also come packed
	utf8     bool           // a string whose UTF-8 the runtime checks
	msg      *msgSchema     // for message fields
	mapKey   *fieldSchema   // for map fields
	mapVal   *fieldSchema
	// What scanBody captures.
	isMsgID, isTopicOffset bool
}

func (ms *msgSchema) field(num protowire.Number) *fieldSchema {
	if int(num) < len(ms.byNum) {
		return ms.byNum[num]
	}
	return ms.more[num]
}

var streamMessageSchema = func() *msgSchema {
	ms := compileSchema((*danubepb.StreamMessage)(nil).ProtoReflect().Descriptor(), map[protoreflect.FullName]*msgSchema{})
	id := ms.field(2)
	id.isMsgID = true
	id.msg.field(5).isTopicOffset = true
	return ms
}()

func compileSchema(md protoreflect.MessageDescriptor, seen map[protoreflect.FullName]*msgSchema) *msgSchema {
	if ms, ok := seen[md.FullName()]; ok {
		return ms
	}
	ms := &msgSchema{more: map[protowire.Number]*fieldSchema{}}
	seen[md.FullName()] = ms
	fields := md.Fields()
	for i := range fields.Len() {
		fd := fields.Get(i)
		fs := compileField(fd, seen)
		if fd.IsMap() {
			fs = &fieldSchema{wire: protowire.BytesType, mapKey: compileField(fd.MapKey(), seen), mapVal: compileField(fd.MapValue(), seen)}
		}
		if n := int(fd.Number()); n < 64 {
			for len(ms.byNum) <= n {
				ms.byNum = append(ms.byNum, nil)
			}
			ms.byNum[n] = fs
		} else {
			ms.more[fd.Number()] = fs
		}
	}
	return ms
}

func compileField(fd protoreflect.FieldDescriptor, seen map[protoreflect.FullName]*msgSchema) *fieldSchema {
	fs := &fieldSchema{wire: wireTypeOf(fd.Kind())}
	fs.packable = fd.IsList() && fs.wire != protowire.BytesType && fs.wire != protowire.StartGroupType
	fs.utf8 = fd.Kind() == protoreflect.StringKind && fd.Syntax() == protoreflect.Proto3
	if fd.Kind() == protoreflect.MessageKind && !fd.IsMap() {
		fs.msg = compileSchema(fd.Message(), seen)
	}
	return fs
}

// offsetCapture collects msg_id.topic_offset while validating.
type offsetCapture struct {
	off   uint64
	hasID bool
}

// validateMessage reports whether proto.Unmarshal would accept b as a message of schema ms, without building
// the message. It follows the Go protobuf runtime's rules: a known field whose wire type does not match is kept
// as an unknown field, proto3 strings must be valid UTF-8, field numbers must be in range, groups must be
// closed. c, when set, receives msg_id.topic_offset.
func validateMessage(b []byte, ms *msgSchema, depth int, c *offsetCapture) error {
	if depth > protowire.DefaultRecursionLimit {
		return errWire
	}
	for len(b) > 0 {
		var tag uint64
		var n int
		if b[0] < 0x80 {
			tag, n = uint64(b[0]), 1
		} else if tag, n = protowire.ConsumeVarint(b); n < 0 {
			return errWire
		}
		b = b[n:]
		num, typ := protowire.Number(tag>>3), protowire.Type(tag&7)
		if tag>>3 < uint64(protowire.MinValidNumber) || tag>>3 > uint64(protowire.MaxValidNumber) {
			return errWire
		}
		if typ == protowire.EndGroupType {
			return errWire // no group is open at the top of a message
		}
		if fs := ms.field(num); fs != nil {
			n, err := validateKnown(b, fs, typ, depth, c)
			if err != nil {
				return err
			}
			if n > 0 {
				b = b[n:]
				continue
			}
		}
		if n = protowire.ConsumeFieldValue(num, typ, b); n < 0 {
			return errWire
		}
		b = b[n:]
	}
	return nil
}

// validateKnown checks the value of a known field at the front of b and returns its length, or 0 when the wire
// type does not match the field (the runtime then keeps it as an unknown field).
func validateKnown(b []byte, fs *fieldSchema, typ protowire.Type, depth int, c *offsetCapture) (int, error) {
	switch {
	case fs.mapKey != nil:
		if typ != protowire.BytesType {
			return 0, nil
		}
		v, n := protowire.ConsumeBytes(b)
		if n < 0 || depth+1 > protowire.DefaultRecursionLimit {
			return 0, errWire
		}
		return n, validateMapEntry(v, fs.mapKey, fs.mapVal, depth+1)
	case typ == fs.wire:
		return validateValue(b, fs, typ, depth, c)
	case fs.packable && typ == protowire.BytesType:
		return validatePacked(b, fs.wire)
	}
	return 0, nil
}

func validateMapEntry(b []byte, key, val *fieldSchema, depth int) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 || num > protowire.MaxValidNumber {
			return errWire
		}
		b = b[n:]
		var fs *fieldSchema
		switch num {
		case 1:
			fs = key
		case 2:
			fs = val
		}
		if fs != nil && typ == fs.wire {
			n, err := validateValue(b, fs, typ, depth, nil)
			if err != nil {
				return err
			}
			if n > 0 {
				b = b[n:]
				continue
			}
		}
		if n = protowire.ConsumeFieldValue(num, typ, b); n < 0 {
			return errWire
		}
		b = b[n:]
	}
	return nil
}

// validateValue checks one value of a field whose wire type matches and returns its length (0 for a group,
// which the caller skips like an unknown field; the danube schema has none).
func validateValue(b []byte, fs *fieldSchema, typ protowire.Type, depth int, c *offsetCapture) (int, error) {
	switch typ {
	case protowire.VarintType:
		v, n := protowire.ConsumeVarint(b)
		if n < 0 {
			return 0, errWire
		}
		if c != nil && fs.isTopicOffset {
			c.off = v
		}
		return n, nil
	case protowire.Fixed32Type:
		if len(b) < 4 {
			return 0, errWire
		}
		return 4, nil
	case protowire.Fixed64Type:
		if len(b) < 8 {
			return 0, errWire
		}
		return 8, nil
	case protowire.BytesType:
		v, n := protowire.ConsumeBytes(b)
		if n < 0 {
			return 0, errWire
		}
		if fs.utf8 && !utf8.Valid(v) {
			return 0, errUTF8
		}
		if fs.msg != nil {
			var sub *offsetCapture
			if c != nil && fs.isMsgID {
				c.hasID, sub = true, c
			}
			if err := validateMessage(v, fs.msg, depth+1, sub); err != nil {
				return 0, err
			}
		}
		return n, nil
	}
	return 0, nil
}

// validatePacked checks a packed repeated scalar field.
func validatePacked(b []byte, elem protowire.Type) (int, error) {
	v, n := protowire.ConsumeBytes(b)
	if n < 0 {
		return 0, errWire
	}
	for len(v) > 0 {
		var m int
		switch elem {
		case protowire.VarintType:
			_, m = protowire.ConsumeVarint(v)
		case protowire.Fixed32Type:
			_, m = protowire.ConsumeFixed32(v)
		case protowire.Fixed64Type:
			_, m = protowire.ConsumeFixed64(v)
		}
		if m <= 0 {
			return 0, errWire
		}
		v = v[m:]
	}
	return n, nil
}

func wireTypeOf(k protoreflect.Kind) protowire.Type {
	switch k {
	case protoreflect.BoolKind, protoreflect.EnumKind, protoreflect.Int32Kind, protoreflect.Sint32Kind,
		protoreflect.Uint32Kind, protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Uint64Kind:
		return protowire.VarintType
	case protoreflect.Fixed32Kind, protoreflect.Sfixed32Kind, protoreflect.FloatKind:
		return protowire.Fixed32Type
	case protoreflect.Fixed64Kind, protoreflect.Sfixed64Kind, protoreflect.DoubleKind:
		return protowire.Fixed64Type
	case protoreflect.GroupKind:
		return protowire.StartGroupType
	}
	return protowire.BytesType
}
