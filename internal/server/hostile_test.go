package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/gen-hub/genhub/graph/model"
	"github.com/gen-hub/genhub/internal/apierror"
	"github.com/gen-hub/genhub/internal/hubtest"
	"github.com/gen-hub/genhub/internal/ratelimit"
	"github.com/gen-hub/genhub/internal/seed"
	"github.com/gen-hub/genhub/internal/server"
	"github.com/gen-hub/genhub/internal/store"
)

// nested returns a query nesting organisation → formations levels times.
func nested(levels int) string {
	var b strings.Builder
	b.WriteString("{ formations(first: 1) { nodes { ")
	for range levels {
		b.WriteString("organisation { formations(first: 1) { nodes { ")
	}
	b.WriteString("id")
	for range levels {
		b.WriteString(" } } }")
	}
	b.WriteString(" } } }")
	return b.String()
}

// aliases returns a query asking for keyFigures n times under aliases.
func aliases(n int) string {
	var b strings.Builder
	b.WriteString("{ keyFigures { ")
	for i := range n {
		fmt.Fprintf(&b, "a%d: learners ", i)
	}
	b.WriteString("} }")
	return b.String()
}

// fragmentBomb returns a document whose fragments each spread the one before
// twice: 2^n fields once expanded, in a few hundred bytes.
func fragmentBomb(n int) string {
	var b strings.Builder
	b.WriteString("{ ...F" + fmt.Sprint(n) + " }\nfragment F0 on Query { keyFigures { learners } }\n")
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "fragment F%d on Query { ...F%d ...F%d }\n", i, i-1, i-1)
	}
	return b.String()
}

