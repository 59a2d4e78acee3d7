package connectors_test

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/danube-console/danube-console/client"
	"github.com/danube-console/danube-console/connectors"
)

// envOf returns a getenv over m.
func envOf(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func TestParseConfigGood(t *testing.T) {
	env := testEnv(t)
	const file = `
# two instances
[[connector]]
name = "in"
kind = "memsource"
topic = "/default/in"
reliable = true
partitions = 3
rate_limit = 250.5
store_env = "UPSTREAM"   # not a secret: an unknown key (checked below in the bad cases)

[[connector]]
name = "out"
kind = "memsink"
autostart = false
topic = "/default/in"
subscription = "archive"
subscription_type = "key-shared"
store = "down"

[connector.retry]
max_retries = 2
base_backoff = "10ms"
max_backoff = "1s"
nack_delay = "3s"

[connector.batch]
max_messages = 500
max_wait = "250ms"
max_idle = "0s"
`
	// store_env is not allowed (store is not secret): remove it for the good case.
	data := strings.Replace(file, `store_env = "UPSTREAM"   # not a secret: an unknown key (checked below in the bad cases)`, `store = "up"`, 1)
	cfgs, err := connectors.ParseConfig("good.toml", []byte(data), env, envOf(nil))
	if err != nil {
		t.Fatalf("ParseConfig: %v", err)
	}
	if len(cfgs) != 2 {
		t.Fatalf("%d instances, want 2", len(cfgs))
	}
	in, out := cfgs[0], cfgs[1]
	if in.Name != "in" || in.Role != connectors.RoleSource || !in.Reliable || in.Partitions != 3 || in.RateLimit != 250.5 ||
		!in.Autostart || in.Settings.String("store") != "up" || in.Settings.Int("read_batch") != 10 {
		t.Errorf("in = %+v", in)
	}
	if in.Retry != connectors.DefaultRetryConfig() || in.File != "good.toml" || in.Line != 3 {
		t.Errorf("in: retry %+v, file %q line %d", in.Retry, in.File, in.Line)
	}
	want := connectors.RetryConfig{MaxRetries: 2, BaseBackoff: 10 * time.Millisecond, MaxBackoff: time.Second, NackDelay: 3 * time.Second}
	if out.Autostart || out.Subscription != "archive" || out.SubscriptionType != client.KeyShared || out.Retry != want ||
		out.Batch != (connectors.BatchConfig{MaxMessages: 500, MaxWait: 250 * time.Millisecond}) {
		t.Errorf("out = %+v", out)
	}
}

// TestParseConfigProblems: every mistake is reported with the file, the line of the key and the key.
func TestParseConfigProblems(t *testing.T) {
	env := testEnv(t)
	cases := []struct {
		name, data string
		want       []string // substrings of the problems, in order
	}{
		{"syntax", "[[connector]]\nname = \"a\"\nkind = memsink\n", []string{"bad.toml:3"}},
		{"unknown key", "[[connector]]\nname = \"a\"\nkind = \"memsink\"\ntopic = \"/default/t\"\nstore = \"s\"\nstroe = \"x\"\n",
			[]string{`bad.toml:6: connector "a": stroe: unknown key for kind memsink (its keys: store`}},
		{"unknown top-level", "connectors = 1\n[[connector]]\nname = \"a\"\nkind = \"memsink\"\ntopic = \"/default/t\"\nstore = \"s\"\n",
			[]string{"bad.toml:1: connectors: unknown top-level key"}},
		{"bad values", "[[connector]]\nname = \"a\"\nkind = \"memsource\"\ntopic = \"/default/t\"\nstore = \"s\"\nread_batch = 0\nrate_limit = \"fast\"\n",
			[]string{`bad.toml:6: connector "a": read_batch:`, `bad.toml:7: connector "a": rate_limit:`}},
		{"missing required", "[[connector]]\nname = \"a\"\nkind = \"memsink\"\n\n[[connector]]\nkind = \"memsink\"\ntopic = \"/default/t\"\nstore = \"s\"\n",
			[]string{`bad.toml:1: connector "a": topic: `, `bad.toml:1: connector "a": store: `, `bad.toml:5: connector #2: name: `}},
		{"unknown kind", "[[connector]]\nname = \"a\"\nkind = \"kafka\"\ntopic = \"/default/t\"\n",
			[]string{`bad.toml:3: connector "a": kind: unknown kind "kafka" (known: memsink, memsource)`}},
		{"bad topic and name", "[[connector]]\nname = \"a b\"\nkind = \"memsink\"\ntopic = \"orders\"\nstore = \"s\"\n",
			[]string{`bad.toml:2: connector "a b": name:`, `bad.toml:4: connector "a b": topic:`}},
		{"duplicate name", "[[connector]]\nname = \"a\"\nkind = \"memsink\"\ntopic = \"/default/t\"\nstore = \"s\"\n[[connector]]\nname = \"a\"\nkind = \"memsink\"\ntopic = \"/default/t\"\nstore = \"s\"\n",
			[]string{`bad.toml:7: connector "a": name: "a" is already the name of the connector at line 2`}},
		{"role keys", "[[connector]]\nname = \"a\"\nkind = \"memsink\"\ntopic = \"/default/t\"\nstore = \"s\"\nreliable = true\n" +
			"[[connector]]\nname = \"b\"\nkind = \"memsource\"\ntopic = \"/default/t\"\nstore = \"s\"\n[connector.retry]\nnack_delay = \"1s\"\n[connector.batch]\nmax_messages = 5\n",
			[]string{`bad.toml:6: connector "a": reliable: only for sources`, `bad.toml:13: connector "b": retry.nack_delay: only for sinks`, `bad.toml:14: connector "b": batch: only for sinks`}},
		{"retry backoffs", "[[connector]]\nname = \"a\"\nkind = \"memsink\"\ntopic = \"/default/t\"\nstore = \"s\"\n[connector.retry]\nbase_backoff = \"2s\"\nmax_backoff = \"1s\"\n",
			[]string{`bad.toml:8: connector "a": retry.max_backoff: 1s is shorter than base_backoff 2s`}},
		{"retry typo", "[[connector]]\nname = \"a\"\nkind = \"memsink\"\ntopic = \"/default/t\"\nstore = \"s\"\n[connector.retry]\nmax_retires = 3\n",
			[]string{`bad.toml:7: connector "a": retry.max_retires: unknown key (known: base_backoff, max_backoff, max_retries, nack_delay)`}},
		{"not a table", "connector = 3\n", []string{"bad.toml:1: connector: must be an array of tables"}},
		{"bad duration", "[[connector]]\nname = \"a\"\nkind = \"memsink\"\ntopic = \"/default/t\"\nstore = \"s\"\n[connector.batch]\nmax_wait = \"soon\"\n",
			[]string{`bad.toml:7: connector "a": batch.max_wait:`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := connectors.ParseConfig("bad.toml", []byte(tc.data), env, envOf(nil))
			var ce *connectors.ConfigErrors
			if !errors.As(err, &ce) {
				t.Fatalf("err = %v, want *ConfigErrors", err)
			}
			if connectors.KindOf(err) != connectors.KindConfig {
				t.Errorf("KindOf = %v, want config", connectors.KindOf(err))
			}
			msg := err.Error()
			at := 0
			for _, w := range tc.want {
				i := strings.Index(msg[at:], w)
				if i < 0 {
					t.Fatalf("problems:\n%s\nwant (in order) %q", msg, w)
				}
				at += i + len(w)
			}
		})
	}
}

// TestSecretsFromEnvironment: a secret is given by the name of an environment variable; a variable that is
// not set, or both forms at once, are problems naming the key.
func TestSecretsFromEnvironment(t *testing.T) {
	env := connectors.NewEnv()
	spec := connectors.Spec{Fields: []connectors.Field{{Name: "password", Type: connectors.TypeString, Secret: true, Required: true}}}
	if err := env.RegisterSink("secretive", spec, func(connectors.Config, connectors.Resources) (connectors.Sink, error) { return nil, nil }); err != nil {
		t.Fatal(err)
	}
	base := "[[connector]]\nname = \"a\"\nkind = \"secretive\"\ntopic = \"/default/t\"\n"
	cfgs, err := connectors.ParseConfig("s.toml", []byte(base+"password_env = \"DB_PASS\"\n"), env, envOf(map[string]string{"DB_PASS": "hunter2"}))
	if err != nil {
		t.Fatal(err)
	}
	if got := cfgs[0].Settings.String("password"); got != "hunter2" {
		t.Errorf("password = %q", got)
	}
	_, err = connectors.ParseConfig("s.toml", []byte(base+"password_env = \"DB_PASS\"\n"), env, envOf(nil))
	if err == nil || !strings.Contains(err.Error(), "s.toml:5: connector \"a\": password_env: environment variable DB_PASS is not set") {
		t.Errorf("unset variable: %v", err)
	}
	_, err = connectors.ParseConfig("s.toml", []byte(base+"password = \"x\"\npassword_env = \"DB_PASS\"\n"), env, envOf(map[string]string{"DB_PASS": "y"}))
	if err == nil || !strings.Contains(err.Error(), "password_env: give password or password_env, not both") {
		t.Errorf("both: %v", err)
	}
}

func TestLoadConfigFile(t *testing.T) {
	env := testEnv(t)
	path := filepath.Join(t.TempDir(), "c.toml")
	if _, err := connectors.LoadConfig(path, env); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v, want os.ErrNotExist", err)
	}
	os.WriteFile(path, []byte("[[connector]]\nname = \"a\"\nkind = \"memsink\"\ntopic = \"/default/t\"\nstore = 7\n"), 0o644)
	_, err := connectors.LoadConfig(path, env)
	if err == nil || !strings.HasPrefix(err.Error(), path+":5: connector \"a\": store: ") {
		t.Errorf("LoadConfig = %v, want a problem at %s:5", err, path)
	}
}

