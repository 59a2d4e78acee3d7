package schema

import (
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestRegisterNewSubject(t *testing.T) {
	r, _ := newRegistry(t)
	r.now = func() time.Time { return fixedNow }

	v, isNew, err := r.Register("orders-value", "JSON", []byte(jsonOrderV1), "first", "alice", []string{"a", "b"})
	if err != nil {
		t.Fatal(err)
	}
	if !isNew {
		t.Error("isNew = false for the first registration")
	}
	want := Version{
		SchemaID:    1,
		Version:     1,
		Subject:     "orders-value",
		Type:        TypeJSONSchema,
		Definition:  []byte(jsonOrderV1),
		Description: "first",
		CreatedBy:   "alice",
		Tags:        []string{"a", "b"},
		CreatedAt:   time.Date(2025, 3, 4, 4, 6, 7, 0, time.UTC),
		Fingerprint: v.Fingerprint,
	}
	if !reflect.DeepEqual(v, want) {
		t.Errorf("Register = %+v\nwant      %+v", v, want)
	}
	if !strings.HasPrefix(v.Fingerprint, "sha256:") || len(v.Fingerprint) != len("sha256:")+64 {
		t.Errorf("fingerprint %q is not sha256:<64 hex>", v.Fingerprint)
	}

	latest, mode, err := r.Latest("orders-value")
	if err != nil || mode != ModeBackward || !reflect.DeepEqual(latest, want) {
		t.Errorf("Latest = %+v, %q, %v; want %+v, backward", latest, mode, err, want)
	}
}

func TestRegisterCopiesInputsAndReturnsCopies(t *testing.T) {
	r, _ := newRegistry(t)
	def := []byte(jsonOrderV1)
	tags := []string{"x"}
	if _, _, err := r.Register("s", "json", def, "", "", tags); err != nil {
		t.Fatal(err)
	}
	def[0] = ' '
	tags[0] = "changed"
	v, _, _ := r.Latest("s")
	if string(v.Definition) != jsonOrderV1 || v.Tags[0] != "x" {
		t.Fatalf("registry aliased caller's slices: %q %q", v.Definition, v.Tags)
	}
	v.Definition[0] = 'X'
	v.Tags[0] = "mutated"
	v2, _, _ := r.Latest("s")
	if string(v2.Definition) != jsonOrderV1 || v2.Tags[0] != "x" {
		t.Fatalf("returned Version aliases registry state: %q %q", v2.Definition, v2.Tags)
	}
}

func TestRegisterIdempotent(t *testing.T) {
	r, _ := newRegistry(t)
	v1 := mustRegister(t, r, "orders", "avro", avroOrderV1)
	v2 := mustRegister(t, r, "orders", "avro", avroOrderAddDefault)

	// Re-registering v1 (re-formatted, keys reordered, other metadata) returns v1 unchanged.
	reformatted := `{ "fields": [ {"type": "long", "name": "id"} ], "namespace": "shop", "name": "Order", "type": "record" }`
	got, isNew, err := r.Register("orders", "AVRO", []byte(reformatted), "other", "bob", []string{"t"})
	if err != nil {
		t.Fatal(err)
	}
	if isNew {
		t.Error("isNew = true for a schema already in the subject")
	}
	if !reflect.DeepEqual(got, v1) {
		t.Errorf("re-register returned %+v, want version 1 %+v", got, v1)
	}
	// And the latest too.
	got, isNew, err = r.Register("orders", "avro", []byte(avroOrderAddDefault), "", "", nil)
	if err != nil || isNew || !reflect.DeepEqual(got, v2) {
		t.Errorf("re-register latest = %+v, %v, %v; want %+v, false", got, isNew, err, v2)
	}
	vs, _ := r.Versions("orders")
	if len(vs) != 2 {
		t.Errorf("subject has %d versions after re-registrations, want 2", len(vs))
	}
}

func TestRegisterPrimitiveIdempotent(t *testing.T) {
	r, _ := newRegistry(t)
	v1, isNew, err := r.Register("raw", "bytes", nil, "", "", nil)
	if err != nil || !isNew || v1.Fingerprint != "bytes" {
		t.Fatalf("Register bytes = %+v, %v, %v", v1, isNew, err)
	}
	// The definition of a primitive type does not matter: the fingerprint is the type name.
	v2, isNew, err := r.Register("raw", "BYTES", []byte("anything"), "", "", nil)
	if err != nil || isNew || v2.Version != 1 {
		t.Fatalf("re-register bytes = %+v, %v, %v; want version 1, isNew=false", v2, isNew, err)
	}
}

func TestIDsAndVersionsAcrossSubjects(t *testing.T) {
	r, _ := newRegistry(t)
	steps := []struct {
		subject, typ, def string
		id                uint64
		version           uint32
	}{
		{"a", "string", "", 1, 1},
		{"b", "json", jsonOrderV1, 2, 1},
		{"b", "json", jsonOrderAddOptional, 2, 2},
		{"c", "avro", avroOrderV1, 3, 1},
		{"b", "json", jsonOrderV1, 2, 1}, // idempotent: back to version 1
		{"c", "avro", avroOrderAddDefault, 3, 2},
		{"b", "json", `{"type":"object","properties":{"id":{"type":"integer"},"name":{"type":"string"},"x":{}},"required":["id"]}`, 2, 3},
		{"d", "proto", protoOrderV1, 4, 1},
	}
	for i, s := range steps {
		v := mustRegister(t, r, s.subject, s.typ, s.def)
		if v.SchemaID != s.id || v.Version != s.version {
			t.Errorf("step %d: Register(%q) = id %d version %d; want id %d version %d", i, s.subject, v.SchemaID, v.Version, s.id, s.version)
		}
	}
	for subject, want := range map[string]uint64{"a": 1, "b": 2, "c": 3, "d": 4} {
		if id, ok := r.SubjectID(subject); !ok || id != want {
			t.Errorf("SubjectID(%q) = %d, %v; want %d", subject, id, ok, want)
		}
	}
	if _, ok := r.SubjectID("nope"); ok {
		t.Error("SubjectID of unknown subject reported ok")
	}
	vs, err := r.Versions("b")
	if err != nil {
		t.Fatal(err)
	}
	var nums []uint32
	for _, v := range vs {
		nums = append(nums, v.Version)
		if v.SchemaID != 2 || v.Subject != "b" {
			t.Errorf("version %+v has wrong id/subject", v)
		}
	}
	if !reflect.DeepEqual(nums, []uint32{1, 2, 3}) {
		t.Errorf("Versions(b) = %v, want [1 2 3]", nums)
	}
}

func TestRegisterErrors(t *testing.T) {
	r, _ := newRegistry(t)
	mustRegister(t, r, "orders", "avro", avroOrderV1)
	tests := []struct {
		name, subject, typ, def string
		want                    error
		mention                 []string
	}{
		{"empty subject", "", "avro", avroOrderV1, ErrEmptySubject, nil},
		{"bad type", "x", "xml", "<a/>", ErrInvalidType, []string{`"xml"`}},
		{"avro not json", "x", "avro", "{not json", ErrInvalidSchema, []string{"avro"}},
		{"avro bad schema", "x", "avro", `{"type":"record","name":"R"}`, ErrInvalidSchema, []string{"avro"}},
		{"avro bad default", "x", "avro", `{"type":"record","name":"R","fields":[{"name":"a","type":"int","default":"x"}]}`, ErrInvalidSchema, nil},
		{"json not json", "x", "json", `{"type":`, ErrInvalidSchema, []string{"json"}},
		{"json trailing data", "x", "json", `{} {}`, ErrInvalidSchema, nil},
		{"json scalar", "x", "json", `42`, ErrInvalidSchema, nil},
		{"json bad keyword", "x", "json", `{"type":"nonsense"}`, ErrInvalidSchema, nil},
		{"json external ref", "x", "json", `{"$ref":"https://example.com/s.json"}`, ErrInvalidSchema, nil},
		{"proto syntax", "x", "protobuf", `message {`, ErrInvalidSchema, []string{"schema.proto"}},
		{"proto unknown type", "x", "protobuf", `syntax = "proto3"; message M { Missing m = 1; }`, ErrInvalidSchema, []string{"Missing"}},
		{"proto unknown import", "x", "protobuf", `syntax = "proto3"; import "other.proto"; message M {}`, ErrInvalidSchema, nil},
		{"proto no message", "x", "protobuf", `syntax = "proto3"; enum E { A = 0; }`, ErrInvalidSchema, []string{"no message"}},
		{"incompatible", "orders", "avro", avroOrderAddNoDef, ErrIncompatible, []string{"orders", "version 1", "backward", "qty"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := r.Register(tt.subject, tt.typ, []byte(tt.def), "", "", nil)
			wantErr(t, err, tt.want, tt.mention...)
		})
	}
	// None of the failures created anything.
	if subs := r.Subjects(); len(subs) != 1 || subs[0].LatestVersion != 1 {
		t.Errorf("failed registrations changed the registry: %+v", subs)
	}
	// Older drafts (built-in meta-schemas) compile without any network access.
	mustRegister(t, r, "draft7", "json", `{"$schema":"http://json-schema.org/draft-07/schema#","type":"object","definitions":{"a":{"type":"string"}},"properties":{"a":{"$ref":"#/definitions/a"}}}`)
	// Well-known imports do resolve.
	mustRegister(t, r, "ts", "protobuf", `syntax = "proto3"; import "google/protobuf/timestamp.proto"; message M { google.protobuf.Timestamp at = 1; }`)
}

func TestTypeChangeNeedsModeNone(t *testing.T) {
	r, _ := newRegistry(t)
	mustRegister(t, r, "s", "string", "")
	_, _, err := r.Register("s", "number", nil, "", "", nil)
	wantErr(t, err, ErrIncompatible, "type changed from string to number")
	_, _, err = r.Register("s", "json", []byte(jsonOrderV1), "", "", nil)
	wantErr(t, err, ErrIncompatible, "type changed from string to json_schema")

	if err := r.SetMode("s", "NONE"); err != nil {
		t.Fatal(err)
	}
	v := mustRegister(t, r, "s", "number", "")
	if v.Version != 2 || v.Type != TypeNumber || v.Fingerprint != "number" {
		t.Errorf("Register number in mode none = %+v", v)
	}
	// Each version keeps its own type.
	v1, _ := r.Version("s", 1)
	if v1.Type != TypeString {
		t.Errorf("version 1 type = %q, want string", v1.Type)
	}
	// The same JSON text as avro and as json_schema is not "the same schema".
	if err := r.SetMode("s", "none"); err != nil {
		t.Fatal(err)
	}
	a := mustRegister(t, r, "s", "avro", `{"type":"string"}`)
	j := mustRegister(t, r, "s", "json", `{"type":"string"}`)
	if a.Version == j.Version || a.Fingerprint != j.Fingerprint {
		t.Errorf("avro %+v and json %+v of the same text should be distinct versions with equal fingerprints", a, j)
	}
}

func TestGetAndLatest(t *testing.T) {
	r, _ := newRegistry(t)
	a1 := mustRegister(t, r, "a", "json", jsonOrderV1)
	a2 := mustRegister(t, r, "a", "json", jsonOrderAddOptional)
	b1 := mustRegister(t, r, "b", "string", "")
	if err := r.SetMode("b", "Full"); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		id      uint64
		version *uint32
		want    Version
		mode    Mode
		err     error
	}{
		{1, nil, a2, ModeBackward, nil},
		{1, u32(1), a1, ModeBackward, nil},
		{1, u32(2), a2, ModeBackward, nil},
		{2, nil, b1, ModeFull, nil},
		{1, u32(3), Version{}, "", ErrVersionNotFound},
		{1, u32(0), Version{}, "", ErrVersionNotFound},
		{3, nil, Version{}, "", ErrSchemaNotFound},
		{0, u32(1), Version{}, "", ErrSchemaNotFound},
	}
	for _, tt := range tests {
		got, mode, err := r.Get(tt.id, tt.version)
		if tt.err != nil {
			wantErr(t, err, tt.err)
			continue
		}
		if err != nil || mode != tt.mode || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Get(%d, %v) = %+v, %q, %v; want %+v, %q", tt.id, tt.version, got, mode, err, tt.want, tt.mode)
		}
	}
	_, _, err := r.Get(42, nil)
	wantErr(t, err, ErrSchemaNotFound, "42")

	_, _, err = r.Latest("missing")
	wantErr(t, err, ErrSubjectNotFound, `"missing"`)
	if got, _, err := r.Latest("a"); err != nil || !reflect.DeepEqual(got, a2) {
		t.Errorf("Latest(a) = %+v, %v; want %+v", got, err, a2)
	}
	_, err = r.Versions("missing")
	wantErr(t, err, ErrSubjectNotFound, `schema: subject "missing" not found`)

	if got, ok := r.Version("a", 1); !ok || !reflect.DeepEqual(got, a1) {
		t.Errorf("Version(a, 1) = %+v, %v", got, ok)
	}
	if _, ok := r.Version("a", 9); ok {
		t.Error("Version(a, 9) reported ok")
	}
	if _, ok := r.Version("zzz", 1); ok {
		t.Error("Version(zzz, 1) reported ok")
	}
}

