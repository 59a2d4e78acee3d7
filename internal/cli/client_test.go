package cli

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/danube-console/danube-console/internal/clitest"

	"github.com/danube-console/danube-console/broker"
	"github.com/danube-console/danube-console/broker/brokertest"
	"github.com/danube-console/danube-console/client"
	"github.com/danube-console/danube-console/internal/bench"
	"github.com/danube-console/danube-console/internal/jsonl"
	"github.com/danube-console/danube-console/internal/testenv"
)

// End-to-end tests of the headless client commands (produce, consume, lookup, bench), run in process through
// runWithInput and, for the pipes, as the built binary, against embedded brokers on random loopback ports.
// What consume prints is compared with what produce was given, message by message.

// cmdTimeout bounds every command a test runs.
const cmdTimeout = 20 * time.Second

// cmdResult is how a command ended.
type cmdResult struct {
	code           int
	stdout, stderr string
	elapsed        time.Duration
}

func (r cmdResult) String() string {
	return fmt.Sprintf("exit %d after %v, stdout %q, stderr %q", r.code, r.elapsed.Round(time.Millisecond), r.stdout, r.stderr)
}

// runClient runs a command line in process with stdin and waits for it.
func runClient(t *testing.T, stdin string, args ...string) cmdResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
	defer cancel()
	var out, errb bytes.Buffer
	start := time.Now()
	code := runWithInput(ctx, args, strings.NewReader(stdin), &out, &errb)
	return cmdResult{code: code, stdout: out.String(), stderr: errb.String(), elapsed: time.Since(start)}
}

// checkOneLineError checks that a failed command printed exactly one line, "danube-console <cmd>: reason",
// with the exit code want, nothing on stdout, and a reason containing every one of wants.
func checkOneLineError(t *testing.T, r cmdResult, cmd string, want int, wants ...string) {
	t.Helper()
	if r.code != want {
		t.Errorf("%s: %v; want exit %d", cmd, r, want)
		return
	}
	if r.stdout != "" {
		t.Errorf("%s: wrote %q on stdout while failing", cmd, r.stdout)
	}
	line, ok := strings.CutSuffix(r.stderr, "\n")
	if !ok || strings.Contains(line, "\n") || !strings.HasPrefix(line, "danube-console "+cmd+": ") ||
		len(line) == len("danube-console "+cmd+": ") {
		t.Errorf("%s: stderr %q is not one line \"danube-console %s: reason\"", cmd, r.stderr, cmd)
	}
	for _, w := range wants {
		if !strings.Contains(strings.ToLower(line), strings.ToLower(w)) {
			t.Errorf("%s: stderr %q lacks %q", cmd, r.stderr, w)
		}
	}
}

// cliTarget is an embedded broker the commands are pointed at.
type cliTarget struct {
	srv  *broker.Server
	url  string
	conn []string        // connection flags added to every command (token, TLS)
	opts []client.Option // the same for the test's own client
}

func newTarget(t *testing.T, opts broker.Options) *cliTarget {
	t.Helper()
	srv := brokertest.Run(t, opts)
	return &cliTarget{srv: srv, url: srv.URL()}
}

// args is a command line for cmd with the broker's URL and connection flags.
func (b *cliTarget) args(cmd string, args ...string) []string {
	out := append([]string{cmd, "--service-url", b.url}, b.conn...)
	return append(out, args...)
}

// run runs cmd in process against the broker.
func (b *cliTarget) run(t *testing.T, stdin, cmd string, args ...string) cmdResult {
	t.Helper()
	return runClient(t, stdin, b.args(cmd, args...)...)
}

// mustRun runs cmd and fails the test unless it exits 0.
func (b *cliTarget) mustRun(t *testing.T, stdin, cmd string, args ...string) cmdResult {
	t.Helper()
	r := b.run(t, stdin, cmd, args...)
	if r.code != 0 {
		t.Fatalf("%s %q: %v", cmd, args, r)
	}
	return r
}

