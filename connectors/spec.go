package connectors

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"net/url"
	"slices"
	"sort"
	"strings"
	"time"
)

// FieldType is the type of a connector setting.
type FieldType int

// Field types, as written in TOML.
const (
	// TypeString is a TOML string.
	TypeString FieldType = iota
	// TypeInt is a TOML integer.
	TypeInt
	// TypeFloat is a TOML float or integer.
	TypeFloat
	// TypeBool is a TOML boolean.
	TypeBool
	// TypeDuration is a string such as "250ms", "5s" or "1h30m".
	TypeDuration
	// TypeStrings is an array of strings.
	TypeStrings
	// TypeStringMap is a table of strings.
	TypeStringMap
)

func (t FieldType) String() string {
	switch t {
	case TypeString:
		return "string"
	case TypeInt:
		return "integer"
	case TypeFloat:
		return "number"
	case TypeBool:
		return "boolean"
	case TypeDuration:
		return "duration"
	case TypeStrings:
		return "array of strings"
	case TypeStringMap:
		return "table of strings"
	}
	return fmt.Sprintf("FieldType(%d)", int(t))
}

// Field describes one setting of a connector kind.
type Field struct {
	// Name is the TOML key.
	Name string
	// Type is the value's type.
	Type FieldType
	// Required settings must be given (Default is then ignored).
	Required bool
	// Default is used when the setting is absent: a string, int64, float64, bool, time.Duration, []string
	// or map[string]string matching Type; nil means "no value".
	Default any
	// Doc is one sentence for the example file and the console's help.
	Doc string
	// Secret settings may instead be given as "<Name>_env", naming an environment variable that holds the
	// value, so that secrets stay out of config files.
	Secret bool
	// Redacted settings are masked wherever settings are shown (Config.Display), like secrets, without the
	// "<Name>_env" form: e.g. headers that may carry credentials.
	Redacted bool
	// Enum, when set, lists the allowed values of a string setting.
	Enum []string
	// Min and Max, when not both zero, bound an integer, number or duration setting (a duration in
	// seconds).
	Min, Max float64
	// Example, when set, is a TOML value (e.g. `"/var/log/app.log"` or `8080`) the generated example file
	// gives a required setting; without it the example uses a placeholder of the setting's type.
	Example string
}

// Spec describes a connector kind's settings.
type Spec struct {
	// Summary is one sentence on what the connector does.
	Summary string
	// Fields are its settings.
	Fields []Field
}

// FieldError is a problem with one setting; the config loader adds the file and line.
type FieldError struct {
	Key string
	Err error
}

func (e FieldError) Error() string { return fmt.Sprintf("%s: %v", e.Key, e.Err) }

// Config is a connector instance's validated settings. Every Spec field has a value or reads as its type's
// zero value; the getters panic only when asked for a name the Spec does not declare (a programming error
// caught by the connector's own tests).
type Config struct {
	values map[string]any
	spec   Spec
}

// Parse validates raw settings (as decoded from TOML) against the spec: unknown keys, missing required
// keys, wrong types, enum and range violations, and secrets read from the environment with getenv. It
// returns every problem found, sorted by key.
func (s Spec) Parse(raw map[string]any, getenv func(string) (string, bool)) (Config, []FieldError) {
	cfg := Config{values: make(map[string]any, len(s.Fields)), spec: s}
	var errs []FieldError
	known := map[string]bool{}
	for _, f := range s.Fields {
		known[f.Name] = true
		if f.Secret {
			known[f.Name+"_env"] = true
		}
	}
	for k := range raw {
		if !known[k] {
			errs = append(errs, FieldError{Key: k, Err: fmt.Errorf("unknown key (known: %s)", strings.Join(s.keyNames(), ", "))})
		}
	}
	for _, f := range s.Fields {
		v, present := raw[f.Name]
		if f.Secret {
			if envName, ok := raw[f.Name+"_env"]; ok {
				name, isStr := envName.(string)
				switch {
				case present:
					errs = append(errs, FieldError{Key: f.Name + "_env", Err: fmt.Errorf("give %s or %s_env, not both", f.Name, f.Name)})
					continue
				case !isStr || name == "":
					errs = append(errs, FieldError{Key: f.Name + "_env", Err: errors.New("must be the name of an environment variable")})
					continue
				}
				val, ok := getenv(name)
				if !ok || val == "" {
					errs = append(errs, FieldError{Key: f.Name + "_env", Err: fmt.Errorf("environment variable %s is not set", name)})
					continue
				}
				v, present = val, true
			}
		}
		if !present {
			if f.Required {
				errs = append(errs, FieldError{Key: f.Name, Err: errors.New("required")})
				continue
			}
			if f.Default != nil {
				cfg.values[f.Name] = f.Default
			}
			continue
		}
		val, err := f.convert(v)
		if err != nil {
			errs = append(errs, FieldError{Key: f.Name, Err: err})
			continue
		}
		cfg.values[f.Name] = val
	}
	sort.Slice(errs, func(i, j int) bool { return errs[i].Key < errs[j].Key })
	return cfg, errs
}

