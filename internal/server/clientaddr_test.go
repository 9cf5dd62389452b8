package server_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gen-hub/genhub/internal/apierror"
	"github.com/gen-hub/genhub/internal/ratelimit"
	"github.com/gen-hub/genhub/internal/server"
)

// TestPublicRateLimitBehindProxies: behind a trusted load balancer each
// public client has its own bucket, named by X-Forwarded-For; a header from
// anyone else, or entries a client prepends, change nothing.
func TestPublicRateLimitBehindProxies(t *testing.T) {
	proxies, err := server.ParseTrustedProxies(" 10.0.0.0/8, 192.0.2.7 ")
	if err != nil {
		t.Fatal(err)
	}
	rl := ratelimit.New(ratelimit.Limit{Rate: 0.001, Burst: 100, CostPerMinute: 100000},
		ratelimit.Limit{Rate: 0.001, Burst: 2, CostPerMinute: 100000}, nil, nil)
	e := newHub(t, server.Options{Introspection: true, RateLimiter: rl, TrustedProxies: proxies})
	from := func(peer, forwarded string) *http.Request {
		req := query("", `{ __typename }`, nil)
		req.RemoteAddr = peer + ":4000"
		if forwarded != "" {
			req.Header.Set("X-Forwarded-For", forwarded)
		}
		return req
	}
	answered := func(what string, req *http.Request) {
		t.Helper()
		if res := send(t, e.Handler, req); len(res.Errors) > 0 {
			t.Errorf("%s: %+v", what, res.Errors)
		}
	}
	limited := func(what string, req *http.Request) {
		t.Helper()
		res := send(t, e.Handler, req)
		if len(res.Errors) != 1 || res.Errors[0].Code() != apierror.RateLimited {
			t.Errorf("%s: want RATE_LIMITED, got status %d, errors %+v", what, res.Status, res.Errors)
		}
	}

	// Two clients through two proxies: one bucket each, not one per proxy.
	answered("client 1", from("10.0.0.5", "198.51.100.1"))
	answered("client 1 through the other proxy", from("192.0.2.7", "198.51.100.1, 10.1.2.3"))
	limited("client 1 over its burst", from("10.0.0.5", "198.51.100.1"))
	answered("client 2 behind the same proxy", from("10.0.0.5", "198.51.100.2"))
	// A client cannot pick its bucket by writing the header itself: the
	// trusted proxy appends the address it saw, and that one counts.
	limited("client 1 prepending a forged address", from("10.0.0.5", "203.0.113.50, 198.51.100.1"))

	// A direct client's header is ignored: changing it does not refill its bucket.
	answered("direct client", from("203.0.113.9", "198.51.100.77"))
	answered("direct client", from("203.0.113.9", "198.51.100.78"))
	limited("direct client with a new header", from("203.0.113.9", "198.51.100.79"))

	// The proxy itself, without a header, is a client like any other.
	answered("proxy's own request", from("10.0.0.6", ""))

	// The CSV export is under the same limit as /graphql.
	export := func() *http.Request {
		req := httptest.NewRequest(http.MethodGet, "/export/formations.csv", nil)
		req.RemoteAddr = "10.0.0.5:4000"
		req.Header.Set("X-Forwarded-For", "198.51.100.1")
		return req
	}
	rec := httptest.NewRecorder()
	e.Handler.ServeHTTP(rec, export())
	if rec.Code != http.StatusTooManyRequests || rec.Header().Get("Retry-After") == "" {
		t.Errorf("export by a client over its limit: status %d, Retry-After %q", rec.Code, rec.Header().Get("Retry-After"))
	}
}

func TestParseTrustedProxies(t *testing.T) {
	for _, bad := range []string{"10.0.0.0/33", "load-balancer", "10.0.0.1,,nope"} {
		if _, err := server.ParseTrustedProxies(bad); err == nil {
			t.Errorf("%q: want an error", bad)
		}
	}
	got, err := server.ParseTrustedProxies("10.0.0.0/8,2001:db8::/32, 192.0.2.7")
	if err != nil || len(got) != 3 {
		t.Errorf("three ranges: got %v, %v", got, err)
	}
}
