package generator_test

import (
	"context"
	"encoding/json"
	"errors"
	"regexp"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"go.uber.org/goleak"

	"github.com/danube-console/danube-console/connectors"
	"github.com/danube-console/danube-console/connectors/generator"
)

// TestMain fails the package when a goroutine outlives its tests.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// newSource parses raw settings with the registered spec and builds a connected generator.
func newSource(t *testing.T, raw map[string]any, now func() time.Time) *generator.Source {
	t.Helper()
	cfg, errs := generator.Spec().Parse(raw, noEnv)
	if len(errs) > 0 {
		t.Fatalf("Parse(%v): %v", raw, errs)
	}
	s, err := generator.New(cfg, connectors.Resources{Name: t.Name(), Now: now})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if err := s.Connect(context.Background()); err != nil {
		t.Fatalf("Connect: %v", err)
	}
	t.Cleanup(func() { s.Close(context.Background()) })
	return s
}

func noEnv(string) (string, bool) { return "", false }

// drain reads until ErrEndOfInput, acking every batch, and returns the records.
func drain(t *testing.T, s *generator.Source) []connectors.Record {
	t.Helper()
	ctx := context.Background()
	var out []connectors.Record
	for {
		recs, ack, err := s.Read(ctx)
		if errors.Is(err, connectors.ErrEndOfInput) {
			return out
		}
		if err != nil {
			t.Fatalf("Read: %v", err)
		}
		if len(recs) == 0 {
			t.Fatal("Read returned no records and no error")
		}
		if err := ack(ctx, nil); err != nil {
			t.Fatalf("ack: %v", err)
		}
		out = append(out, recs...)
	}
}

// The pacing only waits on timers, so the rate tests run in a synctest bubble: its clock is fake and moves
// only when every goroutine waits, which makes the measured times exact whatever the machine's load.

func TestRateIsRespected(t *testing.T) {
	for _, tc := range []struct {
		rate  float64
		count int64
		batch int64
	}{
		{rate: 200, count: 100, batch: 1},
		{rate: 2000, count: 1000, batch: 20},
	} {
		synctest.Test(t, func(t *testing.T) {
			s := newSource(t, map[string]any{"rate": tc.rate, "count": tc.count, "batch_size": tc.batch}, nil)
			start := time.Now()
			recs := drain(t, s)
			elapsed := time.Since(start)
			if int64(len(recs)) != tc.count {
				t.Fatalf("rate %v: got %d records, want %d", tc.rate, len(recs), tc.count)
			}
			// The first batch comes at once (the bucket starts full), the rest at the rate.
			want := time.Duration(float64(tc.count-tc.batch) / tc.rate * float64(time.Second))
			if elapsed < want*95/100 || elapsed > want+time.Second {
				t.Errorf("rate %v, %d records in batches of %d took %v, want about %v", tc.rate, tc.count, tc.batch, elapsed, want)
			}
		})
	}
}

func TestUnlimitedRateDoesNotWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSource(t, map[string]any{"count": int64(20000), "batch_size": int64(500), "payload_size": int64(16)}, nil)
		start := time.Now()
		if n := len(drain(t, s)); n != 20000 {
			t.Fatalf("got %d records, want 20000", n)
		}
		if d := time.Since(start); d != 0 {
			t.Errorf("20000 records at rate 0 waited %v", d)
		}
	})
}

