package broker_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/danube-console/danube-console/broker"
	"github.com/danube-console/danube-console/proto/danubepb"
	"github.com/danube-console/danube-console/proto/schemapb"
)

// JSON schemas for the registry tests. orderSpaced is orderV1 with other whitespace and key order.
const (
	orderV1      = `{"type":"object","properties":{"id":{"type":"integer"}},"required":["id"]}`
	orderSpaced  = "{ \"required\": [\"id\"],\n  \"properties\": { \"id\": { \"type\": \"integer\" } },\n  \"type\": \"object\" }"
	orderCanon   = `{"properties":{"id":{"type":"integer"}},"required":["id"],"type":"object"}`
	orderAddOpt  = `{"type":"object","properties":{"id":{"type":"integer"},"note":{"type":"string"}},"required":["id"]}`
	orderAddReq  = `{"type":"object","properties":{"id":{"type":"integer"},"note":{"type":"string"},"qty":{"type":"integer"}},"required":["id","qty"]}`
	orderIDText  = `{"type":"object","properties":{"id":{"type":"string"}},"required":["id"]}`
	orderNoID    = `{"type":"object","properties":{"note":{"type":"string"}}}`
	customerV1   = `{"type":"object","properties":{"name":{"type":"string"}}}`
	customerInt  = `{"type":"object","properties":{"name":{"type":"integer"}}}`
	orderPayload = `{"id":7,"note":"ok"}`
)

func fingerprintOf(canonical string) string {
	sum := sha256.Sum256([]byte(canonical))
	return "sha256:" + hex.EncodeToString(sum[:])
}

func register(t *testing.T, w *wire, subject, typ, def string) *schemapb.RegisterSchemaResponse {
	t.Helper()
	resp, err := w.Schema.RegisterSchema(ctx(t), &schemapb.RegisterSchemaRequest{Subject: subject, SchemaType: typ,
		SchemaDefinition: []byte(def), Description: "d-" + subject, CreatedBy: "tester", Tags: []string{"t1", "t2"}})
	if err != nil {
		t.Fatalf("RegisterSchema(%s): %v", subject, err)
	}
	return resp
}

func TestSchemaRegisterIdempotentAndVersioned(t *testing.T) {
	w := newWire(t, broker.Options{})
	first := register(t, w, "orders", "json_schema", orderV1)
	if first.Version != 1 || !first.IsNewVersion || first.SchemaId == 0 || first.Fingerprint != fingerprintOf(orderCanon) {
		t.Fatalf("first registration %v (want fingerprint %s)", first, fingerprintOf(orderCanon))
	}
	again := register(t, w, "orders", "json_schema", orderV1)
	if again.SchemaId != first.SchemaId || again.Version != 1 || again.IsNewVersion || again.Fingerprint != first.Fingerprint {
		t.Fatalf("re-registration %v, want id %d version 1 not new", again, first.SchemaId)
	}
	// The same schema written differently is the same schema (canonical fingerprint); "JSON" is an alias.
	spaced := register(t, w, "orders", "JSON", orderSpaced)
	if spaced.SchemaId != first.SchemaId || spaced.Version != 1 || spaced.IsNewVersion {
		t.Fatalf("re-registration with other whitespace %v", spaced)
	}

	other := register(t, w, "customers", "json_schema", customerV1)
	if other.SchemaId == first.SchemaId || other.Version != 1 || !other.IsNewVersion {
		t.Fatalf("second subject %v shares id %d", other, first.SchemaId)
	}

	v2 := register(t, w, "orders", "json_schema", orderAddOpt) // backward compatible: adds an optional property
	if v2.SchemaId != first.SchemaId || v2.Version != 2 || !v2.IsNewVersion {
		t.Fatalf("compatible change %v, want id %d version 2", v2, first.SchemaId)
	}
	if v1again := register(t, w, "orders", "json_schema", orderV1); v1again.Version != 1 || v1again.IsNewVersion {
		t.Fatalf("re-registering version 1 after version 2: %v", v1again)
	}
}

