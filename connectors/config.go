package connectors

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/pelletier/go-toml/v2"

	"github.com/danube-console/danube-console/client"
	"github.com/danube-console/danube-console/internal/tomlpos"
)

// InstanceConfig is one connector instance: the common settings of its [[connector]] table and the kind's
// validated settings. Build it with LoadConfig, ParseConfig or Env.ParseInstance, which apply the defaults
// and check every value; the runtime checks it again in Add.
type InstanceConfig struct {
	// Name identifies the instance (unique in a runtime); it names its producer, consumer and metrics.
	Name string
	// Kind is the registered connector kind.
	Kind string
	// Role is the kind's role (source or sink).
	Role Role
	// Autostart says whether Runtime.StartAutostart starts the instance (default true).
	Autostart bool
	// Topic is a source's destination topic, or the topic a sink consumes ("/namespace/topic").
	Topic string
	// Reliable (sources) publishes to a reliable topic: stored, acknowledged and redelivered.
	Reliable bool
	// Partitions (sources) publishes to a topic with this many partitions (0: not partitioned).
	Partitions int
	// Ordered (sources) publishes one record at a time, so that records reach the topic in the order they
	// were read (default true); false keeps up to MaxInFlight publishes in flight, in any order.
	Ordered bool
	// Subscription (sinks) is the subscription consumed (default the instance's name).
	Subscription string
	// SubscriptionType (sinks) is the subscription's type when the sink creates it (default Shared).
	SubscriptionType client.SubscriptionType
	// CreateTopic (sinks) creates the topic when it does not exist: CreateReliable or CreateNonReliable;
	// empty (CreateNo) waits for it to appear.
	CreateTopic string
	// RateLimit caps the messages per second the instance publishes or delivers (0: no limit).
	RateLimit float64
	// Retry bounds retries and backoffs.
	Retry RetryConfig
	// Batch sizes a sink's batches.
	Batch BatchConfig
	// Settings are the kind's own validated settings.
	Settings Config
	// File and Line locate the [[connector]] table the instance comes from (empty when built in code).
	File string
	Line int
}

// Values of create_topic (InstanceConfig.CreateTopic).
const (
	CreateNo          = "no"
	CreateReliable    = "reliable"
	CreateNonReliable = "non-reliable"
)

// RetryConfig is a [connector.retry] table.
type RetryConfig struct {
	// MaxRetries (sinks) is how many times a failed write is retried before its messages are nacked.
	MaxRetries int
	// BaseBackoff is the wait before the first retry; it doubles with each retry up to MaxBackoff, and each
	// wait is drawn uniformly from its upper half (jitter).
	BaseBackoff time.Duration
	// MaxBackoff caps the wait between retries.
	MaxBackoff time.Duration
	// NackDelay (sinks) is the delay asked of the broker when retries ran out.
	NackDelay time.Duration
}

// BatchConfig is a [connector.batch] table (sinks).
type BatchConfig struct {
	// MaxMessages is the largest batch given to Write.
	MaxMessages int
	// MaxWait is the longest the first message of a batch waits for the batch to fill.
	MaxWait time.Duration
	// MaxIdle writes a batch early when no further message arrived for this long (0: only MaxMessages and
	// MaxWait decide). It keeps a reliable topic's dispatch window (10 unacknowledged messages per
	// subscription by default, less than a batch) from stalling every batch for MaxWait.
	MaxIdle time.Duration
}

// DefaultRetryConfig returns the retry defaults: 5 retries, 200 ms doubling up to 30 s, nack delay 5 s.
func DefaultRetryConfig() RetryConfig {
	return RetryConfig{MaxRetries: 5, BaseBackoff: 200 * time.Millisecond, MaxBackoff: 30 * time.Second, NackDelay: 5 * time.Second}
}

// DefaultBatchConfig returns the batch defaults: 100 messages, 100 ms, idle 5 ms.
func DefaultBatchConfig() BatchConfig {
	return BatchConfig{MaxMessages: 100, MaxWait: 100 * time.Millisecond, MaxIdle: 5 * time.Millisecond}
}

// Problem is one mistake in a configuration file.
type Problem struct {
	// File is the file's name as given to LoadConfig or ParseConfig.
	File string
	// Line is the line of the offending key, or of its table when the key is missing (0: unknown).
	Line int
	// Connector is the name of the [[connector]] table ("" for top-level problems; "#N" when the table has
	// no usable name).
	Connector string
	// Key is the offending key ("retry.max_retries" inside a sub-table; "" for a whole table).
	Key string
	// Msg says what is wrong.
	Msg string
}

