package client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/danube-console/danube-console/proto/schemapb"
)

// SchemaRegistry is a client of a broker's schema registry (danube_schema.SchemaRegistry). Get one from
// Client.Schemas (the client port) or Admin.Schemas (the admin port); both ports serve the same registry.
// Every call is retried according to the client's RetryPolicy, and failures are *APIError values wrapped
// with the operation: status.Code(err) gives the broker's code (NotFound for an unknown id, subject or
// version; the real broker answers Internal "Failed to register schema: …" for an incompatible or invalid
// schema). A call answered with success=false fails with ErrRefused and the broker's message.
type SchemaRegistry struct {
	c *Client
	// routeTopics sends the topic calls (BindTopic, SetValidation, TopicConfig) to the broker that serves the
	// topic, found with a lookup; only the client port answers lookups.
	routeTopics bool
}

// Schemas returns the schema registry reached through the client's service URL. Topic bindings are sent to
// the broker that serves the topic (a broker only configures the topics it has loaded).
func (c *Client) Schemas() *SchemaRegistry { return &SchemaRegistry{c: c, routeTopics: true} }

// SchemaInfo is one version of a subject.
type SchemaInfo struct {
	// ID is the subject's schema id (one per subject, shared by its versions).
	ID      uint64
	Version uint32
	Subject string
	// Type is the canonical type name the broker reports ("bytes", "string", "number", "avro",
	// "json_schema", "protobuf").
	Type string
	// Definition is the schema as registered (nil for bytes, string and number), decoded from the JSON form
	// of the broker's internal enum that GetSchema answers.
	Definition  []byte
	Description string
	CreatedBy   string
	Tags        []string
	// CreatedAt is the registration time (second precision); zero when the broker did not say.
	CreatedAt   time.Time
	Fingerprint string
	// Compatibility is the subject's compatibility mode in lower case ("none", "backward", "forward", "full").
	Compatibility string
}

// VersionInfo describes one version of a subject, without its definition.
type VersionInfo struct {
	Version     uint32
	ID          uint64
	CreatedAt   time.Time
	CreatedBy   string
	Description string
	Fingerprint string
}

// SubjectInfo summarises a subject.
type SubjectInfo struct {
	Subject       string
	Type          string
	LatestVersion uint32
	// Compatibility is the subject's compatibility mode in lower case.
	Compatibility string
	ID            uint64
	Tags          []string
}

// TopicSchemaConfig is a topic's schema binding.
type TopicSchemaConfig struct {
	// Subject is the bound schema subject ("" when none).
	Subject string
	// ValidationPolicy is "none", "warn" or "enforce".
	ValidationPolicy string
	// ValidatePayload says whether payloads are checked against the schema (not only schema ids).
	ValidatePayload bool
	// SchemaID is the bound subject's schema id (0 when none).
	SchemaID uint64
}

// RegisterOption adds metadata to a registration.
type RegisterOption func(*registerOptions)

type registerOptions struct {
	description, createdBy string
	tags                   []string
}

// WithDescription describes the new version.
func WithDescription(s string) RegisterOption {
	return func(o *registerOptions) { o.description = s }
}

// WithCreatedBy records who registered the version.
func WithCreatedBy(s string) RegisterOption {
	return func(o *registerOptions) { o.createdBy = s }
}

// WithTags tags the version.
func WithTags(tags ...string) RegisterOption {
	return func(o *registerOptions) { o.tags = append(o.tags, tags...) }
}

// call runs one registry rpc on the registry's own broker, with retries.
func (r *SchemaRegistry) call(ctx context.Context, op string, f func(ctx context.Context, s schemapb.SchemaRegistryClient) error) error {
	err := r.c.opts.Retry.retry(ctx, func(ctx context.Context) error {
		s, err := r.c.stubs(r.c.serviceURL)
		if err != nil {
			return err
		}
		return f(ctx, s.schema)
	}, nil)
	return apiError(op, err)
}