func TestCountEndsWithEndOfInput(t *testing.T) {
	s := newSource(t, map[string]any{"count": int64(25), "batch_size": int64(10)}, nil)
	ctx := context.Background()
	var sizes []int
	var acks []connectors.AckFunc
	for {
		recs, ack, err := s.Read(ctx)
		if errors.Is(err, connectors.ErrEndOfInput) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		sizes = append(sizes, len(recs))
		acks = append(acks, ack)
	}
	if !slices.Equal(sizes, []int{10, 10, 5}) {
		t.Fatalf("batch sizes %v, want [10 10 5]", sizes)
	}
	if _, _, err := s.Read(ctx); !errors.Is(err, connectors.ErrEndOfInput) {
		t.Fatalf("Read after the end = %v, want ErrEndOfInput again", err)
	}
	if s.Acked() != 0 || s.Generated() != 25 {
		t.Fatalf("before acks: acked %d, generated %d", s.Acked(), s.Generated())
	}
	acks[0](ctx, nil)
	acks[0](ctx, nil) // settling twice counts once
	acks[1](ctx, errors.New("stopping"))
	acks[2](ctx, nil)
	if s.Acked() != 15 || s.Failed() != 10 {
		t.Fatalf("acked %d, failed %d; want 15 and 10", s.Acked(), s.Failed())
	}
}

func TestDurationEndsWithEndOfInput(t *testing.T) {
	t.Run("unlimited rate", func(t *testing.T) {
		start := time.Now()
		s := newSource(t, map[string]any{"duration": "300ms", "batch_size": int64(100), "payload_size": int64(8)}, nil)
		n := len(drain(t, s)) // at an unlimited rate nothing waits on a timer: the real clock ends it
		if d := time.Since(start); d < 300*time.Millisecond {
			t.Errorf("ended after %v, want about 300ms", d)
		}
		if n == 0 {
			t.Error("no records before the end")
		}
	})
	t.Run("slow rate waits for the end", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			start := time.Now()
			s := newSource(t, map[string]any{"duration": "300ms", "rate": 1.0}, nil)
			n := len(drain(t, s))
			// The bubble's clock: the end at 300 ms, not the next record a second later.
			if d := time.Since(start); d < 300*time.Millisecond || d >= time.Second {
				t.Errorf("ended after %v, want 300ms", d)
			}
			if n != 1 {
				t.Errorf("got %d records at 1/s in 300ms, want 1", n)
			}
		})
	})
}

func TestReadReturnsPromptlyOnCancel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSource(t, map[string]any{"rate": 0.1}, nil) // one record every 10s
		if _, _, err := s.Read(context.Background()); err != nil {
			t.Fatal(err) // the first one comes at once
		}
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(50*time.Millisecond, cancel)
		start := time.Now()
		_, _, err := s.Read(ctx)
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Read = %v, want context.Canceled", err)
		}
		// The bubble's clock: the Read ends with the cancel at 50 ms, not with the next record at 10 s.
		if d := time.Since(start); d != 50*time.Millisecond {
			t.Fatalf("Read returned %v after it started, want 50ms (the cancel)", d)
		}
		cctx, ccancel := context.WithCancel(context.Background())
		ccancel()
		if _, _, err := s.Read(cctx); !errors.Is(err, context.Canceled) {
			t.Fatalf("Read with a cancelled ctx = %v", err)
		}
	})
}

var uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestTemplateRendersEveryField(t *testing.T) {
	clock := time.Date(2026, 3, 4, 5, 6, 7, 123456789, time.FixedZone("X", 3600))
	tmpl := `{"seq":{{seq}},"time":"{{time}}","ms":{{unix_ms}},"n":{{random_int 1 100}},"neg":{{random_int -5 -3}},"f":{{random_float}},"c":"{{choice "a" "b" "c"}}","num":{{choice 1 2}},"id":"{{uuid}}"}`
	s := newSource(t, map[string]any{"template": tmpl, "count": int64(300), "batch_size": int64(7)}, func() time.Time { return clock })
	recs := drain(t, s)
	if len(recs) != 300 {
		t.Fatalf("got %d records", len(recs))
	}
	seenChoice := map[string]bool{}
	uuids := map[string]bool{}
	for i, r := range recs {
		var v struct {
			Seq  int64   `json:"seq"`
			Time string  `json:"time"`
			MS   int64   `json:"ms"`
			N    int64   `json:"n"`
			Neg  int64   `json:"neg"`
			F    float64 `json:"f"`
			C    string  `json:"c"`
			Num  int     `json:"num"`
			ID   string  `json:"id"`
		}
		if err := json.Unmarshal(r.Payload, &v); err != nil {
			t.Fatalf("record %d %q is not JSON: %v", i, r.Payload, err)
		}
		if v.Seq != int64(i) {
			t.Errorf("record %d: seq %d", i, v.Seq)
		}
		if ts, err := time.Parse(time.RFC3339Nano, v.Time); err != nil || !ts.Equal(clock) || !strings.HasSuffix(v.Time, "Z") {
			t.Errorf("record %d: time %q (%v), want %v in UTC", i, v.Time, err, clock)
		}
		if v.MS != clock.UnixMilli() {
			t.Errorf("record %d: unix_ms %d, want %d", i, v.MS, clock.UnixMilli())
		}
		if v.N < 1 || v.N > 100 || v.Neg < -5 || v.Neg > -3 {
			t.Errorf("record %d: random_int gave %d and %d", i, v.N, v.Neg)
		}
		if v.F < 0 || v.F >= 1 {
			t.Errorf("record %d: random_float %v", i, v.F)
		}
		if v.Num != 1 && v.Num != 2 {
			t.Errorf("record %d: numeric choice %d", i, v.Num)
		}
		seenChoice[v.C] = true
		if !uuidRE.MatchString(v.ID) {
			t.Errorf("record %d: uuid %q", i, v.ID)
		}
		uuids[v.ID] = true
		if r.HasKey || r.Attributes != nil {
			t.Errorf("record %d: unexpected key or attributes: %+v", i, r)
		}
	}
	if len(seenChoice) != 3 || !seenChoice["a"] || !seenChoice["b"] || !seenChoice["c"] {
		t.Errorf("choice gave %v, want a, b and c", seenChoice)
	}
	if len(uuids) != len(recs) {
		t.Errorf("%d distinct uuids in %d records", len(uuids), len(recs))
	}
}

func TestDefaultPayload(t *testing.T) {
	s := newSource(t, map[string]any{"count": int64(3)}, nil)
	for i, r := range drain(t, s) {
		var v struct {
			Seq  int64  `json:"seq"`
			Time string `json:"time"`
		}
		if err := json.Unmarshal(r.Payload, &v); err != nil || v.Seq != int64(i) || v.Time == "" {
			t.Errorf("record %d: %q (%v)", i, r.Payload, err)
		}
	}
}

func TestPayloadSize(t *testing.T) {
	s := newSource(t, map[string]any{"count": int64(50), "payload_size": int64(333)}, nil)
	distinct := map[string]bool{}
	for _, r := range drain(t, s) {
		if len(r.Payload) != 333 {
			t.Fatalf("payload of %d bytes, want 333", len(r.Payload))
		}
		for _, c := range r.Payload {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
				t.Fatalf("payload has %q", c)
			}
		}
		distinct[string(r.Payload)] = true
	}
	if len(distinct) != 50 {
		t.Errorf("%d distinct payloads of 50", len(distinct))
	}
}

func TestKeyCardinality(t *testing.T) {
	for _, order := range []string{"cycle", "random"} {
		t.Run(order, func(t *testing.T) {
			s := newSource(t, map[string]any{"key_cardinality": int64(7), "key_order": order, "key_prefix": "k/", "count": int64(700), "batch_size": int64(13)}, nil)
			keys := map[string]int{}
			for i, r := range drain(t, s) {
				if !r.HasKey {
					t.Fatalf("record %d has no key", i)
				}
				keys[r.Key]++
				if order == "cycle" && r.Key != "k/"+string(rune('0'+i%7)) {
					t.Fatalf("record %d: key %q", i, r.Key)
				}
			}
			if len(keys) != 7 {
				t.Fatalf("%d distinct keys, want 7: %v", len(keys), keys)
			}
			for i := range 7 {
				if keys["k/"+string(rune('0'+i))] == 0 {
					t.Fatalf("key k/%d missing: %v", i, keys)
				}
			}
		})
	}
}