// String formats the problem as `file:line: connector "name": key: reason`, leaving out what is unknown.
func (p Problem) String() string {
	var b strings.Builder
	if p.File != "" {
		b.WriteString(p.File)
		if p.Line > 0 {
			b.WriteString(":" + strconv.Itoa(p.Line))
		}
		b.WriteString(": ")
	} else if p.Line > 0 {
		b.WriteString("line " + strconv.Itoa(p.Line) + ": ")
	}
	if p.Connector != "" {
		if strings.HasPrefix(p.Connector, "#") {
			b.WriteString("connector " + p.Connector + ": ")
		} else {
			b.WriteString("connector " + strconv.Quote(p.Connector) + ": ")
		}
	}
	if p.Key != "" {
		b.WriteString(p.Key + ": ")
	}
	b.WriteString(p.Msg)
	return b.String()
}

// ConfigErrors lists every problem found in a configuration, in the order of the file. KindOf reports it as
// KindConfig.
type ConfigErrors struct {
	Problems []Problem
}

// Error lists the problems, one per line.
func (e *ConfigErrors) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// LoadConfig reads and checks a connector configuration file: [[connector]] tables, each with the common
// keys (name, kind, autostart, topic, reliable, partitions, subscription, subscription_type, rate_limit, and
// the [connector.retry] and [connector.batch] tables) and the kind's own keys, validated by its Spec, with
// secrets read from environment variables (os.LookupEnv). Every problem is reported: the error is a
// *ConfigErrors whose problems name the file, the line and the key. A file that cannot be read is returned as
// the *os.PathError.
func LoadConfig(path string, env *Env) ([]InstanceConfig, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("connectors: reading the configuration: %w", err)
	}
	return ParseConfig(path, data, env, os.LookupEnv)
}

// ParseConfig is LoadConfig for data read from a file called name; getenv reads the environment (nil:
// os.LookupEnv).
func ParseConfig(name string, data []byte, env *Env, getenv func(string) (string, bool)) ([]InstanceConfig, error) {
	if getenv == nil {
		getenv = os.LookupEnv
	}
	pos, err := tomlpos.New(data)
	if se, ok := errors.AsType[*tomlpos.SyntaxError](err); ok {
		return nil, &ConfigErrors{Problems: []Problem{{File: name, Line: se.Line, Msg: "TOML syntax: " + se.Error()}}}
	}
	var doc map[string]any
	if err := toml.Unmarshal(data, &doc); err != nil {
		p := Problem{File: name, Msg: err.Error()}
		var de *toml.DecodeError
		if errors.As(err, &de) {
			p.Line, _ = de.Position()
			p.Msg = strings.TrimPrefix(de.Error(), "toml: ")
			if k := de.Key(); len(k) > 0 {
				p.Key = strings.Join(k, ".")
			}
		}
		return nil, &ConfigErrors{Problems: []Problem{p}}
	}

	var problems []Problem
	for _, k := range slices.Sorted(maps.Keys(doc)) {
		if k != "connector" {
			problems = append(problems, Problem{File: name, Line: pos.Line(k), Key: k,
				Msg: "unknown top-level key or table (the file holds [[connector]] tables)"})
		}
	}
	var out []InstanceConfig
	if raw, ok := doc["connector"]; ok {
		tables, ok := raw.([]any)
		if !ok {
			problems = append(problems, Problem{File: name, Line: pos.Line("connector"), Key: "connector",
				Msg: "must be an array of tables, written [[connector]]"})
		}
		seen := map[string]int{} // name → line of its first definition
		for i, t := range tables {
			tbl, ok := t.(map[string]any)
			if !ok {
				problems = append(problems, Problem{File: name, Line: pos.Line("connector", strconv.Itoa(i)),
					Connector: "#" + strconv.Itoa(i+1), Msg: "must be a table"})
				continue
			}
			tc := &tableCheck{file: name, pos: pos, path: []string{"connector", strconv.Itoa(i)}, index: i}
			ic := parseTable(env, tbl, getenv, tc)
			if ic.Name != "" {
				if first, dup := seen[ic.Name]; dup {
					tc.add("name", fmt.Sprintf("%q is already the name of the connector at line %d", ic.Name, first))
				} else {
					seen[ic.Name] = tc.line("name")
				}
			}
			problems = append(problems, tc.problems...)
			if len(tc.problems) == 0 {
				ic.File, ic.Line = name, tc.line()
				out = append(out, ic)
			}
		}
	}
	if len(problems) > 0 {
		sort.SliceStable(problems, func(i, j int) bool { return problems[i].Line < problems[j].Line })
		return nil, &ConfigErrors{Problems: problems}
	}
	return out, nil
}

