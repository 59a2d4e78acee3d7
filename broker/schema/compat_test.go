package schema

import (
	"strings"
	"testing"
)

// compatCase checks `next` against a subject whose only version is `latest`, under every mode.
type compatCase struct {
	name         string
	typ          string
	latest, next string
	// backward: next can read latest's data; forward: latest can read next's data.
	backward, forward bool
	// mention is text expected in the problems when incompatible.
	mention string
}

var compatCases = []compatCase{
	// Avro
	{"avro add field without default", "avro", avroOrderV1, avroOrderAddNoDef, false, true, "qty"},
	{"avro add field with default", "avro", avroOrderV1, avroOrderAddDefault, true, true, ""},
	{"avro remove field without default", "avro", avroOrderAddNoDef, avroOrderV1, true, false, "qty"},
	{"avro change field type", "avro", avroOrderV1, avroOrderIDString, false, false, "string"},
	{"avro promote int to long", "avro", avroIntV1, avroIntToLong, true, false, ""},
	{"avro rename record", "avro", avroOrderV1, `{"type":"record","name":"Other","namespace":"shop","fields":[{"name":"id","type":"long"}]}`, false, false, ""},
	{"avro add enum symbol", "avro",
		`{"type":"enum","name":"E","symbols":["A","B"]}`, `{"type":"enum","name":"E","symbols":["A","B","C"]}`, true, false, ""},

	// JSON Schema
	{"json add required property", "json", jsonOrderV1, jsonOrderAddRequired, false, true, "$.name"},
	{"json add optional property", "json", jsonOrderV1, jsonOrderAddOptional, true, true, ""},
	{"json make optional property required", "json", jsonOrderAddOptional, jsonOrderAddRequired, false, true, "optional in the writer"},
	{"json change property type", "json", jsonOrderV1, jsonOrderIDString, false, false, "$.id"},
	{"json widen integer to number", "json", jsonOrderV1, jsonOrderIDNumber, true, false, "$.id"},
	{"json closed reader gains property", "json",
		`{"type":"object","properties":{"id":{"type":"integer"}},"additionalProperties":false}`,
		`{"type":"object","properties":{"id":{"type":"integer"},"x":{"type":"string"}},"additionalProperties":false}`,
		true, false, "$.x"},
	{"json open latest, closed next", "json",
		`{"type":"object","properties":{"id":{"type":"integer"},"x":{"type":"string"}}}`,
		`{"type":"object","properties":{"id":{"type":"integer"}},"additionalProperties":false}`,
		false, true, "additionalProperties"},
	{"json nested required", "json",
		`{"type":"object","properties":{"customer":{"type":"object","properties":{"name":{"type":"string"}}}}}`,
		`{"type":"object","properties":{"customer":{"type":"object","properties":{"name":{"type":"string"},"email":{"type":"string"}},"required":["email"]}}}`,
		false, true, "$.customer.email"},
	{"json nested type change in array items", "json",
		`{"type":"object","properties":{"tags":{"type":"array","items":{"type":"string"}}}}`,
		`{"type":"object","properties":{"tags":{"type":"array","items":{"type":"integer"}}}}`,
		false, false, "$.tags[]"},
	{"json root type change", "json", `{"type":"string"}`, `{"type":"object"}`, false, false, "$: type changed"},
	{"json type list widened", "json", `{"type":"string"}`, `{"type":["string","null"]}`, true, false, "null"},
	{"json odd property name path", "json",
		`{"type":"object"}`, `{"type":"object","properties":{"a b":{}},"required":["a b"]}`, false, true, `$["a b"]`},

	// Protobuf
	{"proto add field", "protobuf", protoOrderV1, protoOrderAddField, true, true, ""},
	{"proto remove field", "protobuf", protoOrderAddField, protoOrderV1, true, true, ""},
	{"proto change field type", "protobuf", protoOrderV1, protoOrderNoteInt, false, false, "field 2 (note): type changed"},
	{"proto change cardinality", "protobuf", protoOrderV1, protoOrderNoteRepeated, false, false, "cardinality changed"},
	{"proto2 add required field", "protobuf", proto2V1, proto2AddRequired, false, true, "required by the reader"},
	{"proto2 remove required field", "protobuf", proto2AddRequired, proto2V1, true, false, "required by the reader"},
	{"proto rename field keeps number", "protobuf", protoOrderV1,
		strings.Replace(protoOrderV1, "string note = 2", "string comment = 2", 1), true, true, ""},
	{"proto change nested message type", "protobuf",
		`syntax = "proto3"; message A { message B { int32 x = 1; } B b = 1; }`,
		`syntax = "proto3"; message A { message B { string x = 1; } B b = 1; }`, false, false, "A.B field 1"},
	{"proto change map value", "protobuf",
		`syntax = "proto3"; message A { map<string, int32> m = 1; }`,
		`syntax = "proto3"; message A { map<string, string> m = 1; }`, false, false, "map<string, int32>"},

	// Primitives
	{"string to string", "string", "", "", true, true, ""},
}

