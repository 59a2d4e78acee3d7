package store

import (
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"sync"
)

// Memory is a Store kept in process memory. Its contents live as long as the value, so two brokers started one
// after the other on the same Memory see the same state, which is how restarts are tested without a disk.
//
// A log keeps each message as a compact record (its fields and payload, the strings that repeat interned per
// log) in arenas outside the Go heap that are given back as TruncateBefore passes them, by Close and by
// DeleteLog; Read returns new messages decoded from the records. Logs of a deleted topic or a closed store
// fail with ErrClosed.
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
	if l, ok := m.logs[topic]; ok {
		delete(m.logs, topic)
		l.close(fmt.Errorf("store: the log of topic %q was deleted: %w", topic, ErrClosed))
	}
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
		l.close(ErrClosed)
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
