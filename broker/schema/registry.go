// Package schema is the domain logic of the broker's schema registry (the gRPC service
// danube_schema.SchemaRegistry wraps it): subjects with versioned schemas, compatibility checking, payload
// validation for the "enforce" topic policy, and persistence through store.Meta. It behaves like the real
// Danube broker: each subject has one schema id from a global counter, versions count 1, 2, 3…, re-registering
// a schema already in the subject is idempotent, and new versions must be compatible with the latest one
// under the subject's mode (default backward).
package schema

import (
	"encoding/json"
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/danube-console/danube-console/broker/store"
)

// Keys under which the registry persists its state in store.Meta. Values are JSON: a subjectRecord under
// subjectKeyPrefix+<path-escaped subject>, and the next schema id to allocate (a JSON number) under nextIDKey.
const (
	keyPrefix        = "/schemas/"
	subjectKeyPrefix = keyPrefix + "subjects/"
	nextIDKey        = keyPrefix + "next_id"
)

// Version is one registered version of a subject's schema. Values returned by the Registry are copies; callers
// may modify them freely.
type Version struct {
	// SchemaID is the subject's schema id (the same for every version of the subject).
	SchemaID uint64
	// Version is the version number within the subject, starting at 1.
	Version uint32
	// Subject is the subject name.
	Subject string
	// Type is the canonical schema type of this version.
	Type Type
	// Definition is the raw bytes that were registered.
	Definition []byte
	// Description, CreatedBy and Tags are the free-form metadata given at registration.
	Description, CreatedBy string
	Tags                   []string
	// CreatedAt is the registration time, with second precision, in UTC.
	CreatedAt time.Time
	// Fingerprint identifies the schema: the type name for bytes/string/number, otherwise "sha256:<hex>".
	Fingerprint string
}

// SubjectSummary describes a subject for listings. Type, LatestVersion and Tags come from the latest version;
// they are zero when every version of the subject has been deleted.
type SubjectSummary struct {
	Subject       string
	Type          Type
	LatestVersion uint32
	Mode          Mode
	SchemaID      uint64
	Tags          []string
}

// versionRecord is a version as kept in memory and persisted.
type versionRecord struct {
	Version     uint32   `json:"version"`
	Type        Type     `json:"type"`
	Definition  []byte   `json:"definition"`
	Description string   `json:"description,omitempty"`
	CreatedBy   string   `json:"created_by,omitempty"`
	Tags        []string `json:"tags,omitempty"`
	CreatedAt   int64    `json:"created_at"` // unix seconds
	Fingerprint string   `json:"fingerprint"`
}

// subjectRecord is a subject as kept in memory and persisted under subjectKeyPrefix. Records are never
// modified once published in Registry.subjects; changes build a new record (copy on write).
type subjectRecord struct {
	Subject  string `json:"subject"`
	SchemaID uint64 `json:"schema_id"`
	Mode     Mode   `json:"mode"`
	// LastVersion is the highest version number ever assigned, so numbers of deleted versions are not reused.
	LastVersion uint32          `json:"last_version"`
	Versions    []versionRecord `json:"versions"` // ascending by Version
}

func (s *subjectRecord) latest() (versionRecord, bool) {
	if len(s.Versions) == 0 {
		return versionRecord{}, false
	}
	return s.Versions[len(s.Versions)-1], true
}

func (s *subjectRecord) find(version uint32) (int, bool) {
	i := sort.Search(len(s.Versions), func(i int) bool { return s.Versions[i].Version >= version })
	return i, i < len(s.Versions) && s.Versions[i].Version == version
}

func (s *subjectRecord) clone() *subjectRecord {
	c := *s
	c.Versions = append([]versionRecord(nil), s.Versions...)
	return &c
}

func (s *subjectRecord) toVersion(v versionRecord) Version {
	return Version{
		SchemaID:    s.SchemaID,
		Version:     v.Version,
		Subject:     s.Subject,
		Type:        v.Type,
		Definition:  append([]byte(nil), v.Definition...),
		Description: v.Description,
		CreatedBy:   v.CreatedBy,
		Tags:        cloneStrings(v.Tags),
		CreatedAt:   time.Unix(v.CreatedAt, 0).UTC(),
		Fingerprint: v.Fingerprint,
	}
}

func cloneStrings(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return append([]string(nil), s...)
}

type cacheKey struct {
	subject string
	version uint32
}

// Registry is the schema registry. It is safe for concurrent use. Every change is written through to the
// store.Meta given to New before the call returns.
type Registry struct {
	meta store.Meta
	now  func() time.Time

	mu       sync.RWMutex
	subjects map[string]*subjectRecord
	byID     map[uint64]string
	nextID   uint64

	cacheMu sync.Mutex
	cache   map[cacheKey]*parsed // parsed schemas per (subject, version), for compatibility and Validate
}

