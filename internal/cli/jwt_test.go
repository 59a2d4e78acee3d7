package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/danube-console/danube-console/broker"
	"github.com/danube-console/danube-console/broker/brokertest"
	"github.com/danube-console/danube-console/proto/adminpb"
	"github.com/danube-console/danube-console/proto/danubepb"
)

// Tests of --jwt-secret-file, the form of the JWT secret that stays out of the process list, on every
// command that takes the secret.

// secretFile writes content to a file of mode 0600 in a test directory and returns its path.
func secretFile(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "jwt.secret")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestBrokerJWTSecretFile runs the broker with its secret in a file ending in a newline, as echo writes it:
// calls need a token signed with the secret without the newline, and the file wins over the environment.
func TestBrokerJWTSecretFile(t *testing.T) {
	t.Setenv(jwtSecretEnv, "env-secret")
	path := secretFile(t, "file-secret\n")
	b := startCLI(t, "--port", "0", "--admin-port", "-1", "--log-level", "warn", "--jwt-secret-file", path, "--super-admin", "ops")
	disc := danubepb.NewDiscoveryClient(dialURL(t, b.field(t, "danube broker serving "), insecure.NewCredentials()))
	lookup := func(tok string) error {
		_, err := disc.TopicPartitions(callCtx(t, tok), &danubepb.TopicLookupRequest{Topic: "/default/x"})
		return err
	}
	if err := lookup(""); status.Code(err) != codes.Unauthenticated {
		t.Fatalf("call without a token: %v, want Unauthenticated", err)
	}
	for _, secret := range []string{"env-secret", "file-secret\n"} {
		tok, err := broker.NewToken([]byte(secret), "me", time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if err := lookup(tok); status.Code(err) != codes.Unauthenticated {
			t.Errorf("token signed with %q: %v, want Unauthenticated", secret, err)
		}
	}
	// "broker token" reads the same file and mints a token the broker takes.
	code, out, errOut := runCmd(t, "broker", "token", "--subject", "ops", "--jwt-secret-file", path)
	if code != 0 || errOut != "" {
		t.Fatalf("broker token --jwt-secret-file: code %d stderr %q", code, errOut)
	}
	if err := lookup(strings.TrimSpace(out)); err != nil {
		t.Fatalf("call with the token minted from the file: %v", err)
	}
	if code := b.stop(t); code != 0 {
		t.Fatalf("exit code %d; stderr %q", code, b.errb.String())
	}
}

// TestBrokerTokenSecretFile: "broker token" trims the file's trailing whitespace only, and its token is
// accepted by a broker holding the trimmed secret.
func TestBrokerTokenSecretFile(t *testing.T) {
	clearSecretEnv(t)
	for content, secret := range map[string]string{
		"s3cret":             "s3cret",
		"s3cret\n":           "s3cret",
		"s3cret\r\n":         "s3cret",
		"s3cret \t\n\n":      "s3cret",
		"  two words here\n": "  two words here",
	} {
		code, out, errOut := runCmd(t, "broker", "token", "--subject", "ops", "--jwt-secret-file", secretFile(t, content))
		if code != 0 || errOut != "" {
			t.Fatalf("file %q: code %d stderr %q", content, code, errOut)
		}
		if err := lookupWith(t, brokertest.Run(t, broker.Options{JWTSecret: []byte(secret), SuperAdmins: []string{"ops"}, AdminPort: -1}), strings.TrimSpace(out)); err != nil {
			t.Errorf("file %q: token refused by a broker with secret %q: %v", content, secret, err)
		}
	}
}

// TestJWTSecretFileErrors: a missing, empty or oversized file, an empty path, a directory, and both forms
// at once are refused by "broker" and "broker token" alike, naming the flag and the path.
func TestJWTSecretFileErrors(t *testing.T) {
	clearSecretEnv(t)
	dir := t.TempDir()
	missing := filepath.Join(dir, "no-such-file")
	empty := secretFile(t, "")
	blank := secretFile(t, " \n\r\n")
	huge := secretFile(t, strings.Repeat("x", maxSecretFile+1))
	good := secretFile(t, "s3cret\n")
	for _, tc := range []struct {
		name string
		args []string
		want []string
	}{
		{"missing file", []string{"--jwt-secret-file", missing}, []string{"--jwt-secret-file " + missing + ": no such file or directory"}},
		{"empty file", []string{"--jwt-secret-file", empty}, []string{"--jwt-secret-file " + empty + ": the file is empty"}},
		{"only whitespace", []string{"--jwt-secret-file", blank}, []string{"--jwt-secret-file " + blank + ": the file is empty"}},
		{"oversized file", []string{"--jwt-secret-file", huge}, []string{"--jwt-secret-file " + huge + ": larger than 64 KiB"}},
		{"a directory", []string{"--jwt-secret-file", dir}, []string{"--jwt-secret-file " + dir + ": "}},
		{"empty path", []string{"--jwt-secret-file="}, []string{"--jwt-secret-file needs the path of a file"}},
		{"both forms", []string{"--jwt-secret", "s", "--jwt-secret-file", good}, []string{"--jwt-secret and --jwt-secret-file cannot be used together"}},
	} {
		for _, cmd := range []struct {
			name string
			args []string
		}{
			{"broker", []string{"broker", "--port", "0", "--admin-port", "-1"}},
			{"broker token", []string{"broker", "token", "--subject", "ops"}},
		} {
			code, out, errOut := runCmd(t, append(cmd.args, tc.args...)...)
			ok := code == 2 && out == "" && strings.HasPrefix(errOut, "danube-console "+cmd.name+": ")
			for _, w := range tc.want {
				ok = ok && strings.Contains(errOut, w)
			}
			if !ok || strings.Contains(errOut, "s3cret") {
				t.Errorf("%s: %s: code %d stdout %q stderr %q, want code 2 and %q", cmd.name, tc.name, code, out, errOut, tc.want)
			}
		}
	}
}

// TestJWTSecretHelp: the help of both commands offers the file and warns that --jwt-secret shows in the
// process list.
func TestJWTSecretHelp(t *testing.T) {
	for _, cmd := range [][]string{{"broker", "--help"}, {"broker", "token", "--help"}} {
		code, _, errOut := runCmd(t, cmd...)
		if code != 0 || !strings.Contains(errOut, "--jwt-secret-file") || !strings.Contains(errOut, "visible to other users in the process list") {
			t.Errorf("%q: code %d, help %q", cmd, code, errOut)
		}
	}
}

// TestBrokerAuthorizationAndTokenTypes runs "broker --jwt-secret-file F --super-admin root" and mints tokens with
// "broker token --type": the super-admin creates a role and binds it to a service account, whose token is
// then allowed on its topic and refused elsewhere with the real broker's message; a user token of the same
// name is another principal.
func TestBrokerAuthorizationAndTokenTypes(t *testing.T) {
	clearSecretEnv(t)
	path := secretFile(t, "authz-secret\n")
	b := startCLI(t, "--port", "0", "--admin-port", "0", "--log-level", "warn", "--jwt-secret-file", path,
		"--super-admin", "root")
	mint := func(args ...string) string {
		t.Helper()
		code, out, errOut := runCmd(t, append([]string{"broker", "token", "--jwt-secret-file", path}, args...)...)
		if code != 0 || errOut != "" {
			t.Fatalf("broker token %q: code %d stderr %q", args, code, errOut)
		}
		return strings.TrimSpace(out)
	}
	root := mint("--subject", "root") // --type user is the default
	svc := mint("--subject", "billing", "--type", "service_account")
	user := mint("--subject", "billing")

	sec := adminpb.NewSecurityAdminClient(dialURL(t, b.field(t, "admin API at "), insecure.NewCredentials()))
	if _, err := sec.CreateRole(callCtx(t, root), &adminpb.CreateRoleRequest{Role: &adminpb.RoleDefinition{
		Name: "looker", Permissions: []string{"Lookup"}}}); err != nil {
		t.Fatalf("CreateRole as the super-admin: %v", err)
	}
	if _, err := sec.CreateBinding(callCtx(t, root), &adminpb.CreateBindingRequest{Binding: &adminpb.BindingDefinition{
		Id: "billing", PrincipalType: "service_account", PrincipalName: "billing", RoleNames: []string{"looker"},
		Scope: "topic", ResourceName: "/default/orders"}}); err != nil {
		t.Fatalf("CreateBinding as the super-admin: %v", err)
	}
	disc := danubepb.NewDiscoveryClient(dialURL(t, b.field(t, "danube broker serving "), insecure.NewCredentials()))
	lookup := func(tok, topic string) error {
		_, err := disc.TopicPartitions(callCtx(t, tok), &danubepb.TopicLookupRequest{Topic: topic})
		return err
	}
	if err := lookup(svc, "/default/orders"); err != nil {
		t.Fatalf("service account on its topic: %v", err)
	}
	for tok, want := range map[string]string{
		svc:  `no binding grants Lookup on Topic("/default/other") for service_account:billing`,
		user: `no binding grants Lookup on Topic("/default/other") for user:billing`,
	} {
		if err := lookup(tok, "/default/other"); status.Code(err) != codes.PermissionDenied || status.Convert(err).Message() != want {
			t.Errorf("lookup: %v, want PermissionDenied %q", err, want)
		}
	}
	if _, err := sec.ListRoles(callCtx(t, svc), &adminpb.Empty{}); status.Code(err) != codes.PermissionDenied {
		t.Errorf("ListRoles as the service account: %v, want PermissionDenied", err)
	}
	if code, _, errOut := runCmd(t, "broker", "token", "--subject", "x", "--jwt-secret-file", path, "--type", "admin"); code != 2 ||
		!strings.Contains(errOut, `--type "admin": use user, service_account or broker_internal`) {
		t.Errorf("broker token --type admin: code %d stderr %q", code, errOut)
	}
	if strings.Contains(b.errb.String(), "no --super-admin") {
		t.Errorf("a broker with a super-admin says it has none: %q", b.errb.String())
	}
	if code := b.stop(t); code != 0 {
		t.Fatalf("exit code %d; stderr %q", code, b.errb.String())
	}
}

// TestBrokerWithoutSuperAdminSaysSo: a broker with authentication and no --super-admin says that only the
// bindings already stored let anyone in.
func TestBrokerWithoutSuperAdminSaysSo(t *testing.T) {
	clearSecretEnv(t)
	b := startCLI(t, "--port", "0", "--admin-port", "-1", "--log-level", "warn", "--jwt-secret-file", secretFile(t, "s"))
	if !strings.Contains(b.errb.String(), "no --super-admin is given: only the bindings already stored let anyone in") {
		t.Fatalf("stderr %q", b.errb.String())
	}
}

// TestBrokerSuperAdminNeedsAuthentication: --super-admin without a secret or client certificates is a usage
// error.
func TestBrokerSuperAdminNeedsAuthentication(t *testing.T) {
	clearSecretEnv(t)
	code, _, errOut := runCmd(t, "broker", "--ephemeral", "--port", "0", "--admin-port", "-1", "--super-admin", "root")
	if code != 2 || !strings.Contains(errOut, "super-admins need authentication") {
		t.Fatalf("broker --super-admin alone: code %d stderr %q", code, errOut)
	}
}
