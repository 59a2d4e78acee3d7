package broker_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"errors"
	"math/big"
	"net"
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
	"github.com/danube-console/danube-console/internal/testenv"
	"github.com/danube-console/danube-console/proto/adminpb"
	"github.com/danube-console/danube-console/proto/danubepb"
	"github.com/danube-console/danube-console/proto/schemapb"
)

// Authentication (Options.JWTSecret), TLS (Options.TLS) and the listening-address safety check.

var testSecret = []byte("the-broker-secret")

// alice is the super-admin of the brokers whose tests are about authentication: with authentication on,
// every call is also authorized, and a super-admin passes every check (authz_test.go tests the checks).
var alice = []string{"alice"}

// bearer returns a context whose calls carry "authorization: Bearer tok".
func bearer(t *testing.T, tok string) context.Context {
	return metadata.AppendToOutgoingContext(ctx(t), "authorization", "Bearer "+tok)
}

// withAuthorization returns a context whose calls carry the raw authorization header value.
func withAuthorization(t *testing.T, value string) context.Context {
	return metadata.AppendToOutgoingContext(ctx(t), "authorization", value)
}

func mustToken(t *testing.T, secret []byte, subject string, ttl time.Duration) string {
	t.Helper()
	tok, err := broker.NewToken(secret, subject, ttl)
	if err != nil {
		t.Fatalf("NewToken: %v", err)
	}
	return tok
}