func TestDeleteVersion(t *testing.T) {
	r, _ := newRegistry(t)
	mustRegister(t, r, "s", "json", jsonOrderV1)
	mustRegister(t, r, "s", "json", jsonOrderAddOptional)
	mustRegister(t, r, "other", "bytes", "")

	wantErr(t, r.DeleteVersion("missing", 1), ErrSubjectNotFound, `"missing"`)
	wantErr(t, r.DeleteVersion("s", 7), ErrVersionNotFound, "7", `"s"`)

	if err := r.DeleteVersion("s", 1); err != nil {
		t.Fatal(err)
	}
	wantErr(t, r.DeleteVersion("s", 1), ErrVersionNotFound)
	if _, ok := r.Version("s", 1); ok {
		t.Error("deleted version still returned")
	}
	_, _, err := r.Get(1, u32(1))
	wantErr(t, err, ErrVersionNotFound)
	vs, _ := r.Versions("s")
	if len(vs) != 1 || vs[0].Version != 2 {
		t.Errorf("Versions after delete = %+v", vs)
	}

	// Deleting the latest: the next registration does not reuse its number, and compatibility is checked
	// against the remaining latest.
	if err := r.DeleteVersion("s", 2); err != nil {
		t.Fatal(err)
	}
	vs, err = r.Versions("s")
	if err != nil || len(vs) != 0 {
		t.Errorf("Versions of emptied subject = %+v, %v; want empty, nil", vs, err)
	}
	_, _, err = r.Latest("s")
	wantErr(t, err, ErrSubjectNotFound, "no versions")
	_, _, err = r.Get(1, nil)
	wantErr(t, err, ErrVersionNotFound)
	if id, ok := r.SubjectID("s"); !ok || id != 1 {
		t.Errorf("emptied subject lost its id: %d, %v", id, ok)
	}
	// With no versions left there is nothing to be compatible with, even across types.
	v := mustRegister(t, r, "s", "avro", avroOrderV1)
	if v.SchemaID != 1 || v.Version != 3 {
		t.Errorf("register after emptying = id %d version %d; want id 1 version 3", v.SchemaID, v.Version)
	}
	if n := mustRegister(t, r, "new", "bytes", ""); n.SchemaID != 3 {
		t.Errorf("next subject got id %d, want 3", n.SchemaID)
	}
}

