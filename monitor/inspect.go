package monitor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/danube-console/danube-console/client"
	"github.com/danube-console/danube-console/monitor/filter"
)

// ---- Query ----

const (
	// maxQueryCaches is how many filters' verdicts a stream keeps (the least recently used one goes).
	maxQueryCaches = 4
	// queryChunk is how many messages Query copies under the stream's lock at a time, to evaluate them
	// without it.
	queryChunk = 8192
	// parallelFrom is how many messages to evaluate make Query spread them over the processors.
	parallelFrom = 2048
)

// queryCache is what Query knows of a filter on a stream: the Seqs of the kept messages that match it, up to
// the last Seq evaluated. Messages never change once kept, so only new ones are evaluated on later calls.
// Its stream's sub's mutex guards it.
type queryCache struct {
	key  string   // the filter's text: filters with the same text are the same
	upTo uint64   // the last Seq evaluated
	seqs []uint64 // matching Seqs, ascending, from head
	head int
	used uint64
}

// trim forgets the matching Seqs below first (evicted from the ring).
func (c *queryCache) trim(first uint64) {
	for c.head < len(c.seqs) && c.seqs[c.head] < first {
		c.head++
	}
	if c.head > 1024 && c.head > len(c.seqs)/2 {
		n := copy(c.seqs, c.seqs[c.head:])
		c.seqs, c.head = c.seqs[:n], 0
	}
}

// matches returns the matching Seqs.
func (c *queryCache) matches() []uint64 { return c.seqs[c.head:] }

// queryCache returns the cache of filter key, creating it (and dropping the least recently used one when
// there are maxQueryCaches). Its sub's mutex is held.
func (st *stream) queryCache(key string) *queryCache {
	st.useTick++
	for _, c := range st.queries {
		if c.key == key {
			c.used = st.useTick
			return c
		}
	}
	c := &queryCache{key: key, used: st.useTick}
	if len(st.queries) < maxQueryCaches {
		st.queries = append(st.queries, c)
		return c
	}
	lru := 0
	for i, q := range st.queries {
		if q.used < st.queries[lru].used {
			lru = i
		}
	}
	st.queries[lru] = c
	return c
}

// Query returns up to max of the most recent messages of a stream that match f (nil: all), oldest first,
// with how many of its kept messages match, how many it keeps and how many it ever received (see
// Backend.Query). Unknown streams give the zero QueryResult; max ≤ 0 gives no messages, and the counts.
// The messages returned count as shown (as Messages'); their payloads and attributes are shared and must not
// be changed.
//
// A stream remembers, for the last few filters (by their text), which of its kept messages match: a
// filter's first Query evaluates every kept message, later ones only the messages received since. The
// evaluation happens without the stream's lock (it is held only to copy messages' fields, a chunk at a
// time, and to read the result), so that the data path does not wait for it; a large first evaluation is
// spread over the processors.
func (m *Monitor) Query(streamID string, f *filter.Filter, max int) QueryResult {
	st := m.idx.Load().streams[streamID]
	if st == nil {
		return QueryResult{}
	}
	s := st.sub
	s.mu.Lock()
	defer s.mu.Unlock()
	if f == nil {
		n := st.ring.n
		res := QueryResult{Matches: n, Kept: n, Total: st.received}
		if max > 0 {
			res.Messages = st.ring.last(min(max, n))
		}
		return res
	}
	c := st.queryCache(f.String())
	var fields []filter.Fields
	for {
		first, last := st.firstSeq(), st.received
		from := c.upTo + 1
		if from < first {
			from = first
		}
		if from > last {
			break
		}
		to := min(last, from+queryChunk-1)
		fields = fields[:0]
		for seq := from; seq <= to; seq++ {
			msg := &st.slot(seq).msg
			fields = append(fields, filter.Fields{Payload: msg.Payload, Key: msg.Key, HasKey: msg.HasKey, Attributes: msg.Attributes})
		}
		prev := c.upTo
		s.mu.Unlock()
		verdicts := evaluate(f, fields) // the fields' payloads and maps never change: no lock needed
		s.mu.Lock()
		if c.upTo != prev {
			continue // another Query of the same filter got there first
		}
		for i, ok := range verdicts {
			if ok {
				c.seqs = append(c.seqs, from+uint64(i))
			}
		}
		c.upTo = to
	}
	c.trim(st.firstSeq())
	seqs := c.matches()
	res := QueryResult{Matches: len(seqs), Kept: st.ring.n, Total: st.received}
	if max > 0 && len(seqs) > 0 {
		seqs = seqs[len(seqs)-min(max, len(seqs)):]
		res.Messages = make([]Message, len(seqs))
		for i, seq := range seqs {
			sl := st.slot(seq)
			res.Messages[i] = sl.msg
			sl.shown = true
		}
	}
	return res
}