// New returns a Registry that persists through meta, loaded with every subject, version, mode and the id
// counter previously persisted under the "/schemas/" key prefix. It fails if meta cannot be read or holds
// malformed registry data.
func New(meta store.Meta) (*Registry, error) {
	if meta == nil {
		return nil, fmt.Errorf("schema: nil store.Meta")
	}
	r := &Registry{
		meta:     meta,
		now:      time.Now,
		subjects: map[string]*subjectRecord{},
		byID:     map[uint64]string{},
		nextID:   1,
		cache:    map[cacheKey]*parsed{},
	}
	kvs, err := meta.List(subjectKeyPrefix)
	if err != nil {
		return nil, fmt.Errorf("schema: loading subjects: %w", err)
	}
	for _, kv := range kvs {
		var s subjectRecord
		if err := json.Unmarshal(kv.Value, &s); err != nil {
			return nil, fmt.Errorf("schema: loading %s: %w", kv.Key, err)
		}
		if err := checkLoaded(&s); err != nil {
			return nil, fmt.Errorf("schema: loading %s: %w", kv.Key, err)
		}
		if other, dup := r.byID[s.SchemaID]; dup {
			return nil, fmt.Errorf("schema: loading %s: schema id %d is also used by subject %q", kv.Key, s.SchemaID, other)
		}
		if _, dup := r.subjects[s.Subject]; dup {
			return nil, fmt.Errorf("schema: loading %s: subject %q stored twice", kv.Key, s.Subject)
		}
		r.subjects[s.Subject] = &s
		r.byID[s.SchemaID] = s.Subject
		if s.SchemaID >= r.nextID {
			r.nextID = s.SchemaID + 1
		}
	}
	raw, ok, err := meta.Get(nextIDKey)
	if err != nil {
		return nil, fmt.Errorf("schema: loading %s: %w", nextIDKey, err)
	}
	if ok {
		var n uint64
		if err := json.Unmarshal(raw, &n); err != nil {
			return nil, fmt.Errorf("schema: loading %s: %w", nextIDKey, err)
		}
		if n > r.nextID {
			r.nextID = n
		}
	}
	return r, nil
}

// checkLoaded validates a persisted subject record and normalises its version order.
func checkLoaded(s *subjectRecord) error {
	if s.Subject == "" {
		return fmt.Errorf("empty subject name")
	}
	if s.SchemaID == 0 {
		return fmt.Errorf("subject %q has schema id 0", s.Subject)
	}
	m, err := ParseMode(string(s.Mode))
	if err != nil {
		return err
	}
	s.Mode = m
	sort.Slice(s.Versions, func(i, j int) bool { return s.Versions[i].Version < s.Versions[j].Version })
	for i, v := range s.Versions {
		if v.Version == 0 || (i > 0 && s.Versions[i-1].Version == v.Version) {
			return fmt.Errorf("subject %q has an invalid or duplicate version %d", s.Subject, v.Version)
		}
		if _, err := ParseType(string(v.Type)); err != nil {
			return err
		}
		if v.Version > s.LastVersion {
			s.LastVersion = v.Version
		}
	}
	return nil
}

func subjectKey(subject string) string { return subjectKeyPrefix + url.PathEscape(subject) }

func (r *Registry) putSubject(s *subjectRecord) error {
	b, err := json.Marshal(s)
	if err != nil {
		return fmt.Errorf("schema: encoding subject %q: %w", s.Subject, err)
	}
	if err := r.meta.Put(subjectKey(s.Subject), b); err != nil {
		return fmt.Errorf("schema: persisting subject %q: %w", s.Subject, err)
	}
	return nil
}

