package graph_test

import (
	"fmt"
	"testing"

	"github.com/gen-hub/genhub/internal/hubtest"
	"github.com/gen-hub/genhub/internal/seed"
	"github.com/gen-hub/genhub/internal/server"
)

// TestStatementsIndependentOfPageSize: nested data loads in batches, so a page
// of 5 formations and a page of 50 (each with organisation and sessions, and
// sessions with their counts) run the same number of SQL statements.
func TestStatementsIndependentOfPageSize(t *testing.T) {
	e := hubtest.New(t)
	// The organisations query asks for deliberately large nested pages (50 ×
	// 10 × 3 × 5 rows), over the default complexity limit.
	e.Handler = server.New(e.Store, server.Options{Introspection: true, Limits: server.Limits{MaxComplexity: 1 << 20}, Audit: e.Audit})
	var region, operator string
	for _, p := range seed.Partners() {
		switch p.Slug {
		case "region-ile-de-france":
			region = p.Key
		case "gip-gen":
			operator = p.Key
		}
	}
	queries := []struct {
		name, key, query string
	}{
		{"formations nodes", region, `query($n: Int) { formations(first: $n, filter: { regionCode: "11" }) { totalCount nodes {
			id title organisation { name } sessions(first: 20) { nodes { id startOn enrolmentCount { value } } } } } }`},
		{"formations edges", "", `query($n: Int) { formations(first: $n) { edges { cursor node {
			id title region { name } organisation { name city } labels { status } sessions(first: 5) { totalCount edges { node { id endOn } } } } } } }`},
		{"organisations", operator, `query($n: Int) { organisations(first: $n) { nodes { name
			formations(first: 10) { nodes { id title sessions(first: 3) { nodes { id enrolments(first: 5) { nodes { id outcomes { situation } } } } } } } } } }`},
		{"sessions", region, `query($n: Int) { sessions(first: $n, filter: { regionCode: "11" }) { nodes { id formation { title } enrolmentCount { value } } } }`},
	}
	for _, q := range queries {
		t.Run(q.name, func(t *testing.T) {
			// Warm up: the first request of a key records its use, the first of the
			// process reads the reference data; neither recurs per request.
			e.Query(t, q.key, q.query, map[string]any{"n": 1})
			var counts []int
			for _, n := range []int{5, 50} {
				counts = append(counts, e.StatementCount(t, func() {
					r := e.Query(t, q.key, q.query, map[string]any{"n": n})
					if len(r.Errors) > 0 {
						t.Fatalf("errors: %+v", r.Errors)
					}
				}))
			}
			if counts[0] != counts[1] {
				t.Errorf("statements for 5 and 50 rows: %d and %d; want the same", counts[0], counts[1])
			}
			t.Log(fmt.Sprintf("%d statements per request", counts[1]))
		})
	}
}
