package graph

import (
	"context"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/gen-hub/genhub/graph/model"
	"github.com/gen-hub/genhub/internal/access"
	"github.com/gen-hub/genhub/internal/loaders"
	"github.com/gen-hub/genhub/internal/store"
)

// A connection resolver knows every row of its page before their fields are
// resolved: it reads what the query asks below the rows in one statement per
// field and primes the request's loaders, so that nested fields cost one
// statement per level of nesting whatever the page size.

// nodeFields returns the fields asked on the nodes of a connection field (under
// `nodes` and `edges { node }`), merged by name: a field asked twice (under
// both, or under two aliases) has the selections of both, so that what is read
// for it serves both; its arguments are the first one's.
func nodeFields(ctx context.Context, conn []ast.Selection, typ string) map[string]graphql.CollectedField {
	op := graphql.GetOperationContext(ctx)
	out := map[string]graphql.CollectedField{}
	add := func(sel []ast.Selection) {
		for _, f := range graphql.CollectFields(op, sel, []string{typ, "Node"}) {
			if g, ok := out[f.Name]; ok {
				g.Selections = append(append(ast.SelectionSet(nil), g.Selections...), f.Selections...)
				out[f.Name] = g
			} else {
				out[f.Name] = f
			}
		}
	}
	for _, f := range graphql.CollectFields(op, conn, nil) {
		switch f.Name {
		case "nodes":
			add(f.Selections)
		case "edges":
			for _, e := range graphql.CollectFields(op, f.Selections, nil) {
				if e.Name == "node" {
					add(e.Selections)
				}
			}
		}
	}
	return out
}

// currentFields returns the fields asked on the nodes of the connection being resolved.
func currentFields(ctx context.Context, typ string) map[string]graphql.CollectedField {
	return nodeFields(ctx, graphql.GetFieldContext(ctx).Field.Selections, typ)
}

// countNowIfAsked computes a connection's totalCount inside the current unit
// of work when the query asks for it, saving a transaction of its own.
func countNowIfAsked[T any](ctx context.Context, res *store.Result[T]) error {
	op := graphql.GetOperationContext(ctx)
	for _, f := range graphql.CollectFields(op, graphql.GetFieldContext(ctx).Field.Selections, nil) {
		if f.Name == "totalCount" {
			n, err := res.Count(ctx)
			if err != nil {
				return err
			}
			res.Count = func(context.Context) (int, error) { return n, nil }
			return nil
		}
	}
	return nil
}

// pageOf reads the Relay arguments of a nested connection field.
func pageOf(ctx context.Context, f graphql.CollectedField) (store.Page, error) {
	args := f.ArgumentMap(graphql.GetOperationContext(ctx).Variables)
	num := func(k string) *int {
		if v, ok := args[k].(int64); ok {
			n := int(v)
			return &n
		}
		return nil
	}
	str := func(k string) *string {
		if v, ok := args[k].(string); ok {
			return &v
		}
		return nil
	}
	return store.NewPage(num("first"), str("after"), num("last"), str("before"))
}

func ids[T any](rows []*T, id func(*T) int) []int {
	out := make([]int, 0, len(rows))
	seen := map[int]bool{}
	for _, r := range rows {
		if k := id(r); k != 0 && !seen[k] {
			seen[k] = true
			out = append(out, k)
		}
	}
	return out
}

// primeAll primes loader l with m's value for every key, nil for keys m lacks.
func primeAll[K comparable, V any](l interface{ Prime(K, V) bool }, keys []K, m map[K]V) {
	for _, k := range keys {
		l.Prime(k, m[k])
	}
}

