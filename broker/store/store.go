// Package store defines where the embedded broker keeps its state: an append-only message log per reliable
// topic and a small metadata key-value space (namespaces, topics, subscriptions and their cursors, producers,
// the schema registry). The broker only talks to the Store interface; Memory implements it in process memory,
// and an on-disk implementation can be swapped in without the broker noticing.
//
// The package imports nothing from the broker, so stores can be built and tested on their own.
package store

import (
	"errors"

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

// Recovery actions in RecoveryReport.Action.
const (
	// RecoverySkipped: damaged records were skipped; the records after them were kept.
	RecoverySkipped = "skipped"
	// RecoveryTruncated: a torn or damaged tail was cut off.
	RecoveryTruncated = "truncated"
	// RecoveryMoved: a file that could not be read was moved aside (its new name is MovedTo), not removed.
	RecoveryMoved = "moved"
	// RecoveryAdopted: a topic log the metadata did not know was restored as a reliable topic.
	RecoveryAdopted = "adopted"
)

// RecoveryReport describes one thing a store (or the broker on top of it) found damaged when it opened, and
// what it did about it. Records, FirstOffset and LastOffset say which messages were lost, when that is known
// (Records is 0 when nothing was lost or the count cannot be told).
type RecoveryReport struct {
	Topic       string // "" for the metadata
	File        string // relative to the store's directory
	Action      string // one of the Recovery* constants
	Records     uint64
	FirstOffset uint64
	LastOffset  uint64
	Bytes       int64 // bytes skipped, cut off or moved aside
	MovedTo     string
	Reason      string
}

// Recoverer is implemented by stores that repair damage when they open: Recovery returns what they found,
// one report per damaged region or file, the same every time it is called.
type Recoverer interface {
	Recovery() []RecoveryReport
}
