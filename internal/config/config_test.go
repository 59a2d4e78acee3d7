package config_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/danube-console/danube-console/internal/config"
)

const good = `# clusters
default = "prod"

[[cluster]]
name = "prod"
service_url = "https://danube.example.com:6650"
metrics_urls = ["danube-1:9040", "http://danube-2:9040/metrics"]
prometheus_url = "http://prometheus:9090"
token_file = "prod.token"
tls_ca = "/etc/danube/ca.pem"
tls_cert = "~/client.pem"
tls_key = "~/client.key"
tls_domain = "danube.internal"
read_only = true

[[cluster]]
name = "staging"
admin_url = "https://staging:50051"
`

func TestParseGood(t *testing.T) {
	f, err := config.Parse("/etc/dc/config.toml", []byte(good))
	if err != nil {
		t.Fatal(err)
	}
	if f.Default != "prod" || !slices.Equal(f.Names(), []string{"prod", "staging"}) {
		t.Fatalf("default %q, names %v", f.Default, f.Names())
	}
	home, _ := os.UserHomeDir()
	prod, _ := f.Cluster("prod")
	want := config.Cluster{Name: "prod", ServiceURL: "https://danube.example.com:6650", AdminURL: "https://danube.example.com:50051",
		MetricsURLs: []string{"danube-1:9040", "http://danube-2:9040/metrics"}, PrometheusURL: "http://prometheus:9090",
		TokenFile: "/etc/dc/prod.token", TLSCA: "/etc/danube/ca.pem", TLSCert: filepath.Join(home, "client.pem"),
		TLSKey: filepath.Join(home, "client.key"), TLSDomain: "danube.internal", ReadOnly: true, Line: 4}
	if !equal(prod, want) {
		t.Errorf("prod:\n got %+v\nwant %+v", prod, want)
	}
	st, ok := f.Cluster("staging")
	if !ok || st.ServiceURL != "https://staging:6650" || st.AdminURL != "https://staging:50051" || st.Line != 16 || st.ReadOnly {
		t.Errorf("staging: %+v", st)
	}
	if _, ok := f.Cluster("nope"); ok {
		t.Error("found a cluster that is not there")
	}
}

func equal(a, b config.Cluster) bool {
	return reflect.DeepEqual(a, b)
}

// TestParseProblems: each problem names the file, the line and the key.
func TestParseProblems(t *testing.T) {
	for _, tc := range []struct {
		name, doc string
		want      []string // substrings of the error, in order of lines
	}{
		{"unknown key", "[[cluster]]\nname = \"a\"\nservice_url = \"a:6650\"\nadmin_ur = \"x:1\"\n",
			[]string{"c.toml:4: cluster.admin_ur: unknown key"}},
		{"unknown top-level key", "defaults = \"a\"\n", []string{"c.toml:1: defaults: unknown key"}},
		{"wrong type", "[[cluster]]\nname = \"a\"\nservice_url = \"a:6650\"\nread_only = \"yes\"\n",
			[]string{"c.toml:4: cluster.read_only: expected true or false, got a TOML string"}},
		{"wrong type of list", "[[cluster]]\nname = \"a\"\nservice_url = \"a:6650\"\nmetrics_urls = \"b:9040\"\n",
			[]string{"c.toml:4: cluster.metrics_urls: expected an array of strings"}},
		{"cluster not a table array", "cluster = 3\n", []string{"c.toml:1: cluster: expected [[cluster]] tables"}},
		{"duplicate names", "[[cluster]]\nname = \"a\"\nservice_url = \"a:6650\"\n\n[[cluster]]\nname = \"a\"\nadmin_url = \"b:50051\"\n",
			[]string{`c.toml:6: cluster.name: "a" is already the name of the cluster at line 1`}},
		{"missing name", "[[cluster]]\nservice_url = \"a:6650\"\n", []string{"c.toml:1: cluster.name: missing"}},
		{"missing URLs", "[[cluster]]\nname = \"a\"\n", []string{"c.toml:2: cluster.name: give service_url or admin_url"}},
		{"bad URL", "[[cluster]]\nname = \"a\"\nservice_url = \"ftp://a:6650\"\n",
			[]string{"c.toml:3: cluster.service_url: \"ftp://a:6650\": the scheme must be http or https"}},
		{"bad URLs", "[[cluster]]\nname = \"a\"\nservice_url = \"a\"\nadmin_url = \"b:0\"\n",
			[]string{"c.toml:3: cluster.service_url: \"a\": give http://host:port", "c.toml:4: cluster.admin_url: \"b:0\": the port must be a number from 1 to 65535"}},
		{"bad metrics URL", "[[cluster]]\nname = \"a\"\nservice_url = \"a:6650\"\nmetrics_urls = [\"ok:9040\",\n  \"nope\"]\n",
			[]string{"c.toml:5: cluster.metrics_urls: \"nope\""}},
		{"cert without key", "[[cluster]]\nname = \"a\"\nservice_url = \"a:6650\"\ntls_cert = \"c.pem\"\n",
			[]string{"c.toml:4: cluster.tls_cert: tls_cert and tls_key go together"}},
		{"reserved name", "[[cluster]]\nname = \"embedded\"\nservice_url = \"a:6650\"\n",
			[]string{`c.toml:2: cluster.name: "embedded" is reserved`}},
		{"unknown default", "default = \"b\"\n[[cluster]]\nname = \"a\"\nservice_url = \"a:6650\"\n",
			[]string{`c.toml:1: default: no cluster is called "b" (clusters: a)`}},
		{"syntax", "[[cluster]\nname = 1\n", []string{"c.toml:1: TOML syntax"}},
		{"several", "[[cluster]]\nname = \"a b\"\nservice_url = \"a:6650\"\n[[cluster]]\nname = \"c\"\n",
			[]string{`c.toml:2: cluster.name: "a b": use letters`, "c.toml:5: cluster.name: give service_url"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := config.Parse("c.toml", []byte(tc.doc))
			if err == nil {
				t.Fatalf("no error; got %+v", f)
			}
			if !errors.Is(err, config.ErrInvalid) {
				t.Errorf("%v does not match ErrInvalid", err)
			}
			lines := strings.Split(err.Error(), "\n")
			if len(lines) != len(tc.want) {
				t.Fatalf("got %d problems, want %d:\n%v", len(lines), len(tc.want), err)
			}
			for i, w := range tc.want {
				if !strings.Contains(lines[i], w) {
					t.Errorf("problem %d:\n got %s\nwant it to contain %s", i, lines[i], w)
				}
			}
		})
	}
}

