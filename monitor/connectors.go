package monitor

import (
	"fmt"
	"time"

	"github.com/danube-console/danube-console/connectors"
)

// ticker samples the connectors' throughput once a second until Close.
func (m *Monitor) ticker() {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-m.ctx.Done():
			return
		case <-t.C:
			m.tick()
		}
	}
}

// tick adds what each connector processed since the last tick to its series. A connector seen for the
// first time starts its series (what it processed before is not counted in it).
func (m *Monitor) tick() {
	_, _, rt := m.attached()
	if rt == nil {
		return
	}
	sts := rt.Snapshot()
	sec := m.now().Unix()
	m.mu.Lock()
	defer m.mu.Unlock()
	seen := make(map[string]bool, len(sts))
	for _, st := range sts {
		seen[st.Name] = true
		cs := m.connSeries[st.Name]
		if cs == nil {
			m.connSeries[st.Name] = &connSeries{last: st.Processed, series: newSeries(sec)}
			continue
		}
		if st.Processed >= cs.last {
			cs.series.add(sec, st.Processed-cs.last)
		}
		cs.last = st.Processed
	}
	for name := range m.connSeries {
		if !seen[name] {
			delete(m.connSeries, name)
		}
	}
}

// watchRuntime follows rt's events (errors become LastError) in a goroutine of the monitor; the returned
// function stops it and waits for it.
func (m *Monitor) watchRuntime(rt *connectors.Runtime) func() {
	ch, cancel := rt.Subscribe()
	done := make(chan struct{})
	m.wg.Go(func() {
		defer close(done)
		for ev := range ch {
			m.onConnectorEvent(ev)
		}
	})
	return func() {
		cancel()
		<-done
	}
}

// onConnectorEvent records a connector's error, or its failure, as LastError.
func (m *Monitor) onConnectorEvent(ev connectors.Event) {
	switch {
	case ev.Err == nil:
	case ev.Type == connectors.EventError || ev.Type == connectors.EventState:
		at := ev.Time
		if at.IsZero() {
			at = m.now()
		}
		m.lastErr.Store(&errAt{err: fmt.Errorf("connector %s: %w", ev.Name, ev.Err), at: at})
	}
}
