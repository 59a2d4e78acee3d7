package cli

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"

	"github.com/danube-console/danube-console/client"
)

// TestParseToConfig checks that the parse steps give the plain configurations the run steps take, without
// running anything.
func TestParseToConfig(t *testing.T) {
	var stderr bytes.Buffer
	cons, err := ParseConsume([]string{"-t", "/default/x", "-s", "s", "--type", "key-shared", "--key-filter", "a*", "-c", "3"}, &stderr)
	if err != nil || cons.Type != client.KeyShared || cons.Count != 3 || cons.KeyFilters[0] != "a*" || cons.Conn.ServiceURL != client.DefaultServiceURL {
		t.Errorf("consume: %+v, %v", cons, err)
	}
	for _, name := range client.SubscriptionTypeNames() {
		c, err := ParseConsume([]string{"-t", "/default/x", "-s", "s", "--type", name}, &stderr)
		if text, _ := c.Type.MarshalText(); err != nil || string(text) != name {
			t.Errorf("--type %s: %v, %v", name, c.Type, err)
		}
	}
	prod, err := ParseProduce([]string{"-t", "/default/x", "-m", "", "--key", "", "-a", "k=v=w", "--reliable"}, &stderr)
	if err != nil || !prod.HasMessage || !prod.HasKey || prod.Attrs["k"] != "v=w" || !prod.Reliable {
		t.Errorf("produce: %+v, %v", prod, err)
	}
	b, err := ParseBench([]string{"--async", "--count", "10"}, &stderr)
	if err != nil || !strings.HasPrefix(b.Bench.Topic, "/default/bench-") || !b.Bench.Async || b.Bench.Window != 256 || b.Bench.Duration != 10*time.Second {
		t.Errorf("bench: %+v, %v", b, err)
	}
	con, err := ParseConsole([]string{"--service-url", "https://c.example:6650"}, &stderr)
	if err != nil || !con.Remote || con.AdminURL != "https://c.example:50051" || con.Theme == nil {
		t.Errorf("console: %+v, %v", con, err)
	}
	con, err = ParseConsole([]string{"--service-url", "http://b1:6650", "--metrics-url", "b1:9040", "--metrics-url", "http://b2:9040/metrics", "--metrics-interval", "2s"}, &stderr)
	if err != nil || !slices.Equal(con.MetricsURLs, []string{"b1:9040", "http://b2:9040/metrics"}) || con.MetricsInterval != 2*time.Second {
		t.Errorf("console --metrics-url: %+v, %v", con, err)
	}
	if _, err := ParseLookup([]string{"--help"}, &stderr); !errors.Is(err, pflag.ErrHelp) || !strings.Contains(stderr.String(), "Usage: danube-console lookup") {
		t.Errorf("lookup --help: %v, stderr %q", err, stderr.String())
	}
	var ue *usageError
	if _, err := ParseConnect(nil, &stderr); !errors.As(err, &ue) {
		t.Errorf("connect without --config: %v, want a usage error", err)
	}
}
