package config

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"

	"github.com/google/renameio/v2"
	"github.com/pelletier/go-toml/v2"
)

// State is what the console remembers between runs.
type State struct {
	// Theme is the name of the last theme used ("" when none was remembered).
	Theme string `toml:"theme,omitempty"`
	// Cluster is the name of the last cluster used: a configured one or Embedded ("" when none).
	Cluster string `toml:"cluster,omitempty"`
}

// DefaultStatePath is where the state is kept: $XDG_STATE_HOME/danube-console/state.toml, or
// ~/.local/state/danube-console/state.toml.
func DefaultStatePath() (string, error) {
	dir := os.Getenv("XDG_STATE_HOME")
	if dir == "" || !filepath.IsAbs(dir) {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("locating the state directory: %w", err)
		}
		dir = filepath.Join(home, ".local", "state")
	}
	return filepath.Join(dir, "danube-console", "state.toml"), nil
}

// StateFile is the state file at a path. Its methods are safe for concurrent use: each change rewrites the
// whole file atomically.
type StateFile struct {
	path string
	mu   sync.Mutex
	st   State
}

// OpenState reads the state file at path. A missing file is an empty state; a damaged one (not TOML, unknown
// keys) is an empty state too, with the error saying what was wrong (the caller logs it: the state never
// stops the console from starting), and is overwritten at the next change.
func OpenState(path string) (*StateFile, error) {
	sf := &StateFile{path: path}
	data, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return sf, nil
	case err != nil:
		return sf, fmt.Errorf("reading the state file: %w", err)
	}
	var st State
	if err := toml.NewDecoder(bytes.NewReader(data)).DisallowUnknownFields().Decode(&st); err != nil {
		return sf, fmt.Errorf("the state file %s is damaged (ignored; it is rewritten at the next change): %w", path, err)
	}
	sf.st = st
	return sf, nil
}

// Path is the state file's path.
func (s *StateFile) Path() string { return s.path }

// State returns the state as read or last changed.
func (s *StateFile) State() State {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st
}

// SetTheme remembers the theme, writing the file when it changed.
func (s *StateFile) SetTheme(name string) error {
	return s.update(func(st *State) { st.Theme = name })
}

// SetCluster remembers the cluster ("" forgets it), writing the file when it changed.
func (s *StateFile) SetCluster(name string) error {
	return s.update(func(st *State) { st.Cluster = name })
}

func (s *StateFile) update(f func(*State)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	next := s.st
	f(&next)
	if next == s.st {
		if _, err := os.Stat(s.path); err == nil {
			return nil
		}
	}
	if err := writeAtomic(s.path, next); err != nil {
		return err
	}
	s.st = next
	return nil
}

// writeAtomic writes st to a temporary file in path's directory, fsynced, and renames it over path
// (renameio), so that a reader (or a crash) never sees half a file.
func writeAtomic(path string, st State) error {
	data, err := toml.Marshal(st)
	if err != nil {
		return fmt.Errorf("encoding the state: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("writing the state file: %w", err)
	}
	data = append([]byte("# Written by danube-console: the last theme and cluster used.\n"), data...)
	if err := renameio.WriteFile(path, data, 0o600); err != nil {
		return fmt.Errorf("writing the state file %s: %w", path, err)
	}
	return nil
}
