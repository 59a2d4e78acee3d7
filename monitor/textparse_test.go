package monitor

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

// TestParseTextAsGeneral parses texts of every shape the brokers export with the fast parser and with the
// general one: the samples are the same.
func TestParseTextAsGeneral(t *testing.T) {
	at := time.Unix(1_800_000_000, 0)
	for name, text := range map[string]string{
		"fixture":  metricsText(100, 10000, 40, 4000, 50, 2, 60, 100, 200),
		"figures":  figuresText(10, 5, 4, 2, 100),
		"cluster":  clusterMetricsText(1, 3),
		"escapes":  "# TYPE danube_topic_messages_in_total counter\ndanube_topic_messages_in_total{broker=\"7\",topic=\"/default/a\\\"b\\\\c\\nd\"} 3 1700000000000\n",
		"spacing":  "danube_topic_messages_in_total { broker = \"7\" , topic=\"/default/a\", } 3\ndanube_broker_rpc_total{broker=\"7\",result=\"error\"}\t2\n",
		"special":  "danube_subscription_lag_messages{broker=\"7\",topic=\"/default/a\",subscription=\"s\"} NaN\ndanube_topic_bytes_in_total{broker=\"7\",topic=\"/default/a\"} +Inf\n",
		"no-label": "danube_broker_topics_owned 4\n\n# a comment\n",
	} {
		fast, err := parseText([]byte(text), at)
		if err != nil {
			t.Fatalf("%s: the fast parser: %v", name, err)
		}
		general, err := parseSampleGeneral(strings.NewReader(text), at)
		if err != nil {
			t.Fatalf("%s: the general parser: %v", name, err)
		}
		if !reflect.DeepEqual(fast, general) {
			t.Fatalf("%s: fast %+v\ngeneral %+v", name, fast, general)
		}
	}
}

// TestParseTextSlowPath: what the fast parser does not read goes to the general parser, which reads it or
// says what is wrong.
func TestParseTextSlowPath(t *testing.T) {
	at := time.Unix(1_800_000_000, 0)
	for _, text := range []string{
		"this is not the text format {",
		"danube_topic_messages_in_total{topic=\"/default/a\" 3\n",
		"danube_topic_messages_in_total{topic=\"/default/a\"} three\n",
		"danube_topic_messages_in_total{topic=\"/default/a\\q\"} 3\n",
		"{\"danube_topic_messages_in_total\",topic=\"/default/a\"} 3\n",
	} {
		if _, err := parseText([]byte(text), at); err != errSlowPath {
			t.Errorf("%q: the fast parser: %v", text, err)
		}
	}
	if _, err := parseSample(strings.NewReader("this is not the text format {"), at, nil); err == nil || !strings.Contains(err.Error(), "parsing") {
		t.Errorf("a bad text: %v", err)
	}
	// A quoted metric name (the text format's UTF-8 names) is read by the general parser.
	s, err := parseSample(strings.NewReader("{\"danube_topic_messages_in_total\",broker=\"7\",topic=\"/default/a\"} 3\n"), at, nil)
	if err != nil || s.topics["/default/a"] == nil || s.topics["/default/a"].msgsIn != 3 || s.broker != "7" {
		t.Fatalf("a quoted name: %+v, %v", s, err)
	}
}

func TestMergeSorted(t *testing.T) {
	cmpInt := func(a, b int) int { return a - b }
	got := mergeSorted([][]int{{1, 4, 9}, nil, {2, 3, 10, 11}, {0, 4}}, cmpInt)
	if !reflect.DeepEqual(got, []int{0, 1, 2, 3, 4, 4, 9, 10, 11}) {
		t.Fatalf("merged: %v", got)
	}
	if got := mergeSorted([][]int{nil, {}}, cmpInt); got != nil {
		t.Fatalf("merged empty lists: %v", got)
	}
}

// TestParseNonFinite: a NaN or ±Inf sample (the text format allows them) is nothing known, in both parsers: it
// neither becomes a nonsense integer nor hides the finite samples next to it.
func TestParseNonFinite(t *testing.T) {
	at := time.Unix(1_800_000_000, 0)
	text := "danube_subscription_lag_messages{broker=\"7\",topic=\"/default/a\",subscription=\"s\"} NaN\n" +
		"danube_subscription_lag_messages{broker=\"7\",topic=\"/default/a\",subscription=\"t\"} +Inf\n" +
		"danube_subscription_lag_messages{broker=\"7\",topic=\"/default/a\",subscription=\"u\"} 12\n"
	fast, err := parseText([]byte(text), at)
	if err != nil {
		t.Fatal(err)
	}
	general, err := parseSampleGeneral(strings.NewReader(text), at)
	if err != nil {
		t.Fatal(err)
	}
	for name, s := range map[string]*scrapeSample{"fast": fast, "general": general} {
		for _, sub := range []string{"s", "t"} {
			if ss := s.subs[subKey{"/default/a", sub}]; ss != nil && ss.lag != 0 {
				t.Errorf("%s: %s's lag %v from a non-finite sample", name, sub, ss.lag)
			}
		}
		if ss := s.subs[subKey{"/default/a", "u"}]; ss == nil || ss.lag != 12 {
			t.Errorf("%s: u's lag %+v, want 12", name, ss)
		}
	}
}
