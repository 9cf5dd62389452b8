package graph_test

import (
	"bytes"
	"fmt"
	"sort"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/gen-hub/genhub/graph"
	"github.com/gen-hub/genhub/internal/hubtest"
	"github.com/gen-hub/genhub/internal/metrics"
	"github.com/gen-hub/genhub/internal/seed"
	"github.com/gen-hub/genhub/internal/server"
)

// directQueries are the shapes the direct path must answer exactly as gqlgen
// does. path is the executor expected to answer for the operator and the
// public: "direct", "gqlgen" (a field outside the direct path), or "" (either:
// it depends on the data, e.g. an error makes the direct path give up).
var directQueries = []struct {
	name, path, query string
	vars              map[string]any
}{
	{"region 50 (operation 2)", "direct", `{ formations(first: 50, filter: { regionCode: "32" }) { nodes { id title certificationCode
		durationMonths deliveryMode organisation { id name city } sessions(first: 20) { nodes { id startOn endOn plannedSeats } } } } }`, nil},
	{"catalogue (operation 1)", "direct", `{ formations(first: 20) { totalCount pageInfo { hasNextPage endCursor } nodes { id title
		region { code name } organisation { name } labels { status validUntil } } } }`, nil},
	{"every formation field, edges, typenames", "direct", `query { __typename formations(first: 30, orderBy: TITLE) { __typename
		edges { __typename cursor node { __typename id title jobFamily certificationCode certificationLevel certifying durationMonths
		deliveryMode freeOfCharge seats address postcode city latitude longitude listed
		department { id code name region { id name } } region { id code name }
		organisation { __typename id siret name legalStatus city department { code } }
		labels { __typename id grantedOn validUntil status withdrawnOn }
		sessions(last: 2) { __typename totalCount pageInfo { __typename hasNextPage hasPreviousPage startCursor endCursor }
		edges { cursor node { id startOn } } } } }
		pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }`, nil},
	{"aliases, fragments, directives", "direct", `query($skip: Boolean!, $n: Int) { a: formations(first: $n) { nodes { ...F
		t: title @skip(if: $skip) city @include(if: $skip) } } b: formations(first: 2, after: "WyIxMCJd") { nodes { id } } }
		fragment F on Formation { ... on Node { id } title organisation { ... on Organisation { name } } }`,
		map[string]any{"skip": true, "n": 7}},
	{"organisations with formations and sessions", "direct", `{ organisations(first: 10) { totalCount nodes { id name
		formations(first: 3) { totalCount nodes { id title sessions(first: 2) { nodes { id endOn } } } } } } }`, nil},
	{"sessions with their formation", "direct", `{ sessions(first: 40, filter: { regionCode: "11" }) { edges { cursor node { id
		plannedSeats formation { id title } } } } }`, nil},
	{"below a session's formation (not prefetched)", "", `{ sessions(first: 4) { nodes { formation { organisation { name } } } } }`, nil},
	{"organisations by name", "", `{ organisations(first: 5, nameContains: "form") { nodes { name } } }`, nil},
	{"organisations, name too short", "", `{ organisations(first: 5, nameContains: "a") { nodes { name } } }`, nil},
	{"backward page", "direct", `{ formations(last: 5, before: "WyIyMDAiXQ") { pageInfo { hasPreviousPage startCursor } nodes { id } } }`, nil},
	{"bad cursor", "", `{ formations(first: 5, after: "not a cursor") { nodes { id } } }`, nil},
	{"bad page size", "", `{ formations(first: 500) { nodes { id } } }`, nil},
	{"nested page never primed (second alias)", "", `{ formations(first: 3) { nodes { id s1: sessions(first: 1) { nodes { id } }
		s2: sessions(first: 2) { nodes { id } } } } }`, nil},
	{"a field outside the direct path", "gqlgen", `{ formations(first: 5) { nodes { id qpv { name } } } }`, nil},
	{"detail field", "gqlgen", `{ formations(first: 5) { nodes { id seedGrants { amountEur } } } }`, nil},
	{"introspection", "gqlgen", `{ __schema { queryType { name } } }`, nil},
}

