package postgres

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/danube-console/danube-console/client"
	"github.com/danube-console/danube-console/connectors"
)

// ErrClosed is returned by Connect, Write and Health after Close.
var ErrClosed = errors.New("postgres: sink closed")

// maxParams is PostgreSQL's limit of parameters in one statement (a variable for tests).
var maxParams = 65535

// Sink is the "postgres" sink. Its methods follow the connectors.Sink contract; Health may be called from
// any goroutine (it waits for a Write in progress).
type Sink struct {
	connCfg *pgx.ConnConfig
	table   pgx.Identifier
	mode    string
	format  string
	keyAttr string
	keyPath *jsonPath
	keyCol  string   // "" when the sink has no key
	cols    []column // key (if any), payload, then the extra columns by name
	create  bool
	log     *slog.Logger

	insertSQL string // one row: INSERT … VALUES ($1, …) [ON CONFLICT …]

	sem    chan struct{} // holds the connection: Connect, Write, Health and Close take it
	conn   *pgx.Conn
	closed bool
}

// New builds the sink from validated settings. Inconsistent settings — a DSN that does not parse, a bad
// table name or JSON path, upsert without a key, an unknown column source, a column used twice — are
// connectors.KindConfig errors naming the key. New does not connect.
func New(cfg connectors.Config, res connectors.Resources) (*Sink, error) {
	cfgErr := func(key string, err error) error {
		return configError(connectors.FieldError{Key: key, Err: err})
	}
	connCfg, err := pgx.ParseConfig(cfg.String(keyDSN))
	if err != nil {
		// pgconn redacts the password in its message.
		return nil, cfgErr(keyDSN, err)
	}
	if connCfg.ConnectTimeout == 0 {
		connCfg.ConnectTimeout = cfg.Duration(keyConnectTimeout)
	}
	if _, ok := connCfg.RuntimeParams["application_name"]; !ok && res.Name != "" {
		connCfg.RuntimeParams["application_name"] = "danube-console/" + res.Name
	}
	s := &Sink{
		connCfg: connCfg,
		mode:    cfg.String(keyMode),
		format:  cfg.String(keyPayloadFormat),
		keyAttr: cfg.String(keyKeyAttribute),
		create:  cfg.Bool(keyCreateTable),
		log:     res.Logger,
		sem:     make(chan struct{}, 1),
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.table, err = parseTable(cfg.String(keyTable)); err != nil {
		return nil, cfgErr(keyTable, err)
	}

	if p := cfg.String(keyKeyJSONPath); p != "" {
		if s.keyAttr != "" {
			return nil, cfgErr(keyKeyJSONPath, errors.New("give key_attribute or key_json_path, not both"))
		}
		jp, err := parseJSONPath(p)
		if err != nil {
			return nil, cfgErr(keyKeyJSONPath, err)
		}
		s.keyPath = &jp
	}
	hasKey := s.keyAttr != "" || s.keyPath != nil
	if s.mode == modeUpsert && !hasKey {
		return nil, cfgErr(keyMode, errors.New("upsert needs a key: set key_attribute or key_json_path"))
	}

	used := map[string]string{}
	addCol := func(c column, key string) error {
		if c.name == "" {
			return cfgErr(key, errors.New("empty column name"))
		}
		if other, dup := used[c.name]; dup {
			return cfgErr(key, fmt.Errorf("column %q is already used by %s", c.name, other))
		}
		used[c.name] = key
		s.cols = append(s.cols, c)
		return nil
	}
	if hasKey {
		s.keyCol = cfg.String(keyKeyColumn)
		if err := addCol(column{name: s.keyCol, src: srcKey}, keyKeyColumn); err != nil {
			return nil, err
		}
	}
	if err := addCol(column{name: cfg.String(keyPayloadColumn), src: srcPayload}, keyPayloadColumn); err != nil {
		return nil, err
	}
	extra := cfg.StringMap(keyColumns)
	for _, name := range slices.Sorted(maps.Keys(extra)) {
		src, attr, err := parseSource(extra[name])
		if err != nil {
			return nil, cfgErr(keyColumns+"."+name, err)
		}
		if err := addCol(column{name: name, src: src, attr: attr}, keyColumns+"."+name); err != nil {
			return nil, err
		}
	}
	s.insertSQL = s.insertStatement(1)
	return s, nil
}

// parseTable splits "schema.table" or "table" into an identifier.
func parseTable(s string) (pgx.Identifier, error) {
	parts := strings.Split(s, ".")
	if len(parts) > 2 {
		return nil, fmt.Errorf("%q: want table or schema.table", s)
	}
	for _, p := range parts {
		if p == "" || strings.TrimSpace(p) != p {
			return nil, fmt.Errorf("%q: want table or schema.table, without spaces around the names", s)
		}
	}
	return pgx.Identifier(parts), nil
}

// Connect opens the connection unless it is open, and checks the table (creating it when create_table is
// set). A missing table, missing columns, incompatible column types, a missing unique index for upsert, a
// database that does not exist and refused credentials are KindConfig errors; failures to reach the server
// are Retryable.
func (s *Sink) Connect(ctx context.Context) error {
	if err := s.lock(ctx); err != nil {
		return connectors.Retryable(err)
	}
	defer s.unlock()
	_, err := s.connLocked(ctx)
	return err
}

// connLocked returns the open connection, opening and checking one when there is none.
func (s *Sink) connLocked(ctx context.Context) (*pgx.Conn, error) {
	if s.closed {
		return nil, connectors.Fatal(ErrClosed)
	}
	if s.conn != nil && !s.conn.IsClosed() {
		return s.conn, nil
	}
	s.conn = nil
	conn, err := pgx.ConnectConfig(ctx, s.connCfg)
	if err != nil {
		return nil, classifyConnect(fmt.Errorf("postgres: connect: %w", err))
	}
	if err := s.prepareTable(ctx, conn); err != nil {
		closeConn(conn)
		return nil, err
	}
	s.conn = conn
	return conn, nil
}

// prepareTable creates the table when asked and checks its columns.
func (s *Sink) prepareTable(ctx context.Context, conn *pgx.Conn) error {
	tbl := s.table.Sanitize()
	if s.create {
		if _, err := conn.Exec(ctx, s.createStatement()); err != nil {
			return classifyConnect(fmt.Errorf("postgres: create table %s: %w", tbl, err))
		}
	}
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT to_regclass($1) IS NOT NULL", tbl).Scan(&exists); err != nil {
		return classifyConnect(fmt.Errorf("postgres: look up table %s: %w", tbl, err))
	}
	if !exists {
		return configError(connectors.FieldError{Key: keyTable,
			Err: fmt.Errorf("table %s does not exist (create it, or set create_table = true)", tbl)})
	}
	rows, err := conn.Query(ctx, `
		SELECT a.attname, CASE WHEN t.typtype = 'd' THEN bt.typname ELSE t.typname END
		FROM pg_attribute a
		JOIN pg_type t ON t.oid = a.atttypid
		LEFT JOIN pg_type bt ON bt.oid = t.typbasetype
		WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND NOT a.attisdropped`, tbl)
	if err != nil {
		return classifyConnect(fmt.Errorf("postgres: read columns of %s: %w", tbl, err))
	}
	types := map[string]string{}
	for rows.Next() {
		var name, typ string
		if err := rows.Scan(&name, &typ); err != nil {
			rows.Close()
			return classifyConnect(err)
		}
		types[name] = typ
	}
	if err := rows.Err(); err != nil {
		return classifyConnect(fmt.Errorf("postgres: read columns of %s: %w", tbl, err))
	}
	var problems []string
	for _, c := range s.cols {
		typ, ok := types[c.name]
		accepted, _ := c.types(s.format)
		switch {
		case !ok:
			problems = append(problems, fmt.Sprintf("has no column %q", c.name))
		case !slices.Contains(accepted, typ):
			problems = append(problems, fmt.Sprintf("column %q is %s, which cannot hold %s (want %s)",
				c.name, typ, c.describe(s.format), strings.Join(accepted, ", ")))
		}
	}
	if len(problems) > 0 {
		return configError(connectors.FieldError{Key: keyTable,
			Err: fmt.Errorf("table %s %s", tbl, strings.Join(problems, "; "))})
	}
	if s.mode == modeUpsert {
		var unique bool
		err := conn.QueryRow(ctx, `
			SELECT EXISTS (
				SELECT 1 FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
				WHERE i.indrelid = $1::regclass AND i.indisunique AND i.indnkeyatts = 1
					AND i.indpred IS NULL AND i.indexprs IS NULL AND a.attname = $2)`, tbl, s.keyCol).Scan(&unique)
		if err != nil {
			return classifyConnect(fmt.Errorf("postgres: read indexes of %s: %w", tbl, err))
		}
		if !unique {
			return configError(connectors.FieldError{Key: keyKeyColumn,
				Err: fmt.Errorf("upsert needs a unique index or primary key on %s(%s)", tbl, pgx.Identifier{s.keyCol}.Sanitize())})
		}
	}
	return nil
}