// client is the test's own client of the broker, closed when the test ends.
func (b *cliTarget) client(t *testing.T) *client.Client {
	t.Helper()
	c, err := client.Connect(context.Background(), b.url, b.opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// createTopic creates topic (with its partitions when partitions > 0) by creating a producer, so that a
// consumer can subscribe before anything is published.
func (b *cliTarget) createTopic(t *testing.T, topic string, reliable bool, partitions int) {
	t.Helper()
	dispatch := client.NonReliable
	if reliable {
		dispatch = client.Reliable
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	p, err := b.client(t).NewProducer(ctx, client.ProducerConfig{Topic: topic, Name: "creator", Dispatch: dispatch, Partitions: partitions})
	if err != nil {
		t.Fatalf("creating %s: %v", topic, err)
	}
	p.Close(ctx)
}

// partitionsOf lists the served topics that are topic itself or its partitions.
func (b *cliTarget) partitionsOf(topic string) []string {
	var out []string
	for _, n := range b.srv.TopicNames() {
		if rest, ok := strings.CutPrefix(n, topic+"-part-"); n == topic || (ok && rest != "" && strings.Trim(rest, "0123456789") == "") {
			out = append(out, n)
		}
	}
	return out
}

// subscription returns sub of every partition of topic (missing ones are zero values with no name).
func (b *cliTarget) subscription(topic, sub string) []broker.SubscriptionInfo {
	var out []broker.SubscriptionInfo
	for _, p := range b.partitionsOf(topic) {
		info, _ := b.srv.Topic(p)
		var si broker.SubscriptionInfo
		for _, s := range info.Subscriptions {
			if s.Name == sub {
				si = s
			}
		}
		out = append(out, si)
	}
	return out
}

// activeConsumers returns the least number of active consumers sub has on a partition of topic.
func (b *cliTarget) activeConsumers(topic, sub string) int {
	subs := b.subscription(topic, sub)
	if len(subs) == 0 {
		return 0
	}
	n := subs[0].ActiveConsumers
	for _, s := range subs[1:] {
		n = min(n, s.ActiveConsumers)
	}
	return n
}

// bgCmd is a command running in the background.
type bgCmd struct {
	cancel context.CancelFunc
	done   chan cmdResult
	res    *cmdResult
}

// start runs cmd in process in the background; the test ends it (as SIGINT does) if it is still running.
func (b *cliTarget) start(t *testing.T, cmd string, args ...string) *bgCmd {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
	c := &bgCmd{cancel: cancel, done: make(chan cmdResult, 1)}
	full := b.args(cmd, args...)
	go func() {
		var out, errb syncBuffer
		start := time.Now()
		code := runWithInput(ctx, full, strings.NewReader(""), &out, &errb)
		c.done <- cmdResult{code: code, stdout: out.String(), stderr: errb.String(), elapsed: time.Since(start)}
	}()
	t.Cleanup(func() {
		cancel()
		if c.res == nil {
			select {
			case r := <-c.done:
				c.res = &r
			case <-time.After(cmdTimeout):
				t.Errorf("%q did not stop", full)
			}
		}
	})
	return c
}

// startConsume runs "consume -t topic -s sub args..." in the background and returns once sub has at least
// active active consumers on every partition of topic, or the command ended.
func (b *cliTarget) startConsume(t *testing.T, topic, sub string, active int, args ...string) *bgCmd {
	t.Helper()
	c := b.start(t, "consume", append([]string{"-t", topic, "-s", sub}, args...)...)
	testenv.Eventually(t, 10*time.Second, func() bool {
		if b.activeConsumers(topic, sub) >= active {
			return true
		}
		select {
		case r := <-c.done:
			c.res = &r // it consumed what was there already, or failed: wait reports it
			return true
		default:
			return false
		}
	}, "consume of %s did not subscribe %s", topic, sub)
	return c
}

// wait waits for the command to end by itself.
func (c *bgCmd) wait(t *testing.T) cmdResult {
	t.Helper()
	if c.res != nil {
		return *c.res
	}
	select {
	case r := <-c.done:
		c.res = &r
	case <-time.After(cmdTimeout + 5*time.Second):
		t.Fatal("the command did not end")
	}
	return *c.res
}

// mustSucceed waits for the command and fails the test unless it exited 0.
func (c *bgCmd) mustSucceed(t *testing.T) cmdResult {
	t.Helper()
	r := c.wait(t)
	if r.code != 0 {
		t.Fatalf("background command: %v", r)
	}
	return r
}

// stop ends the command as SIGINT does and returns how it ended.
func (c *bgCmd) stop(t *testing.T) cmdResult {
	t.Helper()
	c.cancel()
	return c.wait(t)
}

// sent is a message given to produce.
type sent struct {
	payload []byte
	key     *string
	attrs   map[string]string
}

func strp(s string) *string { return &s }

// checkRecord compares one record of consume --jsonl (obj and rec, the same line) with what was sent.
func checkRecord(t *testing.T, i int, obj map[string]any, rec jsonl.Record, want sent) {
	t.Helper()
	if p, err := rec.Bytes(); err != nil || !bytes.Equal(p, want.payload) {
		t.Errorf("message %d: payload %q (%v), want %q", i, p, err, want.payload)
	}
	_, hasText := obj["payload"]
	_, hasB64 := obj["payload_base64"]
	if isText := isUTF8(want.payload); hasText != isText || hasB64 == isText {
		t.Errorf("message %d: payload %v payload_base64 %v for a payload that is UTF-8: %v", i, hasText, hasB64, isText)
	}
	if hasB64 {
		if s, _ := obj["payload_base64"].(string); s != base64.StdEncoding.EncodeToString(want.payload) {
			t.Errorf("message %d: payload_base64 %q", i, s)
		}
	}
	switch k, has := obj["key"]; {
	case want.key == nil && has:
		t.Errorf("message %d: key %v, want none", i, k)
	case want.key != nil && k != *want.key:
		t.Errorf("message %d: key %v, want %q", i, k, *want.key)
	}
	if len(want.attrs) == 0 {
		if a, has := obj["attributes"]; has {
			t.Errorf("message %d: attributes %v, want none", i, a)
		}
	} else if !mapsEqual(rec.Attributes, want.attrs) {
		t.Errorf("message %d: attributes %v, want %v", i, rec.Attributes, want.attrs)
	}
}

func isUTF8(b []byte) bool { return strings.ToValidUTF8(string(b), "\uFFFD") == string(b) }

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// TestProduceConsumeRoundTrip publishes text, binary, attributes, keys, repeated messages and stdin lines,
// consumes them with --jsonl, checks every field, replays the export to another topic with --from-jsonl and
// checks that a second consume sees the same messages.
func TestProduceConsumeRoundTrip(t *testing.T) {
	for _, reliable := range []bool{false, true} {
		t.Run(map[bool]string{false: "non-reliable", true: "reliable"}[reliable], func(t *testing.T) {
			b := newTarget(t, broker.Options{})
			topic := fmt.Sprintf("/default/rt-%v", reliable)
			var rel []string
			if reliable {
				rel = []string{"--reliable"}
			}
			text := []byte("héllo\nworld ✓\n")
			binary := make([]byte, 256)
			for i := range binary {
				binary[i] = byte(i)
			}
			textFile, binFile := clitest.WriteFile(t, "text.txt", text), clitest.WriteFile(t, "bin.dat", binary)
			want := []sent{
				{payload: []byte("hello"), key: strp("k1"), attrs: map[string]string{"a": "1", "b": "x=y", "empty": ""}},
				{payload: text}, {payload: text},
				{payload: binary},
				{payload: []byte("l1")}, {payload: []byte("l2")}, {payload: []byte("")}, {payload: []byte("l3")},
				{payload: []byte("s0"), attrs: map[string]string{"src": "stdin"}}, {payload: []byte("s1"), attrs: map[string]string{"src": "stdin"}},
				{payload: []byte("s2"), attrs: map[string]string{"src": "stdin"}},
				{payload: []byte("keyed"), key: strp("")},
			}

			b.createTopic(t, topic, reliable, 0)
			cons := b.startConsume(t, topic, "sub", 1, "--jsonl", "-c", strconv.Itoa(len(want)))
			start := time.Now().Add(-time.Millisecond)
			produce := func(stdin string, args ...string) cmdResult {
				t.Helper()
				r := b.mustRun(t, stdin, "produce", append(append([]string{"-t", topic, "--name", "writer"}, rel...), args...)...)
				if !strings.HasPrefix(r.stderr, "sent ") || r.stdout != "" {
					t.Errorf("produce %q: %v", args, r)
				}
				return r
			}
			produce("", "-m", "hello", "-a", "a=1", "-a", "b=x=y", "-a", "empty=", "--key", "k1")
			produce("", "--file", textFile, "-c", "2")
			produce("", "--file", binFile)
			// Lines: CRLF and LF endings, an empty line, no final newline.
			if r := produce("l1\r\nl2\n\nl3", "-a", "ignored=no", "-a", "ignored=no"); !strings.HasPrefix(r.stderr, "sent 4 messages") {
				t.Errorf("stdin lines: %q", r.stderr)
			}
			// -c stops reading stdin after 3 lines.
			if r := produce("s0\ns1\ns2\ns3\ns4\n", "-c", "3", "-a", "src=stdin"); !strings.HasPrefix(r.stderr, "sent 3 messages") {
				t.Errorf("stdin with -c 3: %q", r.stderr)
			}
			produce("", "-m", "keyed", "--key", "")
			end := time.Now().Add(time.Millisecond)

			// The stdin lines above carried the attribute ignored=no.
			for i := 4; i < 8; i++ {
				want[i].attrs = map[string]string{"ignored": "no"}
			}
			out := cons.mustSucceed(t)
			objs, recs := clitest.ParseJSONL(t, out.stdout)
			if len(recs) != len(want) {
				t.Fatalf("consume printed %d records, want %d:\n%s", len(recs), len(want), out.stdout)
			}
			for i, rec := range recs {
				obj := objs[i]
				checkRecord(t, i, obj, rec, want[i])
				if rec.Topic != topic || rec.Subscription != "sub" || rec.Producer != "writer" || rec.ProducerID == 0 ||
					rec.BrokerAddr != b.url || rec.RequestID == 0 {
					t.Errorf("message %d: %+v", i, rec)
				}
				if rec.PublishTime.Before(start.Truncate(time.Millisecond)) || rec.PublishTime.After(end) || rec.PublishTime.Location() != time.UTC {
					t.Errorf("message %d: publish time %v outside [%v, %v]", i, rec.PublishTime, start, end)
				}
				wantOffset := uint64(0)
				if reliable {
					wantOffset = recs[0].Offset + uint64(i)
				}
				if rec.Offset != wantOffset {
					t.Errorf("message %d: offset %d, want %d", i, rec.Offset, wantOffset)
				}
				for _, f := range []string{"topic", "offset", "publish_time", "producer", "producer_id", "broker_addr", "request_id", "subscription"} {
					if _, ok := obj[f]; !ok {
						t.Errorf("message %d: no %q field in %v", i, f, obj)
					}
				}
				for _, f := range []string{"schema_id", "schema_version"} {
					if _, ok := obj[f]; ok {
						t.Errorf("message %d: %q without a schema: %v", i, f, obj)
					}
				}
			}
			if reliable {
				// Every message was acknowledged: the cursor reaches the end of the log.
				testenv.Eventually(t, 5*time.Second, func() bool {
					info, _ := b.srv.Topic(topic)
					s := b.subscription(topic, "sub")
					return len(s) == 1 && s[0].Cursor == info.NextOffset && s[0].InFlight == 0
				}, "the messages consumed were not all acknowledged: %+v", b.subscription(topic, "sub"))
			}

			// Replay the export to another topic.
			export := clitest.WriteFile(t, "export.jsonl", []byte(out.stdout))
			other := topic + "-replay"
			b.createTopic(t, other, reliable, 0)
			cons2 := b.startConsume(t, other, "sub2", 1, "--jsonl", "-c", strconv.Itoa(len(want)))
			r := b.mustRun(t, "", "produce", append([]string{"-t", other, "--from-jsonl", export, "--name", "replayer"}, rel...)...)
			if !strings.HasPrefix(r.stderr, fmt.Sprintf("sent %d messages", len(want))) {
				t.Errorf("replay: %v", r)
			}
			objs2, recs2 := clitest.ParseJSONL(t, cons2.mustSucceed(t).stdout)
			if len(recs2) != len(want) {
				t.Fatalf("replayed %d records, want %d", len(recs2), len(want))
			}
			for i, rec := range recs2 {
				checkRecord(t, i, objs2[i], rec, want[i])
				if rec.Topic != other || rec.Producer != "replayer" {
					t.Errorf("replayed message %d: topic %q producer %q", i, rec.Topic, rec.Producer)
				}
			}
		})
	}
}

// TestConsumePlainOutput checks consume's one-line rendering (sorted attributes, quoted key, escaped
// newlines, base64 for binary payloads) and that -c stops it after that many messages with exit 0.
func TestConsumePlainOutput(t *testing.T) {
	b := newTarget(t, broker.Options{})
	const topic = "/default/plain"
	b.createTopic(t, topic, true, 0)
	cons := b.startConsume(t, topic, "s", 1, "-c", "3")
	b.mustRun(t, "", "produce", "-t", topic, "--reliable", "-m", "hello", "-a", "z=26", "-a", "a=1", "-a", "m=a b", "--key", "k 1")
	b.mustRun(t, "", "produce", "-t", topic, "--reliable", "-m", "two\nlines")
	b.mustRun(t, "", "produce", "-t", topic, "--reliable", "--file", clitest.WriteFile(t, "bin", []byte{0xff, 0x00, 0xfe}))
	b.mustRun(t, "", "produce", "-t", topic, "--reliable", "-m", "more", "-c", "2")
	r := cons.mustSucceed(t)
	lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	want := []string{
		topic + `@0 key="k 1" a="1" m="a b" z="26" hello`,
		topic + `@1 two\nlines`,
		topic + `@2 base64:/wD+`,
	}
	if !slices.Equal(lines, want) {
		t.Fatalf("consume printed\n%s\nwant\n%s", r.stdout, strings.Join(want, "\n"))
	}
	// The two messages after the third are still there for the next consumer of the subscription.
	testenv.Eventually(t, 5*time.Second, func() bool { return b.activeConsumers(topic, "s") == 0 }, "consumer still active")
	r = b.startConsume(t, topic, "s", 1, "-c", "2").mustSucceed(t)
	if r.stdout != topic+"@3 more\n"+topic+"@4 more\n" {
		t.Fatalf("second consume printed %q", r.stdout)
	}
}

// TestProduceOrderOnOnePartition checks that the lines of stdin arrive in order with consecutive offsets.
func TestProduceOrderOnOnePartition(t *testing.T) {
	b := newTarget(t, broker.Options{})
	const topic, n = "/default/order", 300
	b.createTopic(t, topic, true, 0)
	cons := b.startConsume(t, topic, "s", 1, "--jsonl", "-c", strconv.Itoa(n))
	var in strings.Builder
	for i := range n {
		fmt.Fprintf(&in, "msg-%03d\n", i)
	}
	b.mustRun(t, in.String(), "produce", "-t", topic, "--reliable")
	_, recs := clitest.ParseJSONL(t, cons.mustSucceed(t).stdout)
	if len(recs) != n {
		t.Fatalf("%d records, want %d", len(recs), n)
	}
	for i, rec := range recs {
		if p, _ := rec.Bytes(); string(p) != fmt.Sprintf("msg-%03d", i) || rec.Offset != recs[0].Offset+uint64(i) {
			t.Fatalf("record %d: %q at offset %d (first at %d)", i, p, rec.Offset, recs[0].Offset)
		}
	}
}

// TestProduceRate checks that --rate spaces the messages out (a lower bound only: 20 messages at 100/s
// take at least 190 ms).
func TestProduceRate(t *testing.T) {
	b := newTarget(t, broker.Options{})
	r := b.mustRun(t, "", "produce", "-t", "/default/rate", "-m", "x", "-c", "20", "--rate", "100")
	if r.elapsed < 150*time.Millisecond || !strings.HasPrefix(r.stderr, "sent 20 messages") {
		t.Fatalf("20 messages at --rate 100: %v", r)
	}
	// From stdin as well.
	r = b.mustRun(t, strings.Repeat("y\n", 10), "produce", "-t", "/default/rate", "--rate", "50")
	if r.elapsed < 150*time.Millisecond || !strings.HasPrefix(r.stderr, "sent 10 messages") {
		t.Fatalf("10 lines at --rate 50: %v", r)
	}
}

// TestProducePartitions publishes to a partitioned topic: messages without a key go round-robin over the
// partitions, messages with a key all go to the key's partition, and consume receives every partition.
func TestProducePartitions(t *testing.T) {
	b := newTarget(t, broker.Options{})
	const topic, parts = "/default/parts", 3
	b.createTopic(t, topic, false, parts)
	cons := b.startConsume(t, topic, "s", 1, "--jsonl", "-c", "12")
	var in strings.Builder
	for i := range 9 {
		fmt.Fprintf(&in, "m%d\n", i)
	}
	b.mustRun(t, in.String(), "produce", "-t", topic, "--partitions", "3", "--name", "pp")
	b.mustRun(t, "", "produce", "-t", topic, "--partitions", "3", "--name", "pk", "--key", "the-key", "-m", "keyed", "-c", "3")
	_, recs := clitest.ParseJSONL(t, cons.mustSucceed(t).stdout)
	if len(recs) != 12 {
		t.Fatalf("%d records, want 12", len(recs))
	}
	perPart := map[string][]string{}
	keyed := map[string]int{}
	for _, rec := range recs {
		p, _ := rec.Bytes()
		if rec.Key != nil {
			keyed[rec.Topic]++
			if *rec.Key != "the-key" || string(p) != "keyed" || !strings.HasPrefix(rec.Producer, "pk-") {
				t.Errorf("keyed record %+v", rec)
			}
			continue
		}
		perPart[rec.Topic] = append(perPart[rec.Topic], string(p))
		// Partition producers are named <name>-<partition>.
		if want := "pp-" + rec.Topic[strings.LastIndex(rec.Topic, "-")+1:]; rec.Producer != want {
			t.Errorf("record %q on %s from producer %q, want %q", p, rec.Topic, rec.Producer, want)
		}
	}
	for i := range parts {
		pt := fmt.Sprintf("%s-part-%d", topic, i)
		// Round robin from partition 0: m_i goes to partition i mod 3, in order within it.
		want := []string{fmt.Sprintf("m%d", i), fmt.Sprintf("m%d", i+3), fmt.Sprintf("m%d", i+6)}
		if !slices.Equal(perPart[pt], want) {
			t.Errorf("%s received %q, want %q", pt, perPart[pt], want)
		}
	}
	if len(keyed) != 1 {
		t.Errorf("the keyed messages went to %v, want one partition", keyed)
	}

	r := b.mustRun(t, "", "lookup", "-t", topic)
	if !strings.Contains(r.stdout, "partitions:   3 (/default/parts-part-0, /default/parts-part-1, /default/parts-part-2)\n") {
		t.Errorf("lookup of a partitioned topic: %v", r)
	}
}

// TestProduceSchemaSubject stamps the latest version of a registered subject on every message.
func TestProduceSchemaSubject(t *testing.T) {
	b := newTarget(t, broker.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	reg := b.client(t).Schemas()
	const subject = "cli-orders"
	id, v1, _, err := reg.Register(ctx, subject, "json_schema", []byte(`{"type":"object","properties":{"id":{"type":"integer"}},"required":["id"]}`))
	if err != nil || v1 != 1 {
		t.Fatalf("Register: %d %d %v", id, v1, err)
	}
	id2, v2, _, err := reg.Register(ctx, subject, "json_schema", []byte(`{"type":"object","properties":{"id":{"type":"integer"},"name":{"type":"string"}},"required":["id"]}`))
	if err != nil || id2 != id || v2 != 2 {
		t.Fatalf("Register v2: %d %d %v", id2, v2, err)
	}

	const topic = "/default/schema"
	b.createTopic(t, topic, true, 0)
	cons := b.startConsume(t, topic, "s", 1, "--jsonl", "-c", "3")
	b.mustRun(t, "", "produce", "-t", topic, "--reliable", "--schema-subject", subject, "-m", `{"id":1}`, "-c", "2")
	b.mustRun(t, "", "produce", "-t", topic, "--reliable", "-m", `{"id":2}`) // no subject: no stamp
	out := cons.mustSucceed(t).stdout
	checkSchemas := func(what, out string) {
		t.Helper()
		objs, recs := clitest.ParseJSONL(t, out)
		if len(recs) != 3 {
			t.Fatalf("%s: %d records", what, len(recs))
		}
		for i, rec := range recs[:2] {
			if rec.SchemaID != id || rec.SchemaVersion != v2 {
				t.Errorf("%s: message %d: schema %d v%d, want %d v%d", what, i, rec.SchemaID, rec.SchemaVersion, id, v2)
			}
		}
		if _, ok := objs[2]["schema_id"]; ok {
			t.Errorf("%s: message without a subject: %v", what, objs[2])
		}
	}
	checkSchemas("published", out)

	// produce --from-jsonl publishes the records again with their schema ids, and the third without one.
	export := filepath.Join(t.TempDir(), "schema.jsonl")
	if err := os.WriteFile(export, []byte(out), 0o600); err != nil {
		t.Fatal(err)
	}
	b.createTopic(t, "/default/schema-copy", true, 0)
	copies := b.startConsume(t, "/default/schema-copy", "s", 1, "--jsonl", "-c", "3")
	b.mustRun(t, "", "produce", "-t", "/default/schema-copy", "--reliable", "--from-jsonl", export)
	checkSchemas("replayed", copies.mustSucceed(t).stdout)
	if info, _ := b.srv.Topic(topic); info.SchemaSubject != subject {
		t.Errorf("topic bound to %q, want %q", info.SchemaSubject, subject)
	}

	// An unknown subject fails before anything is sent.
	r := b.run(t, "", "produce", "-t", "/default/schema2", "--schema-subject", "nope", "-m", "x")
	checkOneLineError(t, r, "produce", 1, "nope")
}

// TestConsumeNoAck leaves reliable messages unacknowledged: the next consumer of the subscription gets them
// again, and acknowledges them for good.
func TestConsumeNoAck(t *testing.T) {
	b := newTarget(t, broker.Options{})
	const topic = "/default/noack"
	b.createTopic(t, topic, true, 0)
	first := b.startConsume(t, topic, "s", 1, "--jsonl", "-c", "3", "--no-ack", "--name", "first")
	b.mustRun(t, "a\nb\nc\n", "produce", "-t", topic, "--reliable")
	_, got1 := clitest.ParseJSONL(t, first.mustSucceed(t).stdout)
	testenv.Eventually(t, 5*time.Second, func() bool { return b.activeConsumers(topic, "s") == 0 }, "first consumer still active")
	if s := b.subscription(topic, "s"); s[0].Cursor != got1[0].Offset {
		t.Fatalf("cursor %d after --no-ack, want %d (nothing acknowledged)", s[0].Cursor, got1[0].Offset)
	}

	second := b.startConsume(t, topic, "s", 1, "--jsonl", "-c", "3", "--name", "second")
	_, got2 := clitest.ParseJSONL(t, second.mustSucceed(t).stdout)
	if len(got1) != 3 || len(got2) != 3 {
		t.Fatalf("got %d then %d records", len(got1), len(got2))
	}
	for i := range got1 {
		p1, _ := got1[i].Bytes()
		p2, _ := got2[i].Bytes()
		if got1[i].Offset != got2[i].Offset || !bytes.Equal(p1, p2) || string(p1) != string(rune('a'+i)) {
			t.Errorf("message %d: %q@%d then %q@%d", i, p1, got1[i].Offset, p2, got2[i].Offset)
		}
	}
	testenv.Eventually(t, 5*time.Second, func() bool {
		info, _ := b.srv.Topic(topic)
		s := b.subscription(topic, "s")
		return s[0].Cursor == info.NextOffset
	}, "the second consumer did not acknowledge: %+v", b.subscription(topic, "s"))
}

// TestConsumeSubscriptionTypes checks that --type reaches the broker, that an Exclusive subscription refuses
// a second consumer, and that --key-filter splits a KeyShared subscription's keys.
func TestConsumeSubscriptionTypes(t *testing.T) {
	b := newTarget(t, broker.Options{})
	for _, tc := range []struct {
		typ  string
		want broker.SubscriptionType
	}{
		{"exclusive", broker.Exclusive}, {"shared", broker.Shared}, {"failover", broker.Failover}, {"key-shared", broker.KeyShared},
	} {
		topic := "/default/type-" + tc.typ
		b.createTopic(t, topic, false, 0)
		c := b.startConsume(t, topic, "s", 1, "--type", tc.typ)
		if s := b.subscription(topic, "s"); s[0].Type != tc.want {
			t.Errorf("--type %s: subscription type %v, want %v", tc.typ, s[0].Type, tc.want)
		}
		if tc.typ == "exclusive" {
			r := b.run(t, "", "consume", "-t", topic, "-s", "s", "--type", "exclusive", "--name", "intruder")
			checkOneLineError(t, r, "consume", 1, "exclusive")
		}
		if r := c.stop(t); r.code != 0 || r.stdout != "" {
			t.Errorf("--type %s interrupted: %v", tc.typ, r)
		}
	}
	// The default is shared.
	b.createTopic(t, "/default/type-default", false, 0)
	b.startConsume(t, "/default/type-default", "s", 1).stop(t)
	if s := b.subscription("/default/type-default", "s"); s[0].Type != broker.Shared {
		t.Errorf("default type %v, want Shared", s[0].Type)
	}

	const topic = "/default/keys"
	b.createTopic(t, topic, true, 0)
	apples := b.startConsume(t, topic, "ks", 1, "--type", "key-shared", "--key-filter", "apple*", "--jsonl", "-c", "3", "--name", "apples")
	bananas := b.startConsume(t, topic, "ks", 2, "--type", "key-shared", "--key-filter", "banana-?", "--key-filter", "cherry", "--jsonl", "-c", "3", "--name", "bananas")
	for _, k := range []string{"apple-1", "banana-1", "apple-2", "cherry", "banana-2", "apple-3"} {
		b.mustRun(t, "", "produce", "-t", topic, "--reliable", "--key", k, "-m", "v-"+k)
	}
	check := func(c *bgCmd, want ...string) {
		t.Helper()
		_, recs := clitest.ParseJSONL(t, c.mustSucceed(t).stdout)
		var keys []string
		for _, r := range recs {
			if p, _ := r.Bytes(); r.Key == nil || string(p) != "v-"+*r.Key {
				t.Errorf("record %+v", r)
				continue
			}
			keys = append(keys, *r.Key)
		}
		if !slices.Equal(keys, want) {
			t.Errorf("keys %q, want %q", keys, want)
		}
	}
	check(apples, "apple-1", "apple-2", "apple-3")
	check(bananas, "banana-1", "cherry", "banana-2")
}

// TestLookupCommand checks lookup's report for plain and partitioned topics, and that topics that merely
// share a prefix with the one asked for are not taken for its partitions.
func TestLookupCommand(t *testing.T) {
	b := newTarget(t, broker.Options{})
	b.createTopic(t, "/default/look", false, 0)
	b.createTopic(t, "/default/look2", false, 0)
	b.createTopic(t, "/default/many", false, 11)
	b.createTopic(t, "/default/many-partners", false, 0)

	r := b.mustRun(t, "", "lookup", "-t", "/default/look")
	for _, want := range []string{
		"topic:        /default/look\n",
		"response:     Connect\n",
		"broker url:   " + b.url + "\n",
		"connect url:  " + b.url + "\n",
		"proxy:        false\n",
		"partitions:   none (not partitioned)\n",
		"latency:      ",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("lookup: stdout %q lacks %q", r.stdout, want)
		}
	}
	lat := r.stdout[strings.Index(r.stdout, "latency:")+len("latency:"):]
	if d, err := time.ParseDuration(strings.TrimSpace(lat)); err != nil || d <= 0 {
		t.Errorf("latency %q: %v", lat, err)
	}
	if r.stderr != "" || strings.Count(r.stdout, "\n") != 7 {
		t.Errorf("lookup: %v", r)
	}

	// Partitions in numeric order; the unrelated /default/many-partners is not one of them.
	r = b.mustRun(t, "", "lookup", "-t", "/default/many")
	var parts []string
	for i := range 11 {
		parts = append(parts, fmt.Sprintf("/default/many-part-%d", i))
	}
	if want := "partitions:   11 (" + strings.Join(parts, ", ") + ")\n"; !strings.Contains(r.stdout, want) ||
		!strings.Contains(r.stdout, "response:     Connect\n") {
		t.Errorf("lookup of 11 partitions: stdout %q, want %q", r.stdout, want)
	}

	// Unknown topics fail, even when others start with the same name.
	for _, topic := range []string{"/default/nothing", "/default/loo", "/default/man"} {
		checkOneLineError(t, b.run(t, "", "lookup", "-t", topic), "lookup", 1, topic)
	}
	checkOneLineError(t, b.run(t, "", "lookup", "-t", "no-namespace"), "lookup", 1, "no-namespace")
}

// benchJSON is bench --json's report, every field required.
type benchJSON struct {
	Topic      *string  `json:"topic"`
	Reliable   *bool    `json:"reliable"`
	Async      *bool    `json:"async"`
	Producers  *int     `json:"producers"`
	Consumers  *int     `json:"consumers"`
	Size       *int     `json:"size"`
	Published  *int64   `json:"published"`
	Failed     *int64   `json:"failed"`
	Received   *int64   `json:"received"`
	Seconds    *float64 `json:"seconds"`
	MsgsPerSec *float64 `json:"msgs_per_sec"`
	MBPerSec   *float64 `json:"mb_per_sec"`
	Publish    *latJSON `json:"publish_latency_us"`
	EndToEnd   *latJSON `json:"end_to_end_latency_us"`

	Delivered       *int64   `json:"delivered"`
	Redelivered     *int64   `json:"redelivered"`
	DeliveredAtStop *int64   `json:"delivered_at_stop"`
	LagAtStop       *int64   `json:"lag_at_stop"`
	Lag             *int64   `json:"lag"`
	Drained         *bool    `json:"drained"`
	DrainSeconds    *float64 `json:"drain_seconds"`
	Acked           *int64   `json:"acked"`
	AckFailed       *int64   `json:"ack_failed"`
	DeliveredPerSec *float64 `json:"delivered_per_sec"`
	// RateLimit is there only with --rate.
	RateLimit                 *float64 `json:"rate_limit"`
	DeliveredPerSecPublishing *float64 `json:"delivered_per_sec_publishing"`
}

type latJSON struct {
	Samples *int     `json:"samples"`
	P50     *float64 `json:"p50"`
	P95     *float64 `json:"p95"`
	P99     *float64 `json:"p99"`
	Max     *float64 `json:"max"`
}

func (l *latJSON) check(t *testing.T, name string, samples int) {
	t.Helper()
	if l == nil || l.Samples == nil || l.P50 == nil || l.P95 == nil || l.P99 == nil || l.Max == nil {
		t.Errorf("%s: missing fields: %+v", name, l)
		return
	}
	if *l.Samples != samples {
		t.Errorf("%s: %d samples, want %d", name, *l.Samples, samples)
	}
	if samples > 0 && !(0 < *l.P50 && *l.P50 <= *l.P95 && *l.P95 <= *l.P99 && *l.P99 <= *l.Max) {
		t.Errorf("%s: percentiles out of order: %v %v %v %v", name, *l.P50, *l.P95, *l.P99, *l.Max)
	}
}

// TestBenchCommand runs short benches, synchronous and asynchronous, reliable and not, with and without
// consumers, and checks their counts and the JSON report.
func TestBenchCommand(t *testing.T) {
	b := newTarget(t, broker.Options{})
	for _, tc := range []struct {
		name      string
		args      []string
		consumers int
	}{
		{"sync", nil, 1},
		{"async", []string{"--async", "--window", "64"}, 1},
		{"reliable", []string{"--reliable"}, 1},
		{"reliable-async", []string{"--reliable", "--async"}, 2},
		{"no-consumers", nil, 0},
		{"async-no-consumers", []string{"--async", "--reliable"}, 0},
		{"partitions", []string{"--partitions", "2", "--producers", "2"}, 2},
		{"rate", []string{"--rate", "2000", "--producers", "2", "--async", "--reliable"}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"--count", "500", "--size", "64", "--json", "--consumers", strconv.Itoa(tc.consumers)}, tc.args...)
			r := b.mustRun(t, "", "bench", args...)
			var rep benchJSON
			dec := json.NewDecoder(strings.NewReader(r.stdout))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&rep); err != nil {
				t.Fatalf("bench --json: %v\n%s", err, r.stdout)
			}
			if rep.Topic == nil || rep.Reliable == nil || rep.Async == nil || rep.Producers == nil || rep.Consumers == nil ||
				rep.Size == nil || rep.Published == nil || rep.Failed == nil || rep.Received == nil || rep.Seconds == nil ||
				rep.MsgsPerSec == nil || rep.MBPerSec == nil || rep.Delivered == nil || rep.Redelivered == nil ||
				rep.DeliveredAtStop == nil || rep.LagAtStop == nil || rep.Lag == nil || rep.Drained == nil ||
				rep.DrainSeconds == nil || rep.Acked == nil || rep.AckFailed == nil || rep.DeliveredPerSec == nil {
				t.Fatalf("bench --json misses fields:\n%s", r.stdout)
			}
			reliable, async := slices.Contains(tc.args, "--reliable"), slices.Contains(tc.args, "--async")
			if !strings.HasPrefix(*rep.Topic, "/default/bench-") || *rep.Reliable != reliable || *rep.Async != async ||
				*rep.Consumers != tc.consumers || *rep.Size != 64 {
				t.Errorf("report: %s", r.stdout)
			}
			wantReceived := int64(0)
			if tc.consumers > 0 {
				wantReceived = 500
			}
			if *rep.Published != 500 || *rep.Failed != 0 || *rep.Received != wantReceived || *rep.Delivered != wantReceived {
				t.Errorf("published %d failed %d received %d delivered %d, want 500, 0, %d, %d", *rep.Published, *rep.Failed,
					*rep.Received, *rep.Delivered, wantReceived, wantReceived)
			}
			wantAcked := int64(0)
			if reliable {
				wantAcked = wantReceived
			}
			if *rep.Lag != 0 || *rep.Drained != (tc.consumers > 0) || *rep.Acked != wantAcked || *rep.AckFailed != 0 ||
				*rep.Redelivered != 0 || (tc.consumers > 0) != (*rep.DeliveredPerSec > 0) ||
				*rep.LagAtStop != 500-*rep.DeliveredAtStop && tc.consumers > 0 {
				t.Errorf("delivery figures: %s", r.stdout)
			}
			if *rep.Seconds <= 0 || *rep.MsgsPerSec <= 0 || *rep.MBPerSec <= 0 {
				t.Errorf("rates: %s", r.stdout)
			}
			if slices.Contains(tc.args, "--rate") {
				// 500 messages at 2,000 a second with a burst of one per producer take at least 249 ms.
				if rep.RateLimit == nil || *rep.RateLimit != 2000 || *rep.Seconds < 0.249 {
					t.Errorf("--rate 2000: %s", r.stdout)
				}
			} else if rep.RateLimit != nil {
				t.Errorf("rate_limit without --rate: %s", r.stdout)
			}
			if tc.consumers > 0 && (rep.DeliveredPerSecPublishing == nil ||
				*rep.DeliveredPerSecPublishing != float64(*rep.DeliveredAtStop) / *rep.Seconds) {
				t.Errorf("delivered_per_sec_publishing: %s", r.stdout)
			}
			if mb := *rep.MsgsPerSec * 64 / 1e6; *rep.MBPerSec < mb*0.99 || *rep.MBPerSec > mb*1.01 {
				t.Errorf("%v MB/s for %v msgs/s of 64 bytes", *rep.MBPerSec, *rep.MsgsPerSec)
			}
			rep.Publish.check(t, "publish latency", 500)
			rep.EndToEnd.check(t, "end-to-end latency", int(wantReceived))
		})
	}

	// The text report.
	r := b.mustRun(t, "", "bench", "--count", "200", "--size", "100", "-t", "/default/bench-text")
	for _, want := range []string{
		"topic /default/bench-text (non-reliable), 1 producer(s) (sync), 1 consumer(s), 100-byte payloads\n",
		"published 200 in ", " msgs/s, ", " MB/s (0 failed)\n", "delivered 200 (100% of published): ", " msgs/s; 200 received in all (0 redelivered)\n",
		"lag       ", ", 0 after ", "s more (drained)\n", "publish      p50 ", "end-to-end   p50 ", "  p95 ", "  p99 ", "  max ",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("bench: stdout %q lacks %q", r.stdout, want)
		}
	}
}