// topicCall runs a topic binding rpc on the broker that serves topic (after a lookup, for a registry of the
// client port), looking the topic up again before each retry.
func (r *SchemaRegistry) topicCall(ctx context.Context, op, topic string, f func(ctx context.Context, s schemapb.SchemaRegistryClient) error) error {
	if !r.routeTopics {
		return r.call(ctx, op, f)
	}
	rt := r.c.relookup(ctx, topic, r.c.serviceRoute())
	err := r.c.opts.Retry.retry(ctx, func(ctx context.Context) error {
		s, err := r.c.stubs(rt.connectURL)
		if err != nil {
			return err
		}
		return f(callCtx(ctx, rt), s.schema)
	}, func(ctx context.Context) {
		rt = r.c.relookup(ctx, topic, r.c.serviceRoute())
	})
	return apiError(op, err)
}

// refused reports an rpc that answered without an error but with success=false: an error matching
// ErrRefused with the broker's reason (the caller wraps it with the operation).
func refused(success bool, msg string) error {
	if success {
		return nil
	}
	if msg == "" {
		msg = "no reason given"
	}
	return fmt.Errorf("%w: %s", ErrRefused, msg)
}

// Register registers definition as a new version of subject (creating the subject), or returns the existing
// version with the same fingerprint (isNew false): registering is idempotent. schemaType is one of bytes,
// string, number (int, int64, float, double), avro, json_schema (json) or protobuf (proto), in any case.
func (r *SchemaRegistry) Register(ctx context.Context, subject, schemaType string, definition []byte, opts ...RegisterOption) (id uint64, version uint32, isNew bool, err error) {
	var o registerOptions
	for _, opt := range opts {
		opt(&o)
	}
	req := &schemapb.RegisterSchemaRequest{Subject: subject, SchemaType: schemaType, SchemaDefinition: definition,
		Description: o.description, CreatedBy: o.createdBy, Tags: o.tags}
	err = r.call(ctx, "register schema "+subject, func(ctx context.Context, s schemapb.SchemaRegistryClient) error {
		resp, err := s.RegisterSchema(ctx, req)
		id, version, isNew = resp.GetSchemaId(), resp.GetVersion(), resp.GetIsNewVersion()
		return err
	})
	if err != nil {
		return 0, 0, false, err
	}
	return id, version, isNew, nil
}

// Get returns version *version of the subject whose schema id is id, or its latest version when version is
// nil.
func (r *SchemaRegistry) Get(ctx context.Context, id uint64, version *uint32) (SchemaInfo, error) {
	var info SchemaInfo
	op := fmt.Sprintf("get schema %d", id)
	if version != nil {
		op += fmt.Sprintf(" version %d", *version)
	}
	req := &schemapb.GetSchemaRequest{SchemaId: id}
	if version != nil {
		v := *version
		req.Version = &v
	}
	err := r.call(ctx, op, func(ctx context.Context, s schemapb.SchemaRegistryClient) error {
		resp, err := s.GetSchema(ctx, req)
		if err == nil {
			info = schemaInfo(resp)
		}
		return err
	})
	return info, err
}

// Latest returns the latest version of subject.
func (r *SchemaRegistry) Latest(ctx context.Context, subject string) (SchemaInfo, error) {
	var info SchemaInfo
	err := r.call(ctx, "latest schema of "+subject, func(ctx context.Context, s schemapb.SchemaRegistryClient) error {
		resp, err := s.GetLatestSchema(ctx, &schemapb.GetLatestSchemaRequest{Subject: subject})
		if err == nil {
			info = schemaInfo(resp)
		}
		return err
	})
	return info, err
}

// Versions lists the versions of subject, as the broker orders them (ascending).
func (r *SchemaRegistry) Versions(ctx context.Context, subject string) ([]VersionInfo, error) {
	var out []VersionInfo
	err := r.call(ctx, "schema versions of "+subject, func(ctx context.Context, s schemapb.SchemaRegistryClient) error {
		resp, err := s.ListVersions(ctx, &schemapb.ListVersionsRequest{Subject: subject})
		if err != nil {
			return err
		}
		out = make([]VersionInfo, 0, len(resp.GetVersions()))
		for _, v := range resp.GetVersions() {
			out = append(out, VersionInfo{Version: v.GetVersion(), ID: v.GetSchemaId(), CreatedAt: unixTime(v.GetCreatedAt()),
				CreatedBy: v.GetCreatedBy(), Description: v.GetDescription(), Fingerprint: v.GetFingerprint()})
		}
		return nil
	})
	return out, err
}