// ParseInstance checks one connector table given as a map, the way LoadConfig checks a [[connector]] table
// (values as TOML decodes them; int, time.Duration, []string and map[string]string are accepted too), and
// returns the instance or a *ConfigErrors. getenv nil means os.LookupEnv.
func (e *Env) ParseInstance(table map[string]any, getenv func(string) (string, bool)) (InstanceConfig, error) {
	if getenv == nil {
		getenv = os.LookupEnv
	}
	if table == nil {
		table = map[string]any{}
	}
	tc := &tableCheck{index: -1}
	ic := parseTable(e, normaliseRaw(table).(map[string]any), getenv, tc)
	if len(tc.problems) > 0 {
		return InstanceConfig{}, &ConfigErrors{Problems: tc.problems}
	}
	return ic, nil
}

// normaliseRaw turns Go values into the forms TOML decoding gives.
func normaliseRaw(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, y := range x {
			out[k] = normaliseRaw(y)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, y := range x {
			out[i] = normaliseRaw(y)
		}
		return out
	case int32:
		return int64(x)
	case uint:
		return int64(x)
	}
	return defaultAsRaw(v)
}

// Common settings of every [[connector]] table, as Specs so that they are checked, and documented, like the
// kinds' own settings.
var (
	commonSpec = Spec{Fields: []Field{
		{Name: "name", Type: TypeString, Required: true, Example: `"orders-in"`,
			Doc: "Names the instance: unique in the file; letters, digits, '.', '_' and '-'. It also names its producer, consumer and metrics."},
		{Name: "kind", Type: TypeString, Required: true, Doc: "The connector kind (see the sections below)."},
		{Name: "autostart", Type: TypeBool, Default: true, Doc: "Start the connector with `danube-console connect` (false: only on demand)."},
		{Name: "topic", Type: TypeString, Required: true, Example: `"/default/orders"`,
			Doc: "The Danube topic, /namespace/topic: where a source publishes, what a sink consumes."},
		{Name: "reliable", Type: TypeBool, Default: false, Doc: "Sources: publish to a reliable topic (stored, acknowledged, redelivered); it must match the topic's strategy if the topic exists."},
		{Name: "partitions", Type: TypeInt, Default: int64(0), Min: 0, Max: 4096, Doc: "Sources: publish to a topic with this many partitions (0: not partitioned); records with a key go to the partition of their key."},
		{Name: "ordered", Type: TypeBool, Default: true, Doc: "Sources: publish one record at a time, so that records reach the topic in the order they were read (a record retried after a failure may still land after later ones); false publishes up to 1000 at once, several times faster, in any order."},
		{Name: "subscription", Type: TypeString, Doc: "Sinks: the subscription consumed (default: the connector's name)."},
		{Name: "subscription_type", Type: TypeString, Default: "shared", Enum: []string{"exclusive", "shared", "failover", "key-shared"},
			Doc: "Sinks: the subscription's type when the sink creates it."},
		{Name: "create_topic", Type: TypeString, Default: CreateNo, Enum: []string{CreateNo, CreateReliable, CreateNonReliable},
			Doc: "Sinks: when the topic does not exist, create it (reliable or non-reliable) instead of waiting for a producer to create it. A new subscription starts at the latest message, so a sink that subscribes first loses nothing a source of the same file publishes."},
		{Name: "rate_limit", Type: TypeFloat, Default: float64(0), Min: 0, Max: 1e9, Doc: "At most this many messages per second published (sources) or delivered (sinks); 0: no limit."},
	}}
	retrySpec = Spec{Fields: []Field{
		{Name: "max_retries", Type: TypeInt, Default: int64(5), Min: 0, Max: 100, Doc: "Sinks: retries of a failed write (Retryable errors) before its messages are nacked with nack_delay; the broker's failure policy then redelivers or dead-letters them."},
		{Name: "base_backoff", Type: TypeDuration, Default: 200 * time.Millisecond, Min: 0.001, Max: 3600, Doc: "The wait before the first retry; it doubles with each retry, with jitter."},
		{Name: "max_backoff", Type: TypeDuration, Default: 30 * time.Second, Min: 0.001, Max: 3600, Doc: "The longest wait between retries."},
		{Name: "nack_delay", Type: TypeDuration, Default: 5 * time.Second, Min: 0, Max: 3600, Doc: "Sinks: the redelivery delay asked of the broker when the retries ran out."},
	}}
	batchSpec = Spec{Fields: []Field{
		{Name: "max_messages", Type: TypeInt, Default: int64(100), Min: 1, Max: 100000, Doc: "The largest batch given to the sink's Write."},
		{Name: "max_wait", Type: TypeDuration, Default: 100 * time.Millisecond, Min: 0.0001, Max: 3600, Doc: "The longest the first message of a batch waits for the batch to fill."},
		{Name: "max_idle", Type: TypeDuration, Default: 5 * time.Millisecond, Min: 0, Max: 3600, Doc: "Write the batch early once no message arrived for this long (0: never early). A reliable topic delivers at most its dispatch window (10 by default) of unacknowledged messages, so without it a larger batch would always wait max_wait."},
	}}
	sourceOnly = map[string]bool{"reliable": true, "partitions": true, "ordered": true}
	sinkOnly   = map[string]bool{"subscription": true, "subscription_type": true, "batch": true, "create_topic": true,
		"retry.max_retries": true, "retry.nack_delay": true}
)

