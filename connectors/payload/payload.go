// Package payload renders message payloads from templates: the generator connector's `template` setting
// and the console's ad-hoc producers share it, so a template means the same thing in both.
//
// A template is Go's text/template with these functions: {{seq}} the record's sequence number (from 0),
// {{time}} the render time in RFC 3339 with nanoseconds (UTC), {{unix_ms}} the same in Unix milliseconds,
// {{random_int MIN MAX}} a random integer in [MIN, MAX], {{random_float}} a random float in [0, 1),
// {{choice "a" "b" ...}} one of its arguments, and {{uuid}} a random version 4 UUID. The output is not
// escaped. A template without actions renders verbatim.
package payload

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"text/template"
	"time"
)

// Default is the payload template used when none is given: a small JSON document.
const Default = `{"seq":{{seq}},"time":"{{time}}"}`

// ErrEmpty is returned by Parse for an empty template.
var ErrEmpty = errors.New("is empty")

// Template is a parsed payload template. Its methods may be called from any goroutine.
type Template struct {
	now func() time.Time
	t   *template.Template

	mu  sync.Mutex // guards cur and buf while a record renders
	cur struct {
		seq int64
		at  time.Time
	}
	buf bytes.Buffer
}

// Parse parses text and renders it once, so that a template that can never render (a function given the
// wrong arguments) is an error here rather than on every record. now gives the time {{time}} and
// {{unix_ms}} render (nil: time.Now). text/template's errors are returned as they are (they start with
// "template: payload:").
func Parse(text string, now func() time.Time) (*Template, error) {
	if text == "" {
		return nil, ErrEmpty
	}
	if now == nil {
		now = time.Now
	}
	p := &Template{now: now}
	t, err := template.New("payload").Option("missingkey=error").Funcs(p.funcs()).Parse(text)
	if err != nil {
		return nil, err
	}
	p.t = t
	if _, err := p.Render(0); err != nil {
		return nil, err
	}
	return p, nil
}

// Render renders the record with sequence number seq at the current time and returns a new slice.
func (p *Template) Render(seq int64) ([]byte, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cur.seq, p.cur.at = seq, p.now()
	p.buf.Reset()
	if err := p.t.Execute(&p.buf, nil); err != nil {
		return nil, err
	}
	return bytes.Clone(p.buf.Bytes()), nil
}

// funcs are the template functions; they read the record being rendered from p.cur, which Render sets
// under p.mu.
func (p *Template) funcs() template.FuncMap {
	return template.FuncMap{
		"seq":     func() int64 { return p.cur.seq },
		"time":    func() string { return p.cur.at.UTC().Format(time.RFC3339Nano) },
		"unix_ms": func() int64 { return p.cur.at.UnixMilli() },
		"random_int": func(lo, hi int64) (int64, error) {
			if hi < lo {
				return 0, fmt.Errorf("random_int %d %d: the maximum is below the minimum", lo, hi)
			}
			span := uint64(hi) - uint64(lo) // exact even when hi-lo overflows int64
			if span == math.MaxUint64 {
				return int64(rand.Uint64()), nil
			}
			return lo + int64(rand.Uint64N(span+1)), nil
		},
		"random_float": func() float64 { return rand.Float64() },
		"choice": func(options ...any) (any, error) {
			if len(options) == 0 {
				return nil, errors.New("choice needs at least one option")
			}
			return options[rand.IntN(len(options))], nil
		},
		"uuid": newUUID,
	}
}

// newUUID returns a random (version 4) UUID.
func newUUID() string {
	var b [16]byte
	hi, lo := rand.Uint64(), rand.Uint64()
	for i := range 8 {
		b[i] = byte(hi >> (8 * i))
		b[8+i] = byte(lo >> (8 * i))
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
