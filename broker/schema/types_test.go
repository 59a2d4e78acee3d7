package schema

import (
	"errors"
	"strings"
	"testing"
)

func TestParseType(t *testing.T) {
	tests := []struct {
		in      string
		want    Type
		wantErr bool
	}{
		{"bytes", TypeBytes, false},
		{"BYTES", TypeBytes, false},
		{"string", TypeString, false},
		{"String", TypeString, false},
		{"number", TypeNumber, false},
		{"int", TypeNumber, false},
		{"INT64", TypeNumber, false},
		{"float", TypeNumber, false},
		{"Double", TypeNumber, false},
		{"avro", TypeAvro, false},
		{"AVRO", TypeAvro, false},
		{"json_schema", TypeJSONSchema, false},
		{"JSON_SCHEMA", TypeJSONSchema, false},
		{"json", TypeJSONSchema, false},
		{"Json", TypeJSONSchema, false},
		{"protobuf", TypeProtobuf, false},
		{"proto", TypeProtobuf, false},
		{"ProtoBuf", TypeProtobuf, false},
		{"", "", true},
		{"xml", "", true},
		{"jsonschema", "", true},
		{"int32", "", true},
		{" avro", "", true},
	}
	for _, tt := range tests {
		got, err := ParseType(tt.in)
		if tt.wantErr {
			if !errors.Is(err, ErrInvalidType) {
				t.Errorf("ParseType(%q) error = %v, want ErrInvalidType", tt.in, err)
				continue
			}
			if !strings.Contains(err.Error(), `"`+tt.in+`"`) {
				t.Errorf("ParseType(%q) error %q does not quote the bad value", tt.in, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseType(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestParseMode(t *testing.T) {
	tests := []struct {
		in      string
		want    Mode
		wantErr bool
	}{
		{"none", ModeNone, false},
		{"NONE", ModeNone, false},
		{"backward", ModeBackward, false},
		{"BACKWARD", ModeBackward, false},
		{"Forward", ModeForward, false},
		{"full", ModeFull, false},
		{"FULL", ModeFull, false},
		{"", "", true},
		{"backwards", "", true},
		{"full_transitive", "", true},
	}
	for _, tt := range tests {
		got, err := ParseMode(tt.in)
		if tt.wantErr {
			if !errors.Is(err, ErrInvalidMode) {
				t.Errorf("ParseMode(%q) error = %v, want ErrInvalidMode", tt.in, err)
				continue
			}
			if !strings.Contains(err.Error(), `"`+tt.in+`"`) {
				t.Errorf("ParseMode(%q) error %q does not quote the bad value", tt.in, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseMode(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestSentinelErrorsArePrefixed(t *testing.T) {
	for _, e := range []error{ErrInvalidType, ErrInvalidMode, ErrInvalidSchema, ErrIncompatible, ErrSubjectNotFound,
		ErrSchemaNotFound, ErrVersionNotFound, ErrInvalidPayload, ErrEmptySubject} {
		if !strings.HasPrefix(e.Error(), "schema: ") {
			t.Errorf("%q lacks the \"schema: \" prefix", e)
		}
	}
}
