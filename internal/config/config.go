// Package config reads the console's own configuration file, the clusters it knows by name, and keeps the
// state it remembers between runs (the last theme and cluster).
//
// The configuration file, $XDG_CONFIG_HOME/danube-console/config.toml (~/.config/danube-console/config.toml
// by default), is TOML and strict like the connector configuration: an unknown key, a value of the wrong
// type, a duplicate or missing name is an error naming the file, the line and the key.
//
//	default = "prod"            # the cluster used when no other is asked for (optional)
//
//	[[cluster]]
//	name = "prod"
//	service_url = "https://danube.example.com:6650"   # or only admin_url: the service URL is then its host, port 6650
//	admin_url = "https://danube.example.com:50051"    # default: the service URL's host, port 50051
//	metrics_urls = ["danube-1:9040", "danube-2:9040"] # the brokers' Prometheus endpoints (optional)
//	prometheus_url = "http://prometheus:9090"         # a Prometheus server scraping them (optional)
//	token_file = "~/.danube/prod.token"
//	tls_ca = "/etc/danube/ca.pem"
//	tls_cert = "/etc/danube/client.pem"               # with tls_key: mutual TLS
//	tls_key = "/etc/danube/client.key"
//	tls_domain = "danube.example.com"                 # the server name checked in the brokers' certificates
//	read_only = true                                   # open this cluster read-only
//
// Relative file paths are relative to the configuration file's directory; "~/" is the home directory.
//
// The state file, $XDG_STATE_HOME/danube-console/state.toml (~/.local/state/danube-console/state.toml by
// default), is written by the console only, atomically (a temporary file renamed over it).
package config

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/pelletier/go-toml/v2"

	"github.com/danube-console/danube-console/internal/tomlpos"
)

// Names of the clusters that are not in the configuration file: the embedded broker, the official admin
// tool's environment variables (DANUBE_ADMIN_*) and explicit connection flags. A configured cluster may not
// take them.
const (
	Embedded = "embedded"
	Env      = "env"
	Flags    = "flags"
)

// ErrInvalid is matched (errors.Is) by every problem found in a configuration file.
var ErrInvalid = errors.New("invalid console configuration")

// FileError is one problem of a configuration file, at a line and a key.
type FileError struct {
	Path string // the file
	Line int    // 1-based line of the offending key; 0 when not tied to a line
	Key  string // the dotted TOML key, e.g. "cluster.admin_url" (the line says which [[cluster]] table); "" when none
	Msg  string // what is wrong and what to do
}

