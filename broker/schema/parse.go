package schema

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/bufbuild/protocompile"
	"github.com/hamba/avro/v2"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// protoFileName is the file name a protobuf definition is compiled under. Error positions quote it.
const protoFileName = "schema.proto"

// jsonSchemaURL is the resource location a JSON Schema definition is compiled under.
const jsonSchemaURL = "urn:danube:schema.json"

// parsed is a schema definition parsed for its type: what compatibility checks and payload validation need.
type parsed struct {
	typ         Type
	fingerprint string

	avro avro.Schema // TypeAvro

	jsonDoc    any                // TypeJSONSchema: the document, numbers as json.Number
	jsonSchema *jsonschema.Schema // TypeJSONSchema: compiled for validation

	protoFile protoreflect.FileDescriptor    // TypeProtobuf
	protoMsg  protoreflect.MessageDescriptor // TypeProtobuf: the first message declared in the file
}

// parseDefinition parses definition as a schema of type t and computes its fingerprint. Failures wrap
// ErrInvalidSchema.
func parseDefinition(t Type, definition []byte) (*parsed, error) {
	p := &parsed{typ: t}
	switch t {
	case TypeBytes, TypeString, TypeNumber:
		p.fingerprint = string(t)
		return p, nil
	case TypeAvro:
		canon, err := canonicalJSON(definition)
		if err != nil {
			return nil, errorf(ErrInvalidSchema, "invalid avro schema: not valid JSON: %v", err)
		}
		// A fresh cache per parse: named types must resolve within the definition, never against types
		// that happen to have been parsed elsewhere in the process.
		s, err := avro.ParseBytesWithCache(definition, "", &avro.SchemaCache{})
		if err != nil {
			return nil, errorf(ErrInvalidSchema, "invalid avro schema: %v", err)
		}
		p.avro = s
		p.fingerprint = sha256Fingerprint(canon)
		return p, nil
	case TypeJSONSchema:
		canon, err := canonicalJSON(definition)
		if err != nil {
			return nil, errorf(ErrInvalidSchema, "invalid json schema: not valid JSON: %v", err)
		}
		doc, err := decodeJSON(definition)
		if err != nil { // cannot happen after canonicalJSON succeeded, but keep the check honest
			return nil, errorf(ErrInvalidSchema, "invalid json schema: not valid JSON: %v", err)
		}
		if _, ok := doc.(map[string]any); !ok {
			if _, ok := doc.(bool); !ok {
				return nil, errorf(ErrInvalidSchema, "invalid json schema: must be a JSON object or boolean")
			}
		}
		compiled, err := compileJSONSchema(doc)
		if err != nil {
			return nil, errorf(ErrInvalidSchema, "invalid json schema: %v", err)
		}
		p.jsonDoc = doc
		p.jsonSchema = compiled
		p.fingerprint = sha256Fingerprint(canon)
		return p, nil
	case TypeProtobuf:
		fd, err := compileProto(definition)
		if err != nil {
			return nil, errorf(ErrInvalidSchema, "invalid protobuf schema: %v", err)
		}
		if fd.Messages().Len() == 0 {
			return nil, errorf(ErrInvalidSchema, "invalid protobuf schema: %s declares no message", protoFileName)
		}
		p.protoFile = fd
		p.protoMsg = fd.Messages().Get(0)
		p.fingerprint = sha256Fingerprint([]byte(strings.Join(strings.Fields(string(definition)), " ")))
		return p, nil
	}
	return nil, errorf(ErrInvalidType, "invalid schema type %q", string(t))
}

func sha256Fingerprint(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// decodeJSON decodes exactly one JSON value, keeping numbers as json.Number, and refuses trailing data.
func decodeJSON(b []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("unexpected data after the top-level JSON value")
	}
	return v, nil
}

// canonicalJSON re-serialises a JSON document with object keys sorted, no insignificant whitespace and no
// HTML escaping. Numbers keep their literal text.
func canonicalJSON(b []byte) ([]byte, error) {
	v, err := decodeJSON(b)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil { // encoding/json sorts map keys
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// refusingLoader keeps the JSON Schema compiler from fetching $ref targets from files or the network: a
// registered schema must be self-contained (the standard meta-schemas are built in).
type refusingLoader struct{}

func (refusingLoader) Load(url string) (any, error) {
	return nil, fmt.Errorf("external reference %q is not allowed; schemas must be self-contained", url)
}

func compileJSONSchema(doc any) (*jsonschema.Schema, error) {
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.UseLoader(refusingLoader{})
	if err := c.AddResource(jsonSchemaURL, doc); err != nil {
		return nil, err
	}
	return c.Compile(jsonSchemaURL)
}

// compileProto compiles the text of one .proto file. Imports of the well-known google/protobuf/*.proto files
// resolve; any other import fails.
func compileProto(definition []byte) (protoreflect.FileDescriptor, error) {
	c := protocompile.Compiler{
		Resolver: protocompile.WithStandardImports(&protocompile.SourceResolver{
			Accessor: protocompile.SourceAccessorFromMap(map[string]string{protoFileName: string(definition)}),
		}),
		MaxParallelism: 1,
	}
	files, err := c.Compile(context.Background(), protoFileName)
	if err != nil {
		return nil, err
	}
	if len(files) != 1 {
		return nil, fmt.Errorf("compiler returned %d files, want 1", len(files))
	}
	return files[0], nil
}
