//go:build !unix

package disk

import (
	"fmt"
	"os"
)

func lockDir(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("disk: %w", err)
	}
	return f, nil
}

// syncDir is a no-op where directories cannot be opened for syncing.
func syncDir(string) error { return nil }
