package cli

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/danube-console/danube-console/broker"
)

// The console's identity is the principal the broker reads from its token, wherever the token comes from.
func TestConsoleIdentity(t *testing.T) {
	secret := []byte("identity-secret")
	mint := func(typ, name string) string {
		tok, err := broker.NewPrincipalToken(secret, typ, name, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	file := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(file, []byte(mint(broker.PrincipalServiceAccount, "billing")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv(tokenEnv, mint(broker.PrincipalUser, "from-env"))
	for _, c := range []struct {
		conn ConnConfig
		want string
	}{
		{ConnConfig{Token: mint(broker.PrincipalUser, "alice")}, "user:alice"},
		{ConnConfig{TokenFile: file}, "service_account:billing"},
		{ConnConfig{}, "user:from-env"},
		{ConnConfig{Token: "not-a-jwt"}, ""},
	} {
		if got := consoleIdentity(c.conn); got != c.want {
			t.Errorf("consoleIdentity(%+v) = %q, want %q", c.conn, got, c.want)
		}
	}
	t.Setenv(tokenEnv, "")
	if got := consoleIdentity(ConnConfig{}); got != "" {
		t.Errorf("without a token: %q", got)
	}
}
