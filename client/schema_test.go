package client

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/danube-console/danube-console/broker"
	"github.com/danube-console/danube-console/broker/brokertest"
)

const (
	srJSONv1          = `{"type":"object","properties":{"id":{"type":"integer"}},"required":["id"]}`
	srJSONAddOptional = `{"type":"object","properties":{"id":{"type":"integer"},"name":{"type":"string"}},"required":["id"]}`
	srJSONIDString    = `{"type":"object","properties":{"id":{"type":"string"}},"required":["id"]}`
	// Odd spacing, HTML characters, escapes and non-ASCII text must survive the broker's JSON wrapping.
	srJSONFancy = "{\n  \"type\": \"object\",\n  \"description\": \"<orders> & \\\"quotes\\\" — ünïcode\",\n" +
		"  \"properties\": {\"id\": {\"type\": \"integer\"}},\n  \"required\": [\"id\"]\n}\n"
	srAvro  = `{"type":"record","name":"Order","namespace":"shop","fields":[{"name":"id","type":"long"}]}`
	srProto = "syntax = \"proto3\";\npackage shop;\nmessage Order {\n  int64 id = 1;\n}\n"
)

// adminTestRegistries returns the registry of the client port and of the admin port of one broker.
func adminTestRegistries(t *testing.T, srv *broker.Server) map[string]*SchemaRegistry {
	return map[string]*SchemaRegistry{
		"client": adminTestClient(t, srv).Schemas(),
		"admin":  adminTestAdmin(t, srv).Schemas(),
	}
}

func TestSchemaRegistryRoundTrip(t *testing.T) {
	srv := brokertest.Run(t, broker.Options{})
	for port, r := range adminTestRegistries(t, srv) {
		t.Run(port, func(t *testing.T) {
			ctx := adminTestCtx(t)
			subj := "orders-" + port
			start := time.Now().Add(-2 * time.Second)
			id, v, isNew, err := r.Register(ctx, subj, "json_schema", []byte(srJSONFancy),
				WithDescription("first"), WithCreatedBy("alice"), WithTags("a", "b"), WithTags("c"))
			if err != nil || v != 1 || !isNew || id == 0 {
				t.Fatalf("Register = %d, %d, %v, %v", id, v, isNew, err)
			}
			// Registering the same schema again is idempotent.
			id2, v2, isNew, err := r.Register(ctx, subj, "JSON", []byte(srJSONFancy))
			if err != nil || id2 != id || v2 != 1 || isNew {
				t.Fatalf("Register again = %d, %d, %v, %v", id2, v2, isNew, err)
			}

			info, err := r.Latest(ctx, subj)
			if err != nil {
				t.Fatalf("Latest: %v", err)
			}
			if string(info.Definition) != srJSONFancy {
				t.Fatalf("Latest.Definition = %q, want the registered text %q", info.Definition, srJSONFancy)
			}
			if info.ID != id || info.Version != 1 || info.Subject != subj || info.Type != "json_schema" ||
				info.Description != "first" || info.CreatedBy != "alice" || !slices.Equal(info.Tags, []string{"a", "b", "c"}) ||
				!strings.HasPrefix(info.Fingerprint, "sha256:") || info.Compatibility != "backward" ||
				info.CreatedAt.Before(start) || info.CreatedAt.After(time.Now().Add(2*time.Second)) {
				t.Fatalf("Latest = %+v", info)
			}

			// A compatible second version.
			_, v, isNew, err = r.Register(ctx, subj, "json_schema", []byte(srJSONAddOptional), WithDescription("second"))
			if err != nil || v != 2 || !isNew {
				t.Fatalf("Register v2 = %d, %v, %v", v, isNew, err)
			}
			got, err := r.Get(ctx, id, nil)
			if err != nil || got.Version != 2 || got.ID != id || string(got.Definition) != srJSONAddOptional {
				t.Fatalf("Get(id, nil) = %+v, %v", got, err)
			}
			one := uint32(1)
			got, err = r.Get(ctx, id, &one)
			if err != nil || got.Version != 1 || got.Description != "first" || string(got.Definition) != srJSONFancy {
				t.Fatalf("Get(id, 1) = %+v, %v", got, err)
			}
			vs, err := r.Versions(ctx, subj)
			if err != nil || len(vs) != 2 || vs[0].Version != 1 || vs[1].Version != 2 || vs[0].ID != id ||
				vs[1].Description != "second" || vs[0].CreatedBy != "alice" || vs[0].CreatedAt.IsZero() ||
				vs[0].Fingerprint != info.Fingerprint || vs[1].Fingerprint == vs[0].Fingerprint {
				t.Fatalf("Versions = %+v, %v", vs, err)
			}

			// Compatibility checks: the subject's mode (backward) by default, or the one asked for.
			ok, problems, err := r.CheckCompatibility(ctx, subj, "json_schema", []byte(srJSONIDString), "")
			if err != nil || ok || len(problems) == 0 {
				t.Fatalf("CheckCompatibility(incompatible) = %v, %q, %v", ok, problems, err)
			}
			ok, problems, err = r.CheckCompatibility(ctx, subj, "json_schema", []byte(srJSONIDString), "NONE")
			if err != nil || !ok || len(problems) != 0 {
				t.Fatalf("CheckCompatibility(mode none) = %v, %q, %v", ok, problems, err)
			}
			_, _, _, err = r.Register(ctx, subj, "json_schema", []byte(srJSONIDString))
			wantAPICode(t, err, codes.Internal) // the real broker's answer to an incompatible schema
			if err := r.SetCompatibility(ctx, subj, "None"); err != nil {
				t.Fatalf("SetCompatibility: %v", err)
			}
			if info, err := r.Latest(ctx, subj); err != nil || info.Compatibility != "none" {
				t.Fatalf("Latest after SetCompatibility = %q, %v", info.Compatibility, err)
			}
			if _, v, _, err := r.Register(ctx, subj, "json_schema", []byte(srJSONIDString)); err != nil || v != 3 {
				t.Fatalf("Register in mode none = %d, %v", v, err)
			}
			wantAPICode(t, r.SetCompatibility(ctx, subj, "sideways"), codes.InvalidArgument)

			// Deleting a version.
			if err := r.DeleteVersion(ctx, subj, 1); err != nil {
				t.Fatalf("DeleteVersion: %v", err)
			}
			vs, err = r.Versions(ctx, subj)
			if err != nil || len(vs) != 2 || vs[0].Version != 2 || vs[1].Version != 3 {
				t.Fatalf("Versions after delete = %+v, %v", vs, err)
			}
			_, err = r.Get(ctx, id, &one)
			wantAPICode(t, err, codes.NotFound)
			wantAPICode(t, r.DeleteVersion(ctx, subj, 1), codes.NotFound)
		})
	}
}

