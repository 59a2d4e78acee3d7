package monitor

import (
	"bytes"
	"errors"
	"io"
	"strconv"
	"time"
	"unsafe"
)

// The fast path of parseSample. A cluster of 2,000 topics and 10,000 subscriptions exports some 6 MB of
// metrics text per broker, which the general parser of prometheus/common reads at about 20 MB/s: well
// over the 50 ms of CPU per poll of the whole cluster. This one reads each line of the text
// format in place, skips the families the console does not use after their name, and allocates only the
// names of new topics and subscriptions. Text it does not understand (a quoted metric name, a malformed
// line) goes to the general parser instead, which reads it or says what is wrong with it.
//
// The Prometheus server's own scrape parser (github.com/prometheus/prometheus/model/textparse, v0.316.0)
// was measured in its place, giving the same samples on these texts (Next, Series, and Labels only for the
// families used). In the same run, BenchmarkClusterPoll took 108-118 ms of CPU per poll in memory against
// 31-32 ms with this reader (116-125 against 38-47 ms on loopback): 3.5 times as much, over twice the
// 50 ms target; BenchmarkParseText 54-73 against 7-13 ms per broker. Its lexer alone, reading no labels, took 11-12 ms per broker, a third of the
// target for three brokers; caching the series' labels between scrapes as its scrape loop does saved
// nothing (109-155 ms per poll). Hence this reader, until a parser made for the job is fast enough.

// errSlowPath: the fast parser met text it leaves to the general parser.
var errSlowPath = errors.New("metrics text for the general parser")

// seriesKind is what a series the console uses is.
type seriesKind uint8

const (
	skUnused     seriesKind = iota
	skTopic                 // a series of topicSample.add, by its family name
	skTopicSum              // a summary's _sum
	skTopicCount            // a summary's _count
	skSub                   // a series of subSample.add
	skTopicsOwned
	skLeader
	skRPC
	skAuthzDeny
)

// seriesInfo is what a series the console uses is, and its family's name.
type seriesInfo struct {
	kind   seriesKind
	family string
}

// seriesKinds maps the names of the series the console uses to their kind and family.
var seriesKinds = func() map[string]seriesInfo {
	m := map[string]seriesInfo{}
	for _, n := range []string{"danube_topic_messages_in_total", "danube_topic_bytes_in_total", "danube_topic_active_producers",
		"danube_topic_active_consumers", "danube_topic_active_subscriptions", "danube_schema_validation_failures_total",
		"danube_producer_send_total", "danube_producer_send_latency_ms", "danube_topic_message_size_bytes"} {
		m[n] = seriesInfo{skTopic, n}
	}
	for _, n := range []string{"danube_producer_send_latency_ms", "danube_topic_message_size_bytes"} {
		m[n+"_sum"], m[n+"_count"] = seriesInfo{skTopicSum, n}, seriesInfo{skTopicCount, n}
	}
	for _, n := range []string{"danube_consumer_messages_out_total", "danube_consumer_bytes_out_total",
		"danube_subscription_active_consumers", "danube_subscription_lag_messages", "danube_subscription_pending_redelivery",
		"danube_subscription_terminal_blocked", "danube_subscription_redelivery_total", "danube_subscription_nack_total",
		"danube_subscription_ack_timeout_total", "danube_subscription_dlq_total", "danube_subscription_retry_exhausted_total"} {
		m[n] = seriesInfo{skSub, n}
	}
	for n, k := range map[string]seriesKind{"danube_broker_topics_owned": skTopicsOwned, "danube_leader_election_state": skLeader,
		"danube_broker_rpc_total": skRPC, "danube_authz_deny_total": skAuthzDeny} {
		m[n] = seriesInfo{k, n}
	}
	return m
}()

// parseSample parses the text format into a sample taken at at: by the fast parser, or by the general one
// (parseSampleGeneral) when the fast one leaves the text to it. The text is read into buf (nil: a new one),
// which an endpoint keeps from one scrape to the next: megabytes of text are then read without allocating and
// clearing a new buffer each time (a sync.Pool would lose it to the garbage collector between two scrapes).
// Nothing of buf is kept in the sample.
func parseSample(r io.Reader, at time.Time, buf *bytes.Buffer) (*scrapeSample, error) {
	if buf == nil {
		buf = new(bytes.Buffer)
	}
	buf.Reset()
	if _, err := buf.ReadFrom(r); err != nil {
		return nil, err
	}
	s, err := parseText(buf.Bytes(), at)
	if errors.Is(err, errSlowPath) {
		return parseSampleGeneral(bytes.NewReader(buf.Bytes()), at)
	}
	return s, err
}

