package disk

import (
	"errors"
	"os"
	"sync/atomic"
	"testing"
	"time"
)

var errInjected = errors.New("injected fsync failure")

// failingFsync installs an fsync that fails while the returned flag is set. Call it before opening stores.
func failingFsync(t *testing.T) *atomic.Bool {
	var failing atomic.Bool
	saved := fsync
	fsync = func(f *os.File) error {
		if failing.Load() {
			return errInjected
		}
		return saved(f)
	}
	t.Cleanup(func() { fsync = saved })
	return &failing
}

// TestFsyncFailure: a failed fsync fails every later Append (and, under FsyncAlways, the Appends that waited
// for it, whose records never become visible); the metadata behaves alike.
func TestFsyncFailure(t *testing.T) {
	failing := failingFsync(t)
	for _, p := range []FsyncPolicy{FsyncAlways, FsyncInterval} {
		t.Run(p.String(), func(t *testing.T) {
			failing.Store(false)
			dir := t.TempDir()
			s := openT(t, dir, Options{Fsync: p, FsyncInterval: time.Millisecond})
			l := logT(t, s, tornTopic)
			appendN(t, l, tornTopic, 5)
			if err := s.Meta().Put("/k", []byte("v")); err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			failing.Store(true)
			if p == FsyncAlways {
				if _, err := l.Append(mkMsg(tornTopic, "lost")); !errors.Is(err, errInjected) {
					t.Fatalf("Append with a failing fsync: %v", err)
				}
				if err := s.Meta().Put("/k2", []byte("v")); !errors.Is(err, errInjected) {
					t.Fatalf("Put with a failing fsync: %v", err)
				}
			} else {
				// Interval: the Append returns after its write; the committer's failed fsync then fails the
				// log and the metadata for good.
				if _, err := l.Append(mkMsg(tornTopic, "maybe lost")); err != nil {
					t.Fatalf("Append under FsyncInterval waited for the fsync: %v", err)
				}
				if err := s.Meta().Put("/k2", []byte("v")); err != nil {
					t.Fatalf("Put under FsyncInterval waited for the fsync: %v", err)
				}
				deadline := time.Now().Add(5 * time.Second)
				for {
					_, aerr := l.Append(mkMsg(tornTopic, "probe"))
					perr := s.Meta().Put("/probe", []byte("v"))
					if errors.Is(aerr, errInjected) && errors.Is(perr, errInjected) {
						break
					}
					if time.Now().After(deadline) {
						t.Fatalf("the failed fsync never failed the store: append %v, put %v", aerr, perr)
					}
					time.Sleep(time.Millisecond)
				}
			}
			failing.Store(false)
			if _, err := l.Append(mkMsg(tornTopic, "after")); !errors.Is(err, errInjected) {
				t.Fatalf("Append after a failed fsync: %v", err)
			}
			if err := s.Meta().Put("/k3", []byte("v")); !errors.Is(err, errInjected) {
				t.Fatalf("Put after a failed fsync: %v", err)
			}
			if p == FsyncAlways {
				checkLog(t, l, tornTopic, 0, 5)
			}
			s.Close()
			// The record whose fsync failed may or may not have reached the disk; the others did.
			s = openT(t, dir, Options{})
			defer s.Close()
			if next := logT(t, s, tornTopic).NextOffset(); next < 5 {
				t.Fatalf("next %d after reopening", next)
			}
			if _, ok, _ := s.Meta().Get("/k"); !ok {
				t.Fatal("a durable put was lost")
			}
		})
	}
}
