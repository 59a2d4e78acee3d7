package disk

import (
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/danube-console/danube-console/internal/testenv"
)

type eventLog struct {
	mu  sync.Mutex
	evs []RetentionEvent
}

func (e *eventLog) add(ev RetentionEvent) {
	e.mu.Lock()
	e.evs = append(e.evs, ev)
	e.mu.Unlock()
}

func (e *eventLog) get() []RetentionEvent {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.evs)
}

// checkEvents verifies that the events cover [0, start) contiguously, in order, with the given reason.
func checkEvents(t *testing.T, evs []RetentionEvent, topic string, start uint64, reason string) {
	t.Helper()
	next := uint64(0)
	for _, ev := range evs {
		if ev.Topic != topic || ev.FirstOffset != next || ev.LastOffset < ev.FirstOffset || ev.Bytes <= 0 || ev.Reason != reason {
			t.Fatalf("event %+v (expected first offset %d, reason %q); all: %+v", ev, next, reason, evs)
		}
		next = ev.LastOffset + 1
	}
	if next != start {
		t.Fatalf("events cover up to %d, the log starts at %d: %+v", next, start, evs)
	}
}

func TestTruncateBeforeDeletesAcknowledgedSegments(t *testing.T) {
	dir := t.TempDir()
	var evs eventLog
	opts := Options{Fsync: FsyncNever, SegmentBytes: 1 << 10, OnDelete: evs.add}
	s := openT(t, dir, opts)
	l := logT(t, s, tornTopic)
	appendN(t, l, tornTopic, 60)
	segs := segmentFiles(t, dir, tornTopic)
	if err := l.TruncateBefore(30); err != nil {
		t.Fatal(err)
	}
	start := l.StartOffset()
	if start == 0 || start > 30 {
		t.Fatalf("start %d after TruncateBefore(30)", start)
	}
	checkEvents(t, evs.get(), tornTopic, start, ReasonAcknowledged)
	left := segmentFiles(t, dir, tornTopic)
	if len(left) != len(segs)-len(evs.get()) {
		t.Fatalf("%d of %d segment files left after %d deletions", len(left), len(segs), len(evs.get()))
	}
	for _, p := range segs[:len(evs.get())] {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Fatalf("%s still exists", p)
		}
	}
	checkLog(t, l, tornTopic, start, 60)
	// Never the active segment.
	if err := l.TruncateBefore(1000); err != nil {
		t.Fatal(err)
	}
	if len(segmentFiles(t, dir, tornTopic)) != 1 || l.StartOffset() > l.NextOffset() {
		t.Fatalf("after truncating everything: %d files, start %d next %d", len(segmentFiles(t, dir, tornTopic)), l.StartOffset(), l.NextOffset())
	}
	checkEvents(t, evs.get(), tornTopic, l.StartOffset(), ReasonAcknowledged)
	appendN(t, l, tornTopic, 5)
	checkLog(t, l, tornTopic, l.StartOffset(), 65)
}

func TestRetentionBytes(t *testing.T) {
	dir := t.TempDir()
	var evs eventLog
	opts := Options{Fsync: FsyncNever, SegmentBytes: 1 << 10, RetentionBytes: 3 << 10, OnDelete: evs.add}
	s := openT(t, dir, opts)
	defer s.Close()
	l := logT(t, s, tornTopic)
	appendN(t, l, tornTopic, 200)
	// Rolls kick the retention goroutine; wait for it to catch up.
	dl := l.(*diskLog)
	var held struct{ Bytes int64 }
	testenv.Eventually(t, 5*time.Second, func() bool {
		dl.mu.RLock()
		defer dl.mu.RUnlock()
		held.Bytes = dl.totalBytes
		return held.Bytes <= opts.RetentionBytes
	}, "the log still holds %+v", &held)
	dl.delMu.Lock() // the last deletion has removed its files and reported them
	dl.delMu.Unlock()
	var files int64
	for _, p := range segmentFiles(t, dir, tornTopic) {
		files += fileSize(t, p)
	}
	if files > opts.RetentionBytes {
		t.Fatalf("%d bytes of segment files", files)
	}
	start := l.StartOffset()
	checkEvents(t, evs.get(), tornTopic, start, ReasonSize)
	checkLog(t, l, tornTopic, start, 200)
	appendN(t, l, tornTopic, 1)
}

func TestRetentionAge(t *testing.T) {
	dir := t.TempDir()
	var evs eventLog
	var mu sync.Mutex
	now := time.Unix(1_000_000, 0)
	clock := func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		return now
	}
	advance := func(d time.Duration) {
		mu.Lock()
		now = now.Add(d)
		mu.Unlock()
	}
	opts := Options{Fsync: FsyncNever, SegmentBytes: 1 << 10, RetentionAge: time.Minute, OnDelete: evs.add,
		now: clock, retentionEvery: time.Hour}
	s := openT(t, dir, opts)
	defer s.Close()
	l := logT(t, s, tornTopic)
	appendN(t, l, tornTopic, 40) // old segments
	advance(50 * time.Second)
	appendN(t, l, tornTopic, 40) // newer segments
	s.enforceRetention()
	if len(evs.get()) != 0 {
		t.Fatalf("deleted too early: %+v", evs.get())
	}
	advance(20 * time.Second) // the first batch is 70s old, the second 20s
	s.enforceRetention()
	start := l.StartOffset()
	if start == 0 || start > 40 {
		t.Fatalf("start %d", start)
	}
	checkEvents(t, evs.get(), tornTopic, start, ReasonAge)
	checkLog(t, l, tornTopic, start, 80)
	advance(time.Hour)
	s.enforceRetention()
	checkEvents(t, evs.get(), tornTopic, l.StartOffset(), ReasonAge)
	if n := len(segmentFiles(t, dir, tornTopic)); n != 1 {
		t.Fatalf("%d segments left; only the active one should be", n)
	}
	appendN(t, l, tornTopic, 1)
	checkLog(t, l, tornTopic, l.StartOffset(), 81)
}

// TestRetentionAgeRealClock lets the periodic check do the work.
func TestRetentionAgeRealClock(t *testing.T) {
	var evs eventLog
	opts := Options{Fsync: FsyncNever, SegmentBytes: 1 << 10, RetentionAge: 50 * time.Millisecond, OnDelete: evs.add,
		retentionEvery: 20 * time.Millisecond}
	s := openT(t, t.TempDir(), opts)
	defer s.Close()
	l := logT(t, s, tornTopic)
	appendN(t, l, tornTopic, 40)
	var got []RetentionEvent
	testenv.Eventually(t, 5*time.Second, func() bool {
		got = evs.get()
		return len(got) > 0 && l.StartOffset() == got[len(got)-1].LastOffset+1 && len(l.(*diskLog).segsSnapshot()) == 1
	}, "events %+v", &got)
	checkEvents(t, evs.get(), tornTopic, l.StartOffset(), ReasonAge)
}

func (l *diskLog) segsSnapshot() []*segment {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return slices.Clone(l.segs)
}
