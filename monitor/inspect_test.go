package monitor

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/danube-console/danube-console/client"
	"github.com/danube-console/danube-console/internal/jsonl"
	"github.com/danube-console/danube-console/monitor/filter"
)

func mustParse(t testing.TB, s string) *filter.Filter {
	t.Helper()
	f, err := filter.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// receiveN feeds the monitor messages from..to-1 of topic "/default/q", subscription "s": payload
// {"n":i,"even":bool}, key "k<i>".
func receiveN(m *Monitor, from, to int) {
	now := time.Now()
	for i := from; i < to; i++ {
		msg := msg("/default/q", "s", uint64(i+1), fmt.Sprintf(`{"n":%d,"even":%v}`, i, i%2 == 0), now, now)
		msg.RoutingKey = fmt.Sprint("k", i)
		m.OnReceive(client.ReceiveEvent{Message: msg})
	}
}

func payloads(msgs []Message) []string {
	var out []string
	for _, g := range msgs {
		out = append(out, string(g.Payload))
	}
	return out
}

// Query pages through a stream's matching messages, newest last, counts them over the whole ring, follows
// new messages and evictions, and never changes the ring.
func TestQuery(t *testing.T) {
	m := newTestMonitor(t, Options{RingSize: 100})
	subscribe(m, "/default/q", "s", "c", 1)
	stream := StreamID("/default/q", "s", "c")
	receiveN(m, 0, 60)
	even := mustParse(t, "$.even == true")

	r := m.Query(stream, even, 3)
	if r.Matches != 30 || r.Kept != 60 || r.Total != 60 {
		t.Fatalf("matches %d kept %d total %d", r.Matches, r.Kept, r.Total)
	}
	if got := payloads(r.Messages); !slices.Equal(got, []string{`{"n":54,"even":true}`, `{"n":56,"even":true}`, `{"n":58,"even":true}`}) {
		t.Fatalf("messages %v", got)
	}
	// More than there are.
	if r := m.Query(stream, even, 1000); len(r.Messages) != 30 || r.Messages[0].Seq != 1 || r.Messages[29].Seq != 59 {
		t.Fatalf("%d messages", len(r.Messages))
	}
	// No page, just the counts.
	if r := m.Query(stream, even, 0); r.Messages != nil || r.Matches != 30 {
		t.Fatalf("max 0: %+v", r)
	}
	// New messages are evaluated; evicted ones leave the count.
	receiveN(m, 60, 130) // 130 received, the last 100 kept: 30..129
	r = m.Query(stream, even, 2)
	if r.Matches != 50 || r.Kept != 100 || r.Total != 130 || !slices.Equal(payloads(r.Messages), []string{`{"n":126,"even":true}`, `{"n":128,"even":true}`}) {
		t.Fatalf("after more: matches %d kept %d total %d %v", r.Matches, r.Kept, r.Total, payloads(r.Messages))
	}
	// Several filters, and filters with the same text.
	for _, c := range []struct {
		filter  string
		matches int
	}{
		{"$.n < 40", 10}, {"key:k1??", 30}, {"$.even == true", 50}, {" $.even == true", 50}, {"-$.even == true", 50},
		{"$.n >= 125 $.even == false", 3}, {"zzz", 0}, {"$.n < 40", 10},
	} {
		if r := m.Query(stream, mustParse(t, c.filter), 1); r.Matches != c.matches {
			t.Errorf("Query(%q): %d matches, want %d", c.filter, r.Matches, c.matches)
		}
	}
	if n := len(m.idx.Load().streams[stream].queries); n != maxQueryCaches {
		t.Fatalf("%d filter caches, want %d", n, maxQueryCaches)
	}
	// Query(nil) is Messages; filtering changed nothing.
	all := m.Query(stream, nil, 1000)
	msgs, total := m.Messages(stream, 1000)
	if all.Matches != 100 || all.Kept != 100 || all.Total != 130 || total != 130 || !reflect.DeepEqual(all.Messages, msgs) || msgs[0].Seq != 31 {
		t.Fatalf("Query(nil): %d matches, %d messages; Messages: %d, total %d", all.Matches, len(all.Messages), len(msgs), total)
	}
	if r := m.Query("nope", even, 10); !reflect.DeepEqual(r, QueryResult{}) {
		t.Fatalf("an unknown stream: %+v", r)
	}
	if got, total := m.Messages(stream, 0); got != nil || total != 130 {
		t.Fatalf("Messages(0): %v, %d", got, total)
	}
}

// The messages Query and Message return count as shown.
func TestQueryMarksShown(t *testing.T) {
	m := newTestMonitor(t, Options{RingSize: 10})
	subscribe(m, "/default/q", "s", "c", 1)
	stream := StreamID("/default/q", "s", "c")
	receiveN(m, 0, 10)
	m.Query(stream, mustParse(t, "$.even == true"), 2) // n 6 and 8
	if g, ok := m.Message(stream, 1); !ok || string(g.Payload) != `{"n":0,"even":true}` || g.Seq != 1 {
		t.Fatalf("Message(1): %+v, %v", g, ok)
	}
	if _, ok := m.Message(stream, 11); ok {
		t.Fatal("Message(11) of 10")
	}
	if _, ok := m.Message("nope", 1); ok {
		t.Fatal("Message of an unknown stream")
	}
	receiveN(m, 10, 20) // evicts all ten: three were shown
	if s := m.Snapshot(); s.Totals.DroppedFromView != 7 {
		t.Fatalf("dropped from view %d, want 7", s.Totals.DroppedFromView)
	}
	if _, ok := m.Message(stream, 1); ok {
		t.Fatal("Message(1) after its eviction")
	}
}

// Queries run concurrently with the data path and with each other (see -race), and agree with a plain
// evaluation of the ring.
func TestQueryConcurrent(t *testing.T) {
	m := newTestMonitor(t, Options{RingSize: 5000})
	subscribe(m, "/default/q", "s", "c", 1)
	stream := StreamID("/default/q", "s", "c")
	var wg sync.WaitGroup
	wg.Go(func() { receiveN(m, 0, 20000) })
	filters := []string{"$.even == true", "key:k*7", "$.n > 100"}
	for i := range 4 {
		wg.Go(func() {
			f := mustParse(t, filters[i%len(filters)])
			for range 200 {
				r := m.Query(stream, f, 5)
				if r.Matches > r.Kept || len(r.Messages) > 5 {
					t.Errorf("Query: %d matches of %d kept, %d messages", r.Matches, r.Kept, len(r.Messages))
					return
				}
			}
		})
	}
	wg.Wait()
	for _, s := range filters {
		f := mustParse(t, s)
		r := m.Query(stream, f, 1<<20)
		var want []uint64
		for _, g := range messagesOf(m, stream) {
			if f.Match(filter.Fields{Payload: g.Payload, Key: g.Key, HasKey: g.HasKey, Attributes: g.Attributes}) {
				want = append(want, g.Seq)
			}
		}
		var got []uint64
		for _, g := range r.Messages {
			got = append(got, g.Seq)
		}
		if r.Matches != len(want) || !slices.Equal(got, want) {
			t.Fatalf("Query(%q): %d matches (%d messages), want %d", s, r.Matches, len(got), len(want))
		}
	}
}

// Export writes JSON lines that jsonl.Reader reads back equal, atomically.
func TestExport(t *testing.T) {
	m := newTestMonitor(t, Options{})
	pub := time.Date(2026, 3, 1, 12, 0, 0, 123e6, time.UTC)
	msgs := []Message{
		{Seq: 1, Topic: "/default/t", Offset: 7, ProducerID: 42, ProducerName: "p", BrokerAddr: "http://b:6650", Subscription: "s",
			Consumer: "c", Key: "k1", HasKey: true, Attributes: map[string]string{"a": "1", "b": "two words"}, SchemaID: 3, SchemaVersion: 2,
			Payload: []byte(`{"n":1,"html":"<b>&"}`), PublishTime: pub.In(time.FixedZone("x", 3600))},
		{Seq: 2, Topic: "/default/t-part-1", Offset: 0, Key: "", HasKey: true, Payload: []byte{0xff, 0, 1, 2}, PublishTime: pub},
		{Seq: 3, Topic: "/default/t", Payload: []byte{}, PublishTime: pub},
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "out.jsonl")
	if n, err := m.Export(path, msgs); err != nil || n != 3 {
		t.Fatalf("Export: %d, %v", n, err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := jsonl.NewReader(f)
	for i, msg := range msgs {
		rec, err := r.Next()
		if err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
		payload, err := rec.Bytes()
		if err != nil || string(payload) != string(msg.Payload) {
			t.Fatalf("record %d: payload %q, %v", i, payload, err)
		}
		want := record(msg)
		if !rec.PublishTime.Equal(msg.PublishTime) {
			t.Fatalf("record %d: publish time %v, want %v", i, rec.PublishTime, msg.PublishTime)
		}
		rec.PublishTime, want.PublishTime = time.Time{}, time.Time{}
		if !reflect.DeepEqual(rec, want) {
			t.Fatalf("record %d:\n got %+v\nwant %+v", i, rec, want)
		}
		if (rec.Key != nil) != msg.HasKey || rec.Key != nil && *rec.Key != msg.Key || rec.Topic != msg.Topic || rec.Offset != msg.Offset {
			t.Fatalf("record %d: %+v", i, rec)
		}
	}
	if _, err := r.Next(); err != io.EOF {
		t.Fatalf("after the records: %v", err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o644 {
		t.Fatalf("mode %v, %v", fi.Mode(), err)
	}

	// Overwriting keeps the mode; no temporary file is left.
	if err := os.Chmod(path, 0o600); err != nil {
		t.Fatal(err)
	}
	if n, err := m.Export(path, msgs[:1]); err != nil || n != 1 {
		t.Fatalf("Export again: %d, %v", n, err)
	}
	data, _ := os.ReadFile(path)
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 || strings.Count(string(data), "\n") != 1 {
		t.Fatalf("mode %v, %d lines", fi.Mode(), strings.Count(string(data), "\n"))
	}
	// Through a symbolic link: the link stays.
	link := filepath.Join(dir, "link.jsonl")
	if err := os.Symlink(path, link); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Export(link, msgs); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Fatalf("the link was replaced: %v", err)
	}
	if data, _ := os.ReadFile(path); strings.Count(string(data), "\n") != 3 {
		t.Fatalf("the link's target has %d lines", strings.Count(string(data), "\n"))
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 2 {
		t.Fatalf("files left: %v", entries)
	}
	// Failures leave nothing behind and become LastError.
	if _, err := m.Export(filepath.Join(dir, "missing", "x.jsonl"), msgs); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a missing directory: %v", err)
	}
	if _, err := m.Export(dir, msgs); err == nil {
		t.Fatal("exporting over a directory succeeded")
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 2 {
		t.Fatalf("files left: %v", entries)
	}
	if s := m.Snapshot(); !strings.Contains(s.LastError, "export 3 message(s) to "+dir) {
		t.Fatalf("last error %q", s.LastError)
	}
}

// failingWriter fails every write.
type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

// A failing audit log is reported as LastError.
func TestAuditLogFailure(t *testing.T) {
	m := newTestMonitor(t, Options{AuditLog: failingWriter{}})
	m.audit("ack", "c", pendingMsg{seq: 1, msg: &client.Message{ID: client.MessageID{Topic: "/default/t", Offset: 3}, Subscription: "s"}}, false, 0, "", nil)
	if s := m.Snapshot(); !strings.Contains(s.LastError, "audit log: disk full") {
		t.Fatalf("last error %q", s.LastError)
	}
}

func TestUniqueSeqsKeepsOrder(t *testing.T) {
	if got := uniqueSeqs([]uint64{4, 3, 4, 1, 3}); !slices.Equal(got, []uint64{4, 3, 1}) {
		t.Fatalf("uniqueSeqs = %v", got)
	}
}
