package cli

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/danube-console/danube-console/monitor"
)

func TestConsolePrometheusFlags(t *testing.T) {
	var stderr strings.Builder
	con, err := ParseConsole([]string{"--service-url", "http://b1:6650", "--prometheus-url", "http://prom:9090", "--prometheus-interval", "30s"}, &stderr)
	if err != nil || con.PrometheusURL != "http://prom:9090" || con.PrometheusInterval != 30*time.Second {
		t.Errorf("console --prometheus-url: %+v, %v", con, err)
	}
	con, err = ParseConsole(nil, &stderr)
	if err != nil || con.PrometheusURL != "" || con.PrometheusInterval != monitor.DefaultPrometheusInterval {
		t.Errorf("console defaults: %+v, %v", con, err)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--prometheus-url", "prom:9090"}, `--prometheus-url "prom:9090": use the server's http:// or https:// URL (e.g. http://prometheus:9090)`},
		{[]string{"--prometheus-url", "ftp://prom"}, `--prometheus-url "ftp://prom": use the server's http:// or https:// URL`},
		{[]string{"--prometheus-url", "http://"}, `--prometheus-url "http://": use the server's`},
		{[]string{"--prometheus-interval", "500ms"}, "--prometheus-interval 500ms: use at least 1s"},
	} {
		var ue *usageError
		_, err := ParseConsole(c.args, &stderr)
		if err == nil || !strings.Contains(err.Error(), c.want) || !errors.As(err, &ue) {
			t.Errorf("%v: %v; want a usage error with %q", c.args, err, c.want)
		}
	}
}

// TestMonitorOptionsSources: a remote cluster is scraped at the endpoints ListBrokers gives unless metrics URLs
// are named, or a Prometheus server is, whose answers are then the cluster's figures; the embedded broker's
// own endpoint is named.
func TestMonitorOptionsSources(t *testing.T) {
	files := &consoleFiles{}
	remote := ConsoleConfig{Remote: true}
	for _, c := range []struct {
		name       string
		cfg        ConsoleConfig
		metrics    []string
		prometheus string
		discover   bool
	}{
		{"remote, nothing named", remote, nil, "", true},
		{"remote, metrics named", remote, []string{"b1:9040"}, "", false},
		{"remote, prometheus named", remote, nil, "http://prom:9090", false},
		{"embedded", ConsoleConfig{}, []string{"127.0.0.1:9040"}, "", false},
	} {
		o := monitorOptions(&c.cfg, &c.cfg.target, files, "http://b:6650", "http://b:50051", c.metrics, c.prometheus)
		if o.DiscoverMetrics != c.discover || o.PrometheusURL != c.prometheus || o.Embedded == c.cfg.Remote {
			t.Errorf("%s: discover %v (want %v), prometheus %q, embedded %v", c.name, o.DiscoverMetrics, c.discover, o.PrometheusURL, o.Embedded)
		}
	}
}
