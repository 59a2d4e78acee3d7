package broker

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	grpcpeer "google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/tap"
)

// Authentication: with Options.JWTSecret set, every call on both ports must carry
// "authorization: Bearer <JWT>", a token signed with HS256 under that secret whose exp has not passed. The
// answers are the real broker's: no header → Unauthenticated "Authentication credentials are missing"; a bad
// or expired token → Unauthenticated "Invalid token". Valid tokens are remembered for up to 30 s, with the
// principal they name (Claims.principal), which authorization (authz.go) checks bindings for. Calls are
// checked as their headers arrive (authenticator.tap), before the request message is read.

// TokenIssuer is the iss claim of the tokens NewToken mints.
const TokenIssuer = "danube-console"

// tokenCacheTTL is how long a validated token is trusted without checking it again (the real broker's 30 s).
const tokenCacheTTL = 30 * time.Second

// maxCachedTokens bounds the cache of validated tokens.
const maxCachedTokens = 10000

// Claims are the claims of a Danube token: the registered ones plus the principal.
type Claims struct {
	jwt.RegisteredClaims
	// PrincipalType is "user", "service_account" or "broker_internal".
	PrincipalType string `json:"principal_type,omitempty"`
	// PrincipalName names the principal.
	PrincipalName string `json:"principal_name,omitempty"`
}

// NewToken mints an HS256 token for the user subject, valid for ttl, that a broker started with the same
// secret accepts. It is NewPrincipalToken with PrincipalUser.
func NewToken(secret []byte, subject string, ttl time.Duration) (string, error) {
	return NewPrincipalToken(secret, PrincipalUser, subject, ttl)
}

// NewPrincipalToken mints an HS256 token, valid for ttl, for the principal of type principalType
// (PrincipalUser, PrincipalServiceAccount or PrincipalBrokerInternal) named subject: sub and principal_name
// are both subject, as the real danube-admin's tokens have them. Bindings name the principal by that type
// and name; a broker_internal token is allowed everything, like the real broker's own.
func NewPrincipalToken(secret []byte, principalType, subject string, ttl time.Duration) (string, error) {
	if len(secret) == 0 {
		return "", fmt.Errorf("%w: the JWT secret is empty", ErrInvalidOptions)
	}
	if subject == "" || ttl <= 0 {
		return "", fmt.Errorf("%w: a token needs a subject and a positive lifetime", ErrInvalidOptions)
	}
	switch principalType {
	case PrincipalUser, PrincipalServiceAccount, PrincipalBrokerInternal:
	default:
		return "", fmt.Errorf("%w: principal type %q: use %s, %s or %s", ErrInvalidOptions, principalType,
			PrincipalUser, PrincipalServiceAccount, PrincipalBrokerInternal)
	}
	now := time.Now()
	c := Claims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    TokenIssuer,
			Subject:   subject,
			IssuedAt:  jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(now.Add(ttl)),
		},
		PrincipalType: principalType,
		PrincipalName: subject,
	}
	return jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(secret)
}

// principal is who the token's claims name (authn.rs::principal_from_claims): principal_type "user" is a
// user, "broker_internal" the broker itself, anything else a service account; the name is principal_name.
// Tokens without those claims (minted by other tools) are the user named by sub.
func (c *Claims) principal() principal {
	name := c.PrincipalName
	if name == "" {
		name = c.Subject
	}
	switch c.PrincipalType {
	case PrincipalUser, "":
		return principal{PrincipalUser, name}
	case PrincipalBrokerInternal:
		return principal{PrincipalBrokerInternal, name}
	}
	return principal{PrincipalServiceAccount, name}
}

type authenticator struct {
	secret []byte

	mu    sync.Mutex
	valid map[string]validToken // token → who it names, until when it is trusted
}

type validToken struct {
	until time.Time
	who   principal
}

func newAuthenticator(secret []byte) *authenticator {
	return &authenticator{secret: secret, valid: make(map[string]validToken)}
}