// CheckCompatibility checks definition against the latest version of subject with mode ("none", "backward",
// "forward", "full"; "" uses the subject's own mode). It reports whether the schema is compatible and, when
// it is not, the broker's reasons.
func (r *SchemaRegistry) CheckCompatibility(ctx context.Context, subject, schemaType string, definition []byte, mode string) (ok bool, problems []string, err error) {
	req := &schemapb.CheckCompatibilityRequest{Subject: subject, SchemaType: schemaType, NewSchemaDefinition: definition}
	if mode != "" {
		m := strings.ToLower(mode)
		req.CompatibilityMode = &m
	}
	err = r.call(ctx, "check schema compatibility of "+subject, func(ctx context.Context, s schemapb.SchemaRegistryClient) error {
		resp, err := s.CheckCompatibility(ctx, req)
		ok, problems = resp.GetIsCompatible(), resp.GetErrors()
		return err
	})
	if err != nil {
		return false, nil, err
	}
	return ok, problems, nil
}

// SetCompatibility sets the compatibility mode of subject: "none", "backward", "forward" or "full".
func (r *SchemaRegistry) SetCompatibility(ctx context.Context, subject, mode string) error {
	op := "set compatibility of " + subject
	return r.call(ctx, op, func(ctx context.Context, s schemapb.SchemaRegistryClient) error {
		resp, err := s.SetCompatibilityMode(ctx, &schemapb.SetCompatibilityModeRequest{Subject: subject, CompatibilityMode: strings.ToLower(mode)})
		if err != nil {
			return err
		}
		return refused(resp.GetSuccess(), resp.GetMessage())
	})
}

// DeleteVersion deletes one version of subject.
func (r *SchemaRegistry) DeleteVersion(ctx context.Context, subject string, version uint32) error {
	op := fmt.Sprintf("delete version %d of schema %s", version, subject)
	return r.call(ctx, op, func(ctx context.Context, s schemapb.SchemaRegistryClient) error {
		resp, err := s.DeleteSchemaVersion(ctx, &schemapb.DeleteSchemaVersionRequest{Subject: subject, Version: version})
		if err != nil {
			return err
		}
		return refused(resp.GetSuccess(), resp.GetMessage())
	})
}

// Subjects lists every subject of the registry. Brokers older than v0.15 answer Unimplemented.
func (r *SchemaRegistry) Subjects(ctx context.Context) ([]SubjectInfo, error) {
	var out []SubjectInfo
	err := r.call(ctx, "list schema subjects", func(ctx context.Context, s schemapb.SchemaRegistryClient) error {
		resp, err := s.ListSubjects(ctx, &schemapb.ListSubjectsRequest{})
		if err != nil {
			return err
		}
		out = make([]SubjectInfo, 0, len(resp.GetSubjects()))
		for _, sum := range resp.GetSubjects() {
			out = append(out, SubjectInfo{Subject: sum.GetSubject(), Type: sum.GetSchemaType(), LatestVersion: sum.GetLatestVersion(),
				Compatibility: strings.ToLower(sum.GetCompatibilityMode()), ID: sum.GetSchemaId(), Tags: sum.GetTags()})
		}
		return nil
	})
	return out, err
}

// normPolicy lower-cases a validation policy; "" is the broker's default, "warn".
func normPolicy(p string) string {
	if p == "" {
		return "warn"
	}
	return strings.ToLower(p)
}

// BindTopic binds topic to the registered subject with validationPolicy ("none", "warn" or "enforce"; ""
// means "warn", the broker's default); validatePayload also checks payloads against the schema. The topic
// must exist.
func (r *SchemaRegistry) BindTopic(ctx context.Context, topic, subject, validationPolicy string, validatePayload bool) error {
	op := "bind topic " + topic + " to schema " + subject
	req := &schemapb.ConfigureTopicSchemaRequest{TopicName: topic, SchemaSubject: subject,
		ValidationPolicy: normPolicy(validationPolicy), EnablePayloadValidation: validatePayload}
	return r.topicCall(ctx, op, topic, func(ctx context.Context, s schemapb.SchemaRegistryClient) error {
		resp, err := s.ConfigureTopicSchema(ctx, req)
		if err != nil {
			return err
		}
		return refused(resp.GetSuccess(), resp.GetMessage())
	})
}

