package broker

import (
	"context"
	"strconv"
	"testing"
	"time"

	"google.golang.org/grpc"
)

// TestAuthzRulesCoverEveryMethod: every method the broker serves on either port has an authorization rule,
// so that a service added later cannot be served unchecked (with Authorization on, an unlisted method is
// refused).
func TestAuthzRulesCoverEveryMethod(t *testing.T) {
	s, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Shutdown(context.Background()) })
	n := 0
	for _, info := range []map[string]grpc.ServiceInfo{s.grpc.GetServiceInfo(), s.adminGRPC.GetServiceInfo()} {
		for svc, si := range info {
			for _, m := range si.Methods {
				n++
				if _, ok := authzRules["/"+svc+"/"+m.Name]; !ok {
					t.Errorf("/%s/%s has no authorization rule", svc, m.Name)
				}
			}
		}
	}
	if n < 50 {
		t.Fatalf("found only %d methods on both ports", n)
	}
}

// BenchmarkAuthorize: one decision on a SendMessage (Produce on a topic) for a principal holding 7 of 1,000
// bindings, the one that grants last, next to the decision of a broker without authentication (which only
// counts); ns-added is what authorization adds to each call.
func BenchmarkAuthorize(b *testing.B) {
	a := newAuthorizer(Options{JWTSecret: []byte("s")})
	off := newAuthorizer(Options{}) // no authentication: every call is anonymous and allowed
	roles := map[string]roleDef{
		"reader": {Name: "reader", Permissions: []string{"Lookup", "Consume"}},
		"writer": {Name: "writer", Permissions: []string{"Lookup", "Produce", "Consume"}},
	}
	bindings := map[bindingKey]bindingDef{}
	add := func(d bindingDef) { bindings[keyOf(d.Scope, d.ResourceName, d.ID)] = d }
	scopes := [][2]string{{scopeCluster, ""}, {scopeNamespace, "default"}, {scopeTopic, "/default/bench"}}
	for i := range 993 {
		s := scopes[i%3]
		add(bindingDef{ID: "b" + strconv.Itoa(i), PrincipalType: PrincipalServiceAccount, PrincipalName: "svc-" + strconv.Itoa(i),
			RoleNames: []string{"writer"}, Scope: s[0], ResourceName: s[1]})
	}
	for i, s := range [][2]string{{scopeTopic, "/default/a"}, {scopeTopic, "/default/b"}, {scopeTopic, "/default/c"},
		{scopeNamespace, "other"}, {scopeCluster, ""}, {scopeNamespace, "default"}, {scopeTopic, "/default/bench"}} {
		roles := []string{"reader"}
		if i == 6 || i < 4 {
			roles = []string{"reader", "writer"}
		}
		add(bindingDef{ID: "p" + strconv.Itoa(i), PrincipalType: PrincipalServiceAccount, PrincipalName: "publisher",
			RoleNames: roles, Scope: s[0], ResourceName: s[1]})
	}
	a.snap.Store(newSnapshot(roles, bindings))
	p := principal{PrincipalServiceAccount, "publisher"}
	r := resource{kind: resTopic, name: "/default/bench"}
	if err := a.authorize(p, PermProduce, r); err != nil {
		b.Fatal(err)
	}
	if err := a.authorize(p, PermManageTopic, r); err == nil {
		b.Fatal("ManageTopic allowed")
	}
	time1 := func(a *authorizer) time.Duration {
		start := time.Now()
		for range b.N {
			if err := a.authorize(p, PermProduce, r); err != nil {
				b.Fatal(err)
			}
		}
		return time.Since(start)
	}
	b.ResetTimer()
	on := time1(a)
	offT := time1(off)
	b.StopTimer()
	b.ReportMetric(float64(on-offT)/float64(b.N), "ns-added")
}