// Register adds definition as a new version of subject, creating the subject (with a new schema id and mode
// backward) if needed. schemaType is parsed with ParseType.
//
// If a version of the subject with the same type and fingerprint already exists it is returned with
// isNew=false and nothing changes. Otherwise the definition must parse (else ErrInvalidSchema) and be
// compatible with the subject's latest version under the subject's mode (else ErrIncompatible, with the
// reasons in the text); the new version gets the next version number and isNew=true. An empty subject is
// ErrEmptySubject, a bad type ErrInvalidType. If persisting fails the error is returned and the registry is
// unchanged.
func (r *Registry) Register(subject, schemaType string, definition []byte, description, createdBy string, tags []string) (v Version, isNew bool, err error) {
	if subject == "" {
		return Version{}, false, errorf(ErrEmptySubject, "empty subject name")
	}
	t, err := ParseType(schemaType)
	if err != nil {
		return Version{}, false, err
	}
	p, err := parseDefinition(t, definition)
	if err != nil {
		return Version{}, false, err
	}

	r.mu.Lock()
	defer r.mu.Unlock()

	old := r.subjects[subject]
	if old != nil {
		for _, ov := range old.Versions {
			if ov.Type == t && ov.Fingerprint == p.fingerprint {
				return old.toVersion(ov), false, nil
			}
		}
		if latest, ok := old.latest(); ok {
			lp, err := r.parsedVersion(subject, latest)
			if err != nil {
				return Version{}, false, err
			}
			if problems := compatibility(old.Mode, p, lp); len(problems) > 0 {
				return Version{}, false, errorf(ErrIncompatible,
					"new schema for subject %q is incompatible with version %d under compatibility mode %s: %s",
					subject, latest.Version, old.Mode, joinProblems(problems))
			}
		}
	}

	var next *subjectRecord
	if old == nil {
		next = &subjectRecord{Subject: subject, SchemaID: r.nextID, Mode: DefaultMode}
	} else {
		next = old.clone()
	}
	next.LastVersion++
	rec := versionRecord{
		Version:     next.LastVersion,
		Type:        t,
		Definition:  append([]byte(nil), definition...),
		Description: description,
		CreatedBy:   createdBy,
		Tags:        cloneStrings(tags),
		CreatedAt:   r.now().Unix(),
		Fingerprint: p.fingerprint,
	}
	next.Versions = append(next.Versions, rec)

	if old == nil {
		// The counter goes first: if the subject write then fails, an id is merely skipped, never reused.
		if err := r.meta.Put(nextIDKey, []byte(strconv.FormatUint(r.nextID+1, 10))); err != nil {
			return Version{}, false, fmt.Errorf("schema: persisting %s: %w", nextIDKey, err)
		}
	}
	if err := r.putSubject(next); err != nil {
		return Version{}, false, err
	}

	if old == nil {
		r.byID[next.SchemaID] = subject
		r.nextID++
	}
	r.subjects[subject] = next
	r.storeParsed(subject, rec.Version, p)
	return next.toVersion(rec), true, nil
}

func joinProblems(problems []string) string { return strings.Join(problems, "; ") }

// Get returns the version of the subject whose schema id is schemaID, and the subject's mode: the given
// version, or the latest when version is nil. An unknown id is ErrSchemaNotFound; a version that does not
// exist (or a subject without versions when version is nil) is ErrVersionNotFound.
func (r *Registry) Get(schemaID uint64, version *uint32) (Version, Mode, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	name, ok := r.byID[schemaID]
	if !ok {
		return Version{}, "", errorf(ErrSchemaNotFound, "schema id %d not found", schemaID)
	}
	s := r.subjects[name]
	if version == nil {
		latest, ok := s.latest()
		if !ok {
			return Version{}, "", errorf(ErrVersionNotFound, "subject %q (schema id %d) has no versions", name, schemaID)
		}
		return s.toVersion(latest), s.Mode, nil
	}
	i, ok := s.find(*version)
	if !ok {
		return Version{}, "", errorf(ErrVersionNotFound, "version %d of subject %q (schema id %d) not found", *version, name, schemaID)
	}
	return s.toVersion(s.Versions[i]), s.Mode, nil
}

// Latest returns the latest version of subject and the subject's mode. An unknown subject, or one whose
// versions were all deleted, is ErrSubjectNotFound.
func (r *Registry) Latest(subject string) (Version, Mode, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	s, ok := r.subjects[subject]
	if !ok {
		return Version{}, "", errorf(ErrSubjectNotFound, "subject %q not found", subject)
	}
	latest, ok := s.latest()
	if !ok {
		return Version{}, "", errorf(ErrSubjectNotFound, "subject %q has no versions", subject)
	}
	return s.toVersion(latest), s.Mode, nil
}

// Versions returns every remaining version of subject in ascending version order (empty if all were
// deleted). An unknown subject is ErrSubjectNotFound.
func (r *Registry) Versions(subject string) ([]Version, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	s, ok := r.subjects[subject]
	if !ok {
		return nil, errorf(ErrSubjectNotFound, "subject %q not found", subject)
	}
	out := make([]Version, 0, len(s.Versions))
	for _, v := range s.Versions {
		out = append(out, s.toVersion(v))
	}
	return out, nil
}