// TestBenchTextSaysWhenConsumersFellBehind checks the text report's line for a run whose consumers' lag
// grew while the producers published, and that a run whose consumers kept up has no such line.
func TestBenchTextSaysWhenConsumersFellBehind(t *testing.T) {
	cfg := bench.Config{Producers: 4, Consumers: 2, Reliable: true, Async: true, Window: 256, Size: 128}
	behindRep := bench.Report{Topic: "/default/b", Published: 280000, Seconds: 10, MsgsPerSec: 28000,
		Delivered: 175000, DeliveredAtStop: 18000, LagAtStop: 262000, Lag: 105000, DeliveredPerSecPublishing: 1800}
	var out strings.Builder
	printBench(&out, cfg, behindRep)
	want := "          the consumers delivered 1800 msgs/s while the producers published 28000: their lag grew all along;\n" +
		"          lower --rate to find the flow they keep up with (more than 1800: slower producers leave them more CPU)\n"
	if !strings.Contains(out.String(), want) {
		t.Errorf("report of consumers left behind:\n%s\nlacks\n%s", out.String(), want)
	}
	kept := behindRep
	kept.DeliveredAtStop, kept.LagAtStop, kept.Lag, kept.DeliveredPerSecPublishing, kept.Drained = 279000, 1000, 0, 27900, true
	out.Reset()
	cfg.Rate = 28000
	printBench(&out, cfg, kept)
	if strings.Contains(out.String(), "lag grew") || !strings.Contains(out.String(), "(async, window 256, at most 28000 msgs/s in all)") {
		t.Errorf("report of consumers that kept up:\n%s", out.String())
	}
}

