package client

import (
	"context"
	"errors"
	"math/rand/v2"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/danube-console/danube-console/internal/xtime"
)

// RetryPolicy bounds how calls are retried. Only Unavailable, DeadlineExceeded (when the caller's context is
// still alive) and ResourceExhausted are retried; every other answer is final.
type RetryPolicy struct {
	// MaxRetries is how many times a call is retried after its first attempt (default 5; negative: never).
	MaxRetries int
	// BaseBackoff is the wait before the first retry (default 200 ms); it doubles with each retry.
	BaseBackoff time.Duration
	// MaxBackoff caps the wait (default 5 s). Each wait is drawn uniformly from [d/2, d].
	MaxBackoff time.Duration
}

// DefaultRetryPolicy returns the official clients' bounds: 5 retries, 200 ms to 5 s.
func DefaultRetryPolicy() RetryPolicy {
	return RetryPolicy{MaxRetries: 5, BaseBackoff: 200 * time.Millisecond, MaxBackoff: 5 * time.Second}
}

func (p RetryPolicy) withDefaults() RetryPolicy {
	d := DefaultRetryPolicy()
	if p.MaxRetries == 0 {
		p.MaxRetries = d.MaxRetries
	}
	if p.MaxRetries < 0 {
		p.MaxRetries = 0
	}
	if p.BaseBackoff <= 0 {
		p.BaseBackoff = d.BaseBackoff
	}
	if p.MaxBackoff <= 0 {
		p.MaxBackoff = d.MaxBackoff
	}
	p.MaxBackoff = max(p.MaxBackoff, p.BaseBackoff)
	return p
}

// Backoff returns the wait before retry number attempt (0 for the first retry): BaseBackoff·2^attempt capped
// at MaxBackoff, jittered into its upper half. It never overflows, whatever MaxBackoff is, and is 0 for a
// policy whose backoffs are not positive.
func (p RetryPolicy) Backoff(attempt int) time.Duration {
	d := p.BaseBackoff
	for range min(attempt, 63) {
		if d > p.MaxBackoff/2 { // doubling would pass MaxBackoff (and might overflow)
			d = p.MaxBackoff
			break
		}
		d *= 2
	}
	d = min(d, p.MaxBackoff)
	if d <= 0 {
		return 0
	}
	return d/2 + rand.N(d-d/2+1)
}

// retryable reports whether err is worth another attempt while ctx is alive: Unavailable (except the real
// broker's answer for a missing namespace), ResourceExhausted (except a size limit) and DeadlineExceeded.
func retryable(ctx context.Context, err error) bool {
	if err == nil || ctx.Err() != nil || errors.Is(err, ErrClosed) {
		return false
	}
	switch status.Code(err) {
	case codes.Unavailable:
		// The real broker answers a missing namespace with Unavailable; retrying cannot create it. A TLS
		// handshake that fails on the certificate cannot succeed on a retry either.
		msg := err.Error()
		return !errors.Is(err, ErrNamespaceNotFound) && !strings.Contains(msg, "Unable to find the namespace") &&
			!strings.Contains(msg, "tls: failed to verify certificate") && !strings.Contains(msg, "x509: ")
	case codes.ResourceExhausted:
		// gRPC answers an oversized message with ResourceExhausted; sending it again cannot help.
		return !isSizeLimit(err)
	case codes.DeadlineExceeded:
		return true
	}
	return false
}

// isSizeLimit reports a size-limit error, which is final even when gRPC answers ResourceExhausted.
func isSizeLimit(err error) bool {
	st, ok := status.FromError(err)
	if !ok {
		return false
	}
	return (&APIError{Code: st.Code(), Message: st.Message()}).Is(ErrMessageTooLarge)
}

// retry runs attempt until it succeeds, fails with a final error, or the policy's retries are used up.
// before, when set, runs before each retry (e.g. a new lookup). The last error is returned; when the retries
// ran out on a retryable error, it also matches ErrUnavailable, and when ctx ended, ctx's error.
func (p RetryPolicy) retry(ctx context.Context, attempt func(ctx context.Context) error, before func(ctx context.Context)) error {
	var err error
	for i := 0; ; i++ {
		if err = attempt(ctx); err == nil || !retryable(ctx, err) {
			return withCtxErr(ctx, err)
		}
		if i >= p.MaxRetries {
			break
		}
		if serr := xtime.Sleep(ctx, p.Backoff(i)); serr != nil {
			return errors.Join(err, serr)
		}
		if before != nil {
			before(ctx)
		}
	}
	if !errors.Is(err, ErrUnavailable) {
		err = errors.Join(err, ErrUnavailable)
	}
	return err
}
