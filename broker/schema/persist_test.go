package schema

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/danube-console/danube-console/broker/store"
)

func TestPersistenceRoundTrip(t *testing.T) {
	meta := store.NewMemory().Meta()
	r1, err := New(meta)
	if err != nil {
		t.Fatal(err)
	}
	r1.now = func() time.Time { return fixedNow }
	if _, _, err := r1.Register("orders-value", "json", []byte(jsonOrderV1), "orders", "alice", []string{"team:a"}); err != nil {
		t.Fatal(err)
	}
	mustRegister(t, r1, "orders-value", "json", jsonOrderAddOptional)
	mustRegister(t, r1, "orders-value", "json", `{"type":"object","properties":{"id":{"type":"integer"},"name":{"type":"string"},"n":{}},"required":["id"]}`)
	mustRegister(t, r1, "payments", "avro", avroOrderV1)
	mustRegister(t, r1, "raw", "bytes", "")
	mustRegister(t, r1, "a/b c", "protobuf", protoOrderV1) // a name that needs escaping in a key
	mustRegister(t, r1, "emptied", "string", "")
	if err := r1.DeleteVersion("orders-value", 2); err != nil {
		t.Fatal(err)
	}
	if err := r1.DeleteVersion("emptied", 1); err != nil {
		t.Fatal(err)
	}
	if err := r1.SetMode("payments", "FULL"); err != nil {
		t.Fatal(err)
	}

	// Everything lives under /schemas/.
	all, err := meta.List("")
	if err != nil {
		t.Fatal(err)
	}
	for _, kv := range all {
		if !strings.HasPrefix(kv.Key, "/schemas/") {
			t.Errorf("key %q outside /schemas/", kv.Key)
		}
		if !json.Valid(kv.Value) {
			t.Errorf("value of %q is not JSON: %s", kv.Key, kv.Value)
		}
	}
	if _, ok, _ := meta.Get("/schemas/subjects/orders-value"); !ok {
		t.Error("no /schemas/subjects/orders-value key")
	}
	if v, ok, _ := meta.Get("/schemas/next_id"); !ok || string(v) != "6" {
		t.Errorf("/schemas/next_id = %q, %v; want 6", v, ok)
	}

	r2, err := New(meta)
	if err != nil {
		t.Fatal(err)
	}
	if a, b := snapshot(t, r1), snapshot(t, r2); a != b {
		t.Fatalf("reloaded registry differs:\n%s\nvs\n%s", a, b)
	}
	// Spot checks beyond the snapshot.
	v1, mode, err := r2.Get(1, u32(1))
	if err != nil || mode != ModeBackward {
		t.Fatalf("Get(1, 1) = %v, %q", err, mode)
	}
	want := Version{SchemaID: 1, Version: 1, Subject: "orders-value", Type: TypeJSONSchema, Definition: []byte(jsonOrderV1),
		Description: "orders", CreatedBy: "alice", Tags: []string{"team:a"}, CreatedAt: time.Unix(fixedNow.Unix(), 0).UTC(),
		Fingerprint: v1.Fingerprint}
	if !reflect.DeepEqual(v1, want) {
		t.Errorf("reloaded %+v\nwant     %+v", v1, want)
	}
	if _, m, err := r2.Latest("payments"); err != nil || m != ModeFull {
		t.Errorf("reloaded mode of payments = %q, %v; want full", m, err)
	}
	if id, ok := r2.SubjectID("emptied"); !ok || id != 5 {
		t.Errorf("emptied subject after reload = %d, %v; want id 5", id, ok)
	}
	if _, ok := r2.Version("orders-value", 2); ok {
		t.Error("deleted version came back after reload")
	}

	// Idempotency, compatibility, version numbering and the id counter continue where they left off.
	if _, isNew, err := r2.Register("orders-value", "json", []byte(jsonOrderV1), "", "", nil); err != nil || isNew {
		t.Errorf("re-register after reload: isNew=%v err=%v", isNew, err)
	}
	if _, _, err := r2.Register("payments", "avro", []byte(avroOrderAddDefault+" "), "", "", nil); err != nil {
		t.Errorf("compatible register after reload: %v", err)
	}
	_, _, err = r2.Register("payments", "avro", []byte(avroOrderIDString), "", "", nil)
	wantErr(t, err, ErrIncompatible, "full")
	if v := mustRegister(t, r2, "orders-value", "json",
		`{"type":"object","properties":{"id":{"type":"integer"},"name":{"type":"string"},"n":{},"y":{}},"required":["id"]}`); v.Version != 4 {
		t.Errorf("next version of orders-value after reload = %d, want 4", v.Version)
	}
	if v := mustRegister(t, r2, "newcomer", "bytes", ""); v.SchemaID != 6 {
		t.Errorf("first new subject after reload got id %d, want 6", v.SchemaID)
	}
	if err := r2.Validate("a/b c", 4, 1, protoPayload(1, "x")); err != nil {
		t.Errorf("Validate after reload: %v", err)
	}
	wantErr(t, r2.Validate("orders-value", 1, 1, []byte(`{"id":"nope"}`)), ErrInvalidPayload)

	// A third registry sees the second one's changes.
	r3, err := New(meta)
	if err != nil {
		t.Fatal(err)
	}
	if a, b := snapshot(t, r2), snapshot(t, r3); a != b {
		t.Fatalf("second reload differs:\n%s\nvs\n%s", a, b)
	}
}

