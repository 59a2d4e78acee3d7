package broker

import (
	"context"
	"errors"
	"strconv"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/danube-console/danube-console/broker/schema"
	"github.com/danube-console/danube-console/proto/schemapb"
)

// schemaService serves danube_schema.SchemaRegistry on the client port.
type schemaService struct {
	schemapb.UnimplementedSchemaRegistryServer
	s *Server
}

// schemaStatus maps a registry error to the status the real broker answers.
func schemaStatus(err error) error {
	switch {
	case errors.Is(err, schema.ErrSubjectNotFound), errors.Is(err, schema.ErrSchemaNotFound), errors.Is(err, schema.ErrVersionNotFound):
		return status.Error(codes.NotFound, err.Error())
	case errors.Is(err, schema.ErrInvalidType), errors.Is(err, schema.ErrInvalidMode), errors.Is(err, schema.ErrInvalidSchema),
		errors.Is(err, schema.ErrEmptySubject):
		return status.Error(codes.InvalidArgument, err.Error())
	}
	return status.Error(codes.Internal, err.Error())
}

func versionResponse(v schema.Version, mode schema.Mode) *schemapb.GetSchemaResponse {
	return &schemapb.GetSchemaResponse{
		SchemaId:          v.SchemaID,
		Version:           v.Version,
		Subject:           v.Subject,
		SchemaType:        string(v.Type),
		SchemaDefinition:  schema.WireDefinition(v),
		Description:       v.Description,
		CreatedAt:         uint64(v.CreatedAt.Unix()),
		CreatedBy:         v.CreatedBy,
		Tags:              v.Tags,
		Fingerprint:       v.Fingerprint,
		CompatibilityMode: string(mode),
	}
}

// RegisterSchema registers a version; the same definition again returns the existing version.
func (ss schemaService) RegisterSchema(ctx context.Context, req *schemapb.RegisterSchemaRequest) (*schemapb.RegisterSchemaResponse, error) {
	v, isNew, err := ss.s.schemas.Register(req.GetSubject(), req.GetSchemaType(), req.GetSchemaDefinition(),
		req.GetDescription(), req.GetCreatedBy(), req.GetTags())
	if err != nil {
		return nil, status.Errorf(codes.Internal, "Failed to register schema: %v", err)
	}
	return &schemapb.RegisterSchemaResponse{SchemaId: v.SchemaID, Version: v.Version, IsNewVersion: isNew, Fingerprint: v.Fingerprint}, nil
}

// GetSchema returns a subject's version by schema id (the latest without a version).
func (ss schemaService) GetSchema(ctx context.Context, req *schemapb.GetSchemaRequest) (*schemapb.GetSchemaResponse, error) {
	v, mode, err := ss.s.schemas.Get(req.GetSchemaId(), req.Version)
	if err != nil {
		if errors.Is(err, schema.ErrSchemaNotFound) {
			return nil, status.Errorf(codes.NotFound, "Schema not found for ID: %d", req.GetSchemaId())
		}
		return nil, schemaStatus(err)
	}
	return versionResponse(v, mode), nil
}

// GetLatestSchema returns a subject's latest version.
func (ss schemaService) GetLatestSchema(ctx context.Context, req *schemapb.GetLatestSchemaRequest) (*schemapb.GetSchemaResponse, error) {
	v, mode, err := ss.s.schemas.Latest(req.GetSubject())
	if err != nil {
		if errors.Is(err, schema.ErrSubjectNotFound) {
			return nil, status.Errorf(codes.NotFound, "Schema not found for subject: %s", req.GetSubject())
		}
		return nil, schemaStatus(err)
	}
	return versionResponse(v, mode), nil
}

// ListVersions lists a subject's versions in ascending order.
func (ss schemaService) ListVersions(ctx context.Context, req *schemapb.ListVersionsRequest) (*schemapb.ListVersionsResponse, error) {
	vs, err := ss.s.schemas.Versions(req.GetSubject())
	if err != nil {
		return nil, schemaStatus(err)
	}
	resp := &schemapb.ListVersionsResponse{}
	for _, v := range vs {
		resp.Versions = append(resp.Versions, &schemapb.SchemaVersionInfo{
			Version: v.Version, CreatedAt: uint64(v.CreatedAt.Unix()), CreatedBy: v.CreatedBy,
			Description: v.Description, Fingerprint: v.Fingerprint, SchemaId: v.SchemaID,
		})
	}
	return resp, nil
}

// CheckCompatibility checks a definition against a subject's latest version.
func (ss schemaService) CheckCompatibility(ctx context.Context, req *schemapb.CheckCompatibilityRequest) (*schemapb.CheckCompatibilityResponse, error) {
	ok, problems, err := ss.s.schemas.CheckCompatibility(req.GetSubject(), req.GetSchemaType(), req.GetNewSchemaDefinition(), req.CompatibilityMode)
	if err != nil {
		return nil, schemaStatus(err)
	}
	return &schemapb.CheckCompatibilityResponse{IsCompatible: ok, Errors: problems}, nil
}

// DeleteSchemaVersion deletes one version of a subject.
func (ss schemaService) DeleteSchemaVersion(ctx context.Context, req *schemapb.DeleteSchemaVersionRequest) (*schemapb.DeleteSchemaVersionResponse, error) {
	if err := ss.s.schemas.DeleteVersion(req.GetSubject(), req.GetVersion()); err != nil {
		return nil, schemaStatus(err)
	}
	return &schemapb.DeleteSchemaVersionResponse{Success: true,
		Message: "Deleted version " + itoa(req.GetVersion()) + " of subject " + req.GetSubject()}, nil
}