// CheckCompatibility reports whether definition could be registered as the next version of subject: whether
// it is compatible with the subject's latest version under mode (parsed with ParseMode) or, when mode is nil,
// under the subject's own mode. problems lists the reasons when it is not. A subject that does not exist or
// has no versions is compatible. An empty subject, a bad type, an unparsable definition or a bad mode is an
// error (ErrEmptySubject, ErrInvalidType, ErrInvalidSchema, ErrInvalidMode). Nothing is changed.
func (r *Registry) CheckCompatibility(subject, schemaType string, definition []byte, mode *string) (compatible bool, problems []string, err error) {
	if subject == "" {
		return false, nil, errorf(ErrEmptySubject, "empty subject name")
	}
	t, err := ParseType(schemaType)
	if err != nil {
		return false, nil, err
	}
	p, err := parseDefinition(t, definition)
	if err != nil {
		return false, nil, err
	}
	var override Mode
	if mode != nil {
		if override, err = ParseMode(*mode); err != nil {
			return false, nil, err
		}
	}

	r.mu.RLock()
	defer r.mu.RUnlock()
	s, ok := r.subjects[subject]
	if !ok {
		return true, nil, nil
	}
	latest, ok := s.latest()
	if !ok {
		return true, nil, nil
	}
	m := s.Mode
	if mode != nil {
		m = override
	}
	lp, err := r.parsedVersion(subject, latest)
	if err != nil {
		return false, nil, err
	}
	problems = compatibility(m, p, lp)
	return len(problems) == 0, problems, nil
}

// DeleteVersion removes one version of subject. The subject keeps its schema id and mode, and the version
// number is never assigned again. An unknown subject is ErrSubjectNotFound, an unknown version
// ErrVersionNotFound. If persisting fails the error is returned and the registry is unchanged.
func (r *Registry) DeleteVersion(subject string, version uint32) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	s, ok := r.subjects[subject]
	if !ok {
		return errorf(ErrSubjectNotFound, "subject %q not found", subject)
	}
	i, ok := s.find(version)
	if !ok {
		return errorf(ErrVersionNotFound, "version %d of subject %q not found", version, subject)
	}
	next := s.clone()
	next.Versions = append(next.Versions[:i], next.Versions[i+1:]...)
	if err := r.putSubject(next); err != nil {
		return err
	}
	r.subjects[subject] = next
	r.dropParsed(subject, version)
	return nil
}

// SetMode sets subject's compatibility mode, parsed with ParseMode (stored and returned in lower case). A bad
// mode is ErrInvalidMode, an unknown subject ErrSubjectNotFound. If persisting fails the error is returned
// and the registry is unchanged.
func (r *Registry) SetMode(subject, mode string) error {
	m, err := ParseMode(mode)
	if err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	s, ok := r.subjects[subject]
	if !ok {
		return errorf(ErrSubjectNotFound, "subject %q not found", subject)
	}
	if s.Mode == m {
		return nil
	}
	next := s.clone()
	next.Mode = m
	if err := r.putSubject(next); err != nil {
		return err
	}
	r.subjects[subject] = next
	return nil
}

// Subjects summarises every subject, including subjects whose versions were all deleted, sorted by name.
func (r *Registry) Subjects() []SubjectSummary {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]SubjectSummary, 0, len(r.subjects))
	for _, s := range r.subjects {
		sum := SubjectSummary{Subject: s.Subject, Mode: s.Mode, SchemaID: s.SchemaID}
		if latest, ok := s.latest(); ok {
			sum.Type = latest.Type
			sum.LatestVersion = latest.Version
			sum.Tags = cloneStrings(latest.Tags)
		}
		out = append(out, sum)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Subject < out[j].Subject })
	return out
}

// SubjectID returns subject's schema id and whether the subject exists (it exists, keeping its id, even when
// all its versions were deleted).
func (r *Registry) SubjectID(subject string) (uint64, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	s, ok := r.subjects[subject]
	if !ok {
		return 0, false
	}
	return s.SchemaID, true
}

// Version returns the given version of subject and whether it exists.
func (r *Registry) Version(subject string, version uint32) (Version, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	s, ok := r.subjects[subject]
	if !ok {
		return Version{}, false
	}
	i, ok := s.find(version)
	if !ok {
		return Version{}, false
	}
	return s.toVersion(s.Versions[i]), true
}

// parsedVersion returns the parsed schema of a stored version, from the cache or parsed now. A stored
// definition that no longer parses is reported as ErrInvalidSchema naming the version.
func (r *Registry) parsedVersion(subject string, v versionRecord) (*parsed, error) {
	key := cacheKey{subject, v.Version}
	r.cacheMu.Lock()
	p, ok := r.cache[key]
	r.cacheMu.Unlock()
	if ok && p.typ == v.Type && p.fingerprint == v.Fingerprint {
		return p, nil
	}
	p, err := parseDefinition(v.Type, v.Definition)
	if err != nil {
		return nil, fmt.Errorf("schema: stored version %d of subject %q: %w", v.Version, subject, err)
	}
	r.storeParsed(subject, v.Version, p)
	return p, nil
}

func (r *Registry) storeParsed(subject string, version uint32, p *parsed) {
	r.cacheMu.Lock()
	r.cache[cacheKey{subject, version}] = p
	r.cacheMu.Unlock()
}

func (r *Registry) dropParsed(subject string, version uint32) {
	r.cacheMu.Lock()
	delete(r.cache, cacheKey{subject, version})
	r.cacheMu.Unlock()
}