// Error returns "path:line: key: problem".
func (e *FileError) Error() string {
	var b strings.Builder
	b.WriteString(e.Path)
	if e.Line > 0 {
		b.WriteString(":" + strconv.Itoa(e.Line))
	}
	b.WriteString(": ")
	if e.Key != "" {
		b.WriteString(e.Key + ": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Is reports that a FileError is an ErrInvalid.
func (e *FileError) Is(target error) bool { return target == ErrInvalid }

// Cluster is a cluster the console knows by name.
type Cluster struct {
	Name string
	// ServiceURL is the brokers' client URL; AdminURL their admin API. One of them is given in the file;
	// Load derives the other (the service URL from the admin URL's host on port 6650, the admin URL from the
	// service URL's host on port 50051), so both are set.
	ServiceURL string
	AdminURL   string
	// MetricsURLs are the brokers' Prometheus endpoints; PrometheusURL a Prometheus server scraping them.
	MetricsURLs   []string
	PrometheusURL string
	// TokenFile holds the bearer token; TLSCA, TLSCert and TLSKey are PEM files (absolute paths after Load);
	// TLSDomain is the server name the brokers' certificates are checked against.
	TokenFile string
	TLSCA     string
	TLSCert   string
	TLSKey    string
	TLSDomain string
	// ReadOnly opens the cluster with every action that changes state disabled.
	ReadOnly bool
	// Line is where the cluster's table starts in the file.
	Line int
}

// File is the console's configuration file.
type File struct {
	// Path is the file read (empty when there was none).
	Path string
	// Default names the cluster used when no other is asked for ("" when none).
	Default  string
	Clusters []Cluster
}

// Names returns the clusters' names, in the file's order.
func (f *File) Names() []string {
	out := make([]string, len(f.Clusters))
	for i, c := range f.Clusters {
		out[i] = c.Name
	}
	return out
}

// Cluster returns the cluster called name.
func (f *File) Cluster(name string) (Cluster, bool) {
	i := slices.IndexFunc(f.Clusters, func(c Cluster) bool { return c.Name == name })
	if i < 0 {
		return Cluster{}, false
	}
	return f.Clusters[i], true
}

// Default ports of a Danube cluster.
const (
	DefaultServicePort = 6650
	DefaultAdminPort   = 50051
)

// DefaultPath is where the configuration file is looked for: $XDG_CONFIG_HOME/danube-console/config.toml, or
// ~/.config/danube-console/config.toml.
func DefaultPath() (string, error) {
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("locating the configuration directory: %w", err)
	}
	return filepath.Join(dir, "danube-console", "config.toml"), nil
}

// Load reads and checks the configuration file at path. A file that does not exist yields an error matching
// fs.ErrNotExist (the caller decides whether that matters); a file with problems yields every problem, each
// a *FileError matching ErrInvalid, joined with errors.Join.
func Load(path string) (*File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading the console configuration: %w", err)
	}
	return Parse(path, data)
}

// clusterDoc is a [[cluster]] table as decoded.
type clusterDoc struct {
	Name          string   `toml:"name"`
	ServiceURL    string   `toml:"service_url"`
	AdminURL      string   `toml:"admin_url"`
	MetricsURLs   []string `toml:"metrics_urls"`
	PrometheusURL string   `toml:"prometheus_url"`
	TokenFile     string   `toml:"token_file"`
	TLSCA         string   `toml:"tls_ca"`
	TLSCert       string   `toml:"tls_cert"`
	TLSKey        string   `toml:"tls_key"`
	TLSDomain     string   `toml:"tls_domain"`
	ReadOnly      bool     `toml:"read_only"`
}

var validName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)

// Parse is Load on data read from the file at path (used in the errors and to resolve relative paths).
func Parse(path string, data []byte) (*File, error) {
	var doc struct {
		Default string       `toml:"default"`
		Cluster []clusterDoc `toml:"cluster"`
	}
	pos, err := tomlpos.New(data)
	if se, ok := errors.AsType[*tomlpos.SyntaxError](err); ok {
		return nil, &FileError{Path: path, Line: se.Line, Msg: "TOML syntax: " + se.Error()}
	}
	if err := toml.NewDecoder(bytes.NewReader(data)).DisallowUnknownFields().Decode(&doc); err != nil {
		return nil, decodeError(path, err)
	}
	p := &parser{path: path, dir: filepath.Dir(path), pos: pos}
	f := &File{Path: path, Default: doc.Default}
	seen := map[string]int{}
	for i, d := range doc.Cluster {
		c, ok := p.cluster(i, d)
		if !ok {
			continue
		}
		if first, dup := seen[c.Name]; dup {
			p.fail([]string{"cluster", strconv.Itoa(i), "name"}, "%q is already the name of the cluster at line %d; names are unique", c.Name, first)
			continue
		}
		seen[c.Name] = c.Line
		f.Clusters = append(f.Clusters, c)
	}
	if f.Default != "" && !slices.ContainsFunc(doc.Cluster, func(d clusterDoc) bool { return d.Name == f.Default }) &&
		f.Default != Embedded {
		p.fail([]string{"default"}, "no cluster is called %q (clusters: %s)", f.Default, orNone(f.Names()))
	}
	if len(p.errs) > 0 {
		slices.SortStableFunc(p.errs, func(a, b error) int {
			return cmp.Compare(a.(*FileError).Line, b.(*FileError).Line)
		})
		return nil, errors.Join(p.errs...)
	}
	return f, nil
}