// TestClientUsageErrors checks that bad command lines exit 2 with one line and do not connect.
func TestClientUsageErrors(t *testing.T) {
	t.Setenv(tokenEnv, "")
	// Nothing listens here: a command that tried to connect would fail with 1, not 2.
	closed := closedURL(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"produce", "-m", "x"}, "-t TOPIC is required"},
		{[]string{"produce", "-t", "/default/x", "-a", "novalue"}, `--attr "novalue": use key=value`},
		{[]string{"produce", "-t", "/default/x", "-a", "=v"}, `--attr "=v"`},
		{[]string{"produce", "-t", "/default/x", "--bogus"}, "unknown flag: --bogus"},
		{[]string{"produce", "-t", "/default/x", "hello"}, `unexpected argument "hello"`},
		{[]string{"produce", "-t", "/default/x", "-m", "x", "--file", "f"}, "alternatives"},
		{[]string{"produce", "-t", "/default/x", "-c", "-1"}, "must not be negative"},
		{[]string{"produce", "-t", "/default/x", "--rate", "-1"}, "must not be negative"},
		{[]string{"produce", "-t", "/default/x", "-c", "many"}, `invalid argument "many"`},
		{[]string{"produce", "-t", "/default/x", "--token", "a", "--token-file", "f"}, "--token and --token-file"},
		{[]string{"produce", "-t", "/default/x", "--tls-cert", "c.pem"}, "--tls-cert and --tls-key"},
		{[]string{"consume", "-s", "s"}, "-t TOPIC and -s SUBSCRIPTION are required"},
		{[]string{"consume", "-t", "/default/x"}, "-t TOPIC and -s SUBSCRIPTION are required"},
		{[]string{"consume", "-t", "/default/x", "-s", "s", "--type", "round-robin"}, `--type "round-robin"`},
		{[]string{"consume", "-t", "/default/x", "-s", "s", "--key-filter", "a*"}, "--key-filter needs --type key-shared"},
		{[]string{"consume", "-t", "/default/x", "-s", "s", "-c", "-2"}, "must not be negative"},
		{[]string{"consume", "-t", "/default/x", "-s", "s", "--bogus"}, "unknown flag: --bogus"},
		{[]string{"consume", "-t", "/default/x", "-s", "s", "extra"}, `unexpected argument "extra"`},
		{[]string{"consume", "-t", "/default/x", "-s", "s", "--tls-key", "k.pem"}, "--tls-cert and --tls-key"},
		{[]string{"lookup"}, "-t TOPIC is required"},
		{[]string{"lookup", "-t", "/default/x", "--bogus"}, "unknown flag: --bogus"},
		{[]string{"lookup", "-t", "/default/x", "extra"}, `unexpected argument "extra"`},
		{[]string{"lookup", "-t", "/default/x", "--token", "a", "--token-file", "f"}, "--token and --token-file"},
		{[]string{"bench", "--size", "4"}, "--size must be at least 8"},
		{[]string{"bench", "--producers", "0"}, "--producers"},
		{[]string{"bench", "--count", "-1"}, "not negative"},
		{[]string{"bench", "--duration", "0s"}, "--duration positive"},
		{[]string{"bench", "--drain", "0s"}, "--drain must be positive"},
		{[]string{"bench", "--rate", "-5"}, "--rate must be a number of messages per second, not negative"},
		{[]string{"bench", "--rate", "NaN"}, "--rate must be a number of messages per second, not negative"},
		{[]string{"bench", "--rate", "+Inf"}, "--rate must be a number of messages per second, not negative"},
		{[]string{"bench", "--ack-window", "0"}, "--ack-window must be between 1 and 4096"},
		{[]string{"bench", "--bogus"}, "unknown flag: --bogus"},
		{[]string{"bench", "extra"}, `unexpected argument "extra"`},
		{[]string{"bench", "--tls-cert", "c.pem"}, "--tls-cert and --tls-key"},
	} {
		args := append([]string{tc.args[0], "--service-url", closed}, tc.args[1:]...)
		r := runClient(t, "", args...)
		checkOneLineError(t, r, tc.args[0], 2, tc.want) // exit 2, not 1: it did not try to connect
	}
	// --help is not an error.
	for _, cmd := range []string{"produce", "consume", "lookup", "bench"} {
		r := runClient(t, "", cmd, "--help")
		if r.code != 0 || !strings.Contains(r.stderr, "Usage: danube-console "+cmd) || !strings.Contains(r.stderr, "--service-url") {
			t.Errorf("%s --help: %v", cmd, r)
		}
	}
}

