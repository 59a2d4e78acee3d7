// Package brokertest starts embedded brokers for other packages' tests and gives them raw gRPC clients of the
// Danube wire API, so that tests exercise the broker exactly as a Danube client does: over real gRPC on a
// loopback port.
package brokertest

import (
	"context"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/danube-console/danube-console/broker"
	"github.com/danube-console/danube-console/proto/danubepb"
	"github.com/danube-console/danube-console/proto/schemapb"
)

// Run starts a broker with opts on a random loopback port (unless opts.Port is set) and shuts it down when
// the test ends. It fails the test if the broker is not accepting connections within 5 seconds.
func Run(t testing.TB, opts broker.Options) *broker.Server {
	t.Helper()
	srv, err := broker.New(opts)
	if err != nil {
		t.Fatalf("broker.New: %v", err)
	}
	if err := srv.Start(); err != nil {
		t.Fatalf("broker.Start: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("broker.Shutdown: %v", err)
		}
	})
	if !srv.ReadyForConnections(5 * time.Second) {
		t.Fatalf("broker not ready on %v", srv.Addr())
	}
	return srv
}

// Clients are raw gRPC clients of every service on a broker's client port.
type Clients struct {
	Conn      *grpc.ClientConn
	Producer  danubepb.ProducerServiceClient
	Consumer  danubepb.ConsumerServiceClient
	Discovery danubepb.DiscoveryClient
	Health    danubepb.HealthCheckClient
	Schema    schemapb.SchemaRegistryClient
}

// Dial connects to srv's client port; the connection is closed when the test ends.
func Dial(t testing.TB, srv *broker.Server) Clients {
	t.Helper()
	conn, err := grpc.NewClient(srv.Addr().String(),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(64<<20)))
	if err != nil {
		t.Fatalf("grpc.NewClient: %v", err)
	}
	t.Cleanup(func() { conn.Close() })
	return Clients{
		Conn:      conn,
		Producer:  danubepb.NewProducerServiceClient(conn),
		Consumer:  danubepb.NewConsumerServiceClient(conn),
		Discovery: danubepb.NewDiscoveryClient(conn),
		Health:    danubepb.NewHealthCheckClient(conn),
		Schema:    schemapb.NewSchemaRegistryClient(conn),
	}
}