func TestCompatibilityByMode(t *testing.T) {
	for _, c := range compatCases {
		t.Run(c.name, func(t *testing.T) {
			r, _ := newRegistry(t)
			mustRegister(t, r, "s", c.typ, c.latest)
			want := map[string]bool{
				"none":     true,
				"backward": c.backward,
				"forward":  c.forward,
				"full":     c.backward && c.forward,
			}
			for mode, wantOK := range want {
				ok, problems, err := r.CheckCompatibility("s", c.typ, []byte(c.next), str(mode))
				if err != nil {
					t.Fatalf("mode %s: %v", mode, err)
				}
				if ok != wantOK {
					t.Errorf("mode %s: compatible = %v, want %v (problems %q)", mode, ok, wantOK, problems)
				}
				if ok != (len(problems) == 0) {
					t.Errorf("mode %s: compatible = %v with problems %q", mode, ok, problems)
				}
				joined := strings.Join(problems, "\n")
				if !ok && c.mention != "" && !strings.Contains(joined, c.mention) {
					t.Errorf("mode %s: problems %q do not mention %q", mode, problems, c.mention)
				}
				if !ok && mode != "full" && !strings.HasPrefix(joined, mode+": ") {
					t.Errorf("mode %s: problems %q not labelled with the failing direction", mode, problems)
				}
			}
			// Without an override the subject's mode (default backward) applies.
			ok, _, err := r.CheckCompatibility("s", c.typ, []byte(c.next), nil)
			if err != nil || ok != c.backward {
				t.Errorf("default mode: compatible = %v, %v; want %v", ok, err, c.backward)
			}
			// CheckCompatibility changes nothing; Register agrees with it.
			_, isNew, err := r.Register("s", c.typ, []byte(c.next), "", "", nil)
			if c.backward {
				if err != nil {
					t.Errorf("Register: %v", err)
				}
				if c.latest != c.next && c.typ != "string" && !isNew {
					t.Error("Register of a compatible new schema returned isNew=false")
				}
			} else {
				wantErr(t, err, ErrIncompatible, c.mention)
			}
		})
	}
}

func TestCompatibilityFullReportsBothDirections(t *testing.T) {
	r, _ := newRegistry(t)
	mustRegister(t, r, "s", "json", jsonOrderV1)
	ok, problems, err := r.CheckCompatibility("s", "json", []byte(jsonOrderIDString), str("FULL"))
	if err != nil || ok {
		t.Fatalf("= %v, %v", ok, err)
	}
	joined := strings.Join(problems, "\n")
	if !strings.Contains(joined, "backward: $.id") || !strings.Contains(joined, "forward: $.id") {
		t.Errorf("problems %q should report both directions", problems)
	}
}

func TestCheckCompatibilityTypeChange(t *testing.T) {
	r, _ := newRegistry(t)
	mustRegister(t, r, "s", "avro", avroOrderV1)
	for _, mode := range []string{"backward", "forward", "full"} {
		ok, problems, err := r.CheckCompatibility("s", "json", []byte(jsonOrderV1), str(mode))
		if err != nil || ok || len(problems) != 1 || !strings.Contains(problems[0], "type changed from avro to json_schema") {
			t.Errorf("mode %s: = %v, %q, %v; want a type-change problem", mode, ok, problems, err)
		}
	}
	ok, problems, err := r.CheckCompatibility("s", "json", []byte(jsonOrderV1), str("none"))
	if err != nil || !ok || len(problems) != 0 {
		t.Errorf("mode none: = %v, %q, %v; want compatible", ok, problems, err)
	}
}

func TestCheckCompatibilityEdgeCases(t *testing.T) {
	r, _ := newRegistry(t)
	mustRegister(t, r, "s", "avro", avroOrderV1)

	// Unknown subject: nothing to break, whatever the mode.
	ok, problems, err := r.CheckCompatibility("unknown", "avro", []byte(avroOrderAddNoDef), str("full"))
	if err != nil || !ok || problems != nil {
		t.Errorf("unknown subject = %v, %q, %v; want compatible", ok, problems, err)
	}
	if _, ok := r.SubjectID("unknown"); ok {
		t.Error("CheckCompatibility created a subject")
	}

	_, _, err = r.CheckCompatibility("", "avro", []byte(avroOrderV1), nil)
	wantErr(t, err, ErrEmptySubject)
	_, _, err = r.CheckCompatibility("s", "yaml", []byte(avroOrderV1), nil)
	wantErr(t, err, ErrInvalidType, `"yaml"`)
	_, _, err = r.CheckCompatibility("s", "avro", []byte(`{"type":"nope"}`), nil)
	wantErr(t, err, ErrInvalidSchema)
	_, _, err = r.CheckCompatibility("s", "avro", []byte(avroOrderV1), str("strict"))
	wantErr(t, err, ErrInvalidMode, `"strict"`)
	// Invalid input is reported even for unknown subjects.
	_, _, err = r.CheckCompatibility("unknown", "avro", []byte(`{`), nil)
	wantErr(t, err, ErrInvalidSchema)

	// The subject's own mode is used when no override is given.
	if err := r.SetMode("s", "forward"); err != nil {
		t.Fatal(err)
	}
	ok, _, err = r.CheckCompatibility("s", "avro", []byte(avroOrderAddNoDef), nil)
	if err != nil || !ok {
		t.Errorf("forward subject mode = %v, %v; want compatible", ok, err)
	}
	ok, _, err = r.CheckCompatibility("s", "avro", []byte(avroOrderAddNoDef), str("Backward"))
	if err != nil || ok {
		t.Errorf("backward override = %v, %v; want incompatible", ok, err)
	}
	if vs, _ := r.Versions("s"); len(vs) != 1 {
		t.Errorf("CheckCompatibility registered something: %d versions", len(vs))
	}
}
