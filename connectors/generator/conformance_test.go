package generator_test

import (
	"context"
	"strconv"
	"testing"

	"github.com/danube-console/danube-console/client"
	"github.com/danube-console/danube-console/connectors/connectortest"
	"github.com/danube-console/danube-console/connectors/generator"
)

// TestConformance runs the runtime's conformance suite over the generator against an embedded broker. The
// generator has no outside system to feed or break: Emit does nothing, and a record's id follows from its
// sequence number ({{seq}} in the payload), so that the suite's first batch of ids ("a-0" ...) is sequence
// 0 to Records-1, its second ("b-0" ...) the next Records, and so on. Every start builds a new generator,
// which starts again at sequence 0: the ids the suite waits for after a restart come again. The failure
// sub-test is skipped (no Break).
func TestConformance(t *testing.T) {
	const records = 40
	connectortest.Conformance(t, connectortest.Harness{
		Kind:    generator.Kind,
		Records: records,
		Settings: func(*connectortest.Fixture) map[string]any {
			return map[string]any{"rate": 400.0, "batch_size": int64(5), "template": "{{seq}}", "key_cardinality": int64(4)}
		},
		Emit: func(context.Context, *connectortest.Fixture, []string) error { return nil },
		ID: func(m *client.Message) string {
			seq, err := strconv.Atoi(string(m.Payload))
			if err != nil {
				return "bad payload " + string(m.Payload)
			}
			return string(rune('a'+seq/records)) + "-" + strconv.Itoa(seq%records)
		},
	})
}
