package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/pflag"

	"github.com/danube-console/danube-console/client"
)

// tokenEnv names the environment variable the client commands read a token from when --token is not given.
const tokenEnv = "DANUBE_TOKEN"

// ConnConfig is how a client command reaches the broker: the connection flags every client command shares.
type ConnConfig struct {
	ServiceURL    string
	Token         string
	TokenFile     string
	TLSCA         string
	TLSCert       string
	TLSKey        string
	TLSSkipVerify bool
}

func (c *ConnConfig) register(fs *pflag.FlagSet) {
	fs.StringVar(&c.ServiceURL, "service-url", client.DefaultServiceURL, "broker URL (http://host:port, https://host:port or host:port)")
	fs.StringVar(&c.Token, "token", "", "bearer token for a broker with authentication (default $"+tokenEnv+")")
	fs.StringVar(&c.TokenFile, "token-file", "", "read the bearer token from this file (re-read when it changes)")
	fs.StringVar(&c.TLSCA, "tls-ca", "", "trust this PEM CA for the broker's certificate (TLS)")
	fs.StringVar(&c.TLSCert, "tls-cert", "", "client certificate for mutual TLS (PEM, with --tls-key)")
	fs.StringVar(&c.TLSKey, "tls-key", "", "private key of --tls-cert")
	fs.BoolVar(&c.TLSSkipVerify, "tls-skip-verify", false, "use TLS without checking the broker's certificate (development only)")
}

// check reports connection flags that cannot go together (a usage error, found before connecting).
func (c *ConnConfig) check() error {
	switch {
	case c.Token != "" && c.TokenFile != "":
		return errors.New("--token and --token-file cannot be used together")
	case (c.TLSCert == "") != (c.TLSKey == ""):
		return errors.New("--tls-cert and --tls-key go together")
	}
	return nil
}

// options turns the configuration into client options; without --token nor --token-file, the token comes
// from $DANUBE_TOKEN.
func (c *ConnConfig) options() ([]client.Option, error) {
	if err := c.check(); err != nil {
		return nil, err
	}
	var opts []client.Option
	token := c.Token
	if token == "" && c.TokenFile == "" {
		token = os.Getenv(tokenEnv)
	}
	switch {
	case token != "":
		opts = append(opts, client.WithToken(token))
	case c.TokenFile != "":
		opts = append(opts, client.WithTokenFile(c.TokenFile))
	}
	if c.TLSCA != "" {
		opts = append(opts, client.WithCAFile(c.TLSCA))
	}
	if c.TLSCert != "" {
		opts = append(opts, client.WithClientCert(c.TLSCert, c.TLSKey))
	}
	if c.TLSSkipVerify {
		opts = append(opts, client.WithInsecureSkipVerify())
	}
	return opts, nil
}

// connect opens a client with the configuration's options plus extra.
func (c *ConnConfig) connect(ctx context.Context, extra ...client.Option) (*client.Client, error) {
	opts, err := c.options()
	if err != nil {
		return nil, err
	}
	return client.Connect(ctx, c.ServiceURL, append(opts, extra...)...)
}

// newFlagSet returns the flag set of a command: parse errors come back to the caller, and --help prints
// the usage lines, an empty line, the description (ending in "Flags:") and the flags, all to stderr.
func newFlagSet(name string, stderr io.Writer, usage []string, description ...string) *pflag.FlagSet {
	fs := pflag.NewFlagSet(name, pflag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		for _, l := range usage {
			fmt.Fprintln(stderr, l)
		}
		fmt.Fprintln(stderr)
		for _, l := range description {
			fmt.Fprintln(stderr, l)
		}
		fs.PrintDefaults()
	}
	return fs
}

// parseFlags parses args into fs and checks the connection flags (conn may be nil). It returns
// pflag.ErrHelp after --help and a usage error for bad flags.
func parseFlags(fs *pflag.FlagSet, args []string, conn *ConnConfig) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return err
		}
		return asUsage(err)
	}
	if conn != nil {
		return asUsage(conn.check())
	}
	return nil
}
