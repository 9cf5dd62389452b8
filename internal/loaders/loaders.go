// Package loaders batches the lookups of one GraphQL request: each loader
// gathers the keys asked for by sibling resolvers and reads them in one
// statement. Connection resolvers also prime the loaders with what the query
// asks for below them, so that nested data costs one statement per level
// whatever the page size.
package loaders

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/vikstrous/dataloadgen"

	"github.com/gen-hub/genhub/graph/model"
	"github.com/gen-hub/genhub/internal/store"
)

// PageKey identifies one page of a nested connection: a parent and the page asked.
type PageKey[K comparable] struct {
	Parent   K
	Limit    int
	Backward bool
	Cursor   string
}

// NewPageKey returns the key of page p of parent's list.
func NewPageKey[K comparable](parent K, p store.Page) PageKey[K] {
	return PageKey[K]{Parent: parent, Limit: p.Limit, Backward: p.Backward, Cursor: strings.Join(p.Cursor, "\x00")}
}

func (k PageKey[K]) page() store.Page {
	p := store.Page{Limit: k.Limit, Backward: k.Backward}
	if k.Cursor != "" {
		p.Cursor = strings.Split(k.Cursor, "\x00")
	}
	return p
}

// ActiveCounts are counts of formations holding a label in force.
type ActiveCounts struct{ ByRegion, ByDepartment map[string]int }

// Loaders are the loaders of one request.
type Loaders struct {
	Formation        *Loader[int, *model.Formation]
	Organisation     *Loader[int, *model.Organisation]
	Session          *Loader[int, *model.Session]
	Enrolment        *Loader[int, *model.Enrolment]
	AidApplication   *Loader[int, *model.AidApplication]
	Partner          *Loader[int, *model.Partner]
	FundingAgreement *Loader[int, *model.FundingAgreement]
	Entitlement      *Loader[int, *model.Entitlement]
	Label            *Loader[int, *model.Label]
	LabellingCall    *Loader[int, *model.LabellingCall]
	Qpv              *Loader[string, *model.Qpv]
	Labels           *Loader[int, []*model.Label]
	SeedGrants       *Loader[int, []*model.SeedGrant]
	Outcomes         *Loader[int, []*model.Outcome]
	SessionCount     *Loader[int, *store.SessionCount]
	// ActiveFormations counts formations with a label in force, by region and department (key 0).
	ActiveFormations *Loader[int, ActiveCounts]

	SessionsOf             *Loader[PageKey[int], *store.Result[model.Session]]
	EnrolmentsOf           *Loader[PageKey[int], *store.Result[model.Enrolment]]
	FormationsOfOrg        *Loader[PageKey[int], *store.Result[model.Formation]]
	FormationsOfRegion     *Loader[PageKey[string], *store.Result[model.Formation]]
	FormationsOfDepartment *Loader[PageKey[string], *store.Result[model.Formation]]
}

// PrimeFormation records formation id (nil when hidden) in the loader.
func (l *Loaders) PrimeFormation(id int, f *model.Formation) {
	l.Formation.Prime(id, f)
}

// FormationPrimed says whether formation id is already known to the loader.
func (l *Loaders) FormationPrimed(id int) bool {
	_, ok := l.Formation.Primed(id)
	return ok
}

// Loader is a dataloadgen loader that remembers the values primed into it, so
// that code walking a page already read can take them without waiting for a
// batch (Primed).
type Loader[K comparable, V any] struct {
	*dataloadgen.Loader[K, V]
	mu     sync.Mutex
	primed map[K]V
}

// Prime records v for k unless k is already known (dataloadgen's rule).
func (l *Loader[K, V]) Prime(k K, v V) bool {
	if !l.Loader.Prime(k, v) {
		return false
	}
	l.mu.Lock()
	if l.primed == nil {
		l.primed = map[K]V{}
	}
	l.primed[k] = v
	l.mu.Unlock()
	return true
}

// Primed returns the value primed for k, if any; it never reads the database.
func (l *Loader[K, V]) Primed(k K) (V, bool) {
	l.mu.Lock()
	v, ok := l.primed[k]
	l.mu.Unlock()
	return v, ok
}

// wait is how long a loader gathers keys before reading them; resolvers of
// siblings start within microseconds of each other.
const wait = 500 * time.Microsecond

func opts() []dataloadgen.Option {
	return []dataloadgen.Option{dataloadgen.WithWait(wait), dataloadgen.WithBatchCapacity(store.MaxPage * 10)}
}

