package client

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests when any goroutine outlives them: producers, consumers, health checks
// and connections must all end with Close.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
