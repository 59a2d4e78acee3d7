package monitor

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/danube-console/danube-console/broker"
	"github.com/danube-console/danube-console/broker/brokertest"
	"github.com/danube-console/danube-console/broker/store/disk"
	"github.com/danube-console/danube-console/client"
)

// TestRefreshReportsStoreRecovery: a broker that restored a topic log without metadata tells the console
// through its admin API, and Refresh puts the report in the snapshot (the Health pane shows it); a broker
// with nothing to report leaves it nil.
func TestRefreshReportsStoreRecovery(t *testing.T) {
	dir := t.TempDir()
	st, err := disk.Open(dir, disk.Options{})
	if err != nil {
		t.Fatal(err)
	}
	srv := brokertest.Run(t, broker.Options{Store: st, AdminPort: 0})
	c, err := client.Connect(context.Background(), srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	ctx := ctxT(t)
	p, err := c.NewProducer(ctx, client.ProducerConfig{Topic: "/default/kept", Name: "p", Dispatch: client.Reliable})
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, err := p.Send(ctx, []byte("x")); err != nil {
			t.Fatal(err)
		}
	}
	c.Close()

	refresh := func(srv *broker.Server) Snapshot {
		t.Helper()
		admin, err := client.ConnectAdmin(ctx, srv.AdminURL())
		if err != nil {
			t.Fatal(err)
		}
		defer admin.Close()
		m := newTestMonitor(t, Options{})
		m.Attach(nil, admin, nil)
		if err := m.Refresh(ctx); err != nil {
			t.Fatal(err)
		}
		return m.Snapshot()
	}
	if s := refresh(srv); s.StoreRecovery != nil {
		t.Fatalf("a broker with nothing repaired reported %+v", s.StoreRecovery)
	}
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(dir, "meta.log")); err != nil {
		t.Fatal(err)
	}
	st2, err := disk.Open(dir, disk.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st2.Close() })
	srv2 := brokertest.Run(t, broker.Options{Store: st2, AdminPort: 0})
	rec := refresh(srv2).StoreRecovery
	if rec == nil || len(rec.Reports) != 1 {
		t.Fatalf("store recovery in the snapshot: %+v, want the adopted log", rec)
	}
	r := rec.Reports[0]
	if r.Action != "adopted" || r.Topic != "/default/kept" || r.Records != 3 || r.LastOffset != 2 || rec.BrokerID == "" || rec.StartedAt.IsZero() {
		t.Fatalf("report %+v of broker %q started %v", r, rec.BrokerID, rec.StartedAt)
	}
}
