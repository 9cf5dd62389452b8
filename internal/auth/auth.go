// Package auth turns the Authorization header of a request into a caller: API
// keys are looked up by their public prefix and compared by hash in constant
// time; no header means the public.
package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/gen-hub/genhub/internal/access"
	"github.com/gen-hub/genhub/internal/apierror"
	"github.com/gen-hub/genhub/internal/store"
)

// Keys look like gh_<prefix>_<secret>: the prefix (8 to 16 lower-case letters
// and digits) is stored in clear to find the key; the whole key only as SHA-256.
var keyRe = regexp.MustCompile(`^gh_([a-z0-9]{8,16})_([A-Za-z0-9]{32})$`)

const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"

// NewKey returns a new random key, its prefix and its hash.
func NewKey() (key, prefix string, hash []byte) {
	prefix = randomString(10, alphabet[:36])
	key = "gh_" + prefix + "_" + randomString(32, alphabet)
	return key, prefix, Hash(key)
}

// DemoKey returns the deterministic key of a demo partner. Demo keys exist only
// in the demo data set.
func DemoKey(slug string) (key, prefix string, hash []byte) {
	sum := sha256.Sum256([]byte("genhub demo key for " + slug))
	prefix = "demo" + fmt.Sprintf("%x", sum[:3])
	var secret strings.Builder
	for _, b := range sha256.Sum256([]byte("genhub demo secret for " + slug)) {
		secret.WriteByte(alphabet[int(b)%len(alphabet)])
	}
	key = "gh_" + prefix + "_" + secret.String()
	return key, prefix, Hash(key)
}

// Hash returns the stored form of a key.
func Hash(key string) []byte {
	h := sha256.Sum256([]byte(key))
	return h[:]
}

func randomString(n int, chars string) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic("auth: no randomness: " + err.Error()) // crypto/rand does not fail on Linux
	}
	for i := range b {
		b[i] = chars[int(b[i])%len(chars)]
	}
	return string(b)
}

// Authenticator checks API keys against the store.
type Authenticator struct {
	Store *store.Store
	Log   *slog.Logger
	// DefaultKey, when set, authenticates requests that carry no Authorization
	// header (benchmark harnesses that cannot send headers; loopback only).
	DefaultKey string

	touched sync.Map // key id → time this process last recorded its use
}

var errBadKey = &apierror.Error{Code: apierror.Unauthenticated,
	Message: "the API key is unknown, expired or revoked; send Authorization: Bearer <key>, or no header for public access"}

// Caller returns the caller an Authorization header stands for: the public
// when it is empty, UNAUTHENTICATED for anything but a valid key.
func (a *Authenticator) Caller(ctx context.Context, header string) (access.Caller, error) {
	if header == "" {
		return access.Caller{}, nil
	}
	scheme, key, _ := strings.Cut(header, " ")
	if !strings.EqualFold(scheme, "Bearer") {
		return access.Caller{}, &apierror.Error{Code: apierror.Unauthenticated, Message: "use Authorization: Bearer <key>"}
	}
	m := keyRe.FindStringSubmatch(strings.TrimSpace(key))
	if m == nil {
		return access.Caller{}, errBadKey
	}
	rec, err := a.Store.KeyByPrefix(ctx, m[1])
	if err != nil {
		return access.Caller{}, err
	}
	want := make([]byte, sha256.Size)
	if rec != nil {
		want = rec.Hash
	}
	// Compare even when no key matched, so timing says nothing about prefixes.
	match := subtle.ConstantTimeCompare(Hash(key), want) == 1
	now := time.Now()
	if rec == nil || !match || rec.RevokedAt != nil || (rec.ExpiresAt != nil && !now.Before(*rec.ExpiresAt)) {
		return access.Caller{}, errBadKey
	}
	level, err := access.ParseLevel(rec.MaxLevel)
	if err != nil {
		return access.Caller{}, err
	}
	a.touch(rec.KeyID, m[1])
	return access.Caller{
		PartnerID: rec.PartnerID, Slug: rec.PartnerSlug, Name: rec.PartnerName, Kind: rec.PartnerKind,
		Level: level, KeyID: rec.KeyID, KeyPrefix: m[1], TrustedOnly: rec.TrustedOnly, K: rec.K,
	}, nil
}

// touch records a key's use in the background, at most once a minute per
// process (the database keeps the minute resolution too).
func (a *Authenticator) touch(keyID int, prefix string) {
	now := time.Now()
	if t, ok := a.touched.Load(keyID); ok && now.Sub(t.(time.Time)) < time.Minute {
		return
	}
	a.touched.Store(keyID, now)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := a.Store.TouchKey(ctx, keyID); err != nil && a.Log != nil {
			a.Log.Warn("could not record key use", "key_prefix", prefix, "error", err)
		}
	}()
}

// Middleware authenticates each request and puts its caller in the context.
// A bad key is answered at once with a GraphQL error and status 401.
func (a *Authenticator) Middleware(next http.Handler, fail func(w http.ResponseWriter, r *http.Request, err error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		header := r.Header.Get("Authorization")
		if header == "" && a.DefaultKey != "" {
			header = "Bearer " + a.DefaultKey
		}
		c, err := a.Caller(r.Context(), header)
		if err != nil {
			fail(w, r, err)
			return
		}
		next.ServeHTTP(w, r.WithContext(access.WithCaller(r.Context(), c)))
	})
}