// labelsOf are the labels of a line the console reads (views into the line, unescaped only when needed).
type labelsOf struct {
	broker, topic, sub, result, quantile []byte
}

// parseText is the fast parser.
func parseText(text []byte, at time.Time) (*scrapeSample, error) {
	s := &scrapeSample{at: at, topics: map[string]*topicSample{}, subs: map[subKey]*subSample{}}
	// The lines of a family follow each other, and a topic's (or subscription's) lines often do: the last
	// ones found are kept.
	var lastName []byte
	var info seriesInfo
	known := false
	var lastTopic, lastSubTopic, lastSub []byte
	var t *topicSample
	var ss *subSample
	for len(text) > 0 {
		var line []byte
		if i := bytes.IndexByte(text, '\n'); i >= 0 {
			line, text = text[:i], text[i+1:]
		} else {
			line, text = text, nil
		}
		if len(line) == 0 || line[0] == '#' {
			continue
		}
		end := 0
		for end < len(line) && isNameByte(line[end], end) {
			end++
		}
		if end == 0 {
			return nil, errSlowPath // a quoted name, or a line that is not a sample
		}
		// Every line is read whole, so that text that is not the format goes to the general parser.
		var ls labelsOf
		rest, err := parseLabels(line[end:], &ls)
		if err != nil {
			return nil, err
		}
		v, err := parseValue(rest)
		if err != nil {
			return nil, err
		}
		if name := line[:end]; !bytes.Equal(name, lastName) {
			lastName = name
			info, known = seriesKinds[string(name)]
		}
		if !known {
			continue
		}
		if s.broker == "" && len(ls.broker) > 0 {
			s.broker = string(ls.broker)
		}
		if !finite(v) {
			continue // NaN or ±Inf: nothing known (a gauge the broker could not compute)
		}
		switch info.kind {
		case skTopic, skTopicSum, skTopicCount:
			if len(ls.topic) == 0 {
				continue // the bare series every broker exports
			}
			if t == nil || !bytes.Equal(ls.topic, lastTopic) {
				lastTopic = ls.topic
				if t = s.topics[string(ls.topic)]; t == nil {
					t = &topicSample{}
					s.topics[string(ls.topic)] = t
				}
			}
			t.addText(info.kind, info.family, &ls, v)
		case skSub:
			if len(ls.topic) == 0 || len(ls.sub) == 0 {
				continue
			}
			if ss == nil || !bytes.Equal(ls.sub, lastSub) || !bytes.Equal(ls.topic, lastSubTopic) {
				lastSubTopic, lastSub = ls.topic, ls.sub
				// Looked up with views of the line (a lookup keeps nothing of its key), stored with copies.
				if ss = s.subs[subKey{view(ls.topic), view(ls.sub)}]; ss == nil {
					ss = &subSample{}
					s.subs[subKey{string(ls.topic), string(ls.sub)}] = ss
				}
			}
			ss.add(info.family, v)
		case skTopicsOwned:
			s.topicsOwned += v
		case skLeader:
			s.leader += v
		case skRPC:
			s.rpc += v
			if string(ls.result) == "error" {
				s.rpcErrors += v
			}
		case skAuthzDeny:
			s.authzDenies += v
		}
	}
	return s, nil
}

