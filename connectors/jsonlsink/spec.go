// Package jsonlsink is the "jsonl" sink: it appends every message it receives to a file as one JSON object
// per line, in the format of internal/jsonl (what `consume --jsonl` writes and `produce --from-jsonl`
// replays): topic, ids, offset, publish time, producer, subscription, key, attributes, schema and the payload
// (as text when it is valid UTF-8, base64 otherwise).
//
// Each batch is written and fsynced before Write returns, so the runtime acknowledges to Danube only
// messages that are on disk. With rotate_bytes, a file that a batch would take past the limit is renamed to
// <path>.<UTC time as 20060102T150405Z>.<n> (n numbers the rotations within one second, from 1) and a new
// file is started; keep_files bounds how many rotated files are kept (the oldest are deleted). A single
// message larger than rotate_bytes gets a file of its own. When someone else moves or deletes the file, the
// next batch goes to a new file at path.
//
// Example:
//
//	[[connector]]
//	name = "orders-archive"
//	kind = "jsonl"
//	topic = "/default/orders"
//	subscription = "archive"
//	path = "/var/lib/danube/orders.jsonl"   # required
//	mkdir = true                            # create the directory if missing (default false)
//	rotate_bytes = 104857600                # rotate before the file exceeds 100 MiB; 0 = never (default)
//	keep_files = 10                         # rotated files to keep; 0 = all (default)
package jsonlsink

import (
	"math"

	"github.com/danube-console/danube-console/connectors"
)

// Kind is the sink's connector kind.
const Kind = "jsonl"

// Setting keys.
const (
	keyPath        = "path"
	keyRotateBytes = "rotate_bytes"
	keyKeepFiles   = "keep_files"
	keyMkdir       = "mkdir"
)

// Spec returns the sink's settings.
func Spec() connectors.Spec {
	return connectors.Spec{
		Summary: "Appends messages to a JSON Lines file (fsynced per batch), with optional size-based rotation.",
		Fields: []connectors.Field{
			{Name: keyPath, Type: connectors.TypeString, Required: true, Example: `"/var/lib/danube/orders.jsonl"`,
				Doc: "File to append to."},
			{Name: keyRotateBytes, Type: connectors.TypeInt, Default: int64(0), Min: 0, Max: math.MaxInt64,
				Doc: "Rotate the file before it would exceed this many bytes; 0 never rotates."},
			{Name: keyKeepFiles, Type: connectors.TypeInt, Default: int64(0), Min: 0, Max: 1e6,
				Doc: "Rotated files to keep (the oldest are deleted); 0 keeps them all."},
			{Name: keyMkdir, Type: connectors.TypeBool, Default: false,
				Doc: "Create the file's directory (and its parents) when missing."},
		},
	}
}

func init() {
	connectors.MustRegisterSink(Kind, Spec(), func(cfg connectors.Config, res connectors.Resources) (connectors.Sink, error) {
		return New(cfg, res)
	})
}
