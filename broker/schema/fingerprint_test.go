package schema

import (
	"crypto/sha256"
	"encoding/hex"
	"testing"
)

func sha(s string) string {
	sum := sha256.Sum256([]byte(s))
	return "sha256:" + hex.EncodeToString(sum[:])
}

func fingerprintOf(t *testing.T, typ Type, def string) string {
	t.Helper()
	p, err := parseDefinition(typ, []byte(def))
	if err != nil {
		t.Fatalf("parseDefinition(%s, %q): %v", typ, def, err)
	}
	return p.fingerprint
}

func TestFingerprintExactValues(t *testing.T) {
	tests := []struct {
		typ  Type
		def  string
		want string
	}{
		{TypeBytes, "", "bytes"},
		{TypeString, "ignored", "string"},
		{TypeNumber, "", "number"},
		// Canonical JSON: sorted keys, no whitespace, no HTML escaping, numbers as written.
		{TypeJSONSchema, ` { "type" : "object", "description": "<a & b>", "maximum": 1.50 } `,
			sha(`{"description":"<a & b>","maximum":1.50,"type":"object"}`)},
		{TypeJSONSchema, `{"b":{"z":1,"a":[3,{"y":true,"x":null}]},"a":"é"}`,
			sha(`{"a":"é","b":{"a":[3,{"x":null,"y":true}],"z":1}}`)},
		{TypeAvro, "{\n  \"type\": \"record\", \"name\": \"R\",\n  \"fields\": []\n}",
			sha(`{"fields":[],"name":"R","type":"record"}`)},
		{TypeAvro, ` "string" `, sha(`"string"`)},
		// Protobuf: whitespace runs collapsed to one space, ends trimmed.
		{TypeProtobuf, "\n syntax = \"proto3\";\n\n\tmessage   M {\n  int32 a = 1;\n}\n",
			sha(`syntax = "proto3"; message M { int32 a = 1; }`)},
	}
	for _, tt := range tests {
		if got := fingerprintOf(t, tt.typ, tt.def); got != tt.want {
			t.Errorf("fingerprint(%s, %q) = %s, want %s", tt.typ, tt.def, got, tt.want)
		}
	}
}

func TestFingerprintIgnoresFormatting(t *testing.T) {
	pairs := []struct {
		typ  Type
		a, b string
		same bool
	}{
		{TypeJSONSchema, jsonOrderV1, "{\n  \"required\": [\"id\"],\n  \"properties\": { \"id\": { \"type\": \"integer\" } },\n  \"type\": \"object\"\n}", true},
		{TypeAvro, avroOrderV1, `{ "namespace":"shop", "fields":[{"type":"long","name":"id"}], "type":"record", "name":"Order" }`, true},
		{TypeProtobuf, protoOrderV1, "syntax = \"proto3\";   package shop;\nmessage Order {\n\n  int64 id = 1;\n  string note = 2;\n}", true},
		// Real differences change the fingerprint (array order is significant).
		{TypeJSONSchema, `{"required":["a","b"]}`, `{"required":["b","a"]}`, false},
		{TypeJSONSchema, jsonOrderV1, jsonOrderIDString, false},
		{TypeAvro, avroOrderV1, avroOrderAddDefault, false},
		{TypeProtobuf, protoOrderV1, protoOrderAddField, false},
	}
	for _, p := range pairs {
		fa, fb := fingerprintOf(t, p.typ, p.a), fingerprintOf(t, p.typ, p.b)
		if (fa == fb) != p.same {
			t.Errorf("%s fingerprints %s / %s: same = %v, want %v\n%s\n%s", p.typ, fa, fb, fa == fb, p.same, p.a, p.b)
		}
	}
}

func TestRegisterUsesFingerprintForIdempotency(t *testing.T) {
	r, _ := newRegistry(t)
	v1 := mustRegister(t, r, "s", "json", jsonOrderV1)
	v2, isNew, err := r.Register("s", "json_schema", []byte("{ \"type\":\"object\",\n\"required\":[\"id\"], \"properties\":{\"id\":{\"type\":\"integer\"}} }"), "", "", nil)
	if err != nil || isNew || v2.Version != v1.Version || v2.Fingerprint != v1.Fingerprint {
		t.Errorf("reformatted JSON registered as %+v, isNew=%v, err=%v; want version %d again", v2, isNew, err, v1.Version)
	}
	// The returned definition is the one first registered, byte for byte.
	if string(v2.Definition) != jsonOrderV1 {
		t.Errorf("definition = %q, want the originally registered bytes", v2.Definition)
	}
}
