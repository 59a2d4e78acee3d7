package monitor

import (
	"cmp"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Cluster.Problems: what an operator must look at first, computed from the whole Cluster (sources, brokers,
// topics, subscriptions, and the admin view) when a source's data changed, not on every Snapshot.
//
// The checks and their thresholds:
//   - ProblemBrokerDown (critical): a metrics endpoint fails (named by the broker id it had, or the broker
//     of ListBrokers whose metrics address it is, else its URL); or a broker ListBrokers gave earlier is no
//     longer listed (for up to brokerGoneFor); or, when the rows come from a Prometheus server, a broker of
//     ListBrokers has no series there.
//   - ProblemSourceFailing (warning): another source of the console (the admin API, the Prometheus server)
//     fails.
//   - ProblemTerminalBlocked (critical): a subscription's danube_subscription_terminal_blocked > 0.
//   - ProblemLagGrowing (warning): a subscription's lag has grown at every poll for at least LagGrowingFor.
//   - ProblemNoConsumers (warning): a subscription with lag > 0 and no consumer.
//   - ProblemDeadLetters (warning): a subscription sends messages to its dead-letter topic.
//   - ProblemRedeliveryStorm (warning): a subscription's redeliveries and ack timeouts together exceed
//     StormRate per second and StormShare of what it dispatches.
//   - ProblemSchemaFailures (warning): publishes to a topic fail schema validation.
//   - ProblemAuthzDenials (warning): a broker denies requests.
//   - ProblemImbalance (info): the cluster balance's CV exceeds ImbalanceCV, or a broker is overloaded.
//
// Ranking: severity first (critical, warning, info); then the kind, in the order of the list above (what
// stops traffic before what slows it); then a score within the kind, highest first (the lag for lag and
// consumers problems, the rate for rate problems, the CV for imbalance); then the broker, topic and
// subscription names.

// Thresholds of the problems.
const (
	// LagGrowingFor is how long a lag must have grown before it is a problem.
	LagGrowingFor = time.Minute
	// StormRate and StormShare: a redelivery storm is more than StormRate redeliveries and ack timeouts per
	// second, more than StormShare of the messages dispatched.
	StormRate  = 10.0
	StormShare = 0.10
	// ImbalanceCV is the coefficient of variation of the brokers' loads above which the cluster is unbalanced.
	ImbalanceCV = 0.3
	// brokerGoneFor is how long a broker that left ListBrokers stays a problem.
	brokerGoneFor = 10 * time.Minute
)

// problemID names a problem across computations (for Since).
type problemID struct {
	kind               ProblemKind
	broker, topic, sub string
}

// problemRanker computes and caches Cluster.Problems.
type problemRanker struct {
	mu     sync.Mutex
	valid  bool
	gens   [2]uint64     // the scraper's and the Prometheus source's generation of cached
	srcs   []SourceState // the sources of cached (their Kind, URL, Status and Err count)
	admBro []BrokerInfo  // Admin.Brokers of cached
	bal    *Balance      // Admin.Balance of cached
	cached []Problem
	since  map[problemID]time.Time
	known  map[string]time.Time // brokers ListBrokers gave, and when they were last listed
}

// rank returns c's problems (the caller's copy): the cached ones when nothing they come from changed.
func (r *problemRanker) rank(c *Cluster, gens [2]uint64, now time.Time) []Problem {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.valid || gens != r.gens || !sameSources(r.srcs, c.Sources) || !slices.Equal(r.admBro, c.Admin.Brokers) ||
		!reflect.DeepEqual(r.bal, c.Admin.Balance) {
		r.cached = r.compute(c, now)
		r.valid, r.gens, r.srcs, r.admBro = true, gens, slices.Clone(c.Sources), slices.Clone(c.Admin.Brokers)
		r.bal = nil
		if c.Admin.Balance != nil {
			b := *c.Admin.Balance
			b.Brokers = slices.Clone(b.Brokers)
			r.bal = &b
		}
	}
	return slices.Clone(r.cached)
}

func sameSources(a, b []SourceState) bool {
	return slices.EqualFunc(a, b, func(x, y SourceState) bool {
		return x.Kind == y.Kind && x.URL == y.URL && x.Status == y.Status && x.Err == y.Err && x.Broker == y.Broker
	})
}

// scored is a problem and its score within its kind.
type scored struct {
	Problem
	score float64
}

// compute finds c's problems and ranks them; Since is kept for those seen before.
func (r *problemRanker) compute(c *Cluster, now time.Time) []Problem {
	var ps []scored
	add := func(p Problem, score float64) { ps = append(ps, scored{p, score}) }
	r.brokerProblems(c, now, add)
	for i := range c.Subscriptions {
		subProblems(&c.Subscriptions[i], now, add)
	}
	for _, t := range c.Topics {
		if t.SchemaFailuresPerSec > 0 {
			add(Problem{Kind: ProblemSchemaFailures, Severity: SeverityWarning, Broker: t.Broker, Topic: t.Topic,
				Detail: fmt.Sprintf("%s publishes/s fail schema validation (%s/s accepted, %s/s send errors)",
					perSec(t.SchemaFailuresPerSec), perSec(t.MsgsInPerSec), perSec(t.ProducerErrorsPerSec))}, t.SchemaFailuresPerSec)
		}
	}
	for _, b := range c.Brokers {
		if b.AuthzDeniesPerSec > 0 {
			add(Problem{Kind: ProblemAuthzDenials, Severity: SeverityWarning, Broker: b.ID,
				Detail: fmt.Sprintf("%s requests/s denied (of %s rpc/s)", perSec(b.AuthzDeniesPerSec), perSec(b.RPCPerSec))}, b.AuthzDeniesPerSec)
		}
	}
	imbalance(c.Admin.Balance, add)

	slices.SortFunc(ps, func(a, b scored) int {
		return cmp.Or(cmp.Compare(b.Severity, a.Severity), cmp.Compare(a.Kind, b.Kind), cmp.Compare(b.score, a.score),
			cmp.Compare(a.Broker, b.Broker), cmp.Compare(a.Topic, b.Topic), cmp.Compare(a.Subscription, b.Subscription))
	})
	since := make(map[problemID]time.Time, len(ps))
	out := make([]Problem, len(ps))
	for i, p := range ps {
		id := problemID{p.Kind, p.Broker, p.Topic, p.Subscription}
		at, ok := r.since[id]
		if !ok {
			at = now
		}
		if _, dup := since[id]; !dup {
			since[id] = at
		}
		p.Since = at
		out[i] = p.Problem
	}
	r.since = since
	return out
}

// brokerProblems finds the brokers down and the sources failing.
func (r *problemRanker) brokerProblems(c *Cluster, now time.Time, add func(Problem, float64)) {
	byURL := make(map[string]string, len(c.Admin.Brokers))
	listed := make(map[string]bool, len(c.Admin.Brokers))
	for _, b := range c.Admin.Brokers {
		listed[b.ID] = true
		if b.MetricsAddr != "" {
			byURL[metricsURL(b.MetricsAddr)] = b.ID
		}
	}
	for _, s := range c.Sources {
		if s.Status != SourceFailing {
			continue
		}
		if s.Kind != "metrics" {
			add(Problem{Kind: ProblemSourceFailing, Severity: SeverityWarning,
				Detail: fmt.Sprintf("%s source %s failing: %s", s.Kind, s.URL, s.Err)}, 0)
			continue
		}
		id := cmp.Or(s.Broker, byURL[s.URL])
		detail := fmt.Sprintf("metrics endpoint %s failing: %s", s.URL, s.Err)
		if !s.LastOK.IsZero() {
			detail = fmt.Sprintf("metrics endpoint %s failing for %s: %s", s.URL, s.LastTry.Sub(s.LastOK).Round(time.Second), s.Err)
		}
		add(Problem{Kind: ProblemBrokerDown, Severity: SeverityCritical, Broker: cmp.Or(id, s.URL), Detail: detail}, 0)
	}
	if len(c.Admin.Brokers) == 0 {
		return // no admin answer: nothing says who left
	}
	brokersInPrometheus(c, func(has map[string]bool) {
		for _, b := range c.Admin.Brokers {
			if !has[b.ID] {
				add(Problem{Kind: ProblemBrokerDown, Severity: SeverityCritical, Broker: b.ID,
					Detail: "listed by ListBrokers, but the Prometheus server has no series of it (its metrics endpoint is not scraped, or does not answer)"}, 0)
			}
		}
	})
	if r.known == nil {
		r.known = map[string]time.Time{}
	}
	for id := range listed {
		r.known[id] = now
	}
	for id, last := range r.known {
		switch {
		case listed[id]:
		case now.Sub(last) > brokerGoneFor:
			delete(r.known, id)
		default:
			add(Problem{Kind: ProblemBrokerDown, Severity: SeverityCritical, Broker: id,
				Detail: fmt.Sprintf("no longer in ListBrokers (last listed %s ago: its registration expired)", now.Sub(last).Round(time.Second))}, 0)
		}
	}
}

// brokersInPrometheus calls f with the brokers the rows name when they come from a Prometheus server that is up (no
// metrics endpoint is scraped directly).
func brokersInPrometheus(c *Cluster, f func(has map[string]bool)) {
	up := false
	for _, s := range c.Sources {
		switch {
		case s.Kind == "metrics":
			return
		case s.Kind == "prometheus" && s.Status == SourceUp:
			up = true
		}
	}
	if !up {
		return
	}
	has := make(map[string]bool, len(c.Brokers))
	for _, b := range c.Brokers {
		has[b.ID] = true
	}
	f(has)
}

// subProblems finds one subscription's problems.
func subProblems(s *SubscriptionRate, now time.Time, add func(Problem, float64)) {
	p := Problem{Severity: SeverityWarning, Broker: s.Broker, Topic: s.Topic, Subscription: s.Subscription}
	consumers := plural(s.Consumers, "consumer")
	if s.TerminalBlocked > 0 {
		p := p
		p.Kind, p.Severity = ProblemTerminalBlocked, SeverityCritical
		p.Detail = fmt.Sprintf("%s held by the block poison policy, lag %s, %s", plural(s.TerminalBlocked, "message"), thousands(s.Lag), consumers)
		add(p, float64(s.TerminalBlocked))
	}
	if !s.LagGrowingSince.IsZero() && now.Sub(s.LagGrowingSince) >= LagGrowingFor {
		p := p
		p.Kind = ProblemLagGrowing
		p.Detail = fmt.Sprintf("lag %s (+%s in %s), %s", thousands(s.Lag), thousands(s.Lag-s.LagGrowingFrom),
			now.Sub(s.LagGrowingSince).Round(time.Second), consumers)
		add(p, float64(s.Lag-s.LagGrowingFrom))
	}
	if s.Consumers == 0 && s.Lag > 0 {
		p := p
		p.Kind = ProblemNoConsumers
		p.Detail = fmt.Sprintf("lag %s, 0 consumers", thousands(s.Lag))
		add(p, float64(s.Lag))
	}
	if s.DLQPerSec > 0 {
		p := p
		p.Kind = ProblemDeadLetters
		p.Detail = fmt.Sprintf("%s msg/s to the dead-letter topic (%s/s exhausted their retries)", perSec(s.DLQPerSec), perSec(s.RetryExhaustedPerSec))
		add(p, s.DLQPerSec)
	}
	if again := s.RedeliveriesPerSec + s.AckTimeoutsPerSec; again > StormRate && again > StormShare*s.MsgsOutPerSec {
		p := p
		p.Kind = ProblemRedeliveryStorm
		p.Detail = fmt.Sprintf("%s redeliveries/s, %s ack timeouts/s, %s nacks/s, of %s msg/s dispatched; pending %s",
			perSec(s.RedeliveriesPerSec), perSec(s.AckTimeoutsPerSec), perSec(s.NacksPerSec), perSec(s.MsgsOutPerSec), thousands(s.PendingRedelivery))
		add(p, again)
	}
}

// imbalance finds an unbalanced cluster.
func imbalance(b *Balance, add func(Problem, float64)) {
	if b == nil {
		return
	}
	var over []string
	for _, l := range b.Brokers {
		if l.Overloaded {
			over = append(over, l.BrokerID)
		}
	}
	if b.CV <= ImbalanceCV && len(over) == 0 {
		return
	}
	detail := fmt.Sprintf("load CV %.2f (above %.1f is unbalanced), loads %.1f to %.1f (mean %.1f) over %d brokers",
		b.CV, ImbalanceCV, b.Min, b.Max, b.Mean, b.BrokerCount)
	if len(over) > 0 {
		detail += ", overloaded: " + strings.Join(over, ", ")
	}
	p := Problem{Kind: ProblemImbalance, Severity: SeverityInfo, Detail: detail}
	if len(over) > 0 {
		p.Broker = over[0]
	}
	add(p, b.CV)
}

// thousands writes n with a comma every three digits ("12,400").
func thousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	if neg {
		s = s[1:]
	}
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// perSec writes a per-second figure with the precision it needs: one decimal under 100 ("12.5", "25"), one
// significant digit under 0.1 ("0.04"), thousands separated above.
func perSec(v float64) string {
	switch a := math.Abs(v); {
	case v == 0:
		return "0"
	case a < 0.1:
		return strconv.FormatFloat(v, 'g', 1, 64)
	case a < 100:
		return strconv.FormatFloat(math.Round(v*10)/10, 'f', -1, 64)
	}
	return thousands(int64(math.Round(v)))
}

func plural(n int64, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return thousands(n) + " " + what + "s"
}