// addText adds one line of a topic's series: as topicSample.add does for the general parser's metrics.
func (t *topicSample) addText(kind seriesKind, family string, ls *labelsOf, v float64) {
	switch {
	case kind == skTopicSum && family == "danube_producer_send_latency_ms":
		t.latency.Sum, t.latencySum = v, v
	case kind == skTopicCount && family == "danube_producer_send_latency_ms":
		t.latency.Count, t.latencyCount = uint64(v), v
	case kind == skTopicSum:
		t.size.Sum = v
	case kind == skTopicCount:
		t.size.Count = uint64(v)
	case family == "danube_producer_send_latency_ms" || family == "danube_topic_message_size_bytes":
		q := &t.latency
		if family == "danube_topic_message_size_bytes" {
			q = &t.size
		}
		switch string(ls.quantile) {
		case "0.5":
			q.P50 = v
		case "0.95":
			q.P95 = v
		case "0.99":
			q.P99 = v
		}
	case family == "danube_producer_send_total":
		if string(ls.result) == "error" {
			t.sendErrors += v
		}
	default:
		t.add(family, nil, v)
	}
}

// parseLabels reads the labels at the start of b ({name="value",...}, or none) into ls, and returns what
// follows them.
func parseLabels(b []byte, ls *labelsOf) ([]byte, error) {
	b = trimSpace(b)
	if len(b) == 0 || b[0] != '{' {
		return b, nil
	}
	b = b[1:]
	for {
		b = trimSpace(b)
		if len(b) == 0 {
			return nil, errSlowPath
		}
		if b[0] == '}' {
			return b[1:], nil
		}
		eq := bytes.IndexByte(b, '=')
		if eq <= 0 {
			return nil, errSlowPath
		}
		name := trimSpace(b[:eq])
		b = trimSpace(b[eq+1:])
		if len(name) == 0 || name[0] == '"' || len(b) == 0 || b[0] != '"' {
			return nil, errSlowPath // a quoted label name, a missing value
		}
		b = b[1:]
		val, rest, err := labelValue(b)
		if err != nil {
			return nil, err
		}
		switch string(name) {
		case "broker":
			ls.broker = val
		case "topic":
			ls.topic = val
		case "subscription":
			ls.sub = val
		case "result":
			ls.result = val
		case "quantile":
			ls.quantile = val
		}
		b = trimSpace(rest)
		if len(b) > 0 && b[0] == ',' {
			b = b[1:]
		}
	}
}

// labelValue reads a quoted label value (its opening quote read) and returns it, unescaped, and what
// follows its closing quote.
func labelValue(b []byte) ([]byte, []byte, error) {
	i := bytes.IndexByte(b, '"')
	if i < 0 {
		return nil, nil, errSlowPath
	}
	if bytes.IndexByte(b[:i], '\\') >= 0 {
		return unescapeValue(b)
	}
	return b[:i], b[i+1:], nil
}

// unescapeValue reads a label value with escapes (\\, \" and \n).
func unescapeValue(b []byte) ([]byte, []byte, error) {
	var out []byte
	for i := 0; i < len(b); i++ {
		switch c := b[i]; c {
		case '"':
			return out, b[i+1:], nil
		case '\\':
			if i+1 == len(b) {
				return nil, nil, errSlowPath
			}
			i++
			switch b[i] {
			case '\\', '"':
				out = append(out, b[i])
			case 'n':
				out = append(out, '\n')
			default:
				return nil, nil, errSlowPath
			}
		default:
			out = append(out, c)
		}
	}
	return nil, nil, errSlowPath
}

// parseValue reads the value that starts b (an optional timestamp may follow it).
func parseValue(b []byte) (float64, error) {
	b = trimSpace(b)
	end := 0
	for end < len(b) && b[end] != ' ' && b[end] != '\t' {
		end++
	}
	if end == 0 {
		return 0, errSlowPath
	}
	if v, ok := parseUint(b[:end]); ok {
		return v, nil
	}
	v, err := strconv.ParseFloat(view(b[:end]), 64) // ParseFloat keeps nothing of its argument but in its error
	if err != nil {
		return 0, errSlowPath
	}
	return v, nil
}

// parseUint reads the integers most values are (up to 15 digits, exact in a float64).
func parseUint(b []byte) (float64, bool) {
	if len(b) > 15 {
		return 0, false
	}
	var n uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + uint64(c-'0')
	}
	return float64(n), true
}

// view is b as a string, for a call that keeps nothing of it: b must not change while the string is used.
func view(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

// isNameByte reports whether c may be byte i of a metric name.
func isNameByte(c byte, i int) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || c == ':' || (i > 0 && c >= '0' && c <= '9')
}

func trimSpace(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return b
}
