package cli

import (
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
)

// TestEmbeddedBrokerServesMetrics: the console's embedded broker serves its metrics, which the console
// scrapes like any broker's.
func TestEmbeddedBrokerServesMetrics(t *testing.T) {
	cfg := ConsoleConfig{Ephemeral: true}
	srv, stop, err := startEmbedded(&cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	addr := srv.MetricsAddr()
	if !strings.HasPrefix(addr, "127.0.0.1:") {
		t.Fatalf("metrics address %q: want one on the loopback", addr)
	}
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || !strings.Contains(string(b), "danube_broker_topics_owned{broker=") {
		t.Fatalf("metrics: %v\n%.500s", err, b)
	}
}
