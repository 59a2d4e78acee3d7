package tuitest

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/danube-console/danube-console/monitor"
)

// Churn moves a Fake's data on the way a live monitor's snapshots move, one step per frame, so that no two
// frames draw the same data: the clock advances by the frame interval, every rate changes, the counters
// grow by what the rates say, every series shifts in a new point, latencies and health checks move, and
// the fed streams receive new messages. Steps are deterministic: the same Fake stepped the same number of
// times holds the same data.
//
// Churn is safe for concurrent use: Now may be called by the console while another goroutine calls Step.
type Churn struct {
	f        *Fake
	interval time.Duration
	feed     []string
	perFrame int
	ringLen  int

	mu   sync.Mutex
	now  time.Time
	step int
}

// NewChurn returns a Churn of f at Epoch that advances the clock by interval each step and appends
// perFrame messages to each stream of feed (keeping the newest ringLen). Pass Now as the console's clock.
// It fails if interval, perFrame or ringLen is not positive, or (with ErrUnknown) if a stream of feed is
// not set in f.
func NewChurn(f *Fake, interval time.Duration, perFrame, ringLen int, feed ...string) (*Churn, error) {
	if interval <= 0 || perFrame <= 0 || ringLen <= 0 {
		return nil, fmt.Errorf("tuitest: churn: interval %v, messages per frame %d and ring length %d must be positive", interval, perFrame, ringLen)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, s := range feed {
		if len(f.streams[s]) == 0 {
			return nil, fmt.Errorf("%w: churn: stream %q has no messages in the Fake (set it with SetStream)", ErrUnknown, s)
		}
	}
	return &Churn{f: f, interval: interval, feed: slices.Clone(feed), perFrame: perFrame, ringLen: ringLen, now: Epoch}, nil
}

// Now returns the churned clock: Epoch plus one interval per step.
func (c *Churn) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Step moves the data on by one frame.
func (c *Churn) Step() {
	c.mu.Lock()
	c.step++
	c.now = c.now.Add(c.interval)
	step, now := c.step, c.now
	c.mu.Unlock()

	dt := c.interval.Seconds()
	// wave is a factor in [0.5, 1.5] that differs per row and per step.
	wave := func(row int) float64 { return 1 + 0.5*math.Sin(float64(step)*0.7+float64(row)*1.3) }
	c.f.Update(func(s *monitor.Snapshot) {
		s.Time = now
		s.Producers = slices.Clone(s.Producers)
		for i := range s.Producers {
			p := &s.Producers[i]
			p.MsgRate = math.Round(float64(100*(i+1)) * wave(i))
			p.ByteRate = p.MsgRate * 200
			p.Msgs += uint64(p.MsgRate * dt)
			p.Bytes += uint64(p.ByteRate * dt)
			p.Series = shift(p.Series, p.MsgRate)
			p.Publish = jitter(p.Publish, i+step)
		}
		var total float64
		s.Consumers = slices.Clone(s.Consumers)
		for i := range s.Consumers {
			cs := &s.Consumers[i]
			cs.Rate = math.Round(float64(100*(i+1)) * wave(i+50))
			total += cs.Rate
			cs.Received += uint64(cs.Rate * dt)
			cs.Bytes += uint64(cs.Rate * dt * 200)
			cs.Series = shift(cs.Series, cs.Rate)
			cs.EndToEnd = jitter(cs.EndToEnd, i+step)
		}
		s.Subscriptions = slices.Clone(s.Subscriptions)
		for i := range s.Subscriptions {
			ss := &s.Subscriptions[i]
			n := uint64(float64(100*(i+1)) * wave(i+50) * dt)
			ss.Received += n
			ss.Acked += n - uint64(step%3)
		}
		s.Connectors = slices.Clone(s.Connectors)
		for i := range s.Connectors {
			cn := &s.Connectors[i]
			cn.Throughput = math.Round(float64(10*(i+1)) * wave(i+100))
			cn.Received += uint64(cn.Throughput * dt)
			cn.Processed += uint64(cn.Throughput * dt)
			cn.Series = shift(cn.Series, cn.Throughput)
		}
		s.Health = slices.Clone(s.Health)
		for i := range s.Health {
			if (i+step)%10 == 0 {
				s.Health[i].At = now
				s.Health[i].RTT = time.Duration(500+(i*37+step*11)%1500) * time.Microsecond
			}
		}
		s.Totals.ReceivedPerSec = total
		s.Totals.Received += uint64(total * dt)
	})
	for i, stream := range c.feed {
		c.f.mu.Lock()
		last := c.f.streams[stream][len(c.f.streams[stream])-1]
		c.f.mu.Unlock()
		topic := last.Topic
		if k := strings.LastIndex(topic, "-part-"); k > 0 {
			topic = topic[:k]
		}
		msgs := Messages(topic, last.Subscription, last.Consumer, c.perFrame, now)
		for j := range msgs {
			msgs[j].Seq = last.Seq + uint64(j) + 1
			msgs[j].Offset = last.Offset + uint64(j) + 1
			msgs[j].Key = fmt.Sprintf("key-%d", (step*c.perFrame+j+i)%17)
		}
		c.f.Append(stream, c.ringLen, msgs...)
	}
}

// shift returns a new series of the same length: s without its oldest point, then v.
func shift(s []float64, v float64) []float64 {
	if len(s) == 0 {
		return s
	}
	out := make([]float64, len(s))
	copy(out, s[1:])
	out[len(out)-1] = v
	return out
}

// jitter returns a latency summary with ten more samples and percentiles between 0.8 and 1.5 ms (p50)
// that differ with k.
func jitter(l monitor.Latency, k int) monitor.Latency {
	l.Count += 10
	l.P50 = time.Duration(800+(k*53)%700) * time.Microsecond
	l.P99 = 9 * l.P50
	l.Max = max(l.Max, l.P99)
	return l
}
