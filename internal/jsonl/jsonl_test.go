package jsonl

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/danube-console/danube-console/client"
)

func strp(s string) *string { return &s }

// record builds a record with payload p stored as SetPayload stores it.
func record(topic string, offset uint64, p []byte) Record {
	r := Record{Topic: topic, Offset: offset, PublishTime: time.UnixMilli(1_700_000_000_123).UTC()}
	r.SetPayload(p)
	return r
}

func TestRoundTrip(t *testing.T) {
	binary := make([]byte, 256)
	for i := range binary {
		binary[i] = byte(i)
	}
	full := record("/default/a", 7, []byte("héllo <b>&</b> \"quoted\"\nsecond line\t✓"))
	full.ProducerID, full.BrokerAddr, full.Producer, full.RequestID, full.Subscription = 42, "http://127.0.0.1:6650", "writer", 3, "sub"
	full.Key = strp("customer-1")
	full.Attributes = map[string]string{"a": "1", "b": "x=y", "empty": ""}
	full.SchemaID, full.SchemaVersion = 9, 2
	emptyKey := record("/default/a", 8, []byte(""))
	emptyKey.Key = strp("")
	in := []Record{
		full,
		record("/default/b", 0, binary),
		emptyKey,
		record("/default/c-part-1", 1<<63, []byte{0xff}),
		record("/default/d", 0, nil),
	}

	var buf bytes.Buffer
	w := NewWriter(&buf)
	for _, r := range in {
		if err := w.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(lines) != len(in) {
		t.Fatalf("%d lines for %d records:\n%s", len(lines), len(in), buf.String())
	}
	// HTML characters are written as they are, and each record is one line.
	if !strings.Contains(lines[0], `<b>&</b>`) || !strings.Contains(lines[0], `\n`) {
		t.Errorf("line 1: %s", lines[0])
	}
	// Text payloads as text, others as base64; only the set fields appear.
	for i, want := range []struct {
		text, b64 bool
		fields    []string
		absent    []string
	}{
		{true, false, []string{"key", "attributes", "schema_id", "schema_version", "producer", "producer_id", "broker_addr", "request_id", "subscription"}, nil},
		{false, true, []string{"topic", "offset", "publish_time"}, []string{"key", "attributes", "schema_id", "producer"}},
		{true, false, []string{"key"}, []string{"attributes"}},
		{false, true, nil, nil},
		{true, false, nil, nil},
	} {
		var obj map[string]any
		if err := json.Unmarshal([]byte(lines[i]), &obj); err != nil {
			t.Fatal(err)
		}
		_, text := obj["payload"]
		_, b64 := obj["payload_base64"]
		if text != want.text || b64 != want.b64 {
			t.Errorf("line %d: payload %v payload_base64 %v: %s", i+1, text, b64, lines[i])
		}
		for _, f := range want.fields {
			if _, ok := obj[f]; !ok {
				t.Errorf("line %d lacks %q: %s", i+1, f, lines[i])
			}
		}
		for _, f := range want.absent {
			if _, ok := obj[f]; ok {
				t.Errorf("line %d has %q: %s", i+1, f, lines[i])
			}
		}
	}
	if got := base64.StdEncoding.EncodeToString(binary); !strings.Contains(lines[1], `"payload_base64":"`+got+`"`) {
		t.Errorf("line 2: %s", lines[1])
	}

	r := NewReader(&buf)
	for i, want := range in {
		got, err := r.Next()
		if err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("record %d:\n got %+v\nwant %+v", i, got, want)
		}
		gp, err := got.Bytes()
		wp, _ := want.Bytes()
		if err != nil || !bytes.Equal(gp, wp) {
			t.Errorf("record %d: payload %q %v, want %q", i, gp, err, wp)
		}
		if r.Line() != i+1 {
			t.Errorf("record %d read from line %d", i, r.Line())
		}
	}
	if p, _ := in[1].Bytes(); !bytes.Equal(p, binary) {
		t.Errorf("binary payload %v", p)
	}
	if _, err := r.Next(); err != io.EOF {
		t.Fatalf("after the last record: %v, want io.EOF", err)
	}
}

func TestSetPayloadAndBytes(t *testing.T) {
	var r Record
	r.SetPayload([]byte("text"))
	if r.Payload == nil || *r.Payload != "text" || r.PayloadBase64 != nil {
		t.Fatalf("text: %+v", r)
	}
	r.SetPayload([]byte{'a', 0xc3}) // a truncated UTF-8 sequence
	if r.Payload != nil || r.PayloadBase64 == nil || *r.PayloadBase64 != "YcM=" {
		t.Fatalf("binary: %+v", r)
	}
	for _, tc := range []struct {
		r    Record
		want string
	}{
		{Record{}, "no payload"},
		{Record{Payload: strp("a"), PayloadBase64: strp("YQ==")}, "both"},
		{Record{PayloadBase64: strp("not base64!")}, "payload_base64"},
	} {
		if _, err := tc.r.Bytes(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Bytes of %+v: %v, want an error with %q", tc.r, err, tc.want)
		}
	}
}