func TestSchemaRegisterErrors(t *testing.T) {
	w := newWire(t, broker.Options{})
	register(t, w, "orders", "json_schema", orderV1)
	for name, req := range map[string]*schemapb.RegisterSchemaRequest{
		"incompatible":       {Subject: "orders", SchemaType: "json_schema", SchemaDefinition: []byte(orderNoID)},
		"type change":        {Subject: "orders", SchemaType: "json_schema", SchemaDefinition: []byte(orderIDText)},
		"bad type":           {Subject: "orders", SchemaType: "xml", SchemaDefinition: []byte(orderV1)},
		"bad type, new":      {Subject: "fresh", SchemaType: "yaml", SchemaDefinition: []byte(orderV1)},
		"unparsable json":    {Subject: "fresh", SchemaType: "json_schema", SchemaDefinition: []byte(`{"type":`)},
		"unparsable avro":    {Subject: "fresh", SchemaType: "avro", SchemaDefinition: []byte(`{"type":"record"}`)},
		"unparsable proto":   {Subject: "fresh", SchemaType: "protobuf", SchemaDefinition: []byte(`message {`)},
		"schema type switch": {Subject: "orders", SchemaType: "string"},
	} {
		_, err := w.Schema.RegisterSchema(ctx(t), req)
		t.Run(name, func(t *testing.T) { wantStatusPrefix(t, err, codes.Internal, "Failed to register schema:") })
	}
	// Nothing was registered by the failures.
	vs, err := w.Schema.ListVersions(ctx(t), &schemapb.ListVersionsRequest{Subject: "orders"})
	if err != nil || len(vs.Versions) != 1 {
		t.Fatalf("versions %v err %v", vs, err)
	}
	_, err = w.Schema.GetLatestSchema(ctx(t), &schemapb.GetLatestSchemaRequest{Subject: "fresh"})
	wantStatus(t, err, codes.NotFound, "Schema not found for subject: fresh")
}

func TestSchemaGet(t *testing.T) {
	w := newWire(t, broker.Options{})
	before := time.Now().Add(-time.Second).Unix()
	v1 := register(t, w, "orders", "json_schema", orderSpaced)
	v2 := register(t, w, "orders", "json_schema", orderAddOpt)

	latest, err := w.Schema.GetSchema(ctx(t), &schemapb.GetSchemaRequest{SchemaId: v1.SchemaId})
	if err != nil {
		t.Fatal(err)
	}
	if latest.Version != 2 || latest.SchemaId != v1.SchemaId || latest.Subject != "orders" || latest.SchemaType != "json_schema" ||
		latest.Fingerprint != v2.Fingerprint || latest.CompatibilityMode != "backward" || latest.Description != "d-orders" ||
		latest.CreatedBy != "tester" || strings.Join(latest.Tags, ",") != "t1,t2" || int64(latest.CreatedAt) < before {
		t.Fatalf("GetSchema without version: %v", latest)
	}
	one := uint32(1)
	got, err := w.Schema.GetSchema(ctx(t), &schemapb.GetSchemaRequest{SchemaId: v1.SchemaId, Version: &one})
	if err != nil {
		t.Fatal(err)
	}
	// schema_definition is the JSON-wrapped enum with the registered text, not the raw bytes.
	raw, _ := json.Marshal(orderSpaced)
	wantDef := `{"JsonSchema":{"raw_schema":` + string(raw) + `,"fingerprint":"` + fingerprintOf(orderCanon) + `"}}`
	if got.Version != 1 || string(got.SchemaDefinition) != wantDef || got.Fingerprint != fingerprintOf(orderCanon) {
		t.Fatalf("GetSchema version 1: version %d definition\n%s\nwant\n%s", got.Version, got.SchemaDefinition, wantDef)
	}

	byLatest, err := w.Schema.GetLatestSchema(ctx(t), &schemapb.GetLatestSchemaRequest{Subject: "orders"})
	if err != nil || byLatest.SchemaId != v1.SchemaId || byLatest.Version != 2 || byLatest.CompatibilityMode != "backward" {
		t.Fatalf("GetLatestSchema: %v %v", byLatest, err)
	}

	_, err = w.Schema.GetSchema(ctx(t), &schemapb.GetSchemaRequest{SchemaId: 9999})
	wantStatus(t, err, codes.NotFound, "Schema not found for ID: 9999")
	_, err = w.Schema.GetLatestSchema(ctx(t), &schemapb.GetLatestSchemaRequest{Subject: "nope"})
	wantStatus(t, err, codes.NotFound, "Schema not found for subject: nope")
	seven := uint32(7)
	_, err = w.Schema.GetSchema(ctx(t), &schemapb.GetSchemaRequest{SchemaId: v1.SchemaId, Version: &seven})
	wantStatus(t, err, codes.NotFound, "")

	// Primitive types: the definition is the JSON string of the variant, the fingerprint the type name.
	b := register(t, w, "raw", "BYTES", "")
	if b.Fingerprint != "bytes" {
		t.Fatalf("bytes fingerprint %q", b.Fingerprint)
	}
	rb, err := w.Schema.GetSchema(ctx(t), &schemapb.GetSchemaRequest{SchemaId: b.SchemaId})
	if err != nil || string(rb.SchemaDefinition) != `"Bytes"` || rb.SchemaType != "bytes" || rb.Fingerprint != "bytes" {
		t.Fatalf("bytes schema %v %v", rb, err)
	}
}