// parser collects the problems of a file.
type parser struct {
	path, dir string
	pos       tomlpos.Index
	errs      []error
}

func (p *parser) fail(key []string, format string, args ...any) {
	// The key is shown as the decoder shows it, without the index of the [[cluster]] table: the line
	// says which one.
	shown := slices.DeleteFunc(slices.Clone(key), func(k string) bool { _, err := strconv.Atoi(k); return err == nil })
	p.errs = append(p.errs, &FileError{Path: p.path, Line: p.pos.Nearest(key...), Key: strings.Join(shown, "."),
		Msg: fmt.Sprintf(format, args...)})
}

// cluster checks the i-th [[cluster]] table; ok is false when it has problems (recorded).
func (p *parser) cluster(i int, d clusterDoc) (Cluster, bool) {
	n := len(p.errs)
	at := []string{"cluster", strconv.Itoa(i)}
	key := func(k string) []string { return append(slices.Clone(at), k) }
	c := Cluster{Name: strings.TrimSpace(d.Name), MetricsURLs: d.MetricsURLs, TLSDomain: d.TLSDomain,
		ReadOnly: d.ReadOnly, Line: p.pos.Line(at...)}
	switch {
	case c.Name == "":
		p.fail(key("name"), "missing: every [[cluster]] needs a name")
	case !validName.MatchString(c.Name):
		p.fail(key("name"), "%q: use letters, digits, '.', '_' and '-'", c.Name)
	case c.Name == Embedded || c.Name == Env || c.Name == Flags:
		p.fail(key("name"), "%q is reserved (%s, %s and %s name the embedded broker, the DANUBE_ADMIN_* variables and explicit flags)",
			c.Name, Embedded, Env, Flags)
	}
	var err error
	urlsOK := true
	for _, u := range []struct{ k, v string }{{"service_url", d.ServiceURL}, {"admin_url", d.AdminURL}} {
		if u.v != "" {
			if err := checkURL(u.v); err != nil {
				p.fail(key(u.k), "%v", err)
				urlsOK = false
			}
		}
	}
	if c.ServiceURL, c.AdminURL, err = Endpoints(d.ServiceURL, d.AdminURL); err != nil && urlsOK {
		p.fail(key("name"), "%v", err) // neither is given
	}
	for j, u := range d.MetricsURLs {
		if err := checkURL(u); err != nil {
			p.fail(append(key("metrics_urls"), strconv.Itoa(j)), "%v", err)
		}
	}
	if d.PrometheusURL != "" {
		if err := checkURL(d.PrometheusURL); err != nil {
			p.fail(key("prometheus_url"), "%v", err)
		}
		c.PrometheusURL = d.PrometheusURL
	}
	if (d.TLSCert == "") != (d.TLSKey == "") {
		p.fail(key(pick(d.TLSCert == "", "tls_key", "tls_cert")), "tls_cert and tls_key go together (mutual TLS)")
	}
	for _, f := range []struct {
		k   string
		v   string
		dst *string
	}{{"token_file", d.TokenFile, &c.TokenFile}, {"tls_ca", d.TLSCA, &c.TLSCA}, {"tls_cert", d.TLSCert, &c.TLSCert}, {"tls_key", d.TLSKey, &c.TLSKey}} {
		if f.v != "" {
			if *f.dst, err = p.file(f.v); err != nil {
				p.fail(key(f.k), "%v", err)
			}
		}
	}
	return c, len(p.errs) == n
}

// file resolves a file path of the configuration: "~/" is the home directory, a relative path is relative to
// the file's directory.
func (p *parser) file(v string) (string, error) {
	if rest, ok := strings.CutPrefix(v, "~/"); ok {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("%q: %w", v, err)
		}
		return filepath.Join(home, rest), nil
	}
	if filepath.IsAbs(v) {
		return v, nil
	}
	return filepath.Join(p.dir, v), nil
}