// mapped makes a loader whose missing keys load as nil (hidden or absent rows).
func mapped[K comparable, V any](fetch func(ctx context.Context, keys []K) (map[K]V, error)) *Loader[K, V] {
	return &Loader[K, V]{Loader: dataloadgen.NewLoader(func(ctx context.Context, keys []K) ([]V, []error) {
		m, err := fetch(ctx, keys)
		vals, errs := make([]V, len(keys)), make([]error, len(keys))
		for i, k := range keys {
			vals[i], errs[i] = m[k], err
		}
		return vals, errs
	}, opts()...)}
}

// pages makes a loader of nested connection pages, one statement per distinct page asked.
func pages[K comparable, T any](fetch func(ctx context.Context, parents []K, p store.Page) (map[K]*store.Result[T], error)) *Loader[PageKey[K], *store.Result[T]] {
	return mapped(func(ctx context.Context, keys []PageKey[K]) (map[PageKey[K]]*store.Result[T], error) {
		groups := map[PageKey[K]][]K{} // page with zero parent -> parents
		for _, k := range keys {
			g := k
			var zero K
			g.Parent = zero
			groups[g] = append(groups[g], k.Parent)
		}
		out := make(map[PageKey[K]]*store.Result[T], len(keys))
		for g, parents := range groups {
			res, err := fetch(ctx, parents, g.page())
			if err != nil {
				return nil, err
			}
			for _, parent := range parents {
				k := g
				k.Parent = parent
				out[k] = res[parent]
			}
		}
		return out, nil
	})
}

// New returns the loaders of one request.
func New(s *store.Store) *Loaders {
	return &Loaders{
		Formation:        mapped(s.FormationsByID),
		Organisation:     mapped(s.OrganisationsByID),
		Session:          mapped(s.SessionsByID),
		Enrolment:        mapped(s.EnrolmentsByID),
		AidApplication:   mapped(s.AidApplicationsByID),
		Partner:          mapped(s.PartnersByID),
		FundingAgreement: mapped(s.FundingAgreementsByID),
		Entitlement:      mapped(s.EntitlementsByID),
		Label:            mapped(s.LabelsByID),
		LabellingCall:    mapped(s.LabellingCallsByID),
		Qpv:              mapped(s.Qpvs),
		Labels:           mapped(s.LabelsByFormation),
		SeedGrants:       mapped(s.SeedGrantsByFormation),
		Outcomes:         mapped(s.OutcomesByEnrolment),
		SessionCount: mapped(func(ctx context.Context, ids []int) (map[int]*store.SessionCount, error) {
			m, err := s.SessionCounts(ctx, ids)
			out := make(map[int]*store.SessionCount, len(m))
			for k, v := range m {
				out[k] = &v
			}
			return out, err
		}),
		ActiveFormations: mapped(func(ctx context.Context, _ []int) (map[int]ActiveCounts, error) {
			r, d, err := s.ActiveFormations(ctx)
			return map[int]ActiveCounts{0: {ByRegion: r, ByDepartment: d}}, err
		}),
		SessionsOf: pages(func(ctx context.Context, ids []int, p store.Page) (map[int]*store.Result[model.Session], error) {
			return s.SessionsOf(ctx, ids, p, nil)
		}),
		EnrolmentsOf: pages(s.EnrolmentsOf),
		FormationsOfOrg: pages(func(ctx context.Context, ids []int, p store.Page) (map[int]*store.Result[model.Formation], error) {
			return store.FormationsOf(ctx, s, "f.organisation_id", func(f *model.Formation) int { return f.OrganisationID }, ids, p, nil)
		}),
		FormationsOfRegion: pages(func(ctx context.Context, codes []string, p store.Page) (map[string]*store.Result[model.Formation], error) {
			return store.FormationsOf(ctx, s, "f.region_code", func(f *model.Formation) string { return f.RegionCode }, codes, p, nil)
		}),
		FormationsOfDepartment: pages(func(ctx context.Context, codes []string, p store.Page) (map[string]*store.Result[model.Formation], error) {
			return store.FormationsOf(ctx, s, "f.department_code", func(f *model.Formation) string { return f.DepartmentCode }, codes, p, nil)
		}),
	}
}

type ctxKey struct{}

// Middleware gives each request its own loaders.
func Middleware(s *store.Store, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, New(s))))
	})
}

// For returns the loaders of the request in ctx.
func For(ctx context.Context) *Loaders {
	return ctx.Value(ctxKey{}).(*Loaders)
}

// WithLoaders returns ctx carrying l (for tests and non-HTTP callers).
func WithLoaders(ctx context.Context, l *Loaders) context.Context {
	return context.WithValue(ctx, ctxKey{}, l)
}

// Load loads one key; a hidden or absent row is nil, not an error.
func Load[K comparable, V any](ctx context.Context, l *Loader[K, V], k K) (V, error) {
	v, err := l.Load(ctx, k)
	if errors.Is(err, dataloadgen.ErrNotFound) {
		var zero V
		return zero, nil
	}
	return v, err
}
