package connectors

import (
	"bufio"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
)

// exampleIntro opens the generated example file.
const exampleIntro = `danube-console connector configuration.

This file is generated from the connectors' own specifications (danube-console connect --example prints
it), so it documents every key there is. Give it to the console or to the headless runner with --config:

    danube-console --config connectors.toml
    danube-console connect --config connectors.toml [--service-url http://127.0.0.1:6650]

Each [[connector]] table is one connector instance. The keys every table has come first, then the
optional [connector.retry] and [connector.batch] tables, then each kind's own keys. A commented key shows
its default; an uncommented one is required (its value here is an example). Every example below has
autostart = false: set it to true (or remove it) for the ones you want running.

Secrets (keys marked "secret") can stay out of this file: instead of "key = ...", write
"key_env = "NAME"" and the value is read from the environment variable NAME when the file is loaded.

Mistakes are reported with the file, the line and the key, e.g.
    connectors.toml:12: connector "orders-in": rate: must be at least 0, got -5

Delivery is at least once: a source acknowledges its upstream (commits a file position, answers an HTTP
caller with 202, acks an MQTT message) only after Danube acknowledged the publish; a sink acknowledges a
Danube message only after it was written.`

// WriteExample writes a commented configuration file that documents every key: the common keys, the retry
// and batch tables, and one example [[connector]] table per kind registered in env, with its own keys. The
// file parses with LoadConfig when the environment variables its examples name (…_env keys of required
// secrets) are set.
func WriteExample(w io.Writer, env *Env) error {
	bw := bufio.NewWriter(w)
	comment(bw, "", exampleIntro)
	bw.WriteString("\n")

	section(bw, "Keys of every [[connector]] table")
	for _, f := range commonSpec.Fields {
		fieldDoc(bw, f)
	}
	bw.WriteString("#\n")
	section(bw, "[connector.retry]: how failures are retried (optional; sources and sinks)")
	for _, f := range retrySpec.Fields {
		fieldDoc(bw, f)
	}
	bw.WriteString("#\n")
	section(bw, "[connector.batch]: how a sink batches its writes (optional; sinks)")
	for _, f := range batchSpec.Fields {
		fieldDoc(bw, f)
	}

	for _, k := range env.Kinds() {
		bw.WriteString("\n")
		section(bw, fmt.Sprintf("kind = %q (%s)", k.Kind, k.Role))
		if k.Spec.Summary != "" {
			comment(bw, "", k.Spec.Summary)
		}
		name := "example-" + k.Kind
		bw.WriteString("[[connector]]\n")
		fmt.Fprintf(bw, "name = %q\n", name)
		fmt.Fprintf(bw, "kind = %q\n", k.Kind)
		bw.WriteString("autostart = false\n")
		fmt.Fprintf(bw, "topic = %q\n", "/default/"+name)
		for _, f := range k.Spec.Fields {
			bw.WriteString("\n")
			kindField(bw, k.Kind, f)
		}
		if k.Role == RoleSink {
			bw.WriteString("\n# [connector.batch]\n# max_messages = 100\n")
		}
		bw.WriteString("\n# [connector.retry]\n# base_backoff = \"200ms\"\n")
	}
	return bw.Flush()
}

// section writes a heading comment.
func section(w *bufio.Writer, title string) {
	fmt.Fprintf(w, "# ── %s %s\n", title, strings.Repeat("─", max(3, 100-6-len([]rune(title)))))
}

// fieldDoc documents a key in a comment (for the reference sections).
func fieldDoc(w *bufio.Writer, f Field) {
	comment(w, "    ", fmt.Sprintf("%s (%s%s): %s", f.Name, f.Type, constraint(f), f.Doc))
	if !f.Required {
		fmt.Fprintf(w, "#     default: %s\n", defaultText(f))
	}
}