// signed mints an HS256 token with exactly the given claims.
func signed(t *testing.T, secret []byte, claims jwt.MapClaims) string {
	t.Helper()
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(secret)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// authProbe makes one call of each kind the broker serves, with the context mk gives, and returns their
// errors by name: unary calls on the client port and on the admin port, the schema registry on both ports, and
// a server stream (whose status arrives with the first Recv).
func authProbe(t *testing.T, w *wire, a adminClients, mk func() context.Context) map[string]error {
	t.Helper()
	errs := map[string]error{}
	_, errs["client TopicLookup"] = w.Discovery.TopicLookup(mk(), &danubepb.TopicLookupRequest{Topic: "/default/auth"})
	_, errs["client CreateProducer"] = w.Producer.CreateProducer(mk(), &danubepb.ProducerRequest{ProducerName: "p", TopicName: "/default/auth"})
	_, errs["client HealthCheck"] = w.Health.HealthCheck(mk(), &danubepb.HealthCheckRequest{Id: 1})
	_, errs["client schema"] = w.Schema.GetLatestSchema(mk(), &schemapb.GetLatestSchemaRequest{Subject: "none"})
	_, errs["admin ListBrokers"] = a.Broker.ListBrokers(mk(), &adminpb.Empty{})
	_, errs["admin CreateTopic"] = a.Topic.CreateTopic(mk(), &adminpb.NewTopicRequest{Name: "/default/admin-auth"})
	_, errs["admin schema"] = a.Schema.GetLatestSchema(mk(), &schemapb.GetLatestSchemaRequest{Subject: "none"})
	rs, err := w.Consumer.ReceiveMessages(mk(), &danubepb.ReceiveRequest{ConsumerId: 1})
	if err == nil {
		_, err = rs.Recv()
	}
	errs["client ReceiveMessages"] = err
	return errs
}

func wantAllStatus(t *testing.T, errs map[string]error, code codes.Code, msg string) {
	t.Helper()
	for name, err := range errs {
		if st, _ := status.FromError(err); err == nil || st.Code() != code || st.Message() != msg {
			t.Errorf("%s: got %v, want %v %q", name, err, code, msg)
		}
	}
}

func TestAuthMissingCredentials(t *testing.T) {
	w, a := newAdminWire(t, broker.Options{JWTSecret: testSecret})
	for name, mk := range map[string]func() context.Context{
		"no header":    func() context.Context { return ctx(t) },
		"empty bearer": func() context.Context { return withAuthorization(t, "Bearer ") },
		"basic scheme": func() context.Context { return withAuthorization(t, "Basic dXNlcjpwYXNz") },
		"bare token":   func() context.Context { return withAuthorization(t, mustToken(t, testSecret, "alice", time.Hour)) },
		// The real broker trusts this header without checking it; ours must not.
		"internal broker header": func() context.Context {
			return metadata.AppendToOutgoingContext(ctx(t), "x-danube-internal-broker", "broker/1")
		},
	} {
		t.Run(name, func(t *testing.T) {
			wantAllStatus(t, authProbe(t, w, a, mk), codes.Unauthenticated, "Authentication credentials are missing")
		})
	}
	// Nothing was created by the refused calls.
	if got := w.srv.TopicNames(); len(got) != 1 || got[0] != broker.EventsTopic {
		t.Fatalf("refused calls created topics: %q", got)
	}
}

func TestAuthInvalidTokens(t *testing.T) {
	w, a := newAdminWire(t, broker.Options{JWTSecret: testSecret})
	now := time.Now()
	hs512, err := jwt.NewWithClaims(jwt.SigningMethodHS512, jwt.MapClaims{"sub": "alice", "exp": now.Add(time.Hour).Unix()}).SignedString(testSecret)
	if err != nil {
		t.Fatal(err)
	}
	none, err := jwt.NewWithClaims(jwt.SigningMethodNone, jwt.MapClaims{"sub": "alice", "exp": now.Add(time.Hour).Unix()}).
		SignedString(jwt.UnsafeAllowNoneSignatureType)
	if err != nil {
		t.Fatal(err)
	}
	valid := mustToken(t, testSecret, "alice", time.Hour)
	parts := strings.Split(valid, ".")
	tampered := parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(`{"sub":"mallory","exp":`+
		uitoa(uint64(now.Add(time.Hour).Unix()))+`}`)) + "." + parts[2]
	for name, tok := range map[string]string{
		"garbage":         "not-a-jwt",
		"three garbage":   "a.b.c",
		"wrong secret":    mustToken(t, []byte("another-secret"), "alice", time.Hour),
		"expired":         signed(t, testSecret, jwt.MapClaims{"sub": "alice", "exp": now.Add(-time.Minute).Unix()}),
		"no exp":          signed(t, testSecret, jwt.MapClaims{"sub": "alice", "iss": broker.TokenIssuer}),
		"alg none":        none,
		"alg none unsig":  strings.TrimSuffix(none, "."),
		"HS512":           hs512,
		"tampered claims": tampered,
		"truncated":       valid[:len(valid)-3],
	} {
		t.Run(name, func(t *testing.T) {
			wantAllStatus(t, authProbe(t, w, a, func() context.Context { return bearer(t, tok) }),
				codes.Unauthenticated, "Invalid token")
		})
	}
}

