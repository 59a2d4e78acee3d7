package generator

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/danube-console/danube-console/connectors"
	"github.com/danube-console/danube-console/connectors/payload"
	"github.com/danube-console/danube-console/internal/xtime"
)

// ErrClosed is returned by Connect and Read after Close.
var ErrClosed = errors.New("generator: closed")

// Source is the generator source. Its methods follow the connectors.Source contract; Acked, Failed and
// Generated may be called from any goroutine.
type Source struct {
	rate      float64
	count     int64
	duration  time.Duration
	size      int
	tmpl      *payload.Template
	keys      int64
	keyPrefix string
	random    bool
	attrs     map[string]string
	batch     int

	now func() time.Time
	log *slog.Logger

	mu      sync.Mutex // guards the fields below; Read is called from one goroutine, Close from another
	limiter *rate.Limiter
	end     time.Time // zero: no duration limit
	started bool
	closed  bool
	seq     int64 // next sequence number

	generated atomic.Int64
	acked     atomic.Int64
	failed    atomic.Int64
}

// New builds a generator from validated settings. Inconsistent settings (template and payload_size both
// set, a template that does not parse or cannot render) are connectors.KindConfig errors naming the key.
func New(cfg connectors.Config, res connectors.Resources) (*Source, error) {
	s := &Source{
		rate:      cfg.Float(keyRate),
		count:     cfg.Int(keyCount),
		duration:  cfg.Duration(keyDuration),
		size:      int(cfg.Int(keyPayloadSize)),
		keys:      cfg.Int(keyKeyCardinality),
		keyPrefix: cfg.String(keyKeyPrefix),
		random:    cfg.String(keyKeyOrder) == orderRandom,
		attrs:     cfg.StringMap(keyAttributes),
		batch:     int(cfg.Int(keyBatchSize)),
		now:       res.Now,
		log:       res.Logger,
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.batch < 1 {
		s.batch = 1
	}
	switch {
	case cfg.Has(keyTemplate) && cfg.Has(keyPayloadSize):
		return nil, connectors.ConfigError(connectors.FieldError{Key: keyTemplate, Err: errors.New("give template or payload_size, not both")})
	case cfg.Has(keyTemplate):
		t, err := payload.Parse(cfg.String(keyTemplate), s.now)
		if err != nil {
			// text/template's errors start with "template: ", which the key already says.
			err = errors.New(strings.TrimPrefix(err.Error(), "template: "))
			return nil, connectors.ConfigError(connectors.FieldError{Key: keyTemplate, Err: err})
		}
		s.tmpl = t
	case s.size == 0:
		t, err := payload.Parse(payload.Default, s.now)
		if err != nil {
			panic(err) // the built-in template parses
		}
		s.tmpl = t
	}
	if s.duration < 0 {
		return nil, connectors.ConfigError(connectors.FieldError{Key: keyDuration, Err: errors.New("must not be negative")})
	}
	return s, nil
}

// Connect starts the clock of duration and the rate limiter on the first call; later calls (after a failure)
// change nothing, so count and duration hold over the source's whole life. Pacing and duration use the real
// clock; Resources.Now only gives the times the templates render.
func (s *Source) Connect(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	if s.started {
		return nil
	}
	s.started = true
	if s.duration > 0 {
		s.end = time.Now().Add(s.duration)
	}
	if s.rate > 0 {
		s.limiter = rate.NewLimiter(rate.Limit(s.rate), s.batch)
	}
	return nil
}

// Read returns the next batch_size records (fewer at the end of count), waiting as the rate requires. It
// returns connectors.ErrEndOfInput once count records were generated or duration has passed (waiting for
// the end of duration when the rate allows no more records before it), ctx's error as soon as ctx is
// cancelled, and ErrClosed after Close.
func (s *Source) Read(ctx context.Context) ([]connectors.Record, connectors.AckFunc, error) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, nil, ErrClosed
	}
	if !s.started {
		s.mu.Unlock()
		if err := s.Connect(ctx); err != nil {
			return nil, nil, err
		}
		s.mu.Lock()
	}
	n := s.batch
	if s.count > 0 {
		left := s.count - s.seq
		if left <= 0 {
			s.mu.Unlock()
			return nil, nil, connectors.ErrEndOfInput
		}
		n = int(min(int64(n), left))
	}
	limiter, end := s.limiter, s.end
	s.mu.Unlock()

	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	if err := s.pace(ctx, limiter, end, n); err != nil {
		return nil, nil, err
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, nil, ErrClosed
	}
	recs := make([]connectors.Record, n)
	for i := range recs {
		r, err := s.next()
		if err != nil {
			return nil, nil, err
		}
		recs[i] = r
	}
	s.generated.Add(int64(n))
	return recs, s.ackFunc(n), nil
}