// TestHostileQueries sends each kind of hostile request, checks its exact
// error code and status, and that the hub then answers a normal request.
func TestHostileQueries(t *testing.T) {
	e := newHub(t, server.Options{Introspection: true})
	region := key(t, "region-hauts-de-france")
	lim := server.DefaultLimits()
	body := func(s string) []byte { return []byte(s) }
	get := func(q string) *http.Request {
		return httptest.NewRequest(http.MethodGet, "/graphql?query="+url.QueryEscape(q), nil)
	}
	cases := []struct {
		name   string
		req    *http.Request
		code   string
		status int
		says   string // the message contains this (e.g. the limit)
	}{
		{"deep nesting", query(region, nested(8), nil), apierror.ComplexityExceeded, 200, fmt.Sprint(lim.MaxDepth)},
		{"very deep nesting", query("", strings.Repeat("{ a ", 3000)+strings.Repeat("}", 3000), nil), apierror.BadUserInput, 200, ""},
		{"alias bomb", query("", aliases(200), nil), apierror.ComplexityExceeded, 200, fmt.Sprint(lim.MaxAliases)},
		{"root fields", query("", "{"+strings.Repeat(" __typename", 50)+" }", nil), apierror.ComplexityExceeded, 200, fmt.Sprint(lim.MaxRootFields)},
		{"fragment cycle", query("", "{ ...A } fragment A on Query { ...B } fragment B on Query { ...A }", nil), apierror.BadUserInput, 200, ""},
		{"fragment bomb", query("", fragmentBomb(30), nil), apierror.ComplexityExceeded, 200, fmt.Sprint(lim.MaxFields)},
		{"complexity", query(region, `{ formations(first: 100) { nodes { sessions(first: 100) { nodes { id startOn endOn } } } } }`, nil),
			apierror.ComplexityExceeded, 200, fmt.Sprint(lim.MaxComplexity)},
		{"huge first", query("", `{ formations(first: 1000000) { nodes { id } } }`, nil), apierror.BadUserInput, 200, "100"},
		{"huge first in a variable", query("", `query($n: Int) { formations(first: $n) { nodes { id } } }`, map[string]any{"n": 1 << 40}),
			apierror.BadUserInput, 200, "100"},
		{"first beyond Int", query("", `{ formations(first: 99999999999999999999) { nodes { id } } }`, nil), apierror.BadUserInput, 200, ""},
		{"huge body", post("", body(`{"query": "{ __typename }", "pad": "`+strings.Repeat("x", 2<<20)+`"}`)),
			apierror.BadUserInput, http.StatusRequestEntityTooLarge, fmt.Sprint(lim.MaxBodyBytes)},
		{"token limit", query("", "{"+strings.Repeat(" __typename", lim.MaxTokens)+" }", nil), apierror.BadUserInput, 200, fmt.Sprint(lim.MaxTokens)},
		{"invalid UTF-8", post("", body("{\"query\": \"{ formations(filter: {titleContains: \\\"\xff\xfe\\\"}) { nodes { id } } }\"}")),
			apierror.BadUserInput, http.StatusBadRequest, "UTF-8"},
		{"invalid UTF-8 in GET", httptest.NewRequest(http.MethodGet, "/graphql?query=%7B%20__typename%20%FF%7D", nil),
			apierror.BadUserInput, http.StatusBadRequest, "UTF-8"},
		{"not JSON", post("", body(`{"query": `)), apierror.BadUserInput, http.StatusBadRequest, "JSON"},
		{"wrong JSON", post("", body(`{"query": 5}`)), apierror.BadUserInput, http.StatusBadRequest, "JSON object"},
		{"wrong argument type", query("", `{ formations(first: "ten") { nodes { id } } }`, nil), apierror.BadUserInput, 200, ""},
		{"wrong variable type", query("", `query($n: Int) { formations(first: $n) { nodes { id } } }`, map[string]any{"n": "ten"}),
			apierror.BadUserInput, 200, ""},
		{"unknown field", query("", `{ formations { nodes { salary } } }`, nil), apierror.BadUserInput, 200, "salary"},
		{"syntax error", query("", `{ formations( }`, nil), apierror.BadUserInput, 200, ""},
		{"no operation", query("", ``, nil), apierror.BadUserInput, 200, ""},
		{"unknown operation name", post("", body(`{"query": "query A { __typename }", "operationName": "B"}`)), apierror.BadUserInput, 200, ""},
		{"unknown operation hash", post(region, body(`{"extensions": {"persistedQuery": {"version": 1, "sha256Hash": "`+strings.Repeat("ab", 32)+`"}}}`)),
			apierror.NotFound, 200, "PersistedQueryNotFound"},
		{"hash not matching the query", post("", body(`{"query": "{ __typename }", "extensions": {"persistedQuery": {"version": 1, "sha256Hash": "`+strings.Repeat("ab", 32)+`"}}}`)),
			apierror.BadUserInput, 200, ""},
		{"mutation over GET", func() *http.Request {
			r := get(`mutation { revokeCurrentKey }`)
			r.Header.Set("Authorization", "Bearer "+region)
			return r
		}(), apierror.BadUserInput, http.StatusMethodNotAllowed, "POST"},
		{"unsupported media type", func() *http.Request {
			r := post("", body(`{ __typename }`))
			r.Header.Set("Content-Type", "application/graphql")
			return r
		}(), apierror.BadUserInput, http.StatusUnsupportedMediaType, "application/json"},
		{"unsupported method", httptest.NewRequest(http.MethodPut, "/graphql", nil), apierror.BadUserInput, http.StatusMethodNotAllowed, ""},
		{"bad key", query("gh_nosuchkey0_"+strings.Repeat("x", 32), `{ __typename }`, nil), apierror.Unauthenticated, http.StatusUnauthorized, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := send(t, e.Handler, c.req)
			wantError(t, res, c.code, c.status)
			for _, e := range res.Errors {
				t.Logf("%d %s: %s", res.Status, e.Code(), e.Message)
			}
			if len(res.Errors) == 1 && !strings.Contains(res.Errors[0].Message, c.says) {
				t.Errorf("message %q does not say %q", res.Errors[0].Message, c.says)
			}
			wantAnswered(t, e.Handler, "")
			wantAnswered(t, e.Handler, region)
		})
	}
}

// TestGraphQLResponseMediaType: a client accepting application/graphql-response+json
// gets it, with 4xx for a request that cannot run; GET runs queries.
func TestGraphQLResponseMediaType(t *testing.T) {
	e := newHub(t, server.Options{Introspection: true})
	for _, c := range []struct {
		name, accept, q, ctype string
		status                 int
	}{
		{"graphql-response, valid", "application/graphql-response+json", `{ __typename }`, "application/graphql-response+json", 200},
		{"graphql-response, invalid", "application/graphql-response+json", `{ nope }`, "application/graphql-response+json", 400},
		{"json, invalid", "application/json", `{ nope }`, "application/json", 200},
		{"no accept, invalid", "", `{ nope }`, "application/json", 200},
	} {
		t.Run(c.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodGet, "/graphql?query="+url.QueryEscape(c.q), nil)
			if c.accept != "" {
				req.Header.Set("Accept", c.accept)
			}
			res := send(t, e.Handler, req)
			if res.Status != c.status || !strings.HasPrefix(res.Header.Get("Content-Type"), c.ctype) {
				t.Errorf("status %d, content type %q; want %d, %s", res.Status, res.Header.Get("Content-Type"), c.status, c.ctype)
			}
		})
	}
}

