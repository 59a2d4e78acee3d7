package broker_test

import (
	"testing"
	"time"

	"github.com/danube-console/danube-console/broker"
	"github.com/danube-console/danube-console/broker/store/disk"
	"github.com/danube-console/danube-console/proto/adminpb"
	"github.com/danube-console/danube-console/proto/schemapb"
)

// openDisk opens the on-disk store in dir; the caller closes it.
func openDisk(t *testing.T, dir string) *disk.Store {
	t.Helper()
	st, err := disk.Open(dir, disk.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// TestDiskRestartRestoresEverything runs a broker on the on-disk store, changes every kind of state, stops
// the broker and closes the store, then opens both again from the directory: topics, namespaces,
// subscriptions with their failure policy and window, cursors, producer and consumer ids, the schema registry
// and the unacknowledged messages must all come back.
func TestDiskRestartRestoresEverything(t *testing.T) {
	dir := t.TempDir()
	st := openDisk(t, dir)
	opts := broker.Options{Store: st, FailurePolicy: fastPolicy(), CursorFlushInterval: time.Millisecond}
	w, a := newAdminWire(t, opts)

	a.mustCreateNamespace(t, "orders")
	reg, err := w.Schema.RegisterSchema(ctx(t), &schemapb.RegisterSchemaRequest{Subject: "orders-value",
		SchemaType: "json_schema", SchemaDefinition: []byte(`{"type":"object"}`)})
	if err != nil {
		t.Fatal(err)
	}
	p := w.mustProducer("/orders/new", "p", true)
	cid := w.mustSubscribe("/orders/new", "s", "c", shared)
	a.setPolicy(t, "/orders/new", "s", &adminpb.SubscriptionFailurePolicy{MaxRedeliveryCount: 7, AckTimeoutMs: 4000,
		BaseRedeliveryDelayMs: 10, MaxRedeliveryDelayMs: 1000, PoisonPolicy: adminpb.SubscriptionPoisonPolicy_Drop})
	a.setWindow(t, "/orders/new", "s", 3)
	s := w.receive(cid)
	p.mustSend("a", "b", "c", "d")
	w.ack("s", s.next(t)) // a acked; b and c in flight, d waits (window 3)
	s.next(t)
	s.next(t)
	s.close()
	if err := w.srv.Shutdown(ctx(t)); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	st2 := openDisk(t, dir)
	defer st2.Close()
	opts.Store = st2
	w2, a2 := newAdminWire(t, opts)
	if got := a2.namespaces(t); len(got) != 3 {
		t.Fatalf("namespaces after restart: %v", got)
	}
	latest, err := w2.Schema.GetLatestSchema(ctx(t), &schemapb.GetLatestSchemaRequest{Subject: "orders-value"})
	if err != nil || latest.SchemaId != reg.SchemaId || latest.Version != 1 {
		t.Fatalf("schema after restart: %v %v", latest, err)
	}
	pol, err := a2.Topic.GetSubscriptionFailurePolicy(ctx(t), &adminpb.GetSubscriptionFailurePolicyRequest{Topic: "/orders/new", Subscription: "s"})
	if err != nil || pol.FailurePolicy.GetMaxRedeliveryCount() != 7 || pol.FailurePolicy.GetPoisonPolicy() != adminpb.SubscriptionPoisonPolicy_Drop ||
		pol.SubscriptionType != int32(broker.Shared) {
		t.Fatalf("failure policy after restart: %v %v", pol, err)
	}
	win, err := a2.Topic.GetSubscriptionDispatchConfig(ctx(t), &adminpb.GetSubscriptionDispatchConfigRequest{Topic: "/orders/new", Subscription: "s"})
	if err != nil || win.DispatchConfig.GetMaxUnackedMessages() != 3 {
		t.Fatalf("window after restart: %v %v", win, err)
	}
	if p2 := w2.mustProducer("/orders/new", "p", true); p2.id != p.id {
		t.Fatalf("producer id %d after restart, want %d", p2.id, p.id)
	}
	s2 := w2.receive(cid) // the consumer id is still known
	got := map[string]bool{}
	for range 3 {
		m := s2.next(t)
		got[string(m.Payload)] = true
		w2.ack("s", m)
	}
	if !got["b"] || !got["c"] || !got["d"] {
		t.Fatalf("after restart got %v, want b, c and d", got)
	}
	// New messages continue the offsets.
	p2 := w2.mustProducer("/orders/new", "p", true)
	p2.mustSend("e")
	if m := s2.next(t); string(m.Payload) != "e" || m.MsgId.TopicOffset != 4 {
		t.Fatalf("got %q at offset %d, want e at 4", m.Payload, m.MsgId.TopicOffset)
	}
}

// TestDiskReliableSuite runs the core reliable behaviours on the on-disk store too.
func TestDiskReliableSuite(t *testing.T) {
	for _, pol := range []disk.FsyncPolicy{disk.FsyncAlways, disk.FsyncInterval, disk.FsyncNever} {
		t.Run(pol.String(), func(t *testing.T) {
			st, err := disk.Open(t.TempDir(), disk.Options{Fsync: pol})
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			w := newWire(t, broker.Options{Store: st, FailurePolicy: fastPolicy(), MaxUnackedMessages: 4})
			p := w.mustProducer("/default/rel", "p", true)
			p.mustSend("before")
			s := w.receive(w.mustSubscribe("/default/rel", "s", "c", exclusive))
			p.mustSend(seq("m", 20)...)
			offsets := map[string][]uint64{}
			acked := 0
			for acked < 20 {
				m := s.next(t)
				name := string(m.Payload)
				offsets[name] = append(offsets[name], m.MsgId.TopicOffset)
				if name == "m5" && len(offsets[name]) == 1 {
					w.nack("s", m, 0, "again")
					continue
				}
				w.ack("s", m)
				acked++
			}
			s.none(t, 50*time.Millisecond)
			for i := range 20 {
				name := "m" + uitoa(uint64(i))
				want := 1
				if name == "m5" {
					want = 2
				}
				got := offsets[name]
				if len(got) != want {
					t.Fatalf("%s delivered %d times, want %d", name, len(got), want)
				}
				for _, off := range got {
					if off != uint64(i+1) { // "before" took offset 0
						t.Fatalf("%s at offset %d, want %d", name, off, i+1)
					}
				}
			}
		})
	}
}
