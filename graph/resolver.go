// Package graph resolves the GraphQL schema: resolvers read the caller from the
// context, check what the schema's directives require, and call the store,
// batching nested lookups through the request's loaders.
package graph

//go:generate go tool gqlgen generate

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/99designs/gqlgen/graphql"

	"github.com/gen-hub/genhub/graph/model"
	"github.com/gen-hub/genhub/internal/access"
	"github.com/gen-hub/genhub/internal/apierror"
	"github.com/gen-hub/genhub/internal/store"
)

// Resolver holds what resolvers need.
type Resolver struct {
	Store *store.Store

	refOnce     sync.Once
	regions     []*model.Region
	regionByID  map[string]*model.Region
	departments []*model.Department
	deptByID    map[string]*model.Department
	refErr      error

	figuresMu sync.Mutex
	figures   *store.NationalFigures
	figuresAt time.Time
}

// NewConfig returns the executable schema's configuration: resolvers and directives.
func NewConfig(s *store.Store) Config {
	cfg := Config{
		Resolvers: &Resolver{Store: s},
		Directives: DirectiveRoot{
			Level: func(ctx context.Context, obj any, next graphql.Resolver, min model.AccessLevel) (any, error) {
				if err := requireLevel(ctx, min); err != nil {
					return nil, err
				}
				return next(ctx)
			},
			Partner: func(ctx context.Context, obj any, next graphql.Resolver) (any, error) {
				if access.FromContext(ctx).IsPublic() {
					return nil, apierror.Denied("this field needs an API key: send Authorization: Bearer <key>")
				}
				return next(ctx)
			},
			Kinds: func(ctx context.Context, obj any, next graphql.Resolver, allow []model.PartnerKind) (any, error) {
				c := access.FromContext(ctx)
				if c.IsOperator() || slices.Contains(allow, model.PartnerKind(upper(c.Kind))) {
					return next(ctx)
				}
				return nil, apierror.Denied("this field is for partners of kind %v only", allow)
			},
		},
	}
	setComplexity(&cfg.Complexity)
	return cfg
}

// requireLevel refuses callers below level min; the operator passes.
func requireLevel(ctx context.Context, min model.AccessLevel) error {
	c := access.FromContext(ctx)
	want, err := access.ParseLevel(model.Code(min))
	if err != nil {
		return err
	}
	if c.IsOperator() || (!c.IsPublic() && c.Level >= want) {
		return nil
	}
	if c.IsPublic() {
		return &apierror.Error{Code: apierror.Forbidden, Message: "this field needs an API key with " + model.Code(min) + " level"}
	}
	return apierror.Denied("this field needs %s level; your entitlements in force give %s", model.Code(min), c.Level)
}

// mayReadFinances refuses callers who may not see the money a formation
// received: below detail level, and a CROUS (learners' aid only; its role
// holds no grant on seed grants).
func mayReadFinances(ctx context.Context) error {
	if err := requireLevel(ctx, model.AccessLevelDetail); err != nil {
		return err
	}
	if access.FromContext(ctx).Kind == access.KindCrous {
		return apierror.Denied("a CROUS sees learners' aid, not the finances of formations")
	}
	return nil
}

// mayCountLearners refuses callers who may not see session sizes: below
// detail level, and a CROUS, which sees only its own applicants.
func mayCountLearners(ctx context.Context) error {
	if err := requireLevel(ctx, model.AccessLevelDetail); err != nil {
		return err
	}
	if access.FromContext(ctx).Kind == access.KindCrous {
		return apierror.Denied("a CROUS sees only the learners who applied to it, not session sizes")
	}
	return nil
}

// reference returns the regions and departments, read once: they are fixed by migrations.
func (r *Resolver) reference(ctx context.Context) error {
	r.refOnce.Do(func() {
		ctx := access.WithCaller(context.WithoutCancel(ctx), access.Caller{})
		if r.regions, r.refErr = r.Store.Regions(ctx); r.refErr != nil {
			return
		}
		if r.departments, r.refErr = r.Store.Departments(ctx); r.refErr != nil {
			return
		}
		r.regionByID = map[string]*model.Region{}
		for _, x := range r.regions {
			r.regionByID[x.Code] = x
		}
		r.deptByID = map[string]*model.Department{}
		for _, x := range r.departments {
			r.deptByID[x.Code] = x
		}
	})
	if r.refErr != nil {
		err := r.refErr
		r.refOnce = sync.Once{} // try again on the next request
		return err
	}
	return nil
}

func (r *Resolver) region(ctx context.Context, code string) (*model.Region, error) {
	if err := r.reference(ctx); err != nil {
		return nil, err
	}
	return r.regionByID[code], nil
}

func (r *Resolver) department(ctx context.Context, code string) (*model.Department, error) {
	if err := r.reference(ctx); err != nil {
		return nil, err
	}
	return r.deptByID[code], nil
}

// nationalFigures returns the public key figures, computed at most once a minute.
func (r *Resolver) nationalFigures(ctx context.Context) (*store.NationalFigures, error) {
	r.figuresMu.Lock()
	defer r.figuresMu.Unlock()
	if r.figures != nil && time.Since(r.figuresAt) < time.Minute {
		return r.figures, nil
	}
	f, err := r.Store.NationalFigures(ctx)
	if err != nil {
		return nil, err
	}
	slices.SortFunc(f.Years, func(a, b store.YearFigures) int { return a.Year - b.Year })
	r.figures, r.figuresAt = f, time.Now()
	return f, nil
}

// connection turns a store page into a Relay connection.
func connection[T any](res *store.Result[T]) *model.Connection[T] {
	return model.NewConnection(res.Rows, res.Cursor, res.HasPrevious, res.HasNext, res.Count)
}

func upper(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'a' <= c && c <= 'z' {
			b[i] = c - 'a' + 'A'
		}
	}
	return string(b)
}
