package client

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/danube-console/danube-console/broker"
	"github.com/danube-console/danube-console/broker/brokertest"
)

// Ping succeeds while the broker answers, even for a topic that does not exist and with no producer or
// consumer open, and fails once it stopped; a closed client says so. A JWT broker refusing the missing
// token still answers.
func TestPing(t *testing.T) {
	ctx := prodTestCtx(t)
	srv := brokertest.Run(t, broker.Options{})
	c := prodTestClient(t, srv)
	if rtt, err := c.Ping(ctx); err != nil || rtt <= 0 {
		t.Fatalf("Ping = %v, %v", rtt, err)
	}
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if _, err := c.Ping(pctx); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Ping of a stopped broker = %v, want ErrUnavailable", err)
	}
	c.Close()
	if _, err := c.Ping(ctx); !errors.Is(err, ErrClosed) {
		t.Errorf("Ping after Close = %v, want ErrClosed", err)
	}

	// A gRPC server that is not a Danube broker's client port (here an admin port) does not count.
	other := brokertest.Run(t, broker.Options{})
	adminPort, err := Connect(context.Background(), other.AdminURL())
	if err != nil {
		t.Fatal(err)
	}
	defer adminPort.Close()
	if _, err := adminPort.Ping(ctx); !errors.Is(err, ErrUnavailable) {
		t.Errorf("Ping of an admin port = %v, want ErrUnavailable", err)
	}

	secured := brokertest.Run(t, broker.Options{JWTSecret: []byte("s3cret")})
	if _, err := prodTestClient(t, secured).Ping(ctx); err != nil {
		t.Errorf("Ping of a broker refusing the token: %v, want nil (it answered)", err)
	}
}
