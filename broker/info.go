package broker

import "sort"

// TopicInfo describes a served topic at one moment.
type TopicInfo struct {
	Name          string
	Reliable      bool
	Producers     int
	SchemaSubject string
	// StartOffset and NextOffset bound the messages a reliable topic still stores.
	StartOffset, NextOffset uint64
	Subscriptions           []SubscriptionInfo
}

// SubscriptionInfo describes a subscription at one moment.
type SubscriptionInfo struct {
	Name            string
	Type            SubscriptionType
	Consumers       int
	ActiveConsumers int
	// Dropped counts non-reliable messages no consumer could take.
	Dropped uint64
	// Cursor is the first offset not yet acknowledged (reliable topics).
	Cursor uint64
	// InFlight counts reliable messages delivered and awaiting an ack; Waiting counts those held for a
	// redelivery, a key, or a consumer.
	InFlight, Waiting int
}

// Topic returns a snapshot of a served topic and whether it exists.
func (s *Server) Topic(name string) (TopicInfo, bool) {
	t := s.topic(name)
	if t == nil || t.closed.Load() {
		return TopicInfo{}, false
	}
	t.mu.RLock()
	info := TopicInfo{Name: t.name, Reliable: t.reliable, Producers: len(t.producers), SchemaSubject: t.meta.SchemaSubject}
	subs := make([]*subscription, 0, len(t.subs))
	for _, sub := range t.subs {
		if !sub.deleting.Load() {
			subs = append(subs, sub)
		}
	}
	t.mu.RUnlock()
	if t.reliable {
		info.StartOffset, info.NextOffset = t.log.StartOffset(), t.log.NextOffset()
	}
	for _, sub := range subs {
		si := SubscriptionInfo{Name: sub.name, Type: sub.typ, Dropped: sub.dropped.Load()}
		sub.mu.Lock()
		si.Consumers = len(sub.consumers)
		for _, c := range sub.consumers {
			if c.active.Load() {
				si.ActiveConsumers++
			}
		}
		if d := sub.d; d != nil {
			si.Cursor = d.floor.Load()
			for _, p := range d.win {
				switch p.state {
				case stInflight:
					si.InFlight++
				case stDone:
				default:
					si.Waiting++
				}
			}
		}
		sub.mu.Unlock()
		info.Subscriptions = append(info.Subscriptions, si)
	}
	sort.Slice(info.Subscriptions, func(i, j int) bool { return info.Subscriptions[i].Name < info.Subscriptions[j].Name })
	return info, true
}

// TopicNames returns the names of every served topic, sorted.
func (s *Server) TopicNames() []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]string, 0, len(s.topics))
	for n, t := range s.topics {
		if !t.closed.Load() {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}
