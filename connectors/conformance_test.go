package connectors_test

import (
	"context"
	"testing"

	"github.com/danube-console/danube-console/connectors/connectortest"
)

// TestConformanceSource runs the shared suite on the in-test source.
func TestConformanceSource(t *testing.T) {
	env := testEnv(t)
	get := func(f *connectortest.Fixture) *upstream { return f.State.(*upstream) }
	connectortest.Conformance(t, connectortest.Harness{
		Env:  env,
		Kind: "memsource",
		Settings: func(f *connectortest.Fixture) map[string]any {
			u := newUpstream(f.TB)
			f.State = u
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
	get := func(f *connectortest.Fixture) *downstream { return f.State.(*downstream) }
	connectortest.Conformance(t, connectortest.Harness{
		Env:  env,
		Kind: "memsink",
		Settings: func(f *connectortest.Fixture) map[string]any {
			d := newDownstream(f.TB)
			f.State = d
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
