package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"hash"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// authenticator checks a request's credentials before its body is read. check returns "" and a nil
// bodyCheck when the headers alone prove the caller; "" and a bodyCheck when the body must be checked too
// (the body is then written to it as it is read); otherwise a short reason for the 401 reply (never the
// expected value).
type authenticator interface {
	check(r *http.Request) (bodyCheck, string)
}

// bodyCheck checks credentials that depend on the body. The body is written to it as it is read (Write
// never fails), then verify returns "" when they are good, otherwise a short reason for the 401 reply.
// It needs the same small memory whatever the body's size.
type bodyCheck interface {
	io.Writer
	verify() string
}

func newAuthenticator(s settings, now func() time.Time) authenticator {
	switch s.auth {
	case AuthAPIKey:
		return apiKeyAuth{header: s.apiKeyHeader, key: []byte(s.apiKey)}
	case AuthHMAC:
		return hmacAuth{header: s.hmacHeader, secret: []byte(s.hmacSecret)}
	case AuthJWT:
		return &jwtAuth{secret: []byte(s.jwtSecret), parser: jwt.NewParser(
			jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
			jwt.WithExpirationRequired(),
			jwt.WithTimeFunc(now),
		)}
	}
	return noAuth{}
}

type noAuth struct{}

func (noAuth) check(*http.Request) (bodyCheck, string) { return nil, "" }

// apiKeyAuth compares a header with the key in constant time.
type apiKeyAuth struct {
	header string
	key    []byte
}

func (a apiKeyAuth) check(r *http.Request) (bodyCheck, string) {
	got := r.Header.Get(a.header)
	if got == "" {
		return nil, "missing API key"
	}
	if !hmac.Equal([]byte(got), a.key) {
		return nil, "invalid API key"
	}
	return nil, ""
}

// hmacAuth checks an HMAC-SHA256 signature of the raw body, sent as "sha256=<hex>" or "<hex>": a missing
// or malformed signature is refused before the body is read, and the MAC is computed as the body arrives.
type hmacAuth struct {
	header string
	secret []byte
}

func (a hmacAuth) check(r *http.Request) (bodyCheck, string) {
	sig := strings.TrimSpace(r.Header.Get(a.header))
	if sig == "" {
		return nil, "missing signature"
	}
	sig = strings.TrimPrefix(sig, "sha256=")
	got, err := hex.DecodeString(sig)
	if err != nil || len(got) != sha256.Size {
		return nil, "malformed signature"
	}
	return &hmacCheck{Hash: hmac.New(sha256.New, a.secret), want: got}, ""
}

// hmacCheck is the running MAC of one request's body and the signature it must match.
type hmacCheck struct {
	hash.Hash
	want []byte
}

func (c *hmacCheck) verify() string {
	if !hmac.Equal(c.want, c.Sum(nil)) {
		return "invalid signature"
	}
	return ""
}

// jwtAuth checks an HS256 bearer token and its exp claim.
type jwtAuth struct {
	secret []byte
	parser *jwt.Parser
}

func (a *jwtAuth) check(r *http.Request) (bodyCheck, string) {
	return nil, a.reason(r)
}

func (a *jwtAuth) reason(r *http.Request) string {
	h := r.Header.Get("Authorization")
	scheme, token, ok := strings.Cut(h, " ")
	if h == "" || !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
		return "missing bearer token"
	}
	_, err := a.parser.Parse(strings.TrimSpace(token), func(*jwt.Token) (any, error) { return a.secret, nil })
	switch {
	case err == nil:
		return ""
	case errors.Is(err, jwt.ErrTokenExpired):
		return "token expired"
	case errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
		return "token has no exp claim"
	case errors.Is(err, jwt.ErrTokenNotValidYet), errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		return "token not valid yet"
	default:
		return "invalid token"
	}
}