// SetValidation changes topic's validation policy ("none", "warn" or "enforce"; "" means "warn") and
// whether payloads are validated.
func (r *SchemaRegistry) SetValidation(ctx context.Context, topic, validationPolicy string, validatePayload bool) error {
	op := "set schema validation of " + topic
	req := &schemapb.UpdateTopicValidationPolicyRequest{TopicName: topic,
		ValidationPolicy: normPolicy(validationPolicy), EnablePayloadValidation: validatePayload}
	return r.topicCall(ctx, op, topic, func(ctx context.Context, s schemapb.SchemaRegistryClient) error {
		resp, err := s.UpdateTopicValidationPolicy(ctx, req)
		if err != nil {
			return err
		}
		return refused(resp.GetSuccess(), resp.GetMessage())
	})
}

// TopicConfig returns topic's schema binding.
func (r *SchemaRegistry) TopicConfig(ctx context.Context, topic string) (TopicSchemaConfig, error) {
	var cfg TopicSchemaConfig
	err := r.topicCall(ctx, "schema config of "+topic, topic, func(ctx context.Context, s schemapb.SchemaRegistryClient) error {
		resp, err := s.GetTopicSchemaConfig(ctx, &schemapb.GetTopicSchemaConfigRequest{TopicName: topic})
		if err == nil {
			cfg = TopicSchemaConfig{Subject: resp.GetSchemaSubject(), ValidationPolicy: strings.ToLower(resp.GetValidationPolicy()),
				ValidatePayload: resp.GetEnablePayloadValidation(), SchemaID: resp.GetSchemaId()}
		}
		return err
	})
	return cfg, err
}

// schemaInfo converts a GetSchemaResponse.
func schemaInfo(resp *schemapb.GetSchemaResponse) SchemaInfo {
	def, fp := decodeDefinition(resp.GetSchemaDefinition())
	info := SchemaInfo{
		ID:            resp.GetSchemaId(),
		Version:       resp.GetVersion(),
		Subject:       resp.GetSubject(),
		Type:          resp.GetSchemaType(),
		Definition:    def,
		Description:   resp.GetDescription(),
		CreatedBy:     resp.GetCreatedBy(),
		Tags:          resp.GetTags(),
		CreatedAt:     unixTime(resp.GetCreatedAt()),
		Fingerprint:   resp.GetFingerprint(),
		Compatibility: strings.ToLower(resp.GetCompatibilityMode()),
	}
	if info.Fingerprint == "" {
		info.Fingerprint = fp
	}
	return info
}

// unixTime reads a broker timestamp: unix seconds, or milliseconds for values too large to be seconds.
func unixTime(v uint64) time.Time {
	switch {
	case v == 0:
		return time.Time{}
	case v >= 100_000_000_000: // later than the year 5138 in seconds: milliseconds
		return time.UnixMilli(int64(v)).UTC()
	}
	return time.Unix(int64(v), 0).UTC()
}

// decodeDefinition turns GetSchemaResponse.schema_definition, the JSON serialisation of the broker's
// internal schema enum, back into the registered schema text, and returns the fingerprint it carries:
//
//	"Bytes", "String", "Number"                          → nil (these types have no definition)
//	{"JsonSchema"|"Avro"|"Protobuf":{"raw_schema":"…","fingerprint":"…"}} → the raw_schema text
//
// Anything else (a broker that sends the raw bytes) is returned unchanged.
func decodeDefinition(b []byte) (def []byte, fingerprint string) {
	t := bytes.TrimSpace(b)
	if len(t) == 0 {
		return nil, ""
	}
	switch t[0] {
	case '"':
		var s string
		if json.Unmarshal(t, &s) == nil {
			switch s {
			case "Bytes", "String", "Number":
				return nil, ""
			}
		}
	case '{':
		var m map[string]json.RawMessage
		if json.Unmarshal(t, &m) != nil || len(m) != 1 {
			break
		}
		for k, v := range m {
			switch k {
			case "JsonSchema", "Avro", "Protobuf":
			default:
				return bytes.Clone(b), ""
			}
			var w struct {
				RawSchema   *string `json:"raw_schema"`
				Fingerprint string  `json:"fingerprint"`
			}
			if json.Unmarshal(v, &w) != nil || w.RawSchema == nil {
				break
			}
			return []byte(*w.RawSchema), w.Fingerprint
		}
	}
	return bytes.Clone(b), ""
}