func TestDeleteLatestThenCompatibilityUsesPrevious(t *testing.T) {
	r, _ := newRegistry(t)
	mustRegister(t, r, "s", "avro", avroOrderV1)
	mustRegister(t, r, "s", "avro", avroOrderAddDefault)
	if err := r.DeleteVersion("s", 2); err != nil {
		t.Fatal(err)
	}
	// Against version 2 (which has qty) this would be backward compatible; against version 1 it is not.
	ok, problems, err := r.CheckCompatibility("s", "avro", []byte(avroOrderAddNoDef), nil)
	if err != nil || ok || len(problems) == 0 {
		t.Errorf("CheckCompatibility against version 1 = %v, %v, %v; want incompatible", ok, problems, err)
	}
	_, _, err = r.Register("s", "avro", []byte(avroOrderAddNoDef), "", "", nil)
	wantErr(t, err, ErrIncompatible, "version 1")
}

func TestSetMode(t *testing.T) {
	r, _ := newRegistry(t)
	mustRegister(t, r, "s", "avro", avroOrderV1)

	wantErr(t, r.SetMode("missing", "full"), ErrSubjectNotFound, `"missing"`)
	wantErr(t, r.SetMode("s", "sideways"), ErrInvalidMode, `"sideways"`)

	for _, in := range []string{"FORWARD", "Full", "none", "BackWard"} {
		if err := r.SetMode("s", in); err != nil {
			t.Fatalf("SetMode(%q): %v", in, err)
		}
		_, mode, _ := r.Latest("s")
		if string(mode) != strings.ToLower(in) {
			t.Errorf("after SetMode(%q) mode = %q", in, mode)
		}
		if subs := r.Subjects(); subs[0].Mode != Mode(strings.ToLower(in)) {
			t.Errorf("Subjects mode = %q", subs[0].Mode)
		}
	}

	// The mode governs registration: forward accepts adding a field without default, backward refuses it.
	_, _, err := r.Register("s", "avro", []byte(avroOrderAddNoDef), "", "", nil)
	wantErr(t, err, ErrIncompatible, "backward")
	if err := r.SetMode("s", "forward"); err != nil {
		t.Fatal(err)
	}
	if v := mustRegister(t, r, "s", "avro", avroOrderAddNoDef); v.Version != 2 {
		t.Errorf("version = %d, want 2", v.Version)
	}
}

