package server_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gen-hub/genhub/internal/server"
)

// leaks are what a response must never show unless the request itself
// carried it: SQL, driver and database names, Go internals.
var leaks = []string{"SELECT ", "INSERT ", "UPDATE hub", " FROM hub", "pq:", "sqlx", "hub.", "genhub_", "SQLSTATE",
	"goroutine ", ".go:", "runtime error", "panic", "nil pointer", "github.com/", "internal error"}

// FuzzGraphQL posts arbitrary queries and variables, as the public and as a
// partner, and checks that the hub answers every one with JSON, no 5xx, a
// stable code on each error and nothing of its internals. `go test` runs the
// seed corpus; `go test -fuzz=FuzzGraphQL ./internal/server/` searches further.
func FuzzGraphQL(f *testing.F) {
	seeds := []struct{ query, vars string }{
		{`{ keyFigures { learners womenShare } }`, `{}`},
		{`query($n: Int, $f: FormationFilter) { formations(first: $n, filter: $f) { totalCount nodes { title region { name } } } }`,
			`{"n": 3, "f": {"regionCode": "32", "certifying": true}}`},
		{`query($n: Int) { formations(first: $n) { nodes { id } } }`, `{"n": "x"}`},
		{`query($id: ID!) { node(id: $id) { id ... on Formation { title sessions(last: 2) { nodes { startOn } } } } }`, `{"id": "Rm9ybWF0aW9uOjM"}`},
		{`{ nodes(ids: ["", "x", "Rm9ybWF0aW9uOjM", "UGFydG5lcjox"]) { id } }`, `null`},
		{`query($c: String) { sessions(first: 5, after: $c) { edges { cursor } } }`, `{"c": "WyIxIl0"}`},
		{`query($c: String) { sessions(first: 5, after: $c) { edges { cursor } } }`, `{"c": "!!!"}`},
		{`{ enrolments(first: 2) { nodes { learnerRef sex outcomes { situation } } } }`, `{}`},
		{`{ aidApplications(first: 2, status: GRANTED) { nodes { echelon enrolment { sex } } } }`, `{}`},
		{`{ me { level entitlements { scope } } explainAccess(formationId: "x") { visible reasons } }`, `{}`},
		{`{ partners(first: 2) { nodes { slug } } entitlements(partnerId: "UGFydG5lcjox") { totalCount } }`, `{}`},
		{`{ fundingAgreements(first: 1) { nodes { reference } } trustedOperations { hash } }`, `{}`},
		{`mutation { revokeOperation(id: "VHJ1c3RlZE9wZXJhdGlvbjo5OTk") }`, `{}`},
		{`mutation($p: ID!, $d: String!) { registerOperation(partnerId: $p, document: $d) { id } }`, `{"p": "UGFydG5lcjox", "d": "{ me { level } }"}`},
		{`{ formations(filter: {titleContains: "'; DROP TABLE hub.formation; --"}) { nodes { id } } }`, `{}`},
		{`{ organisations(nameContains: "%_\\") { nodes { name } } }`, `{}`},
		{`{ region(code: "\u0000") { name } departments(regionCode: "🙂") { code } }`, `{}`},
		{`query($d: Date) { sessions(filter: {startsFrom: $d}) { totalCount } }`, `{"d": "2024-02-30"}`},
		{`{ formations(first: -1) { nodes { id } } }`, `{}`},
		{`{ formations(first: 1, last: 1) { nodes { id } } }`, `{}`},
		{`{ __schema { types { name } } }`, `{}`},
		{`{ ...A } fragment A on Query { ...A }`, `{}`},
		{`{ a: keyFigures { learners } b: keyFigures { learners } }`, `{}`},
		{`{ formations(orderBy: TITLE, first: 100) { nodes { sessions(first: 100) { nodes { id } } } } }`, `{}`},
		{`subscription { x }`, `{}`},
		{`{`, `{}`},
		{``, `[]`},
	}
	for _, s := range seeds {
		f.Add(s.query, s.vars, false)
		f.Add(s.query, s.vars, true)
	}
	e := newHub(f, server.Options{Introspection: true})
	partner := key(f, "gip-gen")

	f.Fuzz(func(t *testing.T, query, vars string, asPartner bool) {
		body, err := json.Marshal(map[string]any{"query": query, "variables": json.RawMessage("null")})
		if err != nil {
			t.Skip()
		}
		if json.Valid([]byte(vars)) {
			body = bytes.Replace(body, []byte(`"variables":null`), []byte(`"variables":`+vars), 1)
		}
		req := httptest.NewRequest(http.MethodPost, "/graphql", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if asPartner {
			req.Header.Set("Authorization", "Bearer "+partner)
		}
		rec := httptest.NewRecorder()
		e.Handler.ServeHTTP(rec, req)
		out, _ := io.ReadAll(rec.Body)
		if rec.Code >= 500 {
			t.Fatalf("status %d for %s\n%s", rec.Code, body, out)
		}
		var res struct {
			Errors []struct {
				Message    string         `json:"message"`
				Extensions map[string]any `json:"extensions"`
			} `json:"errors"`
		}
		if err := json.Unmarshal(out, &res); err != nil {
			t.Fatalf("response is not JSON (status %d) for %s\n%s", rec.Code, body, out)
		}
		for _, e := range res.Errors {
			if code, _ := e.Extensions["code"].(string); code == "" || code == "INTERNAL" {
				t.Errorf("error without a stable code: %+v\nrequest %s", e, body)
			}
		}
		lower := strings.ToLower(string(body))
		for _, l := range leaks {
			if bytes.Contains(bytes.ToLower(out), []byte(strings.ToLower(l))) && !strings.Contains(lower, strings.ToLower(l)) {
				t.Errorf("response shows %q for %s\n%s", l, body, out)
			}
		}
	})
}
