package schema

import (
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/hamba/avro/v2"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// compatibility lists why candidate may not follow latest under mode; an empty result means compatible.
// Problems are prefixed with the direction that failed: "backward" (candidate reading latest's data) or
// "forward" (latest reading candidate's data).
func compatibility(mode Mode, candidate, latest *parsed) []string {
	if mode == ModeNone {
		return nil
	}
	if candidate.typ != latest.typ {
		return []string{fmt.Sprintf("schema type changed from %s to %s (only allowed in compatibility mode none)",
			latest.typ, candidate.typ)}
	}
	var problems []string
	if mode == ModeBackward || mode == ModeFull {
		for _, p := range canRead(candidate, latest) {
			problems = append(problems, "backward: "+p)
		}
	}
	if mode == ModeForward || mode == ModeFull {
		for _, p := range canRead(latest, candidate) {
			problems = append(problems, "forward: "+p)
		}
	}
	return problems
}

// canRead lists why a consumer using reader could fail on data produced with writer. Both have the same type.
func canRead(reader, writer *parsed) []string {
	switch reader.typ {
	case TypeAvro:
		if err := avro.NewSchemaCompatibility().Compatible(reader.avro, writer.avro); err != nil {
			return []string{err.Error()}
		}
		return nil
	case TypeJSONSchema:
		var problems []string
		jsonCanRead(reader.jsonDoc, writer.jsonDoc, "$", &problems)
		return problems
	case TypeProtobuf:
		return protoCanRead(reader.protoFile, writer.protoFile)
	}
	return nil // bytes, string and number are compatible with themselves
}

// ---- JSON Schema ----

var identRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

func jsonChildPath(path, name string) string {
	if identRE.MatchString(name) {
		return path + "." + name
	}
	q, _ := json.Marshal(name)
	return path + "[" + string(q) + "]"
}

// jsonCanRead walks reader and writer together (through properties of object schemas and single-schema
// items of array schemas) and records, with its JSON path, every place where the reader would reject a value
// the writer accepts: a type the reader does not allow (integer is accepted where the reader wants number),
// a property the reader requires and the writer does not, or a writer property the reader forbids with
// additionalProperties: false.
func jsonCanRead(reader, writer any, path string, problems *[]string) {
	if b, ok := writer.(bool); ok {
		if !b {
			return // the writer produces nothing
		}
		writer = map[string]any{}
	}
	if b, ok := reader.(bool); ok {
		if !b {
			*problems = append(*problems, path+": the reader schema is false and rejects every value")
		}
		return
	}
	r, ok1 := reader.(map[string]any)
	w, ok2 := writer.(map[string]any)
	if !ok1 || !ok2 {
		return
	}

	rTypes, rHas := jsonTypes(r["type"])
	wTypes, wHas := jsonTypes(w["type"])
	if rHas {
		if !wHas {
			*problems = append(*problems, fmt.Sprintf("%s: the reader requires type %s but the writer allows any type",
				path, typeList(rTypes)))
		} else {
			var bad []string
			for _, t := range wTypes {
				if !contains(rTypes, t) && !(t == "integer" && contains(rTypes, "number")) {
					bad = append(bad, t)
				}
			}
			if len(bad) > 0 {
				*problems = append(*problems, fmt.Sprintf("%s: type changed: the writer allows %s, the reader only %s",
					path, typeList(bad), typeList(rTypes)))
			}
		}
	}

	rProps, _ := r["properties"].(map[string]any)
	wProps, _ := w["properties"].(map[string]any)
	wRequired := stringSet(w["required"])
	for _, name := range sortedStrings(r["required"]) {
		if wRequired[name] {
			continue
		}
		if _, ok := wProps[name]; ok {
			*problems = append(*problems, jsonChildPath(path, name)+": property is required by the reader but optional in the writer")
		} else {
			*problems = append(*problems, jsonChildPath(path, name)+": property is required by the reader but missing from the writer")
		}
	}
	if ap, ok := r["additionalProperties"].(bool); ok && !ap {
		for _, name := range sortedKeys(wProps) {
			if _, ok := rProps[name]; !ok {
				*problems = append(*problems, jsonChildPath(path, name)+
					": property is written by the writer but not allowed by the reader (additionalProperties: false)")
			}
		}
	}
	for _, name := range sortedKeys(rProps) {
		if wp, ok := wProps[name]; ok {
			jsonCanRead(rProps[name], wp, jsonChildPath(path, name), problems)
		}
	}

	// Arrays: "items" as a single schema (arrays of schemas are tuple forms and are not compared).
	ri, rOK := r["items"]
	wi, wOK := w["items"]
	if rOK && wOK {
		if _, isArr := ri.([]any); !isArr {
			if _, isArr := wi.([]any); !isArr {
				jsonCanRead(ri, wi, path+"[]", problems)
			}
		}
	}
}

// jsonTypes returns the JSON Schema "type" keyword as a list and whether it was present.
func jsonTypes(v any) ([]string, bool) {
	switch t := v.(type) {
	case string:
		return []string{t}, true
	case []any:
		var out []string
		for _, e := range t {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out, true
	}
	return nil, false
}

func typeList(ts []string) string {
	if len(ts) == 1 {
		return ts[0]
	}
	return "[" + strings.Join(ts, ", ") + "]"
}

func contains(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}

func stringSet(v any) map[string]bool {
	out := map[string]bool{}
	for _, s := range sortedStrings(v) {
		out[s] = true
	}
	return out
}

func sortedStrings(v any) []string {
	arr, _ := v.([]any)
	var out []string
	for _, e := range arr {
		if s, ok := e.(string); ok {
			out = append(out, s)
		}
	}
	sort.Strings(out)
	return out
}

func sortedKeys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// ---- Protobuf ----

// protoCanRead compares every message (by full name) declared in both files, field by field number: a
// field whose type or cardinality differs breaks reading, and so does a required field of the reader that
// the writer does not have. Fields only the writer has are unknown fields to the reader and harmless.
func protoCanRead(reader, writer protoreflect.FileDescriptor) []string {
	rMsgs := map[protoreflect.FullName]protoreflect.MessageDescriptor{}
	collectMessages(reader.Messages(), rMsgs)
	wMsgs := map[protoreflect.FullName]protoreflect.MessageDescriptor{}
	collectMessages(writer.Messages(), wMsgs)

	names := make([]string, 0, len(rMsgs))
	for n := range rMsgs {
		names = append(names, string(n))
	}
	sort.Strings(names)

	var problems []string
	for _, n := range names {
		rm := rMsgs[protoreflect.FullName(n)]
		wm, ok := wMsgs[protoreflect.FullName(n)]
		if !ok {
			continue
		}
		fields := rm.Fields()
		for i := 0; i < fields.Len(); i++ {
			rf := fields.Get(i)
			wf := wm.Fields().ByNumber(rf.Number())
			where := fmt.Sprintf("message %s field %d (%s)", n, rf.Number(), rf.Name())
			if wf == nil {
				if rf.Cardinality() == protoreflect.Required {
					problems = append(problems, where+": required by the reader but missing from the writer")
				}
				continue
			}
			if rt, wt := protoFieldType(rf), protoFieldType(wf); rt != wt {
				problems = append(problems, fmt.Sprintf("%s: type changed from %s to %s", where, wt, rt))
			}
			if rc, wc := protoCardinality(rf), protoCardinality(wf); rc != wc {
				problems = append(problems, fmt.Sprintf("%s: cardinality changed from %s to %s", where, wc, rc))
			}
		}
	}
	return problems
}

func collectMessages(msgs protoreflect.MessageDescriptors, into map[protoreflect.FullName]protoreflect.MessageDescriptor) {
	for i := 0; i < msgs.Len(); i++ {
		m := msgs.Get(i)
		if m.IsMapEntry() {
			continue // compared through the map field that owns it
		}
		into[m.FullName()] = m
		collectMessages(m.Messages(), into)
	}
}

// protoFieldType describes a field's value type; two fields read each other's data only if these are equal.
func protoFieldType(f protoreflect.FieldDescriptor) string {
	if f.IsMap() {
		return "map<" + protoFieldType(f.MapKey()) + ", " + protoFieldType(f.MapValue()) + ">"
	}
	switch f.Kind() {
	case protoreflect.MessageKind, protoreflect.GroupKind:
		return f.Kind().String() + " " + string(f.Message().FullName())
	case protoreflect.EnumKind:
		return "enum " + string(f.Enum().FullName())
	}
	return f.Kind().String()
}

func protoCardinality(f protoreflect.FieldDescriptor) string {
	if f.IsMap() {
		return "map"
	}
	return f.Cardinality().String()
}
