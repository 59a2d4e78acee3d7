package broker

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/danube-console/danube-console/proto/adminpb"
)

// Operations of the admin API on topics, namespaces and subscriptions, with the real broker's codes and texts:
// creating, deleting and unsubscribing fail with NotFound "Unable to … due to …" whatever the cause (adminErr),
// while the subscription configuration rpcs answer InvalidArgument or FailedPrecondition.

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
		return adminErr("Unable to create the namespace %s due to invalid name; use letters, digits, '_' and '-'", name)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.namespaces[name] != nil {
		return adminErr("Unable to create the namespace %s due to Namespace %s already exists.", name, name)
	}
	if err := s.addNamespace(name); err != nil {
		return adminErr("Unable to create the namespace %s due to Unable to perform operation %v", name, err)
	}
	s.log.Info("namespace created", "namespace", name)
	return nil
}

func (s *Server) deleteNamespace(name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.namespaces[name] == nil {
		return adminErr("Unable to delete the namespace %s due to Namespace %s does not exists.", name, name)
	}
	// As on the real broker, "default" can be deleted when empty (it comes back at the next start); "system"
	// holds the events topic and is never empty.
	for _, t := range s.topics {
		if t.ns == name {
			return adminErr("Unable to delete the namespace %s due to Can't delete and non empty namespace: %s", name, name)
		}
	}
	if err := s.store.Meta().Delete(keyNamespaces + name); err != nil {
		return adminErr("Unable to delete the namespace %s due to Unable to perform operation %v", name, err)
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
		return adminErr("Unable to create the topic %s due to %s", name, status.Convert(errInvalidTopic(name)).Message())
	}
	if subject != "" {
		if _, ok := s.schemas.SubjectID(subject); !ok {
			return adminErr("Unable to create the topic %s due to schema subject %s is not registered", name, subject)
		}
	}
	t, created, err := s.createTopic(name, reliable)
	if err != nil {
		return adminErr("Unable to create the topic %s due to %s", name, status.Convert(err).Message())
	}
	if !created {
		return adminErr("Unable to create the topic %s due to Topic '%s' already exists", name, name)
	}
	if subject != "" {
		if err := s.updateTopicMeta(t, func(m *topicMeta) { m.SchemaSubject = subject }); err != nil {
			return adminErr("Unable to create the topic %s due to %s", name, status.Convert(err).Message())
		}
	}
	return nil
}