// describe names what a column holds, for error messages.
func (c column) describe(format string) string {
	switch c.src {
	case srcPayload:
		return format + " payloads"
	case srcKey:
		return "the key"
	case srcAttr:
		return "attribute " + c.attr
	case srcTopic:
		return "the topic"
	case srcOffset:
		return "the offset"
	case srcPublishTime:
		return "the publish time"
	case srcRoutingKey:
		return "the routing key"
	}
	return "the producer name"
}

// createStatement is the CREATE TABLE IF NOT EXISTS for create_table.
func (s *Sink) createStatement() string {
	defs := make([]string, len(s.cols))
	for i, c := range s.cols {
		_, typ := c.types(s.format)
		def := pgx.Identifier{c.name}.Sanitize() + " " + typ
		switch {
		case c.src == srcKey && s.mode == modeUpsert:
			def += " PRIMARY KEY"
		case c.src == srcPayload || c.src == srcKey:
			def += " NOT NULL"
		}
		defs[i] = def
	}
	return fmt.Sprintf("CREATE TABLE IF NOT EXISTS %s (%s)", s.table.Sanitize(), strings.Join(defs, ", "))
}

// insertStatement is an INSERT of n rows, with the upsert clause in upsert mode.
func (s *Sink) insertStatement(n int) string {
	var b strings.Builder
	names := make([]string, len(s.cols))
	for i, c := range s.cols {
		names[i] = pgx.Identifier{c.name}.Sanitize()
	}
	fmt.Fprintf(&b, "INSERT INTO %s (%s) VALUES ", s.table.Sanitize(), strings.Join(names, ", "))
	p := 1
	for r := range n {
		if r > 0 {
			b.WriteString(", ")
		}
		b.WriteByte('(')
		for j := range s.cols {
			if j > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "$%d", p)
			p++
		}
		b.WriteByte(')')
	}
	if s.mode == modeUpsert {
		var sets []string
		for i, c := range s.cols {
			if c.src != srcKey {
				sets = append(sets, names[i]+" = EXCLUDED."+names[i])
			}
		}
		fmt.Fprintf(&b, " ON CONFLICT (%s) DO UPDATE SET %s", pgx.Identifier{s.keyCol}.Sanitize(), strings.Join(sets, ", "))
	}
	return b.String()
}

