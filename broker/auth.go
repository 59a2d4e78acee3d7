package broker

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/tap"
)

// Authentication: with Options.JWTSecret set, every call on both ports must carry
// "authorization: Bearer <JWT>", a token signed with HS256 under that secret whose exp has not passed. The
// answers are the real broker's: no header → Unauthenticated "Authentication credentials are missing"; a bad
// or expired token → Unauthenticated "Invalid token". Valid tokens are remembered for up to 30 s. Calls are
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

// NewToken mints an HS256 token for subject, valid for ttl, that a broker started with the same secret
// accepts.
func NewToken(secret []byte, subject string, ttl time.Duration) (string, error) {
	if len(secret) == 0 {
		return "", fmt.Errorf("%w: the JWT secret is empty", ErrInvalidOptions)
	}
	if subject == "" || ttl <= 0 {
		return "", fmt.Errorf("%w: a token needs a subject and a positive lifetime", ErrInvalidOptions)
	}
	now := time.Now()
	c := Claims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    TokenIssuer,
			Subject:   subject,
			IssuedAt:  jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(now.Add(ttl)),
		},
		PrincipalType: "user",
		PrincipalName: subject,
	}
	return jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(secret)
}

type authenticator struct {
	secret []byte

	mu    sync.Mutex
	valid map[string]time.Time // token → until when it is trusted
}

func newAuthenticator(secret []byte) *authenticator {
	return &authenticator{secret: secret, valid: make(map[string]time.Time)}
}

var (
	errNoCredentials = status.Error(codes.Unauthenticated, "Authentication credentials are missing")
	errInvalidToken  = status.Error(codes.Unauthenticated, "Invalid token")
)

// check authenticates the call ctx belongs to.
func (a *authenticator) check(ctx context.Context) error {
	md, _ := metadata.FromIncomingContext(ctx)
	return a.checkHeader(md)
}

// checkHeader authenticates a call by its header metadata. It is cheap for a remembered token and parses
// (one HMAC) otherwise.
func (a *authenticator) checkHeader(md metadata.MD) error {
	vals := md.Get("authorization")
	if len(vals) == 0 {
		return errNoCredentials
	}
	tok, ok := strings.CutPrefix(vals[0], "Bearer ")
	if !ok || tok == "" {
		return errNoCredentials
	}
	now := time.Now()
	a.mu.Lock()
	until, cached := a.valid[tok]
	a.mu.Unlock()
	if cached && now.Before(until) {
		return nil
	}
	var c Claims
	_, err := jwt.ParseWithClaims(tok, &c, func(*jwt.Token) (any, error) { return a.secret, nil },
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}), jwt.WithExpirationRequired(), jwt.WithTimeFunc(func() time.Time { return now }))
	if err != nil {
		return errInvalidToken
	}
	until = now.Add(tokenCacheTTL)
	if exp := c.ExpiresAt.Time; exp.Before(until) {
		until = exp
	}
	a.mu.Lock()
	if len(a.valid) >= maxCachedTokens {
		clear(a.valid)
	}
	a.valid[tok] = until
	a.mu.Unlock()
	return nil
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

// The interceptors check again what the tap already checked (a remembered token costs one map lookup): they
// cover transports that do not run tap handles, such as a grpc.Server served through ServeHTTP.

func (a *authenticator) unary(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
	if err := a.check(ctx); err != nil {
		return nil, err
	}
	return h(ctx, req)
}

func (a *authenticator) stream(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, h grpc.StreamHandler) error {
	if err := a.check(ss.Context()); err != nil {
		return err
	}
	return h(srv, ss)
}

// ErrInsecure is wrapped by New's error when Host reaches beyond loopback without both TLS and a JWT secret
// and AllowInsecure is not set.
var ErrInsecure = errors.New("listening beyond loopback without TLS and JWT authentication exposes every topic; " +
	"configure both, or allow it explicitly")
