package testenv

import (
	"bytes"
	"crypto/rand"
	"io"
	"net"
	"sync"
	"testing"
	"time"
)

// echoServer answers every connection with what it reads until its end, and stops when the test ends.
func echoServer(t *testing.T) string {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { lis.Close(); wg.Wait() })
	wg.Go(func() {
		for {
			c, err := lis.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				defer c.Close()
				io.Copy(c, c)
			})
		}
	})
	return lis.Addr().String()
}

// TestLatencyProxy checks that the proxy delays a round trip by at least twice its one-way delay, carries
// 4 MiB each way intact and in order, passes the end of a stream on, and forgets connections that ended.
func TestLatencyProxy(t *testing.T) {
	const oneWay = 20 * time.Millisecond
	p := NewLatencyProxy(t, oneWay)
	p.Forward(echoServer(t))
	c, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	start := time.Now()
	if _, err := c.Write([]byte("ping")); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, 4)
	if _, err := io.ReadFull(c, got); err != nil || string(got) != "ping" {
		t.Fatalf("echo: %q, %v", got, err)
	}
	if rtt := time.Since(start); rtt < 2*oneWay {
		t.Fatalf("a round trip took %v through a proxy of %v each way", rtt, oneWay)
	}

	data := make([]byte, 4<<20)
	rand.Read(data)
	var back []byte
	var rerr error
	var wg sync.WaitGroup
	wg.Go(func() { back, rerr = io.ReadAll(c) })
	if _, err := c.Write(data); err != nil {
		t.Fatal(err)
	}
	c.(*net.TCPConn).CloseWrite()
	wg.Wait()
	if rerr != nil || !bytes.Equal(back, data) {
		t.Fatalf("4 MiB through the proxy: %d bytes back, equal %v, %v", len(back), bytes.Equal(back, data), rerr)
	}
	// Both ends closed, the proxy forgets the two connections.
	c.Close()
	open := func() int {
		p.mu.Lock()
		defer p.mu.Unlock()
		return len(p.conns)
	}
	Eventually(t, 10*time.Second, func() bool { return open() == 0 }, "the proxy keeps connections after both ends closed")
}