// Write writes the batch in one transaction and returns after the commit. Messages that cannot be turned
// into rows, and rows the database rejects for their data, are reported as InvalidData in a
// *connectors.BatchError while the others are committed; a failure of the connection or transaction is
// returned for the whole batch (Retryable), or, next to invalid messages, as Retryable entries of the
// BatchError.
func (s *Sink) Write(ctx context.Context, batch []*client.Message) error {
	if len(batch) == 0 {
		return nil
	}
	berr := &connectors.BatchError{}
	rows := make([]row, 0, len(batch))
	for i, msg := range batch {
		r, err := s.makeRow(i, msg)
		if err != nil {
			berr.Fail(i, connectors.InvalidData(fmt.Errorf("postgres: %w", err)))
			continue
		}
		rows = append(rows, r)
	}
	if len(rows) > 0 {
		if err := s.writeRows(ctx, rows, berr); err != nil {
			if len(berr.Failed) == 0 {
				return err
			}
			for _, r := range rows {
				berr.Fail(r.idx, err)
			}
		}
	}
	if len(berr.Failed) > 0 {
		return berr
	}
	return nil
}

// writeRows writes rows in one transaction, falling back to row by row when the data of some rows is
// refused (those go into berr). The error is for all the rows.
func (s *Sink) writeRows(ctx context.Context, rows []row, berr *connectors.BatchError) error {
	if err := s.lock(ctx); err != nil {
		return connectors.Retryable(err)
	}
	defer s.unlock()
	conn, err := s.connLocked(ctx)
	if err != nil {
		return err
	}
	err = s.writeBatch(ctx, conn, rows)
	if err == nil {
		return nil
	}
	if !isDataError(err) {
		return s.failed(conn, err)
	}
	s.log.Warn("postgres: batch refused for its data; writing it row by row", "rows", len(rows), "error", err)
	failed, err := s.writeEach(ctx, conn, rows)
	if err != nil {
		return s.failed(conn, err)
	}
	for i, ferr := range failed {
		berr.Fail(i, ferr)
	}
	return nil
}

// failed classifies a write error and drops the connection unless the server answered (so that the next
// Write reconnects).
func (s *Sink) failed(conn *pgx.Conn, err error) error {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || conn.IsClosed() {
		closeConn(conn)
		s.conn = nil
	}
	return classifyWrite(err)
}

