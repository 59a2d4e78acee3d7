package broker_test

import (
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"

	"github.com/danube-console/danube-console/broker"
	"github.com/danube-console/danube-console/broker/store"
	"github.com/danube-console/danube-console/proto/adminpb"
)

// restartOn stops w's broker, closes its store, runs between, and starts a broker on the directory again.
func restartOn(t *testing.T, w *wire, st interface{ Close() error }, dir string, opts broker.Options, between func()) (*wire, adminClients, *broker.Server, store.Store) {
	t.Helper()
	if err := w.srv.Shutdown(ctx(t)); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	if between != nil {
		between()
	}
	st2 := openDisk(t, dir)
	t.Cleanup(func() { st2.Close() })
	opts.Store = st2
	w2, a2 := newAdminWire(t, opts)
	return w2, a2, w2.srv, st2
}

// TestLostMetadataKeepsTopicLogs loses meta.log and damages one record while a reliable topic's log holds
// messages: the broker
// restores the topic from its log, says so, delivers every stored message to a new subscription, and a
// producer that comes back appends after them instead of deleting them.
func TestLostMetadataKeepsTopicLogs(t *testing.T) {
	dir := t.TempDir()
	st := openDisk(t, dir)
	opts := broker.Options{Store: st, FailurePolicy: fastPolicy()}
	w, a := newAdminWire(t, opts)
	a.mustCreateNamespace(t, "orders") // a namespace that the lost metadata held too
	p := w.mustProducer("/orders/new", "p", true)
	p.mustSend(seq("m", 10)...)

	opts.MetricsAddr = "127.0.0.1:0"
	w2, _, srv, _ := restartOn(t, w, st, dir, opts, func() {
		if err := os.Remove(filepath.Join(dir, "meta.log")); err != nil {
			t.Fatal(err)
		}
		// And one record damaged: the adopted log holds the other nine.
		damageRecord(t, filepath.Join(dir, "topics", "t-"+hex.EncodeToString([]byte("/orders/new")), "00000000000000000000.seg"), 4, 24+3)
	})
	fams := scrape(t, srv.MetricsAddr())
	for _, m := range fams["danube_store_recovery_reports"].GetMetric() {
		want := 0.0
		if a := m.GetLabel()[0].GetValue(); a == store.RecoveryAdopted || a == store.RecoverySkipped {
			want = 1
		}
		if got := m.GetGauge().GetValue(); got != want {
			t.Errorf("danube_store_recovery_reports{action=%q} = %v, want %v", m.GetLabel()[0].GetValue(), got, want)
		}
	}
	if lost := fams["danube_store_recovery_lost_messages"].GetMetric(); len(lost) != 1 || lost[0].GetGauge().GetValue() != 1 {
		t.Errorf("danube_store_recovery_lost_messages = %v, want 1", lost)
	}
	if n := len(fams["danube_store_recovery_reports"].GetMetric()); n != 5 {
		t.Errorf("%d danube_store_recovery_reports series, want one per action", n)
	}
	var adopted []store.RecoveryReport
	for _, r := range srv.Recovery() {
		if r.Action == store.RecoveryAdopted {
			adopted = append(adopted, r)
		}
	}
	if len(adopted) != 1 || adopted[0].Topic != "/orders/new" || adopted[0].Records != 9 || adopted[0].LastOffset != 9 {
		t.Fatalf("recovery reports %+v, want the adopted log of /orders/new with offsets 0-9", srv.Recovery())
	}
	info, ok := srv.Topic("/orders/new")
	if !ok || !info.Reliable || info.NextOffset != 10 {
		t.Fatalf("topic after losing the metadata: %+v %v", info, ok)
	}
	s := w2.receive(w2.mustSubscribe("/orders/new", "again", "c", exclusive))
	p2 := w2.mustProducer("/orders/new", "p", true)
	p2.mustSend("after")
	for i, want := range append(seq("m", 10), "after") {
		if i == 4 {
			continue // the damaged one
		}
		m := s.next(t)
		if string(m.Payload) != want || m.MsgId.TopicOffset != uint64(i) {
			t.Fatalf("got %q at offset %d, want %q at %d", m.Payload, m.MsgId.TopicOffset, want, i)
		}
		w2.ack("again", m)
	}
}

// TestDeletedTopicLogStaysDeleted: a topic deleted with the admin API does not come back at the next start,
// a deletion that stopped between the records and the log (the mark is still there) is finished at start
// rather than restored, and one that stopped right after its mark leaves the topic as it was.
func TestDeletedTopicLogStaysDeleted(t *testing.T) {
	dir := t.TempDir()
	st := openDisk(t, dir)
	opts := broker.Options{Store: st, FailurePolicy: fastPolicy()}
	w, a := newAdminWire(t, opts)
	w.mustProducer("/default/gone", "p", true).mustSend("x")
	w.mustProducer("/default/half", "p", true).mustSend("y")
	w.mustProducer("/default/stays", "p", true).mustSend("z")
	if _, err := a.Topic.DeleteTopic(ctx(t), &adminpb.TopicRequest{Name: "/default/gone"}); err != nil {
		t.Fatal(err)
	}
	_, _, srv, st2 := restartOn(t, w, st, dir, opts, func() {
		// What a crash in the middle of deleting /default/half leaves: the mark, no records, the log.
		st := openDisk(t, dir)
		defer st.Close()
		if err := st.Meta().Put("/deleted-logs//default/half", nil); err != nil {
			t.Fatal(err)
		}
		if err := st.Meta().DeletePrefix("/topics//default/half"); err != nil {
			t.Fatal(err)
		}
		// And what a crash right after the mark leaves: the mark, the records, the log.
		if err := st.Meta().Put("/deleted-logs//default/stays", nil); err != nil {
			t.Fatal(err)
		}
	})
	if info, ok := srv.Topic("/default/stays"); !ok || info.NextOffset != 1 {
		t.Fatalf("/default/stays, whose deletion stopped before it removed anything: %+v %v", info, ok)
	}
	for _, name := range []string{"/default/gone", "/default/half"} {
		if _, ok := srv.Topic(name); ok {
			t.Fatalf("%s came back after its deletion", name)
		}
	}
	if r := srv.Recovery(); len(r) != 0 {
		t.Fatalf("recovery reports %+v, want none", r)
	}
	if err := srv.Shutdown(ctx(t)); err != nil {
		t.Fatal(err)
	}
	if _, marked, err := st2.Meta().Get("/deleted-logs//default/stays"); err != nil || marked {
		t.Fatalf("the mark of the topic that stays is still there (%v)", err)
	}
}