func TestSubjects(t *testing.T) {
	r, _ := newRegistry(t)
	if subs := r.Subjects(); len(subs) != 0 {
		t.Fatalf("empty registry lists %+v", subs)
	}
	mustRegister(t, r, "zeta", "string", "")
	if _, _, err := r.Register("alpha", "json", []byte(jsonOrderV1), "", "", []string{"old"}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := r.Register("alpha", "json", []byte(jsonOrderAddOptional), "", "", []string{"t1", "t2"}); err != nil {
		t.Fatal(err)
	}
	mustRegister(t, r, "mid", "bytes", "")
	if err := r.DeleteVersion("mid", 1); err != nil {
		t.Fatal(err)
	}
	if err := r.SetMode("zeta", "none"); err != nil {
		t.Fatal(err)
	}
	want := []SubjectSummary{
		{Subject: "alpha", Type: TypeJSONSchema, LatestVersion: 2, Mode: ModeBackward, SchemaID: 2, Tags: []string{"t1", "t2"}},
		{Subject: "mid", Mode: ModeBackward, SchemaID: 3},
		{Subject: "zeta", Type: TypeString, LatestVersion: 1, Mode: ModeNone, SchemaID: 1},
	}
	if got := r.Subjects(); !reflect.DeepEqual(got, want) {
		t.Errorf("Subjects() = %+v\nwant %+v", got, want)
	}
}

func TestFailedPutLeavesRegistryUnchanged(t *testing.T) {
	meta := &failingMeta{Meta: newMemMeta()}
	r, err := New(meta)
	if err != nil {
		t.Fatal(err)
	}
	mustRegister(t, r, "s", "avro", avroOrderV1)
	before := snapshot(t, r)

	meta.setFail(true, "")
	if _, _, err := r.Register("s", "avro", []byte(avroOrderAddDefault), "", "", nil); !errors.Is(err, errPut) {
		t.Errorf("Register with failing store: %v", err)
	}
	if _, _, err := r.Register("new", "bytes", nil, "", "", nil); !errors.Is(err, errPut) {
		t.Errorf("Register new subject with failing store: %v", err)
	}
	if err := r.DeleteVersion("s", 1); !errors.Is(err, errPut) {
		t.Errorf("DeleteVersion with failing store: %v", err)
	}
	if err := r.SetMode("s", "full"); !errors.Is(err, errPut) {
		t.Errorf("SetMode with failing store: %v", err)
	}
	// Only the subject write fails: the counter may advance in the store, but memory stays unchanged.
	meta.setFail(true, subjectKey("new2"))
	if _, _, err := r.Register("new2", "bytes", nil, "", "", nil); !errors.Is(err, errPut) {
		t.Errorf("Register with failing subject write: %v", err)
	}
	if after := snapshot(t, r); after != before {
		t.Errorf("registry changed after failed writes:\nbefore %s\nafter  %s", before, after)
	}
	if _, ok := r.SubjectID("new"); ok {
		t.Error("subject created despite failed write")
	}

	meta.setFail(false, "")
	v := mustRegister(t, r, "new", "bytes", "")
	if v.SchemaID != 2 {
		t.Errorf("id after failed attempts = %d, want 2", v.SchemaID)
	}
	// A reload must not hand out an id already used, whatever the counter says.
	r2, err := New(meta)
	if err != nil {
		t.Fatal(err)
	}
	if v := mustRegister(t, r2, "third", "bytes", ""); v.SchemaID != 3 {
		t.Errorf("id after reload = %d, want 3", v.SchemaID)
	}
}

// snapshot renders everything observable about a registry.
func snapshot(t *testing.T, r *Registry) string {
	t.Helper()
	var b strings.Builder
	for _, s := range r.Subjects() {
		fmt.Fprintf(&b, "%+v\n", s)
		vs, err := r.Versions(s.Subject)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range vs {
			fmt.Fprintf(&b, "  %+v\n", v)
		}
	}
	return b.String()
}

func TestConcurrentRegister(t *testing.T) {
	r, meta := newRegistry(t)
	const n = 64
	var wg sync.WaitGroup
	ids := make([]uint64, n)
	shared := make([]Version, n)
	errs := make(chan error, 4*n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			v, isNew, err := r.Register(fmt.Sprintf("subject-%02d", i), "json", []byte(jsonOrderV1), "", "", nil)
			if err != nil || !isNew {
				errs <- fmt.Errorf("own subject %d: %v, isNew=%v", i, err, isNew)
				return
			}
			ids[i] = v.SchemaID
			// Everybody re-registers the same schema in one shared subject: one version results.
			sv, _, err := r.Register("shared", "avro", []byte(avroOrderV1), "", "", nil)
			if err != nil {
				errs <- err
				return
			}
			shared[i] = sv
			// Readers run alongside writers.
			if _, _, err := r.Get(v.SchemaID, nil); err != nil {
				errs <- err
			}
			if err := r.Validate(v.Subject, v.SchemaID, 1, []byte(`{"id":1}`)); err != nil {
				errs <- err
			}
			_ = r.Subjects()
			if _, _, err := r.CheckCompatibility("shared", "avro", []byte(avroOrderAddDefault), nil); err != nil {
				errs <- err
			}
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	// Every id 1..n+1 is used exactly once (n own subjects plus "shared").
	all := append([]uint64{}, ids...)
	sharedID, _ := r.SubjectID("shared")
	all = append(all, sharedID)
	sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
	for i, id := range all {
		if id != uint64(i+1) {
			t.Fatalf("ids = %v, want 1..%d each once", all, n+1)
		}
	}
	for i := range shared {
		if shared[i].Version != 1 || shared[i].SchemaID != sharedID {
			t.Errorf("goroutine %d got shared %+v", i, shared[i])
		}
	}
	if vs, _ := r.Versions("shared"); len(vs) != 1 {
		t.Errorf("shared subject has %d versions, want 1", len(vs))
	}
	// The persisted state matches.
	r2, err := New(meta)
	if err != nil {
		t.Fatal(err)
	}
	if a, b := snapshot(t, r), snapshot(t, r2); a != b {
		t.Errorf("reloaded registry differs:\n%s\nvs\n%s", a, b)
	}
}
