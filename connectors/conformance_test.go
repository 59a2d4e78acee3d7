package connectors_test

import (
	"context"
	"sync"
	"testing"

	"github.com/danube-console/danube-console/connectors/connectortest"
)

// TestConformanceSource runs the shared suite on the in-test source.
func TestConformanceSource(t *testing.T) {
	env := testEnv(t)
	var mu sync.Mutex
	ups := map[*connectortest.Fixture]*upstream{}
	get := func(f *connectortest.Fixture) *upstream {
		mu.Lock()
		defer mu.Unlock()
		return ups[f]
	}
	connectortest.Conformance(t, connectortest.Harness{
		Env:  env,
		Kind: "memsource",
		Settings: func(f *connectortest.Fixture) map[string]any {
			u := newUpstream(f.TB)
			mu.Lock()
			ups[f] = u
			mu.Unlock()
			return map[string]any{"store": u.name, "read_batch": 7}
		},
		Emit: func(_ context.Context, f *connectortest.Fixture, ids []string) error {
			get(f).emit(ids...)
			return nil
		},
		Break: func(f *connectortest.Fixture) (func(), error) {
			u := get(f)
			u.setBroken(true)
			return func() { u.setBroken(false) }, nil
		},
	})
}

// TestConformanceSink runs the shared suite on the in-test sink.
func TestConformanceSink(t *testing.T) {
	env := testEnv(t)
	var mu sync.Mutex
	downs := map[*connectortest.Fixture]*downstream{}
	get := func(f *connectortest.Fixture) *downstream {
		mu.Lock()
		defer mu.Unlock()
		return downs[f]
	}
	connectortest.Conformance(t, connectortest.Harness{
		Env:  env,
		Kind: "memsink",
		Settings: func(f *connectortest.Fixture) map[string]any {
			d := newDownstream(f.TB)
			mu.Lock()
			downs[f] = d
			mu.Unlock()
			return map[string]any{"store": d.name}
		},
		Delivered: func(f *connectortest.Fixture) ([]string, error) { return get(f).payloads(), nil },
		Break: func(f *connectortest.Fixture) (func(), error) {
			d := get(f)
			d.set(func(d *downstream) { d.broken = true })
			return func() { d.set(func(d *downstream) { d.broken = false }) }, nil
		},
	})
}
