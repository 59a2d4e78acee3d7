// Package clitest holds the helpers that the commands' in-process tests (internal/cli) and the tests of
// the built binary (e2e) share: files to feed the commands and readers of what the commands wrote.
package clitest

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/danube-console/danube-console/internal/jsonl"
)

// WriteFile writes b to a file named name in the test's temporary directory and returns its path.
func WriteFile(t testing.TB, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// PipelineTOML is a connector configuration of a jsonl sink named sink writing path, which creates the
// reliable topic (so it subscribes before the generator publishes and misses nothing), and a generator
// named gen publishing to it; genLines are added to the generator's table.
func PipelineTOML(topic, sink, path, gen string, genLines ...string) []byte {
	return []byte(fmt.Sprintf(`
[[connector]]
name = %q
kind = "jsonl"
topic = %q
create_topic = "reliable"
path = %q

[[connector]]
name = %q
kind = "generator"
topic = %q
reliable = true
%s
`, sink, topic, path, gen, topic, strings.Join(genLines, "\n")))
}

// CountLines returns the number of lines of the file at path (0 when it cannot be read). Lines may be up
// to 1 MiB long.
func CountLines(path string) int {
	f, err := os.Open(path)
	if err != nil {
		return 0
	}
	defer f.Close()
	n := 0
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		n++
	}
	return n
}

// ParseJSONL parses the output of consume --jsonl twice: as generic objects, to check the field names, and
// as records. A line that is not JSON fails the test.
func ParseJSONL(t testing.TB, out string) ([]map[string]any, []jsonl.Record) {
	t.Helper()
	var objs []map[string]any
	var recs []jsonl.Record
	for i, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		if line == "" {
			continue
		}
		var obj map[string]any
		var rec jsonl.Record
		if err := json.Unmarshal([]byte(line), &obj); err != nil {
			t.Fatalf("line %d %q: %v", i+1, line, err)
		}
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("line %d %q: %v", i+1, line, err)
		}
		objs = append(objs, obj)
		recs = append(recs, rec)
	}
	return objs, recs
}
