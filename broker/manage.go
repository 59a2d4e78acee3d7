package broker

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"strconv"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Operations of the admin API on topics, namespaces and subscriptions. Like the real broker, failures of
// topic and namespace operations answer NotFound with a message that says what went wrong.

func adminErr(format string, args ...any) error {
	return status.Errorf(codes.NotFound, format, args...)
}

// loadBrokerID reads the broker's id from the store, or makes and stores one. Caller holds s.mu.
func (s *Server) loadBrokerID() error {
	meta := s.store.Meta()
	b, ok, err := meta.Get(keyBrokerID)
	if err != nil {
		return err
	}
	if ok {
		if s.brokerID, err = strconv.ParseUint(string(b), 10, 64); err != nil {
			return fmt.Errorf("broker id %q: %w", b, err)
		}
		return nil
	}
	s.brokerID = rand.Uint64N(1<<63-1) + 1
	return meta.Put(keyBrokerID, []byte(strconv.FormatUint(s.brokerID, 10)))
}

// BrokerID returns the broker's id (stable across restarts on the same store), or 0 before Start.
func (s *Server) BrokerID() uint64 {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.brokerID
}

// namespaceNames returns the namespaces, sorted.
func (s *Server) namespaceNames() []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]string, 0, len(s.namespaces))
	for n := range s.namespaces {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// validNamespace reports whether name can be a namespace (the characters of a topic name part, not empty).
func validNamespace(name string) bool {
	if name == "" {
		return false
	}
	for _, r := range name {
		if !isNameRune(r) {
			return false
		}
	}
	return true
}

func (s *Server) createNamespace(name string) error {
	if err := checkName("namespace name", name); err != nil {
		return err
	}
	if !validNamespace(name) {
		return adminErr("Unable to create the namespace %s due to: invalid name; use letters, digits, '_' and '-'", name)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.namespaces[name] != nil {
		return adminErr("Unable to create the namespace %s due to: it already exists", name)
	}
	if err := s.addNamespace(name); err != nil {
		return adminErr("Unable to create the namespace %s due to: %v", name, err)
	}
	s.log.Info("namespace created", "namespace", name)
	return nil
}

func (s *Server) deleteNamespace(name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.namespaces[name] == nil {
		return adminErr("Unable to delete the namespace %s due to: it does not exist", name)
	}
	if name == DefaultNamespace || name == SystemNamespace {
		return adminErr("Unable to delete the namespace %s due to: it is a built-in namespace", name)
	}
	for _, t := range s.topics {
		if t.ns == name {
			return adminErr("Unable to delete the namespace %s due to: it still has topics (%s); delete them first", name, t.name)
		}
	}
	if err := s.store.Meta().Delete(keyNamespaces + name); err != nil {
		return adminErr("Unable to delete the namespace %s due to: %v", name, err)
	}
	delete(s.namespaces, name)
	s.log.Info("namespace deleted", "namespace", name)
	return nil
}

// adminCreateTopic creates a topic for the admin API, optionally bound to a registered schema subject.
func (s *Server) adminCreateTopic(name string, reliable bool, subject string) error {
	if len(name) > MaxTopicNameLength {
		return errTooLong("topic name", len(name), MaxTopicNameLength)
	}
	if ValidateTopicName(name) != nil {
		return adminErr("Unable to create the topic %s due to: invalid name, should be /namespace_name/topic_name", name)
	}
	if subject != "" {
		if _, ok := s.schemas.SubjectID(subject); !ok {
			return adminErr("Unable to create the topic %s due to: schema subject %s is not registered", name, subject)
		}
	}
	t, created, err := s.createTopic(name, reliable)
	if err != nil {
		return adminErr("Unable to create the topic %s due to: %s", name, status.Convert(err).Message())
	}
	if !created {
		return adminErr("Unable to create the topic %s due to: it already exists", name)
	}
	if subject != "" {
		if err := s.updateTopicMeta(t, func(m *topicMeta) { m.SchemaSubject = subject }); err != nil {
			return adminErr("Unable to create the topic %s due to: %s", name, status.Convert(err).Message())
		}
	}
	return nil
}

// adminCreatePartitioned creates base-part-0 … base-part-(n-1) one after another and stops at the first
// failure, like the real broker (earlier partitions stay).
func (s *Server) adminCreatePartitioned(base string, n uint32, reliable bool, subject string) error {
	if n == 0 {
		return adminErr("Unable to create the partitioned topic %s due to: it needs at least one partition", base)
	}
	if len(base) > MaxTopicNameLength {
		return errTooLong("topic name", len(base), MaxTopicNameLength)
	}
	if ValidateTopicName(base) != nil {
		return adminErr("Unable to create the topic %s due to: invalid name, should be /namespace_name/topic_name", base)
	}
	for i := range int(n) {
		if err := s.adminCreateTopic(PartitionName(base, i), reliable, subject); err != nil {
			return err
		}
	}
	return nil
}

// deleteTopic deletes a topic, or every partition of a partitioned topic given its base name. Deleting one
// partition alone is refused.
func (s *Server) deleteTopic(name string) error {
	if base, ok := partitionBase(name); ok && s.topic(name) != nil {
		return adminErr("Unable to delete the topic %s due to: it is a partition of %s; delete %s instead", name, base, base)
	}
	var victims []*topic
	s.mu.Lock()
	if t := s.topics[name]; t != nil {
		victims = append(victims, t)
	} else {
		for n, t := range s.topics {
			if b, ok := partitionBase(n); ok && b == name {
				victims = append(victims, t)
			}
		}
	}
	// Mark them closed but keep them in the map until their state is gone, so that the name cannot be
	// created again meanwhile (a producer still sending would do that at once).
	n := 0
	for _, t := range victims {
		if t.closed.CompareAndSwap(false, true) {
			victims[n] = t
			n++
		}
	}
	victims = victims[:n]
	s.mu.Unlock()
	if len(victims) == 0 {
		return adminErr("Unable to delete the topic %s due to: it does not exist", name)
	}
	// Each log is marked before anything is removed: a log whose topic record is gone but which has no mark
	// is restored at the next start, and one that keeps its mark is deleted at the latest when the name is
	// created again. Without the mark nothing is deleted.
	for _, t := range victims {
		if !t.reliable {
			continue
		}
		if err := s.store.Meta().Put(storeKey(keyDeletedLogs, t.name), nil); err != nil {
			for _, v := range victims {
				v.closed.Store(false)
			}
			return status.Errorf(codes.Internal, "Unable to delete the topic %s due to: %v", name, err)
		}
	}
	for _, t := range victims {
		s.dropTopic(t)
		s.mu.Lock()
		if s.topics[t.name] == t {
			delete(s.topics, t.name)
		}
		s.mu.Unlock()
	}
	return nil
}

// dropTopic removes a closed topic's state: producers are closed (their health check answers CLOSE),
// subscriptions and consumers removed (streams end), then its records and its messages deleted. The records
// go first: after a crash in between, the leftover log is deleted when the name is created again.
func (s *Server) dropTopic(t *topic) {
	t.mu.Lock()
	producers := t.producers
	subs := t.subs
	t.producers = make(map[string]*producer)
	t.subs = make(map[string]*subscription)
	t.subsChanged()
	t.mu.Unlock()

	s.idsMu.Lock()
	for _, p := range producers {
		p.closed.Store(true)
		delete(s.producers, p.id)
	}
	s.idsMu.Unlock()
	for _, sub := range subs {
		sub.removeAll()
		if sub.d != nil {
			sub.d.stop()
		}
	}
	meta := s.store.Meta() // a reliable topic's log is marked deleted already (deleteTopic)
	if err := meta.Delete(storeKey(keyTopics, t.name)); err != nil {
		s.log.Error("deleting a topic", "topic", t.name, "err", err)
	}
	for _, prefix := range []string{keyProducers, keySubscriptions, keyCursors, keyConsumers} {
		if err := meta.DeletePrefix(storeKey(prefix, t.name) + "/"); err != nil {
			s.log.Error("deleting topic records", "topic", t.name, "err", err)
		}
	}
	if t.reliable {
		if err := s.finishLogDeletion(t.name); err != nil {
			s.log.Error("deleting a topic log", "topic", t.name, "err", err)
		}
	}
	s.log.Info("topic deleted", "topic", t.name)
}

// servedSubscription finds a topic's subscription for the admin API.
func (s *Server) servedSubscription(topicName, subName, verb string) (*topic, *subscription, error) {
	t := s.topic(topicName)
	if t == nil {
		return nil, nil, adminErr("Unable to %s the subscription %s due to: topic %s does not exist", verb, subName, topicName)
	}
	sub := t.subscription(subName)
	if sub == nil || sub.deleting.Load() {
		return nil, nil, adminErr("Unable to %s the subscription %s due to: it does not exist on topic %s", verb, subName, topicName)
	}
	return t, sub, nil
}

// unsubscribe deletes a subscription that has no connected consumer.
func (s *Server) unsubscribe(topicName, subName string) error {
	t, sub, err := s.servedSubscription(topicName, subName, "delete")
	if err != nil {
		return err
	}
	return s.removeSubscription(t, sub, func() error {
		if n := sub.activeCount(); n > 0 {
			return adminErr("Unable to delete the subscription %s due to: %d consumer(s) are connected; stop them first", subName, n)
		}
		return nil
	})
}

// removeSubscription deletes sub from t if allowed (called under t.mu) says so. The subscription stays in
// t.subs, marked deleting (a Subscribe to it answers Unavailable), until its consumers, its dispatcher and its
// stored records are gone, so that a new subscription of the same name cannot have its records deleted.
func (s *Server) removeSubscription(t *topic, sub *subscription, allowed func() error) error {
	t.mu.Lock()
	if t.subs[sub.name] != sub || sub.deleting.Load() {
		t.mu.Unlock()
		return adminErr("Unable to delete the subscription %s due to: it does not exist on topic %s", sub.name, t.name)
	}
	if err := allowed(); err != nil {
		t.mu.Unlock()
		return err
	}
	sub.deleting.Store(true)
	t.subsChanged()
	t.mu.Unlock()
	sub.removeAll()
	if sub.d != nil {
		sub.d.stop()
	}
	s.dropStoredSubscription(t, sub)
	t.mu.Lock()
	if t.subs[sub.name] == sub {
		delete(t.subs, sub.name)
	}
	t.mu.Unlock()
	s.log.Info("subscription deleted", "topic", t.name, "subscription", sub.name)
	return nil
}

// setFailurePolicy replaces a reliable subscription's failure policy.
func (s *Server) setFailurePolicy(topicName, subName string, pol FailurePolicy) error {
	t, sub, err := s.servedSubscription(topicName, subName, "configure")
	if err != nil {
		return err
	}
	if !t.reliable {
		return adminErr("Unable to configure the subscription %s due to: failure policies apply to reliable topics only", subName)
	}
	if err := pol.Validate(); err != nil {
		return adminErr("Unable to configure the subscription %s due to: %v", subName, err)
	}
	if pol.Poison == PoisonDeadLetter {
		if pol.DeadLetterTopic == topicName {
			return adminErr("Unable to configure the subscription %s due to: the dead-letter topic must not be the topic itself", subName)
		}
		if dl := s.topic(pol.DeadLetterTopic); dl != nil && !dl.reliable {
			return adminErr("Unable to configure the subscription %s due to: dead-letter topic %s is non-reliable and would drop messages", subName, pol.DeadLetterTopic)
		}
	}
	return s.changeDispatch(sub, func(d *dispatcher) { d.policy = pol })
}

// setDispatchWindow replaces a reliable subscription's window of unacknowledged messages.
func (s *Server) setDispatchWindow(topicName, subName string, n uint32) error {
	t, sub, err := s.servedSubscription(topicName, subName, "configure")
	if err != nil {
		return err
	}
	if !t.reliable {
		return adminErr("Unable to configure the subscription %s due to: the dispatch window applies to reliable topics only", subName)
	}
	if n < 1 || n > 10000 {
		return adminErr("Unable to configure the subscription %s due to: max_unacked_messages %d is outside 1-10000", subName, n)
	}
	return s.changeDispatch(sub, func(d *dispatcher) { d.window = int(n) })
}

// changeDispatch applies change to a reliable subscription's dispatcher and stores the result.
func (s *Server) changeDispatch(sub *subscription, change func(*dispatcher)) error {
	t := sub.topic
	t.mu.Lock() // keeps the subscription from being deleted while its record is written
	defer t.mu.Unlock()
	if t.subs[sub.name] != sub || sub.deleting.Load() || t.closed.Load() {
		return adminErr("Unable to configure the subscription %s due to: it was deleted", sub.name)
	}
	sub.mu.Lock()
	oldPolicy, oldWindow := sub.d.policy, sub.d.window
	change(sub.d)
	m := subscriptionMeta{Topic: sub.topic.name, Name: sub.name, Type: sub.typ, FailurePolicy: &sub.d.policy, MaxUnacked: sub.d.window}
	if err := s.putJSON(storeKey(keySubscriptions, sub.topic.name, sub.name), m); err != nil {
		sub.d.policy, sub.d.window = oldPolicy, oldWindow
		sub.mu.Unlock()
		return adminErr("Unable to configure the subscription %s due to: %v", sub.name, err)
	}
	sub.mu.Unlock()
	sub.d.wake()
	return nil
}

// subscriptionConfig returns a subscription's type and, on reliable topics, its policy and window.
func (s *Server) subscriptionConfig(topicName, subName string) (SubscriptionType, *FailurePolicy, int, error) {
	_, sub, err := s.servedSubscription(topicName, subName, "read")
	if err != nil {
		return 0, nil, 0, err
	}
	if sub.d == nil {
		return sub.typ, nil, 0, nil
	}
	sub.mu.Lock()
	defer sub.mu.Unlock()
	pol := sub.d.policy
	return sub.typ, &pol, sub.d.window, nil
}
