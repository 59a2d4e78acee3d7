package broker

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/danube-console/danube-console/broker/store"
	"github.com/danube-console/danube-console/proto/adminpb"
	"github.com/danube-console/danube-console/proto/consolepb"
	"github.com/danube-console/danube-console/proto/danubepb"
	"github.com/danube-console/danube-console/proto/schemapb"
)

// Authorization, as the real broker's RBAC (authz.rs): roles name permissions, bindings give one principal
// roles at one scope (cluster, namespace or topic), and every rpc on both ports needs one permission on one
// resource (authzRules). Roles and bindings live in the metadata store under /auth/ and in an immutable
// in-memory snapshot that every call reads without a lock; SecurityAdmin writes the store, then swaps the
// snapshot.
//
// The check runs on every call, as the real broker's does, and counts its decision in the danube_authz_*
// series. Without authentication every call is anonymous and allowed (the real auth mode none); with it, a
// principal that is neither a super-admin (Options.SuperAdmins) nor a broker_internal token needs a binding
// whose role grants the permission.

// Permission is one of the nine permissions of the real broker's RBAC.
type Permission uint8

// The permissions, in the real broker's order; their names are the strings roles are made of.
const (
	PermLookup Permission = iota
	PermProduce
	PermConsume
	PermReplicate
	PermManageNamespace
	PermManageTopic
	PermManageSchema
	PermManageBroker
	PermManageCluster
	numPermissions
)

var permissionNames = [numPermissions]string{"Lookup", "Produce", "Consume", "Replicate", "ManageNamespace",
	"ManageTopic", "ManageSchema", "ManageBroker", "ManageCluster"}

// String returns the permission's name as roles spell it ("Produce").
func (p Permission) String() string {
	if p < numPermissions {
		return permissionNames[p]
	}
	return "Permission(" + strconv.Itoa(int(p)) + ")"
}

// parsePermission returns the permission named s (case-sensitive).
func parsePermission(s string) (Permission, bool) {
	for i, n := range permissionNames {
		if n == s {
			return Permission(i), true
		}
	}
	return 0, false
}

// Principal types, as bindings name them.
const (
	PrincipalUser           = "user"
	PrincipalServiceAccount = "service_account"
	PrincipalBrokerInternal = "broker_internal"
	PrincipalAnonymous      = "anonymous"
)

// principal is who a call comes from.
type principal struct{ typ, name string }

var anonymous = principal{typ: PrincipalAnonymous}

// Binding scopes.
const (
	scopeCluster   = "cluster"
	scopeNamespace = "namespace"
	scopeTopic     = "topic"
)

// resourceKind is what a permission is checked on.
type resourceKind uint8

const (
	resCluster resourceKind = iota
	resBroker
	resNamespace
	resTopic
	resSubject
)

// resource is what an rpc acts on.
type resource struct {
	kind resourceKind
	name string
}

// String is the real broker's (Rust Debug) form of the resource, used in denials: Cluster, Broker("1"),
// Namespace("default"), Topic("/default/orders"), SchemaSubject("orders").
func (r resource) String() string {
	switch r.kind {
	case resBroker:
		return "Broker(" + strconv.Quote(r.name) + ")"
	case resNamespace:
		return "Namespace(" + strconv.Quote(r.name) + ")"
	case resTopic:
		return "Topic(" + strconv.Quote(r.name) + ")"
	case resSubject:
		return "SchemaSubject(" + strconv.Quote(r.name) + ")"
	}
	return "Cluster"
}

// scope is the binding scope the resource resolves to, which is also its danube_authz_* resource label:
// brokers count as the cluster and schema subjects as topics.
func (r resource) scope() int {
	switch r.kind {
	case resNamespace:
		return 1
	case resTopic, resSubject:
		return 2
	}
	return 0
}

var scopeLabels = [3]string{scopeCluster, scopeNamespace, scopeTopic}

// roleDef is a role as stored (JSON under /auth/roles/{name}) and as SecurityAdmin answers it.
type roleDef struct {
	Name        string   `json:"name"`
	Permissions []string `json:"permissions"`
	System      bool     `json:"system"`
}

// bindingDef is a binding as stored (JSON under /auth/bindings/…) and as SecurityAdmin answers it.
type bindingDef struct {
	ID            string   `json:"id"`
	PrincipalType string   `json:"principal_type"`
	PrincipalName string   `json:"principal_name"`
	RoleNames     []string `json:"role_names"`
	Scope         string   `json:"scope"`
	ResourceName  string   `json:"resource_name"`
}