// TestDisplayMasksSecrets: Display lists the settings that have a value, in the spec's order, with secrets,
// redacted tables' values and URL passwords masked, and nothing else changed.
func TestDisplayMasksSecrets(t *testing.T) {
	env := connectors.NewEnv()
	spec := connectors.Spec{Fields: []connectors.Field{
		{Name: "url", Type: connectors.TypeString},
		{Name: "password", Type: connectors.TypeString, Secret: true},
		{Name: "headers", Type: connectors.TypeStringMap, Redacted: true},
		{Name: "routes", Type: connectors.TypeStringMap},
		{Name: "topics", Type: connectors.TypeStrings},
		{Name: "timeout", Type: connectors.TypeDuration, Default: 5 * time.Second},
		{Name: "unset", Type: connectors.TypeInt},
	}}
	if err := env.RegisterSink("shown", spec, func(connectors.Config, connectors.Resources) (connectors.Sink, error) { return nil, nil }); err != nil {
		t.Fatal(err)
	}
	cfgs, err := connectors.ParseConfig("d.toml", []byte(`[[connector]]
name = "a"
kind = "shown"
topic = "/default/t"
url = "https://bob:hunter2@example.com/in"
password_env = "PASS"
headers = { Authorization = "Bearer abc", X-Tenant = "t1" }
routes = { "/b" = "/default/b", "/a" = "/default/a" }
topics = ["x", "y"]
`), env, envOf(map[string]string{"PASS": "s3cret"}))
	if err != nil {
		t.Fatal(err)
	}
	got := cfgs[0].Settings.Display()
	want := []connectors.Setting{
		{Key: "url", Value: "https://bob:••••••@example.com/in"},
		{Key: "password", Value: "••••••"},
		{Key: "headers", Value: "Authorization = ••••••, X-Tenant = ••••••"},
		{Key: "routes", Value: "/a = /default/a, /b = /default/b"},
		{Key: "topics", Value: "x, y"},
		{Key: "timeout", Value: "5s"},
	}
	if !slices.Equal(got, want) {
		t.Errorf("Display() =\n%q\nwant\n%q", got, want)
	}
	for in, want := range map[string]string{
		"https://bob:hun%ter2@example.com/in":   "https://bob:••••••@example.com/in",
		"tcp://u:p#w@host:1883":                 "tcp://u:••••••@host:1883",
		"u:pw@host:1883":                        "u:••••••@host:1883",
		"https://h/x?token=abc&format=json#top": "https://h/x?format=••••••&token=••••••",
		"https://h/x?%zz":                       "https://h/x?••••••",
		"/var/log/app.log":                      "/var/log/app.log",
		"orders@v2":                             "orders@v2",
		"tcp://127.0.0.1:1883":                  "tcp://127.0.0.1:1883",
	} {
		if got := connectors.RedactURL(in); got != want {
			t.Errorf("RedactURL(%q) = %q, want %q", in, got, want)
		}
	}
	for _, s := range got {
		if strings.Contains(s.Value, "hunter2") || strings.Contains(s.Value, "s3cret") || strings.Contains(s.Value, "abc") {
			t.Errorf("%s shows a secret: %q", s.Key, s.Value)
		}
	}
}

// TestSnippet: outside data is cut on a rune boundary and marked, and short data is left alone.
func TestSnippet(t *testing.T) {
	for _, c := range []struct {
		in   string
		n    int
		want string
	}{{"héllo", 2, "h…"}, {"héllo", 3, "hé…"}, {"short", 10, "short"}, {"exact", 5, "exact"}} {
		if got := connectors.Snippet(c.in, c.n); got != c.want {
			t.Errorf("Snippet(%q, %d) = %q, want %q", c.in, c.n, got, c.want)
		}
	}
}
