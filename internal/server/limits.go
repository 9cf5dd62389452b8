package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gen-hub/genhub/internal/access"
	"github.com/gen-hub/genhub/internal/apierror"
	"github.com/gen-hub/genhub/internal/metrics"
	"github.com/gen-hub/genhub/internal/ratelimit"
)

// Limits bound what one request may ask of the hub. A zero field takes its
// default (DefaultLimits).
type Limits struct {
	MaxBodyBytes   int64         // request body (POST) or query string (GET)
	MaxTokens      int           // lexical tokens of the GraphQL document
	MaxDepth       int           // nesting of selections, fragments expanded
	MaxAliases     int           // aliased fields, fragments expanded
	MaxRootFields  int           // fields of the operation's root, fragments expanded
	MaxFields      int           // fields selected, fragments expanded
	MaxComplexity  int           // cost: lists count their page size times their children
	RequestTimeout time.Duration // deadline of the whole request
}

// DefaultLimits returns the limits used unless configured otherwise.
func DefaultLimits() Limits {
	return Limits{
		MaxBodyBytes:   128 << 10,
		MaxTokens:      10000,
		MaxDepth:       12,
		MaxAliases:     30,
		MaxRootFields:  20,
		MaxFields:      1000,
		MaxComplexity:  10000,
		RequestTimeout: 15 * time.Second,
	}
}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	orDefault(&l.MaxBodyBytes, d.MaxBodyBytes)
	orDefault(&l.MaxTokens, d.MaxTokens)
	orDefault(&l.MaxDepth, d.MaxDepth)
	orDefault(&l.MaxAliases, d.MaxAliases)
	orDefault(&l.MaxRootFields, d.MaxRootFields)
	orDefault(&l.MaxFields, d.MaxFields)
	orDefault(&l.MaxComplexity, d.MaxComplexity)
	orDefault(&l.RequestTimeout, d.RequestTimeout)
	return l
}

func orDefault[T int | int64 | time.Duration](v *T, def T) {
	if *v <= 0 {
		*v = def
	}
}

// guardRequest checks what can be checked before a request is read as
// GraphQL: method, media type, size and encoding of the body; and gives the
// request its deadline.
func guardRequest(lim Limits, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodGet:
			if int64(len(r.URL.RawQuery)) > lim.MaxBodyBytes {
				refuse(w, r, http.StatusRequestURITooLong, apierror.New(apierror.BadUserInput,
					"the query string exceeds the limit of %d bytes; send large operations with POST", lim.MaxBodyBytes))
				return
			}
			if q, err := url.QueryUnescape(r.URL.RawQuery); err != nil || !utf8.ValidString(q) {
				refuse(w, r, http.StatusBadRequest, apierror.New(apierror.BadUserInput, "the query string is not valid UTF-8 URL encoding"))
				return
			}
		case http.MethodPost:
			mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
			if err != nil || mt != "application/json" {
				refuse(w, r, http.StatusUnsupportedMediaType, apierror.New(apierror.BadUserInput,
					"send the request as Content-Type: application/json"))
				return
			}
			if r.ContentLength > lim.MaxBodyBytes {
				refuseTooLarge(w, r, lim)
				return
			}
			body, err := io.ReadAll(io.LimitReader(r.Body, lim.MaxBodyBytes+1))
			if err != nil {
				refuse(w, r, http.StatusBadRequest, apierror.New(apierror.BadUserInput, "the request body could not be read"))
				return
			}
			if int64(len(body)) > lim.MaxBodyBytes {
				refuseTooLarge(w, r, lim)
				return
			}
			if !utf8.Valid(body) {
				refuse(w, r, http.StatusBadRequest, apierror.New(apierror.BadUserInput, "the request body is not valid UTF-8"))
				return
			}
			if !json.Valid(body) {
				refuse(w, r, http.StatusBadRequest, apierror.New(apierror.BadUserInput, "the request body is not valid JSON"))
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
		case http.MethodOptions:
		default:
			w.Header().Set("Allow", "GET, POST, OPTIONS")
			refuse(w, r, http.StatusMethodNotAllowed, apierror.New(apierror.BadUserInput,
				"use POST (or GET for queries) on /graphql"))
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), lim.RequestTimeout)
		defer cancel()
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