// bindingKey identifies a binding: a binding created again with the same key replaces the old one. Cluster
// bindings are keyed by id alone (their resource name is not part of the real broker's storage key).
type bindingKey struct{ scope, resource, id string }

func keyOf(scope, resourceName, id string) bindingKey {
	if scope == scopeCluster {
		resourceName = ""
	}
	return bindingKey{scope, resourceName, id}
}

// Where roles and bindings are stored. Names and ids are path-escaped, so that a "/" in them cannot make
// two keys collide.
const (
	keyAuthRoles    = "/auth/roles/"
	keyAuthBindings = "/auth/bindings/"
)

func (k bindingKey) storeKey() string {
	if k.scope == scopeCluster {
		return keyAuthBindings + scopeCluster + "/" + url.PathEscape(k.id)
	}
	return keyAuthBindings + k.scope + "/" + url.PathEscape(k.resource) + "/" + url.PathEscape(k.id)
}

func roleStoreKey(name string) string { return keyAuthRoles + url.PathEscape(name) }

// authzSnapshot is the immutable state every check reads.
type authzSnapshot struct {
	roles    map[string]roleDef
	bindings map[bindingKey]bindingDef
	// grants are each principal's effective bindings: where they apply and the permissions their existing
	// roles give, resolved when the snapshot is built so that a check reads no role.
	grants map[principal][]grant
}

// grant is one binding of a principal, resolved: the scope and resource it applies to and the union of
// the permissions of its roles (a role that does not exist gives none).
type grant struct {
	scope, resource string
	perms           uint16
}

func newSnapshot(roles map[string]roleDef, bindings map[bindingKey]bindingDef) *authzSnapshot {
	s := &authzSnapshot{roles: roles, bindings: bindings, grants: make(map[principal][]grant)}
	perms := make(map[string]uint16, len(roles))
	for name, r := range roles {
		var set uint16
		for _, p := range r.Permissions {
			if perm, ok := parsePermission(p); ok {
				set |= 1 << perm
			}
		}
		perms[name] = set
	}
	for _, b := range bindings {
		if b.Scope == scopeCluster && b.ResourceName != "" {
			continue // stored, but no cluster check looks under a resource name (authz.rs)
		}
		g := grant{scope: b.Scope, resource: b.ResourceName}
		for _, r := range b.RoleNames {
			g.perms |= perms[r]
		}
		if g.perms != 0 {
			p := principal{b.PrincipalType, b.PrincipalName}
			s.grants[p] = append(s.grants[p], g)
		}
	}
	return s
}

// applies reports whether g is consulted for a resource (authz.rs: the cluster bindings always; a
// namespace's for the namespace and its topics; a topic's, or a schema subject's, for itself). ns is the
// namespace of a topic or subject resource: its first path segment.
func (g *grant) applies(r resource, ns string) bool {
	switch g.scope {
	case scopeCluster:
		return true
	case scopeNamespace:
		switch r.kind {
		case resNamespace:
			return g.resource == r.name
		case resTopic, resSubject:
			return g.resource == ns
		}
	case scopeTopic:
		return (r.kind == resTopic || r.kind == resSubject) && g.resource == r.name
	}
	return false
}

// authorizer decides and counts; its zero value is not usable, see newAuthorizer.
type authorizer struct {
	enforce     bool
	superAdmins map[string]bool
	// certs: callers are known by their verified client certificate (mutual TLS) when there is no JWT secret.
	certs bool

	writeMu sync.Mutex // serialises writes: store, then snapshot
	meta    store.Meta // set by load
	snap    atomic.Pointer[authzSnapshot]

	allowed, denied [3][numPermissions]atomic.Uint64 // by resource scope and permission
}

// newAuthorizer returns the authorizer of a broker with options o (defaults applied).
func newAuthorizer(o Options) *authorizer {
	a := &authorizer{
		enforce:     o.authenticates(),
		certs:       o.clientCerts(),
		superAdmins: make(map[string]bool, len(o.SuperAdmins)),
	}
	for _, n := range o.SuperAdmins {
		a.superAdmins[n] = true
	}
	a.snap.Store(newSnapshot(map[string]roleDef{}, map[bindingKey]bindingDef{}))
	return a
}