// prefetchFormations reads what fields asks below rows. complete says rows
// hold every column: only then are they primed in the by-id loader.
func (r *Resolver) prefetchFormations(ctx context.Context, rows []*model.Formation, fields map[string]graphql.CollectedField, complete bool) error {
	if len(rows) == 0 {
		return nil
	}
	ld := loaders.For(ctx)
	fids := ids(rows, func(f *model.Formation) int { return f.RowID })
	if complete {
		for _, f := range rows {
			ld.PrimeFormation(f.RowID, f)
		}
	}
	if _, ok := fields["organisation"]; ok {
		oids := ids(rows, func(f *model.Formation) int { return f.OrganisationID })
		m, err := joinedOrganisations(rows)
		if m == nil && err == nil {
			m, err = r.Store.OrganisationsByID(ctx, oids)
		}
		if err != nil {
			return err
		}
		primeAll(ld.Organisation, oids, m)
	}
	if _, ok := fields["labels"]; ok {
		m, err := r.Store.LabelsByFormation(ctx, fids)
		if err != nil {
			return err
		}
		primeAll(ld.Labels, fids, m)
	}
	if _, ok := fields["seedGrants"]; ok && mayReadFinances(ctx) == nil {
		m, err := r.Store.SeedGrantsByFormation(ctx, fids)
		if err != nil {
			return err
		}
		primeAll(ld.SeedGrants, fids, m)
	}
	if f, ok := fields["sessions"]; ok {
		p, err := pageOf(ctx, f)
		if err != nil {
			return err
		}
		sub := nodeFields(ctx, f.Selections, "Session")
		cols := columnsFor(sub, sessionFieldColumns)
		res, err := r.Store.SessionsOf(ctx, fids, p, cols)
		if err != nil {
			return err
		}
		var all []*model.Session
		for _, id := range fids {
			ld.SessionsOf.Prime(loaders.NewPageKey(id, p), res[id])
			all = append(all, res[id].Rows...)
		}
		if err := r.prefetchSessions(ctx, all, sub, cols == nil); err != nil {
			return err
		}
	}
	return nil
}

// joinedOrganisations returns the organisations read with rows (nil when they
// were not: the page was read without them).
func joinedOrganisations(rows []*model.Formation) (map[int]*model.Organisation, error) {
	m := make(map[int]*model.Organisation, len(rows))
	for _, f := range rows {
		o, read, err := f.JoinedOrganisation()
		if !read || err != nil {
			return nil, err
		}
		if o != nil {
			m[o.RowID] = o
		}
	}
	return m, nil
}

// prefetchSessions reads what fields asks below rows (see prefetchFormations).
func (r *Resolver) prefetchSessions(ctx context.Context, rows []*model.Session, fields map[string]graphql.CollectedField, complete bool) error {
	if len(rows) == 0 {
		return nil
	}
	ld := loaders.For(ctx)
	sids := ids(rows, func(s *model.Session) int { return s.RowID })
	if complete {
		for _, s := range rows {
			ld.Session.Prime(s.RowID, s)
		}
	}
	if _, ok := fields["formation"]; ok {
		fids := ids(rows, func(s *model.Session) int { return s.FormationID })
		var missing []int
		for _, id := range fids {
			if !ld.FormationPrimed(id) {
				missing = append(missing, id)
			}
		}
		if len(missing) > 0 {
			m, err := r.Store.FormationsByID(ctx, missing)
			if err != nil {
				return err
			}
			for _, id := range missing {
				ld.PrimeFormation(id, m[id])
			}
		}
	}
	if _, ok := fields["enrolmentCount"]; ok && mayCountLearners(ctx) == nil {
		m, err := r.Store.SessionCounts(ctx, sids)
		if err != nil {
			return err
		}
		for _, id := range sids {
			if c, ok := m[id]; ok {
				ld.SessionCount.Prime(id, &c)
			} else {
				ld.SessionCount.Prime(id, nil)
			}
		}
	}
	if f, ok := fields["enrolments"]; ok && requireLevel(ctx, model.AccessLevelPersonal) == nil {
		p, err := pageOf(ctx, f)
		if err != nil {
			return err
		}
		res, err := r.Store.EnrolmentsOf(ctx, sids, p)
		if err != nil {
			return err
		}
		var all []*model.Enrolment
		for _, id := range sids {
			ld.EnrolmentsOf.Prime(loaders.NewPageKey(id, p), res[id])
			all = append(all, res[id].Rows...)
		}
		if err := r.prefetchEnrolments(ctx, all, nodeFields(ctx, f.Selections, "Enrolment")); err != nil {
			return err
		}
	}
	return nil
}

