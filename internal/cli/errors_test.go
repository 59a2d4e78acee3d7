package cli

import (
	"bytes"
	"errors"
	"fmt"
	"testing"

	"github.com/spf13/pflag"

	"github.com/danube-console/danube-console/connectors"
)

// TestReport checks the one printer of command errors: what each kind of error prints and its exit status.
func TestReport(t *testing.T) {
	problems := &configFileError{path: "c.toml", problems: []connectors.Problem{{File: "c.toml", Line: 3, Key: "rate", Msg: "must be positive"}}}
	for _, tc := range []struct {
		name string
		err  error
		code int
		want string
	}{
		{"nil", nil, 0, ""},
		{"help", pflag.ErrHelp, 0, ""},
		{"usage", usagef("-t TOPIC is required"), 2, "danube-console produce: -t TOPIC is required\n"},
		{"failure", fmt.Errorf("after %d messages: %w", 3, errors.New("refused")), 1, "danube-console produce: after 3 messages: refused\n"},
		{"joined", errors.Join(errors.New("a"), errors.New("b")), 1, "danube-console produce: a; b\n"},
		{"hint", asUsage(&hintError{errors.New("insecure"), "add TLS"}), 2, "danube-console produce: insecure\n(add TLS)\n"},
		{"config file", fmt.Errorf("loading: %w", problems), 2, "danube-console produce: c.toml has 1 problem(s):\n  " + problems.problems[0].String() + "\n"},
		{"reported", errReported, 1, ""},
	} {
		var b bytes.Buffer
		if code := report(&b, "produce", tc.err); code != tc.code || b.String() != tc.want {
			t.Errorf("%s: status %d, printed %q; want %d, %q", tc.name, code, b.String(), tc.code, tc.want)
		}
	}
}
