package broker_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails a run whose tests passed but left goroutines behind: dispatchers, stream senders, janitors,
// gRPC transports or the tests' own stream readers that outlive the test that started them. Nothing is
// ignored: the tests close every connection, stream and broker they open.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