func (r *Resolver) prefetchEnrolments(ctx context.Context, rows []*model.Enrolment, fields map[string]graphql.CollectedField) error {
	if len(rows) == 0 {
		return nil
	}
	ld := loaders.For(ctx)
	for _, e := range rows {
		ld.Enrolment.Prime(e.RowID, e)
	}
	if _, ok := fields["outcomes"]; ok && access.FromContext(ctx).Kind != access.KindCrous {
		eids := ids(rows, func(e *model.Enrolment) int { return e.RowID })
		m, err := r.Store.OutcomesByEnrolment(ctx, eids)
		if err != nil {
			return err
		}
		primeAll(ld.Outcomes, eids, m)
	}
	return nil
}

func (r *Resolver) prefetchOrganisations(ctx context.Context, rows []*model.Organisation, fields map[string]graphql.CollectedField) error {
	if len(rows) == 0 {
		return nil
	}
	ld := loaders.For(ctx)
	oids := ids(rows, func(o *model.Organisation) int { return o.RowID })
	for _, o := range rows {
		ld.Organisation.Prime(o.RowID, o)
	}
	if f, ok := fields["formations"]; ok {
		p, err := pageOf(ctx, f)
		if err != nil {
			return err
		}
		sub := nodeFields(ctx, f.Selections, "Formation")
		cols := columnsFor(sub, formationFieldColumns)
		res, err := store.FormationsOf(ctx, r.Store, "f.organisation_id", func(f *model.Formation) int { return f.OrganisationID }, oids, p, cols)
		if err != nil {
			return err
		}
		var all []*model.Formation
		for _, id := range oids {
			ld.FormationsOfOrg.Prime(loaders.NewPageKey(id, p), res[id])
			all = append(all, res[id].Rows...)
		}
		return r.prefetchFormations(ctx, all, sub, cols == nil)
	}
	return nil
}

// The columns each GraphQL field of a row type is read from; fields not
// listed need no column beyond the identifier (or are not columns at all).
var (
	formationFieldColumns = map[string][]string{
		"title": {"title"}, "organisation": {"organisation_id"}, "jobFamily": {"job_family"},
		"certificationCode": {"certification_code"}, "certificationLevel": {"certification_level"},
		"certifying": {"certifying"}, "durationMonths": {"duration_months"}, "deliveryMode": {"delivery_mode"},
		"freeOfCharge": {"free_of_charge"}, "seats": {"seats"}, "address": {"address"}, "postcode": {"postcode"},
		"city": {"city"}, "department": {"department_code"}, "region": {"region_code"}, "qpv": {"qpv_code"},
		"latitude": {"latitude"}, "longitude": {"longitude"}, "listed": {"listed"},
	}
	sessionFieldColumns = map[string][]string{
		"formation": {"formation_id"}, "startOn": {"start_on"}, "endOn": {"end_on"}, "plannedSeats": {"planned_seats"},
	}
)

// columnsFor returns the columns the asked fields need. Fields of a fragment
// on an interface (e.g. ... on Node) or anything unknown read every column.
func columnsFor(fields map[string]graphql.CollectedField, byField map[string][]string) []string {
	cols := []string{}
	for name := range fields {
		c, ok := byField[name]
		if !ok && !noColumn[name] {
			return nil
		}
		cols = append(cols, c...)
	}
	return cols
}

// noColumn lists fields served without a column of their own.
var noColumn = map[string]bool{"id": true, "__typename": true, "labels": true, "sessions": true,
	"seedGrants": true, "enrolmentCount": true, "enrolments": true}