func TestSchemaListsAndModes(t *testing.T) {
	w := newWire(t, broker.Options{})
	o1 := register(t, w, "orders", "json_schema", orderV1)
	o2 := register(t, w, "orders", "json_schema", orderAddOpt)
	c1 := register(t, w, "customers", "json_schema", customerV1)

	vs, err := w.Schema.ListVersions(ctx(t), &schemapb.ListVersionsRequest{Subject: "orders"})
	if err != nil || len(vs.Versions) != 2 {
		t.Fatalf("ListVersions %v %v", vs, err)
	}
	for i, want := range []*schemapb.RegisterSchemaResponse{o1, o2} {
		v := vs.Versions[i]
		if v.Version != uint32(i+1) || v.SchemaId != o1.SchemaId || v.Fingerprint != want.Fingerprint ||
			v.CreatedBy != "tester" || v.Description != "d-orders" || v.CreatedAt == 0 {
			t.Fatalf("version %d: %v", i+1, v)
		}
	}
	_, err = w.Schema.ListVersions(ctx(t), &schemapb.ListVersionsRequest{Subject: "nope"})
	wantStatus(t, err, codes.NotFound, "")

	subjects := func() []*schemapb.SubjectSummary {
		t.Helper()
		resp, err := w.Schema.ListSubjects(ctx(t), &schemapb.ListSubjectsRequest{})
		if err != nil {
			t.Fatal(err)
		}
		return resp.Subjects
	}
	ss := subjects()
	if len(ss) != 2 || ss[0].Subject != "customers" || ss[1].Subject != "orders" ||
		ss[0].SchemaId != c1.SchemaId || ss[1].SchemaId != o1.SchemaId || ss[1].LatestVersion != 2 ||
		ss[1].SchemaType != "json_schema" || ss[1].CompatibilityMode != "backward" || strings.Join(ss[1].Tags, ",") != "t1,t2" {
		t.Fatalf("ListSubjects %v", ss)
	}

	// The mode comes back lower case whatever case was sent.
	sm, err := w.Schema.SetCompatibilityMode(ctx(t), &schemapb.SetCompatibilityModeRequest{Subject: "orders", CompatibilityMode: "FULL"})
	if err != nil || !sm.Success {
		t.Fatalf("SetCompatibilityMode: %v %v", sm, err)
	}
	if ss := subjects(); ss[1].CompatibilityMode != "full" {
		t.Fatalf("mode %q after setting FULL", ss[1].CompatibilityMode)
	}
	if got, err := w.Schema.GetLatestSchema(ctx(t), &schemapb.GetLatestSchemaRequest{Subject: "orders"}); err != nil || got.CompatibilityMode != "full" {
		t.Fatalf("GetLatestSchema mode %v %v", got, err)
	}
	_, err = w.Schema.SetCompatibilityMode(ctx(t), &schemapb.SetCompatibilityModeRequest{Subject: "orders", CompatibilityMode: "sideways"})
	if err == nil {
		t.Fatal("an unknown compatibility mode was accepted")
	}
	_, err = w.Schema.SetCompatibilityMode(ctx(t), &schemapb.SetCompatibilityModeRequest{Subject: "nope", CompatibilityMode: "none"})
	wantStatus(t, err, codes.NotFound, "")

	// Under "none" an incompatible change is accepted.
	_, err = w.Schema.RegisterSchema(ctx(t), &schemapb.RegisterSchemaRequest{Subject: "customers", SchemaType: "json_schema",
		SchemaDefinition: []byte(customerInt)})
	wantStatusPrefix(t, err, codes.Internal, "Failed to register schema:")
	if _, err := w.Schema.SetCompatibilityMode(ctx(t), &schemapb.SetCompatibilityModeRequest{Subject: "customers", CompatibilityMode: "none"}); err != nil {
		t.Fatal(err)
	}
	if r := register(t, w, "customers", "json_schema", customerInt); r.Version != 2 || r.SchemaId != c1.SchemaId {
		t.Fatalf("registration under mode none: %v", r)
	}
}

