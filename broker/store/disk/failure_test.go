package disk

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/danube-console/danube-console/internal/testenv"
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
				var last [2]error // the probes' append and put errors
				testenv.Eventually(t, 5*time.Second, func() bool {
					_, last[0] = l.Append(mkMsg(tornTopic, "probe"))
					last[1] = s.Meta().Put("/probe", []byte("v"))
					return errors.Is(last[0], errInjected) && errors.Is(last[1], errInjected)
				}, "the failed fsync never failed the store: append and put %v", &last)
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

// mountTmpfs mounts a tmpfs of the given size on a new directory and unmounts it at cleanup. It skips the test
// when that is not possible (not root, or mounting refused).
func mountTmpfs(t *testing.T, size string) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("filling a disk needs a small tmpfs, and mounting one needs root")
	}
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a small tmpfs to fill: %v: %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, out)
		}
	})
	return dir
}

// fillDisk writes a file until the file system is full and returns its path.
func fillDisk(t *testing.T, dir string) string {
	t.Helper()
	path := filepath.Join(dir, "filler")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	chunk := make([]byte, 4<<10)
	for {
		if _, err := f.Write(chunk); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("filling the disk: %v", err)
			}
			return path
		}
	}
}

// TestDiskFull: on a full disk an Append (and a metadata change) fails with ENOSPC, the log is left as it was,
// and once there is space again appends go on without a restart; everything appended is there after reopening.
func TestDiskFull(t *testing.T) {
	for _, p := range policies {
		t.Run(p.String(), func(t *testing.T) {
			dir := mountTmpfs(t, "2m")
			opts := Options{Fsync: p, SegmentBytes: 16 << 10, FsyncInterval: time.Millisecond}
			s := openT(t, dir, opts)
			defer func() { s.Close() }()
			l := logT(t, s, tornTopic)
			appendN(t, l, tornTopic, 10)
			if err := s.Meta().Put("/k", []byte("v")); err != nil {
				t.Fatal(err)
			}
			filler := fillDisk(t, dir)

			var aerr error
			for range 10000 {
				if _, aerr = l.Append(mkMsg(tornTopic, payloadOf(tornTopic, l.NextOffset()))); aerr != nil {
					break
				}
			}
			if !errors.Is(aerr, syscall.ENOSPC) {
				t.Fatalf("Append on a full disk: %v", aerr)
			}
			if _, err := l.Append(mkMsg(tornTopic, "again")); !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("second Append on a full disk: %v", err)
			}
			var perr error
			for i := range 10000 {
				if perr = s.Meta().Put(fmt.Sprintf("/full/%d", i), make([]byte, 1000)); perr != nil {
					break
				}
			}
			if !errors.Is(perr, syscall.ENOSPC) {
				t.Fatalf("Put on a full disk: %v", perr)
			}
			kvs, _ := s.Meta().List("")

			if err := os.Remove(filler); err != nil {
				t.Fatal(err)
			}
			before := l.NextOffset()
			appendN(t, l, tornTopic, 300) // crosses segment rolls
			if err := s.Meta().Put("/after", []byte("v")); err != nil {
				t.Fatalf("Put after freeing space: %v", err)
			}
			next := l.NextOffset()
			checkLog(t, l, tornTopic, 0, next)
			if next != before+300 {
				t.Fatalf("next %d, want %d", next, before+300)
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			s = openT(t, dir, opts)
			if r := s.Recovery(); len(r) != 0 {
				t.Fatalf("reports %+v", r)
			}
			checkLog(t, logT(t, s, tornTopic), tornTopic, 0, next)
			got, _ := s.Meta().List("")
			if len(got) != len(kvs)+1 {
				t.Fatalf("%d metadata entries after reopening, want %d", len(got), len(kvs)+1)
			}
		})
	}
}
