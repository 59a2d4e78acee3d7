package store_test

import (
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/danube-console/danube-console/broker/store"
	"github.com/danube-console/danube-console/broker/store/disk"
	"github.com/danube-console/danube-console/proto/danubepb"
)

// stores lists every Store implementation; each test runs against all of them.
var stores = map[string]func(t *testing.T) store.Store{
	"Memory": func(t *testing.T) store.Store { return store.NewMemory() },
	"Disk": func(t *testing.T) store.Store {
		s, err := disk.Open(t.TempDir(), disk.Options{})
		if err != nil {
			t.Fatal(err)
		}
		return s
	},
}

func forEachStore(t *testing.T, f func(t *testing.T, s store.Store)) {
	for name, open := range stores {
		t.Run(name, func(t *testing.T) {
			s := open(t)
			t.Cleanup(func() { s.Close() })
			f(t, s)
		})
	}
}

func msg(payload string) *danubepb.StreamMessage {
	return &danubepb.StreamMessage{MsgId: &danubepb.MsgID{TopicName: "/default/t"}, Payload: []byte(payload)}
}

func TestLogAppendRead(t *testing.T) {
	forEachStore(t, func(t *testing.T, s store.Store) {
		l, err := s.Log("/default/t")
		if err != nil {
			t.Fatal(err)
		}
		if l.StartOffset() != 0 || l.NextOffset() != 0 {
			t.Fatalf("empty log: start %d next %d", l.StartOffset(), l.NextOffset())
		}
		for i := range 10 {
			m := msg(fmt.Sprint(i))
			off, err := l.Append(m)
			if err != nil || off != uint64(i) || m.MsgId.TopicOffset != uint64(i) {
				t.Fatalf("Append %d: offset %d (msg %d) err %v", i, off, m.MsgId.TopicOffset, err)
			}
		}
		got, err := l.Read(3, 4)
		if err != nil || len(got) != 4 || string(got[0].Payload) != "3" || string(got[3].Payload) != "6" {
			t.Fatalf("Read(3,4) = %v, %v", got, err)
		}
		if got, _ := l.Read(8, 100); len(got) != 2 {
			t.Fatalf("Read past the end returned %d", len(got))
		}
		if got, _ := l.Read(10, 5); len(got) != 0 {
			t.Fatalf("Read at the end returned %d", len(got))
		}
		again, _ := s.Log("/default/t")
		if again.NextOffset() != 10 {
			t.Fatal("a second Log call for the topic is not the same log")
		}
	})
}

func TestLogTruncate(t *testing.T) {
	forEachStore(t, func(t *testing.T, s store.Store) {
		l, _ := s.Log("/default/t")
		for i := range 10 {
			l.Append(msg(fmt.Sprint(i)))
		}
		if err := l.TruncateBefore(4); err != nil {
			t.Fatal(err)
		}
		if l.StartOffset() > 4 || l.NextOffset() != 10 {
			t.Fatalf("start %d next %d", l.StartOffset(), l.NextOffset())
		}
		if _, err := l.Read(0, 1); l.StartOffset() > 0 && !errors.Is(err, store.ErrOffsetTruncated) {
			t.Fatalf("Read below the start: %v", err)
		}
		got, err := l.Read(4, 1)
		if err != nil || string(got[0].Payload) != "4" {
			t.Fatalf("Read(4) after truncation: %v %v", got, err)
		}
		if off, _ := l.Append(msg("x")); off != 10 {
			t.Fatalf("offsets must continue after truncation: %d", off)
		}
		if err := l.TruncateBefore(100); err != nil || l.StartOffset() > l.NextOffset() {
			t.Fatalf("truncating everything: %v start %d next %d", err, l.StartOffset(), l.NextOffset())
		}
	})
}

func TestDeleteLog(t *testing.T) {
	forEachStore(t, func(t *testing.T, s store.Store) {
		l, _ := s.Log("/default/t")
		l.Append(msg("x"))
		if err := s.DeleteLog("/default/t"); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteLog("/default/never"); err != nil {
			t.Fatalf("deleting a missing log: %v", err)
		}
		l, _ = s.Log("/default/t")
		if l.NextOffset() != 0 {
			t.Fatal("a deleted log came back with its messages")
		}
	})
}

func TestMeta(t *testing.T) {
	forEachStore(t, func(t *testing.T, s store.Store) {
		m := s.Meta()
		v := []byte("one")
		if err := m.Put("/a/1", v); err != nil {
			t.Fatal(err)
		}
		v[0] = 'X' // the store keeps its own copy
		m.Put("/a/2", []byte("two"))
		m.Put("/b/1", []byte("three"))
		if got, ok, err := m.Get("/a/1"); err != nil || !ok || string(got) != "one" {
			t.Fatalf("Get = %q %v %v", got, ok, err)
		}
		if _, ok, _ := m.Get("/nope"); ok {
			t.Fatal("Get of a missing key")
		}
		kvs, _ := m.List("/a/")
		if len(kvs) != 2 || kvs[0].Key != "/a/1" || kvs[1].Key != "/a/2" {
			t.Fatalf("List = %v", kvs)
		}
		m.Delete("/a/1")
		m.Delete("/never")
		if kvs, _ := m.List("/a/"); len(kvs) != 1 {
			t.Fatalf("after Delete: %v", kvs)
		}
		m.DeletePrefix("/")
		if kvs, _ := m.List(""); len(kvs) != 0 {
			t.Fatalf("after DeletePrefix: %v", kvs)
		}
	})
}

func TestClosed(t *testing.T) {
	forEachStore(t, func(t *testing.T, s store.Store) {
		l, _ := s.Log("/default/t")
		s.Close()
		if _, err := l.Append(msg("x")); !errors.Is(err, store.ErrClosed) {
			t.Fatalf("Append after Close: %v", err)
		}
		if err := s.Meta().Put("/k", nil); !errors.Is(err, store.ErrClosed) {
			t.Fatalf("Put after Close: %v", err)
		}
		if _, err := s.Log("/default/u"); !errors.Is(err, store.ErrClosed) {
			t.Fatalf("Log after Close: %v", err)
		}
	})
}

func TestConcurrentAppends(t *testing.T) {
	forEachStore(t, func(t *testing.T, s store.Store) {
		l, _ := s.Log("/default/t")
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				for range 500 {
					if _, err := l.Append(msg("x")); err != nil {
						t.Error(err)
						return
					}
				}
			})
		}
		wg.Wait()
		all, _ := l.Read(0, 10000)
		if len(all) != 4000 {
			t.Fatalf("read %d", len(all))
		}
		for i, m := range all {
			if m.MsgId.TopicOffset != uint64(i) {
				t.Fatalf("message %d has offset %d", i, m.MsgId.TopicOffset)
			}
		}
	})
}