// TestRateLimits: a partner over its token bucket or its cost budget, and a
// public address over its own, get RATE_LIMITED with Retry-After; others
// are still answered.
func TestRateLimits(t *testing.T) {
	// Rates so low that no token comes back during the test.
	rl := ratelimit.New(ratelimit.Limit{Rate: 0.001, Burst: 3, CostPerMinute: 100000},
		ratelimit.Limit{Rate: 0.001, Burst: 2, CostPerMinute: 100000}, nil, nil)
	e := newHub(t, server.Options{Introspection: true, RateLimiter: rl})
	google, region := key(t, "google"), key(t, "region-hauts-de-france")

	for i := range 3 {
		if res := send(t, e.Handler, query(google, `{ __typename }`, nil)); len(res.Errors) > 0 {
			t.Fatalf("request %d within the burst: %+v", i+1, res.Errors)
		}
	}
	res := send(t, e.Handler, query(google, `{ __typename }`, nil))
	wantError(t, res, apierror.RateLimited, http.StatusTooManyRequests)
	if res.Header.Get("Retry-After") == "" {
		t.Error("no Retry-After header")
	}
	wantAnswered(t, e.Handler, region)

	// The public, per address: a second address is not limited by the first.
	pub := func(addr string) *hubtest.Response {
		req := query("", `{ __typename }`, nil)
		req.RemoteAddr = addr + ":4000"
		return send(t, e.Handler, req)
	}
	pub("192.0.2.1")
	pub("192.0.2.1")
	wantError(t, pub("192.0.2.1"), apierror.RateLimited, http.StatusTooManyRequests)
	if res := pub("192.0.2.2"); len(res.Errors) > 0 {
		t.Errorf("another address: %+v", res.Errors)
	}

	// Cost: one operation costing more than the budget.
	rl = ratelimit.New(ratelimit.Limit{Rate: 100, Burst: 100, CostPerMinute: 50}, ratelimit.Limit{Rate: 100, Burst: 100, CostPerMinute: 50}, nil, nil)
	e.Handler = server.New(e.Store, server.Options{Introspection: true, RateLimiter: rl, Audit: e.Audit})
	res = send(t, e.Handler, query(region, `{ formations(first: 30) { nodes { id title } } }`, nil))
	wantError(t, res, apierror.RateLimited, http.StatusTooManyRequests)
	if !strings.Contains(res.Errors[0].Message, "50") || res.Header.Get("Retry-After") == "" {
		t.Errorf("message %q, Retry-After %q: want the budget and when to retry", res.Errors[0].Message, res.Header.Get("Retry-After"))
	}
	if res := send(t, e.Handler, query(region, `{ __typename }`, nil)); len(res.Errors) > 0 {
		t.Errorf("a cheap operation within the budget: %+v", res.Errors)
	}
}

