package filter

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// msg is a message with a payload, an optional key and attributes "k=v" pairs.
func msg(payload string, key *string, attrs ...string) Fields {
	f := Fields{Payload: []byte(payload), Attributes: map[string]string{}}
	if key != nil {
		f.Key, f.HasKey = *key, true
	}
	for _, a := range attrs {
		k, v, _ := strings.Cut(a, "=")
		f.Attributes[k] = v
	}
	return f
}

func key(s string) *string { return &s }

type matchCase struct {
	filter string
	m      Fields
	want   bool
}

func runMatches(t *testing.T, cases []matchCase) {
	t.Helper()
	for _, c := range cases {
		f, err := Parse(c.filter)
		if err != nil {
			t.Errorf("Parse(%q): %v", c.filter, err)
			continue
		}
		if got := f.Match(c.m); got != c.want {
			t.Errorf("Parse(%q).Match(payload %q, key %q/%v, attrs %v) = %v, want %v",
				c.filter, c.m.Payload, c.m.Key, c.m.HasKey, c.m.Attributes, got, c.want)
		}
	}
}

func TestEmptyAndNil(t *testing.T) {
	for _, s := range []string{"", "   ", "\t"} {
		f, err := Parse(s)
		if f != nil || err != nil {
			t.Fatalf("Parse(%q) = %v, %v; want nil, nil", s, f, err)
		}
	}
	var f *Filter
	if !f.Match(msg("x", nil)) || f.String() != "" || f.Highlights([]byte("x")) != nil {
		t.Fatal("a nil filter must match everything and highlight nothing")
	}
	f, _ = Parse(" order  ")
	if f.String() != " order  " {
		t.Fatalf("String() = %q", f.String())
	}
}

func TestText(t *testing.T) {
	runMatches(t, []matchCase{
		{"order", msg(`{"type":"order"}`, nil), true},
		{"ORDER", msg(`{"type":"Order"}`, nil), true},
		{"order", msg(`{"type":"invoice"}`, nil), false},
		{`"new order"`, msg(`a new ORDER came`, nil), true},
		{`"new order"`, msg(`new  order`, nil), false},
		{`new order`, msg(`order new`, nil), true}, // two terms, any order
		{`"say \"hi\""`, msg(`they say "hi"`, nil), true},
		{`"back\\slash"`, msg(`back\slash`, nil), true},
		{`""`, msg(`anything`, nil), true},
		{`Straße`, msg(`STRAẞE`, nil), true},      // ß folds to ẞ
		{`ΣΊΣΥΦΟΣ`, msg(`σίσυφος`, nil), true},    // Σ folds to σ and ς
		{`kelvin`, msg("\u212aELVIN", nil), true}, // the Kelvin sign folds to k
		{`é`, msg(`CAFÉ`, nil), true},
		{`ab`, msg("a\xffab", nil), true}, // invalid UTF-8 around the text
		{`x`, msg(``, nil), false},
		{`"$100"`, msg(`costs $100`, nil), true},
		{`"key:x"`, msg(`the key:x text`, nil), true},
		{`--verbose`, msg(`run -verbose`, nil), false}, // negated "-verbose"
		{`--verbose`, msg(`run quietly`, nil), true},
		{`"-1"`, msg(`x=-1`, nil), true},
	})
}

func TestKey(t *testing.T) {
	runMatches(t, []matchCase{
		{"key:order-*", msg("", key("order-17")), true},
		{"key:order-*", msg("", key("Order-17")), false}, // case-sensitive
		{"key:order-*", msg("", key("xorder-17")), false},
		{"key:*", msg("", key("")), true},
		{"key:*", msg("", nil), false},
		{"-key:*", msg("", nil), true},
		{`key:""`, msg("", key("")), true},
		{`key:""`, msg("", key("a")), false},
		{"key:a?c", msg("", key("abc")), true},
		{"key:a?c", msg("", key("aéc")), true}, // ? is one character, not one byte
		{"key:a?c", msg("", key("ac")), false},
		{"key:eu/*/orders", msg("", key("eu/fr/paris/orders")), true}, // * crosses '/'
		{"key:eu/*/orders", msg("", key("eu/orders")), false},
		{"key:*a*b*c*", msg("", key("xxaxxbxxcxx")), true},
		{"key:*a*b*c*", msg("", key("xxaxxcxxbxx")), false},
		{`key:a\*b`, msg("", key("a*b")), true},
		{`key:a\*b`, msg("", key("axxb")), false},
		{`key:a\?`, msg("", key("a?")), true},
		{`key:"a b*"`, msg("", key("a bcd")), true},
		{"key:exact", msg("", key("exact")), true},
		{"key:exact", msg("", key("exactly")), false},
		{"key:" + strings.Repeat("*a", 30) + "b", msg("", key(strings.Repeat("a", 100))), false}, // no blow-up
	})
}

