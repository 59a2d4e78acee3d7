// Package xtime holds the time helpers that the standard library lacks and
// that several packages would otherwise write by hand.
package xtime

import (
	"context"
	"time"
)

// Sleep waits for d to pass or for ctx to end, whichever comes first. It
// returns nil when d has passed and ctx.Err() when ctx ended first; with d <= 0
// it does not wait and returns ctx.Err(). Its timer is released on return.
func Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