func (s Spec) keyNames() []string {
	var out []string
	for _, f := range s.Fields {
		out = append(out, f.Name)
		if f.Secret {
			out = append(out, f.Name+"_env")
		}
	}
	sort.Strings(out)
	return out
}

// convert checks a raw TOML value against the field and returns it in the field's Go type.
func (f Field) convert(v any) (any, error) {
	bad := func() error { return fmt.Errorf("must be a %s, not %v", f.Type, describe(v)) }
	var out any
	var num float64
	switch f.Type {
	case TypeString:
		s, ok := v.(string)
		if !ok {
			return nil, bad()
		}
		if len(f.Enum) > 0 && !slices.Contains(f.Enum, s) {
			return nil, fmt.Errorf("%q is not one of %s", s, strings.Join(f.Enum, ", "))
		}
		return s, nil
	case TypeInt:
		i, ok := v.(int64)
		if !ok {
			return nil, bad()
		}
		out, num = i, float64(i)
	case TypeFloat:
		switch x := v.(type) {
		case float64:
			out, num = x, x
		case int64:
			out, num = float64(x), float64(x)
		default:
			return nil, bad()
		}
		if math.IsNaN(num) || math.IsInf(num, 0) {
			return nil, errors.New("must be a finite number")
		}
	case TypeBool:
		b, ok := v.(bool)
		if !ok {
			return nil, bad()
		}
		return b, nil
	case TypeDuration:
		s, ok := v.(string)
		if !ok {
			return nil, fmt.Errorf("must be a duration such as \"5s\" or \"250ms\", not %v", describe(v))
		}
		d, err := time.ParseDuration(s)
		if err != nil {
			return nil, fmt.Errorf("%q is not a duration such as \"5s\" or \"250ms\"", s)
		}
		out, num = d, d.Seconds()
	case TypeStrings:
		arr, ok := v.([]any)
		if !ok {
			if ss, ok := v.([]string); ok {
				return slices.Clone(ss), nil
			}
			return nil, bad()
		}
		ss := make([]string, 0, len(arr))
		for _, x := range arr {
			s, ok := x.(string)
			if !ok {
				return nil, fmt.Errorf("must be an array of strings; %v is not a string", describe(x))
			}
			ss = append(ss, s)
		}
		return ss, nil
	case TypeStringMap:
		m, ok := v.(map[string]any)
		if !ok {
			if sm, ok := v.(map[string]string); ok {
				out := make(map[string]string, len(sm))
				for k, x := range sm {
					out[k] = x
				}
				return out, nil
			}
			return nil, bad()
		}
		sm := make(map[string]string, len(m))
		for k, x := range m {
			s, ok := x.(string)
			if !ok {
				return nil, fmt.Errorf("must be a table of strings; %s = %v is not a string", k, describe(x))
			}
			sm[k] = s
		}
		return sm, nil
	default:
		return nil, fmt.Errorf("unknown field type %v", f.Type)
	}
	if f.Min != 0 || f.Max != 0 {
		if num < f.Min || num > f.Max {
			return nil, fmt.Errorf("%v is outside %v–%v", describe(v), f.Min, f.Max)
		}
	}
	return out, nil
}

func describe(v any) string {
	switch x := v.(type) {
	case string:
		return fmt.Sprintf("%q", x)
	case nil:
		return "nothing"
	case map[string]any:
		return "a table"
	case []any:
		return "an array"
	}
	return fmt.Sprintf("%v", v)
}