func TestAttr(t *testing.T) {
	runMatches(t, []matchCase{
		{"attr:region=eu", msg("", nil, "region=eu"), true},
		{"attr:region=eu", msg("", nil, "region=EU"), false},
		{"attr:region=eu", msg("", nil, "zone=eu"), false},
		{"attr:region", msg("", nil, "region="), true},
		{"attr:region", msg("", nil), false},
		{"attr:region=", msg("", nil, "region="), true},
		{"attr:region=", msg("", nil, "region=x"), false},
		{`attr:"my name"="a b"`, msg("", nil, "my name=a b"), true},
		{`attr:x-replayed-from`, msg("", nil, "x-replayed-from=/default/t@3"), true},
		{`attr:k=a=b`, msg("", nil, "k=a=b"), true},
		{`-attr:region`, msg("", nil), true},
	})
}

func TestJSONPath(t *testing.T) {
	doc := `{"qty": 12, "price": 9.5, "name": "Widget \"Pro\"", "ok": true, "none": null,
		"items": [{"sku": "a-1", "n": 2}, {"sku": "b-2", "n": 0}], "tags": ["red", "big"], "id": "42",
		"odd key": {"x": 1}, "nested": {"deep": {"v": -3e2}}, "esc\u0061ped": 1, "text": "Hello World"}`
	runMatches(t, []matchCase{
		{"$.qty == 12", msg(doc, nil), true},
		{"$.qty==12", msg(doc, nil), true},
		{"$.qty == 12.0", msg(doc, nil), true},
		{"$.qty != 12", msg(doc, nil), false},
		{"$.qty != 13", msg(doc, nil), true},
		{"$.qty > 10", msg(doc, nil), true},
		{"$.qty > 12", msg(doc, nil), false},
		{"$.qty >= 12", msg(doc, nil), true},
		{"$.qty < 12", msg(doc, nil), false},
		{"$.qty <= 12", msg(doc, nil), true},
		{"$.price < 10", msg(doc, nil), true},
		{"$.nested.deep.v < -299", msg(doc, nil), true},
		{"$.nested.deep.v == -300", msg(doc, nil), true},
		{`$.name == "Widget \"Pro\""`, msg(doc, nil), true},
		{`$.name ~ pro`, msg(doc, nil), true},
		{`$.name ~ "widget \"p"`, msg(doc, nil), true},
		{`$.name ~ basic`, msg(doc, nil), false},
		{`$.text > "Hello"`, msg(doc, nil), true},
		{`$.text < "A"`, msg(doc, nil), false},
		{"$.ok == true", msg(doc, nil), true},
		{"$.ok == false", msg(doc, nil), false},
		{"$.ok != false", msg(doc, nil), true},
		{"$.none == null", msg(doc, nil), true},
		{"$.qty == null", msg(doc, nil), false},
		{"$.items[0].sku == a-1", msg(doc, nil), true},
		{"$.items[1].sku == a-1", msg(doc, nil), false},
		{"$.items[1].n == 0", msg(doc, nil), true},
		{"$.items[2].n == 0", msg(doc, nil), false},
		{`$.items[0]["sku"] == "a-1"`, msg(doc, nil), true},
		{`$["odd key"].x == 1`, msg(doc, nil), true},
		{`$.tags ~ big`, msg(doc, nil), true},
		{`$.tags ~ bi`, msg(doc, nil), false}, // arrays: an element equal to VALUE
		{`$.tags[0] == red`, msg(doc, nil), true},
		{`$.id == 42`, msg(doc, nil), true},     // a bare number equals a string with its text
		{`$.id == "42"`, msg(doc, nil), true},   // a quoted string
		{`$.qty == "12"`, msg(doc, nil), false}, // a quoted string is never a number
		{`$.id > 41`, msg(doc, nil), false},     // ordering does not convert
		{`$.qty ~ 2`, msg(doc, nil), true},
		{`$.escaped == 1`, msg(doc, nil), true},
		{"$.missing == 1", msg(doc, nil), false},
		{"$.missing != 1", msg(doc, nil), false}, // a missing value matches no operator
		{"-$.missing == 1", msg(doc, nil), true},
		{"$.qty.x == 1", msg(doc, nil), false},
		{"$.items.sku == 1", msg(doc, nil), false},
		{"$[0] == 1", msg(`[1, 2]`, nil), true},
		{"$ == 5", msg(` 5 `, nil), true},
		{`$ ~ ell`, msg(`"hello"`, nil), true},
		// Non-JSON payloads never match a JSON term.
		{"$.qty == 12", msg(`qty=12`, nil), false},
		{"$.qty == 12", msg(`{"qty": 12`, nil), false},
		{"$.qty == 12", msg(`{"qty": 12} trailing`, nil), false},
		{"$.qty == 12", msg(``, nil), false},
		{"-$.qty == 12", msg(`qty=12`, nil), true},
		{"$.a == 1", msg(`{"a":1,"b":"x\"}`, nil), false},
		{"$.b == 1", msg(`{"a":"}","b":1}`, nil), true}, // brackets and quotes inside strings
		{"$.b == 1", msg(`{"a":{"c":"]}"},"b":1}`, nil), true},
		{"$.b == 1", msg(`{"a":"x\\","b":1}`, nil), true}, // an escaped backslash ends the string
	})
}

