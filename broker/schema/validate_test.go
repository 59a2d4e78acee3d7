package schema

import (
	"encoding/binary"
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/hamba/avro/v2"
	"google.golang.org/protobuf/encoding/protowire"
)

const avroValidateSchema = `{"type":"record","name":"Order","fields":[
	{"name":"id","type":"long"},
	{"name":"name","type":"string"},
	{"name":"tags","type":{"type":"array","items":"string"}},
	{"name":"note","type":["null","string"],"default":null}
]}`

const jsonValidateSchema = `{"type":"object","properties":{
	"id":{"type":"integer","minimum":1},
	"name":{"type":"string"}
},"required":["id"],"additionalProperties":false}`

const protoValidateSchema = `syntax = "proto2";
package v;
message Order {
  required int64 id = 1;
  optional string name = 2;
  repeated int32 qty = 3;
}
message Other { optional string s = 1; }
`

func avroPayload(t *testing.T, v map[string]any) []byte {
	t.Helper()
	b, err := avro.Marshal(avro.MustParse(avroValidateSchema), v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func protoPayload(id int64, name string) []byte {
	var b []byte
	b = protowire.AppendTag(b, 1, protowire.VarintType)
	b = protowire.AppendVarint(b, uint64(id))
	if name != "" {
		b = protowire.AppendTag(b, 2, protowire.BytesType)
		b = protowire.AppendString(b, name)
	}
	return b
}

func TestValidatePayloads(t *testing.T) {
	r, _ := newRegistry(t)
	subjects := map[string]Version{
		"bytes":  mustRegister(t, r, "bytes", "bytes", ""),
		"string": mustRegister(t, r, "string", "string", ""),
		"number": mustRegister(t, r, "number", "double", ""),
		"json":   mustRegister(t, r, "json", "json_schema", jsonValidateSchema),
		"avro":   mustRegister(t, r, "avro", "avro", avroValidateSchema),
		"proto":  mustRegister(t, r, "proto", "protobuf", protoValidateSchema),
	}
	okAvro := avroPayload(t, map[string]any{"id": int64(7), "name": "widget", "tags": []any{"a", "b"}, "note": map[string]any{"string": "hi"}})
	eight := make([]byte, 8)
	binary.BigEndian.PutUint64(eight, math.Float64bits(2.5))

	tests := []struct {
		name    string
		subject string
		payload []byte
		valid   bool
	}{
		{"bytes anything", "bytes", []byte{0xff, 0x00, 0xfe}, true},
		{"bytes empty", "bytes", nil, true},

		{"string utf8", "string", []byte("héllo, 世界"), true},
		{"string empty", "string", []byte(""), true},
		{"string invalid utf8", "string", []byte{'a', 0xff, 0xfe}, false},

		{"number integer text", "number", []byte("42"), true},
		{"number float text", "number", []byte("-3.25e2"), true},
		{"number 8 bytes", "number", eight, true},
		{"number words", "number", []byte("forty-two"), false},
		{"number 4 bytes", "number", []byte{0, 0, 0, 1}, false},
		{"number empty", "number", nil, false},
		{"number padded", "number", []byte(" 42"), false},

		{"json valid", "json", []byte(`{"id": 3, "name": "x"}`), true},
		{"json missing required", "json", []byte(`{"name": "x"}`), false},
		{"json wrong type", "json", []byte(`{"id": "3"}`), false},
		{"json below minimum", "json", []byte(`{"id": 0}`), false},
		{"json extra property", "json", []byte(`{"id": 1, "x": 1}`), false},
		{"json not json", "json", []byte(`id=1`), false},
		{"json trailing data", "json", []byte(`{"id": 1} {"id": 2}`), false},
		{"json empty", "json", nil, false},

		{"avro valid", "avro", okAvro, true},
		{"avro valid null union", "avro", avroPayload(t, map[string]any{"id": int64(1), "name": "", "tags": []any{}, "note": nil}), true},
		{"avro truncated", "avro", okAvro[:len(okAvro)-2], false},
		{"avro trailing byte", "avro", append(append([]byte{}, okAvro...), 0), false},
		{"avro bad union index", "avro", append(append([]byte{}, okAvro[:len(okAvro)-4]...), 0x08), false},
		{"avro empty", "avro", nil, false},
		{"avro huge string length", "avro", []byte{0x02, 0xfe, 0xff, 0xff, 0xff, 0x0f}, false},

		{"proto valid", "proto", protoPayload(5, "n"), true},
		{"proto valid unknown field", "proto", protowire.AppendVarint(protowire.AppendTag(protoPayload(5, ""), 9, protowire.VarintType), 1), true},
		{"proto missing required", "proto", []byte{}, false},
		{"proto truncated", "proto", protoPayload(5, "name")[:5], false},
		{"proto garbage", "proto", []byte{0xff, 0xff, 0xff}, false},
		{"proto invalid utf8 in proto2 string is accepted", "proto", append(protoPayload(5, ""), 0x12, 0x01, 0xff), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := subjects[tt.subject]
			err := r.Validate(v.Subject, v.SchemaID, v.Version, tt.payload)
			if tt.valid && err != nil {
				t.Errorf("Validate = %v, want nil", err)
			}
			if !tt.valid {
				wantErr(t, err, ErrInvalidPayload, tt.subject)
			}
		})
	}
}

func TestValidateProto3InvalidUTF8(t *testing.T) {
	r, _ := newRegistry(t)
	v := mustRegister(t, r, "p3", "protobuf", protoOrderV1)
	var b []byte
	b = protowire.AppendTag(b, 2, protowire.BytesType)
	b = protowire.AppendBytes(b, []byte{0xff})
	// proto3 strings must be UTF-8.
	wantErr(t, r.Validate("p3", v.SchemaID, 1, b), ErrInvalidPayload, "shop.Order")
	if err := r.Validate("p3", v.SchemaID, 1, protowire.AppendString(protowire.AppendTag(nil, 2, protowire.BytesType), "ok")); err != nil {
		t.Error(err)
	}
}

func TestValidateUsesFirstMessage(t *testing.T) {
	r, _ := newRegistry(t)
	v := mustRegister(t, r, "p", "protobuf", `syntax = "proto3";
message First { int64 id = 1; }
message Second { string s = 1; }`)
	// Field 1 as a length-delimited string is not an int64 (it is kept as an unknown field), but a
	// malformed varint for field 1 fails.
	if err := r.Validate("p", v.SchemaID, 1, protoPayload(12, "")); err != nil {
		t.Errorf("First{id:12}: %v", err)
	}
	wantErr(t, r.Validate("p", v.SchemaID, 1, []byte{0x08, 0xff}), ErrInvalidPayload, "First")
}

func TestValidateIdentity(t *testing.T) {
	r, _ := newRegistry(t)
	a := mustRegister(t, r, "a", "json", jsonOrderV1)
	b := mustRegister(t, r, "b", "string", "")
	payload := []byte(`{"id":1}`)

	if err := r.Validate("a", a.SchemaID, 1, payload); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		subject string
		id      uint64
		version uint32
		also    error
	}{
		{"other subject's id", "a", b.SchemaID, 1, ErrSchemaNotFound},
		{"unknown id", "a", 99, 1, ErrSchemaNotFound},
		{"missing id", "a", 0, 1, ErrSchemaNotFound},
		{"unknown version", "a", a.SchemaID, 2, ErrVersionNotFound},
		{"version zero", "a", a.SchemaID, 0, ErrVersionNotFound},
		{"unknown subject", "zzz", a.SchemaID, 1, ErrSubjectNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := r.Validate(tt.subject, tt.id, tt.version, payload)
			wantErr(t, err, ErrInvalidPayload, tt.subject)
			wantErr(t, err, tt.also)
		})
	}
}