func TestSchemaDeleteVersion(t *testing.T) {
	w := newWire(t, broker.Options{})
	o1 := register(t, w, "orders", "json_schema", orderV1)
	register(t, w, "orders", "json_schema", orderAddOpt)
	resp, err := w.Schema.DeleteSchemaVersion(ctx(t), &schemapb.DeleteSchemaVersionRequest{Subject: "orders", Version: 1})
	if err != nil || !resp.Success {
		t.Fatalf("DeleteSchemaVersion: %v %v", resp, err)
	}
	vs, err := w.Schema.ListVersions(ctx(t), &schemapb.ListVersionsRequest{Subject: "orders"})
	if err != nil || len(vs.Versions) != 1 || vs.Versions[0].Version != 2 {
		t.Fatalf("versions after delete: %v %v", vs, err)
	}
	one := uint32(1)
	_, err = w.Schema.GetSchema(ctx(t), &schemapb.GetSchemaRequest{SchemaId: o1.SchemaId, Version: &one})
	wantStatus(t, err, codes.NotFound, "")
	_, err = w.Schema.DeleteSchemaVersion(ctx(t), &schemapb.DeleteSchemaVersionRequest{Subject: "orders", Version: 1})
	wantStatus(t, err, codes.NotFound, "")
	_, err = w.Schema.DeleteSchemaVersion(ctx(t), &schemapb.DeleteSchemaVersionRequest{Subject: "nope", Version: 1})
	wantStatus(t, err, codes.NotFound, "")
	// Version numbers are not reused: the next version is 3, with the same id.
	if r := register(t, w, "orders", "json_schema", orderV1); r.Version != 3 || r.SchemaId != o1.SchemaId || !r.IsNewVersion {
		t.Fatalf("registration after delete: %v", r)
	}
}

func TestSchemaCheckCompatibility(t *testing.T) {
	w := newWire(t, broker.Options{})
	register(t, w, "orders", "json_schema", orderV1)
	check := func(def string, mode *string) *schemapb.CheckCompatibilityResponse {
		t.Helper()
		resp, err := w.Schema.CheckCompatibility(ctx(t), &schemapb.CheckCompatibilityRequest{Subject: "orders",
			NewSchemaDefinition: []byte(def), SchemaType: "json_schema", CompatibilityMode: mode})
		if err != nil {
			t.Fatalf("CheckCompatibility: %v", err)
		}
		return resp
	}
	if r := check(orderAddOpt, nil); !r.IsCompatible || len(r.Errors) != 0 {
		t.Fatalf("optional property: %v", r)
	}
	// The real broker's JSON rules: BACKWARD accepts a brand-new required property, FORWARD refuses it.
	if r := check(orderAddReq, nil); !r.IsCompatible || len(r.Errors) != 0 {
		t.Fatalf("new required property under backward: %v", r)
	}
	none := "NONE"
	if r := check(orderNoID, &none); !r.IsCompatible || len(r.Errors) != 0 {
		t.Fatalf("removed required property under mode none: %v", r)
	}
	forward := "forward"
	if r := check(orderAddReq, &forward); r.IsCompatible ||
		!slices.Equal(r.Errors, []string{"Forward incompatible: added new required field 'qty'"}) {
		t.Fatalf("new required property under mode forward: %v", r)
	}
	if r := check(orderNoID, &forward); !r.IsCompatible {
		t.Fatalf("removed required property under mode forward: %v", r)
	}
	if r := check(orderNoID, nil); r.IsCompatible ||
		!slices.Equal(r.Errors, []string{"Backward incompatible: removed required field 'id'"}) {
		t.Fatalf("removed required property under backward: %v", r)
	}
	// FULL returns only the backward errors when there are some.
	full := "Full"
	if r := check(orderIDText, &full); r.IsCompatible ||
		!slices.Equal(r.Errors, []string{"Backward incompatible: changed type of field 'id'"}) {
		t.Fatalf("changed type under mode full: %v", r)
	}
	if r := check(orderAddReq, &full); r.IsCompatible ||
		!slices.Equal(r.Errors, []string{"Forward incompatible: added new required field 'qty'"}) {
		t.Fatalf("new required property under mode full: %v", r)
	}
	// Checking changes nothing.
	vs, err := w.Schema.ListVersions(ctx(t), &schemapb.ListVersionsRequest{Subject: "orders"})
	if err != nil || len(vs.Versions) != 1 {
		t.Fatalf("versions after checks: %v %v", vs, err)
	}
}

