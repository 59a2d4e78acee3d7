package schema

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/danube-console/danube-console/broker/store"
)

// Schemas shared by the tests.
const (
	avroOrderV1          = `{"type":"record","name":"Order","namespace":"shop","fields":[{"name":"id","type":"long"}]}`
	avroOrderAddNoDef    = `{"type":"record","name":"Order","namespace":"shop","fields":[{"name":"id","type":"long"},{"name":"qty","type":"int"}]}`
	avroOrderAddDefault  = `{"type":"record","name":"Order","namespace":"shop","fields":[{"name":"id","type":"long"},{"name":"qty","type":"int","default":0}]}`
	avroOrderIDString    = `{"type":"record","name":"Order","namespace":"shop","fields":[{"name":"id","type":"string"}]}`
	avroIntV1            = `{"type":"record","name":"N","fields":[{"name":"n","type":"int"}]}`
	avroIntToLong        = `{"type":"record","name":"N","fields":[{"name":"n","type":"long"}]}`
	jsonOrderV1          = `{"type":"object","properties":{"id":{"type":"integer"}},"required":["id"]}`
	jsonOrderAddRequired = `{"type":"object","properties":{"id":{"type":"integer"},"name":{"type":"string"}},"required":["id","name"]}`
	jsonOrderAddOptional = `{"type":"object","properties":{"id":{"type":"integer"},"name":{"type":"string"}},"required":["id"]}`
	jsonOrderIDString    = `{"type":"object","properties":{"id":{"type":"string"}},"required":["id"]}`
	jsonOrderIDNumber    = `{"type":"object","properties":{"id":{"type":"number"}},"required":["id"]}`
	protoOrderV1         = `syntax = "proto3";
package shop;
message Order {
  int64 id = 1;
  string note = 2;
}
`
	protoOrderAddField = `syntax = "proto3";
package shop;
message Order {
  int64 id = 1;
  string note = 2;
  double amount = 3;
}
`
	protoOrderNoteInt = `syntax = "proto3";
package shop;
message Order {
  int64 id = 1;
  int32 note = 2;
}
`
	protoOrderNoteRepeated = `syntax = "proto3";
package shop;
message Order {
  int64 id = 1;
  repeated string note = 2;
}
`
	proto2V1 = `syntax = "proto2";
package legacy;
message Item {
  required int64 id = 1;
}
`
	proto2AddRequired = `syntax = "proto2";
package legacy;
message Item {
  required int64 id = 1;
  required string name = 2;
}
`
)

func newRegistry(t *testing.T) (*Registry, store.Meta) {
	t.Helper()
	meta := store.NewMemory().Meta()
	r, err := New(meta)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return r, meta
}

func mustRegister(t *testing.T, r *Registry, subject, typ, def string) Version {
	t.Helper()
	v, _, err := r.Register(subject, typ, []byte(def), "", "", nil)
	if err != nil {
		t.Fatalf("Register(%q, %q): %v", subject, typ, err)
	}
	return v
}

func wantErr(t *testing.T, err error, sentinel error, textParts ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got nil error, want %v", sentinel)
	}
	if !errors.Is(err, sentinel) {
		t.Fatalf("error %q does not wrap %v", err, sentinel)
	}
	if !strings.HasPrefix(err.Error(), "schema: ") {
		t.Errorf("error %q lacks the \"schema: \" prefix", err)
	}
	for _, p := range textParts {
		if !strings.Contains(err.Error(), p) {
			t.Errorf("error %q does not mention %q", err, p)
		}
	}
}

func u32(v uint32) *uint32 { return &v }
func str(s string) *string { return &s }

// failingMeta wraps a Meta and fails Put while fail is set.
type failingMeta struct {
	store.Meta
	mu   sync.Mutex
	fail bool
	// failKey, if set, restricts failures to that key.
	failKey string
}

var errPut = errors.New("disk full")

func (m *failingMeta) setFail(fail bool, key string) {
	m.mu.Lock()
	m.fail, m.failKey = fail, key
	m.mu.Unlock()
}

func (m *failingMeta) Put(key string, value []byte) error {
	m.mu.Lock()
	fail := m.fail && (m.failKey == "" || m.failKey == key)
	m.mu.Unlock()
	if fail {
		return errPut
	}
	return m.Meta.Put(key, value)
}

var fixedNow = time.Date(2025, 3, 4, 5, 6, 7, 890_000_000, time.FixedZone("X", 3600))

func newMemMeta() store.Meta { return store.NewMemory().Meta() }
