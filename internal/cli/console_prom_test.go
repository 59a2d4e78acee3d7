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
