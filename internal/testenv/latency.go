package testenv

import (
	"bytes"
	"net"
	"sync"
	"testing"
	"time"
)

// LatencyProxy is a link with latency: it listens on a loopback port (Addr) and forwards every connection
// to the address given to Forward, holding each chunk of bytes for at least its one-way delay in each
// direction. The link has a round trip of twice the delay and the loopback's bandwidth: many requests in
// flight overlap their delays, as they would on a network.
type LatencyProxy struct {
	lis    net.Listener
	oneWay time.Duration
	wg     sync.WaitGroup

	mu     sync.Mutex
	target string
	closed bool
	conns  map[net.Conn]struct{}
}

// NewLatencyProxy starts a proxy with a delay of oneWay each way; it forwards nothing until Forward names
// where to (a connection accepted before is closed). Everything it started is stopped by t.Cleanup. The
// address is known first so that a broker can advertise it in its lookups.
func NewLatencyProxy(t testing.TB, oneWay time.Duration) *LatencyProxy {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("latency proxy: %v", err)
	}
	p := &LatencyProxy{lis: lis, oneWay: oneWay, conns: map[net.Conn]struct{}{}}
	p.wg.Go(p.accept)
	t.Cleanup(p.close)
	return p
}

// Addr is the address to dial instead of the target.
func (p *LatencyProxy) Addr() string { return p.lis.Addr().String() }

// Forward sets the address connections are forwarded to.
func (p *LatencyProxy) Forward(target string) {
	p.mu.Lock()
	p.target = target
	p.mu.Unlock()
}

// forget closes c and drops it from the connections close closes.
func (p *LatencyProxy) forget(c net.Conn) {
	c.Close()
	p.mu.Lock()
	delete(p.conns, c)
	p.mu.Unlock()
}

// track remembers c to be closed by close; it reports false (and closes c) once close has run.
func (p *LatencyProxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		c.Close()
		return false
	}
	p.conns[c] = struct{}{}
	return true
}

func (p *LatencyProxy) close() {
	p.lis.Close()
	p.mu.Lock()
	p.closed = true
	for c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}

func (p *LatencyProxy) accept() {
	for {
		in, err := p.lis.Accept()
		if err != nil {
			return // closed
		}
		if !p.track(in) {
			return
		}
		p.mu.Lock()
		target := p.target
		p.mu.Unlock()
		if target == "" {
			p.forget(in)
			continue
		}
		out, err := net.Dial("tcp", target)
		if err != nil {
			p.forget(in)
			continue
		}
		if !p.track(out) {
			return
		}
		var both sync.WaitGroup
		both.Go(func() { p.pipe(out, in) })
		both.Go(func() { p.pipe(in, out) })
		p.wg.Go(func() {
			both.Wait()
			p.forget(in)
			p.forget(out)
		})
	}
}

// pipe copies src to dst, each chunk written oneWay after it was read. The reading goes on meanwhile, so
// the delay does not slow the link down. When either side fails both connections are closed.
func (p *LatencyProxy) pipe(dst, src net.Conn) {
	type chunk struct {
		due time.Time
		b   []byte
	}
	// At most 256 chunks wait: a reader that gets ahead of the writer by as much waits for it, as a link's
	// buffers would make it.
	chunks := make(chan chunk, 256)
	p.wg.Go(func() {
		defer close(chunks)
		buf := make([]byte, 32<<10)
		for {
			n, err := src.Read(buf)
			if n > 0 {
				chunks <- chunk{time.Now().Add(p.oneWay), bytes.Clone(buf[:n])} // only what was read is kept
			}
			if err != nil {
				return
			}
		}
	})
	var werr error
	for c := range chunks {
		if werr != nil {
			continue // drain, so that the reader ends
		}
		if wait := time.Until(c.due); wait > 0 {
			time.Sleep(wait)
		}
		if _, werr = dst.Write(c.b); werr != nil {
			dst.Close()
			src.Close()
		}
	}
	if werr == nil {
		if tc, ok := dst.(*net.TCPConn); ok {
			tc.CloseWrite() // pass the end of src on
		}
	}
}
