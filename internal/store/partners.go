package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/gen-hub/genhub/graph/model"
)

const partnerCols = `p.id, p.slug, p.name, p.kind, p.region_code, p.organisation_id`

// Partners returns a page of the partners the caller may read, by slug.
func (s *Store) Partners(ctx context.Context, kind *model.PartnerKind, p Page) (*Result[model.Partner], error) {
	l := &list[model.Partner]{
		sel:   partnerCols,
		from:  "hub.partner p",
		order: order{cols: []string{"p.slug"}, types: []string{"text"}},
		key:   func(p *model.Partner) []string { return []string{p.Slug} },
	}
	if kind != nil {
		l.q.and("p.kind = " + l.q.arg(model.Code(*kind)))
	}
	return fetch(ctx, s, l, p)
}

// PartnersByID returns the partners with the given ids that the caller may read.
func (s *Store) PartnersByID(ctx context.Context, ids []int) (map[int]*model.Partner, error) {
	var rows []*model.Partner
	err := s.Read(ctx, func(tx *sqlx.Tx) error {
		return tx.SelectContext(ctx, &rows, `SELECT `+partnerCols+` FROM hub.partner p WHERE p.id = ANY($1)`, pq.Array(ids))
	})
	if err != nil {
		return nil, fmt.Errorf("store: partners by id: %w", err)
	}
	m := make(map[int]*model.Partner, len(rows))
	for _, r := range rows {
		m[r.RowID] = r
	}
	return m, nil
}

const agreementCols = `a.id, a.partner_id, a.reference, a.title, a.scope, a.region_code, a.department_code,
	a.organisation_id, a.formation_id, a.call_id, a.amount_eur, a.valid_from, a.valid_until`

// FundingAgreements returns a page of the agreements the caller may read.
func (s *Store) FundingAgreements(ctx context.Context, p Page) (*Result[model.FundingAgreement], error) {
	l := &list[model.FundingAgreement]{
		sel:   agreementCols,
		from:  "hub.funding_agreement a",
		order: order{cols: []string{"a.id"}, types: []string{"integer"}},
		key:   func(a *model.FundingAgreement) []string { return []string{strconv.Itoa(a.RowID)} },
	}
	return fetch(ctx, s, l, p)
}

// FundingAgreementsByID returns the agreements with the given ids that the caller may read.
func (s *Store) FundingAgreementsByID(ctx context.Context, ids []int) (map[int]*model.FundingAgreement, error) {
	var rows []*model.FundingAgreement
	err := s.Read(ctx, func(tx *sqlx.Tx) error {
		return tx.SelectContext(ctx, &rows, `SELECT `+agreementCols+` FROM hub.funding_agreement a WHERE a.id = ANY($1)`, pq.Array(ids))
	})
	if err != nil {
		return nil, fmt.Errorf("store: funding agreements by id: %w", err)
	}
	m := make(map[int]*model.FundingAgreement, len(rows))
	for _, r := range rows {
		m[r.RowID] = r
	}
	return m, nil
}

// entitlementCols marks a row effective when the caller's function lists it in force today.
const entitlementCols = `e.id, e.partner_id, e.scope, e.region_code, e.department_code, e.organisation_id,
	e.formation_id, e.agreement_id, e.call_id, e.level, e.k_threshold, e.valid_from, e.valid_until,
	e.purpose, e.source, e.trusted_only, e.granted_by, e.granted_at, e.revoked_at,
	(e.revoked_at IS NULL AND e.valid_from <= current_date
	 AND (e.valid_until IS NULL OR e.valid_until >= current_date)
	 AND (e.agreement_id IS NULL OR EXISTS (SELECT 1 FROM hub.funding_agreement a
	       WHERE a.id = e.agreement_id AND a.valid_from <= current_date AND a.valid_until >= current_date))) AS effective`

