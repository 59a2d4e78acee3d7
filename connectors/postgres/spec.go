// Package postgres is the "postgres" sink: it writes each Danube message as one row of a PostgreSQL table,
// appending (mode "insert", with COPY) or upserting by a key (mode "upsert", INSERT … ON CONFLICT (key) DO
// UPDATE, idempotent on redelivery), one transaction per batch, and acknowledges the messages only after
// the commit.
//
// Example:
//
//	[[connector]]
//	name = "orders-to-pg"
//	kind = "postgres"
//	topic = "/default/orders"
//	dsn_env = "ORDERS_PG_DSN"          # or dsn = "postgres://user:secret@db:5432/shop?sslmode=require"
//	table = "public.orders"            # schema-qualified or not; names are taken literally (case-sensitive)
//	mode = "upsert"                    # or "insert" (append only)
//	key_json_path = "$.order.id"       # or key_attribute = "order-id"
//	key_column = "key"                 # the upsert conflict target (a unique column)
//	payload_column = "payload"
//	payload_format = "json"            # jsonb; "text" for text, "bytes" for bytea
//	create_table = true                # create the table when it does not exist
//	columns = { topic = "topic", off = "offset", at = "publish_time", source = "attr:source" }
//
// # Rows
//
// A row holds the payload in payload_column, the key in key_column (when key_attribute or key_json_path is
// set; upsert requires one of them), and one column per entry of columns, whose value names the source:
// "attr:NAME" (the message attribute NAME, NULL when absent), "topic" (the Danube topic), "offset" (the
// message's topic offset), "publish_time", "key" (the routing key, NULL when none) or "producer" (the
// producer's name). create_table makes the table with these columns (text, bigint or timestamptz; the payload
// jsonb, text or bytea; the key text, the primary key in upsert mode). Connect checks that the table exists
// with these columns and compatible types, and in upsert mode that key_column has a unique index: a mismatch
// is a configuration error.
//
// key_json_path is a small JSONPath subset: "$" followed by ".name", "['name']" or "[index]" steps (e.g.
// "$.order.id", "$.items[0].sku", "$['a.b']"); the value found must be a string, number or boolean, and is
// stored as its text.
//
// # Delivery and errors
//
// Each Write is one transaction. When it fails because of the data of some rows (SQLSTATE classes 22 and
// 23: invalid input, constraint violations), the batch is written again row by row in one transaction,
// each row under a savepoint: the good rows are committed and the bad ones reported as InvalidData in a
// *connectors.BatchError (the runtime nacks them to the dead-letter topic). Payloads that are not JSON (for
// payload_format "json"), not UTF-8 text without NUL bytes (for "text"), or that have no key are reported the
// same way without reaching the database. Connection failures, serialization failures, deadlocks and
// timeouts are Retryable, and the next Write reconnects; a table or column that disappeared is Fatal (the
// restart checks the table again). In upsert mode, rows of one batch with the same key are applied in order
// (the last one wins); across batches the last delivered message wins.
//
// The sink holds one connection (not a pool: Write is called from one goroutine at a time). Health pings it.
package postgres

import (
	"time"

	"github.com/danube-console/danube-console/connectors"
)

// Kind is the sink's connector kind.
const Kind = "postgres"

// Setting keys.
const (
	keyDSN            = "dsn"
	keyTable          = "table"
	keyMode           = "mode"
	keyKeyAttribute   = "key_attribute"
	keyKeyJSONPath    = "key_json_path"
	keyKeyColumn      = "key_column"
	keyPayloadColumn  = "payload_column"
	keyPayloadFormat  = "payload_format"
	keyColumns        = "columns"
	keyCreateTable    = "create_table"
	keyConnectTimeout = "connect_timeout"
)

// Modes.
const (
	modeInsert = "insert"
	modeUpsert = "upsert"
)

// Payload formats.
const (
	formatJSON  = "json"
	formatText  = "text"
	formatBytes = "bytes"
)

// Spec returns the settings of the "postgres" sink.
func Spec() connectors.Spec {
	return connectors.Spec{
		Summary: "Writes messages as rows of a PostgreSQL table (insert or upsert by key), one transaction per batch.",
		Fields: []connectors.Field{
			{Name: keyDSN, Type: connectors.TypeString, Required: true, Secret: true,
				Doc: "PostgreSQL connection string, as a URL (postgres://user:pass@host:5432/db?sslmode=require) or key=value pairs."},
			{Name: keyTable, Type: connectors.TypeString, Required: true, Example: `"orders"`,
				Doc: "Target table, optionally schema-qualified (schema.table); names are used literally (case-sensitive)."},
			{Name: keyMode, Type: connectors.TypeString, Default: modeInsert, Enum: []string{modeInsert, modeUpsert},
				Doc: "insert appends a row per message (COPY); upsert inserts or updates the row with the message's key."},
			{Name: keyKeyAttribute, Type: connectors.TypeString,
				Doc: "The key is the value of this message attribute (upsert needs key_attribute or key_json_path)."},
			{Name: keyKeyJSONPath, Type: connectors.TypeString,
				Doc: "The key is the value at this path of the JSON payload, e.g. $.order.id or $.items[0].sku."},
			{Name: keyKeyColumn, Type: connectors.TypeString, Default: "key",
				Doc: "Column that holds the key; in upsert mode the conflict target, which needs a unique index."},
			{Name: keyPayloadColumn, Type: connectors.TypeString, Default: "payload",
				Doc: "Column that holds the payload."},
			{Name: keyPayloadFormat, Type: connectors.TypeString, Default: formatJSON, Enum: []string{formatJSON, formatText, formatBytes},
				Doc: "json: the payload must be JSON (column jsonb or json); text: UTF-8 text (column text); bytes: any bytes (column bytea)."},
			{Name: keyColumns, Type: connectors.TypeStringMap,
				Doc: "Extra columns: column = source, where source is attr:NAME, topic, offset, publish_time, key (routing key) or producer."},
			{Name: keyCreateTable, Type: connectors.TypeBool, Default: false,
				Doc: "Create the table when it does not exist (with a primary key on key_column in upsert mode)."},
			{Name: keyConnectTimeout, Type: connectors.TypeDuration, Default: 10 * time.Second, Min: 0.001, Max: 600,
				Doc: "Time allowed to open a connection (unless the DSN sets connect_timeout)."},
		},
	}
}

func init() {
	connectors.MustRegisterSink(Kind, Spec(), func(cfg connectors.Config, res connectors.Resources) (connectors.Sink, error) {
		return New(cfg, res)
	})
}
