package broker

import (
	"context"
	"encoding/json"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/danube-console/danube-console/broker/store"
	"github.com/danube-console/danube-console/proto/adminpb"
)

// registerSecurity serves danube_admin.SecurityAdmin on the admin port.
func (s *Server) registerSecurity(g *grpc.Server) {
	adminpb.RegisterSecurityAdminServer(g, securityAdmin{s: s})
}

// securityAdmin serves danube_admin.SecurityAdmin with the real broker's validation, codes and messages
// (security_admin.rs). Every rpc needs ManageCluster, which the interceptor checks before the handler runs.
// Roles and bindings are created by upsert; no role exists until one is created.
type securityAdmin struct {
	adminpb.UnimplementedSecurityAdminServer
	s *Server
}

func rolePB(r roleDef) *adminpb.RoleDefinition {
	return &adminpb.RoleDefinition{Name: r.Name, Permissions: append([]string(nil), r.Permissions...), System: r.System}
}

func bindingPB(b bindingDef) *adminpb.BindingDefinition {
	return &adminpb.BindingDefinition{Id: b.ID, PrincipalType: b.PrincipalType, PrincipalName: b.PrincipalName,
		RoleNames: append([]string(nil), b.RoleNames...), Scope: b.Scope, ResourceName: b.ResourceName}
}

func errRoleNotFound(name string) error {
	return status.Errorf(codes.NotFound, "role '%s' not found", name)
}

func errBindingNotFound(id string) error {
	return status.Errorf(codes.NotFound, "binding '%s' not found", id)
}

// checkScope validates a binding scope as the real broker parses it.
func checkScope(scope string) error {
	switch scope {
	case scopeCluster, scopeNamespace, scopeTopic:
		return nil
	}
	return status.Errorf(codes.InvalidArgument, "invalid scope: %s (expected cluster, namespace, or topic)", scope)
}

func putJSONIn(meta store.Meta, key string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return meta.Put(key, b)
}