func TestAuthValidToken(t *testing.T) {
	w, a := newAdminWire(t, broker.Options{JWTSecret: testSecret, SuperAdmins: alice})
	tok := mustToken(t, testSecret, "alice", time.Hour)
	auth := func() context.Context { return bearer(t, tok) }

	// Admin port: unary calls.
	if _, err := a.Broker.ListBrokers(auth(), &adminpb.Empty{}); err != nil {
		t.Fatalf("ListBrokers with a token: %v", err)
	}
	if _, err := a.Topic.CreateTopic(auth(), &adminpb.NewTopicRequest{Name: "/default/secure", DispatchStrategy: adminpb.DispatchStrategy_Reliable}); err != nil {
		t.Fatalf("CreateTopic with a token: %v", err)
	}
	if _, err := a.Schema.RegisterSchema(auth(), &schemapb.RegisterSchemaRequest{Subject: "s", SchemaType: "string"}); err != nil {
		t.Fatalf("RegisterSchema on the admin port with a token: %v", err)
	}
	// Client port: unary calls and a stream.
	look, err := w.Discovery.TopicLookup(auth(), &danubepb.TopicLookupRequest{Topic: "/default/secure"})
	if err != nil || look.BrokerUrl != w.srv.URL() {
		t.Fatalf("TopicLookup with a token: %v %v", look, err)
	}
	if _, err := w.Schema.GetLatestSchema(auth(), &schemapb.GetLatestSchemaRequest{Subject: "s"}); err != nil {
		t.Fatalf("GetLatestSchema on the client port with a token: %v", err)
	}
	pr, err := w.Producer.CreateProducer(auth(), &danubepb.ProducerRequest{ProducerName: "p", TopicName: "/default/secure",
		DispatchStrategy: danubepb.DispatchStrategy_Reliable})
	if err != nil {
		t.Fatalf("CreateProducer with a token: %v", err)
	}
	cr, err := w.Consumer.Subscribe(auth(), &danubepb.ConsumerRequest{TopicName: "/default/secure", ConsumerName: "c", Subscription: "s"})
	if err != nil {
		t.Fatalf("Subscribe with a token: %v", err)
	}
	sctx, cancel := context.WithCancel(metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+tok))
	defer cancel()
	rs, err := w.Consumer.ReceiveMessages(sctx, &danubepb.ReceiveRequest{ConsumerId: cr.ConsumerId})
	if err != nil {
		t.Fatalf("ReceiveMessages with a token: %v", err)
	}
	if _, err := w.Producer.SendMessage(auth(), &danubepb.StreamMessage{RequestId: 1, Payload: []byte("secret hello"),
		MsgId: &danubepb.MsgID{ProducerId: pr.ProducerId, TopicName: "/default/secure"}, ProducerName: "p"}); err != nil {
		t.Fatalf("SendMessage with a token: %v", err)
	}
	m, err := rs.Recv()
	if err != nil || string(m.Payload) != "secret hello" {
		t.Fatalf("Recv on an authenticated stream: %v %v", m, err)
	}
	if _, err := w.Consumer.Ack(auth(), &danubepb.AckRequest{MsgId: m.MsgId, SubscriptionName: "s"}); err != nil {
		t.Fatalf("Ack with a token: %v", err)
	}
	hc, err := w.Health.HealthCheck(auth(), &danubepb.HealthCheckRequest{Client: danubepb.HealthCheckRequest_Consumer, Id: cr.ConsumerId})
	if err != nil || hc.Status != danubepb.HealthCheckResponse_OK {
		t.Fatalf("HealthCheck with a token: %v %v", hc, err)
	}
	cancel()
	if _, err := rs.Recv(); status.Code(err) != codes.Canceled {
		t.Fatalf("stream after cancel: %v", err)
	}

	// A broker without a secret ignores any header, valid or not.
	open, oa := newAdminWire(t, broker.Options{})
	wantAllStatusOK(t, open, oa, func() context.Context { return bearer(t, "not-a-jwt") })
}

// wantAllStatusOK checks that the unary calls of authProbe are not refused for authentication.
func wantAllStatusOK(t *testing.T, w *wire, a adminClients, mk func() context.Context) {
	t.Helper()
	for name, err := range authProbe(t, w, a, mk) {
		if c := status.Code(err); c == codes.Unauthenticated || c == codes.FailedPrecondition && strings.Contains(err.Error(), "JWT") {
			t.Errorf("%s: refused with %v", name, err)
		}
	}
}