// load reads every role and binding from meta, which later writes go to.
func (a *authorizer) load(meta store.Meta) error {
	a.writeMu.Lock()
	defer a.writeMu.Unlock()
	roles := map[string]roleDef{}
	kvs, err := meta.List(keyAuthRoles)
	if err != nil {
		return fmt.Errorf("reading roles: %w", err)
	}
	for _, kv := range kvs {
		var r roleDef
		if err := json.Unmarshal(kv.Value, &r); err != nil {
			return fmt.Errorf("role %s: %w", kv.Key, err)
		}
		roles[r.Name] = r
	}
	bindings := map[bindingKey]bindingDef{}
	if kvs, err = meta.List(keyAuthBindings); err != nil {
		return fmt.Errorf("reading bindings: %w", err)
	}
	for _, kv := range kvs {
		var b bindingDef
		if err := json.Unmarshal(kv.Value, &b); err != nil {
			return fmt.Errorf("binding %s: %w", kv.Key, err)
		}
		bindings[keyOf(b.Scope, b.ResourceName, b.ID)] = b
	}
	a.meta = meta
	a.snap.Store(newSnapshot(roles, bindings))
	return nil
}

// authorize decides whether p may use perm on r (authz.rs::authorize) and counts the decision.
func (a *authorizer) authorize(p principal, perm Permission, r resource) error {
	if a.allows(p, perm, r) {
		a.allowed[r.scope()][perm].Add(1)
		return nil
	}
	a.denied[r.scope()][perm].Add(1)
	return status.Errorf(codes.PermissionDenied, "no binding grants %s on %s for %s:%s", perm, r, p.typ, p.name)
}

func (a *authorizer) allows(p principal, perm Permission, r resource) bool {
	if !a.enforce || p.typ == PrincipalBrokerInternal || p.typ == PrincipalAnonymous || a.superAdmins[p.name] {
		return true
	}
	grants := a.snap.Load().grants[p]
	var ns string
	if r.kind == resTopic || r.kind == resSubject {
		ns, _, _ = strings.Cut(strings.TrimPrefix(r.name, "/"), "/")
	}
	for i := range grants {
		if grants[i].perms&(1<<perm) != 0 && grants[i].applies(r, ns) {
			return true
		}
	}
	return false
}

// update writes through to the store under writeMu and swaps in the snapshot change builds from copies of
// the current maps. change returns the error to answer (nil to swap).
func (a *authorizer) update(change func(roles map[string]roleDef, bindings map[bindingKey]bindingDef, meta store.Meta) error) error {
	a.writeMu.Lock()
	defer a.writeMu.Unlock()
	old := a.snap.Load()
	roles, bindings := make(map[string]roleDef, len(old.roles)+1), make(map[bindingKey]bindingDef, len(old.bindings)+1)
	for k, v := range old.roles {
		roles[k] = v
	}
	for k, v := range old.bindings {
		bindings[k] = v
	}
	if a.meta == nil {
		return status.Error(codes.Unavailable, "the broker is not started")
	}
	if err := change(roles, bindings, a.meta); err != nil {
		return err
	}
	a.snap.Store(newSnapshot(roles, bindings))
	return nil
}

// ---- where authorization is enforced ----

// authzRule is the permission an rpc needs and how to find the resource in its request. A rule without
// resource function needs authentication only.
type authzRule struct {
	perm Permission
	res  func(req any) resource
}

func onCluster(any) resource { return resource{kind: resCluster} }

// topicResourceOf finds the topic an rpc names, whatever its request calls the field.
func topicResourceOf(req any) resource {
	var name string
	switch r := req.(type) {
	case *danubepb.StreamMessage:
		name = r.GetMsgId().GetTopicName()
	case interface{ GetTopicName() string }:
		name = r.GetTopicName()
	case interface{ GetBaseName() string }:
		name = r.GetBaseName()
	case interface{ GetTopic() string }:
		name = r.GetTopic()
	case interface{ GetName() string }:
		name = r.GetName()
	}
	return resource{kind: resTopic, name: name}
}

func nsResourceOf(req any) resource {
	r, _ := req.(interface{ GetName() string })
	if r == nil {
		return resource{kind: resNamespace}
	}
	return resource{kind: resNamespace, name: r.GetName()}
}

func brokerResourceOf(req any) resource {
	r, _ := req.(interface{ GetBrokerId() string })
	if r == nil {
		return resource{kind: resBroker}
	}
	return resource{kind: resBroker, name: r.GetBrokerId()}
}

func subjectResourceOf(req any) resource {
	r, _ := req.(interface{ GetSubject() string })
	if r == nil {
		return resource{kind: resSubject}
	}
	return resource{kind: resSubject, name: r.GetSubject()}
}