// kindField writes one of a kind's keys: its documentation, then the key, commented with its default
// unless it is required.
func kindField(w *bufio.Writer, kind string, f Field) {
	var tags []string
	if f.Required {
		tags = append(tags, "required")
	}
	if f.Secret {
		tags = append(tags, "secret: or "+f.Name+"_env = \"VARIABLE\"")
	}
	doc := f.Doc
	if c := constraint(f); c != "" {
		doc += " (" + strings.TrimPrefix(c, ", ") + ")"
	}
	if len(tags) > 0 {
		doc = "[" + strings.Join(tags, "; ") + "] " + doc
	}
	comment(w, "", doc)
	switch {
	case f.Required && f.Secret:
		fmt.Fprintf(w, "%s_env = %q\n", f.Name, envName(kind, f.Name))
	case f.Required:
		fmt.Fprintf(w, "%s = %s\n", f.Name, exampleValue(f))
	case f.Default != nil:
		fmt.Fprintf(w, "# %s = %s\n", f.Name, tomlValue(f.Default))
	case f.Example != "":
		fmt.Fprintf(w, "# %s = %s\n", f.Name, f.Example)
	default:
		fmt.Fprintf(w, "# %s = %s   (not set by default)\n", f.Name, placeholder(f.Type))
	}
}

// envName is the environment variable the example gives a required secret.
func envName(kind, key string) string {
	r := strings.NewReplacer("-", "_", ".", "_")
	return strings.ToUpper(r.Replace(kind + "_" + key))
}

// constraint describes an enum or a range.
func constraint(f Field) string {
	switch {
	case len(f.Enum) > 0:
		return ", one of " + strings.Join(f.Enum, ", ")
	case f.Min == 0 && f.Max == 0:
		return ""
	case f.Type == TypeDuration:
		return fmt.Sprintf(", %s to %s", seconds(f.Min), seconds(f.Max))
	}
	return fmt.Sprintf(", %s to %s", number(f.Min), number(f.Max))
}

func seconds(s float64) string { return time.Duration(s * float64(time.Second)).String() }

func number(v float64) string {
	if v >= 1e15 {
		return "no limit"
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}

// defaultText is a default's value in TOML, or "not set".
func defaultText(f Field) string {
	if f.Default == nil {
		return "not set"
	}
	return tomlValue(f.Default)
}

// exampleValue is a required key's example value.
func exampleValue(f Field) string {
	if f.Example != "" {
		return f.Example
	}
	if len(f.Enum) > 0 {
		return strconv.Quote(f.Enum[0])
	}
	return placeholder(f.Type)
}

func placeholder(t FieldType) string {
	switch t {
	case TypeInt:
		return "1"
	case TypeFloat:
		return "1.0"
	case TypeBool:
		return "true"
	case TypeDuration:
		return `"1s"`
	case TypeStrings:
		return `["value"]`
	case TypeStringMap:
		return `{ name = "value" }`
	}
	return `"value"`
}

// tomlValue writes a default in TOML.
func tomlValue(v any) string {
	switch x := v.(type) {
	case string:
		return strconv.Quote(x)
	case bool:
		return strconv.FormatBool(x)
	case int:
		return strconv.Itoa(x)
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		s := strconv.FormatFloat(x, 'f', -1, 64)
		if !strings.ContainsAny(s, ".e") {
			s += ".0"
		}
		return s
	case time.Duration:
		return strconv.Quote(x.String())
	case []string:
		q := make([]string, len(x))
		for i, s := range x {
			q[i] = strconv.Quote(s)
		}
		return "[" + strings.Join(q, ", ") + "]"
	case map[string]string:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = strconv.Quote(k) + " = " + strconv.Quote(x[k])
		}
		return "{ " + strings.Join(parts, ", ") + " }"
	}
	return fmt.Sprint(v)
}

// comment writes text as comment lines of at most 110 columns, keeping its line breaks; wrapped lines are
// indented by hang more than their paragraph.
func comment(w *bufio.Writer, hang, text string) {
	const width = 110
	for _, para := range strings.Split(text, "\n") {
		if strings.TrimSpace(para) == "" {
			w.WriteString("#\n")
			continue
		}
		lead := para[:len(para)-len(strings.TrimLeft(para, " "))]
		line := "# " + lead
		start := len(line)
		for _, word := range strings.Fields(para) {
			if len(line) > start && len(line)+1+len(word) > width {
				w.WriteString(line + "\n")
				line = "# " + lead + hang
				start = len(line)
			}
			if len(line) > start {
				line += " "
			}
			line += word
		}
		w.WriteString(line + "\n")
	}
}