func TestNewIgnoresOtherKeysAndRejectsGarbage(t *testing.T) {
	meta := store.NewMemory().Meta()
	if err := meta.Put("/topics/default/x", []byte("not json")); err != nil {
		t.Fatal(err)
	}
	r, err := New(meta)
	if err != nil {
		t.Fatalf("New with unrelated keys: %v", err)
	}
	if len(r.Subjects()) != 0 {
		t.Error("unrelated keys loaded as subjects")
	}

	bad := []struct{ key, value string }{
		{"/schemas/subjects/x", "{not json"},
		{"/schemas/subjects/x", `{"subject":"","schema_id":1,"mode":"backward"}`},
		{"/schemas/subjects/x", `{"subject":"x","schema_id":0,"mode":"backward"}`},
		{"/schemas/subjects/x", `{"subject":"x","schema_id":1,"mode":"sometimes"}`},
		{"/schemas/subjects/x", `{"subject":"x","schema_id":1,"mode":"none","versions":[{"version":1,"type":"xml"}]}`},
		{"/schemas/subjects/x", `{"subject":"x","schema_id":1,"mode":"none","versions":[{"version":1,"type":"bytes"},{"version":1,"type":"bytes"}]}`},
		{"/schemas/next_id", `"seven"`},
	}
	for _, b := range bad {
		meta := store.NewMemory().Meta()
		if err := meta.Put(b.key, []byte(b.value)); err != nil {
			t.Fatal(err)
		}
		if _, err := New(meta); err == nil {
			t.Errorf("New accepted %s = %s", b.key, b.value)
		}
	}

	// Two subjects claiming the same id.
	meta = store.NewMemory().Meta()
	_ = meta.Put("/schemas/subjects/a", []byte(`{"subject":"a","schema_id":3,"mode":"backward"}`))
	_ = meta.Put("/schemas/subjects/b", []byte(`{"subject":"b","schema_id":3,"mode":"backward"}`))
	if _, err := New(meta); err == nil {
		t.Error("New accepted two subjects with one id")
	}
	if _, err := New(nil); err == nil {
		t.Error("New(nil) succeeded")
	}
}

func TestNewIDCounter(t *testing.T) {
	// The counter is the larger of the stored next_id and the highest id in use plus one.
	tests := []struct {
		name   string
		nextID string
		want   uint64
	}{
		{"no counter stored", "", 8},
		{"counter behind", "2", 8},
		{"counter ahead", "20", 20},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			meta := store.NewMemory().Meta()
			_ = meta.Put("/schemas/subjects/a", []byte(`{"subject":"a","schema_id":7,"mode":"FORWARD","versions":[{"version":2,"type":"bytes","fingerprint":"bytes"}]}`))
			if tt.nextID != "" {
				_ = meta.Put("/schemas/next_id", []byte(tt.nextID))
			}
			r, err := New(meta)
			if err != nil {
				t.Fatal(err)
			}
			if v := mustRegister(t, r, "b", "bytes", ""); v.SchemaID != tt.want {
				t.Errorf("new subject id = %d, want %d", v.SchemaID, tt.want)
			}
			// Mode normalised to lower case, and version numbering continues after the stored maximum.
			_, mode, _ := r.Latest("a")
			if mode != ModeForward {
				t.Errorf("mode = %q, want forward", mode)
			}
			if err := r.SetMode("a", "none"); err != nil {
				t.Fatal(err)
			}
			if v := mustRegister(t, r, "a", "string", ""); v.Version != 3 {
				t.Errorf("next version of a = %d, want 3", v.Version)
			}
		})
	}
}