// TestReaderReportsLines checks that every bad line is reported with its number, counting blank lines, and
// that reading goes on after it.
func TestReaderReportsLines(t *testing.T) {
	input := strings.Join([]string{
		`{"topic":"/default/a","offset":0,"publish_time":"2024-01-02T03:04:05Z","payload":"one"}`, // 1
		``,                 // 2
		`   `,              // 3
		`{"topic":"/defau`, // 4: truncated
		`{"topic":"/default/a","offset":1,"publish_time":"2024-01-02T03:04:05Z","payload_base64":"AAE="}`, // 5
		`{"topic":"/default/a","offset":2,"publish_time":"2024-01-02T03:04:05Z"}`,                         // 6: no payload
		`{"topic":"/default/a","payload":"x","payload_base64":"eA=="}`,                                    // 7: both
		`{"topic":"/default/a","payload_base64":"%%%"}`,                                                   // 8: bad base64
		`[1,2]`, // 9: not an object
		`{"topic":"/default/a","offset":"three","payload":"x"}`, // 10: wrong type
		`{"topic":"/default/a","payload":"last"}`,               // 11, CRLF-terminated
	}, "\n") + "\r\n"
	r := NewReader(strings.NewReader(input))
	type step struct {
		payload string // want a record with this payload...
		line    int    // ...or an error naming this line
		errText string
	}
	for i, s := range []step{
		{payload: "one"},
		{line: 4, errText: "unexpected end of JSON input"},
		{payload: "\x00\x01"},
		{line: 6, errText: "no payload"},
		{line: 7, errText: "both payload and payload_base64"},
		{line: 8, errText: "payload_base64"},
		{line: 9, errText: "cannot unmarshal array"},
		{line: 10, errText: "offset"},
		{payload: "last"},
	} {
		rec, err := r.Next()
		if s.errText == "" {
			p, perr := rec.Bytes()
			if err != nil || perr != nil || string(p) != s.payload {
				t.Fatalf("step %d: %q %v %v, want payload %q", i, p, err, perr, s.payload)
			}
			continue
		}
		if err == nil || errors.Is(err, io.EOF) {
			t.Fatalf("step %d: no error, want one for line %d", i, s.line)
		}
		if prefix := "line " + strconv.Itoa(s.line) + ": "; !strings.HasPrefix(err.Error(), prefix) || !strings.Contains(err.Error(), s.errText) {
			t.Errorf("step %d: %v, want %q... %q", i, err, prefix, s.errText)
		}
		if r.Line() != s.line {
			t.Errorf("step %d: Line() = %d, want %d", i, r.Line(), s.line)
		}
	}
	if _, err := r.Next(); err != io.EOF {
		t.Fatalf("at the end: %v", err)
	}
}

// TestReaderLongLines reads a record far longer than the scanner's initial buffer, and reports a line longer
// than the limit with its number.
func TestReaderLongLines(t *testing.T) {
	big := bytes.Repeat([]byte{0xfe}, 3<<20) // 4 MiB of base64
	var buf bytes.Buffer
	w := NewWriter(&buf)
	w.Write(record("/default/a", 0, []byte("small")))
	w.Write(record("/default/a", 1, big))
	r := NewReader(&buf)
	if _, err := r.Next(); err != nil {
		t.Fatal(err)
	}
	rec, err := r.Next()
	if err != nil {
		t.Fatal(err)
	}
	if p, _ := rec.Bytes(); !bytes.Equal(p, big) {
		t.Fatalf("a %d-byte payload came back as %d bytes", len(big), len(p))
	}

	if testing.Short() {
		return
	}
	huge := `{"topic":"/default/a","payload":"` + strings.Repeat("x", maxLine) + `"}`
	r = NewReader(strings.NewReader(`{"topic":"/default/a","payload":"ok"}` + "\n" + huge + "\n"))
	if _, err := r.Next(); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Next(); err == nil || !strings.HasPrefix(err.Error(), "line 2: ") {
		t.Fatalf("a line over %d bytes: %v, want an error for line 2", maxLine, err)
	}
}

func TestFromMessage(t *testing.T) {
	at := time.UnixMilli(1_700_000_000_123).In(time.FixedZone("east", 3600))
	m := &client.Message{
		ID:           client.MessageID{ProducerID: 5, Topic: "/default/t-part-2", BrokerAddr: "http://b:6650", Offset: 11},
		Payload:      []byte("hi"),
		PublishTime:  at,
		ProducerName: "p-2",
		Attributes:   map[string]string{"k": "v"},
		RoutingKey:   "", HasRoutingKey: true,
		SchemaID: 3, SchemaVersion: 4,
		RequestID:    6,
		Subscription: "s",
	}
	got := FromMessage(m)
	want := Record{Topic: "/default/t-part-2", ProducerID: 5, BrokerAddr: "http://b:6650", Offset: 11, PublishTime: at.UTC(),
		Producer: "p-2", RequestID: 6, Subscription: "s", Key: strp(""), Attributes: map[string]string{"k": "v"},
		SchemaID: 3, SchemaVersion: 4, Payload: strp("hi")}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("FromMessage:\n got %+v\nwant %+v", got, want)
	}
	m.HasRoutingKey = false
	m.Payload = []byte{0x80}
	got = FromMessage(m)
	if got.Key != nil || got.Payload != nil || got.PayloadBase64 == nil || *got.PayloadBase64 != "gA==" {
		t.Fatalf("no key, binary payload: %+v", got)
	}
}
