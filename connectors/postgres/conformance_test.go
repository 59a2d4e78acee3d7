package postgres

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/danube-console/danube-console/connectors/connectortest"
	"github.com/danube-console/danube-console/internal/testenv"
)

// TestConformance runs the runtime's conformance suite on the sink, with a PostgreSQL server of its own
// that FailureRecovery stops and starts again.
func TestConformance(t *testing.T) {
	pg := testenv.NewPostgres(t)
	connectortest.Conformance(t, connectortest.Harness{
		Kind: Kind,
		Settings: func(f *connectortest.Fixture) map[string]any {
			dsn := pg.NewDatabase(f.TB)
			f.State = dsn
			return map[string]any{"dsn": dsn, "table": "delivered", "create_table": true, "payload_format": "text",
				"connect_timeout": "2s"}
		},
		Delivered: func(f *connectortest.Fixture) ([]string, error) {
			dsn := f.State.(string)
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			conn, err := pgx.Connect(ctx, dsn)
			if err != nil {
				return nil, err
			}
			defer conn.Close(context.Background())
			rows, err := conn.Query(ctx, "SELECT payload FROM delivered")
			if err != nil {
				return nil, err
			}
			return pgx.CollectRows(rows, pgx.RowTo[string])
		},
		Break: func(f *connectortest.Fixture) (func(), error) {
			pg.Stop(f.TB)
			return func() { pg.Start(f.TB) }, nil
		},
	})
}
