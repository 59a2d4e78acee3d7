package payload_test

import (
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/danube-console/danube-console/connectors/payload"
)

func TestRender(t *testing.T) {
	at := time.Date(2026, 12, 7, 15, 4, 5, 6, time.UTC)
	p, err := payload.Parse(`{"seq":{{seq}},"ms":{{unix_ms}},"t":"{{time}}","n":{{random_int 3 3}},"c":"{{choice "x"}}","u":"{{uuid}}"}`, func() time.Time { return at })
	if err != nil {
		t.Fatal(err)
	}
	b, err := p.Render(41)
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		Seq int64  `json:"seq"`
		MS  int64  `json:"ms"`
		T   string `json:"t"`
		N   int    `json:"n"`
		C   string `json:"c"`
		U   string `json:"u"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	if v.Seq != 41 || v.MS != at.UnixMilli() || v.T != "2026-12-07T15:04:05.000000006Z" || v.N != 3 || v.C != "x" || len(v.U) != 36 || v.U[14] != '4' {
		t.Fatalf("rendered %s", b)
	}
}

func TestDefaultAndVerbatim(t *testing.T) {
	p, err := payload.Parse(payload.Default, nil)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := p.Render(7); !strings.HasPrefix(string(b), `{"seq":7,"time":"`) {
		t.Fatalf("default rendered %s", b)
	}
	v, err := payload.Parse("plain text", nil)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := v.Render(1); string(b) != "plain text" {
		t.Fatalf("verbatim rendered %q", b)
	}
}

func TestParseErrors(t *testing.T) {
	if _, err := payload.Parse("", nil); !errors.Is(err, payload.ErrEmpty) {
		t.Fatalf("empty: %v", err)
	}
	for _, bad := range []string{"{{nope}}", "{{seq", "{{random_int 5 1}}", "{{choice}}"} {
		if _, err := payload.Parse(bad, nil); err == nil {
			t.Errorf("Parse(%q) succeeded", bad)
		}
	}
}

// Renders from many goroutines each see their own sequence number.
func TestRenderConcurrent(t *testing.T) {
	p, err := payload.Parse(`{{seq}}`, nil)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for j := range 100 {
				seq := int64(i*1000 + j)
				b, err := p.Render(seq)
				if err != nil || string(b) != itoa(seq) {
					t.Errorf("Render(%d) = %s, %v", seq, b, err)
					return
				}
			}
		})
	}
	wg.Wait()
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
