package disk

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/danube-console/danube-console/broker/store"
	"github.com/danube-console/danube-console/internal/testenv"
)

func TestFsyncPolicyParse(t *testing.T) {
	for _, p := range policies {
		got, err := ParseFsyncPolicy(p.String())
		if err != nil || got != p {
			t.Fatalf("ParseFsyncPolicy(%q) = %v, %v", p.String(), got, err)
		}
	}
	if p, err := ParseFsyncPolicy(" Always "); err != nil || p != FsyncAlways {
		t.Fatalf("case and spaces: %v %v", p, err)
	}
	if _, err := ParseFsyncPolicy("sometimes"); err == nil {
		t.Fatal("an unknown policy parsed")
	}
	var zero Options
	if zero.Fsync != FsyncInterval {
		t.Fatal("the zero policy is not FsyncInterval")
	}
}

func TestTopicDirNames(t *testing.T) {
	seen := map[string]string{}
	for _, topic := range oddTopics {
		name, hashed := topicDirName(topic)
		if len(name) > 240 || name == "" || filepath.Base(name) != name || name == "." || name == ".." {
			t.Fatalf("unsafe directory name %q for %q", name, topic)
		}
		if prev, dup := seen[name]; dup {
			t.Fatalf("%q and %q share %q", prev, topic, name)
		}
		seen[name] = topic
		if back, ok := topicFromDirName(name); hashed == ok || (ok && back != topic) {
			t.Fatalf("%q -> %q -> %q %v (hashed %v)", topic, name, back, ok, hashed)
		}
	}
}

// TestRestart appends to several topics (with odd names, across several segments), truncates, writes
// metadata, closes and reopens, for each policy.
func TestRestart(t *testing.T) {
	for _, p := range policies {
		t.Run(p.String(), func(t *testing.T) {
			dir := t.TempDir()
			opts := Options{Fsync: p, SegmentBytes: 1 << 10, FsyncInterval: time.Millisecond}
			s := openT(t, dir, opts)
			counts := map[string]int{}
			for i, topic := range oddTopics {
				counts[topic] = 5 + 13*i
				appendN(t, logT(t, s, topic), topic, counts[topic])
			}
			orders := logT(t, s, "/default/orders")
			if err := orders.TruncateBefore(3); err != nil {
				t.Fatal(err)
			}
			big := oddTopics[len(oddTopics)-1]
			if err := logT(t, s, big).TruncateBefore(40); err != nil {
				t.Fatal(err)
			}
			bigStart := logT(t, s, big).StartOffset()
			if bigStart == 0 || bigStart > 40 {
				t.Fatalf("TruncateBefore(40) left start %d", bigStart)
			}
			m := s.Meta()
			for i := range 20 {
				m.Put(fmt.Sprintf("/k/%02d", i), []byte(fmt.Sprint(i)))
			}
			m.Put("/k/05", []byte("five"))
			m.Delete("/k/07")
			m.DeletePrefix("/k/1")
			m.Put("/other", nil)
			wantMeta, _ := m.List("")
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}

			s = openT(t, dir, opts)
			defer s.Close()
			if r := s.Recovery(); len(r) != 0 {
				t.Fatalf("a clean restart reported %v", r)
			}
			for _, topic := range oddTopics {
				var start uint64
				switch topic {
				case big:
					start = bigStart
				}
				checkLog(t, logT(t, s, topic), topic, start, uint64(counts[topic]))
			}
			gotMeta, err := s.Meta().List("")
			if err != nil || len(gotMeta) != len(wantMeta) || len(gotMeta) != 10 {
				t.Fatalf("metadata after restart: %v %v, want %v", gotMeta, err, wantMeta)
			}
			for i := range gotMeta {
				if gotMeta[i].Key != wantMeta[i].Key || string(gotMeta[i].Value) != string(wantMeta[i].Value) {
					t.Fatalf("metadata after restart: %v, want %v", gotMeta, wantMeta)
				}
			}
			if v, ok, _ := s.Meta().Get("/k/05"); !ok || string(v) != "five" {
				t.Fatalf("Get /k/05 = %q %v", v, ok)
			}
			// Offsets continue.
			for _, topic := range oddTopics {
				appendN(t, logT(t, s, topic), topic, 3)
			}
		})
	}
}

// TestRestartAfterTruncatingEverything: a log whose messages were all acknowledged remembers its next offset.
func TestRestartAfterTruncatingEverything(t *testing.T) {
	dir := t.TempDir()
	opts := Options{Fsync: FsyncNever, SegmentBytes: 300}
	s := openT(t, dir, opts)
	l := logT(t, s, "/default/t")
	appendN(t, l, "/default/t", 50)
	if err := l.TruncateBefore(50); err != nil {
		t.Fatal(err)
	}
	start := l.StartOffset()
	if start == 0 || start > 50 {
		t.Fatalf("start %d", start)
	}
	s.Close()
	s = openT(t, dir, opts)
	defer s.Close()
	l = logT(t, s, "/default/t")
	checkLog(t, l, "/default/t", start, 50)
	appendN(t, l, "/default/t", 1)
}

