package cli

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/danube-console/danube-console/broker"
	"github.com/danube-console/danube-console/broker/brokertest"
	"github.com/danube-console/danube-console/broker/store/disk"
	"github.com/danube-console/danube-console/internal/testenv"
	"github.com/danube-console/danube-console/proto/adminpb"
	"github.com/danube-console/danube-console/proto/danubepb"
)

// Tests of "danube-console broker" security, admin and metrics flags and of "broker token".

// runCmd runs the command line to completion and returns its exit code, stdout and stderr.
func runCmd(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), inMemory(args), &out, &errb)
	return code, out.String(), errb.String()
}

// inMemory adds --ephemeral to a "broker" command line, so that tests never write ./danube-data.
func inMemory(args []string) []string {
	if len(args) == 0 || args[0] != "broker" || (len(args) > 1 && args[1] == "token") {
		return args
	}
	return append([]string{"broker", "--ephemeral"}, args[1:]...)
}

// clearSecretEnv makes sure $DANUBE_JWT_SECRET from the environment does not leak into a test.
func clearSecretEnv(t *testing.T) { t.Setenv(jwtSecretEnv, "") }

// cliBroker is a "broker" command running in the background.
type cliBroker struct {
	out, errb *syncBuffer
	cancel    context.CancelFunc
	done      chan int
	code      int
	exited    bool
}

// startCLI runs "danube-console broker args..." until the test ends, and waits until it prints its URL.
func startCLI(t *testing.T, args ...string) *cliBroker {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	b := &cliBroker{out: &syncBuffer{}, errb: &syncBuffer{}, cancel: cancel, done: make(chan int, 1)}
	go func() { b.done <- run(ctx, inMemory(append([]string{"broker"}, args...)), b.out, b.errb) }()
	t.Cleanup(func() { b.stop(t) })
	testenv.Eventually(t, 10*time.Second, func() bool {
		select {
		case code := <-b.done:
			b.exited, b.code = true, code
			return true
		default:
		}
		return strings.Contains(b.out.String(), "danube broker serving ")
	}, "broker %v printed no URL; stdout %q stderr %q", args, b.out, b.errb)
	if b.exited {
		t.Fatalf("broker %v exited with %d; stdout %q stderr %q", args, b.code, b.out.String(), b.errb.String())
	}
	return b
}

// stop cancels the command (as SIGINT does) and returns its exit code.
func (b *cliBroker) stop(t *testing.T) int {
	t.Helper()
	if b.exited {
		return b.code
	}
	b.cancel()
	select {
	case b.code = <-b.done:
		b.exited = true
	case <-time.After(15 * time.Second):
		t.Fatal("broker did not stop")
	}
	return b.code
}

// field returns the word after prefix on the first stdout line that starts with prefix.
func (b *cliBroker) field(t *testing.T, prefix string) string {
	t.Helper()
	for _, line := range strings.Split(b.out.String(), "\n") {
		if rest, ok := strings.CutPrefix(line, prefix); ok {
			return strings.Fields(rest)[0]
		}
	}
	t.Fatalf("no line starting with %q in stdout %q", prefix, b.out.String())
	return ""
}

func dialURL(t *testing.T, url string, creds credentials.TransportCredentials) *grpc.ClientConn {
	t.Helper()
	addr := strings.TrimPrefix(strings.TrimPrefix(url, "https://"), "http://")
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(creds))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

func callCtx(t *testing.T, token string) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	t.Cleanup(cancel)
	if token != "" {
		c = metadata.AppendToOutgoingContext(c, "authorization", "Bearer "+token)
	}
	return c
}

// lookupWith calls TopicPartitions on a broker with token ("" for none).
func lookupWith(t *testing.T, srv *broker.Server, token string) error {
	t.Helper()
	c := brokertest.Dial(t, srv)
	_, err := c.Discovery.TopicPartitions(callCtx(t, token), &danubepb.TopicLookupRequest{Topic: "/default/x"})
	return err
}