func TestValidatePicksTheVersion(t *testing.T) {
	r, _ := newRegistry(t)
	if err := r.SetMode("s", "none"); err == nil {
		t.Fatal("SetMode on unknown subject succeeded")
	}
	v1 := mustRegister(t, r, "s", "json", `{"type":"object","properties":{"id":{"type":"integer"}}}`)
	if err := r.SetMode("s", "none"); err != nil {
		t.Fatal(err)
	}
	v2 := mustRegister(t, r, "s", "json", `{"type":"object","properties":{"id":{"type":"string"}}}`)
	intID, strID := []byte(`{"id":1}`), []byte(`{"id":"1"}`)
	if err := r.Validate("s", v1.SchemaID, v1.Version, intID); err != nil {
		t.Errorf("v1 int id: %v", err)
	}
	wantErr(t, r.Validate("s", v1.SchemaID, v1.Version, strID), ErrInvalidPayload)
	if err := r.Validate("s", v2.SchemaID, v2.Version, strID); err != nil {
		t.Errorf("v2 string id: %v", err)
	}
	wantErr(t, r.Validate("s", v2.SchemaID, v2.Version, intID), ErrInvalidPayload)

	// After deletion the version no longer validates anything.
	if err := r.DeleteVersion("s", 1); err != nil {
		t.Fatal(err)
	}
	wantErr(t, r.Validate("s", v1.SchemaID, 1, intID), ErrVersionNotFound)
}

// TestValidateRandomPayloadsDoNotPanic feeds arbitrary bytes to every decoder: they must fail or pass,
// never panic or hang.
func TestValidateRandomPayloadsDoNotPanic(t *testing.T) {
	r, _ := newRegistry(t)
	vs := []Version{
		mustRegister(t, r, "json", "json", jsonValidateSchema),
		mustRegister(t, r, "avro", "avro", avroValidateSchema),
		mustRegister(t, r, "proto", "protobuf", protoValidateSchema),
		mustRegister(t, r, "map", "avro", `{"type":"map","values":{"type":"array","items":["null","double","bytes"]}}`),
	}
	rng := rand.New(rand.NewPCG(1, 2))
	accepted := 0
	for i := 0; i < 3000; i++ {
		payload := make([]byte, rng.IntN(40))
		for j := range payload {
			payload[j] = byte(rng.UintN(256))
		}
		for _, v := range vs {
			if err := r.Validate(v.Subject, v.SchemaID, v.Version, payload); err == nil {
				accepted++
			} else if !errors.Is(err, ErrInvalidPayload) {
				t.Fatalf("Validate(%s, %x) = %v, not ErrInvalidPayload", v.Subject, payload, err)
			}
		}
	}
	t.Logf("%d random payloads accepted", accepted)
}

func TestValidateJSONErrorIsOneLine(t *testing.T) {
	r, _ := newRegistry(t)
	v := mustRegister(t, r, "j", "json", jsonValidateSchema)
	err := r.Validate("j", v.SchemaID, 1, []byte(`{"id":"x","extra":true}`))
	wantErr(t, err, ErrInvalidPayload, "/id", "extra")
	if strings.Contains(err.Error(), "\n") {
		t.Errorf("error text spans lines: %q", err)
	}
}