// TestAuthTokenExpiresWhileRemembered checks that a token the broker has already accepted (and remembers for
// up to 30 s) stops working when it expires.
func TestAuthTokenExpiresWhileRemembered(t *testing.T) {
	w := newWire(t, broker.Options{JWTSecret: testSecret, SuperAdmins: alice})
	// JWT times have whole seconds: the token is valid for 1–2 s from now.
	exp := time.Now().Truncate(time.Second).Add(2 * time.Second)
	tok := signed(t, testSecret, jwt.MapClaims{"sub": "alice", "exp": exp.Unix()})
	call := func() error {
		_, err := w.Discovery.TopicPartitions(bearer(t, tok), &danubepb.TopicLookupRequest{Topic: "/default/x"})
		return err
	}
	if err := call(); err != nil {
		t.Fatalf("call with a fresh token: %v", err)
	}
	if err := call(); err != nil {
		t.Fatalf("second call with a remembered token: %v", err)
	}
	testenv.Eventually(t, 5*time.Second, func() bool { return call() != nil }, "an expired token is still accepted")
	if time.Now().Before(exp) {
		t.Fatalf("token refused before it expired at %v", exp)
	}
	wantStatus(t, call(), codes.Unauthenticated, "Invalid token")
}

func TestNewToken(t *testing.T) {
	before := time.Now()
	tok, err := broker.NewToken(testSecret, "svc-orders", 90*time.Minute)
	if err != nil {
		t.Fatalf("NewToken: %v", err)
	}
	var c broker.Claims
	parsed, err := jwt.ParseWithClaims(tok, &c, func(*jwt.Token) (any, error) { return testSecret, nil },
		jwt.WithValidMethods([]string{"HS256"}), jwt.WithExpirationRequired())
	if err != nil || !parsed.Valid {
		t.Fatalf("parsing the token: %v", err)
	}
	if c.Issuer != broker.TokenIssuer || c.Subject != "svc-orders" || c.PrincipalType != "user" || c.PrincipalName != "svc-orders" {
		t.Fatalf("claims = %+v", c)
	}
	wantExp := before.Add(90 * time.Minute)
	if c.ExpiresAt == nil || c.ExpiresAt.Time.Before(wantExp.Add(-time.Second)) || c.ExpiresAt.Time.After(wantExp.Add(2*time.Second)) {
		t.Fatalf("exp = %v, want about %v", c.ExpiresAt, wantExp)
	}
	if c.IssuedAt == nil || c.IssuedAt.Time.Before(before.Add(-time.Second)) || c.IssuedAt.Time.After(time.Now().Add(time.Second)) {
		t.Fatalf("iat = %v", c.IssuedAt)
	}
	if alg := parsed.Header["alg"]; alg != "HS256" {
		t.Fatalf("alg = %v", alg)
	}

	for name, tc := range map[string]struct {
		secret  []byte
		subject string
		ttl     time.Duration
	}{
		"empty secret":  {nil, "a", time.Hour},
		"empty subject": {testSecret, "", time.Hour},
		"zero ttl":      {testSecret, "a", 0},
		"negative ttl":  {testSecret, "a", -time.Second},
	} {
		tok, err := broker.NewToken(tc.secret, tc.subject, tc.ttl)
		if !errors.Is(err, broker.ErrInvalidOptions) || tok != "" {
			t.Errorf("%s: NewToken = %q, %v; want ErrInvalidOptions", name, tok, err)
		}
	}
}

// ---- TLS ----

// testPKI is a throwaway certificate authority with a server certificate for 127.0.0.1 and a client
// certificate, all in memory.
type testPKI struct {
	caCert *x509.Certificate
	caKey  *ecdsa.PrivateKey
	pool   *x509.CertPool
	server tls.Certificate
	client tls.Certificate
}

func newPKI(t *testing.T) *testPKI {
	t.Helper()
	caKey := mustKey(t)
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "danube test CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	p := &testPKI{caCert: caCert, caKey: caKey, pool: x509.NewCertPool()}
	p.pool.AddCert(caCert)
	p.server = p.issue(t, "127.0.0.1", x509.ExtKeyUsageServerAuth, []net.IP{net.ParseIP("127.0.0.1")})
	p.client = p.issue(t, "danube client", x509.ExtKeyUsageClientAuth, nil)
	return p
}

func mustKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

var serial = big.NewInt(100)

