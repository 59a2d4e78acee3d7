package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/danube-console/danube-console/broker"
	"github.com/danube-console/danube-console/broker/brokertest"
	"github.com/danube-console/danube-console/client"
)

// TestConsoleSwitchesClusters runs the real binary in tmux on a named cluster of its config file, switches
// to another with :cluster and sees the header and the topics change; the next run without --cluster opens
// on the cluster it was left on.
func TestConsoleSwitchesClusters(t *testing.T) {
	bin := buildBinary(t)
	dir := t.TempDir()
	alpha := brokertest.Run(t, broker.Options{Host: broker.DefaultHost})
	beta := brokertest.Run(t, broker.Options{Host: broker.DefaultHost})
	for srv, topic := range map[*broker.Server]string{alpha: "/default/only-on-alpha", beta: "/default/only-on-beta"} {
		adm, err := client.ConnectAdmin(t.Context(), srv.AdminURL())
		if err != nil {
			t.Fatal(err)
		}
		if err := adm.CreateTopic(t.Context(), topic, client.TopicOptions{}); err != nil {
			t.Fatal(err)
		}
		adm.Close()
	}
	conf := filepath.Join(dir, "config", "danube-console", "config.toml")
	if err := os.MkdirAll(filepath.Dir(conf), 0o700); err != nil {
		t.Fatal(err)
	}
	doc := "[[cluster]]\nname = \"alpha\"\nservice_url = \"" + alpha.URL() + "\"\nadmin_url = \"" + alpha.AdminURL() + "\"\n\n" +
		"[[cluster]]\nname = \"beta\"\nservice_url = \"" + beta.URL() + "\"\nadmin_url = \"" + beta.AdminURL() + "\"\n"
	if err := os.WriteFile(conf, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	env := []string{"TERM=xterm-256color", "XDG_CONFIG_HOME=" + filepath.Join(dir, "config"), "XDG_STATE_HOME=" + filepath.Join(dir, "state")}
	header := func(s string) string { return strings.SplitN(s, "\n", 2)[0] }

	term := startTerminal(t, 160, 48, env, bin, "--cluster", "alpha", "--log-file", filepath.Join(dir, "console.log"))
	term.keys("2")
	term.waitFor("alpha's topics under its name", 20*time.Second, func(s string) bool {
		return strings.Contains(header(s), " alpha ") && strings.Contains(s, "/default/only-on-alpha")
	})
	term.keys(":")
	term.text("cluster beta")
	term.keys("Enter")
	s := term.waitFor("beta's topics under its name", 20*time.Second, func(s string) bool {
		return strings.Contains(header(s), " beta ") && strings.Contains(s, "/default/only-on-beta")
	})
	if strings.Contains(s, "only-on-alpha") || !strings.Contains(header(s), strings.TrimPrefix(beta.URL(), "http://")) {
		t.Fatalf("the screen after the switch still shows alpha:\n%s", s)
	}
	term.quit()

	// The next run opens where the last one was left.
	again := startTerminal(t, 160, 48, env, bin, "--log-file", filepath.Join(dir, "console.log"))
	again.keys("2")
	again.waitFor("beta, remembered", 20*time.Second, func(s string) bool {
		return strings.Contains(header(s), " beta ") && strings.Contains(s, "/default/only-on-beta")
	})
	again.quit()
}
