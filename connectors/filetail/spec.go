// Package filetail is the "file-tail" source: it follows a file the way `tail -F` does and publishes every
// new line as a record, committing its position only after Danube acknowledged the lines.
//
// Example:
//
//	[[connector]]
//	name = "app-logs"
//	kind = "file-tail"
//	topic = "/default/app-logs"
//	path = "/var/log/app/app.log"            # required
//	start_at = "beginning"                   # or "end"; only when there is no saved position
//	position_file = "/var/lib/danube/app.log.pos"   # default <path>.pos
//	poll_interval = "250ms"                  # how often to look for new data, rotation and truncation
//	max_line_bytes = 1048576                 # longer lines are split into records of this size
//	batch_size = 100                         # at most this many lines per read
//
// Lines. Each complete line (ending with "\n") is one record, without its "\n" or a "\r" before it; blank
// lines are skipped, and a partial last line waits for its newline. A line longer than max_line_bytes is
// split into records of max_line_bytes bytes (the last piece has the rest); every piece but the last has
// the attribute partial_line = "true", so nothing is lost and consumers can join the pieces.
//
// Rotation. Every poll_interval (when there is nothing to read) the source checks the path: when it names
// another file (rotation by rename, or a deleted and recreated file), the old file is read to its end (an
// unterminated last line included) and the new one from its start; while the path is missing, the old file
// is still followed. When the file got shorter than what was read (truncation, copytruncate), it is read
// again from its start. Lines written to the old file after the switch, and for copytruncate lines written
// between the last read and the truncation, are not seen: that is the nature of these rotation schemes. A
// file rotated away twice within one poll_interval (or while the source is stopped) is skipped, and a
// truncated file that grew past the read offset again before the next poll is not recognised as truncated.
//
// Positions and delivery. A batch's position (the file's device and inode, a fingerprint of its first bytes
// and the byte offset after the batch) is saved to position_file only when the batch was acknowledged
// (AckFunc(nil)), in batch order even when acknowledgements come out of order, and durably (a temporary file,
// fsync, rename). A restart resumes at the saved position, so lines read but not acknowledged are read again
// (at least once). When the file at path is no longer the saved one (another inode, or the same inode with
// other content or a smaller size), the source starts at the beginning of the current file; the rest of a
// file rotated while the source was down is not read. Without a saved position, start_at decides: "end"
// starts at the file's current end (and saves that position at once, so a restart does not skip what was
// written in between), "beginning" at its start. A file that does not exist yet is waited for and read from
// its start. After a failure, Connect goes back to the last saved position.
package filetail

import (
	"time"

	"github.com/danube-console/danube-console/connectors"
)

// Kind is the source's connector kind.
const Kind = "file-tail"

// Setting keys.
const (
	keyPath         = "path"
	keyStartAt      = "start_at"
	keyPositionFile = "position_file"
	keyPollInterval = "poll_interval"
	keyMaxLineBytes = "max_line_bytes"
	keyBatchSize    = "batch_size"
)

// start_at values.
const (
	startBeginning = "beginning"
	startEnd       = "end"
)

// PartialLineAttribute is the attribute set to "true" on every piece of a split long line but the last.
const PartialLineAttribute = "partial_line"

// Spec returns the source's settings.
func Spec() connectors.Spec {
	return connectors.Spec{
		Summary: "Follows a file like tail -F and publishes each new line, resuming where Danube acknowledged.",
		Fields: []connectors.Field{
			{Name: keyPath, Type: connectors.TypeString, Required: true, Example: `"/var/log/app/app.log"`,
				Doc: "File to follow."},
			{Name: keyStartAt, Type: connectors.TypeString, Default: startBeginning, Enum: []string{startBeginning, startEnd},
				Doc: "Where to start when there is no saved position: beginning or end of the file."},
			{Name: keyPositionFile, Type: connectors.TypeString,
				Doc: "File where the acknowledged position is saved; default <path>.pos."},
			{Name: keyPollInterval, Type: connectors.TypeDuration, Default: 250 * time.Millisecond, Min: 0.001, Max: 3600,
				Doc: "How often to check for new data, rotation and truncation."},
			{Name: keyMaxLineBytes, Type: connectors.TypeInt, Default: int64(1 << 20), Min: 1, Max: 1 << 30,
				Doc: "Lines longer than this are split into several records (marked partial_line = \"true\")."},
			{Name: keyBatchSize, Type: connectors.TypeInt, Default: int64(100), Min: 1, Max: 100000,
				Doc: "Most lines returned by one read."},
		},
	}
}

func init() {
	connectors.MustRegisterSource(Kind, Spec(), func(cfg connectors.Config, res connectors.Resources) (connectors.Source, error) {
		return New(cfg, res)
	})
}