// tableCheck collects the problems of one connector table.
type tableCheck struct {
	file      string
	pos       tomlpos.Index
	path      []string // the table's key path in pos
	index     int      // the table's index in the file (-1: not from a file)
	connector string
	problems  []Problem
}

// line returns the line of the key path under the table, or of the closest table that holds it.
func (tc *tableCheck) line(keys ...string) int {
	return tc.pos.Nearest(append(slices.Clone(tc.path), keys...)...)
}

// add records a problem with key (dotted for sub-tables).
func (tc *tableCheck) add(key, msg string) {
	name := tc.connector
	if name == "" && tc.index >= 0 {
		name = "#" + strconv.Itoa(tc.index+1)
	}
	var parts []string
	if key != "" {
		parts = strings.Split(key, ".")
	}
	tc.problems = append(tc.problems, Problem{File: tc.file, Line: tc.line(parts...), Connector: name, Key: key, Msg: msg})
}

var namePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)

// parseTable checks one connector table and returns the instance it describes (meaningful only when tc has
// no problems).
func parseTable(env *Env, tbl map[string]any, getenv func(string) (string, bool), tc *tableCheck) InstanceConfig {
	common := map[string]any{}
	rest := map[string]any{}
	for k, v := range tbl {
		switch {
		case k == "retry" || k == "batch":
		case slices.ContainsFunc(commonSpec.Fields, func(f Field) bool { return f.Name == k }):
			common[k] = v
		default:
			rest[k] = v
		}
	}
	if n, ok := tbl["name"].(string); ok && n != "" {
		tc.connector = n
	}
	cc, errs := commonSpec.Parse(common, getenv)
	for _, fe := range errs {
		tc.add(fe.Key, fe.Err.Error())
	}
	ic := InstanceConfig{
		Name:       cc.String("name"),
		Kind:       cc.String("kind"),
		Topic:      cc.String("topic"),
		Autostart:  cc.Bool("autostart"),
		Reliable:   cc.Bool("reliable"),
		Partitions: int(cc.Int("partitions")),
		Ordered:    cc.Bool("ordered"),
		RateLimit:  cc.Float("rate_limit"),
		Retry:      DefaultRetryConfig(),
		Batch:      DefaultBatchConfig(),
	}
	if _, given := common["name"]; given && ic.Name != "" && !namePattern.MatchString(ic.Name) {
		tc.add("name", fmt.Sprintf("%q: use letters, digits, '.', '_' and '-', starting with a letter or digit (at most 128)", ic.Name))
	}
	if ic.Topic != "" {
		if err := checkTopic(ic.Topic); err != nil {
			tc.add("topic", err.Error())
		}
	}
	// The Enum above has checked the name; an error here leaves a table that has problems already.
	ic.SubscriptionType, _ = client.ParseSubscriptionType(cc.String("subscription_type"))
	if ct := cc.String("create_topic"); ct != CreateNo {
		ic.CreateTopic = ct
	}
	ic.Subscription = cc.String("subscription")
	if ic.Subscription == "" {
		ic.Subscription = ic.Name
	}

	for _, sub := range []struct {
		key  string
		spec Spec
		set  func(Config)
	}{
		{"retry", retrySpec, func(c Config) {
			ic.Retry = RetryConfig{MaxRetries: int(c.Int("max_retries")), BaseBackoff: c.Duration("base_backoff"),
				MaxBackoff: c.Duration("max_backoff"), NackDelay: c.Duration("nack_delay")}
		}},
		{"batch", batchSpec, func(c Config) {
			ic.Batch = BatchConfig{MaxMessages: int(c.Int("max_messages")), MaxWait: c.Duration("max_wait"), MaxIdle: c.Duration("max_idle")}
		}},
	} {
		raw, ok := tbl[sub.key]
		if !ok {
			continue
		}
		m, isTable := raw.(map[string]any)
		if !isTable {
			tc.add(sub.key, fmt.Sprintf("must be a table ([connector.%s]), not %s", sub.key, describe(raw)))
			continue
		}
		c, errs := sub.spec.Parse(m, getenv)
		for _, fe := range errs {
			tc.add(sub.key+"."+fe.Key, fe.Err.Error())
		}
		if len(errs) == 0 {
			sub.set(c)
		}
	}
	if ic.Retry.MaxBackoff < ic.Retry.BaseBackoff {
		tc.add("retry.max_backoff", fmt.Sprintf("%v is shorter than base_backoff %v", ic.Retry.MaxBackoff, ic.Retry.BaseBackoff))
	}

	if ic.Kind == "" {
		return ic // "required" was reported
	}
	info, ok := env.Lookup(ic.Kind)
	if !ok {
		var kinds []string
		for _, k := range env.Kinds() {
			kinds = append(kinds, k.Kind)
		}
		known := "none are registered"
		if len(kinds) > 0 {
			known = "known: " + strings.Join(kinds, ", ")
		}
		tc.add("kind", fmt.Sprintf("unknown kind %q (%s)", ic.Kind, known))
		return ic
	}
	ic.Role = info.Role
	checkRole := func(key string, given bool) {
		switch {
		case !given:
		case info.Role == RoleSink && sourceOnly[key]:
			tc.add(key, fmt.Sprintf("only for sources; %s is a sink", ic.Kind))
		case info.Role == RoleSource && sinkOnly[key]:
			tc.add(key, fmt.Sprintf("only for sinks; %s is a source", ic.Kind))
		}
	}
	for _, k := range []string{"reliable", "partitions", "ordered", "subscription", "subscription_type", "create_topic", "batch"} {
		_, given := tbl[k]
		checkRole(k, given)
	}
	if m, ok := tbl["retry"].(map[string]any); ok {
		for _, k := range []string{"max_retries", "nack_delay"} {
			_, given := m[k]
			checkRole("retry."+k, given)
		}
	}
	settings, errs := info.Spec.Parse(rest, getenv)
	for _, fe := range errs {
		msg := fe.Err.Error()
		if _, given := rest[fe.Key]; given && strings.HasPrefix(msg, "unknown key") {
			msg = fmt.Sprintf("unknown key for kind %s (its keys: %s; common keys: %s)", ic.Kind,
				orNone(info.Spec.keyNames()), strings.Join(commonKeyNames(), ", "))
		}
		tc.add(fe.Key, msg)
	}
	ic.Settings = settings
	return ic
}

func orNone(ss []string) string {
	if len(ss) == 0 {
		return "none"
	}
	return strings.Join(ss, ", ")
}

func commonKeyNames() []string {
	out := commonSpec.keyNames()
	return append(out, "retry", "batch")
}

// stringOr returns a string setting that may be absent because it failed to parse.
func stringOr(c Config, name string) string {
	if !c.Has(name) {
		return ""
	}
	return c.String(name)
}

// checkTopic checks a topic name: /namespace/topic with letters, digits, '_' and '-' (as Danube brokers).
func checkTopic(t string) error {
	parts := strings.Split(t, "/")
	if len(parts) != 3 || parts[0] != "" || parts[1] == "" || parts[2] == "" {
		return fmt.Errorf("%q must be /namespace/topic", t)
	}
	for _, p := range parts[1:] {
		for _, r := range p {
			if r != '_' && r != '-' && !unicode.IsLetter(r) && !unicode.IsNumber(r) {
				return fmt.Errorf("%q contains %q; use letters, digits, '_' and '-'", t, r)
			}
		}
	}
	return nil
}