// closedURL returns the URL of a loopback port nothing listens on.
func closedURL(t *testing.T) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := lis.Addr().String()
	lis.Close()
	return "http://" + addr
}

// TestClientRuntimeErrors checks that failures the broker reports exit 1 with one line.
func TestClientRuntimeErrors(t *testing.T) {
	t.Setenv(tokenEnv, "")
	b := newTarget(t, broker.Options{Policies: broker.Policies{MaxMessageSize: 1000}})
	big := clitest.WriteFile(t, "big", bytes.Repeat([]byte("x"), 1001))
	bad := clitest.WriteFile(t, "bad.jsonl", []byte(`{"topic":"/default/x","offset":0,"publish_time":"2024-01-02T03:04:05Z","payload":"ok"}`+"\n\n"+`{"topic":`+"\n"))
	noPayload := clitest.WriteFile(t, "nopayload.jsonl", []byte(`{"topic":"/default/x","offset":0,"publish_time":"2024-01-02T03:04:05Z"}`+"\n"))
	b.createTopic(t, "/default/reliable-one", true, 0)
	for _, tc := range []struct {
		args  []string
		wants []string
	}{
		{[]string{"produce", "-t", "/nons/x", "-m", "a"}, []string{"namespace"}},
		{[]string{"produce", "-t", "not-a-topic", "-m", "a"}, []string{"not-a-topic"}},
		{[]string{"produce", "-t", "/default/big", "--file", big}, []string{"after 0 messages", "exceeds maximum allowed"}},
		{[]string{"produce", "-t", "/default/x", "--file", "/nonexistent/file"}, []string{"/nonexistent/file"}},
		{[]string{"produce", "-t", "/default/x", "--from-jsonl", "/nonexistent/file"}, []string{"/nonexistent/file"}},
		{[]string{"produce", "-t", "/default/y", "--from-jsonl", bad}, []string{"after 1 messages", bad, "line 3"}},
		{[]string{"produce", "-t", "/default/y", "--from-jsonl", noPayload}, []string{"line 1", "no payload"}},
		{[]string{"produce", "-t", "/default/reliable-one", "-m", "x"}, []string{"dispatch"}},
		{[]string{"produce", "-t", "/default/x", "-m", "x", "--tls-ca", "/nonexistent/ca.pem"}, []string{"/nonexistent/ca.pem"}},
		{[]string{"consume", "-t", "/default/missing", "-s", "s"}, []string{"topic not found", "consumers never create topics: publish to /default/missing first"}},
		{[]string{"consume", "-t", "/nons/x", "-s", "s"}, []string{"topic not found"}},
		{[]string{"lookup", "-t", "/nons/x"}, []string{"/nons/x"}},
		{[]string{"lookup", "-t", "/default/missing"}, []string{"/default/missing"}},
		{[]string{"bench", "-t", "/nons/bench", "--count", "10"}, []string{"namespace"}},
		{[]string{"bench", "--count", "10", "--size", "1001", "--consumers", "0"}, []string{"10 of 10", "exceeds maximum allowed"}},
	} {
		r := b.run(t, "", tc.args[0], tc.args[1:]...)
		if tc.args[0] == "bench" && r.code == 1 {
			r.stdout = "" // the report of what did happen comes first
		}
		checkOneLineError(t, r, tc.args[0], 1, tc.wants...)
	}
}

