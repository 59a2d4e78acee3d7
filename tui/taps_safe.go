package tui

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/user"
	"slices"
	"strings"

	tea "charm.land/bubbletea/v2"

	"github.com/danube-console/danube-console/monitor"
)

// This file keeps the console's taps from taking messages others rely on: a new tap subscribes under a
// name unique to this console ("console-<user>-<4 hex>"), tapping a subscription that exists already is
// confirmed first (naming who is on it) and refused when the type asked for is not the subscription's,
// and only the subscriptions the console created are offered for deletion when their tap stops.

// tapCheckMsg is the answer of the check of an existing subscription before a tap joins it: the topic's
// description (err when it could not be read), on the cluster the console was on when it asked.
type tapCheckMsg struct {
	spec    monitor.ConsumerSpec
	cluster string
	detail  monitor.TopicDetail
	err     error
}

// newTapPrefix returns the prefix of this console's tap names: "console-<user>-<4 hex>", the user from
// $USER (else the account's name) in the topic-name alphabet, the hex random for this process.
func newTapPrefix() string {
	u := os.Getenv("USER")
	if u == "" {
		if cu, err := user.Current(); err == nil {
			u = cu.Username
		}
	}
	u = nameAlphabet(u)
	if u == "" {
		u = "user"
	}
	var b [2]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (it panics on a broken system source)
	return "console-" + u + "-" + hex.EncodeToString(b[:])
}

// nameAlphabet returns s in lower case with every character outside [a-z0-9_-] made "-", the dashes at
// either end trimmed, at most 24 characters.
func nameAlphabet(s string) string {
	var sb strings.Builder
	for _, r := range strings.ToLower(s) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '_', r == '-':
			sb.WriteRune(r)
		default:
			sb.WriteByte('-')
		}
	}
	out := sb.String()
	if len(out) > 24 {
		out = out[:24]
	}
	return strings.Trim(out, "-")
}

// subKey names a subscription of a topic (a partitioned topic's, for its partitions).
func subKey(topic, sub string) string { return baseTopic(topic) + "\x00" + sub }

// tapName is the consumer name of the console's tap number n.
func (p *consumersPane) tapName(n int) string { return p.prefix + "-tap-" + itoa(n) }

// tapSub returns the subscription of a new tap on topic: the console's prefix, else the prefix with "-2",
// "-3"… when the topic has that subscription already or a tap of this console took it.
func (p *consumersPane) tapSub(snap *monitor.Snapshot, topic string) string {
	for k := 1; ; k++ {
		s := p.prefix
		if k > 1 {
			s += "-" + itoa(k)
		}
		if !p.created[subKey(topic, s)] && subscribers(snap, topic, s) == nil {
			return s
		}
	}
}

// subInfo is what the snapshot says of an existing subscription.
type subInfo struct {
	consumers []string // the names of its consumers the console sees
	active    int64    // its active consumers, from the metrics (-1: unknown)
	lag       int64    // its lag, from the metrics (-1: unknown)
}

// subscribers returns what the snapshot knows of the subscription sub of topic (a partitioned topic's
// partitions count as the topic), or nil when it does not exist as far as the snapshot says.
func subscribers(snap *monitor.Snapshot, topic, sub string) *subInfo {
	topic = baseTopic(topic)
	found := false
	info := &subInfo{active: -1, lag: -1}
	for _, t := range snap.Topics {
		if baseTopic(t.Name) == topic && slices.Contains(t.Subscriptions, sub) {
			found = true
		}
	}
	for _, s := range snap.Cluster.Subscriptions {
		if baseTopic(s.Topic) == topic && s.Subscription == sub {
			found = true
			info.active = max(info.active, 0) + s.Consumers
			info.lag = max(info.lag, 0) + s.Lag
		}
	}
	for _, s := range snap.Subscriptions {
		if baseTopic(s.Topic) == topic && s.Subscription == sub {
			found = true
		}
	}
	for _, c := range snap.Consumers {
		if baseTopic(c.Topic) == topic && c.Subscription == sub {
			found = true
			if c.State != monitor.ConsumerClosed && !slices.Contains(info.consumers, c.Name) {
				info.consumers = append(info.consumers, c.Name)
			}
		}
	}
	if !found {
		return nil
	}
	return info
}