// TestDirectPathMatchesGqlgen: for every partner kind and the public, the
// direct path answers each query with the same bytes (and errors) as gqlgen's
// executor, and it does answer the shapes it covers.
func TestDirectPathMatchesGqlgen(t *testing.T) {
	e := hubtest.New(t)
	e.Serve(server.Options{Introspection: true})
	direct := e.Handler
	e.Serve(server.Options{Introspection: true, GqlgenOnly: true})
	gqlgen := e.Handler

	callers := map[string]string{"public": ""}
	for _, p := range seed.Partners() {
		if _, ok := callers[p.Kind]; !ok {
			callers[p.Kind] = p.Key
		}
	}
	if len(callers) != 7 {
		t.Fatalf("callers: %v; want the public and six partner kinds", callers)
	}
	paths := map[string]float64{}
	for _, q := range directQueries {
		for kind, key := range callers {
			t.Run(fmt.Sprintf("%s/%s", q.name, kind), func(t *testing.T) {
				e.Handler = gqlgen
				want := e.Query(t, key, q.query, q.vars)
				e.Handler = direct
				before := pathCounts()
				got := e.Query(t, key, q.query, q.vars)
				after := pathCounts()
				taken := ""
				for p := range after {
					if after[p] != before[p] {
						taken = p
						paths[p]++
					}
				}
				if !bytes.Equal(got.Data, want.Data) {
					t.Errorf("data differs:\ndirect: %s\ngqlgen: %s", got.Data, want.Data)
				}
				if diff := cmp.Diff(comparable(want.Errors), comparable(got.Errors)); diff != "" {
					t.Errorf("errors differ (-gqlgen +direct):\n%s", diff)
				}
				if q.path != "" && (kind == "operator" || kind == "public") && taken != q.path {
					t.Errorf("answered by %q; want %q", taken, q.path)
				}
			})
		}
	}
	if paths["direct"] == 0 || paths["fallback"] == 0 || paths["gqlgen"] == 0 {
		t.Errorf("paths taken: %v; want each of direct, fallback and gqlgen", paths)
	}
}

// comparable returns errors without their request identifiers, in path
// order (gqlgen resolves list elements concurrently, in no fixed order).
func comparable(errs []hubtest.Error) []string {
	var out []string
	for _, e := range errs {
		out = append(out, fmt.Sprintf("%v %s %s", e.Path, e.Code(), e.Message))
	}
	sort.Strings(out)
	return out
}

func pathCounts() map[string]float64 {
	out := map[string]float64{}
	for _, p := range []string{"direct", "gqlgen", "fallback"} {
		out[p] = testutil.ToFloat64(metrics.QueryPaths.WithLabelValues(p))
	}
	return out
}

// TestDirectTypesMatchSchema: every field the direct path writes exists in
// the schema with the type it assumes, and carries no directive (an
// entitlement check such as @level would be skipped).
func TestDirectTypesMatchSchema(t *testing.T) {
	s := graph.NewExecutableSchema(graph.NewConfig(nil)).Schema()
	for typ, fields := range graph.DirectTypes() {
		def := s.Types[typ]
		if def == nil || def.Kind != ast.Object {
			t.Errorf("%s: not an object type of the schema", typ)
			continue
		}
		for name, child := range fields {
			f := def.Fields.ForName(name)
			if f == nil {
				t.Errorf("%s.%s: not in the schema", typ, name)
				continue
			}
			if len(f.Directives) > 0 {
				t.Errorf("%s.%s: has directives %v", typ, name, f.Directives)
			}
			kind := s.Types[f.Type.Name()].Kind
			if (child == "") != (kind == ast.Scalar || kind == ast.Enum) || (child != "" && child != f.Type.Name()) {
				t.Errorf("%s.%s: the direct path takes it for %q, the schema says %s", typ, name, child, f.Type)
			}
		}
	}
}
