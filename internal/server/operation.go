package server

import (
	"context"
	"fmt"
	"regexp"

	"github.com/99designs/gqlgen/complexity"
	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler/extension"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/gen-hub/genhub/internal/access"
	"github.com/gen-hub/genhub/internal/apierror"
	"github.com/gen-hub/genhub/internal/metrics"
	"github.com/gen-hub/genhub/internal/ratelimit"
	"github.com/gen-hub/genhub/internal/store"
)

// operationGuard checks a parsed and validated operation before it runs:
// registered documents only for "trusted only" partners, its shape (depth,
// aliases, root fields, fields), introspection, its complexity, and the
// caller's cost budget, which it charges.
type operationGuard struct {
	limits        Limits
	rl            *ratelimit.Limiter // nil: no budgets
	docs          *trustedDocuments
	introspection func(access.Caller) bool
	es            graphql.ExecutableSchema
}

var _ interface {
	graphql.HandlerExtension
	graphql.OperationContextMutator
} = (*operationGuard)(nil)

func (g *operationGuard) ExtensionName() string { return "OperationGuard" }

func (g *operationGuard) Validate(es graphql.ExecutableSchema) error {
	g.es = es
	return nil
}

func (g *operationGuard) MutateOperationContext(ctx context.Context, rc *graphql.OperationContext) *gqlerror.Error {
	c := access.FromContext(ctx)
	if c.TrustedOnly {
		hash := store.DocumentHash(rc.RawQuery)
		_, ok, err := g.docs.lookup(ctx, c.PartnerID, hash)
		if err != nil {
			return toGQL(err)
		}
		if !ok {
			return toGQL(apierror.Denied("your entitlements allow registered operations only, and this document "+
				"(sha256 %s) is not registered for you; ask the operator to register it", hash))
		}
	}

	s := measure(rc.Operation, g.limits)
	lim := g.limits
	switch {
	case s.fields > lim.MaxFields:
		return overLimit(lim.MaxFields, "the operation selects more than %d fields once fragments are expanded", lim.MaxFields)
	case s.depth > lim.MaxDepth:
		return overLimit(lim.MaxDepth, "the operation is nested more than %d levels deep (the limit)", lim.MaxDepth)
	case s.aliases > lim.MaxAliases:
		return overLimit(lim.MaxAliases, "the operation uses more than %d aliases (the limit)", lim.MaxAliases)
	case s.rootFields > lim.MaxRootFields:
		return overLimit(lim.MaxRootFields, "the operation asks for more than %d root fields (the limit)", lim.MaxRootFields)
	}

	allowed := g.introspection(c)
	rc.DisableIntrospection = !allowed
	if s.introspection && !allowed {
		return toGQL(apierror.Denied("introspection is not available to you; the schema is documented in the GraphiQL playground of the hub"))
	}

	cost := complexity.Calculate(ctx, g.es, rc.Operation, rc.Variables)
	// Under the name gqlgen's own complexity extension uses, for its readers.
	rc.Stats.SetExtension("ComplexityLimit", &extension.ComplexityStats{Complexity: cost, ComplexityLimit: lim.MaxComplexity})
	if cost > lim.MaxComplexity {
		return overLimit(lim.MaxComplexity, "the operation has complexity %d, which exceeds the limit of %d "+
			"(a list costs its page size times the cost of one item; ask for smaller pages or fewer fields)", cost, lim.MaxComplexity)
	}
	if g.rl != nil {
		if d := g.rl.Charge(bucketKey(c), c.PartnerID, cost); !d.OK {
			metrics.RateLimited.WithLabelValues(metrics.KindLabel(c.Kind, c.IsPublic()), "cost").Inc()
			return toGQL(rateLimited(d, fmt.Sprintf("cost budget exceeded: this operation costs %d and the budget is %d a minute",
				cost, d.Limit.CostPerMinute)))
		}
	}
	return nil
}

func overLimit(limit int, format string, args ...any) *gqlerror.Error {
	return &gqlerror.Error{Message: fmt.Sprintf(format, args...),
		Extensions: map[string]any{"code": apierror.ComplexityExceeded, "limit": limit}}
}

// toGQL turns a caller-facing error into a GraphQL error with its code.
func toGQL(err error) *gqlerror.Error {
	e, ok := apierror.As(err)
	if !ok {
		return gqlerror.WrapIfUnwrapped(err)
	}
	ge := &gqlerror.Error{Message: e.Error(), Extensions: map[string]any{"code": e.Code}}
	if rl, ok := err.(*rateLimitedError); ok {
		ge.Extensions["retryAfter"] = rl.retryAfter
	}
	return ge
}

// shape is what measure finds in an operation.
type shape struct {
	fields, depth, aliases, rootFields int
	introspection                      bool
}

// measure walks an operation with its fragments expanded. It stops counting
// once past the field limit, so that a document whose fragments multiply
// (each spreading the one before twice) costs little to refuse.
func measure(op *ast.OperationDefinition, lim Limits) shape {
	var s shape
	var walk func(set ast.SelectionSet, depth int, root bool)
	walk = func(set ast.SelectionSet, depth int, root bool) {
		for _, sel := range set {
			if s.fields > lim.MaxFields || depth > lim.MaxDepth {
				if depth > s.depth {
					s.depth = depth
				}
				return
			}
			switch x := sel.(type) {
			case *ast.Field:
				s.fields++
				s.depth = max(s.depth, depth)
				if root {
					s.rootFields++
				}
				if x.Alias != "" && x.Alias != x.Name {
					s.aliases++
				}
				if x.Name == "__schema" || x.Name == "__type" {
					s.introspection = true
				}
				walk(x.SelectionSet, depth+1, false)
			case *ast.InlineFragment:
				walk(x.SelectionSet, depth, root)
			case *ast.FragmentSpread:
				if x.Definition != nil {
					walk(x.Definition.SelectionSet, depth, root)
				}
			}
		}
	}
	if op != nil {
		walk(op.SelectionSet, 1, true)
	}
	return s
}

// persistedQueryNotFound is the code gqlgen's automatic persisted queries give
// an unknown hash.
const persistedQueryNotFound = "PERSISTED_QUERY_NOT_FOUND"

var suggestionRe = regexp.MustCompile(`\s*Did you mean .*$`)

// withoutSuggestions removes gqlparser's "Did you mean …?" hints, which name
// fields and values the caller did not ask about.
func withoutSuggestions(msg string) string { return suggestionRe.ReplaceAllString(msg, "") }