// checkExisting describes the topic of a tap on a subscription named, in a command: the answer
// (tapCheckMsg) says whether the subscription exists and its type.
func (p *consumersPane) checkExisting(e *env, spec monitor.ConsumerSpec) tea.Cmd {
	name := e.clusterName
	if e.cluster == nil {
		return func() tea.Msg { return tapCheckMsg{spec: spec, cluster: name, err: errNoClusterAdmin} }
	}
	e.setStatus(levelInfo, "checking subscription "+clean(spec.Subscription)+" of "+clean(spec.Topic)+"…")
	b, ctx := e.cluster, e.ctx
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(ctx, lookupTimeout)
		defer cancel()
		d, err := b.DescribeTopic(ctx, baseTopic(spec.Topic))
		return tapCheckMsg{spec: spec, cluster: name, detail: d, err: err}
	}
}

// errNoClusterAdmin says the backend cannot describe topics.
var errNoClusterAdmin = errors.New("the backend cannot describe topics")

// existingChecked starts a tap on a subscription that does not exist (neither the snapshot nor the
// description knows it), refuses one whose type is not the existing subscription's, else asks to confirm
// the tap, naming who is on the subscription. An answer from the cluster the console has left since
// (:cluster) starts nothing: what it says is not true of the cluster the tap would now join.
func (p *consumersPane) existingChecked(e *env, msg tapCheckMsg) tea.Cmd {
	spec := msg.spec
	if msg.cluster != e.clusterName {
		e.setStatus(levelWarn, "tap on "+clean(spec.Subscription)+" of "+clean(spec.Topic)+" not started: the cluster changed while it was checked (now "+
			e.clusterName+"); start it again if it is wanted here")
		return nil
	}
	info := subscribers(e.snap, spec.Topic, spec.Subscription)
	described := msg.err == nil && (slices.Contains(msg.detail.Subscriptions, spec.Subscription) ||
		slices.ContainsFunc(msg.detail.Subs, func(s monitor.SubscriptionDetail) bool { return s.Name == spec.Subscription }))
	if info == nil && !described {
		// Absent only as far as a description says: when it failed, the subscription may exist unseen, and
		// is then not offered for deletion.
		return p.startTap(e, startTapMsg{spec: spec, checked: true, absent: msg.err == nil})
	}
	typ := "unknown (" + pick(msg.err != nil, "describing the topic failed", "the broker did not say") + ")"
	if msg.err == nil {
		if i := slices.IndexFunc(msg.detail.Subs, func(s monitor.SubscriptionDetail) bool { return s.Name == spec.Subscription }); i >= 0 {
			real := msg.detail.Subs[i].Type
			if real != monitor.SubscriptionUnknown {
				if spec.Type != monitor.SubscriptionUnknown && spec.Type != real {
					e.setStatus(levelError, "tap "+clean(spec.Topic)+": subscription "+clean(spec.Subscription)+" is "+real.String()+
						", not "+spec.Type.String()+": tap it as "+real.String()+" or leave the subscription empty for the console's own")
					return nil
				}
				spec.Type = real
				typ = real.String()
			}
		}
	}
	if info == nil {
		info = &subInfo{active: -1, lag: -1}
	}
	who := pick(info.active >= 0, plural(int(info.active), "consumer"), "consumers unknown")
	if len(info.consumers) > 0 {
		who += " (" + clean(strings.Join(info.consumers, ", ")) + ")"
	}
	lag := pick(info.lag >= 0, "lag "+itoa(int(info.lag)), "lag unknown (no metrics)")
	lines := append(wrapWords(clean(spec.Subscription)+" of "+clean(spec.Topic)+" exists: this console did not create it.", 70),
		"type "+typ+" · "+who+" · "+lag)
	lines = append(lines, takes(spec.Type)...)
	lines = append(lines, "Leave the subscription empty to tap with the console's own.")
	e.setStatus(levelInfo, "subscription "+clean(spec.Subscription)+" of "+clean(spec.Topic)+" exists: the tap waits for your answer")
	e.post(openModalMsg{m: newConfirm("Tap existing subscription "+clean(spec.Subscription)+"?", lines, changesTaps,
		startTapMsg{spec: spec, checked: true})})
	return nil
}

// takes says what a tap joining a subscription of type t takes from its other consumers.
func takes(t monitor.SubscriptionType) []string {
	switch t {
	case monitor.SubscriptionKeyShared:
		return []string{"The tap would take the messages of some keys: what the tap", "receives, the subscription's other consumers do not."}
	case monitor.SubscriptionFailover:
		return []string{"The tap would stand by: when the active consumer goes away,", "it takes every message, and the others get none while it runs."}
	case monitor.SubscriptionExclusive:
		return []string{"The broker refuses it while the holder is connected; when it is", "not, the tap takes every message while it runs."}
	}
	return []string{"The tap would take a share of its messages: what the tap", "receives, the subscription's other consumers do not."}
}

