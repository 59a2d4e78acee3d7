package broker_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"

	"github.com/danube-console/danube-console/broker"
	"github.com/danube-console/danube-console/proto/adminpb"
)

// SecurityAdmin over real gRPC: every rpc, its answers and each of its validation errors, with the real
// broker's codes and messages (security_admin.rs), and roles and bindings surviving a restart.

func securityClient(t *testing.T, opts broker.Options) (*wire, adminpb.SecurityAdminClient) {
	t.Helper()
	w, _ := newAdminWire(t, opts)
	return w, adminpb.NewSecurityAdminClient(dialConnInsecure(t, w.srv.AdminAddr().String()))
}

func roleNames(t *testing.T, sec adminpb.SecurityAdminClient, c context.Context) []string {
	t.Helper()
	resp, err := sec.ListRoles(c, &adminpb.Empty{})
	if err != nil {
		t.Fatalf("ListRoles: %v", err)
	}
	var names []string
	for _, r := range resp.Roles {
		names = append(names, r.Name)
	}
	return names
}

func bindingIDs(resp *adminpb.ListBindingsResponse, err error) []string {
	if err != nil {
		return []string{"error: " + err.Error()}
	}
	ids := []string{}
	for _, b := range resp.Bindings {
		ids = append(ids, b.Scope+"|"+b.ResourceName+"|"+b.Id)
	}
	return ids
}

func TestSecurityAdminRoles(t *testing.T) {
	_, sec := securityClient(t, broker.Options{})
	c := ctx(t)

	// No role exists at boot: the real broker has no built-in roles.
	if got := roleNames(t, sec, c); len(got) != 0 {
		t.Fatalf("roles at boot: %q, want none", got)
	}

	for name, tc := range map[string]struct {
		req  *adminpb.CreateRoleRequest
		code codes.Code
		msg  string
	}{
		"no role":            {&adminpb.CreateRoleRequest{}, codes.InvalidArgument, "role is required"},
		"no name":            {&adminpb.CreateRoleRequest{Role: &adminpb.RoleDefinition{Permissions: []string{"Produce"}}}, codes.InvalidArgument, "role name is required"},
		"lower-case":         {&adminpb.CreateRoleRequest{Role: &adminpb.RoleDefinition{Name: "r", Permissions: []string{"produce"}}}, codes.InvalidArgument, "unknown permission: produce"},
		"second one unknown": {&adminpb.CreateRoleRequest{Role: &adminpb.RoleDefinition{Name: "r", Permissions: []string{"Consume", "Admin"}}}, codes.InvalidArgument, "unknown permission: Admin"},
	} {
		_, err := sec.CreateRole(c, tc.req)
		t.Run(name, func(t *testing.T) { wantStatus(t, err, tc.code, tc.msg) })
	}
	if got := roleNames(t, sec, c); len(got) != 0 {
		t.Fatalf("refused CreateRole calls created roles: %q", got)
	}

	all := []string{"Lookup", "Produce", "Consume", "Replicate", "ManageNamespace", "ManageTopic", "ManageSchema",
		"ManageBroker", "ManageCluster"}
	for _, r := range []*adminpb.RoleDefinition{
		{Name: "producer", Permissions: []string{"Lookup", "Produce"}},
		{Name: "everything", Permissions: all, System: true},
		{Name: "nothing"}, // an empty permission list is allowed
	} {
		resp, err := sec.CreateRole(c, &adminpb.CreateRoleRequest{Role: r})
		if err != nil || !resp.Success {
			t.Fatalf("CreateRole %s: %v %v", r.Name, resp, err)
		}
	}
	// Upsert: creating an existing role overwrites it, without AlreadyExists.
	if _, err := sec.CreateRole(c, &adminpb.CreateRoleRequest{Role: &adminpb.RoleDefinition{Name: "producer",
		Permissions: []string{"Produce"}}}); err != nil {
		t.Fatalf("CreateRole over an existing role: %v", err)
	}
	got, err := sec.GetRole(c, &adminpb.GetRoleRequest{Name: "producer"})
	if err != nil || !proto.Equal(got.Role, &adminpb.RoleDefinition{Name: "producer", Permissions: []string{"Produce"}}) {
		t.Fatalf("GetRole after the upsert: %v %v", got, err)
	}
	got, err = sec.GetRole(c, &adminpb.GetRoleRequest{Name: "everything"})
	if err != nil || !proto.Equal(got.Role, &adminpb.RoleDefinition{Name: "everything", Permissions: all, System: true}) {
		t.Fatalf("GetRole everything: %v %v", got, err)
	}
	_, err = sec.GetRole(c, &adminpb.GetRoleRequest{Name: "Producer"})
	wantStatus(t, err, codes.NotFound, "role 'Producer' not found")
	if got := roleNames(t, sec, c); !slices.Equal(got, []string{"everything", "nothing", "producer"}) {
		t.Fatalf("ListRoles: %q", got)
	}

	_, err = sec.DeleteRole(c, &adminpb.DeleteRoleRequest{Name: "ghost"})
	wantStatus(t, err, codes.NotFound, "role 'ghost' not found")
	_, err = sec.DeleteRole(c, &adminpb.DeleteRoleRequest{Name: "everything"})
	wantStatus(t, err, codes.FailedPrecondition, "cannot delete system role 'everything'")
	if resp, err := sec.DeleteRole(c, &adminpb.DeleteRoleRequest{Name: "nothing"}); err != nil || !resp.Success {
		t.Fatalf("DeleteRole nothing: %v %v", resp, err)
	}
	if got := roleNames(t, sec, c); !slices.Equal(got, []string{"everything", "producer"}) {
		t.Fatalf("ListRoles after DeleteRole: %q", got)
	}
}

