package broker

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/danube-console/danube-console/broker/store"
	"github.com/danube-console/danube-console/proto/consolepb"
)

// finishLogDeletion deletes the log of a topic marked deleted (keyDeletedLogs) and then the mark. A name
// without the mark is left alone.
func (s *Server) finishLogDeletion(name string) error {
	meta := s.store.Meta()
	key := storeKey(keyDeletedLogs, name)
	_, marked, err := meta.Get(key)
	if err != nil || !marked {
		return err
	}
	if err := s.store.DeleteLog(name); err != nil {
		return err
	}
	return meta.Delete(key)
}

// restoreOrphanLogs serves every topic log the metadata does not know (a lost or damaged meta.log) as a
// reliable topic, with its namespace, instead of letting a later create delete it. Its subscriptions and
// cursors cannot be restored. Logs of deletions that did not finish are deleted. Caller holds s.mu (restore).
func (s *Server) restoreOrphanLogs() error {
	names, err := s.store.Topics()
	if err != nil {
		return err
	}
	meta := s.store.Meta()
	// A mark on a topic that still has its record is a deletion that stopped before it removed anything:
	// the topic stays, and so must its log if the metadata is ever lost.
	marks, err := meta.List(keyDeletedLogs)
	if err != nil {
		return err
	}
	for _, kv := range marks {
		if s.topics[strings.TrimPrefix(kv.Key, keyDeletedLogs)] != nil {
			if err := meta.Delete(kv.Key); err != nil {
				return err
			}
		}
	}
	for _, name := range names {
		if s.topics[name] != nil {
			continue
		}
		if _, marked, err := meta.Get(storeKey(keyDeletedLogs, name)); err != nil {
			return err
		} else if marked {
			if err := s.finishLogDeletion(name); err != nil {
				return fmt.Errorf("deleting the log of the deleted topic %s: %w", name, err)
			}
			continue
		}
		if err := ValidateTopicName(name); err != nil {
			s.log.Error("store: a topic log without metadata has a name the broker cannot serve; left as it is",
				"topic", name, "err", err)
			continue
		}
		if ns := namespaceOf(name); s.namespaces[ns] == nil {
			if err := s.addNamespace(ns); err != nil {
				return err
			}
		}
		log, err := s.store.Log(name)
		if err != nil {
			return fmt.Errorf("topic %s: %w", name, err)
		}
		m := topicMeta{Name: name, Reliable: true, ValidationPolicy: ValidationWarn, Adopted: true}
		if err := s.putJSON(storeKey(keyTopics, name), m); err != nil {
			return fmt.Errorf("topic %s: %w", name, err)
		}
		s.topics[name] = newTopic(s, m, log)
		held := int64(log.NextOffset() - log.StartOffset())
		for _, r := range s.recovery { // the store's reports come first: the holes it left in this log
			if r.Topic == name && r.Records > 0 && (r.Action == store.RecoverySkipped || r.Action == store.RecoveryMissing) {
				held -= r.Records
			}
		}
		s.recovery = append(s.recovery, store.RecoveryReport{
			Topic:       name,
			Action:      store.RecoveryAdopted,
			Records:     max(held, 0),
			FirstOffset: log.StartOffset(),
			LastOffset:  max(log.NextOffset(), 1) - 1,
			Reason: "the metadata does not know this topic log; restored it as a reliable topic with its messages. " +
				"Its subscriptions and cursors could not be restored: consumers must subscribe again, and new " +
				"subscriptions of this topic start at its oldest stored message",
		})
	}
	return nil
}

// logRecovery reports, once at start, what the store repaired and what was restored without metadata.
func (s *Server) logRecovery() {
	for _, r := range s.recovery {
		args := []any{"action", r.Action, "topic", r.Topic, "file", r.File, "reason", r.Reason}
		if r.Records != 0 {
			args = append(args, "records", r.Records, "first_offset", r.FirstOffset, "last_offset", r.LastOffset)
		}
		if r.Bytes > 0 {
			args = append(args, "position", r.Position, "bytes", r.Bytes)
		}
		if r.MovedTo != "" {
			args = append(args, "moved_to", r.MovedTo)
		}
		s.log.Error("store recovery: the data directory was damaged or incomplete", args...)
	}
}

// Recovery returns what the broker found damaged or incomplete in its store when it started (the store's
// repairs and the topic logs restored without metadata), in the order found. It is empty before Start and
// for a store with nothing to report.
func (s *Server) Recovery() []store.RecoveryReport { return slices.Clone(s.recovery) }

// diagnostics serves danube_console.BrokerDiagnostics on the admin port.
type diagnostics struct {
	consolepb.UnimplementedBrokerDiagnosticsServer
	s *Server
}

// StoreRecovery answers what Recovery returns.
func (d diagnostics) StoreRecovery(context.Context, *consolepb.StoreRecoveryRequest) (*consolepb.StoreRecoveryResponse, error) {
	resp := &consolepb.StoreRecoveryResponse{BrokerId: strconv.FormatUint(d.s.BrokerID(), 10),
		StartedAtMs: d.s.startedAt.UnixMilli()}
	for _, r := range d.s.recovery {
		resp.Reports = append(resp.Reports, &consolepb.RecoveryReport{Topic: r.Topic, File: r.File, Action: r.Action,
			Records: r.Records, FirstOffset: r.FirstOffset, LastOffset: r.LastOffset, Position: r.Position, Bytes: r.Bytes,
			MovedTo: r.MovedTo, Reason: r.Reason})
	}
	return resp, nil
}