// Endpoints completes a cluster's service and admin URLs from the one given: the service URL is the admin
// URL's host on port 6650, the admin URL the service URL's host on port 50051 (with the same scheme). It is an
// error when neither is given or one is not a URL (http://host:port, https://host:port or host:port).
func Endpoints(serviceURL, adminURL string) (string, string, error) {
	if serviceURL == "" && adminURL == "" {
		return "", "", errors.New("give service_url or admin_url (or both)")
	}
	for _, u := range []string{serviceURL, adminURL} {
		if u != "" {
			if err := checkURL(u); err != nil {
				return "", "", err
			}
		}
	}
	if serviceURL == "" {
		serviceURL = withPort(adminURL, DefaultServicePort)
	}
	if adminURL == "" {
		adminURL = withPort(serviceURL, DefaultAdminPort)
	}
	return serviceURL, adminURL, nil
}

// checkURL accepts http://host[:port][/path], https://… or host:port.
func checkURL(s string) error {
	if strings.Contains(s, "://") {
		u, err := url.Parse(s)
		switch {
		case err != nil:
			return fmt.Errorf("%q is not a URL: %w", s, err)
		case u.Scheme != "http" && u.Scheme != "https":
			return fmt.Errorf("%q: the scheme must be http or https", s)
		case u.Host == "":
			return fmt.Errorf("%q has no host", s)
		}
		return nil
	}
	host, port, err := net.SplitHostPort(s)
	if err != nil || host == "" {
		return fmt.Errorf("%q: give http://host:port, https://host:port or host:port", s)
	}
	if n, err := strconv.Atoi(port); err != nil || n <= 0 || n > 65535 {
		return fmt.Errorf("%q: the port must be a number from 1 to 65535", s)
	}
	return nil
}

// withPort returns the URL s (checked) with its port replaced by port, keeping its scheme ("http" for a bare
// host:port) and dropping any path.
func withPort(s string, port int) string {
	scheme, host := "http", s
	if strings.Contains(s, "://") {
		u, _ := url.Parse(s)
		scheme, host = u.Scheme, u.Hostname()
	} else if h, _, err := net.SplitHostPort(s); err == nil {
		host = h
	}
	return scheme + "://" + net.JoinHostPort(host, strconv.Itoa(port))
}

// decodeError turns the decoder's errors into FileErrors: unknown keys, values of the wrong type.
func decodeError(path string, err error) error {
	if strict, ok := errors.AsType[*toml.StrictMissingError](err); ok {
		all := make([]error, 0, len(strict.Errors))
		for i := range strict.Errors {
			e := &strict.Errors[i]
			line, _ := e.Position()
			all = append(all, &FileError{Path: path, Line: line, Key: strings.Join(e.Key(), "."),
				Msg: "unknown key; the file has default and [[cluster]] tables with name, service_url, admin_url, metrics_urls, " +
					"prometheus_url, token_file, tls_ca, tls_cert, tls_key, tls_domain and read_only"})
		}
		return errors.Join(all...)
	}
	if de, ok := errors.AsType[*toml.DecodeError](err); ok {
		line, _ := de.Position()
		msg := strings.TrimPrefix(de.Error(), "toml: ")
		if rest, ok := strings.CutPrefix(msg, "cannot decode TOML "); ok {
			got, want, _ := strings.Cut(rest, " into ")
			msg = fmt.Sprintf("expected %s, got a TOML %s", goKind(want), got)
		}
		return &FileError{Path: path, Line: line, Key: strings.Join(de.Key(), "."), Msg: msg}
	}
	return &FileError{Path: path, Msg: err.Error()}
}

// goKind names the Go type the decoder wanted in the user's words.
func goKind(t string) string {
	switch {
	case strings.Contains(t, "[]string"):
		return "an array of strings"
	case strings.Contains(t, "[]config.clusterDoc"):
		return "[[cluster]] tables"
	case strings.Contains(t, "string"):
		return "a string"
	case strings.Contains(t, "bool"):
		return "true or false"
	}
	return t
}

func orNone(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

func pick[T any](c bool, a, b T) T {
	if c {
		return a
	}
	return b
}