// authzRules lists every rpc of both ports with what it needs (spec §2.5); a test checks that every method
// the broker serves is listed.
var authzRules = map[string]authzRule{
	danubepb.ProducerService_CreateProducer_FullMethodName:        {PermProduce, topicResourceOf},
	danubepb.ProducerService_SendMessage_FullMethodName:           {PermProduce, topicResourceOf},
	danubepb.ConsumerService_Subscribe_FullMethodName:             {PermConsume, topicResourceOf},
	danubepb.ConsumerService_ReceiveMessages_FullMethodName:       {PermConsume, onCluster},
	danubepb.ConsumerService_Ack_FullMethodName:                   {PermConsume, onCluster},
	danubepb.ConsumerService_Nack_FullMethodName:                  {PermConsume, onCluster},
	danubepb.Discovery_TopicLookup_FullMethodName:                 {PermLookup, topicResourceOf},
	danubepb.Discovery_TopicPartitions_FullMethodName:             {PermLookup, topicResourceOf},
	danubepb.HealthCheck_HealthCheck_FullMethodName:               {},
	danubepb.StorageService_ListSegmentDescriptors_FullMethodName: {},

	schemapb.SchemaRegistry_RegisterSchema_FullMethodName:              {PermManageSchema, subjectResourceOf},
	schemapb.SchemaRegistry_GetLatestSchema_FullMethodName:             {PermManageSchema, subjectResourceOf},
	schemapb.SchemaRegistry_ListVersions_FullMethodName:                {PermManageSchema, subjectResourceOf},
	schemapb.SchemaRegistry_CheckCompatibility_FullMethodName:          {PermManageSchema, subjectResourceOf},
	schemapb.SchemaRegistry_DeleteSchemaVersion_FullMethodName:         {PermManageSchema, subjectResourceOf},
	schemapb.SchemaRegistry_SetCompatibilityMode_FullMethodName:        {PermManageSchema, subjectResourceOf},
	schemapb.SchemaRegistry_GetSchema_FullMethodName:                   {PermManageSchema, onCluster},
	schemapb.SchemaRegistry_ListSubjects_FullMethodName:                {PermManageSchema, onCluster},
	schemapb.SchemaRegistry_ConfigureTopicSchema_FullMethodName:        {PermManageSchema, topicResourceOf},
	schemapb.SchemaRegistry_UpdateTopicValidationPolicy_FullMethodName: {PermManageSchema, topicResourceOf},
	schemapb.SchemaRegistry_GetTopicSchemaConfig_FullMethodName:        {PermManageSchema, topicResourceOf},

	adminpb.BrokerAdmin_ListBrokers_FullMethodName:       {PermManageBroker, onCluster},
	adminpb.BrokerAdmin_GetLeaderBroker_FullMethodName:   {PermManageBroker, onCluster},
	adminpb.BrokerAdmin_ListNamespaces_FullMethodName:    {PermManageNamespace, onCluster},
	adminpb.BrokerAdmin_UnloadBroker_FullMethodName:      {PermManageBroker, brokerResourceOf},
	adminpb.BrokerAdmin_ActivateBroker_FullMethodName:    {PermManageBroker, brokerResourceOf},
	adminpb.BrokerAdmin_GetClusterBalance_FullMethodName: {PermManageCluster, onCluster},
	adminpb.BrokerAdmin_TriggerRebalance_FullMethodName:  {PermManageCluster, onCluster},

	adminpb.NamespaceAdmin_GetNamespaceTopics_FullMethodName:   {PermManageNamespace, nsResourceOf},
	adminpb.NamespaceAdmin_GetNamespacePolicies_FullMethodName: {PermManageNamespace, nsResourceOf},
	adminpb.NamespaceAdmin_CreateNamespace_FullMethodName:      {PermManageNamespace, nsResourceOf},
	adminpb.NamespaceAdmin_DeleteNamespace_FullMethodName:      {PermManageNamespace, nsResourceOf},

	adminpb.TopicAdmin_ListNamespaceTopics_FullMethodName:           {PermManageTopic, nsResourceOf},
	adminpb.TopicAdmin_ListBrokerTopics_FullMethodName:              {PermManageTopic, brokerResourceOf},
	adminpb.TopicAdmin_CreateTopic_FullMethodName:                   {PermManageTopic, topicResourceOf},
	adminpb.TopicAdmin_CreatePartitionedTopic_FullMethodName:        {PermManageTopic, topicResourceOf},
	adminpb.TopicAdmin_DeleteTopic_FullMethodName:                   {PermManageTopic, topicResourceOf},
	adminpb.TopicAdmin_UnloadTopic_FullMethodName:                   {PermManageTopic, topicResourceOf},
	adminpb.TopicAdmin_ListSubscriptions_FullMethodName:             {PermManageTopic, topicResourceOf},
	adminpb.TopicAdmin_Unsubscribe_FullMethodName:                   {PermManageTopic, topicResourceOf},
	adminpb.TopicAdmin_SetSubscriptionFailurePolicy_FullMethodName:  {PermManageTopic, topicResourceOf},
	adminpb.TopicAdmin_GetSubscriptionFailurePolicy_FullMethodName:  {PermManageTopic, topicResourceOf},
	adminpb.TopicAdmin_DescribeTopic_FullMethodName:                 {PermManageTopic, topicResourceOf},
	adminpb.TopicAdmin_SetSubscriptionDispatchConfig_FullMethodName: {PermManageTopic, topicResourceOf},
	adminpb.TopicAdmin_GetSubscriptionDispatchConfig_FullMethodName: {PermManageTopic, topicResourceOf},

	adminpb.ClusterAdmin_ClusterStatus_FullMethodName: {PermManageCluster, onCluster},
	adminpb.ClusterAdmin_AddNode_FullMethodName:       {PermManageCluster, onCluster},
	adminpb.ClusterAdmin_PromoteNode_FullMethodName:   {PermManageCluster, onCluster},
	adminpb.ClusterAdmin_RemoveNode_FullMethodName:    {PermManageCluster, onCluster},

	adminpb.SecurityAdmin_CreateRole_FullMethodName:      {PermManageCluster, onCluster},
	adminpb.SecurityAdmin_GetRole_FullMethodName:         {PermManageCluster, onCluster},
	adminpb.SecurityAdmin_ListRoles_FullMethodName:       {PermManageCluster, onCluster},
	adminpb.SecurityAdmin_DeleteRole_FullMethodName:      {PermManageCluster, onCluster},
	adminpb.SecurityAdmin_CreateBinding_FullMethodName:   {PermManageCluster, onCluster},
	adminpb.SecurityAdmin_GetBinding_FullMethodName:      {PermManageCluster, onCluster},
	adminpb.SecurityAdmin_ListBindings_FullMethodName:    {PermManageCluster, onCluster},
	adminpb.SecurityAdmin_ListAllBindings_FullMethodName: {PermManageCluster, onCluster},
	adminpb.SecurityAdmin_DeleteBinding_FullMethodName:   {PermManageCluster, onCluster},

	// Ours: what the broker repaired in its data directory is the operator's business.
	consolepb.BrokerDiagnostics_StoreRecovery_FullMethodName: {PermManageBroker, onCluster},
}

