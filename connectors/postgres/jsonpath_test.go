package postgres

import "testing"

func TestJSONPath(t *testing.T) {
	doc := []byte(`{"order":{"id":"o-1","n":12.50,"ok":false,"tags":["a","b"],"nil":null,"obj":{}},"a.b":{"c d":1},"arr":[[1,2],[3]]}`)
	for path, want := range map[string]string{
		"$.order.id":         "o-1",
		"$.order.n":          "12.50",
		"$.order.ok":         "false",
		"$.order.tags[1]":    "b",
		"$['a.b']['c d']":    "1",
		`$["a.b"]["c d"]`:    "1",
		"$.arr[1][0]":        "3",
		"$['order'].id":      "o-1",
		"$.order['tags'][0]": "a",
	} {
		p, err := parseJSONPath(path)
		if err != nil {
			t.Errorf("%s: %v", path, err)
			continue
		}
		got, err := p.key(doc)
		if err != nil || got != want {
			t.Errorf("%s: %q, %v; want %q", path, got, err, want)
		}
	}
	for _, path := range []string{"$.order.nil", "$.order.obj", "$.order.tags", "$.order.missing", "$.order.tags[2]",
		"$.order[0]", "$.arr.x", "$.order.id.x"} {
		p, err := parseJSONPath(path)
		if err != nil {
			t.Errorf("%s: %v", path, err)
			continue
		}
		if got, err := p.key(doc); err == nil {
			t.Errorf("%s: %q, want an error", path, got)
		}
	}
	p, _ := parseJSONPath("$.a")
	for _, bad := range []string{``, `{`, `{"a":1} x`, `{"a":1}{"a":2}`} {
		if got, err := p.key([]byte(bad)); err == nil {
			t.Errorf("%q: %q, want an error", bad, got)
		}
	}
	if got, err := p.key([]byte(` {"a":1} `)); err != nil || got != "1" {
		t.Errorf("spaces: %q, %v", got, err)
	}
	for _, bad := range []string{"", "a", "$", "$.", "$..a", "$.a.", "$[", "$[x]", "$[-1]", "$['a", "$['a'", "$['a'x", "$a"} {
		if _, err := parseJSONPath(bad); err == nil {
			t.Errorf("parseJSONPath(%q) accepted", bad)
		}
	}
}