func (a securityAdmin) CreateRole(_ context.Context, req *adminpb.CreateRoleRequest) (*adminpb.CreateRoleResponse, error) {
	r := req.GetRole()
	if r == nil {
		return nil, status.Error(codes.InvalidArgument, "role is required")
	}
	if r.GetName() == "" {
		return nil, status.Error(codes.InvalidArgument, "role name is required")
	}
	for _, p := range r.GetPermissions() {
		if _, ok := parsePermission(p); !ok {
			return nil, status.Errorf(codes.InvalidArgument, "unknown permission: %s", p)
		}
	}
	def := roleDef{Name: r.GetName(), Permissions: append([]string{}, r.GetPermissions()...), System: r.GetSystem()}
	err := a.s.authz.update(func(roles map[string]roleDef, _ map[bindingKey]bindingDef, meta store.Meta) error {
		if err := putJSONIn(meta, roleStoreKey(def.Name), def); err != nil {
			return status.Errorf(codes.Internal, "failed to store role: %v", err)
		}
		roles[def.Name] = def
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &adminpb.CreateRoleResponse{Success: true}, nil
}

func (a securityAdmin) GetRole(_ context.Context, req *adminpb.GetRoleRequest) (*adminpb.GetRoleResponse, error) {
	r, ok := a.s.authz.snap.Load().roles[req.GetName()]
	if !ok {
		return nil, errRoleNotFound(req.GetName())
	}
	return &adminpb.GetRoleResponse{Role: rolePB(r)}, nil
}

func (a securityAdmin) ListRoles(context.Context, *adminpb.Empty) (*adminpb.ListRolesResponse, error) {
	roles := sortedRoles(a.s.authz.snap.Load().roles)
	resp := &adminpb.ListRolesResponse{Roles: make([]*adminpb.RoleDefinition, len(roles))}
	for i, r := range roles {
		resp.Roles[i] = rolePB(r)
	}
	return resp, nil
}

func (a securityAdmin) DeleteRole(_ context.Context, req *adminpb.DeleteRoleRequest) (*adminpb.DeleteRoleResponse, error) {
	name := req.GetName()
	err := a.s.authz.update(func(roles map[string]roleDef, _ map[bindingKey]bindingDef, meta store.Meta) error {
		r, ok := roles[name]
		if !ok {
			return errRoleNotFound(name)
		}
		if r.System {
			return status.Errorf(codes.FailedPrecondition, "cannot delete system role '%s'", name)
		}
		// Bindings that name the role stay; they grant nothing through it until it is created again.
		if err := meta.Delete(roleStoreKey(name)); err != nil {
			return status.Errorf(codes.Internal, "failed to delete role: %v", err)
		}
		delete(roles, name)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &adminpb.DeleteRoleResponse{Success: true}, nil
}

func (a securityAdmin) CreateBinding(_ context.Context, req *adminpb.CreateBindingRequest) (*adminpb.CreateBindingResponse, error) {
	b := req.GetBinding()
	switch {
	case b == nil:
		return nil, status.Error(codes.InvalidArgument, "binding is required")
	case b.GetId() == "":
		return nil, status.Error(codes.InvalidArgument, "binding id is required")
	case b.GetPrincipalType() == "" || b.GetPrincipalName() == "":
		return nil, status.Error(codes.InvalidArgument, "principal_type and principal_name are required")
	case len(b.GetRoleNames()) == 0:
		return nil, status.Error(codes.InvalidArgument, "at least one role_name is required")
	}
	if err := checkScope(b.GetScope()); err != nil {
		return nil, err
	}
	def := bindingDef{ID: b.GetId(), PrincipalType: b.GetPrincipalType(), PrincipalName: b.GetPrincipalName(),
		RoleNames: append([]string(nil), b.GetRoleNames()...), Scope: b.GetScope(), ResourceName: b.GetResourceName()}
	key := keyOf(def.Scope, def.ResourceName, def.ID)
	err := a.s.authz.update(func(_ map[string]roleDef, bindings map[bindingKey]bindingDef, meta store.Meta) error {
		if err := putJSONIn(meta, key.storeKey(), def); err != nil {
			return status.Errorf(codes.Internal, "failed to store binding: %v", err)
		}
		bindings[key] = def
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &adminpb.CreateBindingResponse{Success: true}, nil
}

func (a securityAdmin) GetBinding(_ context.Context, req *adminpb.GetBindingRequest) (*adminpb.GetBindingResponse, error) {
	if err := checkScope(req.GetScope()); err != nil {
		return nil, err
	}
	b, ok := a.s.authz.snap.Load().bindings[keyOf(req.GetScope(), req.GetResourceName(), req.GetBindingId())]
	if !ok {
		return nil, errBindingNotFound(req.GetBindingId())
	}
	return &adminpb.GetBindingResponse{Binding: bindingPB(b)}, nil
}

// ListBindings lists the bindings stored under the scope and resource name: every cluster binding for the
// cluster scope, whose storage key has no resource name.
func (a securityAdmin) ListBindings(_ context.Context, req *adminpb.ListBindingsRequest) (*adminpb.ListBindingsResponse, error) {
	if err := checkScope(req.GetScope()); err != nil {
		return nil, err
	}
	want := keyOf(req.GetScope(), req.GetResourceName(), "")
	return bindingList(a.s.authz.snap.Load().bindings, func(k bindingKey) bool {
		return k.scope == want.scope && k.resource == want.resource
	}), nil
}

func (a securityAdmin) ListAllBindings(context.Context, *adminpb.Empty) (*adminpb.ListBindingsResponse, error) {
	return bindingList(a.s.authz.snap.Load().bindings, func(bindingKey) bool { return true }), nil
}

func bindingList(m map[bindingKey]bindingDef, keep func(bindingKey) bool) *adminpb.ListBindingsResponse {
	list := sortedBindings(m, keep)
	resp := &adminpb.ListBindingsResponse{Bindings: make([]*adminpb.BindingDefinition, len(list))}
	for i, b := range list {
		resp.Bindings[i] = bindingPB(b)
	}
	return resp
}

func (a securityAdmin) DeleteBinding(_ context.Context, req *adminpb.DeleteBindingRequest) (*adminpb.DeleteBindingResponse, error) {
	if err := checkScope(req.GetScope()); err != nil {
		return nil, err
	}
	key := keyOf(req.GetScope(), req.GetResourceName(), req.GetBindingId())
	err := a.s.authz.update(func(_ map[string]roleDef, bindings map[bindingKey]bindingDef, meta store.Meta) error {
		if _, ok := bindings[key]; !ok {
			return errBindingNotFound(key.id)
		}
		if err := meta.Delete(key.storeKey()); err != nil {
			return status.Errorf(codes.Internal, "failed to delete binding: %v", err)
		}
		delete(bindings, key)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &adminpb.DeleteBindingResponse{Success: true}, nil
}
