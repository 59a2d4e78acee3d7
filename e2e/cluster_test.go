package e2e

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// clusterBroker is one `danube-console broker` process of a peer group, with its ports.
type clusterBroker struct {
	*brokerProcess
	id                       int
	port, admin, metricsPort int
}

// metricsURL is the broker's Prometheus endpoint.
func (b *clusterBroker) metricsURL() string {
	return fmt.Sprintf("http://127.0.0.1:%d/metrics", b.metricsPort)
}

// startCluster starts n brokers that name each other as peers, each with its metrics endpoint.
func startCluster(t *testing.T, bin string, n int) []*clusterBroker {
	t.Helper()
	bs := make([]*clusterBroker, n)
	for i := range bs {
		bs[i] = &clusterBroker{id: i, port: freePort(t), admin: freePort(t), metricsPort: freePort(t)}
	}
	for i, b := range bs {
		args := []string{"--ephemeral", "--port", strconv.Itoa(b.port), "--admin-port", strconv.Itoa(b.admin),
			"--metrics-addr", fmt.Sprintf("127.0.0.1:%d", b.metricsPort), "--log-level", "warn"}
		for j, p := range bs {
			if j != i {
				args = append(args, "--peer", fmt.Sprintf("http://127.0.0.1:%d", p.port))
			}
		}
		b.brokerProcess = startBrokerProcess(t, bin, args...)
	}
	return bs
}

// scrapeSeries returns the value of the series name whose labels include want, from the broker's
// metrics (false when the series is not there).
func scrapeSeries(t *testing.T, url, name string, want map[string]string) (float64, bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, false
	}
	defer resp.Body.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("metrics of %s: %v", url, err)
	}
	fam, ok := fams[name]
	if !ok {
		return 0, false
	}
next:
	for _, m := range fam.GetMetric() {
		for k, v := range want {
			found := false
			for _, l := range m.GetLabel() {
				if l.GetName() == k && l.GetValue() == v {
					found = true
				}
			}
			if !found {
				continue next
			}
		}
		switch {
		case m.GetGauge() != nil:
			return m.GetGauge().GetValue(), true
		case m.GetCounter() != nil:
			return m.GetCounter().GetValue(), true
		}
	}
	return 0, false
}

// numberAt parses the number shown in column header of the first row, below that header, that holds all of
// subs: the header line is the first holding header, and the value is the field of the row that overlaps the
// header's columns. It returns false when there is none.
func numberAt(screen, header string, subs ...string) (float64, bool) {
	lines := strings.Split(screen, "\n")
	h := slices.IndexFunc(lines, func(l string) bool { return strings.Contains(l, header) })
	if h < 0 {
		return 0, false
	}
	hdr := lines[h]
	row := line(strings.Join(lines[h+1:], "\n"), subs...)
	if row == "" {
		return 0, false
	}
	rr := []rune(row)
	col := len([]rune(hdr[:strings.Index(hdr, header)]))
	end := col + len([]rune(header))
	if end > len(rr) {
		return 0, false
	}
	// The field that overlaps [col, end) in the row.
	lo, hi := col, end
	for lo > 0 && rr[lo-1] != ' ' && rr[lo-1] != '│' {
		lo--
	}
	for lo < len(rr) && rr[lo] == ' ' {
		lo++
	}
	for hi < len(rr) && rr[hi] != ' ' && rr[hi] != '│' {
		hi++
	}
	if lo >= hi {
		return 0, false
	}
	return parseShown(strings.TrimSpace(string(rr[lo:hi])))
}

// parseShown parses a number as the console shows it: 12, 1.5k, 3.2M, 12/s, 1,234.
func parseShown(s string) (float64, bool) {
	s = strings.TrimSuffix(strings.ReplaceAll(s, ",", ""), "/s")
	mult := 1.0
	switch {
	case strings.HasSuffix(s, "k"):
		s, mult = strings.TrimSuffix(s, "k"), 1e3
	case strings.HasSuffix(s, "M"):
		s, mult = strings.TrimSuffix(s, "M"), 1e6
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, false
	}
	return v * mult, true
}