// evaluate matches every fields against f, on several goroutines when there are many.
func evaluate(f *filter.Filter, fields []filter.Fields) []bool {
	out := make([]bool, len(fields))
	workers := min(runtime.GOMAXPROCS(0), len(fields)/parallelFrom)
	if workers <= 1 {
		for i := range fields {
			out[i] = f.Match(fields[i])
		}
		return out
	}
	var wg sync.WaitGroup
	per := (len(fields) + workers - 1) / workers
	for lo := 0; lo < len(fields); lo += per {
		hi := min(lo+per, len(fields))
		wg.Go(func() {
			for i := lo; i < hi; i++ {
				out[i] = f.Match(fields[i])
			}
		})
	}
	wg.Wait()
	return out
}

// Message returns a copy of the kept message seq of a stream (false when it is not kept, or the stream is
// unknown). It counts as shown. Its payload and attributes are shared and must not be changed.
func (m *Monitor) Message(streamID string, seq uint64) (Message, bool) {
	st := m.idx.Load().streams[streamID]
	if st == nil {
		return Message{}, false
	}
	st.sub.mu.Lock()
	defer st.sub.mu.Unlock()
	sl := st.slot(seq)
	if sl == nil {
		return Message{}, false
	}
	sl.shown = true
	return sl.msg, true
}

// ---- Ack and Nack ----

// Ack acknowledges the pending messages seqs of a manual-ack consumer's stream (see StartConsumer with
// ConsumerSpec.ManualAck): their entries become StateAcked (when still kept) and they are no longer
// pending. Each is one call to the broker, in order, written to the audit log (Options.AuditLog). A message
// whose call fails stays pending; seqs that are not pending (already settled, unknown...) are an error
// matching ErrNotPending that names them; the others are settled regardless. All the failures are returned
// joined (and become LastError). It fails with ErrReadOnly in read-only mode.
func (m *Monitor) Ack(ctx context.Context, stream string, seqs []uint64) error {
	return m.failed(m.settle(ctx, false, stream, seqs, 0, ""))
}

// Nack asks the broker to deliver the pending messages seqs of a manual-ack consumer's stream again after at
// least delay, recording reason; their entries become StateNacked. The broker's redelivery is a new entry
// of the stream (a later Seq, the same Offset, Redelivered), pending. Otherwise as Ack.
func (m *Monitor) Nack(ctx context.Context, stream string, seqs []uint64, delay time.Duration, reason string) error {
	return m.failed(m.settle(ctx, true, stream, seqs, delay, reason))
}

// pendingMsg is a message Ack or Nack took out of its stream's pending set.
type pendingMsg struct {
	seq uint64
	msg *client.Message
}