// SetCompatibilityMode sets a subject's compatibility mode.
func (ss schemaService) SetCompatibilityMode(ctx context.Context, req *schemapb.SetCompatibilityModeRequest) (*schemapb.SetCompatibilityModeResponse, error) {
	if err := ss.s.schemas.SetMode(req.GetSubject(), req.GetCompatibilityMode()); err != nil {
		return nil, schemaStatus(err)
	}
	return &schemapb.SetCompatibilityModeResponse{Success: true,
		Message: "Compatibility mode of " + req.GetSubject() + " set to " + strings.ToLower(req.GetCompatibilityMode())}, nil
}

// parseValidationPolicy accepts none, warn and enforce in any case.
func parseValidationPolicy(p string) (string, error) {
	switch v := strings.ToLower(p); v {
	case ValidationNone, ValidationWarn, ValidationEnforce:
		return v, nil
	}
	return "", status.Errorf(codes.InvalidArgument, "Invalid validation policy %q: use none, warn or enforce", p)
}

func (s *Server) servedTopic(name string) (*topic, error) {
	t := s.topic(name)
	if t == nil {
		return nil, status.Errorf(codes.NotFound, "Topic '%s' not found on this broker", name)
	}
	return t, nil
}

// updateTopicMeta changes a topic's stored metadata.
func (s *Server) updateTopicMeta(t *topic, change func(*topicMeta)) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	m := t.meta
	change(&m)
	if err := s.putJSON(storeKey(keyTopics, t.name), m); err != nil {
		return status.Errorf(codes.Internal, "Unable to update the topic %s: %v", t.name, err)
	}
	t.meta = m
	return nil
}

// ConfigureTopicSchema binds a topic to a registered subject with a validation policy.
func (ss schemaService) ConfigureTopicSchema(ctx context.Context, req *schemapb.ConfigureTopicSchemaRequest) (*schemapb.ConfigureTopicSchemaResponse, error) {
	t, err := ss.s.servedTopic(req.GetTopicName())
	if err != nil {
		return nil, err
	}
	pol, err := parseValidationPolicy(req.GetValidationPolicy())
	if err != nil {
		return nil, err
	}
	if _, ok := ss.s.schemas.SubjectID(req.GetSchemaSubject()); !ok {
		return nil, status.Errorf(codes.NotFound, "Schema not found for subject: %s", req.GetSchemaSubject())
	}
	if err := ss.s.updateTopicMeta(t, func(m *topicMeta) {
		m.SchemaSubject = req.GetSchemaSubject()
		m.ValidationPolicy = pol
		m.PayloadValidation = req.GetEnablePayloadValidation()
	}); err != nil {
		return nil, err
	}
	return &schemapb.ConfigureTopicSchemaResponse{Success: true,
		Message: "Topic " + t.name + " uses schema subject " + req.GetSchemaSubject() + " with validation " + pol}, nil
}

// UpdateTopicValidationPolicy changes a topic's validation policy.
func (ss schemaService) UpdateTopicValidationPolicy(ctx context.Context, req *schemapb.UpdateTopicValidationPolicyRequest) (*schemapb.UpdateTopicValidationPolicyResponse, error) {
	t, err := ss.s.servedTopic(req.GetTopicName())
	if err != nil {
		return nil, err
	}
	pol, err := parseValidationPolicy(req.GetValidationPolicy())
	if err != nil {
		return nil, err
	}
	if err := ss.s.updateTopicMeta(t, func(m *topicMeta) {
		m.ValidationPolicy = pol
		m.PayloadValidation = req.GetEnablePayloadValidation()
	}); err != nil {
		return nil, err
	}
	return &schemapb.UpdateTopicValidationPolicyResponse{Success: true, Message: "Topic " + t.name + " validation set to " + pol}, nil
}

// GetTopicSchemaConfig returns a topic's schema binding.
func (ss schemaService) GetTopicSchemaConfig(ctx context.Context, req *schemapb.GetTopicSchemaConfigRequest) (*schemapb.GetTopicSchemaConfigResponse, error) {
	t, err := ss.s.servedTopic(req.GetTopicName())
	if err != nil {
		return nil, err
	}
	m := t.schemaConfig()
	id, _ := ss.s.schemas.SubjectID(m.SchemaSubject)
	return &schemapb.GetTopicSchemaConfigResponse{SchemaSubject: m.SchemaSubject, ValidationPolicy: m.ValidationPolicy,
		EnablePayloadValidation: m.PayloadValidation, SchemaId: id}, nil
}

// ListSubjects lists every subject.
func (ss schemaService) ListSubjects(ctx context.Context, req *schemapb.ListSubjectsRequest) (*schemapb.ListSubjectsResponse, error) {
	resp := &schemapb.ListSubjectsResponse{}
	for _, sum := range ss.s.schemas.Subjects() {
		resp.Subjects = append(resp.Subjects, &schemapb.SubjectSummary{Subject: sum.Subject, SchemaType: string(sum.Type),
			LatestVersion: sum.LatestVersion, CompatibilityMode: string(sum.Mode), SchemaId: sum.SchemaID, Tags: sum.Tags})
	}
	return resp, nil
}

func itoa(v uint32) string {
	return strconv.FormatUint(uint64(v), 10)
}
