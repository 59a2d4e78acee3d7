package schema

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors. Every error the package returns wraps one (or, for Validate, several) of these, so callers
// can classify failures with errors.Is; the wrapping error's text says what exactly was wrong.
var (
	// ErrInvalidType reports a schema type string that ParseType does not accept.
	ErrInvalidType = errors.New("schema: invalid schema type")
	// ErrInvalidMode reports a compatibility mode string that ParseMode does not accept.
	ErrInvalidMode = errors.New("schema: invalid compatibility mode")
	// ErrInvalidSchema reports a schema definition that cannot be parsed or compiled for its type.
	ErrInvalidSchema = errors.New("schema: invalid schema definition")
	// ErrIncompatible reports a registration refused by the subject's compatibility mode; the text lists the
	// reasons.
	ErrIncompatible = errors.New("schema: incompatible schema")
	// ErrSubjectNotFound reports a subject that was never registered (or, for Latest, that has no versions).
	ErrSubjectNotFound = errors.New("schema: subject not found")
	// ErrSchemaNotFound reports an unknown schema id.
	ErrSchemaNotFound = errors.New("schema: schema id not found")
	// ErrVersionNotFound reports a version that does not exist (or no longer exists) in a subject.
	ErrVersionNotFound = errors.New("schema: version not found")
	// ErrInvalidPayload reports a message payload refused by Validate.
	ErrInvalidPayload = errors.New("schema: invalid payload")
	// ErrEmptySubject reports an empty subject name given to an operation that creates or changes a subject.
	ErrEmptySubject = errors.New("schema: empty subject name")
)

// Type is a canonical schema type name, as stored in the registry and returned on the wire
// (GetSchemaResponse.schema_type). Use ParseType to turn a client-supplied string into a Type.
type Type string

// The canonical schema types.
const (
	// TypeBytes accepts any payload.
	TypeBytes Type = "bytes"
	// TypeString accepts UTF-8 text payloads.
	TypeString Type = "string"
	// TypeNumber accepts a number as decimal text or as 8 raw bytes.
	TypeNumber Type = "number"
	// TypeAvro is an Apache Avro schema (JSON text); payloads are Avro binary.
	TypeAvro Type = "avro"
	// TypeJSONSchema is a JSON Schema document; payloads are JSON.
	TypeJSONSchema Type = "json_schema"
	// TypeProtobuf is the text of one .proto file; payloads are the binary encoding of its first message.
	TypeProtobuf Type = "protobuf"
)

// ParseType returns the canonical Type for s, compared case-insensitively. It accepts "bytes", "string",
// "number" (and its aliases "int", "int64", "float", "double"), "avro", "json_schema" (alias "json") and
// "protobuf" (alias "proto"). Anything else returns an error wrapping ErrInvalidType that quotes s.
func ParseType(s string) (Type, error) {
	switch strings.ToLower(s) {
	case "bytes":
		return TypeBytes, nil
	case "string":
		return TypeString, nil
	case "number", "int", "int64", "float", "double":
		return TypeNumber, nil
	case "avro":
		return TypeAvro, nil
	case "json_schema", "json":
		return TypeJSONSchema, nil
	case "protobuf", "proto":
		return TypeProtobuf, nil
	}
	return "", errorf(ErrInvalidType, "invalid schema type %q (want bytes, string, number, avro, json_schema or protobuf)", s)
}

// Mode is a subject's compatibility mode, always lower case. Use ParseMode to turn a client-supplied string
// into a Mode.
type Mode string

// The compatibility modes. A new subject starts in ModeBackward.
const (
	// ModeNone accepts every new version.
	ModeNone Mode = "none"
	// ModeBackward requires the new version to read data written with the latest version.
	ModeBackward Mode = "backward"
	// ModeForward requires the latest version to read data written with the new version.
	ModeForward Mode = "forward"
	// ModeFull requires both ModeBackward and ModeForward.
	ModeFull Mode = "full"
)

// DefaultMode is the compatibility mode of a newly registered subject.
const DefaultMode = ModeBackward

// ParseMode returns the Mode named by s, compared case-insensitively ("none", "backward", "forward", "full").
// Anything else returns an error wrapping ErrInvalidMode that quotes s.
func ParseMode(s string) (Mode, error) {
	switch m := Mode(strings.ToLower(s)); m {
	case ModeNone, ModeBackward, ModeForward, ModeFull:
		return m, nil
	}
	return "", errorf(ErrInvalidMode, "invalid compatibility mode %q (want none, backward, forward or full)", s)
}

// sentinelError is an error with its own text ("schema: " + a precise description) that wraps one or more
// sentinels, so errors.Is matches them while the text reads naturally, e.g. `schema: subject "x" not found`.
type sentinelError struct {
	msg  string
	errs []error
}

func (e *sentinelError) Error() string   { return e.msg }
func (e *sentinelError) Unwrap() []error { return e.errs }

// errorf returns an error wrapping sentinel whose text is "schema: " followed by the formatted description.
func errorf(sentinel error, format string, args ...any) error {
	return &sentinelError{msg: "schema: " + fmt.Sprintf(format, args...), errs: []error{sentinel}}
}

// errorf2 is errorf wrapping two sentinels.
func errorf2(sentinel, also error, format string, args ...any) error {
	return &sentinelError{msg: "schema: " + fmt.Sprintf(format, args...), errs: []error{sentinel, also}}
}
