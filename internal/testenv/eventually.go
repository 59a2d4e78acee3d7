package testenv

import (
	"runtime"
	"strings"
	"testing"
	"time"
)

// Eventually polls cond every 5 ms until it returns true, and fails the test with msg (formatted with args)
// when it is still false after timeout. It is the project's one way for a test to wait for an event: the
// timeout is a generous bound for a loaded machine under -race, never a measurement, and it is not a
// substitute for waiting on a channel when the code under test offers one.
func Eventually(t testing.TB, timeout time.Duration, cond func() bool, msg string, args ...any) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v: "+msg, append([]any{timeout}, args...)...)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// GoroutinesIn counts the frames of function fn (e.g. "client.(*partProducer).recreate(") in the stacks of
// every goroutine: with Eventually, a test waits for goroutines to reach a call that has no other
// observable sign, such as a Read blocked on an empty file.
func GoroutinesIn(fn string) int {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			return strings.Count(string(buf[:n]), fn)
		}
		buf = make([]byte, 2*len(buf))
	}
}