func TestReadFromFiles(t *testing.T) {
	for _, cache := range []int64{-1, 2000, 0} {
		t.Run(fmt.Sprint(cache), func(t *testing.T) {
			s := openT(t, t.TempDir(), Options{Fsync: FsyncNever, SegmentBytes: 1000, CacheBytes: cache})
			defer s.Close()
			l := logT(t, s, "/default/t")
			appendN(t, l, "/default/t", 200)
			checkLog(t, l, "/default/t", 0, 200)
			all, err := l.Read(0, 1000)
			if err != nil || len(all) != 200 {
				t.Fatalf("Read(0, 1000): %d %v", len(all), err)
			}
			dl := l.(*diskLog)
			checkCache := func() {
				t.Helper()
				dl.mu.RLock()
				defer dl.mu.RUnlock()
				var sum int64
				for _, e := range dl.cache {
					sum += int64(cap(e)) + cacheEntryOverhead
				}
				if sum != dl.cacheBytes || dl.cacheStart+uint64(len(dl.cache)) != dl.written {
					t.Fatalf("cache accounting: %d bytes counted, %d held; %d entries from %d, written %d",
						dl.cacheBytes, sum, len(dl.cache), dl.cacheStart, dl.written)
				}
				if cache > 0 && (dl.cacheBytes > cache || dl.cacheStart == 0 || len(dl.cache) == 0) {
					t.Fatalf("cache holds %d bytes from %d", dl.cacheBytes, dl.cacheStart)
				}
			}
			checkCache()
			// Truncation drops cached messages below the new start, and the accounting follows.
			for i := range 5 {
				if err := l.TruncateBefore(l.NextOffset() - 3); err != nil {
					t.Fatal(err)
				}
				checkCache()
				appendN(t, l, "/default/t", 40+i)
				checkCache()
			}
			checkLog(t, l, "/default/t", l.StartOffset(), l.NextOffset())
		})
	}
}

func TestMetaCompaction(t *testing.T) {
	for _, p := range policies {
		t.Run(p.String(), func(t *testing.T) {
			dir := t.TempDir()
			opts := Options{Fsync: p, metaCompactMin: 4 << 10, FsyncInterval: time.Millisecond}
			s := openT(t, dir, opts)
			m := s.Meta()
			val := make([]byte, 100)
			for i := range 500 {
				val[0] = byte(i)
				if err := m.Put(fmt.Sprintf("/k/%d", i%10), val); err != nil {
					t.Fatal(err)
				}
				if i%3 == 0 {
					m.Delete(fmt.Sprintf("/k/%d", (i+5)%10))
				}
			}
			m.DeletePrefix("/k/9")
			want, _ := m.List("/")
			path := filepath.Join(dir, metaFile)
			if size := fileSize(t, path); size > 8*(4<<10) {
				t.Fatalf("metadata file is %d bytes after compaction", size)
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			s = openT(t, dir, opts)
			defer s.Close()
			got, _ := s.Meta().List("/")
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("after restart %v, want %v", got, want)
			}
			if len(s.Recovery()) != 0 {
				t.Fatal(s.Recovery())
			}
		})
	}
}

func TestDeleteLog(t *testing.T) {
	dir := t.TempDir()
	s := openT(t, dir, Options{Fsync: FsyncNever, SegmentBytes: 500})
	topic := oddTopics[len(oddTopics)-1] // a hashed directory name
	old := logT(t, s, topic)
	appendN(t, old, topic, 30)
	if err := s.DeleteLog(topic); err != nil {
		t.Fatal(err)
	}
	if _, err := old.Append(mkMsg(topic, "x")); !errors.Is(err, store.ErrClosed) {
		t.Fatalf("Append on a deleted log: %v", err)
	}
	entries, _ := os.ReadDir(filepath.Join(dir, "topics"))
	if len(entries) != 0 {
		t.Fatalf("left behind: %v", entries)
	}
	l := logT(t, s, topic)
	if l.NextOffset() != 0 {
		t.Fatal("the deleted log came back")
	}
	appendN(t, l, topic, 2)
	s.Close()
	s = openT(t, dir, Options{})
	defer s.Close()
	checkLog(t, logT(t, s, topic), topic, 0, 2)
}