func TestSchemaRegistryTypes(t *testing.T) {
	srv := brokertest.Run(t, broker.Options{})
	r := adminTestClient(t, srv).Schemas()
	ctx := adminTestCtx(t)
	for _, c := range []struct {
		subject, typ, def, wantType string
	}{
		{"bytes-s", "bytes", "", "bytes"},
		{"string-s", "String", "", "string"},
		{"number-s", "int64", "", "number"},
		{"avro-s", "avro", srAvro, "avro"},
		{"proto-s", "proto", srProto, "protobuf"},
		{"json-s", "json", srJSONv1, "json_schema"},
	} {
		id, _, _, err := r.Register(ctx, c.subject, c.typ, []byte(c.def), WithTags(c.typ))
		if err != nil {
			t.Fatalf("Register(%s): %v", c.typ, err)
		}
		info, err := r.Get(ctx, id, nil)
		if err != nil {
			t.Fatalf("Get(%s): %v", c.typ, err)
		}
		if info.Type != c.wantType || string(info.Definition) != c.def || info.Subject != c.subject || info.Fingerprint == "" {
			t.Errorf("%s: Get = %+v (definition %q), want type %s and definition %q", c.typ, info, info.Definition, c.wantType, c.def)
		}
		if c.def == "" && info.Definition != nil {
			t.Errorf("%s: Definition = %q, want nil", c.typ, info.Definition)
		}
	}
	subjects, err := r.Subjects(ctx)
	if err != nil {
		t.Fatalf("Subjects: %v", err)
	}
	names := make([]string, 0, len(subjects))
	for _, s := range subjects {
		names = append(names, s.Subject)
		if s.ID == 0 || s.LatestVersion != 1 || s.Compatibility != "backward" || s.Type == "" {
			t.Errorf("Subjects entry %+v", s)
		}
		if s.Subject == "avro-s" && (s.Type != "avro" || !slices.Equal(s.Tags, []string{"avro"})) {
			t.Errorf("Subjects entry %+v", s)
		}
	}
	slices.Sort(names)
	if want := []string{"avro-s", "bytes-s", "json-s", "number-s", "proto-s", "string-s"}; !slices.Equal(names, want) {
		t.Fatalf("Subjects = %q, want %q", names, want)
	}
}