// TestConsoleOnAnExternalCluster is the operator's first look at a cluster: three broker processes of a
// peer group, producers and consumers run by other processes, and the console pointed at one broker with
// --service-url. Its screens show the external topics' rates as the brokers' metrics say them, a
// subscription's lag growing while its consumer is stopped and shrinking after it restarts, and a broker
// marked down when its process is killed.
func TestConsoleOnAnExternalCluster(t *testing.T) {
	bin := buildBinary(t)
	bs := startCluster(t, bin, 3)
	svc := func(b *clusterBroker) string { return fmt.Sprintf("http://127.0.0.1:%d", b.port) }

	const topic, sub = "/default/ext-orders", "ext-archive"
	createTopic(t, svc(bs[0]), topic)
	startProcess(t, bin, nil, "produce", "--service-url", svc(bs[0]), "-t", topic, "--reliable",
		"--rate", "20", "-c", "1000000", "-m", `{"order":1}`, "--name", "ext-producer")
	consume := func() *process {
		return startProcess(t, bin, nil, "consume", "--service-url", svc(bs[0]), "-t", topic, "-s", sub, "--name", "ext-consumer")
	}
	cons := consume()

	term := startTerminal(t, 160, 48, []string{"TERM=xterm-256color"}, bin, "--service-url", svc(bs[0]),
		"--admin-url", fmt.Sprintf("http://127.0.0.1:%d", bs[0].admin), "--metrics-interval", "1s",
		"--log-file", t.TempDir()+"/console.log")

	// The topics pane: the external topic's publish rate, as its owner's metrics say (20/s).
	term.keys("2")
	term.waitFor("the external topic's rate in the topics pane", 30*time.Second, func(s string) bool {
		v, ok := numberAt(s, "IN/s", topic)
		return ok && v >= 10 && v <= 30
	})

	// Lag: stop the consumer; the lag grows on screen, never above what the broker says after the screen.
	lagOf := func(s string) (float64, bool) { return numberAt(s, "LAG", topic) }
	brokerLag := func() float64 {
		var total float64
		for _, b := range bs {
			if v, ok := scrapeSeries(t, b.metricsURL(), "danube_subscription_lag_messages", map[string]string{"topic": topic, "subscription": sub}); ok {
				total += v
			}
		}
		return total
	}
	if err := cons.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	<-cons.done
	var first float64
	term.waitFor("the lag to grow while the consumer is stopped", 30*time.Second, func(s string) bool {
		v, ok := lagOf(s)
		if !ok || v <= 0 {
			return false
		}
		if after := brokerLag(); v > after {
			t.Fatalf("the screen shows lag %v, more than the brokers' %v", v, after)
		}
		if first == 0 {
			first = v
			return false
		}
		return v > first
	})
	cons = consume()
	term.waitFor("the lag to shrink after the consumer restarts", 30*time.Second, func(s string) bool {
		v, ok := lagOf(s)
		return ok && v < first
	})

	// A broker killed: marked down in the cluster pane, and first among the problems. Its row is found by its id,
	// which the pane shows next to its address while it lives (ListBrokers forgets the address once it is gone).
	term.keys("8")
	var id string
	term.waitFor("the third broker up in the cluster pane", 30*time.Second, func(s string) bool {
		l := strings.Fields(strings.Trim(line(s, fmt.Sprintf("127.0.0.1:%d ", bs[2].port), "up"), "│ "))
		if len(l) > 0 {
			id = l[0]
		}
		return id != ""
	})
	bs[2].kill(t)
	term.waitFor("the killed broker marked down", 30*time.Second, func(s string) bool {
		return line(s, id+" ", "down") != ""
	})
	term.keys("9")
	term.waitFor("the broker down among the problems", 15*time.Second, func(s string) bool {
		return strings.Contains(s, "broker down") || strings.Contains(s, "Broker down")
	})
	term.quit()
}
