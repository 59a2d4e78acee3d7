package cli

import (
	"bytes"
	"context"
	"io"
	"net"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/danube-console/danube-console/internal/testenv"
	"github.com/danube-console/danube-console/proto/danubepb"
)

// Tests of the commands run in process through Main, as the binary runs them; the tests of the built
// binary are in e2e.

// syncBuffer is a buffer a command writes while the test reads it.
type syncBuffer = testenv.SyncBuffer

// run runs a command line in process, as main does, with an empty stdin.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return runWithInput(ctx, args, strings.NewReader(""), stdout, stderr)
}

// runWithInput runs a command line in process, as main does.
func runWithInput(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return Main(ctx, args, Streams{In: stdin, Out: stdout, Err: stderr})
}

func TestUsage(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"--bogus"}, &out, &errb); code != 2 || !strings.Contains(errb.String(), "unknown flag: --bogus") {
		t.Fatalf("console with a bad flag: code %d, stderr %q", code, errb.String())
	}
	errb.Reset()
	if code := run(context.Background(), []string{"frobnicate"}, &out, &errb); code != 2 ||
		!strings.Contains(errb.String(), `unknown command "frobnicate"`) {
		t.Fatalf("unknown command: code %d, stderr %q", code, errb.String())
	}
	if code := run(context.Background(), []string{"help"}, &out, &errb); code != 0 || !strings.Contains(out.String(), "broker") {
		t.Fatalf("help: code %d, stdout %q", code, out.String())
	}
}

func TestBrokerFlagErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--bogus"}, "unknown flag: --bogus"},
		{[]string{"--port", "x"}, `invalid argument "x"`},
		{[]string{"--port", "99999"}, "port 99999"},
		{[]string{"--log-level", "loud"}, "--log-level"},
		{[]string{"extra"}, `unexpected argument "extra"`},
		{[]string{"--advertised-url", "nohttp"}, "advertised URL"},
		{[]string{"--peer", "nohttp"}, `peer "nohttp"`},
	} {
		var out, errb bytes.Buffer
		code := run(context.Background(), inMemory(append([]string{"broker"}, tc.args...)), &out, &errb)
		if code != 2 || !strings.Contains(errb.String(), tc.want) {
			t.Errorf("broker %v: code %d, stderr %q, want code 2 and %q", tc.args, code, errb.String(), tc.want)
		}
	}
}

func TestBrokerPeerFlags(t *testing.T) {
	cfg, err := ParseBroker([]string{"--peer", "http://127.0.0.1:6651", "--peer", "http://127.0.0.1:6652"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"http://127.0.0.1:6651", "http://127.0.0.1:6652"}; !slices.Equal(cfg.Options.Peers, want) {
		t.Fatalf("peers = %q, want %q", cfg.Options.Peers, want)
	}
}

func TestBrokerBusyPort(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer lis.Close()
	port := strconv.Itoa(lis.Addr().(*net.TCPAddr).Port)
	var out, errb bytes.Buffer
	code := run(context.Background(), []string{"broker", "--ephemeral", "--port", port, "--admin-port", "-1"}, &out, &errb)
	want := "danube-console broker: port " + port + " on 127.0.0.1 is already in use; choose another with --port\n"
	if code != 1 || !strings.Contains(errb.String(), want) {
		t.Fatalf("code %d, stderr %q, want %q", code, errb.String(), want)
	}
}

// TestBrokerServesUntilCancelled runs the broker subcommand, produces through the URL it prints, and stops it
// the way SIGINT does (the context main derives from the signals).
func TestBrokerServesUntilCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var out, errb syncBuffer
	done := make(chan int)
	go func() {
		done <- run(ctx, []string{"broker", "--ephemeral", "--port", "0", "--admin-port", "0", "--log-level", "warn"}, &out, &errb)
	}()

	testenv.Eventually(t, 5*time.Second, func() bool { return strings.HasPrefix(out.String(), "danube broker serving ") },
		"no URL printed; stdout %q stderr %q", &out, &errb)
	url := strings.Fields(out.String())[3]
	conn, err := grpc.NewClient(strings.TrimPrefix(url, "http://"), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := danubepb.NewProducerServiceClient(conn).CreateProducer(context.Background(),
		&danubepb.ProducerRequest{ProducerName: "p", TopicName: "/default/cli"}); err != nil {
		t.Fatalf("CreateProducer through %s: %v", url, err)
	}
	cancel()
	select {
	case code := <-done:
		if code != 0 || !strings.Contains(out.String(), "danube broker stopped") {
			t.Fatalf("code %d stdout %q stderr %q", code, out.String(), errb.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("broker did not stop")
	}
}