func (c Config) get(name string, t FieldType) any {
	for _, f := range c.spec.Fields {
		if f.Name == name {
			if f.Type != t {
				panic(fmt.Sprintf("connectors: setting %q is a %v, not a %v", name, f.Type, t))
			}
			return c.values[name]
		}
	}
	panic(fmt.Sprintf("connectors: setting %q is not in the spec", name))
}

// Setting is one setting of an instance as shown to people.
type Setting struct {
	Key   string
	Value string
}

// masked replaces the value of a secret or redacted setting.
const masked = "••••••"

// Display returns the settings that have a value, in the spec's order, as text fit to show: secrets and
// Redacted settings are masked (a table keeps its keys), and so are the password and the query values of a
// URL.
func (c Config) Display() []Setting {
	var out []Setting
	for _, f := range c.spec.Fields {
		v, ok := c.values[f.Name]
		if !ok {
			continue
		}
		hide := f.Secret || f.Redacted
		var text string
		switch x := v.(type) {
		case string:
			text = x
			if hide {
				text = masked
			} else {
				text = redactURL(x)
			}
		case []string:
			text = strings.Join(x, ", ")
			if hide {
				text = masked
			}
		case map[string]string:
			keys := slices.Sorted(maps.Keys(x))
			for i, k := range keys {
				val := x[k]
				if hide {
					val = masked
				}
				keys[i] = k + " = " + val
			}
			text = strings.Join(keys, ", ")
		default:
			text = fmt.Sprint(x)
			if hide {
				text = masked
			}
		}
		out = append(out, Setting{Key: f.Name, Value: text})
	}
	return out
}

// redactURL masks what a URL-like value may carry as credentials: the user info before an '@' in its
// authority, and its query's values. Other values are returned as they are.
func redactURL(s string) string {
	rest, scheme := s, ""
	if i := strings.Index(s, "://"); i >= 0 {
		scheme, rest = s[:i+3], s[i+3:]
	}
	// The authority ends at the first '/' only: a password may hold an unescaped '#' or '?'.
	authority, tail := rest, ""
	if i := strings.Index(rest, "/"); i >= 0 {
		authority, tail = rest[:i], rest[i:]
	}
	if i := strings.LastIndex(authority, "@"); i >= 0 && (scheme != "" || strings.Contains(authority[:i], ":")) {
		user, _, _ := strings.Cut(authority[:i], ":")
		authority = user + ":" + masked + authority[i:]
	}
	if i := strings.Index(tail, "?"); i >= 0 && scheme != "" {
		if q, err := url.ParseQuery(strings.SplitN(tail[i+1:], "#", 2)[0]); err == nil {
			keys := slices.Sorted(maps.Keys(q))
			for j, k := range keys {
				keys[j] = k + "=" + masked
			}
			tail = tail[:i+1] + strings.Join(keys, "&")
		} else {
			tail = tail[:i+1] + masked
		}
	}
	return scheme + authority + tail
}

// Has reports whether a setting has a value (given, from the environment, or a default).
func (c Config) Has(name string) bool {
	_, ok := c.values[name]
	return ok
}

// String returns a string setting ("" when absent).
func (c Config) String(name string) string {
	s, _ := c.get(name, TypeString).(string)
	return s
}

// Int returns an integer setting (0 when absent).
func (c Config) Int(name string) int64 {
	switch v := c.get(name, TypeInt).(type) {
	case int64:
		return v
	case int:
		return int64(v)
	}
	return 0
}

// Float returns a number setting (0 when absent).
func (c Config) Float(name string) float64 {
	switch v := c.get(name, TypeFloat).(type) {
	case float64:
		return v
	case int64:
		return float64(v)
	case int:
		return float64(v)
	}
	return 0
}

// Bool returns a boolean setting (false when absent).
func (c Config) Bool(name string) bool {
	b, _ := c.get(name, TypeBool).(bool)
	return b
}

// Duration returns a duration setting (0 when absent).
func (c Config) Duration(name string) time.Duration {
	d, _ := c.get(name, TypeDuration).(time.Duration)
	return d
}

// Strings returns an array-of-strings setting (nil when absent); the caller may keep it.
func (c Config) Strings(name string) []string {
	ss, _ := c.get(name, TypeStrings).([]string)
	return slices.Clone(ss)
}

// StringMap returns a table-of-strings setting (nil when absent); the caller may keep it.
func (c Config) StringMap(name string) map[string]string {
	m, _ := c.get(name, TypeStringMap).(map[string]string)
	if m == nil {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