// TestClientTokens runs the commands against a broker that wants JWTs, with --token, $DANUBE_TOKEN and
// --token-file, and checks that a bad or missing token fails at once with one line.
func TestClientTokens(t *testing.T) {
	secret := []byte("cli-client-secret")
	b := newTarget(t, broker.Options{JWTSecret: secret, SuperAdmins: []string{"cli"}})
	tok, err := broker.NewToken(secret, "cli", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	forged, err := broker.NewToken([]byte("another-secret"), "cli", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	b.opts = []client.Option{client.WithToken(tok)}
	const topic = "/default/secured"

	// --token
	t.Setenv(tokenEnv, "")
	b.conn = []string{"--token", tok}
	b.createTopic(t, topic, false, 0)
	cons := b.startConsume(t, topic, "s", 1, "-c", "2")
	b.mustRun(t, "", "produce", "-t", topic, "-m", "with-flag")
	// $DANUBE_TOKEN
	t.Setenv(tokenEnv, tok)
	b.conn = nil
	b.mustRun(t, "", "produce", "-t", topic, "-m", "with-env")
	if r := cons.mustSucceed(t); r.stdout != topic+"@0 with-flag\n"+topic+"@0 with-env\n" {
		t.Errorf("consume: %v", r)
	}
	b.mustRun(t, "", "lookup", "-t", topic)
	if r := b.mustRun(t, "", "bench", "--count", "20", "--json"); !strings.Contains(r.stdout, `"published": 20`) {
		t.Errorf("bench: %v", r)
	}
	// --token wins over $DANUBE_TOKEN.
	t.Setenv(tokenEnv, forged)
	b.mustRun(t, "", "lookup", "-t", topic, "--token", tok)
	// --token-file
	t.Setenv(tokenEnv, "")
	b.mustRun(t, "", "lookup", "-t", topic, "--token-file", clitest.WriteFile(t, "token", []byte(tok+"\n")))

	for _, tc := range []struct {
		name string
		env  string
		flag []string
		want string
	}{
		{"forged --token", "", []string{"--token", forged}, "unauthenticated"},
		{"forged env", forged, nil, "unauthenticated"},
		{"no token", "", nil, "unauthenticated"},
		{"empty token file", "", []string{"--token-file", clitest.WriteFile(t, "empty", []byte("\n"))}, "empty"},
	} {
		t.Setenv(tokenEnv, tc.env)
		for _, args := range [][]string{
			{"produce", "-t", topic, "-m", "x"},
			{"consume", "-t", topic, "-s", "s2"},
			{"lookup", "-t", topic},
			{"bench", "--count", "10"},
		} {
			r := b.run(t, "", args[0], append(args[1:], tc.flag...)...)
			checkOneLineError(t, r, args[0], 1, tc.want)
		}
	}
}

// TestClientTLS runs the commands against brokers serving TLS, and mutual TLS, with --tls-ca, --tls-cert and
// --tls-key, and with --tls-skip-verify.
func TestClientTLS(t *testing.T) {
	t.Setenv(tokenEnv, "")
	dir := t.TempDir()
	pki := writePKI(t, dir)
	serverCert, err := tls.LoadX509KeyPair(pki.serverCert, pki.serverKey)
	if err != nil {
		t.Fatal(err)
	}
	clientCert := filepath.Join(dir, "client.pem")
	if err := os.WriteFile(clientCert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: pki.client.Certificate[0]}), 0o600); err != nil {
		t.Fatal(err)
	}

	b := newTarget(t, broker.Options{TLS: &tls.Config{Certificates: []tls.Certificate{serverCert}}})
	if !strings.HasPrefix(b.url, "https://127.0.0.1:") {
		t.Fatalf("URL %q", b.url)
	}
	b.conn = []string{"--tls-ca", pki.ca}
	b.opts = []client.Option{client.WithCAFile(pki.ca)}
	const topic = "/default/tls"
	b.createTopic(t, topic, true, 0)
	cons := b.startConsume(t, topic, "s", 1, "--jsonl", "-c", "2")
	b.mustRun(t, "one\ntwo\n", "produce", "-t", topic, "--reliable")
	if _, recs := clitest.ParseJSONL(t, cons.mustSucceed(t).stdout); len(recs) != 2 || *recs[1].Payload != "two" {
		t.Errorf("consume over TLS: %+v", recs)
	}
	if r := b.mustRun(t, "", "lookup", "-t", topic); !strings.Contains(r.stdout, "connect url:  "+b.url+"\n") {
		t.Errorf("lookup over TLS: %v", r)
	}
	b.mustRun(t, "", "bench", "--count", "20", "--reliable", "-t", "/default/tls-bench")
	// host:port with --tls-ca uses TLS too.
	b.url = strings.TrimPrefix(b.url, "https://")
	b.mustRun(t, "", "lookup", "-t", topic)
	b.conn = []string{"--tls-skip-verify"}
	b.mustRun(t, "", "lookup", "-t", topic)

	// Mutual TLS.
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(mustRead(t, pki.ca))
	m := newTarget(t, broker.Options{SuperAdmins: []string{"leaf"}, TLS: &tls.Config{Certificates: []tls.Certificate{serverCert},
		ClientCAs: pool, ClientAuth: tls.RequireAndVerifyClientCert}})
	m.conn = []string{"--tls-ca", pki.ca, "--tls-cert", clientCert, "--tls-key", pki.clientKey}
	m.mustRun(t, "", "produce", "-t", "/default/mtls", "-m", "x")
	m.mustRun(t, "", "lookup", "-t", "/default/mtls")
	checkOneLineError(t, m.run(t, "", "lookup", "-t", "/default/mtls", "--tls-key", "/nonexistent/key.pem"), "lookup", 1, "/nonexistent/key.pem")
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestClientGivesUp checks that every command gives up on a closed port, and on TLS handshakes that cannot
// succeed, by itself (the client's retry bounds: 5 retries, at most 6.2 s of backoff) rather than by the
// test's cmdTimeout, with one line. The cases run at once, so that the test takes as long as the slowest.
func TestClientGivesUp(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for the retries")
	}
	url := closedURL(t)
	dir := t.TempDir()
	pki := writePKI(t, dir)
	serverCert, err := tls.LoadX509KeyPair(pki.serverCert, pki.serverKey)
	if err != nil {
		t.Fatal(err)
	}
	b := newTarget(t, broker.Options{TLS: &tls.Config{Certificates: []tls.Certificate{serverCert}}})
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(mustRead(t, pki.ca))
	m := newTarget(t, broker.Options{TLS: &tls.Config{Certificates: []tls.Certificate{serverCert}, ClientCAs: pool,
		ClientAuth: tls.RequireAndVerifyClientCert}})
	cases := []struct {
		name  string
		args  []string
		wants []string
	}{
		{"closed port", []string{"produce", "--service-url", url, "-t", "/default/x", "-m", "x"}, []string{"unavailable", "connection refused"}},
		{"closed port", []string{"consume", "--service-url", url, "-t", "/default/x", "-s", "s"}, []string{"unavailable", "connection refused"}},
		{"closed port", []string{"lookup", "--service-url", url, "-t", "/default/x"}, []string{"unavailable", "connection refused"}},
		{"closed port", []string{"bench", "--service-url", url, "--count", "10"}, []string{"unavailable", "connection refused"}},
		{"unknown CA", []string{"lookup", "--service-url", b.url, "-t", "/default/x"}, []string{"certificate"}},
		{"plain text to TLS", []string{"lookup", "--service-url", "http://" + strings.TrimPrefix(b.url, "https://"), "-t", "/default/x"}, nil},
		{"no client certificate", []string{"lookup", "--service-url", m.url, "--tls-ca", pki.ca, "-t", "/default/x"}, nil},
	}
	results := make([]cmdResult, len(cases))
	var wg sync.WaitGroup
	for i, tc := range cases {
		wg.Go(func() { results[i] = runClient(t, "", tc.args...) })
	}
	wg.Wait()
	for i, tc := range cases {
		r := results[i]
		checkOneLineError(t, r, tc.args[0], 1, tc.wants...) // within cmdTimeout: it gave up by itself
	}
}