var (
	errNoCredentials = status.Error(codes.Unauthenticated, "Authentication credentials are missing")
	errInvalidToken  = status.Error(codes.Unauthenticated, "Invalid token")
)

// principal authenticates the call ctx belongs to and returns who it comes from.
func (a *authenticator) principal(ctx context.Context) (principal, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	return a.authenticate(md)
}

// checkHeader authenticates a call by its header metadata.
func (a *authenticator) checkHeader(md metadata.MD) error {
	_, err := a.authenticate(md)
	return err
}

// authenticate checks a call's token and returns the principal it names. It is cheap for a remembered
// token and parses (one HMAC) otherwise.
func (a *authenticator) authenticate(md metadata.MD) (principal, error) {
	vals := md.Get("authorization")
	if len(vals) == 0 {
		return principal{}, errNoCredentials
	}
	tok, ok := strings.CutPrefix(vals[0], "Bearer ")
	if !ok || tok == "" {
		return principal{}, errNoCredentials
	}
	now := time.Now()
	a.mu.Lock()
	v, cached := a.valid[tok]
	a.mu.Unlock()
	if cached && now.Before(v.until) {
		return v.who, nil
	}
	var c Claims
	_, err := jwt.ParseWithClaims(tok, &c, func(*jwt.Token) (any, error) { return a.secret, nil },
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}), jwt.WithExpirationRequired(), jwt.WithTimeFunc(func() time.Time { return now }))
	if err != nil {
		return principal{}, errInvalidToken
	}
	v = validToken{until: now.Add(tokenCacheTTL), who: c.principal()}
	if v.who.name == "" {
		return principal{}, errInvalidToken // a token naming nobody cannot be bound to anything
	}
	if exp := c.ExpiresAt.Time; exp.Before(v.until) {
		v.until = exp
	}
	a.mu.Lock()
	if len(a.valid) >= maxCachedTokens {
		clear(a.valid)
	}
	a.valid[tok] = v
	a.mu.Unlock()
	return v.who, nil
}

// certPrincipal is the caller of a broker that authenticates by client certificate (mutual TLS, without a
// JWT secret): the user named by the common name of its verified certificate (the whole subject when the
// certificate has no common name). The TLS handshake has already refused callers without one.
func certPrincipal(ctx context.Context) (principal, error) {
	p, ok := grpcpeer.FromContext(ctx)
	if !ok {
		return principal{}, errNoCredentials
	}
	info, ok := p.AuthInfo.(credentials.TLSInfo)
	if !ok || len(info.State.VerifiedChains) == 0 || len(info.State.VerifiedChains[0]) == 0 {
		return principal{}, errNoCredentials
	}
	subj := info.State.VerifiedChains[0][0].Subject
	name := subj.CommonName
	if name == "" {
		name = subj.String()
	}
	return principal{PrincipalUser, name}, nil
}

// tap refuses a call without valid credentials as its headers arrive, before its request message is read:
// an unauthenticated client cannot make the broker read, let alone hold, a large message. It runs in the
// connection's reader goroutine (see grpc.InTapHandle), which the check does not block for long.
func (a *authenticator) tap(ctx context.Context, info *tap.Info) (context.Context, error) {
	if err := a.checkHeader(info.Header); err != nil {
		return nil, err
	}
	return ctx, nil
}

// The interceptors (Server.guardUnary, guardStream) check again what the tap already checked (a remembered
// token costs one map lookup) to learn the principal; they also cover transports that do not run tap
// handles, such as a grpc.Server served through ServeHTTP.

// ErrInsecure is wrapped by New's error when Host reaches beyond loopback without both TLS and a JWT secret
// and AllowInsecure is not set.
var ErrInsecure = errors.New("listening beyond loopback without TLS and JWT authentication exposes every topic; " +
	"configure both, or allow it explicitly")
