package broker

import (
	"context"
	"testing"

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