// TestLookupThroughPeer looks topics up at a broker whose peer serves them: the answer is a Redirect to the
// peer, and a partitioned topic's partitions are listed by the peer.
func TestLookupThroughPeer(t *testing.T) {
	owner := newTarget(t, broker.Options{})
	seed := newTarget(t, broker.Options{Peers: []string{owner.url}})
	owner.createTopic(t, "/default/remote", false, 0)
	owner.createTopic(t, "/default/remote-parts", false, 2)

	r := seed.mustRun(t, "", "lookup", "-t", "/default/remote")
	for _, want := range []string{"response:     Redirect\n", "broker url:   " + owner.url + "\n", "connect url:  " + owner.url + "\n",
		"partitions:   none (not partitioned)\n"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("lookup of a peer's topic: stdout %q lacks %q", r.stdout, want)
		}
	}
	r = seed.mustRun(t, "", "lookup", "-t", "/default/remote-parts")
	for _, want := range []string{"response:     Redirect\n", "connect url:  " + owner.url + "\n",
		"partitions:   2 (/default/remote-parts-part-0, /default/remote-parts-part-1)\n"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("lookup of a peer's partitioned topic: stdout %q lacks %q", r.stdout, want)
		}
	}
	checkOneLineError(t, seed.run(t, "", "lookup", "-t", "/default/remote-none"), "lookup", 1, "/default/remote-none")
}

