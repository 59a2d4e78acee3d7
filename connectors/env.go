package connectors

import (
	"fmt"
	"sort"
	"sync"
	"time"
)

// SourceFactory builds a source from its validated settings.
type SourceFactory func(cfg Config, res Resources) (Source, error)

// SinkFactory builds a sink from its validated settings.
type SinkFactory func(cfg Config, res Resources) (Sink, error)

// Role says whether a kind is a source or a sink.
type Role string

// Roles.
const (
	RoleSource Role = "source"
	RoleSink   Role = "sink"
)

// KindInfo describes a registered connector kind.
type KindInfo struct {
	Kind string
	Role Role
	Spec Spec
}

type entry struct {
	info   KindInfo
	source SourceFactory
	sink   SinkFactory
}

// Env is a registry of connector kinds. Tests build their own with NewEnv; connector packages register
// themselves in the default one (DefaultEnv) from init.
type Env struct {
	mu    sync.RWMutex
	kinds map[string]entry
}

// NewEnv returns an empty registry.
func NewEnv() *Env { return &Env{kinds: make(map[string]entry)} }

var defaultEnv = NewEnv()

// DefaultEnv returns the registry connector packages register into.
func DefaultEnv() *Env { return defaultEnv }

// RegisterSource adds a source kind; it fails when the kind is taken or the spec is inconsistent.
func (e *Env) RegisterSource(kind string, spec Spec, f SourceFactory) error {
	return e.register(entry{info: KindInfo{Kind: kind, Role: RoleSource, Spec: spec}, source: f})
}

// RegisterSink adds a sink kind; it fails when the kind is taken or the spec is inconsistent.
func (e *Env) RegisterSink(kind string, spec Spec, f SinkFactory) error {
	return e.register(entry{info: KindInfo{Kind: kind, Role: RoleSink, Spec: spec}, sink: f})
}

func (e *Env) register(en entry) error {
	k := en.info.Kind
	if k == "" || (en.source == nil && en.sink == nil) {
		return fmt.Errorf("connectors: registering %q: a kind needs a name and a factory", k)
	}
	seen := map[string]bool{}
	for _, f := range en.info.Spec.Fields {
		if f.Name == "" || seen[f.Name] || reservedKeys[f.Name] {
			return fmt.Errorf("connectors: registering %q: setting %q is empty, repeated or reserved", k, f.Name)
		}
		seen[f.Name] = true
		if f.Default != nil {
			if _, err := f.convert(defaultAsRaw(f.Default)); err != nil {
				return fmt.Errorf("connectors: registering %q: default of %q: %w", k, f.Name, err)
			}
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, taken := e.kinds[k]; taken {
		return fmt.Errorf("connectors: kind %q is already registered", k)
	}
	e.kinds[k] = en
	return nil
}

// MustRegisterSource registers a source kind in the default registry, panicking on a programming error
// (for init functions).
func MustRegisterSource(kind string, spec Spec, f SourceFactory) {
	if err := defaultEnv.RegisterSource(kind, spec, f); err != nil {
		panic(err)
	}
}

// MustRegisterSink registers a sink kind in the default registry, panicking on a programming error.
func MustRegisterSink(kind string, spec Spec, f SinkFactory) {
	if err := defaultEnv.RegisterSink(kind, spec, f); err != nil {
		panic(err)
	}
}

// Kinds lists the registered kinds, sorted.
func (e *Env) Kinds() []KindInfo {
	e.mu.RLock()
	defer e.mu.RUnlock()
	out := make([]KindInfo, 0, len(e.kinds))
	for _, en := range e.kinds {
		out = append(out, en.info)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Kind < out[j].Kind })
	return out
}

// Lookup returns a kind's description and whether it is registered.
func (e *Env) Lookup(kind string) (KindInfo, bool) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	en, ok := e.kinds[kind]
	return en.info, ok
}

func (e *Env) factories(kind string) (SourceFactory, SinkFactory) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	en := e.kinds[kind]
	return en.source, en.sink
}

// defaultAsRaw turns a typed default back into the form TOML decoding gives, to validate it.
func defaultAsRaw(v any) any {
	switch x := v.(type) {
	case int:
		return int64(x)
	case []string:
		out := make([]any, len(x))
		for i, s := range x {
			out[i] = s
		}
		return out
	case map[string]string:
		out := make(map[string]any, len(x))
		for k, s := range x {
			out[k] = s
		}
		return out
	case time.Duration:
		return x.String()
	case float32:
		return float64(x)
	}
	return v
}

// reservedKeys are the keys every [[connector]] table has; kind settings cannot use them.
var reservedKeys = map[string]bool{
	"name": true, "kind": true, "autostart": true, "topic": true, "reliable": true, "partitions": true, "ordered": true,
	"subscription": true, "subscription_type": true, "create_topic": true, "rate_limit": true, "retry": true, "batch": true,
}