func TestClosedStore(t *testing.T) {
	s := openT(t, t.TempDir(), Options{})
	l := logT(t, s, "/default/t")
	appendN(t, l, "/default/t", 3)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	checks := map[string]error{}
	_, checks["Append"] = l.Append(mkMsg("/default/t", "x"))
	_, checks["Read"] = l.Read(0, 1)
	checks["TruncateBefore"] = l.TruncateBefore(1)
	_, checks["Log"] = s.Log("/default/t")
	checks["DeleteLog"] = s.DeleteLog("/default/t")
	checks["Put"] = s.Meta().Put("k", nil)
	_, _, checks["Get"] = s.Meta().Get("k")
	checks["Delete"] = s.Meta().Delete("k")
	checks["DeletePrefix"] = s.Meta().DeletePrefix("k")
	_, checks["List"] = s.Meta().List("")
	for name, err := range checks {
		if !errors.Is(err, store.ErrClosed) {
			t.Errorf("%s after Close: %v", name, err)
		}
	}
}

func TestDirectoryLock(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "missing", "store") // Open creates it
	s := openT(t, dir, Options{})
	if s2, err := Open(dir, Options{}); !errors.Is(err, ErrLocked) {
		if err == nil {
			s2.Close()
		}
		t.Fatalf("a second store on one directory: %v, want ErrLocked", err)
	}
	s.Close()
	openT(t, dir, Options{}).Close()
}

func TestAppendWithoutMsgID(t *testing.T) {
	s := openT(t, t.TempDir(), Options{})
	defer s.Close()
	l := logT(t, s, "/default/t")
	if _, err := l.Append(nil); err == nil {
		t.Fatal("Append(nil)")
	}
	m := mkMsg("/default/t", "x")
	m.MsgId = nil
	if _, err := l.Append(m); err == nil {
		t.Fatal("Append without msg_id")
	}
	appendN(t, l, "/default/t", 1)
}

