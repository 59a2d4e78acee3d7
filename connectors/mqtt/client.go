package mqtt

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/eclipse/paho.mqtt.golang/packets"

	"github.com/danube-console/danube-console/connectors"
)

// ErrClosed is returned by Connect, Read and Write after Close.
var ErrClosed = errors.New("mqtt: closed")

// ErrNotConnected is returned (Retryable) when the connection to the MQTT broker is not open: before
// Connect, or after it was lost. It wraps connectors.ErrNotConnected, so that the runtime calls Connect
// again.
var ErrNotConnected = fmt.Errorf("mqtt: %w", connectors.ErrNotConnected)

// maxQuiesce is the longest Close waits for the acks already given and the DISCONNECT packet to be written
// (it returns as soon as they are; a loaded machine may need a while).
const maxQuiesce = 5 * time.Second

// disconnect sends DISCONNECT after what is queued (acks included) and closes the connection, waiting up
// to maxQuiesce or until ctx's deadline.
func disconnect(ctx context.Context, cl paho.Client) {
	q := maxQuiesce
	if dl, ok := ctx.Deadline(); ok {
		q = min(q, max(time.Until(dl), 10*time.Millisecond))
	}
	cl.Disconnect(uint(q.Milliseconds()))
}

// connSettings are the connection settings shared by the source and the sink.
type connSettings struct {
	broker         string
	clientID       string
	username       string
	password       string
	qos            byte
	keepAlive      time.Duration
	connectTimeout time.Duration
}

// parseConnSettings reads and checks the shared settings.
func parseConnSettings(cfg connectors.Config, res connectors.Resources) (connSettings, error) {
	cs := connSettings{
		broker:         cfg.String(keyBroker),
		clientID:       cfg.String(keyClientID),
		username:       cfg.String(keyUsername),
		password:       cfg.String(keyPassword),
		qos:            byte(cfg.Int(keyQoS)),
		keepAlive:      cfg.Duration(keyKeepAlive),
		connectTimeout: cfg.Duration(keyConnectTimeout),
	}
	u, err := url.Parse(cs.broker)
	switch {
	case err != nil:
		return cs, configError(keyBroker, fmt.Errorf("not a URL: %v", err))
	case u.Host == "":
		return cs, configError(keyBroker, fmt.Errorf("%q has no host: want e.g. tcp://host:1883", cs.broker))
	}
	switch u.Scheme {
	case "tcp", "mqtt", "ssl", "tls", "mqtts", "tcps", "ws", "wss":
	default:
		return cs, configError(keyBroker, fmt.Errorf("scheme %q is not one of tcp, ssl, ws, wss", u.Scheme))
	}
	if cs.password != "" && cs.username == "" {
		return cs, configError(keyPassword, errors.New("a password needs a username"))
	}
	if cs.clientID == "" {
		if res.Name != "" {
			cs.clientID = "danube-" + res.Name
		} else {
			var b [6]byte
			_, _ = rand.Read(b[:])
			cs.clientID = "danube-" + hex.EncodeToString(b[:])
		}
	}
	if len(cs.clientID) > 65535 || !utf8.ValidString(cs.clientID) {
		return cs, configError(keyClientID, errors.New("must be UTF-8 text of at most 65535 bytes"))
	}
	return cs, nil
}

// options returns paho options for these settings: no automatic reconnection (the runtime reconnects by
// calling Connect after a failure), no resumed subscriptions, and the broker's acknowledgement awaited by
// the caller through tokens.
func (cs connSettings) options() *paho.ClientOptions {
	o := paho.NewClientOptions().
		AddBroker(cs.broker).
		SetClientID(cs.clientID).
		SetKeepAlive(cs.keepAlive).
		SetPingTimeout(cs.keepAlive/2 + time.Second).
		SetConnectTimeout(cs.connectTimeout).
		SetAutoReconnect(false).
		SetConnectRetry(false).
		SetResumeSubs(false)
	if cs.username != "" {
		o.SetUsername(cs.username)
		o.SetPassword(cs.password)
	}
	return o
}

// connector owns a paho client and the goroutines that wait for abandoned connects.
type connector struct {
	cs  connSettings
	log *slog.Logger
	wg  sync.WaitGroup // background waits for connects abandoned by a cancelled ctx
}

// connect connects a new client built from opts and waits for the broker's CONNACK or ctx. A connect
// abandoned because of ctx is cleaned up in the background (Close waits for it).
func (c *connector) connect(ctx context.Context, opts *paho.ClientOptions) (paho.Client, error) {
	cl := paho.NewClient(opts)
	tok := cl.Connect()
	select {
	case <-tok.Done():
	case <-ctx.Done():
		c.wg.Add(1)
		go func() {
			defer c.wg.Done()
			<-tok.Done()
			cl.Disconnect(0)
		}()
		return nil, connectors.Retryable(fmt.Errorf("mqtt: connect to %s: %w", c.cs.broker, ctx.Err()))
	}
	if err := tok.Error(); err != nil {
		cl.Disconnect(0)
		return nil, classifyConnect(fmt.Errorf("mqtt: connect to %s as %q: %w", c.cs.broker, c.cs.clientID, err))
	}
	return cl, nil
}

// wait waits for a token or ctx.
func wait(ctx context.Context, tok paho.Token) error {
	select {
	case <-tok.Done():
		return tok.Error()
	case <-ctx.Done():
		return ctx.Err()
	}
}

// classifyConnect: a refused login, client id or protocol version is a configuration error; the rest
// (unreachable broker, server unavailable, timeouts) Retryable.
func classifyConnect(err error) error {
	for _, cfgErr := range []error{packets.ErrorRefusedBadUsernameOrPassword, packets.ErrorRefusedNotAuthorised,
		packets.ErrorRefusedIDRejected, packets.ErrorRefusedBadProtocolVersion} {
		if errors.Is(err, cfgErr) {
			return connectors.ConfigError(err)
		}
	}
	return connectors.Retryable(err)
}

// configError marks a problem with one setting as a configuration error.
func configError(key string, err error) error {
	return connectors.ConfigError(connectors.FieldError{Key: key, Err: err})
}

// checkFilter checks an MQTT topic filter: not empty, # only as the whole last level, + only as a whole
// level, valid UTF-8 without NUL.
func checkFilter(f string) error {
	if err := checkTopicText(f); err != nil {
		return err
	}
	levels := strings.Split(f, "/")
	for i, l := range levels {
		if strings.Contains(l, "#") && (l != "#" || i != len(levels)-1) {
			return fmt.Errorf("%q: # must be the whole last level", f)
		}
		if strings.Contains(l, "+") && l != "+" {
			return fmt.Errorf("%q: + must be a whole level", f)
		}
	}
	return nil
}

// checkTopicName checks a topic to publish to: like a filter, but without wildcards.
func checkTopicName(t string) error {
	if err := checkTopicText(t); err != nil {
		return err
	}
	if strings.ContainsAny(t, "+#") {
		return fmt.Errorf("topic %q contains a wildcard (+ or #)", t)
	}
	return nil
}

func checkTopicText(t string) error {
	switch {
	case t == "":
		return errors.New("empty topic")
	case len(t) > 65535:
		return errors.New("topic longer than 65535 bytes")
	case !utf8.ValidString(t) || strings.IndexByte(t, 0) >= 0:
		return fmt.Errorf("topic %q is not UTF-8 text without NUL", t)
	}
	return nil
}
