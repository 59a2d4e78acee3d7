package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/danube-console/danube-console/internal/clitest"

	"github.com/danube-console/danube-console/broker"
	"github.com/danube-console/danube-console/broker/brokertest"
	"github.com/danube-console/danube-console/client"
	"github.com/danube-console/danube-console/internal/jsonl"
	"github.com/danube-console/danube-console/internal/testenv"
)

// cmdTimeout bounds every command a test waits for.
const cmdTimeout = 20 * time.Second

// TestBrokerBinaryStopsOnSignals checks that SIGINT and SIGTERM stop the broker process cleanly.
func TestBrokerBinaryStopsOnSignals(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildBinary(t)
	for _, sig := range []os.Signal{os.Interrupt, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			cmd := exec.Command(bin, "broker", "--ephemeral", "--port", "0", "--admin-port", "0")
			var out, errb syncBuffer
			cmd.Stdout, cmd.Stderr = &out, &errb
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			exited := false
			t.Cleanup(func() {
				if !exited {
					cmd.Process.Kill()
					cmd.Wait()
				}
			})
			testenv.Eventually(t, 10*time.Second, func() bool { return strings.Contains(out.String(), "danube broker serving http://127.0.0.1:") },
				"no URL printed; stdout %q stderr %q", &out, &errb)
			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			err := cmd.Wait()
			exited = true
			if err != nil {
				t.Fatalf("exit: %v; stderr %q", err, errb.String())
			}
			if !strings.Contains(out.String(), "danube broker stopped") {
				t.Fatalf("stdout %q", out.String())
			}
		})
	}
}

// process is a danube-console command running as its own process.
type process struct {
	cmd      *exec.Cmd
	out, err syncBuffer
	done     chan error
}

// startProcess starts the binary with args and the environment env; the test kills it if it still runs
// when the test ends.
func startProcess(t *testing.T, bin string, env []string, args ...string) *process {
	t.Helper()
	p := &process{cmd: exec.Command(bin, args...), done: make(chan error, 1)}
	p.cmd.Stdout, p.cmd.Stderr, p.cmd.Env = &p.out, &p.err, env
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.done <- p.cmd.Wait() }()
	t.Cleanup(func() { p.cmd.Process.Kill() })
	return p
}

// wait waits for the process to end by itself and fails the test unless it exits 0.
func (p *process) wait(t *testing.T, name string) {
	t.Helper()
	select {
	case err := <-p.done:
		if err != nil {
			t.Fatalf("%s: %v; stderr %q", name, err, p.err.String())
		}
	case <-time.After(cmdTimeout):
		t.Fatalf("%s did not end; stderr %q", name, p.err.String())
	}
}

// activeConsumers returns the active consumers of sub on topic.
func activeConsumers(srv *broker.Server, topic, sub string) int {
	info, _ := srv.Topic(topic)
	for _, s := range info.Subscriptions {
		if s.Name == sub {
			return s.ActiveConsumers
		}
	}
	return 0
}

// createTopic creates the reliable topic by creating a producer, so that a consumer can subscribe before
// anything is published.
func createTopic(t *testing.T, url, topic string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := client.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	p, err := c.NewProducer(ctx, client.ProducerConfig{Topic: topic, Name: "creator", Dispatch: client.Reliable})
	if err != nil {
		t.Fatalf("creating %s: %v", topic, err)
	}
	p.Close(ctx)
}