// TestLargeBatchAcrossSegments sends one big concurrent burst into tiny segments, so that batches are split
// at rolls, and checks every record once.
func TestLargeBatchAcrossSegments(t *testing.T) {
	dir := t.TempDir()
	opts := Options{Fsync: FsyncAlways, SegmentBytes: 700}
	s := openT(t, dir, opts)
	l := logT(t, s, "/default/t")
	var wg sync.WaitGroup
	for range 32 {
		wg.Go(func() {
			for range 20 {
				if _, err := l.Append(mkMsg("/default/t", "payload")); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	all, err := l.Read(0, 1000)
	if err != nil || len(all) != 640 {
		t.Fatalf("read %d, %v", len(all), err)
	}
	for i, m := range all {
		if m.MsgId.TopicOffset != uint64(i) {
			t.Fatalf("message %d has offset %d", i, m.MsgId.TopicOffset)
		}
	}
	for _, f := range segmentFiles(t, dir, "/default/t")[1:] {
		if size := fileSize(t, f); size > 700 {
			t.Fatalf("%s is %d bytes", f, size)
		}
	}
	s.Close()
	s = openT(t, dir, opts)
	defer s.Close()
	if got := logT(t, s, "/default/t").NextOffset(); got != 640 {
		t.Fatalf("next %d after restart", got)
	}
}

// TestConcurrentTopics appends from many goroutines to several topics under every policy and checks that
// every record is stored once, each producer's records in the order it sent them, before and after a
// restart.
func TestConcurrentTopics(t *testing.T) {
	for _, p := range policies {
		t.Run(p.String(), func(t *testing.T) {
			dir := t.TempDir()
			opts := Options{Fsync: p, SegmentBytes: 16 << 10, FsyncInterval: time.Millisecond}
			s := openT(t, dir, opts)
			topics := []string{"/default/a", "/default/b", "/x/c", "/x/d"}
			const producers, perProducer = 6, 150
			var wg sync.WaitGroup
			for _, topic := range topics {
				l := logT(t, s, topic)
				for pr := range producers {
					wg.Go(func() {
						last := int64(-1)
						for i := range perProducer {
							off, err := l.Append(mkMsg(topic, fmt.Sprintf("%d/%d", pr, i)))
							if err != nil {
								t.Error(err)
								return
							}
							if int64(off) <= last {
								t.Errorf("offsets went back: %d after %d", off, last)
							}
							last = int64(off)
						}
					})
				}
				wg.Go(func() { // a concurrent reader
					for l.NextOffset() < producers*perProducer {
						next := l.NextOffset()
						got, err := l.Read(next-min(next, 10), 10)
						if err != nil {
							t.Error(err)
							return
						}
						for i, m := range got {
							if m.MsgId.TopicOffset != next-min(next, 10)+uint64(i) {
								t.Errorf("read offset %d at %d", m.MsgId.TopicOffset, i)
								return
							}
						}
						time.Sleep(100 * time.Microsecond) // pacing the reader between the appends, not a wait
					}
				})
			}
			wg.Wait()
			verify := func(s *Store) {
				for _, topic := range topics {
					all, err := logT(t, s, topic).Read(0, 1<<20)
					if err != nil || len(all) != producers*perProducer {
						t.Fatalf("%s: read %d, %v", topic, len(all), err)
					}
					next := make([]int, producers)
					for i, m := range all {
						var pr, n int
						fmt.Sscanf(string(m.Payload), "%d/%d", &pr, &n)
						if m.MsgId.TopicOffset != uint64(i) || n != next[pr] {
							t.Fatalf("%s: offset %d (%d) holds %q, want %d/%d", topic, i, m.MsgId.TopicOffset, m.Payload, pr, next[pr])
						}
						next[pr]++
					}
				}
			}
			verify(s)
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			s = openT(t, dir, opts)
			defer s.Close()
			verify(s)
		})
	}
}

// TestGroupCommit checks that concurrent Appends share writes.
func TestGroupCommit(t *testing.T) {
	s := openT(t, t.TempDir(), Options{Fsync: FsyncAlways})
	defer s.Close()
	l := logT(t, s, "/default/t")
	var wg sync.WaitGroup
	for range 32 {
		wg.Go(func() {
			for range 50 {
				if _, err := l.Append(mkMsg("/default/t", "x")); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	writes := l.(*diskLog).writes.Load()
	t.Logf("1600 appends in %d writes", writes)
	if writes >= 1600/2 {
		t.Fatalf("1600 concurrent appends took %d writes", writes)
	}
}

// TestIntervalAppendsDoNotWaitForFsync: under FsyncInterval an Append returns after its write, the committer
// fsyncs the written segments within the interval, and Close fsyncs what is left.
func TestIntervalAppendsDoNotWaitForFsync(t *testing.T) {
	dir := t.TempDir()
	s := openT(t, dir, Options{Fsync: FsyncInterval, FsyncInterval: time.Hour})
	l := logT(t, s, "/default/t")
	appendN(t, l, "/default/t", 10) // returns at all: the appends did not wait for the hourly fsync
	if got, err := l.Read(0, 100); err != nil || len(got) != 10 {
		t.Fatalf("read %d records, %v", len(got), err)
	}
	dl := l.(*diskLog)
	dl.cmu.Lock()
	dirty := len(dl.dirtySegs)
	dl.cmu.Unlock()
	if dirty == 0 {
		t.Fatal("the written segment was not handed to the committer")
	}
	s.Close()
	s = openT(t, dir, Options{})
	defer s.Close()
	if got, err := logT(t, s, "/default/t").Read(0, 100); err != nil || len(got) != 10 {
		t.Fatalf("after reopening: %d records, %v", len(got), err)
	}

	fast := openT(t, t.TempDir(), Options{Fsync: FsyncInterval, FsyncInterval: time.Millisecond})
	defer fast.Close()
	fl := logT(t, fast, "/default/t")
	appendN(t, fl, "/default/t", 3)
	testenv.Eventually(t, 5*time.Second, func() bool {
		fd := fl.(*diskLog)
		fd.cmu.Lock()
		defer fd.cmu.Unlock()
		return len(fd.dirtySegs) == 0
	}, "the committer never fsynced the segment")
}

func TestOpenRemovesInterruptedDelete(t *testing.T) {
	dir := t.TempDir()
	s := openT(t, dir, Options{})
	appendN(t, logT(t, s, "/default/t"), "/default/t", 3)
	s.Close()
	name, _ := topicDirName("/default/t")
	if err := os.Rename(filepath.Join(dir, "topics", name), filepath.Join(dir, "topics", trashPrefix+"1-"+name)); err != nil {
		t.Fatal(err)
	}
	// Unknown entries among the topic directories are ignored.
	os.Mkdir(filepath.Join(dir, "topics", "not-a-topic"), 0o755)
	os.Mkdir(filepath.Join(dir, "topics", "t-zz"), 0o755)
	os.Mkdir(filepath.Join(dir, "topics", hashPrefix+"0123"), 0o755)
	os.WriteFile(filepath.Join(dir, "topics", "stray-file"), nil, 0o644)
	s = openT(t, dir, Options{})
	defer s.Close()
	if l := logT(t, s, "/default/t"); l.NextOffset() != 0 {
		t.Fatal("a deleted log came back")
	}
	entries, _ := os.ReadDir(filepath.Join(dir, "topics"))
	if !slices.ContainsFunc(entries, func(e os.DirEntry) bool { return e.Name() == name }) || len(entries) != 5 {
		t.Fatalf("topics dir: %v", entries)
	}
}
