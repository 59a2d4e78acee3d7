package disk

import (
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/danube-console/danube-console/broker/store"
	"github.com/danube-console/danube-console/proto/danubepb"
)

// Like broker/bench_test.go, the append benchmarks measure the disk store next to the in-memory store in the
// same run, alternating rounds so that drift in the machine's load hits both alike, and report the ratio.

const (
	benchConcurrency = 64
	benchPayload     = 256
	benchTopic       = "/default/bench"
	benchRounds      = 8
	benchTrimEvery   = 10_000
)

func benchMsg(payload []byte) *danubepb.StreamMessage {
	return &danubepb.StreamMessage{
		MsgId:        &danubepb.MsgID{ProducerId: 1, TopicName: benchTopic, BrokerAddr: "127.0.0.1:6650"},
		Payload:      payload,
		PublishTime:  uint64(time.Now().UnixMilli()),
		ProducerName: "bench",
	}
}

// appendAll appends n messages of payload from benchConcurrency goroutines and returns the elapsed time.
func appendAll(b *testing.B, l store.Log, n int, payload []byte) time.Duration {
	var next atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for range benchConcurrency {
		wg.Go(func() {
			for next.Add(1) <= int64(n) {
				if _, err := l.Append(benchMsg(payload)); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	return time.Since(start)
}

func roundSize(n, i int) int {
	if i < n%benchRounds {
		return n/benchRounds + 1
	}
	return n / benchRounds
}

func BenchmarkAppend(b *testing.B) {
	b.Run("Memory", func(b *testing.B) { benchAppend(b, nil) })
	for _, p := range []FsyncPolicy{FsyncNever, FsyncInterval, FsyncAlways} {
		name := "Disk" + strings.ToUpper(p.String()[:1]) + p.String()[1:]
		b.Run(name, func(b *testing.B) { benchAppend(b, &Options{Fsync: p}) })
	}
}

// benchAppend measures the memory store and, when opts is set, a disk store with opts.
func benchAppend(b *testing.B, opts *Options) {
	payload := make([]byte, benchPayload)
	mem := store.NewMemory()
	defer mem.Close()
	ml, _ := mem.Log(benchTopic)
	var dl store.Log
	if opts != nil {
		s := openT(b, b.TempDir(), *opts)
		defer s.Close()
		dl = logT(b, s, benchTopic)
	}
	appendAll(b, ml, 1000, payload) // warm up
	if dl != nil {
		appendAll(b, dl, 1000, payload)
	}
	b.SetBytes(benchPayload)
	b.ResetTimer()
	var memT, diskT time.Duration
	for i := range benchRounds {
		// Trim every benchTrimEvery messages, as the broker does when its consumers keep up, so that both
		// stores work at a steady size (a backlog that keeps growing costs the memory store fresh pages,
		// measured by broker/store's BenchmarkMemoryFootprint instead).
		for n := roundSize(b.N, i); n > 0; n -= benchTrimEvery {
			memT += appendAll(b, ml, min(n, benchTrimEvery), payload)
			if dl != nil {
				diskT += appendAll(b, dl, min(n, benchTrimEvery), payload)
			}
			b.StopTimer()
			ml.TruncateBefore(ml.NextOffset())
			if dl != nil {
				dl.TruncateBefore(dl.NextOffset())
			}
			b.StartTimer()
		}
	}
	b.StopTimer()
	if dl == nil {
		b.ReportMetric(float64(b.N)/memT.Seconds(), "msgs/s")
		return
	}
	b.ReportMetric(float64(b.N)/diskT.Seconds(), "msgs/s")
	b.ReportMetric(float64(b.N)/memT.Seconds(), "memory-msgs/s")
	b.ReportMetric(memT.Seconds()/diskT.Seconds(), "ratio-to-memory")
	b.ReportMetric(float64(b.N+1000)/float64(dl.(*diskLog).writes.Load()), "msgs/write")
}

// BenchmarkGroupCommit measures what group commit buys under FsyncAlways: 64 concurrent appenders with
// batching, against the same store limited to one message per write+fsync, alternating rounds.
func BenchmarkGroupCommit(b *testing.B) {
	payload := make([]byte, benchPayload)
	batched := openT(b, b.TempDir(), Options{Fsync: FsyncAlways})
	defer batched.Close()
	single := openT(b, b.TempDir(), Options{Fsync: FsyncAlways, maxBatch: 1})
	defer single.Close()
	bl, sl := logT(b, batched, benchTopic), logT(b, single, benchTopic)
	appendAll(b, bl, 200, payload)
	appendAll(b, sl, 200, payload)
	b.ResetTimer()
	var bt, st time.Duration
	for i := range benchRounds {
		n := roundSize(b.N, i)
		bt += appendAll(b, bl, n, payload)
		st += appendAll(b, sl, n, payload)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/bt.Seconds(), "batched-msgs/s")
	b.ReportMetric(float64(b.N)/st.Seconds(), "one-per-fsync-msgs/s")
	b.ReportMetric(st.Seconds()/bt.Seconds(), "speedup")
}

// BenchmarkRecoveryOneMillion writes 1,000,000 small records once and measures Open, which scans, checks and
// indexes all of them.
func BenchmarkRecoveryOneMillion(b *testing.B) {
	const n = 1_000_000
	dir := b.TempDir()
	opts := Options{Fsync: FsyncNever}
	s := openT(b, dir, opts)
	appendAll(b, logT(b, s, benchTopic), n, []byte("sixteen bytes!!!"))
	if err := s.Close(); err != nil {
		b.Fatal(err)
	}
	var total time.Duration
	opens := 0
	for b.Loop() {
		start := time.Now()
		s, err := Open(dir, opts)
		total += time.Since(start)
		opens++
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		if next := logT(b, s, benchTopic).NextOffset(); next != n {
			b.Fatalf("recovered %d records", next)
		}
		s.Close()
		b.StartTimer()
	}
	b.ReportMetric(total.Seconds()/float64(opens), "s/open")
	b.ReportMetric(float64(n*opens)/total.Seconds(), "records/s")
}

// countingObserver is a store.LogObserver as cheap as the broker's: atomic counters.
type countingObserver struct {
	flushes, nanos, rotations, deleted atomic.Int64
}

func (o *countingObserver) Flushed(d time.Duration) { o.flushes.Add(1); o.nanos.Add(int64(d)) }
func (o *countingObserver) Rotated(string)          { o.rotations.Add(1) }
func (o *countingObserver) Deleted(n int, _ string) { o.deleted.Add(int64(n)) }

// BenchmarkObserver measures what reporting storage events costs Appends under FsyncAlways (an observer call
// and two clock reads per fsync): a log with an observer against one without, alternating rounds. CPU runs
// it with fsync made a no-op, so that the disk's variance does not hide the cost.
func BenchmarkObserver(b *testing.B) {
	b.Run("Fsync", benchObserver)
	b.Run("CPU", func(b *testing.B) {
		defer func(f func(*os.File) error) { fsync = f }(fsync)
		fsync = func(*os.File) error { return nil }
		benchObserver(b)
	})
}

func benchObserver(b *testing.B) {
	payload := make([]byte, benchPayload)
	plain := openT(b, b.TempDir(), Options{Fsync: FsyncAlways})
	defer plain.Close()
	watched := openT(b, b.TempDir(), Options{Fsync: FsyncAlways})
	defer watched.Close()
	pl, wl := logT(b, plain, benchTopic), logT(b, watched, benchTopic)
	obs := &countingObserver{}
	wl.(store.Observable).SetObserver(obs)
	appendAll(b, pl, 200, payload)
	appendAll(b, wl, 200, payload)
	b.ResetTimer()
	var pt, wt time.Duration
	for i := range benchRounds {
		n := roundSize(b.N, i)
		pt += appendAll(b, pl, n, payload)
		wt += appendAll(b, wl, n, payload)
	}
	b.StopTimer()
	if obs.flushes.Load() == 0 {
		b.Fatal("the observer heard of no fsync")
	}
	b.ReportMetric(float64(b.N)/wt.Seconds(), "observed-msgs/s")
	b.ReportMetric(float64(b.N)/pt.Seconds(), "plain-msgs/s")
	b.ReportMetric(pt.Seconds()/wt.Seconds(), "ratio-to-plain")
}