func TestAttributes(t *testing.T) {
	s := newSource(t, map[string]any{"count": int64(2), "batch_size": int64(2), "attributes": map[string]any{"env": "demo", "team": "x"}}, nil)
	recs := drain(t, s)
	for _, r := range recs {
		if len(r.Attributes) != 2 || r.Attributes["env"] != "demo" || r.Attributes["team"] != "x" {
			t.Fatalf("attributes %v", r.Attributes)
		}
	}
	recs[0].Attributes["env"] = "changed"
	if recs[1].Attributes["env"] != "demo" {
		t.Fatal("records share their attributes map")
	}
}

func TestCloseEndsTheSource(t *testing.T) {
	s := newSource(t, map[string]any{}, nil)
	if _, _, err := s.Read(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Read(context.Background()); !errors.Is(err, generator.ErrClosed) {
		t.Fatalf("Read after Close = %v", err)
	}
}

func TestBadTemplatesAreConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		raw  map[string]any
		want string
	}{
		{map[string]any{"template": `{"seq":{{seq}`}, "template"},
		{map[string]any{"template": `{{nosuchfunc}}`}, "nosuchfunc"},
		{map[string]any{"template": `{{random_int 5 1}}`}, "maximum is below"},
		{map[string]any{"template": `{{random_int "a" 1}}`}, "expected integer"},
		{map[string]any{"template": `{{choice}}`}, "choice"},
		{map[string]any{"template": ``}, "empty"},
		{map[string]any{"template": `{{seq}}`, "payload_size": int64(10)}, "not both"},
	} {
		cfg, errs := generator.Spec().Parse(tc.raw, noEnv)
		if len(errs) > 0 {
			t.Fatalf("Parse(%v): %v", tc.raw, errs)
		}
		_, err := generator.New(cfg, connectors.Resources{})
		if err == nil {
			t.Errorf("New(%v) succeeded", tc.raw)
			continue
		}
		if connectors.KindOf(err) != connectors.KindConfig || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "template:") {
			t.Errorf("New(%v) = %v (kind %v), want a config error on template mentioning %q", tc.raw, err, connectors.KindOf(err), tc.want)
		}
	}
}

func TestBadSettingsAreParseErrors(t *testing.T) {
	for _, tc := range []struct {
		raw  map[string]any
		key  string
		want string
	}{
		{map[string]any{"rate": "fast"}, "rate", "must be a number"},
		{map[string]any{"rate": -1.0}, "rate", "outside"},
		{map[string]any{"count": -5}, "count", "must be a integer"},
		{map[string]any{"count": int64(-5)}, "count", "outside"},
		{map[string]any{"count": 2.5}, "count", "integer"},
		{map[string]any{"duration": "soon"}, "duration", "not a duration"},
		{map[string]any{"duration": "-1s"}, "duration", "outside"},
		{map[string]any{"payload_size": int64(0)}, "payload_size", "outside"},
		{map[string]any{"batch_size": int64(0)}, "batch_size", "outside"},
		{map[string]any{"key_cardinality": int64(-1)}, "key_cardinality", "outside"},
		{map[string]any{"key_order": "sorted"}, "key_order", "not one of"},
		{map[string]any{"attributes": map[string]any{"a": int64(1)}}, "attributes", "not a string"},
		{map[string]any{"template": int64(3)}, "template", "must be a string"},
		{map[string]any{"colour": "red"}, "colour", "unknown key"},
	} {
		_, errs := generator.Spec().Parse(tc.raw, noEnv)
		if len(errs) != 1 || errs[0].Key != tc.key || !strings.Contains(errs[0].Err.Error(), strings.TrimPrefix(tc.want, "must be a ")) {
			t.Errorf("Parse(%v) = %v, want one error on %s mentioning %q", tc.raw, errs, tc.key, tc.want)
		}
	}
}
