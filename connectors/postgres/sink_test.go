package postgres

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"go.uber.org/goleak"

	"github.com/danube-console/danube-console/client"
	"github.com/danube-console/danube-console/connectors"
	"github.com/danube-console/danube-console/internal/testenv"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// testCtx is a context for one test step.
func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// parse validates raw settings with the real spec; secrets come from the process environment.
func parse(t *testing.T, raw map[string]any) connectors.Config {
	t.Helper()
	cfg, errs := Spec().Parse(raw, os.LookupEnv)
	if len(errs) > 0 {
		t.Fatalf("settings %v: %v", raw, errs)
	}
	return cfg
}

// newSink builds and connects a sink; Close runs at cleanup.
func newSink(t *testing.T, raw map[string]any) *Sink {
	t.Helper()
	s, err := New(parse(t, raw), connectors.Resources{Name: "pg-test"})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { s.Close(context.Background()) })
	if err := s.Connect(testCtx(t)); err != nil {
		t.Fatalf("Connect: %v", err)
	}
	return s
}

// db opens a connection for checking what the sink wrote.
func db(t *testing.T, dsn string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(testCtx(t), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

func exec(t *testing.T, conn *pgx.Conn, sql string) {
	t.Helper()
	if _, err := conn.Exec(testCtx(t), sql); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// query reads a query's rows as "col1|col2|…" strings, NULL as "∅".
func query(t *testing.T, conn *pgx.Conn, sql string) []string {
	t.Helper()
	rows, err := conn.Query(testCtx(t), sql)
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		vals, err := rows.Values()
		if err != nil {
			t.Fatal(err)
		}
		parts := make([]string, len(vals))
		for i, v := range vals {
			switch x := v.(type) {
			case nil:
				parts[i] = "∅"
			case []byte:
				parts[i] = string(x)
			case time.Time:
				parts[i] = x.UTC().Format(time.RFC3339)
			case map[string]any:
				parts[i] = fmt.Sprint(x)
			default:
				parts[i] = fmt.Sprint(x)
			}
		}
		out = append(out, strings.Join(parts, "|"))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func msg(payload string, attrs ...string) *client.Message {
	m := &client.Message{Payload: []byte(payload), Attributes: map[string]string{}}
	for i := 0; i+1 < len(attrs); i += 2 {
		m.Attributes[attrs[i]] = attrs[i+1]
	}
	return m
}

func wantRows(t *testing.T, got []string, want ...string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Fatalf("rows:\n got %q\nwant %q", got, want)
	}
}

func wantKind(t *testing.T, err error, k connectors.Kind) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want a %v error", k)
	}
	if got := connectors.KindOf(err); got != k {
		t.Fatalf("error %q is %v, want %v", err, got, k)
	}
}

// wantFailed checks that err is a BatchError whose failures are exactly the given indexes, with kind k.
func wantFailed(t *testing.T, err error, k connectors.Kind, idx ...int) {
	t.Helper()
	var be *connectors.BatchError
	if !errors.As(err, &be) {
		t.Fatalf("error %v is not a *BatchError", err)
	}
	var got []int
	for i, e := range be.Failed {
		got = append(got, i)
		if connectors.KindOf(e) != k {
			t.Errorf("#%d failed with %v error %q, want %v", i, connectors.KindOf(e), e, k)
		}
	}
	slices.Sort(got)
	if !slices.Equal(got, idx) {
		t.Fatalf("failed indexes %v, want %v (%v)", got, idx, be.Failed)
	}
}

// TestSink runs the sink's cases against one PostgreSQL server, each in its own database.
func TestSink(t *testing.T) {
	pg := testenv.NewPostgres(t)

	t.Run("Insert", func(t *testing.T) {
		dsn := pg.NewDatabase(t)
		s := newSink(t, map[string]any{"dsn": dsn, "table": "events", "create_table": true})
		ctx := testCtx(t)
		if err := s.Write(ctx, []*client.Message{msg(`{"n":1}`), msg(`{"n":2}`), msg(`{"n":1}`)}); err != nil {
			t.Fatal(err)
		}
		if err := s.Write(ctx, nil); err != nil {
			t.Fatalf("empty batch: %v", err)
		}
		conn := db(t, dsn)
		wantRows(t, query(t, conn, "SELECT payload->>'n' FROM events ORDER BY 1"), "1", "1", "2")
		wantRows(t, query(t, conn, `SELECT column_name || ' ' || data_type FROM information_schema.columns
			WHERE table_name = 'events' ORDER BY ordinal_position`), "payload jsonb")
		if err := s.Health(ctx); err != nil {
			t.Fatalf("Health: %v", err)
		}
	})

	t.Run("UpsertJSONPathIdempotent", func(t *testing.T) {
		dsn := pg.NewDatabase(t)
		s := newSink(t, map[string]any{"dsn": dsn, "table": "public.orders", "mode": "upsert",
			"key_json_path": "$.order.id", "create_table": true})
		ctx := testCtx(t)
		batch := []*client.Message{
			msg(`{"order":{"id":"a"},"v":1}`),
			msg(`{"order":{"id":7},"v":1}`),
			msg(`{"order":{"id":"a"},"v":2}`), // same key in one batch: the later one wins
		}
		for range 3 { // redelivery leaves one row per key
			if err := s.Write(ctx, batch); err != nil {
				t.Fatal(err)
			}
		}
		conn := db(t, dsn)
		wantRows(t, query(t, conn, "SELECT key, payload->>'v' FROM orders ORDER BY key"), "7|1", "a|2")
		if err := s.Write(ctx, []*client.Message{msg(`{"order":{"id":"a"},"v":3}`)}); err != nil {
			t.Fatal(err)
		}
		wantRows(t, query(t, conn, "SELECT key, payload->>'v' FROM orders ORDER BY key"), "7|1", "a|3")
		wantRows(t, query(t, conn, `SELECT a.attname FROM pg_index i JOIN pg_attribute a
			ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0] WHERE i.indrelid = 'orders'::regclass AND i.indisprimary`), "key")
	})

	t.Run("UpsertKeyAttribute", func(t *testing.T) {
		dsn := pg.NewDatabase(t)
		conn := db(t, dsn)
		exec(t, conn, `CREATE SCHEMA shop; CREATE TABLE shop."Stock" (sku text UNIQUE, doc text NOT NULL, extra int)`)
		s := newSink(t, map[string]any{"dsn": dsn, "table": "shop.Stock", "mode": "upsert",
			"key_attribute": "sku", "key_column": "sku", "payload_column": "doc", "payload_format": "text"})
		ctx := testCtx(t)
		if err := s.Write(ctx, []*client.Message{msg("ten", "sku", "x1"), msg("five", "sku", "x2")}); err != nil {
			t.Fatal(err)
		}
		// A message without the attribute is InvalidData; the others are written.
		err := s.Write(ctx, []*client.Message{msg("eleven", "sku", "x1"), msg("none")})
		wantFailed(t, err, connectors.KindInvalidData, 1)
		wantRows(t, query(t, conn, `SELECT sku, doc FROM shop."Stock" ORDER BY sku`), "x1|eleven", "x2|five")
	})

	for _, mode := range []string{"insert", "upsert"} {
		t.Run("BadRowsCommitOthers/"+mode, func(t *testing.T) {
			dsn := pg.NewDatabase(t)
			conn := db(t, dsn)
			unique := ""
			if mode == "upsert" {
				unique = "PRIMARY KEY"
			}
			exec(t, conn, `CREATE TABLE t (key text `+unique+`, payload jsonb NOT NULL CHECK (payload ? 'id'))`)
			s := newSink(t, map[string]any{"dsn": dsn, "table": "t", "mode": mode, "key_attribute": "k"})
			batch := []*client.Message{
				msg(`{"id":0}`, "k", "0"),
				msg(`{"id":1`, "k", "1"),         // not JSON: refused before the database
				msg(`{"nope":2}`, "k", "2"),      // violates the CHECK constraint
				msg(`{"id":3}`, "k", "3"),        //
				msg(`{"id":"\u0000"}`, "k", "4"), // valid JSON that jsonb refuses (22P05)
				msg(`{"id":5}`, "k", "5"),
			}
			err := s.Write(testCtx(t), batch)
			wantFailed(t, err, connectors.KindInvalidData, 1, 2, 4)
			wantRows(t, query(t, conn, "SELECT key FROM t ORDER BY key"), "0", "3", "5")

			// Only the constraint-violating row: exactly its index.
			exec(t, conn, "TRUNCATE t")
			err = s.Write(testCtx(t), []*client.Message{msg(`{"id":0}`, "k", "a"), msg(`{"x":1}`, "k", "b"), msg(`{"id":2}`, "k", "c")})
			wantFailed(t, err, connectors.KindInvalidData, 1)
			wantRows(t, query(t, conn, "SELECT key FROM t ORDER BY key"), "a", "c")
		})
	}

	t.Run("InsertUniqueViolationInBatch", func(t *testing.T) {
		dsn := pg.NewDatabase(t)
		conn := db(t, dsn)
		exec(t, conn, `CREATE TABLE t (key text UNIQUE, payload bytea NOT NULL)`)
		s := newSink(t, map[string]any{"dsn": dsn, "table": "t", "key_attribute": "k", "payload_format": "bytes"})
		err := s.Write(testCtx(t), []*client.Message{msg("\x00\xff", "k", "a"), msg("b", "k", "b"), msg("again", "k", "a")})
		wantFailed(t, err, connectors.KindInvalidData, 2)
		wantRows(t, query(t, conn, "SELECT key, encode(payload, 'hex') FROM t ORDER BY key"), "a|00ff", "b|62")
	})

	t.Run("ColumnMappings", func(t *testing.T) {
		dsn := pg.NewDatabase(t)
		s := newSink(t, map[string]any{"dsn": dsn, "table": "m", "create_table": true, "payload_format": "text",
			"columns": map[string]any{"topic": "topic", "off": "offset", "at": "publish_time", "src": "attr:source",
				"rk": "key", "prod": "producer"}})
		at := time.Date(2026, 3, 1, 12, 30, 0, 0, time.UTC)
		m1 := msg("one", "source", "sensor")
		m1.ID = client.MessageID{Topic: "/default/in", Offset: 41}
		m1.PublishTime, m1.ProducerName, m1.RoutingKey, m1.HasRoutingKey = at, "p1", "rk-1", true
		m2 := msg("two")
		m2.ID = client.MessageID{Topic: "/default/in", Offset: 42}
		if err := s.Write(testCtx(t), []*client.Message{m1, m2}); err != nil {
			t.Fatal(err)
		}
		conn := db(t, dsn)
		wantRows(t, query(t, conn, "SELECT payload, topic, off, at, src, rk, prod FROM m ORDER BY off"),
			"one|/default/in|41|2026-03-01T12:30:00Z|sensor|rk-1|p1",
			"two|/default/in|42|∅|∅|∅|")
		wantRows(t, query(t, conn, `SELECT column_name || ' ' || data_type FROM information_schema.columns
			WHERE table_name = 'm' ORDER BY column_name`),
			"at timestamp with time zone", "off bigint", "payload text", "prod text", "rk text", "src text", "topic text")

		// Text payloads must be UTF-8 without NUL bytes.
		err := s.Write(testCtx(t), []*client.Message{msg("ok"), msg("bad\xff"), msg("nul\x00")})
		wantFailed(t, err, connectors.KindInvalidData, 1, 2)
	})

	t.Run("JSONPathKeys", func(t *testing.T) {
		dsn := pg.NewDatabase(t)
		s := newSink(t, map[string]any{"dsn": dsn, "table": "k", "mode": "upsert", "create_table": true,
			"key_json_path": "$.items[1]['sku.id']", "payload_format": "bytes"})
		err := s.Write(testCtx(t), []*client.Message{
			msg(`{"items":[{},{"sku.id":"s-1"}]}`),
			msg(`{"items":[{},{"sku.id":12.50}]}`),
			msg(`{"items":[{},{"sku.id":true}]}`),
			msg(`{"items":[{}]}`),                 // index out of range
			msg(`{"items":[{},{"sku.id":null}]}`), // null
			msg(`{"items":[{},{"sku.id":{}}]}`),   // object
			msg(`not json`),
		})
		wantFailed(t, err, connectors.KindInvalidData, 3, 4, 5, 6)
		wantRows(t, query(t, db(t, dsn), "SELECT key FROM k ORDER BY key"), "12.50", "s-1", "true")
	})

	t.Run("SecretFromEnv", func(t *testing.T) {
		dsn := pg.NewDatabase(t)
		t.Setenv("DANUBE_TEST_PG_DSN", dsn)
		s := newSink(t, map[string]any{"dsn_env": "DANUBE_TEST_PG_DSN", "table": "e", "create_table": true})
		if err := s.Write(testCtx(t), []*client.Message{msg(`"x"`)}); err != nil {
			t.Fatal(err)
		}
		wantRows(t, query(t, db(t, dsn), "SELECT payload #>> '{}' FROM e"), "x")
	})

	t.Run("ConfigErrors", func(t *testing.T) {
		dsn := pg.NewDatabase(t)
		conn := db(t, dsn)
		exec(t, conn, `CREATE TABLE nouniq (key text, payload jsonb);
			CREATE TABLE wrongtype (payload bytea);
			CREATE TABLE nocol (body jsonb)`)
		base := func(kv ...any) map[string]any {
			raw := map[string]any{"dsn": dsn, "table": "t"}
			for i := 0; i+1 < len(kv); i += 2 {
				raw[kv[i].(string)] = kv[i+1]
			}
			return raw
		}
		newErrs := map[string]map[string]any{
			"bad dsn":          base("dsn", "postgres://host:notaport/db"),
			"bad dsn keyvalue": base("dsn", "host=localhost port"),
			"table":            base("table", "a.b.c"),
			"empty table part": base("table", "a."),
			"upsert no key":    base("mode", "upsert"),
			"two keys":         base("key_attribute", "k", "key_json_path", "$.k"),
			"path no dollar":   base("key_json_path", "k.id"),
			"path bare dollar": base("key_json_path", "$"),
			"path bad index":   base("key_json_path", "$.a[x]"),
			"column source":    base("columns", map[string]any{"c": "nope"}),
			"attr no name":     base("columns", map[string]any{"c": "attr:"}),
			"column twice":     base("columns", map[string]any{"payload": "topic"}),
		}
		for name, raw := range newErrs {
			_, err := New(parse(t, raw), connectors.Resources{})
			if err == nil {
				t.Errorf("%s: New accepted %v", name, raw)
				continue
			}
			if connectors.KindOf(err) != connectors.KindConfig {
				t.Errorf("%s: %v error %v", name, connectors.KindOf(err), err)
			}
			if strings.Contains(err.Error(), "secret") {
				t.Errorf("%s: error shows the password: %v", name, err)
			}
		}
		_, err := New(parse(t, base("dsn", "postgres://u:s3cret@host:notaport/db")), connectors.Resources{})
		if err == nil || strings.Contains(err.Error(), "s3cret") {
			t.Errorf("bad DSN with a password: %v", err)
		}

		connectErrs := map[string]map[string]any{
			"missing table":    base(),
			"missing schema":   base("table", "nope.t", "create_table", true),
			"no unique index":  base("table", "nouniq", "mode", "upsert", "key_attribute", "k"),
			"wrong type":       base("table", "wrongtype"),
			"missing column":   base("table", "nocol"),
			"missing database": base("dsn", strings.Replace(dsn, "/test_", "/nope_", 1)),
			"unknown user":     base("dsn", strings.Replace(dsn, "postgres@", "nobody@", 1)),
		}
		for name, raw := range connectErrs {
			s, err := New(parse(t, raw), connectors.Resources{})
			if err != nil {
				t.Errorf("%s: New: %v", name, err)
				continue
			}
			err = s.Connect(testCtx(t))
			s.Close(context.Background())
			if connectors.KindOf(err) != connectors.KindConfig || err == nil {
				t.Errorf("%s: Connect: %v error %v", name, connectors.KindOf(err), err)
			} else {
				t.Logf("%s: %v", name, err)
			}
		}
	})

	t.Run("UpsertInSeveralStatements", func(t *testing.T) {
		saved := maxParams
		maxParams = 7 // 3 rows of 2 columns per statement
		t.Cleanup(func() { maxParams = saved })
		dsn := pg.NewDatabase(t)
		s := newSink(t, map[string]any{"dsn": dsn, "table": "u", "mode": "upsert", "key_attribute": "k", "create_table": true})
		var batch []*client.Message
		for i := range 10 {
			batch = append(batch, msg(fmt.Sprintf(`{"i":%d}`, i), "k", fmt.Sprint(i%4)))
		}
		if err := s.Write(testCtx(t), batch); err != nil {
			t.Fatal(err)
		}
		wantRows(t, query(t, db(t, dsn), "SELECT key, payload->>'i' FROM u ORDER BY key"), "0|8", "1|9", "2|6", "3|7")
	})

	t.Run("LockTimeoutRetryable", func(t *testing.T) {
		dsn := pg.NewDatabase(t)
		s := newSink(t, map[string]any{"dsn": dsn, "table": "lk", "create_table": true})
		admin := db(t, dsn)
		tx, err := admin.Begin(testCtx(t))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tx.Exec(testCtx(t), "LOCK TABLE lk IN ACCESS EXCLUSIVE MODE"); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(testCtx(t), 300*time.Millisecond)
		defer cancel()
		wantKind(t, s.Write(ctx, []*client.Message{msg(`1`)}), connectors.KindRetryable)
		if err := tx.Commit(testCtx(t)); err != nil {
			t.Fatal(err)
		}
		if err := s.Write(testCtx(t), []*client.Message{msg(`2`)}); err != nil {
			t.Fatal(err)
		}
		wantRows(t, query(t, admin, "SELECT payload::text FROM lk"), "2")
	})

	t.Run("ClosedSink", func(t *testing.T) {
		s := newSink(t, map[string]any{"dsn": pg.NewDatabase(t), "table": "c", "create_table": true})
		if err := s.Close(testCtx(t)); err != nil {
			t.Fatal(err)
		}
		if err := s.Write(testCtx(t), []*client.Message{msg("{}")}); !errors.Is(err, ErrClosed) {
			t.Fatalf("Write after Close: %v", err)
		}
		if err := s.Health(testCtx(t)); !errors.Is(err, ErrClosed) {
			t.Fatalf("Health after Close: %v", err)
		}
	})
}

// TestConnectionLoss: terminated sessions and a stopped server are Retryable; the sink recovers.
func TestConnectionLoss(t *testing.T) {
	pg := testenv.NewPostgres(t)
	dsn := pg.ConnString()
	s := newSink(t, map[string]any{"dsn": dsn, "table": "l", "mode": "upsert", "key_attribute": "k", "create_table": true})
	ctx := testCtx(t)
	write := func(k string) error {
		return s.Write(ctx, []*client.Message{msg(`{"k":"`+k+`"}`, "k", k)})
	}
	if err := write("1"); err != nil {
		t.Fatal(err)
	}

	// An administrator terminates the sink's session.
	admin := db(t, dsn)
	terminate := func() {
		t.Helper()
		exec(t, admin, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'danube-console/pg-test'")
	}
	terminate()
	wantKind(t, write("2"), connectors.KindRetryable)
	if err := write("2"); err != nil { // the next Write reconnects
		t.Fatalf("after reconnect: %v", err)
	}
	terminate()
	if err := s.Health(ctx); err == nil {
		t.Fatal("Health passes on a terminated session")
	}
	if err := s.Connect(ctx); err != nil { // Connect after a failure reconnects
		t.Fatal(err)
	}
	if err := s.Health(ctx); err != nil {
		t.Fatalf("Health after reconnect: %v", err)
	}

	// The server goes away.
	admin.Close(ctx)
	pg.Stop(t)
	wantKind(t, write("3"), connectors.KindRetryable)
	wantKind(t, write("3"), connectors.KindRetryable)
	if err := s.Health(ctx); err == nil {
		t.Fatal("Health passes with the server stopped")
	}
	wantKind(t, s.Connect(ctx), connectors.KindRetryable)

	pg.Start(t)
	if err := write("3"); err != nil {
		t.Fatalf("after the server came back: %v", err)
	}
	if err := s.Health(ctx); err != nil {
		t.Fatalf("Health after restart: %v", err)
	}
	wantRows(t, query(t, db(t, dsn), "SELECT key FROM l ORDER BY key"), "1", "2", "3")
}

// TestClassify: the SQLSTATE decides the kind of a write error; errors without one are Retryable.
func TestClassify(t *testing.T) {
	for code, want := range map[string]connectors.Kind{
		"40001": connectors.KindRetryable, "40P01": connectors.KindRetryable, "57014": connectors.KindRetryable,
		"57P01": connectors.KindRetryable, "08006": connectors.KindRetryable, "53300": connectors.KindRetryable,
		"22P02": connectors.KindInvalidData, "23505": connectors.KindInvalidData, "23514": connectors.KindInvalidData,
		"42P01": connectors.KindFatal, "28P01": connectors.KindConfig, "3D000": connectors.KindConfig,
	} {
		if got := connectors.KindOf(classifyWrite(fmt.Errorf("w: %w", &pgconn.PgError{Code: code}))); got != want {
			t.Errorf("%s: %v, want %v", code, got, want)
		}
	}
	if got := connectors.KindOf(classifyWrite(context.DeadlineExceeded)); got != connectors.KindRetryable {
		t.Errorf("deadline: %v", got)
	}
}
