package client

import (
	"context"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/danube-console/danube-console/broker"
	"github.com/danube-console/danube-console/broker/brokertest"
	"github.com/danube-console/danube-console/internal/testenv"
)

// blockingObserver blocks every event until release is closed, and counts the send events.
type blockingObserver struct {
	NopObserver
	release chan struct{}
	sends   atomic.Int64
}

func (o *blockingObserver) OnSend(SendEvent) {
	<-o.release
	o.sends.Add(1)
}

func (o *blockingObserver) OnLookup(LookupEvent) { <-o.release }

// onlyObserver implements Observer without being an InlineObserver (NopObserver would make it one).
type onlyObserver struct{ b *blockingObserver }

func (o onlyObserver) OnLookup(e LookupEvent)     { o.b.OnLookup(e) }
func (o onlyObserver) OnProducer(ProducerEvent)   {}
func (o onlyObserver) OnSend(e SendEvent)         { o.b.OnSend(e) }
func (o onlyObserver) OnConsumer(ConsumerEvent)   {}
func (o onlyObserver) OnReceive(ReceiveEvent)     {}
func (o onlyObserver) OnAck(AckEvent)             {}
func (o onlyObserver) OnHealth(HealthEvent)       {}
func (o onlyObserver) OnConnState(ConnStateEvent) {}

// A user's observer that blocks never blocks the client: its events go through the client's queue, which
// Close delivers before it returns.
func TestObserverNeverBlocksClient(t *testing.T) {
	srv := brokertest.Run(t, broker.Options{AdminPort: -1})
	obs := &blockingObserver{release: make(chan struct{})}
	c, err := Connect(context.Background(), srv.URL(), WithObserver(onlyObserver{obs}))
	if err != nil {
		t.Fatal(err)
	}
	if c.asyncObs == nil || c.obs != Observer(c.asyncObs) {
		t.Fatal("the observer is not behind the client's queue")
	}
	p, err := c.NewProducer(prodTestCtx(t), ProducerConfig{Topic: "/default/slow-observer"})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		for range 100 {
			if _, err := p.Send(context.Background(), []byte("x")); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("sends blocked by the observer")
	}
	if obs.sends.Load() != 0 {
		t.Fatal("the observer was not blocked")
	}
	close(obs.release)
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if n := obs.sends.Load(); n != 100 {
		t.Fatalf("the observer saw %d sends after Close, want 100", n)
	}
	if c.asyncObs.Dropped() != 0 {
		t.Fatalf("%d events dropped", c.asyncObs.Dropped())
	}
}

// An InlineObserver (and an AsyncObserver, which is one) is called directly: no queue.
func TestInlineObserverCalledDirectly(t *testing.T) {
	srv := brokertest.Run(t, broker.Options{AdminPort: -1})
	obs := &prodTestObserver{}
	c := prodTestClient(t, srv, WithObserver(obs))
	if c.asyncObs != nil || c.obs != Observer(obs) {
		t.Fatal("an InlineObserver was queued")
	}
	p := prodTestProducer(t, c, ProducerConfig{Topic: "/default/inline-observer"})
	if _, err := p.Send(prodTestCtx(t), []byte("x")); err != nil {
		t.Fatal(err)
	}
	obs.mu.Lock()
	n := len(obs.sends)
	obs.mu.Unlock()
	if n != 1 {
		t.Fatalf("%d send events when Send returned, want 1", n)
	}
	ao := NewAsyncObserver(NopObserver{}, 4)
	defer ao.Close()
	c2 := prodTestClient(t, srv, WithObserver(ao))
	if c2.asyncObs != nil {
		t.Fatal("an AsyncObserver was queued again")
	}
	var _ InlineObserver = NopObserver{}
	var _ InlineObserver = ao
}

// AsyncObserver.Close while events are being queued is not a data race and loses no count: every event
// is either delivered or dropped.
func TestAsyncObserverCloseWhileQueueing(t *testing.T) {
	var delivered atomic.Uint64
	next := &countingObserver{n: &delivered}
	a := NewAsyncObserver(next, 4)
	var sent atomic.Uint64
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				a.OnSend(SendEvent{})
				sent.Add(1)
			}
		})
	}
	testenv.Eventually(t, 5*time.Second, func() bool { return delivered.Load() > 100 }, "events delivered before Close")
	a.Close()
	testenv.Eventually(t, 5*time.Second, func() bool { return a.Dropped() > 0 }, "no event dropped after Close")
	close(stop)
	wg.Wait()
	a.Close() // idempotent
	a.OnAck(AckEvent{})
	sent.Add(1)
	if delivered.Load()+a.Dropped() != sent.Load() {
		t.Fatalf("%d sent, %d delivered + %d dropped", sent.Load(), delivered.Load(), a.Dropped())
	}
	if a.Dropped() == 0 {
		t.Fatal("no event dropped after Close")
	}
}

type countingObserver struct {
	NopObserver
	n *atomic.Uint64
}

func (o *countingObserver) OnSend(SendEvent) { o.n.Add(1) }
func (o *countingObserver) OnAck(AckEvent)   { o.n.Add(1) }

// Every exported name of the package has a doc comment.
func TestExportedNamesDocumented(t *testing.T) {
	fset := token.NewFileSet()
	entries, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	var files []*ast.File
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".go") || strings.HasSuffix(e.Name(), "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, e.Name(), nil, parser.ParseComments)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	pkgs := map[string][]*ast.File{"client": files}
	for _, pkg := range pkgs {
		for _, f := range pkg {
			for _, d := range f.Decls {
				switch d := d.(type) {
				case *ast.FuncDecl:
					if d.Name.IsExported() && d.Doc == nil && (d.Recv == nil || exportedRecv(d.Recv)) {
						t.Errorf("%s: %s has no doc comment", fset.Position(d.Pos()), d.Name.Name)
					}
				case *ast.GenDecl:
					for _, s := range d.Specs {
						switch s := s.(type) {
						case *ast.TypeSpec:
							if s.Name.IsExported() && s.Doc == nil && d.Doc == nil {
								t.Errorf("%s: type %s has no doc comment", fset.Position(s.Pos()), s.Name.Name)
							}
						case *ast.ValueSpec:
							for _, n := range s.Names {
								if n.IsExported() && s.Doc == nil && d.Doc == nil {
									t.Errorf("%s: %s has no doc comment", fset.Position(n.Pos()), n.Name)
								}
							}
						}
					}
				}
			}
		}
	}
}

func exportedRecv(fl *ast.FieldList) bool {
	typ := fl.List[0].Type
	if s, ok := typ.(*ast.StarExpr); ok {
		typ = s.X
	}
	id, ok := typ.(*ast.Ident)
	return ok && id.IsExported()
}
