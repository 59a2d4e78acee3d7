package cli

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/pflag"

	"github.com/danube-console/danube-console/connectors"
)

// usageError is a mistake in the command line, found before the command starts anything: exit status 2.
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

// usagef returns a usage error with a formatted reason.
func usagef(format string, args ...any) error {
	return &usageError{fmt.Errorf(format, args...)}
}

// asUsage marks err (nil stays nil) as a usage error.
func asUsage(err error) error {
	if err == nil {
		return nil
	}
	return &usageError{err}
}

// hintError is an error followed by a line, in parentheses, that says how to fix it.
type hintError struct {
	err  error
	hint string
}

func (e *hintError) Error() string { return e.err.Error() }
func (e *hintError) Unwrap() error { return e.err }

// configFileError is a connector configuration file with problems: exit status 2, one problem a line.
type configFileError struct {
	path     string
	problems []connectors.Problem
}

func (e *configFileError) Error() string {
	return fmt.Sprintf("%s has %d problem(s)", e.path, len(e.problems))
}

// loadConnectors reads the connector configuration file at path; its problems come back as a
// *configFileError.
func loadConnectors(path string, env *connectors.Env) ([]connectors.InstanceConfig, error) {
	cfgs, err := connectors.LoadConfig(path, env)
	if ce := (*connectors.ConfigErrors)(nil); errors.As(err, &ce) {
		return nil, &configFileError{path: path, problems: ce.Problems}
	}
	return cfgs, err
}

// errReported is returned by a command that already printed why it failed: exit status 1, nothing more
// printed.
var errReported = errors.New("failed (reported above)")

// report prints err for command name and returns the exit status. It is the one place where commands
// print their errors: "danube-console NAME: reason" on one line (the lines of a joined error are joined with
// "; "), followed by a hint line for a *hintError, or by one indented line per problem for a
// configuration file's problems. The status is 0 for nil and pflag.ErrHelp (the help was printed), 2 for
// usage errors and configuration problems, and 1 otherwise.
func report(w io.Writer, name string, err error) int {
	switch {
	case err == nil, errors.Is(err, pflag.ErrHelp):
		return 0
	case errors.Is(err, errReported):
		return 1
	}
	if cf := (*configFileError)(nil); errors.As(err, &cf) {
		var b strings.Builder
		fmt.Fprintf(&b, "danube-console %s: %s:\n", name, cf)
		for _, p := range cf.problems {
			fmt.Fprintf(&b, "  %s\n", p)
		}
		io.WriteString(w, b.String())
		return 2
	}
	warn(w, name, err)
	if he := (*hintError)(nil); errors.As(err, &he) {
		fmt.Fprintf(w, "(%s)\n", he.hint)
	}
	if ue := (*usageError)(nil); errors.As(err, &ue) {
		return 2
	}
	return 1
}

// warn prints err for command name on one line, without ending the command.
func warn(w io.Writer, name string, err error) {
	fmt.Fprintf(w, "danube-console %s: %s\n", name, oneLine(err))
}

// oneLine joins the lines of an error (errors.Join puts each on its own line).
func oneLine(err error) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(err.Error(), "\n", "; ")), " ")
}