// issue signs a leaf certificate with the CA.
func (p *testPKI) issue(t *testing.T, cn string, usage x509.ExtKeyUsage, ips []net.IP) tls.Certificate {
	t.Helper()
	key := mustKey(t)
	serial = new(big.Int).Add(serial, big.NewInt(1))
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{usage},
		IPAddresses:  ips,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.caCert, &key.PublicKey, p.caKey)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// dialConn connects to addr with the given transport credentials; the connection is closed when the test ends.
func dialConn(t *testing.T, addr string, creds credentials.TransportCredentials) *grpc.ClientConn {
	t.Helper()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(creds))
	if err != nil {
		t.Fatalf("grpc.NewClient(%s): %v", addr, err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// shortCtx bounds calls that are expected to fail at the transport level.
func shortCtx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	t.Cleanup(cancel)
	return c
}

func TestTLSServesTLSClients(t *testing.T) {
	pki := newPKI(t)
	srv := brokertest.Run(t, broker.Options{TLS: &tls.Config{Certificates: []tls.Certificate{pki.server}, MinVersion: tls.VersionTLS12}})
	if want := "https://" + srv.Addr().String(); srv.URL() != want {
		t.Fatalf("URL = %q, want %q", srv.URL(), want)
	}
	if want := "https://" + srv.AdminAddr().String(); srv.AdminURL() != want {
		t.Fatalf("AdminURL = %q, want %q", srv.AdminURL(), want)
	}
	trusting := credentials.NewTLS(&tls.Config{RootCAs: pki.pool})
	conn := dialConn(t, srv.Addr().String(), trusting)
	prod := danubepb.NewProducerServiceClient(conn)
	if _, err := prod.CreateProducer(ctx(t), &danubepb.ProducerRequest{ProducerName: "p", TopicName: "/default/tls"}); err != nil {
		t.Fatalf("CreateProducer over TLS: %v", err)
	}
	look, err := danubepb.NewDiscoveryClient(conn).TopicLookup(ctx(t), &danubepb.TopicLookupRequest{Topic: "/default/tls"})
	if err != nil {
		t.Fatalf("TopicLookup over TLS: %v", err)
	}
	if look.BrokerUrl != srv.URL() || look.ConnectUrl != srv.URL() || !strings.HasPrefix(look.ConnectUrl, "https://127.0.0.1:") {
		t.Fatalf("lookup over TLS answered %q / %q, want %s", look.BrokerUrl, look.ConnectUrl, srv.URL())
	}
	a := adminClientsOf(dialConn(t, srv.AdminAddr().String(), trusting))
	brokers, err := a.Broker.ListBrokers(ctx(t), &adminpb.Empty{})
	if err != nil || len(brokers.Brokers) != 1 || brokers.Brokers[0].BrokerAddr != srv.URL() || brokers.Brokers[0].AdminAddr != srv.AdminURL() {
		t.Fatalf("ListBrokers over TLS: %v %v", brokers, err)
	}

	// A plain-text client and a client that does not trust the CA get nowhere, on either port.
	for name, creds := range map[string]credentials.TransportCredentials{
		"plain text":  insecure.NewCredentials(),
		"unknown CA":  credentials.NewTLS(&tls.Config{RootCAs: x509.NewCertPool()}),
		"wrong name":  credentials.NewTLS(&tls.Config{RootCAs: pki.pool, ServerName: "broker.example"}),
		"other CA":    credentials.NewTLS(&tls.Config{RootCAs: newPKI(t).pool}),
		"system only": credentials.NewTLS(&tls.Config{}),
	} {
		for port, addr := range map[string]string{"client": srv.Addr().String(), "admin": srv.AdminAddr().String()} {
			c := dialConn(t, addr, creds)
			var err error
			if port == "client" {
				_, err = danubepb.NewProducerServiceClient(c).CreateProducer(shortCtx(t), &danubepb.ProducerRequest{ProducerName: "x", TopicName: "/default/plain"})
			} else {
				_, err = adminpb.NewBrokerAdminClient(c).ListBrokers(shortCtx(t), &adminpb.Empty{})
			}
			if status.Code(err) != codes.Unavailable {
				t.Errorf("%s client on the %s port: %v, want Unavailable", name, port, err)
			}
		}
	}
	if _, ok := srv.Topic("/default/plain"); ok {
		t.Fatal("a refused client created a topic")
	}
}

func TestMutualTLS(t *testing.T) {
	pki := newPKI(t)
	srv := brokertest.Run(t, broker.Options{SuperAdmins: []string{"danube client"}, TLS: &tls.Config{
		Certificates: []tls.Certificate{pki.server},
		ClientCAs:    pki.pool,
		ClientAuth:   tls.RequireAndVerifyClientCert,
		MinVersion:   tls.VersionTLS12,
	}})
	other := newPKI(t)
	call := func(creds credentials.TransportCredentials, addr string, admin bool) error {
		c := dialConn(t, addr, creds)
		if admin {
			_, err := adminpb.NewBrokerAdminClient(c).ListBrokers(shortCtx(t), &adminpb.Empty{})
			return err
		}
		_, err := danubepb.NewDiscoveryClient(c).TopicPartitions(shortCtx(t), &danubepb.TopicLookupRequest{Topic: "/default/x"})
		return err
	}
	for _, admin := range []bool{false, true} {
		addr := srv.Addr().String()
		if admin {
			addr = srv.AdminAddr().String()
		}
		if err := call(credentials.NewTLS(&tls.Config{RootCAs: pki.pool, Certificates: []tls.Certificate{pki.client}}), addr, admin); err != nil {
			t.Fatalf("admin=%v: client with a CA-signed certificate: %v", admin, err)
		}
		for name, cfg := range map[string]*tls.Config{
			"no certificate":   {RootCAs: pki.pool},
			"foreign cert":     {RootCAs: pki.pool, Certificates: []tls.Certificate{other.client}},
			"TLS 1.2, no cert": {RootCAs: pki.pool, MaxVersion: tls.VersionTLS12},
			"TLS 1.2, foreign": {RootCAs: pki.pool, MaxVersion: tls.VersionTLS12, Certificates: []tls.Certificate{other.client}},
		} {
			if err := call(credentials.NewTLS(cfg), addr, admin); status.Code(err) != codes.Unavailable {
				t.Errorf("admin=%v: %s: %v, want Unavailable", admin, name, err)
			}
		}
	}
}

// TestTLSWithJWT runs the secure configuration end to end: TLS and a token on both ports.
func TestTLSWithJWT(t *testing.T) {
	pki := newPKI(t)
	srv := brokertest.Run(t, broker.Options{JWTSecret: testSecret, SuperAdmins: alice,
		TLS: &tls.Config{Certificates: []tls.Certificate{pki.server}}})
	creds := credentials.NewTLS(&tls.Config{RootCAs: pki.pool})
	disc := danubepb.NewDiscoveryClient(dialConn(t, srv.Addr().String(), creds))
	a := adminClientsOf(dialConn(t, srv.AdminAddr().String(), creds))
	tok := mustToken(t, testSecret, "alice", time.Minute)
	if _, err := disc.TopicPartitions(bearer(t, tok), &danubepb.TopicLookupRequest{Topic: "/default/x"}); err != nil {
		t.Fatalf("client port with TLS and a token: %v", err)
	}
	if _, err := a.Broker.ListBrokers(bearer(t, tok), &adminpb.Empty{}); err != nil {
		t.Fatalf("admin port with TLS and a token: %v", err)
	}
	_, err := disc.TopicPartitions(ctx(t), &danubepb.TopicLookupRequest{Topic: "/default/x"})
	wantStatus(t, err, codes.Unauthenticated, "Authentication credentials are missing")
	_, err = a.Broker.ListBrokers(bearer(t, "x.y.z"), &adminpb.Empty{})
	wantStatus(t, err, codes.Unauthenticated, "Invalid token")
}

// ---- Options ----

func TestOptionsRefuseInsecureHost(t *testing.T) {
	pki := newPKI(t)
	tlsCfg := &tls.Config{Certificates: []tls.Certificate{pki.server}}
	for name, o := range map[string]broker.Options{
		"all interfaces":        {Host: "0.0.0.0"},
		"all interfaces v6":     {Host: "::"},
		"a routable address":    {Host: "192.0.2.10"},
		"a host name":           {Host: "broker.example"},
		"TLS without JWT":       {Host: "0.0.0.0", TLS: tlsCfg},
		"JWT without TLS":       {Host: "0.0.0.0", JWTSecret: testSecret},
		"TLS with an empty JWT": {Host: "0.0.0.0", TLS: tlsCfg, JWTSecret: []byte{}},
	} {
		srv, err := broker.New(o)
		if !errors.Is(err, broker.ErrInsecure) || !errors.Is(err, broker.ErrInvalidOptions) || srv != nil {
			t.Errorf("%s: New = %v, %v; want ErrInsecure and ErrInvalidOptions", name, srv, err)
		}
	}
	for name, o := range map[string]broker.Options{
		"default host":             {},
		"loopback v4":              {Host: "127.0.0.1"},
		"loopback v6":              {Host: "::1"},
		"localhost":                {Host: "localhost"},
		"other loopback":           {Host: "127.0.0.2"},
		"allowed insecure":         {Host: "0.0.0.0", AllowInsecure: true},
		"allowed insecure, TLS":    {Host: "0.0.0.0", AllowInsecure: true, TLS: tlsCfg},
		"TLS and JWT":              {Host: "0.0.0.0", TLS: tlsCfg, JWTSecret: testSecret},
		"TLS and JWT, routable IP": {Host: "192.0.2.10", TLS: tlsCfg, JWTSecret: testSecret},
	} {
		if _, err := broker.New(o); err != nil {
			t.Errorf("%s: New: %v", name, err)
		}
	}
}

// TestInsecureAllowedServesEverywhere starts a broker on all interfaces with AllowInsecure and reaches it over
// loopback.
func TestInsecureAllowedServesEverywhere(t *testing.T) {
	w := newWire(t, broker.Options{Host: "0.0.0.0", AllowInsecure: true})
	if ip := w.srv.Addr().(*net.TCPAddr).IP; !ip.IsUnspecified() {
		t.Fatalf("listening on %v, want all interfaces", ip)
	}
	if !strings.HasPrefix(w.srv.URL(), "http://") || strings.Contains(w.srv.URL(), "0.0.0.0") {
		t.Fatalf("URL %q is not dialable", w.srv.URL())
	}
	w.mustProducer("/default/open", "p", false)
}

// TestAuthSecretIsCopied checks that the broker keeps its own copy of Options.JWTSecret ("Options are copied
// by New; changing them afterwards has no effect"): a program that wipes its secret buffer after starting
// the broker must not change which tokens are accepted.
func TestAuthSecretIsCopied(t *testing.T) {
	secret := []byte("a-secret-the-caller-wipes")
	original := append([]byte(nil), secret...)
	w := newWire(t, broker.Options{JWTSecret: secret, SuperAdmins: alice})
	clear(secret) // e.g. zeroing key material once it has been handed over
	call := func(tok string) error {
		_, err := w.Discovery.TopicPartitions(bearer(t, tok), &danubepb.TopicLookupRequest{Topic: "/default/x"})
		return err
	}
	if err := call(mustToken(t, original, "alice", time.Hour)); err != nil {
		t.Errorf("token signed with the configured secret refused after the caller wiped its buffer: %v", err)
	}
	wantStatus(t, call(mustToken(t, secret, "mallory", time.Hour)), codes.Unauthenticated, "Invalid token")
}