// writeBatch writes all rows in one transaction: COPY in insert mode, multi-row INSERT … ON CONFLICT in
// upsert mode (keeping the last row of each key, as applying them in order would).
func (s *Sink) writeBatch(ctx context.Context, conn *pgx.Conn, rows []row) error {
	return pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		if s.mode == modeInsert {
			names := make([]string, len(s.cols))
			for i, c := range s.cols {
				names[i] = c.name
			}
			vals := make([][]any, len(rows))
			for i, r := range rows {
				vals[i] = r.vals
			}
			_, err := tx.CopyFrom(ctx, s.table, names, pgx.CopyFromRows(vals))
			return err
		}
		last := make(map[string]int, len(rows))
		for i, r := range rows {
			last[r.key] = i
		}
		var params []any
		n := 0
		perStmt := maxParams / len(s.cols)
		flush := func() error {
			if n == 0 {
				return nil
			}
			_, err := tx.Exec(ctx, s.insertStatement(n), params...)
			params, n = params[:0], 0
			return err
		}
		for i, r := range rows {
			if last[r.key] != i {
				continue // a later row of the batch replaces it
			}
			params = append(params, r.vals...)
			if n++; n == perStmt {
				if err := flush(); err != nil {
					return err
				}
			}
		}
		return flush()
	})
}

// writeEach writes the rows one by one in one transaction, each under a savepoint, and returns the rows
// the database refused for their data (by batch index). An error of another kind aborts it all.
func (s *Sink) writeEach(ctx context.Context, conn *pgx.Conn, rows []row) (map[int]error, error) {
	failed := map[int]error{}
	err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		for _, r := range rows {
			if _, err := tx.Exec(ctx, "SAVEPOINT danube_row"); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, s.insertSQL, r.vals...); err != nil {
				if !isDataError(err) {
					return err
				}
				failed[r.idx] = connectors.InvalidData(fmt.Errorf("postgres: %w", err))
				if _, err := tx.Exec(ctx, "ROLLBACK TO SAVEPOINT danube_row"); err != nil {
					return err
				}
				continue
			}
			if _, err := tx.Exec(ctx, "RELEASE SAVEPOINT danube_row"); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return failed, nil
}

// Health pings the server, reconnecting first when the connection was lost (so that an idle sink's health
// follows the server's).
func (s *Sink) Health(ctx context.Context) error {
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.unlock()
	if s.closed {
		return ErrClosed
	}
	conn, err := s.connLocked(ctx)
	if err != nil {
		return err
	}
	if err := conn.Ping(ctx); err != nil {
		s.failed(conn, err)
		return fmt.Errorf("postgres: ping: %w", err)
	}
	return nil
}

// Close closes the connection. Later calls of Connect and Write fail with ErrClosed.
func (s *Sink) Close(ctx context.Context) error {
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.unlock()
	s.closed = true
	if s.conn != nil {
		err := s.conn.Close(ctx)
		s.conn = nil
		return err
	}
	return nil
}

func (s *Sink) lock(ctx context.Context) error {
	select {
	case s.sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *Sink) unlock() { <-s.sem }

// closeConn closes a connection that may be broken, without waiting long.
func closeConn(conn *pgx.Conn) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_ = conn.Close(ctx)
}

// isDataError reports whether err is the server refusing a row's data: SQLSTATE class 22 (data
// exception) or 23 (integrity constraint violation).
func isDataError(err error) bool {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || len(pgErr.Code) != 5 {
		return false
	}
	class := pgErr.Code[:2]
	return class == "22" || class == "23"
}

// classifyWrite gives a write error its kind: data errors are InvalidData, errors about the table or
// columns (class 42, e.g. a dropped table) Fatal, refused credentials or a missing database Config, and
// everything else — connection loss, serialization failures (40001), deadlocks (40P01), timeouts and
// cancellations (57014), server shutdown (57P01) — Retryable.
func classifyWrite(err error) error {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && len(pgErr.Code) == 5 {
		switch pgErr.Code[:2] {
		case "22", "23":
			return connectors.InvalidData(err)
		case "42":
			return connectors.Fatal(err)
		case "28", "3D":
			return configError(err)
		}
	}
	return connectors.Retryable(err)
}

// classifyConnect gives an error of connecting or checking the table its kind: refused credentials (28),
// a missing database (3D) or schema (3F) and errors about the table (42) are Config; the rest Retryable.
func classifyConnect(err error) error {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && len(pgErr.Code) == 5 {
		switch pgErr.Code[:2] {
		case "28", "3D", "3F", "42":
			return configError(err)
		}
	}
	return connectors.Retryable(err)
}

// configError marks err as a configuration mistake.
func configError(err error) error { return connectors.ConfigError(err) }