func TestNegationAndCombinations(t *testing.T) {
	k := key("order-1")
	m := msg(`{"status":"failed","qty":3}`, k, "region=eu")
	runMatches(t, []matchCase{
		{`failed key:order-* attr:region=eu $.qty > 2`, m, true},
		{`failed key:order-* attr:region=us $.qty > 2`, m, false},
		{`failed -key:order-*`, m, false},
		{`-failed`, m, false},
		{`-succeeded`, m, true},
		{`-attr:region=us -$.qty > 5 status`, m, true},
		{`$.status == failed -$.qty < 3`, m, true},
		{`$.status == failed $.qty < 3`, m, false},
		{"failed\t$.qty   ==   3", m, true},
	})
}

func TestSyntaxErrors(t *testing.T) {
	for _, c := range []struct {
		filter string
		col    int
		msg    string
	}{
		{`$.qty 5`, 7, "expected an operator after $.qty (==, !=, <, <=, >, >=, ~)"},
		{`order $.qty`, 12, "expected an operator after $.qty"},
		{`$.qty = 5`, 7, `unknown operator "=" after $.qty: did you mean ==?`},
		{`$.qty === 5`, 7, `unknown operator "==="`},
		{`$.qty <> 5`, 7, `unknown operator "<>"`},
		{`$.qty >`, 8, "expected a value after $.qty >"},
		{`$.qty > true`, 9, "> compares numbers or strings, not true"},
		{`$.`, 3, `expected a field name after "."`},
		{`$.a..b == 1`, 5, `expected a field name after "."`},
		{`$x == 1`, 2, `unexpected 'x' in the JSON path $`},
		{`$.a[x] == 1`, 5, `expected an index or a quoted name after "["`},
		{`$.a[1 == 1`, 6, `expected "]" to close [1`},
		{`$.a == "open`, 8, `unterminated quoted text`},
		{`a "b c`, 3, `unterminated quoted text`},
		{`"a"b`, 4, `expected a space after "a"`},
		{`x -`, 4, `expected a term after "-"`},
		{`key:`, 5, "expected a glob after key:"},
		{`key: x`, 5, "expected a glob after key:"},
		{`attr:`, 6, "expected an attribute name after attr:"},
		{`attr:=x`, 6, "expected an attribute name after attr:"},
		{`éé $.a b`, 8, "expected an operator after $.a"}, // columns count characters, not bytes
	} {
		f, err := Parse(c.filter)
		if err == nil {
			t.Errorf("Parse(%q) = %v, want an error", c.filter, f)
			continue
		}
		var se *SyntaxError
		if !errors.Is(err, ErrSyntax) || !errors.As(err, &se) {
			t.Errorf("Parse(%q): %v does not wrap ErrSyntax in a *SyntaxError", c.filter, err)
			continue
		}
		want := fmt.Sprintf("filter: syntax error at column %d: ", c.col)
		if se.Column != c.col || !strings.HasPrefix(err.Error(), want) || !strings.Contains(se.Msg, c.msg) {
			t.Errorf("Parse(%q): %q (column %d), want column %d and %q", c.filter, err, se.Column, c.col, c.msg)
		}
		if se.Offset > len(c.filter) || utf8.RuneCountInString(c.filter[:se.Offset])+1 != se.Column {
			t.Errorf("Parse(%q): offset %d does not agree with column %d", c.filter, se.Offset, se.Column)
		}
	}
	if _, err := Parse(`éé $.a b`); err.(*SyntaxError).Offset != 9 {
		t.Errorf("offset %d, want 9 (bytes)", err.(*SyntaxError).Offset)
	}
}