// TestClientBinaryPipes runs the built binary as a user would: lines piped into produce, consume --jsonl
// piped straight into produce --from-jsonl of another topic, and exit codes and one-line errors.
func TestClientBinaryPipes(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildBinary(t)
	srv := brokertest.Run(t, broker.Options{})
	url := srv.URL()
	const src, dst = "/default/pipe-src", "/default/pipe-dst"
	createTopic(t, url, src)
	createTopic(t, url, dst)
	env := append(os.Environ(), "DANUBE_TOKEN=")

	// The copy of dst's messages, read by the test's own consume.
	check := startProcess(t, bin, env, "consume", "--service-url", url, "-t", dst, "-s", "check", "--jsonl", "-c", "5")
	testenv.Eventually(t, 10*time.Second, func() bool { return activeConsumers(srv, dst, "check") == 1 }, "the check consume did not subscribe")

	// consume --jsonl -c 5 | produce --from-jsonl - -t dst
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cons := exec.Command(bin, "consume", "--service-url", url, "-t", src, "-s", "pipe", "--jsonl", "-c", "5")
	var consErr, replayOut, replayErr syncBuffer
	cons.Stdout, cons.Stderr, cons.Env = pw, &consErr, env
	replay := exec.Command(bin, "produce", "--service-url", url, "-t", dst, "--reliable", "--from-jsonl", "-")
	replay.Stdin, replay.Stdout, replay.Stderr, replay.Env = pr, &replayOut, &replayErr, env
	if err := cons.Start(); err != nil {
		t.Fatal(err)
	}
	if err := replay.Start(); err != nil {
		cons.Process.Kill()
		t.Fatal(err)
	}
	pw.Close()
	pr.Close()
	t.Cleanup(func() {
		cons.Process.Kill()
		replay.Process.Kill()
	})
	testenv.Eventually(t, 10*time.Second, func() bool { return activeConsumers(srv, src, "pipe") == 1 }, "the consume binary did not subscribe")

	// printf ... | produce -t src
	prod := exec.Command(bin, "produce", "--service-url", url, "-t", src, "--reliable", "-a", "via=pipe", "--key", "k", "--name", "bin")
	prod.Stdin = strings.NewReader("alpha\nbeta\n\ngamma ✓\ndelta")
	prod.Env = env
	var prodOut, prodErr bytes.Buffer
	prod.Stdout, prod.Stderr = &prodOut, &prodErr
	if err := prod.Run(); err != nil || !strings.HasPrefix(prodErr.String(), "sent 5 messages in ") || prodOut.Len() != 0 {
		t.Fatalf("produce binary: %v, stdout %q, stderr %q", err, prodOut.String(), prodErr.String())
	}

	waitCmd := func(name string, c *exec.Cmd, errb *syncBuffer) {
		t.Helper()
		done := make(chan error, 1)
		go func() { done <- c.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("%s: %v; stderr %q", name, err, errb.String())
			}
		case <-time.After(cmdTimeout):
			c.Process.Kill()
			t.Fatalf("%s did not end; stderr %q", name, errb.String())
		}
	}
	waitCmd("consume binary", cons, &consErr)
	waitCmd("produce --from-jsonl binary", replay, &replayErr)
	if !strings.HasPrefix(replayErr.String(), "sent 5 messages") {
		t.Errorf("replay: stderr %q", replayErr.String())
	}

	check.wait(t, "the check consume")
	objs, recs := clitest.ParseJSONL(t, check.out.String())
	payloads := []string{"alpha", "beta", "", "gamma ✓", "delta"}
	if len(recs) != len(payloads) {
		t.Fatalf("%d records copied, want %d", len(recs), len(payloads))
	}
	for i, rec := range recs {
		checkRecord(t, i, objs[i], rec, payloads[i], "k", map[string]string{"via": "pipe"})
		if rec.Topic != dst {
			t.Errorf("record %d on %q", i, rec.Topic)
		}
	}

	// Failures: exit status and one line.
	for _, tc := range []struct {
		args []string
		code int
	}{
		{[]string{"consume", "-t", src}, 2},
		{[]string{"produce", "--service-url", url, "-t", "/nons/x", "-m", "x"}, 1},
		{[]string{"lookup", "--service-url", url, "-t", "/default/unknown"}, 1},
	} {
		c := exec.Command(bin, tc.args...)
		c.Env = env
		var out, errb bytes.Buffer
		c.Stdout, c.Stderr = &out, &errb
		err := c.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		checkOneLineError(t, tc.args[0], code, out.String(), errb.String(), tc.code)
	}
}

// checkOneLineError checks that a failed command printed exactly one line, "danube-console <cmd>: reason",
// with the exit code want, and nothing on stdout.
func checkOneLineError(t *testing.T, cmd string, code int, stdout, stderr string, want int) {
	t.Helper()
	if code != want {
		t.Errorf("%s: exit %d, stdout %q, stderr %q; want exit %d", cmd, code, stdout, stderr, want)
		return
	}
	if stdout != "" {
		t.Errorf("%s: wrote %q on stdout while failing", cmd, stdout)
	}
	line, ok := strings.CutSuffix(stderr, "\n")
	if !ok || strings.Contains(line, "\n") || !strings.HasPrefix(line, "danube-console "+cmd+": ") ||
		len(line) == len("danube-console "+cmd+": ") {
		t.Errorf("%s: stderr %q is not one line \"danube-console %s: reason\"", cmd, stderr, cmd)
	}
}

// checkRecord compares one record of consume --jsonl (obj and rec, the same line) with the text payload,
// key and attributes sent.
func checkRecord(t *testing.T, i int, obj map[string]any, rec jsonl.Record, payload, key string, attrs map[string]string) {
	t.Helper()
	if p, err := rec.Bytes(); err != nil || string(p) != payload {
		t.Errorf("message %d: payload %q (%v), want %q", i, p, err, payload)
	}
	_, hasText := obj["payload"]
	_, hasB64 := obj["payload_base64"]
	if !hasText || hasB64 {
		t.Errorf("message %d: payload %v payload_base64 %v for a text payload", i, hasText, hasB64)
	}
	if k := obj["key"]; k != key {
		t.Errorf("message %d: key %v, want %q", i, k, key)
	}
	if fmt.Sprint(rec.Attributes) != fmt.Sprint(attrs) {
		t.Errorf("message %d: attributes %v, want %v", i, rec.Attributes, attrs)
	}
}