// ---- producers with a schema reference ----

func (w *wire) createSchemaProducer(topic, name string, reliable bool, ref *danubepb.SchemaReference) (*producer, error) {
	strat := danubepb.DispatchStrategy_NonReliable
	if reliable {
		strat = danubepb.DispatchStrategy_Reliable
	}
	resp, err := w.Producer.CreateProducer(ctx(w.t), &danubepb.ProducerRequest{RequestId: w.reqID.Add(1),
		ProducerName: name, TopicName: topic, DispatchStrategy: strat, SchemaRef: ref})
	if err != nil {
		return nil, err
	}
	return &producer{w: w, id: resp.ProducerId, topic: topic, name: name}, nil
}

func latestRef(subject string) *danubepb.SchemaReference {
	return &danubepb.SchemaReference{Subject: subject, VersionRef: &danubepb.SchemaReference_UseLatest{UseLatest: true}}
}

// sendSchema publishes payload stamped with the given schema id and version (nil for none).
func (p *producer) sendSchema(payload string, id *uint64, version *uint32) error {
	m := p.message(payload)
	m.SchemaId, m.SchemaVersion = id, version
	_, err := p.w.Producer.SendMessage(ctx(p.w.t), m)
	return err
}

func u64p(v uint64) *uint64 { return &v }
func u32p(v uint32) *uint32 { return &v }

func TestProducerSchemaRef(t *testing.T) {
	w := newWire(t, broker.Options{})
	orders := register(t, w, "orders", "json_schema", orderV1)
	register(t, w, "customers", "json_schema", customerV1)
	topic := "/default/typed"

	_, err := w.createSchemaProducer(topic, "p0", false, latestRef("unknown"))
	wantStatusPrefix(t, err, codes.FailedPrecondition, "Failed to assign schema 'unknown' to topic '"+topic+"': ")

	p, err := w.createSchemaProducer(topic, "p1", false, latestRef("orders"))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := w.Schema.GetTopicSchemaConfig(ctx(t), &schemapb.GetTopicSchemaConfigRequest{TopicName: topic})
	if err != nil || cfg.SchemaSubject != "orders" || cfg.SchemaId != orders.SchemaId || cfg.ValidationPolicy != "warn" {
		t.Fatalf("topic schema config after the first producer: %v %v", cfg, err)
	}
	if info, _ := w.srv.Topic(topic); info.SchemaSubject != "orders" {
		t.Fatalf("topic subject %q", info.SchemaSubject)
	}

	_, err = w.createSchemaProducer(topic, "p2", false, latestRef("customers"))
	wantStatus(t, err, codes.FailedPrecondition,
		"Topic '"+topic+"' uses schema subject 'orders', cannot use 'customers'. Only admin can change topic schema.")
	// Even the first producer's name cannot switch subjects.
	_, err = w.createSchemaProducer(topic, "p1", false, latestRef("customers"))
	wantStatus(t, err, codes.FailedPrecondition,
		"Topic '"+topic+"' uses schema subject 'orders', cannot use 'customers'. Only admin can change topic schema.")
	// The same subject is fine for another producer, pinned to an existing version.
	if _, err := w.createSchemaProducer(topic, "p3", false, &danubepb.SchemaReference{Subject: "orders",
		VersionRef: &danubepb.SchemaReference_PinnedVersion{PinnedVersion: 1}}); err != nil {
		t.Fatalf("second producer with the same subject: %v", err)
	}

	// schema_id and schema_version pass through to consumers unchanged (warn never rewrites or refuses).
	s := w.receive(w.mustSubscribe(topic, "s", "c", shared))
	if err := p.sendSchema(orderPayload, u64p(orders.SchemaId), u32p(1)); err != nil {
		t.Fatal(err)
	}
	if err := p.sendSchema("not even json", u64p(orders.SchemaId+100), u32p(42)); err != nil {
		t.Fatalf("warn refused a mismatched message: %v", err)
	}
	if err := p.sendSchema("bare", nil, nil); err != nil {
		t.Fatalf("warn refused a message without a schema: %v", err)
	}
	m := s.next(t)
	if string(m.Payload) != orderPayload || m.SchemaId == nil || *m.SchemaId != orders.SchemaId || m.SchemaVersion == nil || *m.SchemaVersion != 1 {
		t.Fatalf("first message %v", m)
	}
	m = s.next(t)
	if m.SchemaId == nil || *m.SchemaId != orders.SchemaId+100 || m.SchemaVersion == nil || *m.SchemaVersion != 42 {
		t.Fatalf("second message %v", m)
	}
	if m = s.next(t); m.SchemaId != nil || m.SchemaVersion != nil || string(m.Payload) != "bare" {
		t.Fatalf("third message %v", m)
	}
}