// unknownMethod answers a method authzRules does not list (a service added without its rules): refused
// rather than served unchecked.
var errUnknownMethod = status.Error(codes.PermissionDenied, "no authorization rule for this method")

// guardUnary authenticates (when the broker has credentials to check) and authorizes every unary call.
func (s *Server) guardUnary(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
	if err := s.guard(ctx, info.FullMethod, req); err != nil {
		return nil, err
	}
	return h(ctx, req)
}

// guardStream does for streams what guardUnary does for unary calls; the only stream, ReceiveMessages, is
// checked on the cluster, before its request is read.
func (s *Server) guardStream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
	if err := s.guard(ss.Context(), info.FullMethod, nil); err != nil {
		return err
	}
	return h(srv, ss)
}

func (s *Server) guard(ctx context.Context, method string, req any) error {
	p := anonymous
	var err error
	switch {
	case s.auth != nil:
		p, err = s.auth.principal(ctx)
	case s.authz.certs:
		p, err = certPrincipal(ctx)
	}
	if err != nil {
		return err
	}
	rule, ok := authzRules[method]
	if !ok {
		if s.authz.enforce {
			return errUnknownMethod
		}
		return nil
	}
	if rule.res == nil {
		return nil
	}
	return s.authz.authorize(p, rule.perm, rule.res(req))
}

// sortedRoles and sortedBindings give SecurityAdmin's lists a stable order.
func sortedRoles(m map[string]roleDef) []roleDef {
	out := make([]roleDef, 0, len(m))
	for _, r := range m {
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b roleDef) int { return strings.Compare(a.Name, b.Name) })
	return out
}

func sortedBindings(m map[bindingKey]bindingDef, keep func(bindingKey) bool) []bindingDef {
	keys := make([]bindingKey, 0, len(m))
	for k := range m {
		if keep(k) {
			keys = append(keys, k)
		}
	}
	slices.SortFunc(keys, func(a, b bindingKey) int {
		if c := strings.Compare(a.scope, b.scope); c != 0 {
			return c
		}
		if c := strings.Compare(a.resource, b.resource); c != 0 {
			return c
		}
		return strings.Compare(a.id, b.id)
	})
	out := make([]bindingDef, len(keys))
	for i, k := range keys {
		out[i] = m[k]
	}
	return out
}
