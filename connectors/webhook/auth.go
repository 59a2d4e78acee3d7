package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// authenticator checks a request's credentials; check returns "" when they are good, otherwise a short
// reason for the 401 reply (never the expected value).
type authenticator interface {
	check(r *http.Request, body []byte) string
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

func (noAuth) check(*http.Request, []byte) string { return "" }

// apiKeyAuth compares a header with the key in constant time.
type apiKeyAuth struct {
	header string
	key    []byte
}

func (a apiKeyAuth) check(r *http.Request, _ []byte) string {
	got := r.Header.Get(a.header)
	if got == "" {
		return "missing API key"
	}
	if !hmac.Equal([]byte(got), a.key) {
		return "invalid API key"
	}
	return ""
}

// hmacAuth checks an HMAC-SHA256 signature of the raw body, sent as "sha256=<hex>" or "<hex>".
type hmacAuth struct {
	header string
	secret []byte
}

func (a hmacAuth) check(r *http.Request, body []byte) string {
	sig := strings.TrimSpace(r.Header.Get(a.header))
	if sig == "" {
		return "missing signature"
	}
	sig = strings.TrimPrefix(sig, "sha256=")
	got, err := hex.DecodeString(sig)
	if err != nil || len(got) != sha256.Size {
		return "malformed signature"
	}
	mac := hmac.New(sha256.New, a.secret)
	mac.Write(body)
	if !hmac.Equal(got, mac.Sum(nil)) {
		return "invalid signature"
	}
	return ""
}

// jwtAuth checks an HS256 bearer token and its exp claim.
type jwtAuth struct {
	secret []byte
	parser *jwt.Parser
}

func (a *jwtAuth) check(r *http.Request, _ []byte) string {
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