func TestSecurityAdminBindings(t *testing.T) {
	_, sec := securityClient(t, broker.Options{})
	c := ctx(t)
	binding := func(id, typ, name, scope, res string, roles ...string) *adminpb.BindingDefinition {
		return &adminpb.BindingDefinition{Id: id, PrincipalType: typ, PrincipalName: name, RoleNames: roles, Scope: scope, ResourceName: res}
	}

	for name, tc := range map[string]struct {
		b   *adminpb.BindingDefinition
		msg string
	}{
		"absent":       {nil, "binding is required"},
		"no id":        {binding("", "user", "alice", "cluster", "", "r"), "binding id is required"},
		"no type":      {binding("b", "", "alice", "cluster", "", "r"), "principal_type and principal_name are required"},
		"no name":      {binding("b", "user", "", "cluster", "", "r"), "principal_type and principal_name are required"},
		"no role":      {binding("b", "user", "alice", "cluster", ""), "at least one role_name is required"},
		"bad scope":    {binding("b", "user", "alice", "tenant", "", "r"), "invalid scope: tenant (expected cluster, namespace, or topic)"},
		"scope case":   {binding("b", "user", "alice", "Cluster", "", "r"), "invalid scope: Cluster (expected cluster, namespace, or topic)"},
		"empty scope":  {binding("b", "user", "alice", "", "", "r"), "invalid scope:  (expected cluster, namespace, or topic)"},
		"roles before": {binding("b", "user", "alice", "nonsense", ""), "at least one role_name is required"},
	} {
		_, err := sec.CreateBinding(c, &adminpb.CreateBindingRequest{Binding: tc.b})
		t.Run(name, func(t *testing.T) { wantStatus(t, err, codes.InvalidArgument, tc.msg) })
	}
	if got := bindingIDs(sec.ListAllBindings(c, &adminpb.Empty{})); len(got) != 0 {
		t.Fatalf("refused CreateBinding calls created bindings: %q", got)
	}

	// Role names are not checked; the principal type is not validated either.
	for _, b := range []*adminpb.BindingDefinition{
		binding("ops", "user", "alice", "cluster", "", "admin", "missing-role"),
		binding("billing", "service_account", "billing", "namespace", "default", "producer"),
		binding("orders", "service_account", "billing", "topic", "/default/orders", "producer"),
		binding("orders", "robot", "r2", "topic", "/default/payments", "producer"),
		binding("orders-value", "user", "carol", "topic", "orders-value", "schemas"),
	} {
		if resp, err := sec.CreateBinding(c, &adminpb.CreateBindingRequest{Binding: b}); err != nil || !resp.Success {
			t.Fatalf("CreateBinding %v: %v %v", b, resp, err)
		}
	}
	// Upsert by key: the same scope, resource and id replace the binding (it is listed once).
	if _, err := sec.CreateBinding(c, &adminpb.CreateBindingRequest{Binding: binding("billing", "service_account",
		"billing", "namespace", "default", "producer", "consumer")}); err != nil {
		t.Fatal(err)
	}

	got, err := sec.GetBinding(c, &adminpb.GetBindingRequest{Scope: "namespace", ResourceName: "default", BindingId: "billing"})
	if err != nil || !proto.Equal(got.Binding, binding("billing", "service_account", "billing", "namespace", "default", "producer", "consumer")) {
		t.Fatalf("GetBinding: %v %v", got, err)
	}
	_, err = sec.GetBinding(c, &adminpb.GetBindingRequest{Scope: "namespace", ResourceName: "other", BindingId: "billing"})
	wantStatus(t, err, codes.NotFound, "binding 'billing' not found")
	_, err = sec.GetBinding(c, &adminpb.GetBindingRequest{Scope: "global", BindingId: "ops"})
	wantStatus(t, err, codes.InvalidArgument, "invalid scope: global (expected cluster, namespace, or topic)")

	for _, tc := range []struct {
		scope, res string
		want       []string
	}{
		{"cluster", "", []string{"cluster||ops"}},
		{"namespace", "default", []string{"namespace|default|billing"}},
		{"topic", "/default/orders", []string{"topic|/default/orders|orders"}},
		{"topic", "/default", []string{}}, // exact resource, not a prefix
		{"namespace", "nobody", []string{}},
	} {
		if got := bindingIDs(sec.ListBindings(c, &adminpb.ListBindingsRequest{Scope: tc.scope, ResourceName: tc.res})); !slices.Equal(got, tc.want) {
			t.Errorf("ListBindings(%s, %s) = %q, want %q", tc.scope, tc.res, got, tc.want)
		}
	}
	_, err = sec.ListBindings(c, &adminpb.ListBindingsRequest{Scope: "topics"})
	wantStatus(t, err, codes.InvalidArgument, "invalid scope: topics (expected cluster, namespace, or topic)")
	wantAll := []string{"cluster||ops", "namespace|default|billing", "topic|/default/orders|orders",
		"topic|/default/payments|orders", "topic|orders-value|orders-value"}
	if got := bindingIDs(sec.ListAllBindings(c, &adminpb.Empty{})); !slices.Equal(got, wantAll) {
		t.Fatalf("ListAllBindings = %q, want %q", got, wantAll)
	}

	_, err = sec.DeleteBinding(c, &adminpb.DeleteBindingRequest{Scope: "namespace", ResourceName: "default", BindingId: "ghost"})
	wantStatus(t, err, codes.NotFound, "binding 'ghost' not found")
	_, err = sec.DeleteBinding(c, &adminpb.DeleteBindingRequest{Scope: "", BindingId: "ops"})
	wantStatus(t, err, codes.InvalidArgument, "invalid scope:  (expected cluster, namespace, or topic)")
	if resp, err := sec.DeleteBinding(c, &adminpb.DeleteBindingRequest{Scope: "topic", ResourceName: "/default/orders", BindingId: "orders"}); err != nil || !resp.Success {
		t.Fatalf("DeleteBinding: %v %v", resp, err)
	}
	// Only that binding went: the one with the same id on another topic stays.
	wantAll = slices.Delete(wantAll, 2, 3)
	if got := bindingIDs(sec.ListAllBindings(c, &adminpb.Empty{})); !slices.Equal(got, wantAll) {
		t.Fatalf("ListAllBindings after DeleteBinding = %q, want %q", got, wantAll)
	}
}