// adminCreatePartitioned creates base-part-0 … base-part-(n-1) one after another and stops at the first
// failure, like the real broker (earlier partitions stay).
func (s *Server) adminCreatePartitioned(base string, n uint32, reliable bool, subject string) error {
	if n == 0 {
		return nil // as on the real broker: nothing to create
	}
	if len(base) > MaxTopicNameLength {
		return errTooLong("topic name", len(base), MaxTopicNameLength)
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
	if _, ok := partitionBase(name); ok {
		return adminErr("Unable to delete the topic %s due to Cannot delete individual partition '%s'. Delete the base topic instead (e.g., if partition is '/default/mytopic-part-0', delete '/default/mytopic').", name, name)
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
		return adminErr("Unable to delete the topic %s due to Unable to find topic: %s", name, name)
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
	for _, prefix := range []string{keyProducers, keySubscriptions, keyCursors, keyConsumers, keySubConfig} {
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

// errUnsubscribe is the real broker's answer to every failed Unsubscribe: the topic or the subscription is
// unknown, or a consumer is connected.
func errUnsubscribe(sub string) error {
	return adminErr("Unable to unsubscribe the subscription %s due to error: Unable to unsubscribe as the subscription %s has active consumers", sub, sub)
}

// unsubscribe deletes a subscription that has no connected consumer.
func (s *Server) unsubscribe(topicName, subName string) error {
	t := s.topic(topicName)
	if t == nil {
		return errUnsubscribe(subName)
	}
	sub := t.subscription(subName)
	if sub == nil || sub.deleting.Load() {
		return errUnsubscribe(subName)
	}
	return s.removeSubscription(t, sub, func() error {
		if sub.activeCount() > 0 {
			return errUnsubscribe(subName)
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
		return errUnsubscribe(sub.name)
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
		// What the admin API set goes with the subscription (a later one of the same name starts afresh).
		if err := s.store.Meta().Delete(storeKey(keySubConfig, t.name, sub.name)); err != nil {
			s.log.Error("deleting a subscription config", "topic", t.name, "subscription", sub.name, "err", err)
		}
	}
	t.mu.Unlock()
	s.log.Info("subscription deleted", "topic", t.name, "subscription", sub.name)
	return nil
}

// keySubConfig keeps what the admin API set for a subscription (SetSubscriptionFailurePolicy and
// SetSubscriptionDispatchConfig), whether or not the subscription exists yet: a subscription created later
// starts with it. It is deleted with the subscription or the topic.
const keySubConfig = "/subscription-config/"

// subscriptionConfig is the record under keySubConfig.
type subscriptionConfig struct {
	Name          string         `json:"name"`
	FailurePolicy *FailurePolicy `json:"failure_policy,omitempty"`
	MaxUnacked    uint32         `json:"max_unacked_messages,omitempty"`
}

// Texts of the real broker's answers to the subscription configuration rpcs.
const (
	msgPolicyReliableOnly = "subscription failure policy can only be configured for reliable topics"
	msgDeadLetterTopic    = "dead_letter_topic must be configured when poison_policy is DeadLetter"
)

// storedSubscriptionConfig reads what the admin API set for a subscription; ok is false when nothing was set.
func (s *Server) storedSubscriptionConfig(topicName, subName string) (cfg subscriptionConfig, ok bool, err error) {
	b, ok, err := s.store.Meta().Get(storeKey(keySubConfig, topicName, subName))
	if err != nil || !ok {
		return cfg, false, err
	}
	if err := json.Unmarshal(b, &cfg); err != nil {
		return cfg, false, fmt.Errorf("subscription config of %s/%s: %w", topicName, subName, err)
	}
	return cfg, true, nil
}

// configuredSubscriptions returns the names of a topic's subscriptions that have a stored configuration.
func (s *Server) configuredSubscriptions(topicName string) []string {
	kvs, err := s.store.Meta().List(storeKey(keySubConfig, topicName) + "/")
	if err != nil {
		s.log.Error("listing subscription configs", "topic", topicName, "err", err)
		return nil
	}
	out := make([]string, 0, len(kvs))
	for _, kv := range kvs {
		var cfg subscriptionConfig
		if json.Unmarshal(kv.Value, &cfg) == nil && cfg.Name != "" {
			out = append(out, cfg.Name)
		}
	}
	return out
}

// applyStoredConfig gives a subscription being created (m) the failure policy and window the admin API set
// for it beforehand. A stored DeadLetter policy without a dead-letter topic fails the Subscribe, as on the
// real broker. Caller holds t.mu.
func (s *Server) applyStoredConfig(t *topic, m *subscriptionMeta) error {
	if !t.reliable {
		return nil // the real broker ignores what is stored for non-reliable topics
	}
	cfg, ok, err := s.storedSubscriptionConfig(t.name, m.Name)
	if err != nil {
		return errSubscribe(t.name, "%v", err)
	}
	if !ok {
		return nil
	}
	if p := cfg.FailurePolicy; p != nil {
		if p.Poison == PoisonDeadLetter && strings.TrimSpace(p.DeadLetterTopic) == "" {
			return errSubscribe(t.name, msgDeadLetterTopic)
		}
		pol := *p
		m.FailurePolicy = &pol
	}
	if cfg.MaxUnacked > 0 {
		m.MaxUnacked = int(cfg.MaxUnacked)
	}
	return nil
}

// configureSubscription stores change applied to a subscription's configuration and, if the subscription
// lives on a reliable topic, applies it to its dispatcher (unlike the real broker, which ignores a change
// to a loaded subscription and overwrites it later). The subscription need not exist.
func (s *Server) configureSubscription(topicName, subName string, change func(*subscriptionConfig), apply func(*dispatcher)) error {
	t := s.topic(topicName)
	if t != nil {
		t.mu.Lock() // orders this with the subscription's creation (applyStoredConfig) and deletion
		defer t.mu.Unlock()
	}
	cfg, _, err := s.storedSubscriptionConfig(topicName, subName)
	if err != nil {
		return err
	}
	cfg.Name = subName
	change(&cfg)
	if err := s.putJSON(storeKey(keySubConfig, topicName, subName), cfg); err != nil {
		return err
	}
	if t == nil {
		return nil
	}
	sub := t.subs[subName]
	if sub == nil || sub.d == nil || sub.deleting.Load() || t.closed.Load() {
		return nil
	}
	sub.mu.Lock()
	oldPolicy, oldWindow := sub.d.policy, sub.d.window
	apply(sub.d)
	pol := sub.d.policy
	m := subscriptionMeta{Topic: t.name, Name: sub.name, Type: sub.typ, FailurePolicy: &pol, MaxUnacked: int(cfg.MaxUnacked)}
	if err := s.putJSON(storeKey(keySubscriptions, t.name, sub.name), m); err != nil {
		sub.d.policy, sub.d.window = oldPolicy, oldWindow // the subscription keeps what its record says
		sub.mu.Unlock()
		return err
	}
	sub.mu.Unlock()
	sub.d.wake()
	return nil
}

// setFailurePolicy answers SetSubscriptionFailurePolicy with the real broker's checks, in its order.
func (s *Server) setFailurePolicy(topicName, subName string, p *adminpb.SubscriptionFailurePolicy) error {
	if p == nil {
		return status.Error(codes.InvalidArgument, "failure_policy must be provided")
	}
	if t := s.topic(topicName); t == nil || !t.reliable {
		return status.Error(codes.FailedPrecondition, msgPolicyReliableOnly)
	}
	if _, ok := adminpb.SubscriptionBackoffStrategy_name[int32(p.GetBackoffStrategy())]; !ok {
		return status.Error(codes.InvalidArgument, "invalid backoff_strategy value")
	}
	if _, ok := adminpb.SubscriptionPoisonPolicy_name[int32(p.GetPoisonPolicy())]; !ok {
		return status.Error(codes.InvalidArgument, "invalid poison_policy value")
	}
	pol := policyFromProto(p)
	if pol.Poison == PoisonDeadLetter && strings.TrimSpace(pol.DeadLetterTopic) == "" {
		return status.Error(codes.InvalidArgument, msgDeadLetterTopic)
	}
	err := s.configureSubscription(topicName, subName,
		func(c *subscriptionConfig) { c.FailurePolicy = &pol },
		func(d *dispatcher) { d.policy = pol })
	if err != nil {
		return status.Error(codes.InvalidArgument, err.Error()) // as the real broker answers a store error
	}
	return nil
}

// setDispatchWindow answers SetSubscriptionDispatchConfig: like the real broker it checks only the range and
// stores the window for the subscription, existing or not; unlike it, the window is applied (at once to a
// subscription of a reliable topic, and to one created later).
func (s *Server) setDispatchWindow(topicName, subName string, dc *adminpb.SubscriptionDispatchConfig) error {
	if dc == nil {
		return status.Error(codes.InvalidArgument, "dispatch_config is required")
	}
	n := dc.GetMaxUnackedMessages()
	if n < 1 || n > 10000 {
		return status.Error(codes.InvalidArgument, "max_unacked_messages must be between 1 and 10000")
	}
	err := s.configureSubscription(topicName, subName,
		func(c *subscriptionConfig) { c.MaxUnacked = n },
		func(d *dispatcher) { d.window = int(n) })
	if err != nil {
		return status.Errorf(codes.Internal, "Failed to set dispatch config: %v", err)
	}
	return nil
}

// subscriptionPolicy answers GetSubscriptionFailurePolicy: the policy of a subscription of a reliable topic,
// else the stored one (none when nothing was set), and the subscription's type (0 when it does not exist).
func (s *Server) subscriptionPolicy(topicName, subName string) (SubscriptionType, *FailurePolicy) {
	if t := s.topic(topicName); t != nil {
		if sub := t.subscription(subName); sub != nil && !sub.deleting.Load() {
			if sub.d == nil {
				return sub.typ, nil
			}
			sub.mu.Lock()
			defer sub.mu.Unlock()
			pol := sub.d.policy
			return sub.typ, &pol
		}
	}
	cfg, _, err := s.storedSubscriptionConfig(topicName, subName)
	if err != nil {
		s.log.Error("reading a subscription config", "topic", topicName, "subscription", subName, "err", err)
	}
	return 0, cfg.FailurePolicy // a record that does not parse answers none, as on the real broker
}

// subscriptionWindow answers GetSubscriptionDispatchConfig: the window set with SetSubscriptionDispatchConfig,
// or 0 when none was set.
func (s *Server) subscriptionWindow(topicName, subName string) (uint32, error) {
	cfg, _, err := s.storedSubscriptionConfig(topicName, subName)
	if err != nil {
		return 0, status.Errorf(codes.Internal, "Failed to get dispatch config: %v", err)
	}
	return cfg.MaxUnacked, nil
}
