package monitor

import (
	"cmp"
	"maps"
	"slices"
	"strings"
)

// Snapshot returns the current state of everything the console shows (see Backend.Snapshot). Every slice
// is freshly allocated, the caller's to keep and change, except Topics (with their Subscriptions) and those of
// Cluster: they are shared between snapshots and immutable (Refresh and the sources build new ones when they
// learn something), and must not be changed. Rates and series count complete seconds (the current second is not shown until it ends);
// latencies cover the last one to two minutes. It takes each
// producer's and subscription's lock once, briefly, and never waits for the network. ServiceURL and AdminURL
// are the Options', or else the attached clients'.
func (m *Monitor) Snapshot() Snapshot {
	now := m.now()
	sec := now.Unix()
	ix := m.idx.Load()
	snap := Snapshot{
		Time: now, ServiceURL: m.opts.ServiceURL, AdminURL: m.opts.AdminURL,
		Embedded: m.opts.Embedded, ReadOnly: m.opts.ReadOnly,
	}
	// Size the series' arena: a series' first second never changes, so its length needs no lock.
	n := 0
	for _, p := range ix.prodList {
		n += p.series.length(sec)
	}
	for _, st := range ix.streams {
		n += st.series.length(sec)
	}
	ar := newArena(n)

	snap.Producers = make([]ProducerStats, 0, len(ix.prodList))
	for _, p := range ix.prodList {
		p.mu.Lock()
		ps := ProducerStats{
			Name: p.name, Topic: p.topic, ID: p.id, State: p.state, AdHoc: p.adHoc,
			Msgs: p.msgs, Bytes: p.bytes, Errors: p.errors,
			MsgRate: p.series.at(sec - 1), ByteRate: p.byteSec.at(sec - 1),
			Series: ar.seriesOf(&p.series, sec), Publish: p.pub.summary(sec),
		}
		lastErr := p.lastErr
		p.mu.Unlock()
		if lastErr != nil {
			ps.LastError = lastErr.Error()
		}
		if ps.State == ProducerClosed && ps.Msgs == 0 && ps.Errors == 0 {
			continue // opened and closed without sending (e.g. to create a topic): nothing to show
		}
		snap.Producers = append(snap.Producers, ps)
	}

	var t Totals
	var kept, capacity uint64
	snap.Subscriptions = make([]SubscriptionStats, 0, len(ix.subList))
	snap.Consumers = make([]ConsumerStats, 0, len(ix.streams))
	errs := make([]error, 0, len(ix.streams))
	for _, s := range ix.subList {
		s.mu.Lock()
		snap.Subscriptions = append(snap.Subscriptions, SubscriptionStats{
			Topic: s.topic, Subscription: s.name,
			Received: s.received, Acked: s.acked, Nacked: s.nacked, AckErrors: s.ackErrors,
			Redelivered: s.redelivered,
			AckLatency:  s.ack.summary(sec), Redelivery: s.redeliv.summary(sec),
		})
		ss := &snap.Subscriptions[len(snap.Subscriptions)-1]
		for _, st := range s.streams {
			ss.Pending += int64(st.pendingCount())
			if st.received == 0 && (st.name == UnknownConsumer || st.name == SharedConsumers) {
				continue // a placeholder that never received anything
			}
			cs := ConsumerStats{
				Stream: st.id, Name: st.name, Topic: s.topic, Subscription: s.name,
				Type: st.typ, ID: st.cid, State: st.state, AdHoc: st.adHoc,
				Received: st.received, Bytes: st.bytes,
				Rate: st.series.at(sec - 1), Series: ar.seriesOf(&st.series, sec),
				EndToEnd: st.e2e.summary(sec), Redelivery: st.redeliv.summary(sec),
				ManualAck: st.manual, Pending: st.pendingCount(), AckTimeout: st.ackTimeout,
			}
			t.ReceivedPerSec += cs.Rate
			t.Received += st.received
			t.DroppedFromView += st.ring.unshown
			kept += uint64(st.ring.n)
			capacity += uint64(st.ring.size)
			errs = append(errs, st.lastErr)
			snap.Consumers = append(snap.Consumers, cs)
		}
		s.mu.Unlock()
	}
	for i, err := range errs {
		if err != nil {
			snap.Consumers[i].LastError = err.Error()
		}
	}
	t.Received += m.prunedReceived.Load()
	t.DroppedFromView += m.prunedDropped.Load()
	t.Shown = kept
	if capacity > 0 {
		t.BufferFill = float64(kept) / float64(capacity)
	}
	snap.Totals = t

	m.mu.Lock()
	snap.Health = make([]HealthStats, 0, len(m.health))
	for _, h := range m.health {
		snap.Health = append(snap.Health, *h)
	}
	snap.Conns = make([]ConnStats, 0, len(m.conns))
	ready := false
	for _, c := range m.conns {
		snap.Conns = append(snap.Conns, *c)
		ready = ready || c.State == ConnReady
	}
	snap.Lookups = cloneLookups(m.lookups)
	snap.Topics = m.topics // replaced, never changed, by Refresh
	if snap.Topics == nil {
		snap.Topics = []TopicStats{}
	}
	snap.Namespaces = slices.Clone(m.namespaces)
	if snap.Namespaces == nil {
		snap.Namespaces = []string{}
	}
	series := maps.Clone(m.connSeries)
	var connSeries = make(map[string][]float64, len(series))
	for name, cs := range series {
		connSeries[name] = ar.seriesOf(&cs.series, sec)
	}
	m.mu.Unlock()

	slices.SortFunc(snap.Health, func(a, b HealthStats) int {
		if as, bs := a.Status == HealthStopped, b.Status == HealthStopped; as != bs {
			if as {
				return 1 // live clients first
			}
			return -1
		}
		if a.Consumer != b.Consumer {
			if b.Consumer {
				return -1
			}
			return 1
		}
		return cmp.Or(strings.Compare(a.Topic, b.Topic), strings.Compare(a.Name, b.Name))
	})
	slices.SortFunc(snap.Conns, func(a, b ConnStats) int { return strings.Compare(a.Addr, b.Addr) })

	c, admin, rt := m.attached()
	if snap.ServiceURL == "" && c != nil {
		snap.ServiceURL = c.ServiceURL()
	}
	if snap.AdminURL == "" && admin != nil {
		snap.AdminURL = admin.URL()
	}
	snap.Connectors = []ConnectorStats{}
	if rt != nil {
		for _, st := range rt.Snapshot() {
			s := connSeries[st.Name]
			if s == nil {
				s = []float64{}
			}
			snap.Connectors = append(snap.Connectors, ConnectorStats{ConnectorStatus: st, Series: s})
		}
	}

	// A ping no broker answered, later than any answer, outweighs a ready connection (which may be to a
	// server that is not a broker's client port).
	vetoed := m.failSeq.Load() > m.okSeq.Load()
	snap.Reachable = !vetoed && (ready || now.UnixNano()-m.lastOK.Load() < int64(reachableFor))
	if e := m.adminErr.Load(); e != nil {
		snap.AdminErr = *e
	}
	snap.StoreRecovery = m.recovery.Load() // never changed once stored
	if e := m.lastErr.Load(); e != nil {
		snap.LastError, snap.LastErrorAt = e.err.Error(), e.at
	}
	snap.Cluster = m.cluster()
	return snap
}

func cloneLookups(ls []LookupResult) []LookupResult {
	out := make([]LookupResult, len(ls))
	for i, l := range ls {
		l.Partitions = slices.Clone(l.Partitions)
		out[i] = l
	}
	return out
}

// Messages returns up to limit of the most recent messages of a consumer stream, oldest first, and the number
// of messages the stream ever received (see Backend.Messages): Query with no filter. The slice is the
// caller's; the messages' payloads and attributes are shared and must not be changed. The messages returned
// count as shown: they are not counted in DroppedFromView when they leave the ring. Unknown streams give
// nil, 0; limit ≤ 0 gives nil and the count.
func (m *Monitor) Messages(stream string, limit int) ([]Message, uint64) {
	r := m.Query(stream, nil, limit)
	return r.Messages, r.Total
}