// Entitlements returns a page of the entitlement rows the caller may read,
// optionally of one partner.
func (s *Store) Entitlements(ctx context.Context, partnerID int, p Page) (*Result[model.Entitlement], error) {
	l := &list[model.Entitlement]{
		sel:   entitlementCols,
		from:  "hub.entitlement e",
		order: order{cols: []string{"e.id"}, types: []string{"integer"}},
		key:   func(e *model.Entitlement) []string { return []string{strconv.Itoa(e.RowID)} },
	}
	if partnerID != 0 {
		l.q.and("e.partner_id = " + l.q.arg(partnerID))
	}
	return fetch(ctx, s, l, p)
}

// EntitlementsByID returns the entitlement rows with the given ids that the caller may read.
func (s *Store) EntitlementsByID(ctx context.Context, ids []int) (map[int]*model.Entitlement, error) {
	var rows []*model.Entitlement
	err := s.Read(ctx, func(tx *sqlx.Tx) error {
		return tx.SelectContext(ctx, &rows, `SELECT `+entitlementCols+` FROM hub.entitlement e WHERE e.id = ANY($1)`, pq.Array(ids))
	})
	if err != nil {
		return nil, fmt.Errorf("store: entitlements by id: %w", err)
	}
	m := make(map[int]*model.Entitlement, len(rows))
	for _, r := range rows {
		m[r.RowID] = r
	}
	return m, nil
}

// EffectiveEntitlements returns the caller's entitlement rows in force today.
func (s *Store) EffectiveEntitlements(ctx context.Context) ([]*model.Entitlement, error) {
	var rows []*model.Entitlement
	err := s.Read(ctx, func(tx *sqlx.Tx) error {
		return tx.SelectContext(ctx, &rows, `SELECT `+entitlementCols+` FROM hub.entitlement e
			WHERE e.id IN (SELECT entitlement_id FROM hub.caller_entitlements()) ORDER BY e.id`)
	})
	if err != nil {
		return nil, fmt.Errorf("store: effective entitlements: %w", err)
	}
	return rows, nil
}

// FormationAccess says how the caller's grants in force cover one formation.
type FormationAccess struct {
	Visible      bool   // the caller can read the formation's row
	Listed       bool   // it is in the public catalogue
	Level        string // highest level of the grants covering it, "" if none
	Entitlements []int  // ids of the grants in force covering it
}

// ExplainFormation tells how the caller's grants cover formation id. A
// formation the caller cannot read gives the same answer whether it exists or not.
func (s *Store) ExplainFormation(ctx context.Context, id int) (FormationAccess, error) {
	var a FormationAccess
	err := s.Read(ctx, func(tx *sqlx.Tx) error {
		var row struct {
			Listed bool `db:"listed"`
		}
		err := tx.GetContext(ctx, &row, `SELECT f.listed FROM hub.formation f WHERE f.id = $1`, id)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		a.Visible, a.Listed = true, row.Listed
		var grants []struct {
			ID    int    `db:"entitlement_id"`
			Level string `db:"level"`
		}
		err = tx.SelectContext(ctx, &grants, `
			SELECT e.entitlement_id, e.level
			  FROM hub.caller_entitlements() e
			  JOIN hub.formation f ON f.id = $1
			 WHERE e.scope = 'national'
			    OR (e.scope = 'region' AND e.region_code = f.region_code)
			    OR (e.scope = 'department' AND e.department_code = f.department_code)
			    OR (e.scope = 'organisation' AND e.organisation_id = f.organisation_id)
			    OR (e.scope = 'formation' AND e.formation_id = f.id)
			    OR (e.scope = 'labelling_call' AND EXISTS (SELECT 1 FROM hub.label l WHERE l.formation_id = f.id AND l.call_id = e.call_id))
			 ORDER BY hub.level_rank(e.level) DESC, e.entitlement_id`, id)
		if err != nil {
			return err
		}
		for _, g := range grants {
			if a.Level == "" {
				a.Level = g.Level
			}
			a.Entitlements = append(a.Entitlements, g.ID)
		}
		return nil
	})
	if err != nil {
		return a, fmt.Errorf("store: explain formation: %w", err)
	}
	return a, nil
}
