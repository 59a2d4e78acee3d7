package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/danube-console/danube-console/internal/testenv"
	"github.com/danube-console/danube-console/proto/danubepb"
)

// syncBuffer is a buffer a command writes while the test reads it.
type syncBuffer = testenv.SyncBuffer

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
	} {
		var out, errb bytes.Buffer
		code := run(context.Background(), inMemory(append([]string{"broker"}, tc.args...)), &out, &errb)
		if code != 2 || !strings.Contains(errb.String(), tc.want) {
			t.Errorf("broker %v: code %d, stderr %q, want code 2 and %q", tc.args, code, errb.String(), tc.want)
		}
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

	var url string
	deadline := time.Now().Add(5 * time.Second)
	for url == "" {
		if s := out.String(); strings.HasPrefix(s, "danube broker serving ") {
			url = strings.Fields(s)[3]
		}
		if time.Now().After(deadline) {
			t.Fatalf("no URL printed; stdout %q stderr %q", out.String(), errb.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
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

// TestBrokerBinaryStopsOnSignals builds the binary and checks that SIGINT and SIGTERM stop the broker cleanly.
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
			deadline := time.Now().Add(10 * time.Second)
			for !strings.Contains(out.String(), "danube broker serving http://127.0.0.1:") {
				if time.Now().After(deadline) {
					cmd.Process.Kill()
					t.Fatalf("no URL printed; stdout %q stderr %q", out.String(), errb.String())
				}
				time.Sleep(10 * time.Millisecond)
			}
			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			if err := cmd.Wait(); err != nil {
				t.Fatalf("exit: %v; stderr %q", err, errb.String())
			}
			if !strings.Contains(out.String(), "danube broker stopped") {
				t.Fatalf("stdout %q", out.String())
			}
		})
	}
}

var (
	binOnce sync.Once
	binDir  string
	binPath string
	binErr  error
)

// buildBinary builds danube-console once per test run and returns its path.
func buildBinary(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		if binDir, binErr = os.MkdirTemp("", "danube-console-test"); binErr != nil {
			return
		}
		binPath = filepath.Join(binDir, "danube-console")
		if out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput(); err != nil {
			binErr = fmt.Errorf("go build: %w\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}