func (m *Monitor) settle(ctx context.Context, nack bool, streamID string, seqs []uint64, delay time.Duration, reason string) error {
	action, state := "ack", StateAcked
	if nack {
		action, state = "nack", StateNacked
	}
	topic, _, _ := strings.Cut(streamID, "|")
	what := fmt.Sprintf("%s %s of %s", action, plural(int64(len(uniqueSeqs(seqs))), "message"), topic)
	if m.opts.ReadOnly {
		return fmt.Errorf("%s: %w", what, ErrReadOnly)
	}
	if len(seqs) == 0 {
		return nil
	}
	st := m.idx.Load().streams[streamID]
	if st == nil {
		return fmt.Errorf("%s: %w: the console has no such tap (it was stopped and forgotten)", what, ErrNotPending)
	}
	// Take the messages out of the pending set first: a redelivery that arrives during the call is then
	// not mistaken for an expiry, and two concurrent calls never settle a message twice.
	var todo []pendingMsg
	var notPending []*Message // nil: a message the stream no longer keeps
	seqs = uniqueSeqs(seqs)   // a message named twice is settled once
	s := st.sub
	s.mu.Lock()
	for _, seq := range seqs {
		cm := st.pending[seq]
		if cm == nil {
			var kept *Message
			if sl := st.slot(seq); sl != nil {
				msg := sl.msg
				kept = &msg
			}
			notPending = append(notPending, kept)
			continue
		}
		delete(st.pending, seq)
		if st.pendingOff[cm.ID.Offset] == seq {
			delete(st.pendingOff, cm.ID.Offset)
		}
		todo = append(todo, pendingMsg{seq, cm})
	}
	s.mu.Unlock()

	var errs []error
	if len(notPending) > 0 {
		errs = append(errs, fmt.Errorf("%w: %s", ErrNotPending, notPendingList(notPending)))
	}
	for _, p := range todo {
		var err error
		if nack {
			err = p.msg.Nack(ctx, delay, reason)
		} else {
			err = p.msg.Ack(ctx)
		}
		m.audit(action, st.name, p, nack, delay, reason, err)
		s.mu.Lock()
		if err != nil {
			if _, newer := st.pendingOff[p.msg.ID.Offset]; newer {
				// The broker delivered it again meanwhile: the newer delivery is the one to settle.
				if sl := st.slot(p.seq); sl != nil {
					sl.msg.State = StateExpired
				}
			} else {
				st.pending[p.seq] = p.msg // still pending
				st.pendingOff[p.msg.ID.Offset] = p.seq
			}
		} else if sl := st.slot(p.seq); sl != nil {
			sl.msg.State = state
		}
		s.mu.Unlock()
		if err != nil {
			errs = append(errs, err) // the client's error names the topic and the offset
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("%s: %w", what, errors.Join(errs...))
	}
	return nil
}

// uniqueSeqs returns seqs without repeats, in their order.
func uniqueSeqs(seqs []uint64) []uint64 {
	seen := make(map[uint64]bool, len(seqs))
	out := make([]uint64, 0, len(seqs))
	for _, q := range seqs {
		if !seen[q] {
			seen[q] = true
			out = append(out, q)
		}
	}
	return out
}

// notPendingList names the messages Ack or Nack found not pending, as users know them: by offset, with
// their state ("offset 4 (acked), offset 9 (expired)"), at most 20 of them; those the stream no longer keeps
// are counted ("2 no longer kept").
func notPendingList(msgs []*Message) string {
	const show = 20
	var parts []string
	gone, more := 0, 0
	for _, msg := range msgs {
		switch {
		case msg == nil:
			gone++
		case len(parts) == show:
			more++
		default:
			state := msg.State.String()
			if msg.State == StateNone {
				state = "acked on receipt: not a manual-ack tap"
			}
			parts = append(parts, fmt.Sprintf("offset %d (%s)", msg.Offset, state))
		}
	}
	if more > 0 {
		parts = append(parts, fmt.Sprintf("%d more", more))
	}
	if gone > 0 {
		parts = append(parts, fmt.Sprintf("%d no longer kept by the console", gone))
	}
	return strings.Join(parts, ", ")
}

// auditEntry is a line of the audit log.
type auditEntry struct {
	Time         string  `json:"time"`
	Action       string  `json:"action"`
	Topic        string  `json:"topic"`
	Subscription string  `json:"subscription"`
	Consumer     string  `json:"consumer"`
	Offset       uint64  `json:"offset"`
	Seq          uint64  `json:"seq"`
	DelayMS      *int64  `json:"delay_ms,omitempty"`
	Reason       *string `json:"reason,omitempty"`
	Error        string  `json:"error,omitempty"`
}

// audit writes a settled (or failed) message to the audit log, if there is one.
func (m *Monitor) audit(action, consumer string, p pendingMsg, nack bool, delay time.Duration, reason string, err error) {
	w := m.opts.AuditLog
	if w == nil {
		return
	}
	e := auditEntry{
		Time: m.now().UTC().Format(time.RFC3339Nano), Action: action,
		Topic: p.msg.ID.Topic, Subscription: p.msg.Subscription, Consumer: consumer,
		Offset: p.msg.ID.Offset, Seq: p.seq,
	}
	if nack {
		ms := delay.Milliseconds()
		e.DelayMS, e.Reason = &ms, &reason
	}
	if err != nil {
		e.Error = err.Error()
	}
	line, merr := json.Marshal(e)
	if merr != nil { // cannot happen: strings and numbers only
		m.log.Error("encoding an audit log entry", "err", merr)
		return
	}
	line = append(line, '\n')
	m.auditMu.Lock()
	_, werr := w.Write(line)
	m.auditMu.Unlock()
	if werr != nil {
		m.log.Error("writing the audit log", "err", werr)
		m.setErr(fmt.Errorf("audit log: %w", werr))
	}
}
