package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/pflag"

	"github.com/danube-console/danube-console/client"
)

// tokenEnv names the environment variable the client commands read a token from when --token is not given.
const tokenEnv = "DANUBE_TOKEN"

// clientFlags are the connection flags every client command shares.
type clientFlags struct {
	serviceURL    string
	token         string
	tokenFile     string
	tlsCA         string
	tlsCert       string
	tlsKey        string
	tlsSkipVerify bool
}

func (f *clientFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&f.serviceURL, "service-url", client.DefaultServiceURL, "broker URL (http://host:port, https://host:port or host:port)")
	fs.StringVar(&f.token, "token", "", "bearer token for a broker with authentication (default $"+tokenEnv+")")
	fs.StringVar(&f.tokenFile, "token-file", "", "read the bearer token from this file (re-read when it changes)")
	fs.StringVar(&f.tlsCA, "tls-ca", "", "trust this PEM CA for the broker's certificate (TLS)")
	fs.StringVar(&f.tlsCert, "tls-cert", "", "client certificate for mutual TLS (PEM, with --tls-key)")
	fs.StringVar(&f.tlsKey, "tls-key", "", "private key of --tls-cert")
	fs.BoolVar(&f.tlsSkipVerify, "tls-skip-verify", false, "use TLS without checking the broker's certificate (development only)")
}

// check reports connection flags that cannot go together (a usage error, found before connecting).
func (f *clientFlags) check() error {
	switch {
	case f.token != "" && f.tokenFile != "":
		return errors.New("--token and --token-file cannot be used together")
	case (f.tlsCert == "") != (f.tlsKey == ""):
		return errors.New("--tls-cert and --tls-key go together")
	}
	return nil
}

// options turns the flags into client options.
func (f *clientFlags) options() ([]client.Option, error) {
	if err := f.check(); err != nil {
		return nil, err
	}
	var opts []client.Option
	token := f.token
	if token == "" && f.tokenFile == "" {
		token = os.Getenv(tokenEnv)
	}
	switch {
	case token != "":
		opts = append(opts, client.WithToken(token))
	case f.tokenFile != "":
		opts = append(opts, client.WithTokenFile(f.tokenFile))
	}
	if f.tlsCA != "" {
		opts = append(opts, client.WithCAFile(f.tlsCA))
	}
	if f.tlsCert != "" {
		opts = append(opts, client.WithClientCert(f.tlsCert, f.tlsKey))
	}
	if f.tlsSkipVerify {
		opts = append(opts, client.WithInsecureSkipVerify())
	}
	return opts, nil
}

// connect opens a client with the flags' options plus extra.
func (f *clientFlags) connect(ctx context.Context, extra ...client.Option) (*client.Client, error) {
	opts, err := f.options()
	if err != nil {
		return nil, err
	}
	return client.Connect(ctx, f.serviceURL, append(opts, extra...)...)
}

// parseFlags parses a command's flags and checks its connection flags (conn may be nil). It returns ok
// false with the exit code when the command must stop: 0 after --help, 2 for bad usage (the reason is
// printed on one line).
func parseFlags(fs *pflag.FlagSet, args []string, stderr io.Writer, name string, conn *clientFlags) (ok bool, code int) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return false, 0
		}
		fmt.Fprintf(stderr, "danube-console %s: %s\n", name, oneLine(err))
		return false, 2
	}
	if conn != nil {
		if err := conn.check(); err != nil {
			fmt.Fprintf(stderr, "danube-console %s: %s\n", name, oneLine(err))
			return false, 2
		}
	}
	return true, 0
}

// fail prints err on one line for command name and returns the exit code 1.
func fail(stderr io.Writer, name string, err error) int {
	fmt.Fprintf(stderr, "danube-console %s: %s\n", name, oneLine(err))
	return 1
}

// usageError prints a usage mistake and returns the exit code 2.
func usageError(stderr io.Writer, name, format string, args ...any) int {
	fmt.Fprintf(stderr, "danube-console %s: %s\n", name, fmt.Sprintf(format, args...))
	return 2
}

// oneLine joins the lines of an error (errors.Join puts each on its own line).
func oneLine(err error) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(err.Error(), "\n", "; ")), " ")
}
