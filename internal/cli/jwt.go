package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"time"
	"unicode"

	"github.com/spf13/pflag"

	"github.com/danube-console/danube-console/broker"
)

// jwtSecretEnv names the environment variable that can hold the JWT secret instead of --jwt-secret.
const jwtSecretEnv = "DANUBE_JWT_SECRET"

// maxSecretFile is the largest --jwt-secret-file read: a larger file is not a secret but a mistake.
const maxSecretFile = 64 << 10

// jwtSecretFlags are the forms the broker's JWT secret can be given in, shared by every command that takes
// it ("broker" and "broker token"): --jwt-secret S, --jwt-secret-file PATH, or $DANUBE_JWT_SECRET. A
// value on the command line can be read by every user of the machine in the process list, so the help
// and the docs steer towards the file or the variable.
type jwtSecretFlags struct {
	value, file string
}

// register adds --jwt-secret and --jwt-secret-file to fs; what says what the secret is for.
func (f *jwtSecretFlags) register(fs *pflag.FlagSet, what string) {
	fs.StringVar(&f.value, "jwt-secret", "", what+"; visible to other users in the process list, so prefer --jwt-secret-file or $"+jwtSecretEnv)
	fs.StringVar(&f.file, "jwt-secret-file", "", "read the JWT secret from this file (trailing whitespace, such as a final newline, is ignored)")
}

// secret returns the secret from --jwt-secret, from the file --jwt-secret-file names, or else from
// $DANUBE_JWT_SECRET (read with getenv); "" when none of them gives one. The flags come from fs, which
// must have been parsed after register. Giving both flags, a missing, unreadable, empty or oversized file
// are errors naming the flag and the path.
func (f *jwtSecretFlags) secret(fs *pflag.FlagSet, getenv func(string) string) (string, error) {
	fileGiven := fs.Changed("jwt-secret-file")
	switch {
	case fs.Changed("jwt-secret") && fileGiven:
		return "", errors.New("--jwt-secret and --jwt-secret-file cannot be used together")
	case fileGiven:
		return readSecretFile(f.file)
	case f.value != "":
		return f.value, nil
	}
	return getenv(jwtSecretEnv), nil
}

// readSecretFile reads a secret from path, without its trailing whitespace.
func readSecretFile(path string) (string, error) {
	if path == "" {
		return "", errors.New("--jwt-secret-file needs the path of a file holding the secret")
	}
	fail := func(err error) (string, error) {
		// The flag and the path say what the *fs.PathError would repeat.
		if pe := (*fs.PathError)(nil); errors.As(err, &pe) {
			err = pe.Err
		}
		return "", fmt.Errorf("--jwt-secret-file %s: %w", path, err)
	}
	file, err := os.Open(path)
	if err != nil {
		return fail(err)
	}
	defer file.Close()
	data, err := io.ReadAll(io.LimitReader(file, maxSecretFile+1))
	if err != nil {
		return fail(err)
	}
	if len(data) > maxSecretFile {
		return fail(fmt.Errorf("larger than %d KiB: not a secret", maxSecretFile>>10))
	}
	secret := strings.TrimRightFunc(string(data), unicode.IsSpace)
	if secret == "" {
		return fail(errors.New("the file is empty"))
	}
	return secret, nil
}

// TokenConfig is what "broker token" mints a token with.
type TokenConfig struct {
	Subject string
	// Type is the principal type bindings name the subject with: user (the default), service_account or
	// broker_internal.
	Type   string
	TTL    time.Duration
	Secret string
}

// ParseToken parses the flags of "broker token"; the secret is read from its file or the environment here.
// The help goes to stderr.
func ParseToken(args []string, stderr io.Writer) (TokenConfig, error) {
	var cfg TokenConfig
	var jwtFlags jwtSecretFlags
	fs := newFlagSet("broker token", stderr,
		[]string{"Usage: danube-console broker token --subject NAME [--type user] [--ttl 1h] [--jwt-secret-file PATH]"},
		"Prints a bearer token that a broker started with the same JWT secret accepts, for the principal",
		"TYPE:NAME that the broker's role bindings (or --super-admin) must allow. The secret is read",
		fmt.Sprintf("from --jwt-secret-file, --jwt-secret or $%s. Flags:", jwtSecretEnv))
	fs.StringVar(&cfg.Subject, "subject", "", "who the token is for (required): its sub and principal_name")
	fs.StringVar(&cfg.Type, "type", broker.PrincipalUser, "principal type: user, service_account or broker_internal (allowed everything)")
	fs.DurationVar(&cfg.TTL, "ttl", time.Hour, "how long the token is valid")
	jwtFlags.register(fs, "the broker's JWT secret")
	if err := parseFlags(fs, args, nil); err != nil {
		return cfg, err
	}
	if fs.NArg() > 0 {
		return cfg, usagef("unexpected argument %q", fs.Arg(0))
	}
	secret, err := jwtFlags.secret(fs, os.Getenv)
	if err != nil {
		return cfg, asUsage(err)
	}
	if cfg.Subject == "" || secret == "" {
		return cfg, usagef("--subject and a secret (--jwt-secret-file, $%s or --jwt-secret) are required", jwtSecretEnv)
	}
	switch cfg.Type {
	case broker.PrincipalUser, broker.PrincipalServiceAccount, broker.PrincipalBrokerInternal:
	default:
		return cfg, usagef("--type %q: use user, service_account or broker_internal", cfg.Type)
	}
	cfg.Secret = secret
	return cfg, nil
}

// RunToken prints a JWT for the configuration's secret, principal type and subject on s.Out; an empty Type
// means a user.
func RunToken(_ context.Context, cfg TokenConfig, s Streams) error {
	if cfg.Type == "" {
		cfg.Type = broker.PrincipalUser
	}
	tok, err := broker.NewPrincipalToken([]byte(cfg.Secret), cfg.Type, cfg.Subject, cfg.TTL)
	if err != nil {
		return asUsage(err)
	}
	fmt.Fprintln(s.Out, tok)
	return nil
}
