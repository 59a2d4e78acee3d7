package all_test

import (
	"bytes"
	"flag"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/danube-console/danube-console/connectors"
	_ "github.com/danube-console/danube-console/connectors/all"
)

var update = flag.Bool("update", false, "rewrite examples/connectors.toml from the connectors' specs")

const examplePath = "../../examples/connectors.toml"

// TestExampleFileIsCurrent: the example file in the repository is what WriteExample generates from the
// registered kinds (run `go test ./connectors/all -update` after changing a spec).
func TestExampleFileIsCurrent(t *testing.T) {
	var b bytes.Buffer
	if err := connectors.WriteExample(&b, connectors.DefaultEnv()); err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.WriteFile(examplePath, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	have, err := os.ReadFile(examplePath)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(have, b.Bytes()) {
		t.Fatalf("%s is out of date: run go test ./connectors/all -update", examplePath)
	}
}

// TestExampleDocumentsEveryKey: every kind is registered with its role and has a table, and every key of
// every kind (documented, as are the common, retry and batch keys) appears in the file as a key line.
func TestExampleDocumentsEveryKey(t *testing.T) {
	data, err := os.ReadFile(examplePath)
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	kinds := connectors.DefaultEnv().Kinds()
	want := []string{"file-tail", "generator", "http", "jsonl", "mqtt", "mqtt-sink", "postgres", "webhook"}
	var got []string
	for _, k := range kinds {
		got = append(got, k.Kind)
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("registered kinds %v, want %v", got, want)
	}
	sources := map[string]bool{"file-tail": true, "generator": true, "mqtt": true, "webhook": true}
	for _, k := range kinds {
		wantRole := connectors.RoleSink
		if sources[k.Kind] {
			wantRole = connectors.RoleSource
		}
		if k.Role != wantRole {
			t.Errorf("kind %s is a %s, want a %s", k.Kind, k.Role, wantRole)
		}
		if !strings.Contains(text, "kind = \""+k.Kind+"\"\n") {
			t.Errorf("no [[connector]] table of kind %s", k.Kind)
		}
		for _, f := range k.Spec.Fields {
			re := regexp.MustCompile(`(?m)^(# )?` + regexp.QuoteMeta(f.Name) + `(_env)? = `)
			if !re.MatchString(text) {
				t.Errorf("kind %s: key %s is not in the example", k.Kind, f.Name)
			}
			if f.Doc == "" {
				t.Errorf("kind %s: key %s has no documentation", k.Kind, f.Name)
			}
		}
	}
	for _, key := range []string{"name", "kind", "autostart", "topic", "reliable", "partitions", "subscription",
		"subscription_type", "rate_limit", "max_retries", "base_backoff", "max_backoff", "nack_delay",
		"max_messages", "max_wait", "max_idle"} {
		if !regexp.MustCompile(`(?m)^# ` + key + ` \(`).MatchString(text) {
			t.Errorf("common key %s is not documented", key)
		}
	}
}

// TestExampleParses: the example file is a valid configuration once the environment variables it names
// are set.
func TestExampleParses(t *testing.T) {
	getenv := func(name string) (string, bool) { return "postgres://user:pass@127.0.0.1:5432/db", true }
	data, err := os.ReadFile(examplePath)
	if err != nil {
		t.Fatal(err)
	}
	cfgs, err := connectors.ParseConfig("connectors.toml", data, connectors.DefaultEnv(), getenv)
	if err != nil {
		t.Fatalf("the example does not parse:\n%v", err)
	}
	if len(cfgs) != len(connectors.DefaultEnv().Kinds()) {
		t.Errorf("%d instances, want one per kind", len(cfgs))
	}
	for _, c := range cfgs {
		if c.Autostart {
			t.Errorf("%s has autostart: the examples start nothing by themselves", c.Name)
		}
	}
}