func TestSchemaRegistryErrors(t *testing.T) {
	srv := brokertest.Run(t, broker.Options{})
	r := adminTestClient(t, srv).Schemas()
	ctx := adminTestCtx(t)

	_, err := r.Latest(ctx, "missing")
	wantAPICode(t, err, codes.NotFound)
	var ae *APIError
	if !errors.As(err, &ae) || !strings.Contains(ae.Message, "Schema not found for subject: missing") {
		t.Fatalf("Latest(missing) = %v", err)
	}
	if !strings.Contains(err.Error(), "latest schema of missing") {
		t.Errorf("error %q does not name the operation", err)
	}
	if errors.Is(err, ErrUnavailable) {
		t.Errorf("NotFound was retried: %v", err)
	}
	_, err = r.Get(ctx, 987654, nil)
	wantAPICode(t, err, codes.NotFound)
	_, err = r.Versions(ctx, "missing")
	wantAPICode(t, err, codes.NotFound)
	wantAPICode(t, r.SetCompatibility(ctx, "missing", "none"), codes.NotFound)
	_, _, _, err = r.Register(ctx, "s", "yaml", []byte("a: 1"))
	wantAPICode(t, err, codes.Internal)
	_, _, _, err = r.Register(ctx, "s", "json_schema", []byte("{not json"))
	wantAPICode(t, err, codes.Internal)
	if _, err := r.Subjects(ctx); err != nil {
		t.Fatalf("Subjects of an empty registry: %v", err)
	}
}

func TestSchemaTopicBinding(t *testing.T) {
	srv := brokertest.Run(t, broker.Options{})
	a := adminTestAdmin(t, srv)
	ctx := adminTestCtx(t)
	id, _, _, err := a.Schemas().Register(ctx, "orders-value", "json_schema", []byte(srJSONv1))
	if err != nil {
		t.Fatal(err)
	}
	if err := a.CreateTopic(ctx, "/default/orders", TopicOptions{Reliable: true}); err != nil {
		t.Fatal(err)
	}
	for port, r := range adminTestRegistries(t, srv) {
		t.Run(port, func(t *testing.T) {
			cfg, err := r.TopicConfig(ctx, "/default/orders")
			if err != nil {
				t.Fatalf("TopicConfig: %v", err)
			}
			if err := r.BindTopic(ctx, "/default/orders", "orders-value", "", false); err != nil {
				t.Fatalf("BindTopic: %v", err)
			}
			cfg, err = r.TopicConfig(ctx, "/default/orders")
			if want := (TopicSchemaConfig{Subject: "orders-value", ValidationPolicy: "warn", SchemaID: id}); err != nil || cfg != want {
				t.Fatalf("TopicConfig = %+v, %v; want %+v", cfg, err, want)
			}
			if err := r.SetValidation(ctx, "/default/orders", "ENFORCE", true); err != nil {
				t.Fatalf("SetValidation: %v", err)
			}
			cfg, err = r.TopicConfig(ctx, "/default/orders")
			if want := (TopicSchemaConfig{Subject: "orders-value", ValidationPolicy: "enforce", ValidatePayload: true, SchemaID: id}); err != nil || cfg != want {
				t.Fatalf("TopicConfig = %+v, %v; want %+v", cfg, err, want)
			}
			if err := r.SetValidation(ctx, "/default/orders", "none", false); err != nil {
				t.Fatalf("SetValidation(none): %v", err)
			}
			d, err := a.DescribeTopic(ctx, "/default/orders")
			if err != nil || d.SchemaSubject != "orders-value" || d.SchemaID != id || d.SchemaVersion != 1 {
				t.Fatalf("DescribeTopic = %+v, %v", d, err)
			}

			wantAPICode(t, r.BindTopic(ctx, "/default/missing", "orders-value", "warn", false), codes.NotFound)
			wantAPICode(t, r.BindTopic(ctx, "/default/orders", "missing", "warn", false), codes.NotFound)
			wantAPICode(t, r.BindTopic(ctx, "/default/orders", "orders-value", "strict", false), codes.InvalidArgument)
			wantAPICode(t, r.SetValidation(ctx, "/default/missing", "warn", false), codes.NotFound)
			_, err = r.TopicConfig(ctx, "/default/missing")
			wantAPICode(t, err, codes.NotFound)
		})
	}
}

