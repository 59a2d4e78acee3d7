package testenv

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/api"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"
)

// PrometheusScrapeInterval is how often a Prometheus started by NewPrometheus scrapes its targets.
const PrometheusScrapeInterval = 500 * time.Millisecond

// Prometheus is a Prometheus server started for a test, scraping the targets it was given. It is safe for
// use by several goroutines.
type Prometheus struct {
	port int
	log  *SyncBuffer
	proc *process
	http *http.Client // its own transport, whose idle connections go with the server
	api  promv1.API
}

// NewPrometheus writes a prometheus.yml in a temporary directory with one job, "danube", scraping the given
// targets ("host:port", path /metrics) every PrometheusScrapeInterval, starts Debian's prometheus server on
// a free port of 127.0.0.1 with its storage in that directory, and waits until it is ready. t.Cleanup stops
// it and removes the directory. The binary is looked up on PATH and in /usr/bin; when it is missing the test
// fails with a message saying to run `make deps`.
func NewPrometheus(t testing.TB, targets ...string) *Prometheus {
	t.Helper()
	bin, ok := findBinary("prometheus", "/usr/bin", "/usr/local/bin")
	if !ok {
		t.Fatal("testenv: prometheus is not installed (not on PATH nor in /usr/bin): run `make deps`")
	}
	dir, err := os.MkdirTemp("", "testenv-prometheus-")
	if err != nil {
		t.Fatalf("testenv: prometheus: %v", err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	quoted := make([]string, len(targets))
	for i, tg := range targets {
		quoted[i] = strconv.Quote(tg)
	}
	conf := fmt.Sprintf(`global:
  scrape_interval: %[1]s
  scrape_timeout: %[1]s
  evaluation_interval: %[1]s
scrape_configs:
  - job_name: danube
    metrics_path: /metrics
    static_configs:
      - targets: [%[2]s]
`, model.Duration(PrometheusScrapeInterval), strings.Join(quoted, ", "))
	confPath := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		t.Fatalf("testenv: prometheus: %v", err)
	}
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	p := &Prometheus{log: &SyncBuffer{}, http: &http.Client{Transport: tr, Timeout: 10 * time.Second}}
	p.port, err = onFreePort(func(port int) error {
		p.port = port
		cmd := exec.Command(bin, "--config.file="+confPath, "--storage.tsdb.path="+filepath.Join(dir, "data"),
			"--web.listen-address="+net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), "--log.level=warn")
		cmd.Dir = dir // the default console templates paths are relative
		cmd.Stdout, cmd.Stderr = p.log, p.log
		proc, err := startProcess(cmd, syscall.SIGKILL)
		if err != nil {
			return err
		}
		if err := p.waitReady(proc); err != nil {
			proc.stop(syscall.SIGKILL, 0)
			return err
		}
		p.proc = proc
		return nil
	})
	if err != nil {
		t.Fatalf("testenv: prometheus did not start: %v\n%s", err, tail(p.log.String(), 20))
	}
	t.Cleanup(func() { p.proc.stop(syscall.SIGTERM, 10*time.Second) })
	client, err := api.NewClient(api.Config{Address: p.URL(), Client: p.http})
	if err != nil {
		t.Fatalf("testenv: prometheus client: %v", err)
	}
	p.api = promv1.NewAPI(client)
	return p
}

// waitReady waits until the server answers /-/ready with 200, the process exits, or startTimeout passes.
func (p *Prometheus) waitReady(proc *process) error {
	if err := waitPort(net.JoinHostPort("127.0.0.1", strconv.Itoa(p.port)), proc.exited, startTimeout); err != nil {
		return err
	}
	deadline := time.Now().Add(startTimeout)
	for {
		resp, err := p.http.Get(p.URL() + "/-/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-proc.exited:
			return fmt.Errorf("prometheus exited before it was ready")
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("prometheus not ready after %v (last: %v)", startTimeout, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// URL returns the server's base URL, "http://127.0.0.1:PORT".
func (p *Prometheus) URL() string {
	return "http://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(p.port))
}

// Log returns what the server logged so far.
func (p *Prometheus) Log() string { return p.log.String() }

// Query evaluates an instant PromQL query at the current time through the HTTP API (/api/v1/query).
func (p *Prometheus) Query(ctx context.Context, q string) (model.Value, error) {
	v, _, _, err := p.api.Query(ctx, q, time.Now())
	if err != nil {
		return nil, fmt.Errorf("prometheus query %s: %w", q, err)
	}
	return v, nil
}

// QueryRange evaluates a PromQL range query (/api/v1/query_range) over the last d, one point per step.
func (p *Prometheus) QueryRange(ctx context.Context, q string, d, step time.Duration) (model.Value, error) {
	now := time.Now()
	v, _, _, err := p.api.QueryRange(ctx, q, promv1.Range{Start: now.Add(-d), End: now, Step: step})
	if err != nil {
		return nil, fmt.Errorf("prometheus range query %s: %w", q, err)
	}
	return v, nil
}