// ---- at quit ----

// quitLoss says what quitting now would lose: the subscriptions the console's taps created (still its own:
// not deleted since), the messages its manual-ack taps hold unacked, and the stream's marks not acked,
// nacked nor exported, in every stream's view.
func (p *consumersPane) quitLoss(e *env) quitLoss {
	l := quitLoss{subs: p.createdSubs()}
	for _, c := range e.snap.Consumers {
		if c.AdHoc && c.ManualAck && c.State != monitor.ConsumerClosed {
			l.pending += c.Pending
		}
	}
	count := func(stream string, marks map[uint64]bool) {
		for s := range marks {
			if !p.saved[exportKey(stream, s)] {
				l.marks++
			}
		}
	}
	count(p.stream, p.marks)
	for stream, v := range p.kept { // the other streams' views keep their own marks
		count(stream, v.marks)
	}
	return l
}

// createdSubs returns the subscriptions the console's taps created (and did not delete since), sorted.
func (p *consumersPane) createdSubs() []subRef {
	var subs []subRef
	for k := range p.created {
		topic, sub, _ := strings.Cut(k, "\x00")
		subs = append(subs, subRef{topic: topic, sub: sub})
	}
	slices.SortFunc(subs, func(a, b subRef) int { return strings.Compare(a.topic+"\x00"+a.sub, b.topic+"\x00"+b.sub) })
	return subs
}

// exportKey names a message of a stream in the set of those exported.
func exportKey(stream string, seq uint64) string { return stream + "\x00" + itoa(int(seq)) }

// deleteCreated deletes the subscriptions the console created, in a command: the console's taps on them
// stop first (the broker refuses to delete a subscription while a consumer is connected); one a description
// of its topic no longer lists is gone already (the broker would answer the same error as for one in use).
func (p *consumersPane) deleteCreated(e *env, subs []subRef) tea.Cmd {
	taps := map[string]subRef{} // the console's taps on them, by name
	for _, c := range e.snap.Consumers {
		if r := (subRef{topic: baseTopic(c.Topic), sub: c.Subscription}); c.AdHoc && c.State != monitor.ConsumerClosed && slices.Contains(subs, r) {
			taps[c.Name] = r
		}
	}
	e.setStatus(levelInfo, "deleting "+plural(len(subs), "subscription")+" created by this console…")
	tb, admin, cluster, ctx := e.taps, e.admin, e.cluster, e.ctx
	return func() tea.Msg {
		stopErr := map[subRef]error{}
		for name, r := range taps {
			ctx, cancel := context.WithTimeout(ctx, actionTimeout)
			if err := tb.StopConsumer(ctx, name); err != nil && !errors.Is(err, monitor.ErrNotFound) {
				stopErr[r] = fmt.Errorf("stop tap %s: %w", name, err)
			}
			cancel()
		}
		var out quitDeletedMsg
		for _, s := range subs {
			ctx, cancel := context.WithTimeout(ctx, actionTimeout)
			err := deleteSub(ctx, cluster, admin, s)
			cancel()
			switch {
			case err == nil:
				out.deleted = append(out.deleted, s)
			case stopErr[s] != nil:
				out.failed = append(out.failed, subFailure{subRef: s, err: errors.Join(stopErr[s], err)})
			default:
				out.failed = append(out.failed, subFailure{subRef: s, err: err})
			}
		}
		return out
	}
}

// deleteSub deletes subscription s unless a description of its topic says it is gone already (a topic
// deleted since counts as gone).
func deleteSub(ctx context.Context, cluster monitor.ClusterAdmin, admin monitor.Admin, s subRef) error {
	if cluster != nil {
		d, err := cluster.DescribeTopic(ctx, s.topic)
		if errors.Is(err, monitor.ErrTopicNotFound) {
			return nil
		}
		if err == nil && !slices.Contains(d.Subscriptions, s.sub) {
			return nil
		}
	}
	return admin.Unsubscribe(ctx, s.topic, s.sub)
}

// quitDeleted forgets the subscriptions the quit question deleted.
func (p *consumersPane) quitDeleted(e *env, msg quitDeletedMsg) {
	for _, s := range msg.deleted {
		delete(p.created, subKey(s.topic, s.sub))
	}
	e.post(pullMsg{})
}
