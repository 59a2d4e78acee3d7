package e2e

import (
	"context"
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/common/model"

	"github.com/danube-console/danube-console/internal/testenv"
)

// plotted reports whether a screen line holds a braille point above a chart's zero: a dot other than the
// bottom two of its cell (a series at 0, and the baseline ⣀, have only those).
func plotted(l string) bool {
	for _, r := range l {
		if r >= 0x2800 && r <= 0x28FF && (r-0x2800)&0x3F != 0 {
			return true
		}
	}
	return false
}

// TestConsoleChartFromPrometheus: a real Prometheus server scrapes a broker process while another process
// publishes; the publisher stops, and only then does the console start, with --prometheus-url. The topic's
// detail charts that traffic at once, from the server: history from before the console started, which its
// own samples cannot have.
func TestConsoleChartFromPrometheus(t *testing.T) {
	bin := buildBinary(t)
	metricsPort := freePort(t)
	br := startBrokerProcess(t, bin, "--ephemeral", "--port", "0", "--admin-port", "0",
		"--metrics-addr", fmt.Sprintf("127.0.0.1:%d", metricsPort), "--log-level", "warn")
	prom := testenv.NewPrometheus(t, fmt.Sprintf("127.0.0.1:%d", metricsPort))

	const topic = "/default/history"
	prod := startProcess(t, bin, nil, "produce", "--service-url", br.url, "-t", topic, "--rate", "50", "-c", "1000000", "-m", "tick")
	// Wait until the server's rate over the last minute sees the traffic, then stop the publisher.
	q := fmt.Sprintf(`sum(rate(danube_topic_messages_in_total{topic=%q}[1m]))`, topic)
	testenv.Eventually(t, 60*time.Second, func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		v, err := prom.Query(ctx, q)
		vec, ok := v.(model.Vector)
		return err == nil && ok && len(vec) == 1 && vec[0].Value > 5
	}, "prometheus to see the publish rate (%s)", q)
	if err := prod.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	<-prod.done

	term := startTerminal(t, 160, 48, []string{"TERM=xterm-256color"}, bin, "--service-url", br.url,
		"--admin-url", adminURLOf(t, br), "--prometheus-url", prom.URL(), "--log-file", t.TempDir()+"/console.log")
	term.keys("2")
	term.waitFor("the topic in the topics pane", 30*time.Second, func(s string) bool { return line(s, topic) != "" })
	term.keys("/")
	term.text("history")
	term.keys("Enter", "Enter") // keep the filter, open the detail of the only topic left
	s := term.waitFor("the topic's chart from prometheus", 30*time.Second, func(s string) bool {
		if line(s, "msgs/s", "prometheus") == "" {
			return false
		}
		for _, l := range strings.Split(s, "\n") {
			if plotted(l) {
				return true
			}
		}
		return false
	})
	if line(s, "Topic "+topic) == "" && line(s, topic) == "" {
		t.Errorf("the detail does not name the topic:\n%s", s)
	}
	term.keys("q") // back from the detail to the (filtered) list, from which the next q quits
	term.quit()
}