// TestProduceStdinInterrupted checks that produce reading a stdin that stays open stops on an interrupt
// (the context main cancels on SIGINT), with what it sent, and exits 0.
func TestProduceStdinInterrupted(t *testing.T) {
	b := newTarget(t, broker.Options{})
	const topic = "/default/interrupt"
	b.createTopic(t, topic, true, 0)
	cons := b.startConsume(t, topic, "s", 1, "-c", "1")
	pr, pw := io.Pipe()
	defer pw.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errb syncBuffer
	done := make(chan int, 1)
	go func() { done <- runWithInput(ctx, b.args("produce", "-t", topic, "--reliable"), pr, &out, &errb) }()
	if _, err := pw.Write([]byte("first\n")); err != nil {
		t.Fatal(err)
	}
	if r := cons.mustSucceed(t); r.stdout != topic+"@0 first\n" {
		t.Fatalf("consume: %v", r)
	}
	cancel() // stdin is still open
	select {
	case code := <-done:
		if code != 0 || !strings.HasPrefix(errb.String(), "sent 1 messages") {
			t.Fatalf("interrupted produce: exit %d, stderr %q", code, errb.String())
		}
	case <-time.After(5 * time.Second):
		t.Fatal("produce kept waiting for stdin after the interrupt")
	}

	// --from-jsonl - as well.
	pr2, pw2 := io.Pipe()
	defer pw2.Close()
	ctx2, cancel2 := context.WithCancel(context.Background())
	defer cancel2()
	reading := &firstRead{r: pr2, reading: make(chan struct{})}
	go func() {
		done <- runWithInput(ctx2, b.args("produce", "-t", topic, "--reliable", "--from-jsonl", "-"), reading, &out, &errb)
	}()
	<-reading.reading // the command waits for stdin
	cancel2()
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("interrupted produce --from-jsonl -: exit %d, stderr %q", code, errb.String())
		}
	case <-time.After(5 * time.Second):
		t.Fatal("produce --from-jsonl - kept waiting for stdin after the interrupt")
	}
}

// TestProduceLargestMessage sends the largest payload the broker takes, binary, consumes it as JSONL (a
// base64 line of 5.3 MB) and replays it; one byte more is refused.
func TestProduceLargestMessage(t *testing.T) {
	b := newTarget(t, broker.Options{})
	const topic = "/default/largest"
	payload := make([]byte, broker.DefaultMaxMessageSize)
	for i := range payload {
		payload[i] = byte(i*7 + i>>8)
	}
	file := clitest.WriteFile(t, "largest", payload)
	b.createTopic(t, topic, true, 0)
	cons := b.startConsume(t, topic, "s", 1, "--jsonl", "-c", "1")
	b.mustRun(t, "", "produce", "-t", topic, "--reliable", "--file", file)
	out := cons.mustSucceed(t).stdout
	objs, recs := clitest.ParseJSONL(t, out)
	if len(recs) != 1 {
		t.Fatalf("%d records", len(recs))
	}
	checkRecord(t, 0, objs[0], recs[0], sent{payload: payload})

	cons = b.startConsume(t, topic, "s2", 1, "--jsonl", "-c", "1")
	b.mustRun(t, "", "produce", "-t", topic, "--reliable", "--from-jsonl", clitest.WriteFile(t, "largest.jsonl", []byte(out)))
	objs, recs = clitest.ParseJSONL(t, cons.mustSucceed(t).stdout)
	if len(recs) != 1 {
		t.Fatalf("%d records replayed", len(recs))
	}
	checkRecord(t, 0, objs[0], recs[0], sent{payload: payload})

	r := b.run(t, "", "produce", "-t", topic, "--reliable", "--file", clitest.WriteFile(t, "too-large", append(payload, 0)))
	checkOneLineError(t, r, "produce", 1, "exceeds maximum allowed")
}

// firstRead is a reader that closes reading when it is first read.
type firstRead struct {
	r       io.Reader
	once    sync.Once
	reading chan struct{}
}

func (f *firstRead) Read(p []byte) (int, error) {
	f.once.Do(func() { close(f.reading) })
	return f.r.Read(p)
}