// A client's topic bindings go to the broker that serves the topic, found by a lookup; an admin client
// talks to its own broker only.
func TestSchemaBindingFollowsLookup(t *testing.T) {
	owner := brokertest.Run(t, broker.Options{})
	seed := brokertest.Run(t, broker.Options{Peers: []string{owner.URL()}})
	ownerAdmin := adminTestAdmin(t, owner)
	ctx := adminTestCtx(t)
	// Each embedded broker has its own registry; register where the topic lives.
	id, _, _, err := ownerAdmin.Schemas().Register(ctx, "s", "string", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := ownerAdmin.CreateTopic(ctx, "/default/far", TopicOptions{}); err != nil {
		t.Fatal(err)
	}

	r := adminTestClient(t, seed).Schemas()
	if err := r.BindTopic(ctx, "/default/far", "s", "enforce", false); err != nil {
		t.Fatalf("BindTopic through the seed broker: %v", err)
	}
	cfg, err := r.TopicConfig(ctx, "/default/far")
	if want := (TopicSchemaConfig{Subject: "s", ValidationPolicy: "enforce", SchemaID: id}); err != nil || cfg != want {
		t.Fatalf("TopicConfig through the seed broker = %+v, %v; want %+v", cfg, err, want)
	}
	if cfg, err := ownerAdmin.Schemas().TopicConfig(ctx, "/default/far"); err != nil || cfg.Subject != "s" {
		t.Fatalf("TopicConfig at the owner = %+v, %v", cfg, err)
	}
	_, err = adminTestAdmin(t, seed).Schemas().TopicConfig(ctx, "/default/far")
	wantAPICode(t, err, codes.NotFound)
}

func TestDecodeDefinition(t *testing.T) {
	for _, c := range []struct {
		wire, def, fp string
	}{
		{`"Bytes"`, "", ""},
		{`"String"`, "", ""},
		{` "Number" `, "", ""},
		{`{"JsonSchema":{"raw_schema":"{\"type\":\"object\"}","fingerprint":"sha256:ab"}}`, `{"type":"object"}`, "sha256:ab"},
		{`{"Avro":{"raw_schema":"{\"type\":\"long\"}","fingerprint":"sha256:cd"}}`, `{"type":"long"}`, "sha256:cd"},
		{`{"Protobuf":{"raw_schema":"syntax = \"proto3\";\nmessage A {}","fingerprint":"x"}}`, "syntax = \"proto3\";\nmessage A {}", "x"},
		{`{"JsonSchema":{"raw_schema":"","fingerprint":""}}`, "", ""},
		// Not the wrapped enum: returned unchanged.
		{`{"type":"object"}`, `{"type":"object"}`, ""},
		{`{"JsonSchema":{"fingerprint":"x"}}`, `{"JsonSchema":{"fingerprint":"x"}}`, ""},
		{`{"Avro":{"raw_schema":"a"},"Other":1}`, `{"Avro":{"raw_schema":"a"},"Other":1}`, ""},
		{`"Other"`, `"Other"`, ""},
		{`syntax = "proto3";`, `syntax = "proto3";`, ""},
		{``, "", ""},
	} {
		def, fp := decodeDefinition([]byte(c.wire))
		if string(def) != c.def || fp != c.fp {
			t.Errorf("decodeDefinition(%s) = %q, %q; want %q, %q", c.wire, def, fp, c.def, c.fp)
		}
	}
}

func TestUnixTime(t *testing.T) {
	if !unixTime(0).IsZero() {
		t.Error("unixTime(0) is not the zero time")
	}
	if got := unixTime(1_700_000_000); !got.Equal(time.Unix(1_700_000_000, 0)) {
		t.Errorf("unixTime(seconds) = %v", got)
	}
	if got := unixTime(1_700_000_000_500); !got.Equal(time.UnixMilli(1_700_000_000_500)) {
		t.Errorf("unixTime(milliseconds) = %v", got)
	}
}

func TestSchemaBindingWithoutDiscovery(t *testing.T) {
	ba := &fakeBrokerAdmin{}
	u := runFakeAdmin(t, ba)
	c, err := Connect(adminTestCtx(t), u, WithRetry(RetryPolicy{MaxRetries: 1, BaseBackoff: time.Millisecond}))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// The fake serves no Discovery: BindTopic's lookup fails and the call goes to the service URL.
	if err := c.Schemas().BindTopic(adminTestCtx(t), "/default/a", "s", "warn", false); err == nil || !strings.Contains(err.Error(), "nope") {
		t.Fatalf("BindTopic = %v", err)
	}
	_, err = c.Schemas().Subjects(adminTestCtx(t))
	if status.Code(err) != codes.Unimplemented {
		t.Fatalf("Subjects on the fake = %v, want Unimplemented", err)
	}
}
