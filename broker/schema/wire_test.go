package schema

import (
	"encoding/json"
	"testing"
)

func TestWireDefinition(t *testing.T) {
	tests := []struct {
		v    Version
		want string
	}{
		{Version{Type: TypeBytes, Definition: []byte("x"), Fingerprint: "bytes"}, `"Bytes"`},
		{Version{Type: TypeString, Fingerprint: "string"}, `"String"`},
		{Version{Type: TypeNumber, Fingerprint: "number"}, `"Number"`},
		{Version{Type: TypeAvro, Definition: []byte(`{"type":"string"}`), Fingerprint: "sha256:ab"},
			`{"Avro":{"raw_schema":"{\"type\":\"string\"}","fingerprint":"sha256:ab"}}`},
		{Version{Type: TypeJSONSchema, Definition: []byte("{\n\t\"description\": \"a<b & c>d\"\n}"), Fingerprint: "sha256:cd"},
			`{"JsonSchema":{"raw_schema":"{\n\t\"description\": \"a<b & c>d\"\n}","fingerprint":"sha256:cd"}}`},
		{Version{Type: TypeProtobuf, Definition: []byte(`syntax = "proto3"; message M {}`), Fingerprint: "sha256:ef"},
			`{"Protobuf":{"raw_schema":"syntax = \"proto3\"; message M {}","fingerprint":"sha256:ef"}}`},
	}
	for _, tt := range tests {
		got := WireDefinition(tt.v)
		if string(got) != tt.want {
			t.Errorf("WireDefinition(%s) =\n%s\nwant\n%s", tt.v.Type, got, tt.want)
		}
		if !json.Valid(got) {
			t.Errorf("WireDefinition(%s) is not valid JSON: %s", tt.v.Type, got)
		}
	}
}

func TestWireDefinitionOfRegisteredVersion(t *testing.T) {
	r, _ := newRegistry(t)
	v := mustRegister(t, r, "s", "avro", avroOrderV1)
	var decoded map[string]map[string]string
	if err := json.Unmarshal(WireDefinition(v), &decoded); err != nil {
		t.Fatal(err)
	}
	inner := decoded["Avro"]
	if len(decoded) != 1 || inner["raw_schema"] != avroOrderV1 || inner["fingerprint"] != v.Fingerprint {
		t.Errorf("decoded wire definition = %#v", decoded)
	}
}
