//go:build !unix

package filetail

import "os"

// fileID returns zeros where files have no device and inode numbers: resuming then relies on the
// fingerprint and the size alone.
func fileID(os.FileInfo) (dev, ino uint64) { return 0, 0 }