func TestBrokerTokenCommand(t *testing.T) {
	clearSecretEnv(t)
	code, out, errOut := runCmd(t, "broker", "token", "--subject", "ops", "--jwt-secret", "s3cret", "--ttl", "90m")
	if code != 0 || errOut != "" || strings.Count(out, "\n") != 1 {
		t.Fatalf("broker token: code %d stdout %q stderr %q", code, out, errOut)
	}
	tok := strings.TrimSpace(out)

	// A broker with the same secret accepts it; one with another secret does not.
	if err := lookupWith(t, brokertest.Run(t, broker.Options{JWTSecret: []byte("s3cret"), SuperAdmins: []string{"ops"}}), tok); err != nil {
		t.Fatalf("broker with the same secret refused the token: %v", err)
	}
	other := brokertest.Run(t, broker.Options{JWTSecret: []byte("other")})
	if err := lookupWith(t, other, tok); status.Code(err) != codes.Unauthenticated || status.Convert(err).Message() != "Invalid token" {
		t.Fatalf("broker with another secret: %v, want Unauthenticated Invalid token", err)
	}

	var c broker.Claims
	if _, err := jwt.ParseWithClaims(tok, &c, func(*jwt.Token) (any, error) { return []byte("s3cret"), nil }); err != nil {
		t.Fatal(err)
	}
	if c.Subject != "ops" || c.ExpiresAt == nil {
		t.Fatalf("claims %+v", c)
	}
	if left := time.Until(c.ExpiresAt.Time); left < 89*time.Minute || left > 91*time.Minute {
		t.Fatalf("token valid for %v, want 90m", left)
	}
}

func TestBrokerTokenSecretFromEnv(t *testing.T) {
	t.Setenv(jwtSecretEnv, "from-env")
	code, out, errOut := runCmd(t, "broker", "token", "--subject", "ops")
	if code != 0 {
		t.Fatalf("code %d stderr %q", code, errOut)
	}
	if err := lookupWith(t, brokertest.Run(t, broker.Options{JWTSecret: []byte("from-env"), SuperAdmins: []string{"ops"}}), strings.TrimSpace(out)); err != nil {
		t.Fatalf("token minted with $%s refused: %v", jwtSecretEnv, err)
	}
	// --jwt-secret wins over the environment.
	code, out, _ = runCmd(t, "broker", "token", "--subject", "ops", "--jwt-secret", "from-flag")
	if code != 0 {
		t.Fatal(code)
	}
	if err := lookupWith(t, brokertest.Run(t, broker.Options{JWTSecret: []byte("from-flag"), SuperAdmins: []string{"ops"}}), strings.TrimSpace(out)); err != nil {
		t.Fatalf("token minted with --jwt-secret refused: %v", err)
	}
}

func TestBrokerTokenUsageErrors(t *testing.T) {
	clearSecretEnv(t)
	const need = "danube-console broker token: --subject and a secret (--jwt-secret-file, $DANUBE_JWT_SECRET or --jwt-secret) are required\n"
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--jwt-secret", "s"}, need},
		{[]string{"--subject", "x"}, need},
		{nil, need},
		{[]string{"--subject", "", "--jwt-secret", "s"}, need},
		{[]string{"--subject", "x", "--jwt-secret", "s", "--ttl", "0s"}, "a token needs a subject and a positive lifetime"},
		{[]string{"--subject", "x", "--jwt-secret", "s", "--ttl", "-1h"}, "a token needs a subject and a positive lifetime"},
		{[]string{"--subject", "x", "--jwt-secret", "s", "--ttl", "soon"}, `invalid argument "soon"`},
		{[]string{"--bogus"}, "unknown flag: --bogus"},
	} {
		code, out, errOut := runCmd(t, append([]string{"broker", "token"}, tc.args...)...)
		if code != 2 || out != "" || !strings.Contains(errOut, tc.want) {
			t.Errorf("broker token %q: code %d stdout %q stderr %q, want code 2 and %q", tc.args, code, out, errOut, tc.want)
		}
	}
	if code, _, errOut := runCmd(t, "broker", "token", "--help"); code != 0 || !strings.Contains(errOut, "Usage: danube-console broker token") {
		t.Fatalf("broker token --help: code %d stderr %q", code, errOut)
	}
}