// pace waits until the rate allows n more records, returning ErrEndOfInput when duration ends first.
func (s *Source) pace(ctx context.Context, limiter *rate.Limiter, end time.Time, n int) error {
	now := time.Now() // pacing runs on real timers, whatever clock the records' times come from
	if !end.IsZero() && !now.Before(end) {
		return connectors.ErrEndOfInput
	}
	if limiter == nil {
		return nil
	}
	r := limiter.ReserveN(now, n)
	if !r.OK() { // n above the burst: cannot happen, the burst is batch_size
		return fmt.Errorf("generator: cannot reserve %d records", n)
	}
	wait := r.DelayFrom(now)
	endOfInput := false
	if !end.IsZero() && now.Add(wait).After(end) {
		r.CancelAt(now)
		wait, endOfInput = end.Sub(now), true
	}
	if err := xtime.Sleep(ctx, wait); err != nil {
		if !endOfInput {
			r.Cancel()
		}
		return err
	}
	if endOfInput {
		return connectors.ErrEndOfInput
	}
	return nil
}

// next generates one record; s.mu is held.
func (s *Source) next() (connectors.Record, error) {
	seq := s.seq
	var r connectors.Record
	if s.tmpl != nil {
		b, err := s.tmpl.Render(seq)
		if err != nil {
			return r, connectors.InvalidData(fmt.Errorf("generator: rendering record %d: %w", seq, err))
		}
		r.Payload = b
	} else {
		r.Payload = randomText(s.size)
	}
	if s.keys > 0 {
		k := seq % s.keys
		if s.random {
			k = rand.Int64N(s.keys)
		}
		r.Key, r.HasKey = s.keyPrefix+strconv.FormatInt(k, 10), true
	}
	if len(s.attrs) > 0 {
		r.Attributes = maps.Clone(s.attrs)
	}
	s.seq++
	return r, nil
}

const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// randomText returns n random letters and digits.
func randomText(n int) []byte {
	b := make([]byte, n)
	for i := 0; i < n; {
		x := rand.Uint64()
		for j := 0; j < 10 && i < n; j++ { // 10 draws of 6 bits from 64
			b[i] = alphabet[int(x&63)%len(alphabet)]
			x >>= 6
			i++
		}
	}
	return b
}

// ackFunc counts a batch of n records as acked or failed when it is settled; settling twice counts once.
func (s *Source) ackFunc(n int) connectors.AckFunc {
	var once sync.Once
	return func(_ context.Context, err error) error {
		once.Do(func() {
			if err == nil {
				s.acked.Add(int64(n))
			} else {
				s.failed.Add(int64(n))
			}
		})
		return nil
	}
}

// Close ends the source: later Connect and Read calls return ErrClosed. It never fails.
func (s *Source) Close(context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	return nil
}

// Generated returns the number of records Read returned.
func (s *Source) Generated() int64 { return s.generated.Load() }

// Acked returns the number of records whose batch was settled with a nil error (Danube acknowledged them).
func (s *Source) Acked() int64 { return s.acked.Load() }

// Failed returns the number of records whose batch was settled with an error.
func (s *Source) Failed() int64 { return s.failed.Load() }
