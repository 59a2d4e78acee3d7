// Package brokertest starts embedded brokers for other packages' tests and gives them raw gRPC clients of the
// Danube wire API, so that tests exercise the broker exactly as a Danube client does: over real gRPC on a
// loopback port.
package brokertest

import (
	"context"
	"errors"
	"strconv"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/danube-console/danube-console/broker"
	"github.com/danube-console/danube-console/internal/testenv"
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

// Group starts n brokers on loopback ports, each naming every other one as a peer and serving its metrics
// on a free port, with hook (nil: none) changing broker i's options before it starts; they are shut down
// when the test ends (a test may shut one down earlier: Shutdown twice is harmless). When another process
// takes one of the chosen ports before its broker listens, it starts the group again on other ports.
func Group(t testing.TB, n int, hook func(i int, o *broker.Options)) []*broker.Server {
	t.Helper()
	for attempt := 0; ; attempt++ {
		ports := make([]int, n)
		for i := range ports {
			ports[i] = testenv.FreePort(t)
		}
		var srvs []*broker.Server
		var err error
		for i := range n {
			var peers []string
			for j, p := range ports {
				if j != i {
					peers = append(peers, "http://127.0.0.1:"+strconv.Itoa(p))
				}
			}
			o := broker.Options{Port: ports[i], MetricsAddr: "127.0.0.1:0", Peers: peers}
			if hook != nil {
				hook(i, &o)
			}
			srv, nerr := broker.New(o)
			if nerr != nil {
				t.Fatalf("broker.New: %v", nerr)
			}
			if err = srv.Start(); err != nil {
				break
			}
			srvs = append(srvs, srv)
		}
		t.Cleanup(func() {
			for _, s := range srvs {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				if err := s.Shutdown(ctx); err != nil {
					t.Errorf("Shutdown: %v", err)
				}
				cancel()
			}
		})
		if err == nil {
			return srvs
		}
		if !errors.Is(err, broker.ErrListen) || attempt >= 3 {
			t.Fatalf("Start: %v", err)
		}
	}
}