func TestLoadMissing(t *testing.T) {
	_, err := config.Load(filepath.Join(t.TempDir(), "none.toml"))
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("got %v, want fs.ErrNotExist", err)
	}
}

func TestEndpoints(t *testing.T) {
	for _, tc := range []struct{ svc, adm, wantSvc, wantAdm string }{
		{"http://h:7000", "", "http://h:7000", "http://h:50051"},
		{"", "https://adm.example:50051", "https://adm.example:6650", "https://adm.example:50051"},
		{"h:7000", "", "h:7000", "http://h:50051"},
		{"", "h:1234", "http://h:6650", "h:1234"},
		{"http://[::1]:7000", "", "http://[::1]:7000", "http://[::1]:50051"},
	} {
		s, a, err := config.Endpoints(tc.svc, tc.adm)
		if err != nil || s != tc.wantSvc || a != tc.wantAdm {
			t.Errorf("Endpoints(%q, %q) = %q, %q, %v; want %q, %q", tc.svc, tc.adm, s, a, err, tc.wantSvc, tc.wantAdm)
		}
	}
	if _, _, err := config.Endpoints("", ""); err == nil {
		t.Error("no error without URLs")
	}
}

func TestDefaultPaths(t *testing.T) {
	t.Setenv("XDG_CONFIG_HOME", "/xdg/config")
	t.Setenv("XDG_STATE_HOME", "/xdg/state")
	if p, err := config.DefaultPath(); err != nil || p != "/xdg/config/danube-console/config.toml" {
		t.Errorf("DefaultPath = %q, %v", p, err)
	}
	if p, err := config.DefaultStatePath(); err != nil || p != "/xdg/state/danube-console/state.toml" {
		t.Errorf("DefaultStatePath = %q, %v", p, err)
	}
	t.Setenv("XDG_STATE_HOME", "")
	t.Setenv("HOME", "/home/u")
	if p, err := config.DefaultStatePath(); err != nil || p != "/home/u/.local/state/danube-console/state.toml" {
		t.Errorf("DefaultStatePath without XDG_STATE_HOME = %q, %v", p, err)
	}
}

func TestStateRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "state.toml")
	sf, err := config.OpenState(path)
	if err != nil || sf.State() != (config.State{}) {
		t.Fatalf("missing file: %+v, %v", sf.State(), err)
	}
	if err := sf.SetTheme("light"); err != nil {
		t.Fatal(err)
	}
	if err := sf.SetCluster("prod"); err != nil {
		t.Fatal(err)
	}
	again, err := config.OpenState(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := again.State(); got != (config.State{Theme: "light", Cluster: "prod"}) {
		t.Fatalf("read back %+v", got)
	}
	if err := again.SetCluster(""); err != nil {
		t.Fatal(err)
	}
	third, _ := config.OpenState(path)
	if got := third.State(); got != (config.State{Theme: "light"}) {
		t.Fatalf("after forgetting the cluster: %+v", got)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("temporary files left: %v", entries)
	}
}

func TestStateDamaged(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.toml")
	for _, bad := range []string{"theme = \n", "colour = \"x\"\n", "theme = 3\n", "\x00\x01"} {
		if err := os.WriteFile(path, []byte(bad), 0o600); err != nil {
			t.Fatal(err)
		}
		sf, err := config.OpenState(path)
		if err == nil || !strings.Contains(err.Error(), "damaged") {
			t.Errorf("%q: error %v, want one saying the file is damaged", bad, err)
		}
		if sf == nil || sf.State() != (config.State{}) {
			t.Fatalf("%q: the state is not empty", bad)
		}
		if err := sf.SetTheme("dark"); err != nil {
			t.Fatal(err)
		}
		if again, err := config.OpenState(path); err != nil || again.State().Theme != "dark" {
			t.Errorf("%q: not rewritten: %+v, %v", bad, again.State(), err)
		}
	}
}
