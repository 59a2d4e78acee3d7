package schema

import (
	"bytes"
	"encoding/json"
)

// wireSchema is the payload of the real broker's internal schema enum variants that carry a schema.
type wireSchema struct {
	RawSchema   string `json:"raw_schema"`
	Fingerprint string `json:"fingerprint"`
}

// WireDefinition returns what the real Danube broker sends as GetSchemaResponse.schema_definition: the JSON
// serialisation of its internal schema enum rather than the registered bytes. For bytes, string and number
// that is a JSON string ("Bytes", "String", "Number", quotes included); for the other types an object with
// one key ("Avro", "JsonSchema", "Protobuf") whose value holds raw_schema (the definition as a string) and
// fingerprint, e.g. {"Avro":{"raw_schema":"…","fingerprint":"sha256:…"}}. HTML characters are not escaped.
// An unknown type yields the raw definition unchanged.
func WireDefinition(v Version) []byte {
	var value any
	switch v.Type {
	case TypeBytes:
		value = "Bytes"
	case TypeString:
		value = "String"
	case TypeNumber:
		value = "Number"
	case TypeAvro:
		value = map[string]wireSchema{"Avro": {string(v.Definition), v.Fingerprint}}
	case TypeJSONSchema:
		value = map[string]wireSchema{"JsonSchema": {string(v.Definition), v.Fingerprint}}
	case TypeProtobuf:
		value = map[string]wireSchema{"Protobuf": {string(v.Definition), v.Fingerprint}}
	default:
		return append([]byte(nil), v.Definition...)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(value); err != nil { // cannot fail for strings and string-keyed maps
		return nil
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}
