package client

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/danube-console/danube-console/broker"
	"github.com/danube-console/danube-console/broker/brokertest"
)

// A token provider's failure fails the call with a retryable Unavailable carrying its text.
func TestTokenProviderFailureIsUnavailable(t *testing.T) {
	creds := tokenCreds{func(context.Context) (string, error) { return "", errors.New("vault sealed") }}
	_, err := creds.GetRequestMetadata(context.Background())
	if status.Code(err) != codes.Unavailable || !strings.Contains(err.Error(), "danube: getting the token: vault sealed") {
		t.Fatalf("GetRequestMetadata: %v", err)
	}
	if !retryable(context.Background(), err) {
		t.Fatal("a token provider failure is not retried")
	}
	md, err := tokenCreds{func(context.Context) (string, error) { return "t0k", nil }}.GetRequestMetadata(context.Background())
	if err != nil || md["authorization"] != "Bearer t0k" {
		t.Fatalf("metadata %v, %v", md, err)
	}
}

// A token file that cannot be read, or is empty halfway through a rotation, keeps serving the last token,
// warning once; a new token is picked up when the file is readable again.
func TestTokenFileKeepsLastGoodToken(t *testing.T) {
	path := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(path, []byte("first\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	o := DefaultOptions()
	if err := WithTokenFile(path)(&o); err != nil {
		t.Fatal(err)
	}
	tf := o.tokenFile
	tf.setLogger(slog.New(slog.NewTextHandler(&logs, nil)))
	get := func() (string, error) {
		tf.mu.Lock()
		tf.checked = time.Time{} // skip the once-a-second throttle
		tf.mu.Unlock()
		return o.Token(context.Background())
	}
	if tok, err := get(); tok != "first" || err != nil {
		t.Fatalf("token %q, %v", tok, err)
	}
	// Emptied (a rotation writing the file in place), then removed: the last token is kept.
	later := time.Now().Add(time.Minute)
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	_ = os.Chtimes(path, later, later)
	for range 3 {
		if tok, err := get(); tok != "first" || err != nil {
			t.Fatalf("empty file: token %q, %v", tok, err)
		}
	}
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if tok, err := get(); tok != "first" || err != nil {
			t.Fatalf("missing file: token %q, %v", tok, err)
		}
	}
	if n := strings.Count(logs.String(), "level=WARN"); n != 1 {
		t.Fatalf("%d warnings, want 1:\n%s", n, logs.String())
	}
	if err := os.WriteFile(path, []byte("second"), 0o600); err != nil {
		t.Fatal(err)
	}
	_ = os.Chtimes(path, later.Add(time.Minute), later.Add(time.Minute))
	if tok, err := get(); tok != "second" || err != nil {
		t.Fatalf("rotated file: token %q, %v", tok, err)
	}
	// A new failure after a recovery warns again.
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if tok, _ := get(); tok != "second" {
		t.Fatalf("token %q", tok)
	}
	if n := strings.Count(logs.String(), "level=WARN"); n != 2 {
		t.Fatalf("%d warnings, want 2:\n%s", n, logs.String())
	}
	// The option itself still needs a token to start with.
	if err := WithTokenFile(path)(&o); !errors.Is(err, ErrInvalidConfig) {
		t.Fatalf("WithTokenFile of a missing file: %v", err)
	}
}

// A token with a bare host:port service URL means TLS (system roots unless TLS options are given), as in
// the official clients; http:// keeps plain text and https:// is TLS.
func TestTokenTurnsTLSOnForBareURL(t *testing.T) {
	for _, c := range []struct {
		url  string
		opts []Option
		want string
		tls  bool
	}{
		{"127.0.0.1:6650", []Option{WithToken("t")}, "https://127.0.0.1:6650", true},
		{"broker.example:7000", []Option{WithTokenFunc(func(context.Context) (string, error) { return "t", nil })}, "https://broker.example:7000", true},
		{"http://127.0.0.1:6650", []Option{WithToken("t")}, "http://127.0.0.1:6650", false},
		{"https://127.0.0.1:6650", []Option{WithToken("t")}, "https://127.0.0.1:6650", true},
		{"127.0.0.1:6650", nil, "http://127.0.0.1:6650", false},
	} {
		c2, err := Connect(context.Background(), c.url, c.opts...)
		if err != nil {
			t.Fatal(err)
		}
		if c2.ServiceURL() != c.want || (c2.opts.TLS != nil) != c.tls {
			t.Errorf("Connect(%s): %s, TLS %v; want %s, %v", c.url, c2.ServiceURL(), c2.opts.TLS != nil, c.want, c.tls)
		}
		if c.tls && c2.opts.TLS.RootCAs != nil {
			t.Errorf("Connect(%s): not the system roots", c.url)
		}
		c2.Close()
	}

	// Against brokers: a token over a bare host:port is refused by a plain-text broker (the client speaks
	// TLS), works with a TLS broker whose CA is given, and http:// keeps plain text.
	secret := []byte("tls token secret")
	tok, err := broker.NewToken(secret, "tester", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	plain := brokertest.Run(t, broker.Options{JWTSecret: secret, SuperAdmins: []string{"tester"}, AdminPort: -1})
	ctNewProducerOn(t, brokertest.Dial(t, plain), plain.URL(), tok, "/default/bare", "p", true)
	fast := WithRetry(RetryPolicy{MaxRetries: 1, BaseBackoff: 10 * time.Millisecond})
	bare := ctClient(t, plain.Addr().String(), WithToken(tok), fast)
	if _, err := bare.Partitions(ctCtx(t), "/default/bare"); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("token over a bare host:port to a plain-text broker: %v, want a TLS failure", err)
	}
	explicit := ctClient(t, "http://"+plain.Addr().String(), WithToken(tok))
	if parts, err := explicit.Partitions(ctCtx(t), "/default/bare"); err != nil || len(parts) != 1 {
		t.Fatalf("token over http://: %v, %v", parts, err)
	}

	serverTLS, _, caFile := ctTLS(t)
	secure := brokertest.Run(t, broker.Options{TLS: serverTLS, JWTSecret: secret, SuperAdmins: []string{"tester"}, AdminPort: -1})
	c := ctClient(t, secure.Addr().String(), WithToken(tok), WithCAFile(caFile))
	p := prodTestProducer(t, c, ProducerConfig{Topic: "/default/secure"})
	if _, err := p.Send(ctCtx(t), []byte("x")); err != nil {
		t.Fatalf("token and CA over a bare host:port to a TLS broker: %v", err)
	}
}
