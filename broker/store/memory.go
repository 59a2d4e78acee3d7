package store

import (
	"maps"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/danube-console/danube-console/proto/danubepb"
)

// Memory is a Store kept in process memory. Its contents live as long as the value, so two brokers started one
// after the other on the same Memory see the same state, which is how restarts are tested without a disk.
type Memory struct {
	mu     sync.Mutex
	closed bool
	meta   memMeta
	logs   map[string]*memLog
}

// NewMemory returns an empty in-memory store.
func NewMemory() *Memory {
	m := &Memory{logs: make(map[string]*memLog)}
	m.meta.kv = make(map[string][]byte)
	m.meta.closed = &m.closed
	m.meta.mu = &m.mu
	return m
}

// Meta implements Store.
func (m *Memory) Meta() Meta { return &m.meta }

// Log implements Store.
func (m *Memory) Log(topic string) (Log, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, ErrClosed
	}
	l, ok := m.logs[topic]
	if !ok {
		l = &memLog{}
		m.logs[topic] = l
	}
	return l, nil
}

// DeleteLog implements Store.
func (m *Memory) DeleteLog(topic string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	delete(m.logs, topic)
	return nil
}

// Topics implements Store.
func (m *Memory) Topics() ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, ErrClosed
	}
	return slices.Sorted(maps.Keys(m.logs)), nil
}

// Close implements Store. A closed Memory store cannot be reopened.
func (m *Memory) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.closed = true
	for _, l := range m.logs {
		l.mu.Lock()
		l.closed = true
		l.mu.Unlock()
	}
	return nil
}

type memMeta struct {
	mu     *sync.Mutex // the store's lock
	closed *bool
	kv     map[string][]byte
}

func (m *memMeta) Put(key string, value []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if *m.closed {
		return ErrClosed
	}
	m.kv[key] = append([]byte(nil), value...)
	return nil
}

func (m *memMeta) Get(key string) ([]byte, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if *m.closed {
		return nil, false, ErrClosed
	}
	v, ok := m.kv[key]
	return append([]byte(nil), v...), ok, nil
}

func (m *memMeta) Delete(key string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if *m.closed {
		return ErrClosed
	}
	delete(m.kv, key)
	return nil
}

func (m *memMeta) DeletePrefix(prefix string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if *m.closed {
		return ErrClosed
	}
	for k := range m.kv {
		if strings.HasPrefix(k, prefix) {
			delete(m.kv, k)
		}
	}
	return nil
}

func (m *memMeta) List(prefix string) ([]KV, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if *m.closed {
		return nil, ErrClosed
	}
	var out []KV
	for k, v := range m.kv {
		if strings.HasPrefix(k, prefix) {
			out = append(out, KV{Key: k, Value: append([]byte(nil), v...)})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out, nil
}

// memLog keeps messages in a slice; msgs[i] has offset base+i.
type memLog struct {
	mu     sync.RWMutex
	closed bool
	base   uint64
	msgs   []*danubepb.StreamMessage
}

func (l *memLog) Append(msg *danubepb.StreamMessage) (uint64, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return 0, ErrClosed
	}
	off := l.base + uint64(len(l.msgs))
	msg.MsgId.TopicOffset = off
	l.msgs = append(l.msgs, msg)
	return off, nil
}

func (l *memLog) Read(from uint64, max int) ([]*danubepb.StreamMessage, error) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if l.closed {
		return nil, ErrClosed
	}
	if from < l.base {
		return nil, ErrOffsetTruncated
	}
	i := from - l.base
	if i >= uint64(len(l.msgs)) || max <= 0 {
		return nil, nil
	}
	end := min(i+uint64(max), uint64(len(l.msgs)))
	return append([]*danubepb.StreamMessage(nil), l.msgs[i:end]...), nil
}

func (l *memLog) StartOffset() uint64 {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.base
}

func (l *memLog) NextOffset() uint64 {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.base + uint64(len(l.msgs))
}

func (l *memLog) TruncateBefore(offset uint64) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return ErrClosed
	}
	if offset <= l.base {
		return nil
	}
	n := min(offset-l.base, uint64(len(l.msgs)))
	clear(l.msgs[:n]) // let the messages be collected
	l.msgs = l.msgs[n:]
	l.base += n
	// The dropped prefix of the backing array is released by the next append that outgrows it.
	return nil
}
