package disk

import (
	"maps"
	"sync"
	"testing"
	"time"

	"github.com/danube-console/danube-console/broker/store"
	"github.com/danube-console/danube-console/internal/testenv"
)

// recorder is a store.LogObserver that keeps what it is told.
type recorder struct {
	mu        sync.Mutex
	flushes   int
	flushTime time.Duration
	rotations map[string]int
	deleted   map[string]int
}

func newRecorder() *recorder {
	return &recorder{rotations: map[string]int{}, deleted: map[string]int{}}
}

func (r *recorder) Flushed(d time.Duration) {
	r.mu.Lock()
	r.flushes++
	r.flushTime += d
	r.mu.Unlock()
}

func (r *recorder) Rotated(reason string) {
	r.mu.Lock()
	r.rotations[reason]++
	r.mu.Unlock()
}

func (r *recorder) Deleted(files int, reason string) {
	r.mu.Lock()
	r.deleted[reason] += files
	r.mu.Unlock()
}

type recorded struct {
	flushes           int
	flushTime         time.Duration
	rotations, delete map[string]int
}

func (r *recorder) get() recorded {
	r.mu.Lock()
	defer r.mu.Unlock()
	return recorded{r.flushes, r.flushTime, maps.Clone(r.rotations), maps.Clone(r.deleted)}
}

func observe(t *testing.T, l store.Log) *recorder {
	t.Helper()
	o, ok := l.(store.Observable)
	if !ok {
		t.Fatalf("%T does not implement store.Observable", l)
	}
	r := newRecorder()
	o.SetObserver(r)
	return r
}

// Under FsyncAlways every sequential Append is one fsync; with segments that hold one record each, every
// Append after the first rotates, and TruncateBefore reports the sealed segments it deletes.
func TestObserverFsyncAlways(t *testing.T) {
	dir := t.TempDir()
	s := openT(t, dir, Options{Fsync: FsyncAlways, SegmentBytes: 1})
	l := logT(t, s, tornTopic)
	r := observe(t, l)
	const n = 12
	appendN(t, l, tornTopic, n)
	got := r.get()
	if got.flushes != n || got.flushTime <= 0 {
		t.Fatalf("%d flushes taking %v after %d appends, want one per append", got.flushes, got.flushTime, n)
	}
	if want := map[string]int{store.RotateSize: n - 1}; !maps.Equal(got.rotations, want) {
		t.Fatalf("rotations %v, want %v", got.rotations, want)
	}
	if files := len(segmentFiles(t, dir, tornTopic)); files != n {
		t.Fatalf("%d segment files, want %d", files, n)
	}
	if err := l.TruncateBefore(n); err != nil {
		t.Fatal(err)
	}
	if want := map[string]int{ReasonAcknowledged: n - 1}; !maps.Equal(r.get().delete, want) {
		t.Fatalf("deleted %v, want %v", r.get().delete, want)
	}
	if files := len(segmentFiles(t, dir, tornTopic)); files != 1 {
		t.Fatalf("%d segment files left, want the active one", files)
	}
}

// Under FsyncNever an Append does not fsync: only a full segment is fsynced, once, before it is sealed.
func TestObserverFsyncNeverFlushesOnlySealedSegments(t *testing.T) {
	s := openT(t, t.TempDir(), Options{Fsync: FsyncNever})
	l := logT(t, s, tornTopic)
	r := observe(t, l)
	appendN(t, l, tornTopic, 20)
	if got := r.get(); got.flushes != 0 || len(got.rotations) != 0 {
		t.Fatalf("FsyncNever with room in the segment: %+v, want nothing", got)
	}

	s2 := openT(t, t.TempDir(), Options{Fsync: FsyncNever, SegmentBytes: 1})
	l2 := logT(t, s2, tornTopic)
	r2 := observe(t, l2)
	appendN(t, l2, tornTopic, 5)
	if got := r2.get(); got.flushes != 4 || got.rotations[store.RotateSize] != 4 {
		t.Fatalf("FsyncNever with one record per segment: %+v, want 4 flushes and 4 rotations", got)
	}
}

// Under FsyncInterval the committer's fsyncs are reported, never more than one per Append here.
func TestObserverFsyncInterval(t *testing.T) {
	s := openT(t, t.TempDir(), Options{Fsync: FsyncInterval, FsyncInterval: time.Millisecond})
	l := logT(t, s, tornTopic)
	r := observe(t, l)
	const n = 10
	appendN(t, l, tornTopic, n)
	testenv.Eventually(t, 10*time.Second, func() bool { return r.get().flushes >= 1 }, "no flush reported")
	if err := s.Close(); err != nil { // its last committer round fsyncs what is left
		t.Fatal(err)
	}
	if got := r.get(); got.flushes < 1 || got.flushes > n || len(got.rotations) != 0 {
		t.Fatalf("%+v after %d appends", got, n)
	}
}

// Retention by size reports the segments it deletes, as OnDelete does, and SetObserver(nil) stops the
// reports.
func TestObserverRetention(t *testing.T) {
	var evs eventLog
	s := openT(t, t.TempDir(), Options{Fsync: FsyncNever, SegmentBytes: 1 << 10, RetentionBytes: 4 << 10, OnDelete: evs.add})
	l := logT(t, s, tornTopic)
	r := observe(t, l)
	appendN(t, l, tornTopic, 200)
	testenv.Eventually(t, 10*time.Second, func() bool {
		return r.get().delete[ReasonSize] > 0 && r.get().delete[ReasonSize] == len(evs.get())
	}, "the observer's deletions differ from OnDelete's")

	l.(store.Observable).SetObserver(nil)
	before := r.get()
	appendN(t, l, tornTopic, 200)
	testenv.Eventually(t, 10*time.Second, func() bool { return len(evs.get()) > before.delete[ReasonSize] },
		"retention deleted nothing more")
	if after := r.get(); after.flushes != before.flushes || !maps.Equal(after.rotations, before.rotations) ||
		!maps.Equal(after.delete, before.delete) {
		t.Fatalf("reports after SetObserver(nil): %+v, before %+v", after, before)
	}
}
