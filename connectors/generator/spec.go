// Package generator is the "generator" source: it makes up records for demos, soak tests and load tests, at
// a given rate, for a given count or duration, with payloads of random text or rendered from a template.
//
// Example:
//
//	[[connector]]
//	name = "orders-load"
//	kind = "generator"
//	topic = "/default/orders"
//	rate = 500                # records per second; 0 = as fast as possible
//	count = 100000            # stop after this many records; 0 = no limit
//	duration = "10m"          # stop after this long; 0 = no limit
//	batch_size = 50           # records per Read
//	template = '{"id":"{{uuid}}","seq":{{seq}},"at":"{{time}}","qty":{{random_int 1 100}},"price":{{random_float}},"status":"{{choice "new" "paid" "shipped"}}"}'
//	# payload_size = 256      # instead of template: this many bytes of random letters and digits
//	key_cardinality = 16      # keys key-0 .. key-15; 0 = records have no key
//	key_prefix = "key-"
//	key_order = "cycle"       # or "random"
//	attributes = { source = "generator", env = "demo" }
//
// Template functions: {{seq}} is the record's sequence number (0, 1, 2, ... over the source's life),
// {{time}} the generation time in RFC 3339 with nanoseconds (UTC), {{unix_ms}} the same in Unix
// milliseconds, {{random_int MIN MAX}} an integer in [MIN, MAX], {{random_float}} a number in [0, 1),
// {{choice "a" "b" ...}} one of its arguments, and {{uuid}} a random version 4 UUID. The template is
// text/template: its output is not escaped, so keep JSON strings free of quotes. With neither template nor
// payload_size, the payload is {"seq":N,"time":"..."}.
//
// The generator has nothing upstream, so acknowledgements only count: Source.Acked tells how many records
// Danube acknowledged.
package generator

import (
	"math"

	"github.com/danube-console/danube-console/connectors"
)

// Kind is the generator's connector kind.
const Kind = "generator"

// Setting keys.
const (
	keyRate           = "rate"
	keyCount          = "count"
	keyDuration       = "duration"
	keyPayloadSize    = "payload_size"
	keyTemplate       = "template"
	keyKeyCardinality = "key_cardinality"
	keyKeyPrefix      = "key_prefix"
	keyKeyOrder       = "key_order"
	keyAttributes     = "attributes"
	keyBatchSize      = "batch_size"
)

// Key orders.
const (
	orderCycle  = "cycle"
	orderRandom = "random"
)

// Spec returns the generator's settings.
func Spec() connectors.Spec {
	return connectors.Spec{
		Summary: "Generates records at a given rate, from a template or random text, for demos and load tests.",
		Fields: []connectors.Field{
			{Name: keyRate, Type: connectors.TypeFloat, Default: 0.0, Min: 0, Max: 1e9,
				Doc: "Records per second; 0 generates as fast as Danube takes them."},
			{Name: keyCount, Type: connectors.TypeInt, Default: int64(0), Min: 0, Max: math.MaxInt64,
				Doc: "Stop (completed) after this many records; 0 means no limit."},
			{Name: keyDuration, Type: connectors.TypeDuration, Min: 0, Max: 100 * 365 * 24 * 3600,
				Doc: "Stop (completed) this long after the first connect; absent or 0 means no limit."},
			{Name: keyPayloadSize, Type: connectors.TypeInt, Min: 1, Max: 64 << 20,
				Doc: "Payload of this many random letters and digits (instead of template)."},
			{Name: keyTemplate, Type: connectors.TypeString,
				Doc: "Payload template (text/template) with {{seq}}, {{time}}, {{unix_ms}}, {{random_int 1 100}}, {{random_float}}, {{choice \"a\" \"b\"}} and {{uuid}}."},
			{Name: keyKeyCardinality, Type: connectors.TypeInt, Default: int64(0), Min: 0, Max: 1e9,
				Doc: "Number of distinct routing keys (<key_prefix>0 ... <key_prefix>N-1); 0 sends records without a key."},
			{Name: keyKeyPrefix, Type: connectors.TypeString, Default: "key-",
				Doc: "Prefix of the generated keys."},
			{Name: keyKeyOrder, Type: connectors.TypeString, Default: orderCycle, Enum: []string{orderCycle, orderRandom},
				Doc: "How keys are picked: cycle (by sequence number) or random."},
			{Name: keyAttributes, Type: connectors.TypeStringMap,
				Doc: "Attributes added to every record."},
			{Name: keyBatchSize, Type: connectors.TypeInt, Default: int64(1), Min: 1, Max: 100000,
				Doc: "Records returned by each read."},
		},
	}
}

func init() {
	connectors.MustRegisterSource(Kind, Spec(), func(cfg connectors.Config, res connectors.Resources) (connectors.Source, error) {
		return New(cfg, res)
	})
}