func TestProducerSchemaRefReliablePassThrough(t *testing.T) {
	w := newWire(t, broker.Options{FailurePolicy: fastPolicy()})
	orders := register(t, w, "orders", "json_schema", orderV1)
	topic := "/default/typed-rel"
	p, err := w.createSchemaProducer(topic, "p", true, latestRef("orders"))
	if err != nil {
		t.Fatal(err)
	}
	s := w.receive(w.mustSubscribe(topic, "s", "c", exclusive))
	if err := p.sendSchema(orderPayload, u64p(orders.SchemaId), u32p(1)); err != nil {
		t.Fatal(err)
	}
	m := s.next(t)
	if m.SchemaId == nil || *m.SchemaId != orders.SchemaId || m.SchemaVersion == nil || *m.SchemaVersion != 1 || string(m.Payload) != orderPayload {
		t.Fatalf("message %v", m)
	}
}

// ---- topic schema binding and validation policies ----

func configure(t *testing.T, w *wire, topic, subject, policy string, payload bool) {
	t.Helper()
	resp, err := w.Schema.ConfigureTopicSchema(ctx(t), &schemapb.ConfigureTopicSchemaRequest{TopicName: topic,
		SchemaSubject: subject, ValidationPolicy: policy, EnablePayloadValidation: payload})
	if err != nil || !resp.Success {
		t.Fatalf("ConfigureTopicSchema(%s, %s, %s): %v %v", topic, subject, policy, resp, err)
	}
}

func TestTopicSchemaConfig(t *testing.T) {
	w := newWire(t, broker.Options{})
	orders := register(t, w, "orders", "json_schema", orderV1)
	_, err := w.Schema.ConfigureTopicSchema(ctx(t), &schemapb.ConfigureTopicSchemaRequest{TopicName: "/default/absent",
		SchemaSubject: "orders", ValidationPolicy: "enforce"})
	wantStatus(t, err, codes.NotFound, "Topic '/default/absent' not found on this broker")
	_, err = w.Schema.GetTopicSchemaConfig(ctx(t), &schemapb.GetTopicSchemaConfigRequest{TopicName: "/default/absent"})
	wantStatus(t, err, codes.NotFound, "Topic '/default/absent' not found on this broker")
	_, err = w.Schema.UpdateTopicValidationPolicy(ctx(t), &schemapb.UpdateTopicValidationPolicyRequest{TopicName: "/default/absent",
		ValidationPolicy: "warn"})
	wantStatus(t, err, codes.NotFound, "Topic '/default/absent' not found on this broker")

	topic := "/default/plain-schema"
	w.mustProducer(topic, "p", false)
	cfg, err := w.Schema.GetTopicSchemaConfig(ctx(t), &schemapb.GetTopicSchemaConfigRequest{TopicName: topic})
	if err != nil || cfg.SchemaSubject != "" || cfg.ValidationPolicy != "warn" || cfg.EnablePayloadValidation || cfg.SchemaId != 0 {
		t.Fatalf("default config %v %v", cfg, err)
	}
	configure(t, w, topic, "orders", "enforce", true)
	cfg, err = w.Schema.GetTopicSchemaConfig(ctx(t), &schemapb.GetTopicSchemaConfigRequest{TopicName: topic})
	if err != nil || cfg.SchemaSubject != "orders" || cfg.ValidationPolicy != "enforce" || !cfg.EnablePayloadValidation || cfg.SchemaId != orders.SchemaId {
		t.Fatalf("configured %v %v", cfg, err)
	}
	up, err := w.Schema.UpdateTopicValidationPolicy(ctx(t), &schemapb.UpdateTopicValidationPolicyRequest{TopicName: topic,
		ValidationPolicy: "none"})
	if err != nil || !up.Success {
		t.Fatalf("UpdateTopicValidationPolicy %v %v", up, err)
	}
	cfg, err = w.Schema.GetTopicSchemaConfig(ctx(t), &schemapb.GetTopicSchemaConfigRequest{TopicName: topic})
	if err != nil || cfg.SchemaSubject != "orders" || cfg.ValidationPolicy != "none" || cfg.EnablePayloadValidation {
		t.Fatalf("after update %v %v", cfg, err)
	}
	// An admin binding may change the subject a producer bound.
	register(t, w, "customers", "json_schema", customerV1)
	configure(t, w, topic, "customers", "warn", false)
	if _, err := w.createSchemaProducer(topic, "q", false, latestRef("customers")); err != nil {
		t.Fatalf("producer with the new subject: %v", err)
	}
}

