package broker

import (
	"time"
)

// removeInactiveProducers removes the producers of t that went Options.InactiveProducerTimeout without a
// send, a health check or a CreateProducer, from memory and from the store, so that the metadata follows
// the producers that are alive. The records go under t.mu, so that a CreateProducer of the same name
// (which writes its record under t.mu) is never undone.
func (s *Server) removeInactiveProducers(t *topic, now time.Time) {
	limit := s.opts.InactiveProducerTimeout
	t.mu.Lock()
	defer t.mu.Unlock()
	for name, p := range t.producers {
		if now.Sub(s.startedAt)-time.Duration(p.seen.Load()) < limit {
			continue
		}
		if err := s.store.Meta().Delete(storeKey(keyProducers, t.name, name)); err != nil {
			s.log.Error("removing an inactive producer", "topic", t.name, "producer", name, "err", err)
			continue
		}
		delete(t.producers, name)
		p.closed.Store(true)
		s.idsMu.Lock()
		if s.producers[p.id] == p {
			delete(s.producers, p.id)
		}
		s.idsMu.Unlock()
		s.log.Info("producer removed: no send, health check or create for the inactive-producer timeout",
			"topic", t.name, "producer", name, "id", p.id, "timeout", limit)
	}
}