// TestTrustedOnly: a partner whose entitlement says "trusted only" runs its
// registered operations (sent by hash, or in full) and nothing else; the
// operator registers and revokes them.
func TestTrustedOnly(t *testing.T) {
	e := newHub(t, server.Options{Introspection: true})
	ctx := context.Background()
	slug := seed.DemoDashboardPartner
	if _, err := e.Admin.ExecContext(ctx, `UPDATE hub.entitlement SET trusted_only = true
		WHERE partner_id = (SELECT id FROM hub.partner WHERE slug = $1)`, slug); err != nil {
		t.Fatal(err)
	}
	k := key(t, slug)
	byHash := func(hash string, vars map[string]any) *http.Request {
		b, _ := json.Marshal(map[string]any{"variables": vars,
			"extensions": map[string]any{"persistedQuery": map[string]any{"version": 1, "sha256Hash": hash}}})
		return post(k, b)
	}

	wantError(t, send(t, e.Handler, query(k, `{ me { level } }`, nil)), apierror.Forbidden, 200)
	res := send(t, e.Handler, byHash(store.DocumentHash(seed.DemoDashboard), map[string]any{"region": "32"}))
	var dash struct {
		Formations struct{ TotalCount int }
	}
	res.MustData(t, &dash)
	if dash.Formations.TotalCount == 0 {
		t.Error("the registered dashboard returned no formations")
	}
	if res := send(t, e.Handler, query(k, seed.DemoDashboard, map[string]any{"region": "32"})); len(res.Errors) > 0 {
		t.Errorf("the registered document sent in full: %+v", res.Errors)
	}
	wantError(t, send(t, e.Handler, byHash(strings.Repeat("0", 64), nil)), apierror.NotFound, 200)

	// The operator registers a document for the partner, which then runs it.
	const doc = `query Mine { me { level keyPrefix } }`
	op := key(t, "gip-gen")
	res = send(t, e.Handler, query(op, `mutation($p: ID!, $d: String!) { registerOperation(partnerId: $p, document: $d, name: "Mine") { id hash } }`,
		map[string]any{"p": model.IntID("Partner", partnerID(t, e.Admin, slug)), "d": doc}))
	var reg struct{ RegisterOperation struct{ ID, Hash string } }
	res.MustData(t, &reg)
	if reg.RegisterOperation.Hash != store.DocumentHash(doc) {
		t.Errorf("hash %s, want %s", reg.RegisterOperation.Hash, store.DocumentHash(doc))
	}
	if res := send(t, e.Handler, byHash(reg.RegisterOperation.Hash, nil)); len(res.Errors) > 0 {
		t.Errorf("newly registered operation: %+v", res.Errors)
	}
	// Only the operator registers.
	res = send(t, e.Handler, query(key(t, "google"), `mutation { registerOperation(partnerId: "x", document: "{ me { level } }") { id } }`, nil))
	wantError(t, res, apierror.Forbidden, 200)
	// A document that does not validate is refused.
	res = send(t, e.Handler, query(op, `mutation($p: ID!) { registerOperation(partnerId: $p, document: "{ salary }") { id } }`,
		map[string]any{"p": model.IntID("Partner", partnerID(t, e.Admin, slug))}))
	wantError(t, res, apierror.BadUserInput, 200)
	// The partner lists its operations.
	var list struct{ TrustedOperations []struct{ Name string } }
	send(t, e.Handler, byHash(store.DocumentHash(`{ trustedOperations { name } }`), nil)) // not registered: refused
	res = send(t, e.Handler, query(op, `{ trustedOperations { name partnerSlug } }`, nil))
	res.MustData(t, &list)
	if len(list.TrustedOperations) < 2 {
		t.Errorf("operator lists %d operations, want at least 2", len(list.TrustedOperations))
	}
	wantAnswered(t, e.Handler, "")
}

func partnerID(t testing.TB, db interface {
	GetContext(context.Context, any, string, ...any) error
}, slug string) int {
	t.Helper()
	var id int
	if err := db.GetContext(context.Background(), &id, `SELECT id FROM hub.partner WHERE slug = $1`, slug); err != nil {
		t.Fatal(err)
	}
	return id
}

// TestIntrospectionSetting: with introspection for partners only, the public
// gets neither the schema nor "did you mean" suggestions.
func TestIntrospectionSetting(t *testing.T) {
	e := newHub(t, server.Options{PartnerIntrospection: true})
	region := key(t, "region-hauts-de-france")
	wantError(t, send(t, e.Handler, query("", `{ __schema { types { name } } }`, nil)), apierror.Forbidden, 200)
	wantError(t, send(t, e.Handler, query("", `{ __type(name: "Enrolment") { fields { name } } }`, nil)), apierror.Forbidden, 200)
	if res := send(t, e.Handler, query(region, `{ __schema { types { name } } }`, nil)); len(res.Errors) > 0 {
		t.Errorf("partner introspection: %+v", res.Errors)
	}
	res := send(t, e.Handler, query("", `{ formation(id: "x") { titl } }`, nil))
	wantError(t, res, apierror.BadUserInput, 200)
	if strings.Contains(res.Errors[0].Message, "Did you mean") {
		t.Errorf("public gets a suggestion: %q", res.Errors[0].Message)
	}
	res = send(t, e.Handler, query(region, `{ formation(id: "x") { titl } }`, nil))
	if len(res.Errors) != 1 || !strings.Contains(res.Errors[0].Message, "Did you mean") {
		t.Errorf("partner gets no suggestion: %+v", res.Errors)
	}
	if res := send(t, e.Handler, query("", `{ __typename }`, nil)); len(res.Errors) > 0 {
		t.Errorf("__typename: %+v", res.Errors)
	}
}