func refuseTooLarge(w http.ResponseWriter, r *http.Request, lim Limits) {
	refuse(w, r, http.StatusRequestEntityTooLarge, apierror.New(apierror.BadUserInput,
		"the request body exceeds the limit of %d bytes", lim.MaxBodyBytes))
}

// rateLimit refuses requests over their partner's (or public address's)
// token bucket, and records the client address of the caller.
func rateLimit(rl *ratelimit.Limiter, addrs clientAddrs, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c := access.FromContext(r.Context())
		c.ClientAddr = addrs.of(r)
		ctx := access.WithCaller(r.Context(), c)
		if rl != nil && r.Method != http.MethodOptions {
			if d := rl.Allow(bucketKey(c), c.PartnerID); !d.OK {
				metrics.RateLimited.WithLabelValues(metrics.KindLabel(c.Kind, c.IsPublic()), "rate").Inc()
				who := "your key"
				if c.IsPublic() {
					who = "your address (public access; send an API key for higher limits)"
				}
				refuse(w, r, http.StatusTooManyRequests, rateLimited(d,
					fmt.Sprintf("rate limit exceeded: %g requests per second (burst %d, %d a minute) for %s",
						d.Limit.Rate, d.Limit.Burst, d.Limit.RequestsPerMinute(), who)))
				return
			}
		}
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// rateLimitedError is a RATE_LIMITED error with when to retry.
type rateLimitedError struct {
	err        *apierror.Error
	retryAfter int // seconds
}

func (e *rateLimitedError) Error() string { return e.err.Error() }

func rateLimited(d ratelimit.Decision, msg string) *rateLimitedError {
	secs := int(math.Ceil(d.RetryAfter.Seconds()))
	if secs < 1 {
		secs = 1
	}
	return &rateLimitedError{
		err:        &apierror.Error{Code: apierror.RateLimited, Message: fmt.Sprintf("%s; retry in %d s", msg, secs)},
		retryAfter: secs,
	}
}

func (e *rateLimitedError) Unwrap() error { return e.err }

// bucketKey names the rate-limit bucket of a caller: its partner, or for the
// public its client address.
func bucketKey(c access.Caller) string {
	if c.IsPublic() {
		return ratelimit.AddressKey(c.ClientAddr)
	}
	return ratelimit.PartnerKey(c.PartnerID)
}

// refuse answers a request refused before GraphQL execution.
func refuse(w http.ResponseWriter, r *http.Request, status int, err error) {
	e, _ := apierror.As(err)
	if rl, ok := err.(*rateLimitedError); ok {
		w.Header().Set("Retry-After", strconv.Itoa(rl.retryAfter))
	}
	w.Header().Set("Content-Type", responseType(r))
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"errors": []map[string]any{{
		"message":    e.Error(),
		"extensions": map[string]any{"code": e.Code, "requestId": RequestID(r.Context())},
	}}})
}

// responseType returns the media type of the response: the GraphQL response
// type when the client accepts it, application/json when it asks for JSON or
// says nothing (GraphQL over HTTP, legacy clients).
func responseType(r *http.Request) string {
	accept := r.Header.Get("Accept")
	if accept == "" {
		return mediaJSON
	}
	for part := range strings.SplitSeq(accept, ",") {
		mt, _, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		switch mt {
		case "application/graphql-response+json":
			return mediaGraphQL
		case "application/json", "*/*", "application/*":
			return mediaJSON
		}
	}
	return mediaGraphQL
}

const (
	mediaJSON    = "application/json; charset=utf-8"
	mediaGraphQL = "application/graphql-response+json; charset=utf-8"
)