// TestSecurityAdminPersists stops a broker on a data directory and starts another on it: its roles and
// bindings come back and are enforced.
func TestSecurityAdminPersists(t *testing.T) {
	dir := t.TempDir()
	st := openDisk(t, dir)
	opts := broker.Options{Store: st, JWTSecret: testSecret, SuperAdmins: []string{"root"}}
	w, sec := securityClient(t, opts)
	root := bearer(t, mustToken(t, testSecret, "root", time.Hour))
	mustCreateRole(t, sec, root, "looker", "Lookup")
	mustCreateRole(t, sec, root, "gone", "Produce")
	mustBind(t, sec, root, "bob-look", "user", "bob", "namespace", "default", "looker")
	mustBind(t, sec, root, "bob/odd id", "user", "bob", "topic", "/default/a/b", "gone")
	if _, err := sec.DeleteRole(root, &adminpb.DeleteRoleRequest{Name: "gone"}); err != nil {
		t.Fatal(err)
	}
	if err := w.srv.Shutdown(ctx(t)); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	st2 := openDisk(t, dir)
	defer st2.Close()
	opts.Store = st2
	w2, sec2 := securityClient(t, opts)
	if got := roleNames(t, sec2, root); !slices.Equal(got, []string{"looker"}) {
		t.Fatalf("roles after a restart: %q", got)
	}
	want := []string{"namespace|default|bob-look", "topic|/default/a/b|bob/odd id"}
	if got := bindingIDs(sec2.ListAllBindings(root, &adminpb.Empty{})); !slices.Equal(got, want) {
		t.Fatalf("bindings after a restart: %q, want %q", got, want)
	}
	bob := bearer(t, mustToken(t, testSecret, "bob", time.Hour))
	if _, err := w2.Discovery.TopicPartitions(bob, topicLookup("/default/x")); err != nil {
		t.Fatalf("a restored binding does not grant Lookup: %v", err)
	}
	_, err := w2.Discovery.TopicPartitions(bob, topicLookup("/other/x"))
	wantStatus(t, err, codes.PermissionDenied, `no binding grants Lookup on Topic("/other/x") for user:bob`)
}