func TestHighlights(t *testing.T) {
	for _, c := range []struct {
		filter, payload string
		want            [][2]int
	}{
		{"order", `{"type":"Order","id":"order-1"}`, [][2]int{{9, 14}, {22, 27}}},
		{"aa", "aaaa", [][2]int{{0, 4}}},                                 // adjacent occurrences merge
		{"aa", "aaa", [][2]int{{0, 2}}},                                  // occurrences do not overlap themselves
		{"abc bcd", "xabcdx", [][2]int{{1, 5}}},                          // overlapping terms merge
		{"cd ab", "abxcd", [][2]int{{0, 2}, {3, 5}}},                     // sorted
		{"b abc", "abc", [][2]int{{0, 3}}},                               // nested
		{`"new order" order`, "a new order", [][2]int{{2, 11}}},          // quoted, nested
		{"straße", "STRASSE Straße STRAẞE", [][2]int{{8, 15}, {16, 24}}}, // ẞ is 3 bytes, ß 2
		{"kelvin", "\u212aelvin", [][2]int{{0, 8}}},                      // the Kelvin sign is 3 bytes
		{"é", "café CAFÉ", [][2]int{{3, 5}, {9, 11}}},
		{"-order x", "order x", [][2]int{{6, 7}}}, // negated text terms highlight nothing
		{"key:x attr:y $.a == order", "order", nil},
		{"zzz", "order", nil},
		{`""`, "order", nil},
	} {
		f, err := Parse(c.filter)
		if err != nil {
			t.Fatalf("Parse(%q): %v", c.filter, err)
		}
		got := f.Highlights([]byte(c.payload))
		if !slices.Equal(got, c.want) {
			t.Errorf("Parse(%q).Highlights(%q) = %v, want %v", c.filter, c.payload, got, c.want)
		}
		for _, r := range got {
			if !utf8.RuneStart(c.payload[r[0]]) || r[1] < len(c.payload) && !utf8.RuneStart(c.payload[r[1]]) {
				t.Errorf("range %v splits a character", r)
			}
		}
	}
}

func BenchmarkMatch(b *testing.B) {
	payload := []byte(`{"id":"order-123456","customer":{"name":"Ada Lovelace","tier":"gold"},"qty":17,"price":129.95,` +
		`"items":[{"sku":"A-1","n":2},{"sku":"B-2","n":1}],"status":"shipped","note":"leave at the door"}`)
	fields := Fields{Payload: payload, Key: "order-123456", HasKey: true, Attributes: map[string]string{"region": "eu"}}
	for _, s := range []string{"door", "DOOR", "$.qty > 10", "$.status == shipped", "$.items[1].sku == B-2", "key:order-* attr:region=eu"} {
		f, err := Parse(s)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(s, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if !f.Match(fields) {
					b.Fatal("no match")
				}
			}
		})
	}
}

// validJSON agrees with json.Valid.
func FuzzValidJSON(f *testing.F) {
	for _, s := range []string{`{}`, `[]`, `{"a":[1,2,{"b":null}],"c":"\u00e9\n"}`, ` 1 `, `-0.5e+3`, `01`, `1.`, `.5`, `"\x"`,
		`{"a":1,}`, `[1 2]`, `tru`, `nulls`, `"` + "\x01" + `"`, `{"a" 1}`, `[[[]]]`, `[`, `"\ud800"`, "\xff", `{"a":1}}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if got, want := validJSON(b), json.Valid(b); got != want {
			t.Fatalf("validJSON(%q) = %v, json.Valid %v", b, got, want)
		}
	})
}

// Parsing and matching anything neither panics nor hangs.
func FuzzParseMatch(f *testing.F) {
	f.Add(`$.a[0].b == 1 x -key:a* attr:b=c`, []byte(`{"a":[{"b":1}]}`))
	f.Add(`"q \" x" $["k"] ~ v`, []byte(`{"k":["v"]}`))
	f.Fuzz(func(t *testing.T, filter string, payload []byte) {
		flt, err := Parse(filter)
		if err != nil {
			if !errors.Is(err, ErrSyntax) {
				t.Fatalf("Parse(%q): %v does not wrap ErrSyntax", filter, err)
			}
			return
		}
		flt.Match(Fields{Payload: payload, Key: string(payload), HasKey: true, Attributes: map[string]string{"a": "b"}})
		last := 0
		for _, r := range flt.Highlights(payload) {
			if r[0] < last || r[1] <= r[0] || r[1] > len(payload) {
				t.Fatalf("Highlights(%q) of %q: bad range %v", payload, filter, r)
			}
			last = r[1] + 1
		}
	})
}
