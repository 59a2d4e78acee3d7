package client

import (
	"context"
	"slices"
	"strings"

	"google.golang.org/grpc"

	"github.com/danube-console/danube-console/proto/adminpb"
)

// Role-based access control (danube_admin.SecurityAdmin): roles name permissions, bindings grant roles to a
// principal on a scope. Brokers need the caller to hold ManageCluster for every one of these rpcs; a caller
// without it gets ErrPermissionDenied with the broker's reason.

// Role is an RBAC role.
type Role struct {
	Name        string
	Permissions []string
	System      bool
}

// Binding grants roles to a principal (PrincipalType "user" or "service_account", …) on a scope ("cluster",
// "namespace" or "topic") and resource (the namespace or topic; "" for the cluster).
type Binding struct {
	ID                           string
	PrincipalType, PrincipalName string
	Roles                        []string
	Scope, Resource              string
}

func security(cc *grpc.ClientConn) adminpb.SecurityAdminClient {
	return adminpb.NewSecurityAdminClient(cc)
}

// Roles lists the roles, sorted by name.
func (a *Admin) Roles(ctx context.Context) ([]Role, error) {
	var out []Role
	err := a.call(ctx, "list roles", func(ctx context.Context, cc *grpc.ClientConn) error {
		resp, err := security(cc).ListRoles(ctx, &adminpb.Empty{})
		if err != nil {
			return err
		}
		out = make([]Role, 0, len(resp.GetRoles()))
		for _, r := range resp.GetRoles() {
			out = append(out, Role{Name: r.GetName(), Permissions: r.GetPermissions(), System: r.GetSystem()})
		}
		slices.SortFunc(out, func(x, y Role) int { return strings.Compare(x.Name, y.Name) })
		return nil
	})
	return out, err
}

// Bindings lists every binding of every scope, sorted by scope, resource and id.
func (a *Admin) Bindings(ctx context.Context) ([]Binding, error) {
	var out []Binding
	err := a.call(ctx, "list bindings", func(ctx context.Context, cc *grpc.ClientConn) error {
		resp, err := security(cc).ListAllBindings(ctx, &adminpb.Empty{})
		if err != nil {
			return err
		}
		out = make([]Binding, 0, len(resp.GetBindings()))
		for _, b := range resp.GetBindings() {
			out = append(out, Binding{ID: b.GetId(), PrincipalType: b.GetPrincipalType(), PrincipalName: b.GetPrincipalName(),
				Roles: b.GetRoleNames(), Scope: b.GetScope(), Resource: b.GetResourceName()})
		}
		slices.SortFunc(out, func(x, y Binding) int {
			if c := strings.Compare(x.Scope, y.Scope); c != 0 {
				return c
			}
			if c := strings.Compare(x.Resource, y.Resource); c != 0 {
				return c
			}
			return strings.Compare(x.ID, y.ID)
		})
		return nil
	})
	return out, err
}

// CreateRole creates a role, or replaces the one of that name. Brokers refuse unknown permissions
// (InvalidArgument, naming the permission).
func (a *Admin) CreateRole(ctx context.Context, r Role) error {
	return a.call(ctx, "create role "+r.Name, func(ctx context.Context, cc *grpc.ClientConn) error {
		resp, err := security(cc).CreateRole(ctx, &adminpb.CreateRoleRequest{Role: &adminpb.RoleDefinition{
			Name: r.Name, Permissions: r.Permissions, System: r.System}})
		if err != nil {
			return err
		}
		return refused(resp.GetSuccess(), "")
	})
}

// DeleteRole deletes a role; brokers refuse system roles (FailedPrecondition) and unknown ones (NotFound).
func (a *Admin) DeleteRole(ctx context.Context, name string) error {
	return a.call(ctx, "delete role "+name, func(ctx context.Context, cc *grpc.ClientConn) error {
		resp, err := security(cc).DeleteRole(ctx, &adminpb.DeleteRoleRequest{Name: name})
		if err != nil {
			return err
		}
		return refused(resp.GetSuccess(), "")
	})
}

// CreateBinding creates a binding, or replaces the one with the same scope, resource and id.
func (a *Admin) CreateBinding(ctx context.Context, b Binding) error {
	return a.call(ctx, "create binding "+b.ID, func(ctx context.Context, cc *grpc.ClientConn) error {
		resp, err := security(cc).CreateBinding(ctx, &adminpb.CreateBindingRequest{Binding: &adminpb.BindingDefinition{
			Id: b.ID, PrincipalType: b.PrincipalType, PrincipalName: b.PrincipalName, RoleNames: b.Roles,
			Scope: b.Scope, ResourceName: b.Resource}})
		if err != nil {
			return err
		}
		return refused(resp.GetSuccess(), "")
	})
}

// DeleteBinding deletes the binding id of a scope and resource.
func (a *Admin) DeleteBinding(ctx context.Context, scope, resource, id string) error {
	return a.call(ctx, "delete binding "+id, func(ctx context.Context, cc *grpc.ClientConn) error {
		resp, err := security(cc).DeleteBinding(ctx, &adminpb.DeleteBindingRequest{Scope: scope, ResourceName: resource, BindingId: id})
		if err != nil {
			return err
		}
		return refused(resp.GetSuccess(), "")
	})
}
