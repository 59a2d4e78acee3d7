package xtime_test

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/danube-console/danube-console/internal/xtime"
)

func TestSleepWaitsTheDuration(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		if err := xtime.Sleep(t.Context(), 3*time.Second); err != nil {
			t.Fatalf("Sleep = %v, want nil", err)
		}
		if got := time.Since(start); got != 3*time.Second {
			t.Errorf("slept %v, want 3s", got)
		}
	})
}

func TestSleepEndsWithTheContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		start := time.Now()
		if err := xtime.Sleep(ctx, time.Hour); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Sleep = %v, want context.DeadlineExceeded", err)
		}
		if got := time.Since(start); got != time.Second {
			t.Errorf("returned after %v, want 1s (the context's deadline)", got)
		}
	})
}

func TestSleepCanceled(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		go func() {
			time.Sleep(time.Minute)
			cancel()
		}()
		if err := xtime.Sleep(ctx, time.Hour); !errors.Is(err, context.Canceled) {
			t.Fatalf("Sleep = %v, want context.Canceled", err)
		}
	})
}

func TestSleepNonPositive(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		for _, d := range []time.Duration{0, -time.Second} {
			if err := xtime.Sleep(t.Context(), d); err != nil {
				t.Errorf("Sleep(%v) = %v, want nil", d, err)
			}
		}
		if time.Since(start) != 0 {
			t.Errorf("Sleep with d <= 0 waited %v", time.Since(start))
		}
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		if err := xtime.Sleep(ctx, 0); !errors.Is(err, context.Canceled) {
			t.Errorf("Sleep(ended ctx, 0) = %v, want context.Canceled", err)
		}
	})
}

func TestSleepEndedContextWins(t *testing.T) {
	// A context that has already ended is reported even for a positive d, without waiting.
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		start := time.Now()
		if err := xtime.Sleep(ctx, time.Hour); !errors.Is(err, context.Canceled) {
			t.Errorf("Sleep = %v, want context.Canceled", err)
		}
		if time.Since(start) != 0 {
			t.Errorf("waited %v on an ended context", time.Since(start))
		}
	})
}
