// Package store defines where the embedded broker keeps its state: an append-only message log per reliable
// topic and a small metadata key-value space (namespaces, topics, subscriptions and their cursors, producers,
// the schema registry). The broker only talks to the Store interface; Memory implements it in process memory,
// and an on-disk implementation can be swapped in without the broker noticing.
//
// The package imports nothing from the broker, so stores can be built and tested on their own.
package store

import (
	"errors"
	"time"

	"github.com/danube-console/danube-console/proto/danubepb"
)

// ErrClosed is returned by every operation on a store or log after Close.
var ErrClosed = errors.New("store: closed")

// ErrOffsetTruncated is returned by Log.Read when the requested offset was removed by TruncateBefore.
var ErrOffsetTruncated = errors.New("store: offset removed by retention")

// Store holds a broker's durable state. Implementations are safe for concurrent use.
type Store interface {
	// Meta returns the metadata key-value space. It is valid until Close.
	Meta() Meta
	// Log opens the message log of a reliable topic, creating an empty one if none exists. Calling Log twice
	// for the same topic returns the same log.
	Log(topic string) (Log, error)
	// DeleteLog removes a topic's log and its messages. Deleting a log that does not exist is not an error.
	DeleteLog(topic string) error
	// Topics returns, sorted, the names of the topics that have a log in the store (including logs found on
	// disk at open that the metadata may not know).
	Topics() ([]string, error)
	// Close releases the store's resources. Logs and Meta fail with ErrClosed afterwards.
	Close() error
}

// KV is one metadata entry.
type KV struct {
	Key   string
	Value []byte
}

// Meta is a sorted key-value space for metadata. Keys are slash-separated paths such as
// "/topics/default/orders"; values are opaque bytes (the broker writes JSON).
type Meta interface {
	// Put creates or replaces the value stored under key. The store keeps its own copy of value.
	Put(key string, value []byte) error
	// Get returns the value stored under key and whether it exists.
	Get(key string) ([]byte, bool, error)
	// Delete removes key. Deleting a missing key is not an error.
	Delete(key string) error
	// DeletePrefix removes every key that starts with prefix.
	DeletePrefix(prefix string) error
	// List returns every entry whose key starts with prefix, in ascending key order.
	List(prefix string) ([]KV, error)
}

// Log is the append-only message log of one reliable topic. Offsets start at 0 and increase by one with each
// Append. A log may have holes: offsets whose messages a store's recovery lost (a damaged record is skipped, not
// everything after it). Offsets are never given twice, holes included.
//
// Messages handed to Append belong to the log afterwards and must not be modified by anyone; messages returned
// by Read are shared and must be treated as read-only.
type Log interface {
	// Append assigns the next offset to msg, stores it in msg.MsgId.TopicOffset (msg.MsgId must be set) and
	// appends it. It returns the offset once the message is stored under the store's durability rules.
	Append(msg *danubepb.StreamMessage) (uint64, error)
	// Read returns up to max of the stored messages with offsets at or above from, in offset order, skipping
	// the offsets in holes; each carries its offset in MsgId.TopicOffset, which may be above from (a reader
	// continues after the last one returned). It returns fewer (none only when no message at or above from is
	// stored yet), and ErrOffsetTruncated when from is below StartOffset.
	Read(from uint64, max int) ([]*danubepb.StreamMessage, error)
	// StartOffset is the lowest offset not removed by TruncateBefore or retention (equal to NextOffset when the
	// log is empty); it may be in a hole.
	StartOffset() uint64
	// NextOffset is the offset the next Append will assign, one past every offset ever stored.
	NextOffset() uint64
	// TruncateBefore removes messages with offsets below offset. Implementations may keep some of them (for
	// example whole segments) but never remove an offset at or above offset.
	TruncateBefore(offset uint64) error
}

// LogObserver receives the storage events of one log, for metrics. A store calls it synchronously from the
// goroutine that did the work (an Append, the store's fsync or retention goroutine), possibly from several at
// once, and never for the in-memory appends themselves: only for work on files. Implementations must be quick
// and must not call back into the log.
type LogObserver interface {
	// Flushed reports that records appended to the log were made durable by one fsync of a segment file,
	// which took d. A failed fsync is not reported.
	Flushed(d time.Duration)
	// Rotated reports that the log sealed its active segment file and started a new one, for reason (one of
	// the Rotate* constants).
	Rotated(reason string)
	// Deleted reports that files segment files of the log were removed (acknowledged messages or retention);
	// reason is the store's own (for the disk store, a RetentionEvent reason).
	Deleted(files int, reason string)
}

// RotateSize is the reason given to LogObserver.Rotated when the active segment could not take the next
// record without passing the store's size limit (the stores here rotate for no other reason).
const RotateSize = "size"

// Observable is implemented by logs that report storage events; a log kept only in memory has none to report.
type Observable interface {
	// SetObserver makes o receive the log's events from now on, in place of any earlier observer; nil stops
	// the reports. Events already being reported may still reach the earlier observer.
	SetObserver(o LogObserver)
}

// Recovery actions in RecoveryReport.Action.
const (
	// RecoverySkipped: the damaged region stays in the file and readers skip it; the records after it are
	// served. It is reported again at every start.
	RecoverySkipped = "skipped"
	// RecoveryTruncated: the damaged tail of a file was copied to MovedTo and the file cut back to its last
	// good record (for the metadata file: the file was copied to MovedTo and rewritten without the damage).
	RecoveryTruncated = "truncated"
	// RecoveryMoved: a whole file could not be read and was renamed to MovedTo, never removed.
	RecoveryMoved = "moved"
	// RecoveryMissing: no segment file holds the offsets FirstOffset to LastOffset, between two that exist.
	RecoveryMissing = "missing"
	// RecoveryAdopted: a topic log the metadata did not know was restored as a reliable topic (reported by
	// the broker, not the store); Records are the messages it holds.
	RecoveryAdopted = "adopted"
)

// RecoveryReport describes one damaged region or file that a store (or the broker on top of it) found when
// it opened, and what it did about it.
type RecoveryReport struct {
	// Topic is the topic whose log is concerned; empty for the metadata file.
	Topic string
	// File is the damaged file, relative to the store directory ("meta.log" for the metadata).
	File string
	// Action says what recovery did: one of the Recovery* constants.
	Action string
	// Records is the number of records lost or skipped in the region, or -1 when it cannot be told (for
	// example a damaged tail with no intact record header). It can be 0 when bytes were damaged or added
	// between two records that are both intact.
	Records int64
	// FirstOffset and LastOffset are the offsets lost, inclusive, when Records > 0 (for the metadata file,
	// record sequence numbers within the file). When Records is -1, FirstOffset is the first offset that may
	// have been lost and LastOffset the last one that may have been (0 when unknown).
	FirstOffset uint64
	LastOffset  uint64
	// Position is the file position where the damaged region starts, and Bytes its length (for
	// RecoveryMoved, the size of the moved file).
	Position int64
	Bytes    int64
	// MovedTo is where the damaged bytes were moved or copied, relative to the store directory; empty when
	// they stayed in place.
	MovedTo string
	// Reason says what was wrong.
	Reason string
}

// Recoverer is implemented by stores that repair damage when they open: Recovery returns what they found,
// the same every time it is called: one report per damaged region or file, adjacent regions merged, and the
// regions of a file beyond a cap folded into one summary report (whose offsets span what it folds).
type Recoverer interface {
	Recovery() []RecoveryReport
}
