package schema

import (
	"fmt"
	"reflect"
	"slices"
	"sort"

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
	if candidate.typ == TypeJSONSchema {
		return jsonCompatibility(mode, latest.jsonDoc, candidate.jsonDoc)
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
	case TypeProtobuf:
		return protoCanRead(reader.protoFile, writer.protoFile)
	}
	return nil // bytes, string and number are compatible with themselves
}

// ---- JSON Schema ----

// jsonCompatibility applies the real Danube broker's JSON Schema rules (danube-schema's
// json_compatibility.rs): only the top-level "properties" and "required" are compared, a property's type
// counts as changed when both sides have a "type" and the two differ as JSON values, and there are no
// transitive modes.
//
//   - BACKWARD rejects (a) removing a required property, (b) making an existing optional property required,
//     (c) changing a property's type. Adding a new required property is accepted.
//   - FORWARD rejects (a) adding a required property that was not a property before, (b) changing a
//     property's type. Removing any property, required ones included, is accepted.
//   - FULL runs BACKWARD and returns its errors if any, else FORWARD's.
//
// The errors are the real broker's texts, in the order of the rules.
func jsonCompatibility(mode Mode, old, next any) []string {
	switch mode {
	case ModeBackward:
		return jsonBackward(old, next)
	case ModeForward:
		return jsonForward(old, next)
	case ModeFull:
		if errs := jsonBackward(old, next); len(errs) > 0 {
			return errs
		}
		return jsonForward(old, next)
	}
	return nil
}

// jsonTop returns a schema's top-level properties and required names (none when absent or malformed).
func jsonTop(doc any) (map[string]any, []string) {
	m, _ := doc.(map[string]any)
	props, _ := m["properties"].(map[string]any)
	var required []string
	if rs, ok := m["required"].([]any); ok {
		for _, r := range rs {
			if s, ok := r.(string); ok {
				required = append(required, s)
			}
		}
	}
	return props, required
}

// jsonTypeChanged reports whether a property present in both schemas changed its "type".
func jsonTypeChanged(old, next any) bool {
	o, _ := old.(map[string]any)
	n, _ := next.(map[string]any)
	ot, ok1 := o["type"]
	nt, ok2 := n["type"]
	return ok1 && ok2 && !reflect.DeepEqual(ot, nt)
}

func jsonBackward(old, next any) []string {
	oldProps, oldReq := jsonTop(old)
	newProps, newReq := jsonTop(next)
	var errs []string
	for _, f := range oldReq {
		if _, ok := newProps[f]; !ok {
			errs = append(errs, fmt.Sprintf("Backward incompatible: removed required field '%s'", f))
		}
	}
	for _, f := range newReq {
		if _, wasProp := oldProps[f]; wasProp && !slices.Contains(oldReq, f) {
			errs = append(errs, fmt.Sprintf("Backward incompatible: made optional field '%s' required", f))
		}
	}
	for _, f := range sortedKeys(oldProps) {
		if np, ok := newProps[f]; ok && jsonTypeChanged(oldProps[f], np) {
			errs = append(errs, fmt.Sprintf("Backward incompatible: changed type of field '%s'", f))
		}
	}
	return errs
}

func jsonForward(old, next any) []string {
	oldProps, _ := jsonTop(old)
	newProps, newReq := jsonTop(next)
	var errs []string
	for _, f := range newReq {
		if _, ok := oldProps[f]; !ok {
			errs = append(errs, fmt.Sprintf("Forward incompatible: added new required field '%s'", f))
		}
	}
	for _, f := range sortedKeys(oldProps) {
		if np, ok := newProps[f]; ok && jsonTypeChanged(oldProps[f], np) {
			errs = append(errs, fmt.Sprintf("Forward incompatible: changed type of field '%s'", f))
		}
	}
	return errs
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
