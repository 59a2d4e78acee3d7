// Package filter is the console's message filter: a line of terms, all of which a message must match.
//
//	text            the payload contains text (case-insensitive); "quoted text" keeps spaces
//	key:GLOB        the routing key matches the glob (* and ?)
//	attr:NAME=VALUE an attribute equals VALUE (attr:NAME alone: the attribute is present)
//	$.PATH OP VALUE a JSON payload's value at PATH compares with VALUE; OP is ==, !=, <, <=, >, >= or ~
//	                (contains); VALUE is a number, true, false, null or a (quoted) string
//	-TERM           negates a term
//
// The TUI highlights what matched with Highlights.
package filter

// Filter is a parsed filter. The zero value and nil match everything.
type Filter struct {
	src string
}

// String returns the filter's source text.
func (f *Filter) String() string {
	if f == nil {
		return ""
	}
	return f.src
}