func TestValidationPolicies(t *testing.T) {
	w := newWire(t, broker.Options{})
	orders := register(t, w, "orders", "json_schema", orderV1)
	customers := register(t, w, "customers", "json_schema", customerV1)
	topic := "/default/validated"
	p := w.mustProducer(topic, "p", false)
	s := w.receive(w.mustSubscribe(topic, "s", "c", shared))
	const refused = "Unable to publish the message:"

	configure(t, w, topic, "orders", "enforce", false)
	wantStatusPrefix(t, p.sendSchema(orderPayload, nil, nil), codes.PermissionDenied, refused)
	wantStatusPrefix(t, p.sendSchema(orderPayload, u64p(customers.SchemaId), nil), codes.PermissionDenied, refused)
	wantStatusPrefix(t, p.sendSchema(orderPayload, u64p(orders.SchemaId), u32p(9)), codes.PermissionDenied, refused)
	s.none(t, 30*time.Millisecond)
	// Without payload validation the payload itself is not checked.
	if err := p.sendSchema("not json", u64p(orders.SchemaId), u32p(1)); err != nil {
		t.Fatalf("enforce without payload validation refused the right schema id: %v", err)
	}
	if m := s.next(t); string(m.Payload) != "not json" {
		t.Fatalf("got %q", m.Payload)
	}

	configure(t, w, topic, "orders", "warn", false)
	if err := p.sendSchema("no schema", nil, nil); err != nil {
		t.Fatalf("warn refused: %v", err)
	}
	if err := p.sendSchema("wrong schema", u64p(customers.SchemaId), nil); err != nil {
		t.Fatalf("warn refused: %v", err)
	}
	for _, want := range []string{"no schema", "wrong schema"} {
		if m := s.next(t); string(m.Payload) != want {
			t.Fatalf("got %q, want %q", m.Payload, want)
		}
	}

	configure(t, w, topic, "orders", "enforce", true)
	for _, bad := range []string{`{"note":"no id"}`, `{"id":"seven"}`, `not json`, `[1,2]`} {
		wantStatusPrefix(t, p.sendSchema(bad, u64p(orders.SchemaId), u32p(1)), codes.PermissionDenied, refused)
		wantStatusPrefix(t, p.sendSchema(bad, u64p(orders.SchemaId), nil), codes.PermissionDenied, refused)
	}
	if err := p.sendSchema(orderPayload, u64p(orders.SchemaId), u32p(1)); err != nil {
		t.Fatalf("a valid payload was refused: %v", err)
	}
	if err := p.sendSchema(`{"id":1}`, u64p(orders.SchemaId), nil); err != nil {
		t.Fatalf("a valid payload without a version was refused: %v", err)
	}
	for _, want := range []string{orderPayload, `{"id":1}`} {
		if m := s.next(t); string(m.Payload) != want {
			t.Fatalf("got %q, want %q", m.Payload, want)
		}
	}
	s.none(t, 30*time.Millisecond)

	// A reliable topic refuses the same way and stores nothing refused.
	rt := "/default/validated-rel"
	rp := w.mustProducer(rt, "p", true)
	configure(t, w, rt, "orders", "enforce", true)
	wantStatusPrefix(t, rp.sendSchema(`{"id":"x"}`, u64p(orders.SchemaId), u32p(1)), codes.PermissionDenied, refused)
	if err := rp.sendSchema(orderPayload, u64p(orders.SchemaId), u32p(1)); err != nil {
		t.Fatal(err)
	}
	if info, _ := w.srv.Topic(rt); info.NextOffset != 1 {
		t.Fatalf("reliable topic stored %d messages, want 1", info.NextOffset)
	}
}
