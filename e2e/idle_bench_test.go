package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/danube-console/danube-console/internal/xtime"
	"github.com/danube-console/danube-console/proto/danubepb"
)

// idleTopics and idleSubsPerTopic size the cluster BenchmarkConsoleIdleCPU watches: 2,000 topics and 10,000
// subscriptions, the "large cluster".
const (
	idleTopics       = 2000
	idleSubsPerTopic = 5
	idleWindow       = 20 * time.Second
)

// cpuTicks returns the user and system CPU time of a process, in clock ticks (USER_HZ, 100 a second on
// Linux).
func cpuTicks(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("cpu of %d: %w", pid, err)
	}
	s := string(b)
	// The command name may hold spaces: fields count from after its closing parenthesis.
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("cpu of %d: bad stat %q", pid, s)
	}
	return utime + stime, nil
}

// panePID returns the pid of the process a tmux session runs.
func (term *terminal) panePID() (int, error) {
	out, err := exec.Command("tmux", "display-message", "-p", "-t", term.name, "#{pane_pid}").Output()
	if err != nil {
		return 0, fmt.Errorf("tmux display-message: %w", err)
	}
	return strconv.Atoi(strings.TrimSpace(string(out)))
}

// BenchmarkConsoleIdleCPU measures the console's CPU while it monitors an idle cluster of 2,000 reliable topics
// and 10,000 subscriptions at its default intervals (admin refresh, metrics scrape, 10 frames a second) in a
// real terminal at 200×60, and the broker's CPU in the same window as the baseline: cpu% is the share of one
// core over idleWindow (the target for the console: under 5%). Run it with
//
//	go test ./e2e -run '^$' -bench ConsoleIdleCPU -benchtime 1x
func BenchmarkConsoleIdleCPU(b *testing.B) {
	bin := buildBinary(b)
	metricsPort := freePort(b)
	br := startBrokerProcess(b, bin, "--ephemeral", "--port", "0", "--admin-port", "0",
		"--metrics-addr", fmt.Sprintf("127.0.0.1:%d", metricsPort), "--log-level", "warn")
	conn := dialBroker(b, br.url)
	pc := danubepb.NewProducerServiceClient(conn)
	cc := danubepb.NewConsumerServiceClient(conn)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	forEach(b, idleTopics, func(i int) error {
		topic := fmt.Sprintf("/default/idle-%04d", i)
		if _, err := pc.CreateProducer(ctx, &danubepb.ProducerRequest{ProducerName: "p-" + strconv.Itoa(i), TopicName: topic,
			DispatchStrategy: danubepb.DispatchStrategy_Reliable}); err != nil {
			return fmt.Errorf("CreateProducer %s: %w", topic, err)
		}
		for s := range idleSubsPerTopic {
			if _, err := cc.Subscribe(ctx, &danubepb.ConsumerRequest{TopicName: topic, Subscription: fmt.Sprintf("sub-%d", s),
				ConsumerName: fmt.Sprintf("c-%d-%d", i, s), SubscriptionType: danubepb.ConsumerRequest_Exclusive}); err != nil {
				return fmt.Errorf("Subscribe %s: %w", topic, err)
			}
		}
		return nil
	})
	conn.Close()

	term := startTerminal(b, 200, 60, []string{"TERM=xterm-256color"}, bin, "--service-url", br.url,
		"--admin-url", adminURLOf(b, br), "--metrics-url", fmt.Sprintf("127.0.0.1:%d", metricsPort),
		"--log-file", b.TempDir()+"/console.log")
	term.keys("2")
	term.waitFor("the topics of the cluster", 2*time.Minute, func(s string) bool { return strings.Contains(s, "/default/idle-") })
	pid, err := term.panePID()
	if err != nil {
		b.Fatal(err)
	}
	term.keys("1") // the dashboard: what an operator leaves open
	var console, broker float64
	b.ResetTimer()
	for range b.N {
		c0, err1 := cpuTicks(pid)
		k0, err2 := cpuTicks(br.cmd.Process.Pid)
		start := time.Now()
		if err := xtime.Sleep(ctx, idleWindow); err != nil {
			b.Fatal(err)
		}
		c1, err3 := cpuTicks(pid)
		k1, err4 := cpuTicks(br.cmd.Process.Pid)
		for _, err := range []error{err1, err2, err3, err4} {
			if err != nil {
				b.Fatal(err)
			}
		}
		el := time.Since(start).Seconds()
		console += float64(c1-c0) / 100 / el * 100
		broker += float64(k1-k0) / 100 / el * 100
	}
	b.ReportMetric(console/float64(b.N), "console-cpu%")
	b.ReportMetric(broker/float64(b.N), "broker-cpu%")
	b.ReportMetric(0, "ns/op")
}