// TestBrokerJWTSecretFromEnv runs the broker with the secret in $DANUBE_JWT_SECRET only.
func TestBrokerJWTSecretFromEnv(t *testing.T) {
	t.Setenv(jwtSecretEnv, "env-secret")
	b := startCLI(t, "--port", "0", "--admin-port", "0", "--log-level", "warn", "--super-admin", "me")
	url := b.field(t, "danube broker serving ")
	disc := danubepb.NewDiscoveryClient(dialURL(t, url, insecure.NewCredentials()))
	_, err := disc.TopicPartitions(callCtx(t, ""), &danubepb.TopicLookupRequest{Topic: "/default/x"})
	if status.Code(err) != codes.Unauthenticated || status.Convert(err).Message() != "Authentication credentials are missing" {
		t.Fatalf("call without a token: %v", err)
	}
	tok, err := broker.NewToken([]byte("env-secret"), "me", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := disc.TopicPartitions(callCtx(t, tok), &danubepb.TopicLookupRequest{Topic: "/default/x"}); err != nil {
		t.Fatalf("call with a token for $%s: %v", jwtSecretEnv, err)
	}
	admin := adminpb.NewBrokerAdminClient(dialURL(t, b.field(t, "admin API at "), insecure.NewCredentials()))
	if _, err := admin.ListBrokers(callCtx(t, ""), &adminpb.Empty{}); status.Code(err) != codes.Unauthenticated {
		t.Fatalf("admin call without a token: %v", err)
	}
	if _, err := admin.ListBrokers(callCtx(t, tok), &adminpb.Empty{}); err != nil {
		t.Fatalf("admin call with a token: %v", err)
	}
	if code := b.stop(t); code != 0 {
		t.Fatalf("exit code %d; stderr %q", code, b.errb.String())
	}
}

func TestBrokerRefusesInsecureHost(t *testing.T) {
	clearSecretEnv(t)
	for _, args := range [][]string{
		{"--host", "0.0.0.0"},
		{"--host", "0.0.0.0", "--jwt-secret", "s"}, // JWT without TLS
	} {
		code, out, errOut := runCmd(t, append([]string{"broker", "--port", "0", "--admin-port", "0"}, args...)...)
		if code != 2 || out != "" || !strings.HasPrefix(errOut, "danube-console broker: ") || !strings.Contains(errOut, "--allow-insecure") ||
			!strings.Contains(errOut, "0.0.0.0") {
			t.Errorf("broker %q: code %d stdout %q stderr %q, want code 2 and a hint at --allow-insecure", args, code, out, errOut)
		}
	}
}

func TestBrokerAllowInsecureWarns(t *testing.T) {
	clearSecretEnv(t)
	b := startCLI(t, "--host", "0.0.0.0", "--port", "0", "--admin-port", "0", "--allow-insecure", "--log-level", "error")
	url := b.field(t, "danube broker serving ")
	want := "WARNING: serving " + url + " without TLS and authentication (--allow-insecure): anyone who can reach it can read and write every topic\n"
	if !strings.Contains(b.errb.String(), want) {
		t.Fatalf("stderr %q lacks %q", b.errb.String(), want)
	}
	// It does serve, on every interface (reached here over loopback).
	port := url[strings.LastIndex(url, ":")+1:]
	conn := dialURL(t, "http://127.0.0.1:"+port, insecure.NewCredentials())
	if _, err := danubepb.NewProducerServiceClient(conn).CreateProducer(callCtx(t, ""),
		&danubepb.ProducerRequest{ProducerName: "p", TopicName: "/default/open"}); err != nil {
		t.Fatalf("CreateProducer: %v", err)
	}
	if code := b.stop(t); code != 0 {
		t.Fatalf("exit code %d", code)
	}
}

func TestBrokerBusyAdminPort(t *testing.T) {
	clearSecretEnv(t)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer lis.Close()
	port := strconv.Itoa(lis.Addr().(*net.TCPAddr).Port)
	code, out, errOut := runCmd(t, "broker", "--port", "0", "--admin-port", port)
	want := "danube-console broker: admin port " + port + " on 127.0.0.1 is already in use; choose another with --admin-port (or -1 to disable it)\n"
	if code != 1 || !strings.Contains(errOut, want) || strings.Contains(out, "serving") {
		t.Fatalf("code %d stdout %q stderr %q, want code 1 and %q", code, out, errOut, want)
	}
}

// A data directory another broker (or console) has open is refused with what to do.
func TestBrokerDataDirInUse(t *testing.T) {
	clearSecretEnv(t)
	dir := t.TempDir()
	st, err := disk.Open(dir, disk.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var out, errb syncBuffer // not runCmd: it adds --ephemeral
	code := run(context.Background(), []string{"broker", "--port", "0", "--admin-port", "-1", "--data-dir", dir}, &out, &errb)
	errOut := errb.String()
	want := "--data-dir " + dir + " is used by another danube-console or broker: stop it, or give another --data-dir (or --ephemeral)"
	if code != 1 || !strings.Contains(errOut, want) {
		t.Fatalf("code %d stderr %q, want code 1 and %q", code, errOut, want)
	}
}

func TestBrokerBusyMetricsAddr(t *testing.T) {
	clearSecretEnv(t)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer lis.Close()
	addr := lis.Addr().String()
	code, _, errOut := runCmd(t, "broker", "--port", "0", "--admin-port", "0", "--metrics-addr", addr)
	want := "danube-console broker: metrics address " + addr + " is already in use; choose another with --metrics-addr\n"
	if code != 1 || !strings.Contains(errOut, want) {
		t.Fatalf("code %d stderr %q, want code 1 and %q", code, errOut, want)
	}
}

func TestBrokerAdminPortFlag(t *testing.T) {
	clearSecretEnv(t)
	b := startCLI(t, "--port", "0", "--admin-port", "0", "--log-level", "error")
	adminURL := b.field(t, "admin API at ")
	url := b.field(t, "danube broker serving ")
	if !strings.HasPrefix(adminURL, "http://127.0.0.1:") || adminURL == url {
		t.Fatalf("admin URL %q (client URL %q)", adminURL, url)
	}
	resp, err := adminpb.NewBrokerAdminClient(dialURL(t, adminURL, insecure.NewCredentials())).ListBrokers(callCtx(t, ""), &adminpb.Empty{})
	if err != nil || len(resp.Brokers) != 1 || resp.Brokers[0].BrokerAddr != url || resp.Brokers[0].AdminAddr != adminURL {
		t.Fatalf("ListBrokers through the printed admin URL: %v %v", resp, err)
	}
	b.stop(t)

	// -1 disables the admin port: no admin line.
	b = startCLI(t, "--port", "0", "--admin-port", "-1", "--log-level", "error")
	if strings.Contains(b.out.String(), "admin API") {
		t.Fatalf("stdout %q mentions an admin API with --admin-port -1", b.out.String())
	}
}

func TestBrokerMetricsAddrFlag(t *testing.T) {
	clearSecretEnv(t)
	b := startCLI(t, "--port", "0", "--admin-port", "0", "--metrics-addr", "127.0.0.1:0", "--log-level", "error")
	metricsURL := b.field(t, "metrics at ")
	if !strings.HasPrefix(metricsURL, "http://127.0.0.1:") || !strings.HasSuffix(metricsURL, "/metrics") ||
		strings.HasPrefix(metricsURL, "http://127.0.0.1:0/") {
		t.Fatalf("metrics URL %q", metricsURL)
	}
	resp, err := http.Get(metricsURL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	// Every series carries the broker id, as the real broker's do.
	if resp.StatusCode != http.StatusOK || !regexp.MustCompile(`(?m)^danube_topic_active_producers\{broker="[0-9]+",topic="/system/_events_topic"\} 0$`).Match(body) {
		t.Fatalf("GET %s: %s\n%s", metricsURL, resp.Status, body)
	}
	// Without the flag there is no metrics line.
	b2 := startCLI(t, "--port", "0", "--admin-port", "0", "--log-level", "error")
	if strings.Contains(b2.out.String(), "metrics at") {
		t.Fatalf("stdout %q", b2.out.String())
	}
}

func TestBrokerTLSFlagErrors(t *testing.T) {
	clearSecretEnv(t)
	dir := t.TempDir()
	pki := writePKI(t, dir)
	garbage := filepath.Join(dir, "garbage.pem")
	if err := os.WriteFile(garbage, []byte("not a certificate\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing.pem")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--tls-cert", pki.serverCert}, "danube-console broker: --tls-cert and --tls-key go together\n"},
		{[]string{"--tls-key", pki.serverKey}, "danube-console broker: --tls-cert and --tls-key go together\n"},
		{[]string{"--tls-client-ca", pki.ca}, "danube-console broker: --tls-cert and --tls-key go together\n"},
		{[]string{"--tls-cert", pki.serverCert, "--tls-key", pki.serverKey, "--tls-client-ca", garbage},
			"danube-console broker: --tls-client-ca: " + garbage + " holds no PEM certificate\n"},
		{[]string{"--tls-cert", pki.serverCert, "--tls-key", pki.serverKey, "--tls-client-ca", missing},
			"danube-console broker: --tls-client-ca: open " + missing + ": no such file or directory\n"},
		{[]string{"--tls-cert", garbage, "--tls-key", pki.serverKey}, "danube-console broker: --tls-cert/--tls-key: "},
		{[]string{"--tls-cert", pki.serverCert, "--tls-key", pki.clientKey}, "danube-console broker: --tls-cert/--tls-key: "},
		{[]string{"--tls-cert", missing, "--tls-key", pki.serverKey}, "danube-console broker: --tls-cert/--tls-key: open " + missing},
		{[]string{"--peer-tls-ca", pki.ca}, "danube-console broker: --peer-tls-ca, --peer-tls-cert and --peer-tls-key need --tls-cert"},
		{[]string{"--tls-cert", pki.serverCert, "--tls-key", pki.serverKey, "--peer-tls-ca", garbage},
			"danube-console broker: --peer-tls-ca: " + garbage + " holds no PEM certificate\n"},
		{[]string{"--tls-cert", pki.serverCert, "--tls-key", pki.serverKey, "--peer-tls-cert", pki.serverCert},
			"danube-console broker: --peer-tls-cert and --peer-tls-key go together\n"},
		{[]string{"--tls-cert", pki.serverCert, "--tls-key", pki.serverKey, "--peer-tls-cert", pki.serverCert, "--peer-tls-key", pki.clientKey},
			"danube-console broker: --peer-tls-cert/--peer-tls-key: "},
	} {
		code, out, errOut := runCmd(t, append([]string{"broker", "--port", "0", "--admin-port", "0"}, tc.args...)...)
		if code != 2 || out != "" || !strings.Contains(errOut, tc.want) {
			t.Errorf("broker %q: code %d stdout %q stderr %q, want code 2 and %q", tc.args, code, out, errOut, tc.want)
		}
	}
}

// TestBrokerSecureFlags runs the broker with TLS, mutual TLS and JWT from the command line and talks to it
// the way a secured client does.
func TestBrokerSecureFlags(t *testing.T) {
	clearSecretEnv(t)
	dir := t.TempDir()
	pki := writePKI(t, dir)
	b := startCLI(t, "--port", "0", "--admin-port", "0", "--log-level", "error",
		"--tls-cert", pki.serverCert, "--tls-key", pki.serverKey, "--tls-client-ca", pki.ca, "--jwt-secret", "cli-secret",
		"--super-admin", "cli")
	url := b.field(t, "danube broker serving ")
	adminURL := b.field(t, "admin API at ")
	if !strings.HasPrefix(url, "https://127.0.0.1:") || !strings.HasPrefix(adminURL, "https://127.0.0.1:") {
		t.Fatalf("URLs %q and %q are not https", url, adminURL)
	}
	if strings.Contains(b.errb.String(), "WARNING") {
		t.Fatalf("secure broker warned: %q", b.errb.String())
	}
	code, out, _ := runCmd(t, "broker", "token", "--subject", "cli", "--jwt-secret", "cli-secret")
	if code != 0 {
		t.Fatal(code)
	}
	tok := strings.TrimSpace(out)
	mtls := credentials.NewTLS(&tls.Config{RootCAs: pki.pool, Certificates: []tls.Certificate{pki.client}})

	disc := danubepb.NewDiscoveryClient(dialURL(t, url, mtls))
	if _, err := danubepb.NewProducerServiceClient(dialURL(t, url, mtls)).CreateProducer(callCtx(t, tok),
		&danubepb.ProducerRequest{ProducerName: "p", TopicName: "/default/secure"}); err != nil {
		t.Fatalf("CreateProducer with a client certificate and a token: %v", err)
	}
	look, err := disc.TopicLookup(callCtx(t, tok), &danubepb.TopicLookupRequest{Topic: "/default/secure"})
	if err != nil || look.ConnectUrl != url {
		t.Fatalf("TopicLookup = %v %v, want connect URL %s", look, err, url)
	}
	if _, err := adminpb.NewBrokerAdminClient(dialURL(t, adminURL, mtls)).ListBrokers(callCtx(t, tok), &adminpb.Empty{}); err != nil {
		t.Fatalf("admin ListBrokers: %v", err)
	}
	// Each layer refuses on its own.
	_, err = disc.TopicLookup(callCtx(t, ""), &danubepb.TopicLookupRequest{Topic: "/default/secure"})
	if status.Code(err) != codes.Unauthenticated {
		t.Fatalf("without a token: %v", err)
	}
	noCert := danubepb.NewDiscoveryClient(dialURL(t, url, credentials.NewTLS(&tls.Config{RootCAs: pki.pool})))
	if _, err := noCert.TopicLookup(callCtx(t, tok), &danubepb.TopicLookupRequest{Topic: "/default/secure"}); status.Code(err) != codes.Unavailable {
		t.Fatalf("without a client certificate: %v", err)
	}
	plain := danubepb.NewDiscoveryClient(dialURL(t, url, insecure.NewCredentials()))
	if _, err := plain.TopicLookup(callCtx(t, tok), &danubepb.TopicLookupRequest{Topic: "/default/secure"}); status.Code(err) != codes.Unavailable {
		t.Fatalf("plain text: %v", err)
	}
	// TLS and JWT together may listen beyond loopback without --allow-insecure.
	b2 := startCLI(t, "--host", "0.0.0.0", "--port", "0", "--admin-port", "0", "--log-level", "error",
		"--tls-cert", pki.serverCert, "--tls-key", pki.serverKey, "--jwt-secret", "cli-secret")
	if strings.Contains(b2.errb.String(), "WARNING") || !strings.HasPrefix(b2.field(t, "danube broker serving "), "https://") {
		t.Fatalf("stdout %q stderr %q", b2.out.String(), b2.errb.String())
	}
}

// TestBrokerPeersOverTLS starts two brokers with TLS and a JWT secret from the command line, the second with
// the first as a peer verified by --peer-tls-ca: the second lists both.
func TestBrokerPeersOverTLS(t *testing.T) {
	clearSecretEnv(t)
	pki := writePKI(t, t.TempDir())
	common := []string{"--port", "0", "--admin-port", "0", "--log-level", "error", "--tls-cert", pki.serverCert,
		"--tls-key", pki.serverKey, "--jwt-secret", "cli-secret", "--super-admin", "cli"}
	first := startCLI(t, common...)
	peerURL := first.field(t, "danube broker serving ")
	second := startCLI(t, append(common, "--peer", peerURL, "--peer-tls-ca", pki.ca)...)
	adminURL := second.field(t, "admin API at ")
	code, out, _ := runCmd(t, "broker", "token", "--subject", "cli", "--jwt-secret", "cli-secret")
	if code != 0 {
		t.Fatal(code)
	}
	creds := credentials.NewTLS(&tls.Config{RootCAs: pki.pool})
	resp, err := adminpb.NewBrokerAdminClient(dialURL(t, adminURL, creds)).ListBrokers(callCtx(t, strings.TrimSpace(out)), &adminpb.Empty{})
	if err != nil || len(resp.Brokers) != 2 {
		t.Fatalf("ListBrokers at the broker with a TLS peer = %v, %v; want both", resp, err)
	}
}

// cliPKI is a throwaway CA, a server certificate for 127.0.0.1 and a client certificate, written as PEM files.
type cliPKI struct {
	ca, serverCert, serverKey, clientKey string
	pool                                 *x509.CertPool
	client                               tls.Certificate
}

func writePKI(t *testing.T, dir string) cliPKI {
	t.Helper()
	newKey := func() *ecdsa.PrivateKey {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	caKey := newKey()
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "cli test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	leaf := func(serial int64, usage x509.ExtKeyUsage, ips []net.IP) ([]byte, *ecdsa.PrivateKey) {
		k := newKey()
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: "leaf"},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
			KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage}, IPAddresses: ips}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &k.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		return der, k
	}
	write := func(name, typ string, der []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	keyDER := func(k *ecdsa.PrivateKey) []byte {
		b, err := x509.MarshalECPrivateKey(k)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	srvDER, srvKey := leaf(2, x509.ExtKeyUsageServerAuth, []net.IP{net.ParseIP("127.0.0.1")})
	cliDER, cliKey := leaf(3, x509.ExtKeyUsageClientAuth, nil)
	p := cliPKI{
		ca:         write("ca.pem", "CERTIFICATE", caDER),
		serverCert: write("server.pem", "CERTIFICATE", srvDER),
		serverKey:  write("server-key.pem", "EC PRIVATE KEY", keyDER(srvKey)),
		clientKey:  write("client-key.pem", "EC PRIVATE KEY", keyDER(cliKey)),
		pool:       x509.NewCertPool(),
		client:     tls.Certificate{Certificate: [][]byte{cliDER}, PrivateKey: cliKey},
	}
	p.pool.AddCert(caCert)
	return p
}

// TestBrokerTokenRejectsExtraArguments checks that "broker token" refuses stray arguments, as "broker" does,
// instead of silently minting a token for something else than the user typed.
func TestBrokerTokenRejectsExtraArguments(t *testing.T) {
	clearSecretEnv(t)
	code, out, errOut := runCmd(t, "broker", "token", "--subject", "alice", "bob", "--jwt-secret", "s")
	if code != 2 || out != "" || !strings.Contains(errOut, `unexpected argument "bob"`) {
		t.Fatalf("broker token with a stray argument: code %d stdout %q stderr %q, want code 2 and unexpected argument \"bob\"",
			code, out, errOut)
	}
}
