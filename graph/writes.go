package graph

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/gen-hub/genhub/graph/model"
	"github.com/gen-hub/genhub/internal/access"
	"github.com/gen-hub/genhub/internal/apierror"
	"github.com/gen-hub/genhub/internal/store"
)

// MaxBulk is the most items one bulk mutation takes (500 enrolments fit the
// default request body limit); the CSV import takes more.
const MaxBulk = 500

// idReader reads the global identifiers of mutation inputs, collecting the bad ones.
type idReader struct{ p apierror.Problems }

// id returns the integer key of identifier v of type typ, or records a problem at field.
func (r *idReader) id(typ, field, v string) int {
	n, ok := model.ParseIntID(typ, v)
	if !ok {
		r.p.Add(field, "not a %s identifier", typeWords[typ])
	}
	return n
}

// opt is id for an optional identifier: 0 when absent.
func (r *idReader) opt(typ, field string, v *string) int {
	if v == nil {
		return 0
	}
	return r.id(typ, field, *v)
}

var typeWords = map[string]string{
	"Organisation": "organisation", "Partner": "partner", "Formation": "formation", "Session": "session",
	"Enrolment": "enrolment", "AidApplication": "aid application", "Entitlement": "entitlement",
	"FundingAgreement": "funding agreement", "LabellingCall": "labelling call", "Label": "label",
}

// userErr spreads a list of bad fields into one GraphQL error each, so that
// callers see every field with its path and code.
func userErr(err error) error {
	var p *apierror.Problems
	if !errors.As(err, &p) {
		return err
	}
	list := make(gqlerror.List, 0, len(p.List)+1)
	for _, e := range p.List {
		list = append(list, &gqlerror.Error{Err: e, Message: e.Error()})
	}
	if p.Dropped > 0 {
		more := apierror.BadInput("input", "and %d more problems", p.Dropped)
		list = append(list, &gqlerror.Error{Err: more, Message: more.Error()})
	}
	return list
}

// result returns v, or nil and the caller-facing form of err.
func result[T any](v *T, err error) (*T, error) {
	if err != nil {
		return nil, userErr(err)
	}
	return v, nil
}

func str(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// day returns d, or today when d is absent.
func day(d *model.Date) time.Time {
	if d == nil {
		return model.NewDate(time.Now()).Time
	}
	return d.Time
}

func optDay(d *model.Date) *time.Time {
	if d == nil {
		return nil
	}
	return &d.Time
}

func optInt(n *int) int {
	if n == nil {
		return 0
	}
	return *n
}

// requireOwned refuses ids (rows of kind, see store.Owned) the caller may not
// write to, each at field(i), with the same words whether the row is someone
// else's or does not exist.
func (r *Resolver) requireOwned(ctx context.Context, kind string, ids []int, field func(i int) string, what string) error {
	own, err := r.Store.Owned(ctx, kind, ids)
	if err != nil {
		return err
	}
	var p apierror.Problems
	for i, id := range ids {
		if !own[id] {
			p.List = append(p.List, &apierror.Error{Code: apierror.Forbidden, Field: field(i), Message: "not " + what})
		}
	}
	return p.Err()
}

// notOperator refuses the operator a write that belongs to another kind of partner.
func notOperator(ctx context.Context, whose string) error {
	if access.FromContext(ctx).IsOperator() {
		return apierror.Denied("this is %s's to record, not the operator's", whose)
	}
	return nil
}

func at(path string, i int, field string) string { return fmt.Sprintf("%s[%d].%s", path, i, field) }

// checkBulk refuses an empty or oversized batch, and a malformed idempotency key.
func checkBulk(field string, n int, keyField, key string) error {
	var p apierror.Problems
	if n == 0 || n > MaxBulk {
		p.Add(field, "give 1 to %d items (got %d); import larger files as CSV", MaxBulk, n)
	}
	if err := store.CheckIdempotencyKey(keyField, key); err != nil {
		p.List = append(p.List, err.(*apierror.Error))
	}
	return userErr(p.Err())
}
