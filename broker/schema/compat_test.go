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

// jsonCase checks the real broker's JSON Schema rules: next against a subject whose only version is latest.
type jsonCase struct {
	name              string
	latest, next      string
	backward, forward []string // the errors, in order; none means compatible
}

const (
	jsonABC  = `{"type":"object","properties":{"a":{"type":"string"},"b":{"type":"string"},"c":{"type":"integer"}},"required":["a"]}`
	jsonBC   = `{"type":"object","properties":{"b":{"type":"string"},"c":{"type":"string"}},"required":["b"]}`
	jsonNest = `{"type":"object","properties":{"n":{"type":"object","properties":{"x":{"type":"integer"}},"required":["x"]}}}`
)

var jsonCases = []jsonCase{
	{"add optional property", jsonOrderV1, jsonOrderAddOptional, nil, nil},
	{"add new required property", jsonOrderV1, jsonOrderAddRequired,
		nil, []string{"Forward incompatible: added new required field 'name'"}},
	{"make optional property required", jsonOrderAddOptional, jsonOrderAddRequired,
		[]string{"Backward incompatible: made optional field 'name' required"}, nil},
	{"make required property optional", jsonOrderAddRequired, jsonOrderAddOptional, nil, nil},
	{"remove required property", jsonOrderAddRequired, jsonOrderV1,
		[]string{"Backward incompatible: removed required field 'name'"}, nil},
	{"remove optional property", jsonOrderAddOptional, jsonOrderV1, nil, nil},
	{"change property type", jsonOrderV1, jsonOrderIDString,
		[]string{"Backward incompatible: changed type of field 'id'"}, []string{"Forward incompatible: changed type of field 'id'"}},
	{"integer to number is a change", jsonOrderV1, jsonOrderIDNumber,
		[]string{"Backward incompatible: changed type of field 'id'"}, []string{"Forward incompatible: changed type of field 'id'"}},
	{"type list is a change", jsonOrderV1, `{"type":"object","properties":{"id":{"type":["integer","null"]}},"required":["id"]}`,
		[]string{"Backward incompatible: changed type of field 'id'"}, []string{"Forward incompatible: changed type of field 'id'"}},
	{"a side without type is compatible", jsonOrderV1, `{"type":"object","properties":{"id":{}},"required":["id"]}`, nil, nil},
	{"nested changes are not compared", jsonNest,
		`{"type":"object","properties":{"n":{"type":"object","properties":{"y":{"type":"string"}},"required":["y"]}}}`, nil, nil},
	{"root type is not compared", `{"type":"string"}`, `{"type":"object"}`, nil, nil},
	{"no properties before", `{"type":"object"}`, `{"type":"object","properties":{"x":{}},"required":["x"]}`,
		nil, []string{"Forward incompatible: added new required field 'x'"}},
	{"errors accumulate in rule order", jsonABC, jsonBC,
		[]string{"Backward incompatible: removed required field 'a'", "Backward incompatible: made optional field 'b' required",
			"Backward incompatible: changed type of field 'c'"},
		[]string{"Forward incompatible: changed type of field 'c'"}},
}

func TestJSONCompatibilityRealRules(t *testing.T) {
	for _, c := range jsonCases {
		t.Run(c.name, func(t *testing.T) {
			r, _ := newRegistry(t)
			mustRegister(t, r, "s", "json", c.latest)
			full := c.backward
			if len(full) == 0 {
				full = c.forward
			}
			for mode, want := range map[string][]string{"none": nil, "backward": c.backward, "forward": c.forward, "full": full} {
				ok, problems, err := r.CheckCompatibility("s", "json", []byte(c.next), str(mode))
				if err != nil {
					t.Fatalf("mode %s: %v", mode, err)
				}
				if ok != (len(want) == 0) || strings.Join(problems, "|") != strings.Join(want, "|") {
					t.Errorf("mode %s: = %v %q, want %q", mode, ok, problems, want)
				}
			}
			// Register applies the subject's mode (backward by default) the same way.
			_, _, err := r.Register("s", "json", []byte(c.next), "", "", nil)
			if len(c.backward) == 0 {
				if err != nil {
					t.Errorf("Register: %v", err)
				}
			} else {
				wantErr(t, err, ErrIncompatible, c.backward[0])
			}
		})
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
