package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/gen-hub/genhub/graph/model"
	"github.com/gen-hub/genhub/internal/apierror"
	"github.com/gen-hub/genhub/internal/codes"
)

// The operator's writes. Each runs in one transaction as the caller; only the
// operator's request role holds the grants, and its policies check that the
// caller really is the operator.

// OrganisationInput is a new training organisation.
type OrganisationInput struct {
	SIRET, Name, LegalStatus, City, DepartmentCode string
}

var legalStatuses = []string{"association", "private_company", "public_body", "local_authority", "university", "other"}

// Check reports the input's bad fields.
func (in OrganisationInput) Check(p *apierror.Problems) {
	if !codes.SIRET(in.SIRET) {
		p.Add("input.siret", "%q is not a SIRET: 14 digits passing the Luhn check", in.SIRET)
	}
	checkLength(p, "input.name", in.Name, 2, 200)
	checkEnum(p, "input.legalStatus", in.LegalStatus, legalStatuses)
	checkLength(p, "input.city", in.City, 1, 100)
	checkDepartment(p, "input.departmentCode", in.DepartmentCode)
}

// CreateOrganisation records a training organisation.
func (s *Store) CreateOrganisation(ctx context.Context, in OrganisationInput) (*model.Organisation, error) {
	var p apierror.Problems
	in.Check(&p)
	if err := p.Err(); err != nil {
		return nil, err
	}
	var o model.Organisation
	err := s.write(ctx, "input", func(tx *sqlx.Tx) error {
		return tx.GetContext(ctx, &o, `
			INSERT INTO hub.organisation AS o (siret, name, legal_status, city, department_code)
			VALUES ($1, $2, $3, $4, $5) RETURNING `+organisationCols,
			in.SIRET, strings.TrimSpace(in.Name), in.LegalStatus, strings.TrimSpace(in.City), in.DepartmentCode)
	})
	if err != nil {
		return nil, fmt.Errorf("store: create organisation: %w", err)
	}
	return &o, nil
}

// PartnerInput is a new partner. A regional council needs its region, a
// training organisation its organisation, a CROUS the departments it serves.
type PartnerInput struct {
	Slug, Name, Kind string
	RegionCode       string
	OrganisationID   int
	DepartmentCodes  []string
}

var partnerKinds = []string{"operator", "funder", "region", "employment_service", "crous", "organisation"}

// Check reports the input's bad fields.
func (in PartnerInput) Check(p *apierror.Problems) {
	if !codes.Slug(in.Slug) {
		p.Add("input.slug", "give 2 to 63 lower-case letters, digits or '-', starting with a letter or digit")
	}
	checkLength(p, "input.name", in.Name, 2, 200)
	checkEnum(p, "input.kind", in.Kind, partnerKinds)
	switch {
	case in.Kind == "region" && in.RegionCode == "":
		p.Add("input.regionCode", "a regional council needs its region")
	case in.RegionCode != "" && in.Kind != "region" && in.Kind != "crous":
		p.Add("input.regionCode", "only a regional council or a CROUS has a region")
	case in.RegionCode != "" && !codes.Region(in.RegionCode):
		p.Add("input.regionCode", "%q is not an INSEE region code (two digits, e.g. 84)", in.RegionCode)
	}
	if (in.Kind == "organisation") != (in.OrganisationID != 0) {
		p.Add("input.organisationId", "a training organisation partner, and only it, needs its organisation")
	}
	if in.Kind == "crous" && len(in.DepartmentCodes) == 0 {
		p.Add("input.departmentCodes", "a CROUS needs the departments it serves")
	}
	if in.Kind != "crous" && len(in.DepartmentCodes) > 0 {
		p.Add("input.departmentCodes", "only a CROUS serves departments")
	}
	for i, d := range in.DepartmentCodes {
		checkDepartment(p, fmt.Sprintf("input.departmentCodes[%d]", i), d)
	}
}

// CreatePartner records a partner; the database gives it the default
// entitlements of its kind.
func (s *Store) CreatePartner(ctx context.Context, in PartnerInput) (*model.Partner, error) {
	var p apierror.Problems
	in.Check(&p)
	if err := p.Err(); err != nil {
		return nil, err
	}
	var out model.Partner
	err := s.write(ctx, "input", func(tx *sqlx.Tx) error {
		err := tx.GetContext(ctx, &out, `
			INSERT INTO hub.partner AS p (slug, name, kind, region_code, organisation_id)
			VALUES ($1, $2, $3, nullif($4, ''), nullif($5, 0)) RETURNING `+partnerCols,
			in.Slug, strings.TrimSpace(in.Name), in.Kind, in.RegionCode, in.OrganisationID)
		if err != nil {
			return err
		}
		if len(in.DepartmentCodes) > 0 {
			_, err = tx.ExecContext(ctx, `INSERT INTO hub.crous_area (partner_id, department_code) SELECT $1, unnest($2::text[])`,
				out.RowID, pq.Array(in.DepartmentCodes))
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: create partner: %w", err)
	}
	return &out, nil
}

// PartnerUpdate changes a partner's name or region; empty fields stay.
type PartnerUpdate struct {
	ID               int
	Name, RegionCode string
}

// UpdatePartner changes a partner.
func (s *Store) UpdatePartner(ctx context.Context, in PartnerUpdate) (*model.Partner, error) {
	var p apierror.Problems
	if in.Name != "" {
		checkLength(&p, "input.name", in.Name, 2, 200)
	}
	if in.RegionCode != "" && !codes.Region(in.RegionCode) {
		p.Add("input.regionCode", "%q is not an INSEE region code (two digits, e.g. 84)", in.RegionCode)
	}
	if err := p.Err(); err != nil {
		return nil, err
	}
	var out model.Partner
	err := s.write(ctx, "input", func(tx *sqlx.Tx) error {
		return notFound(tx.GetContext(ctx, &out, `
			UPDATE hub.partner p SET name = coalesce(nullif($2, ''), name), region_code = coalesce(nullif($3, ''), region_code)
			 WHERE p.id = $1 RETURNING `+partnerCols, in.ID, strings.TrimSpace(in.Name), in.RegionCode), "input.id", "no such partner")
	})
	if err != nil {
		return nil, fmt.Errorf("store: update partner: %w", err)
	}
	return &out, nil
}

const apiKeyCols = `k.id, k.partner_id, k.prefix, k.label, k.created_at, k.expires_at, k.revoked_at, k.last_used_at`

// IssueKey stores a new key of partner partnerID, given its prefix and hash
// (the key itself is never stored).
func (s *Store) IssueKey(ctx context.Context, partnerID int, prefix string, hash []byte, label string, expires *time.Time) (*model.ApiKey, error) {
	var p apierror.Problems
	checkLength(&p, "input.label", label, 1, 200)
	if expires != nil && !expires.After(time.Now()) {
		p.Add("input.expiresAt", "must be in the future")
	}
	if err := p.Err(); err != nil {
		return nil, err
	}
	var k model.ApiKey
	err := s.write(ctx, "input", func(tx *sqlx.Tx) error {
		return tx.GetContext(ctx, &k, `
			INSERT INTO hub.api_key AS k (partner_id, prefix, hash, label, expires_at)
			VALUES ($1, $2, $3, $4, $5) RETURNING `+apiKeyCols, partnerID, prefix, hash, strings.TrimSpace(label), expires)
	})
	if err != nil {
		return nil, fmt.Errorf("store: issue key: %w", err)
	}
	return &k, nil
}

// RevokeKeyByPrefix revokes the key with the given prefix.
func (s *Store) RevokeKeyByPrefix(ctx context.Context, prefix string) (*model.ApiKey, error) {
	var k model.ApiKey
	err := s.write(ctx, "input", func(tx *sqlx.Tx) error {
		return notFound(tx.GetContext(ctx, &k, `
			UPDATE hub.api_key k SET revoked_at = coalesce(revoked_at, now()) WHERE k.prefix = $1 RETURNING `+apiKeyCols, prefix),
			"input.prefix", "no key with this prefix")
	})
	if err != nil {
		return nil, fmt.Errorf("store: revoke key: %w", err)
	}
	return &k, nil
}

// KeysByPartner returns the keys of the given partners that the caller may see.
func (s *Store) KeysByPartner(ctx context.Context, partnerIDs []int) (map[int][]*model.ApiKey, error) {
	var rows []*model.ApiKey
	err := s.Read(ctx, func(tx *sqlx.Tx) error {
		return tx.SelectContext(ctx, &rows, `SELECT `+apiKeyCols+` FROM hub.api_key k WHERE k.partner_id = ANY($1) ORDER BY k.id`, pq.Array(partnerIDs))
	})
	if err != nil {
		return nil, fmt.Errorf("store: keys: %w", err)
	}
	m := map[int][]*model.ApiKey{}
	for _, r := range rows {
		m[r.PartnerID] = append(m[r.PartnerID], r)
	}
	return m, nil
}

// EntitlementInput is a grant the operator makes: one scope (its target set
// accordingly), a level, dates and a purpose.
type EntitlementInput struct {
	PartnerID                                                 int
	Scope                                                     string
	RegionCode, DepartmentCode                                string
	OrganisationID, FormationID, AgreementID, LabellingCallID int
	Level                                                     string
	ValidFrom                                                 time.Time
	ValidUntil                                                *time.Time
	Purpose                                                   string
	KThreshold                                                *int
	TrustedOnly                                               bool
}

// Check reports the input's bad fields.
func (in EntitlementInput) Check(p *apierror.Problems) {
	checkEnum(p, "input.scope", in.Scope, []string{"national", "region", "department", "organisation", "formation", "funding_agreement", "labelling_call", "aid_applications"})
	checkEnum(p, "input.level", in.Level, []string{"public", "aggregate", "detail", "personal"})
	targets := map[string]bool{
		"region": in.RegionCode != "", "department": in.DepartmentCode != "", "organisation": in.OrganisationID != 0,
		"formation": in.FormationID != 0, "funding_agreement": in.AgreementID != 0, "labelling_call": in.LabellingCallID != 0,
	}
	field := map[string]string{"region": "regionCode", "department": "departmentCode", "organisation": "organisationId",
		"formation": "formationId", "funding_agreement": "fundingAgreementId", "labelling_call": "labellingCallId"}
	for scope, given := range targets {
		if given != (scope == in.Scope) {
			if given {
				p.Add("input."+field[scope], "give it only with scope %s", strings.ToUpper(scope))
			} else {
				p.Add("input."+field[scope], "scope %s needs it", strings.ToUpper(scope))
			}
		}
	}
	if in.RegionCode != "" && !codes.Region(in.RegionCode) {
		p.Add("input.regionCode", "%q is not an INSEE region code (two digits, e.g. 84)", in.RegionCode)
	}
	if in.DepartmentCode != "" {
		checkDepartment(p, "input.departmentCode", in.DepartmentCode)
	}
	if in.ValidUntil != nil && in.ValidUntil.Before(in.ValidFrom) {
		p.Add("input.validUntil", "must not be before validFrom (%s)", in.ValidFrom.Format(time.DateOnly))
	}
	checkLength(p, "input.purpose", in.Purpose, 3, 500)
	if in.KThreshold != nil && (*in.KThreshold < 5 || *in.KThreshold > 1000) {
		p.Add("input.kThreshold", "must be between 5 and 1000 (the default is 11)")
	}
}

// GrantEntitlement records a grant.
func (s *Store) GrantEntitlement(ctx context.Context, in EntitlementInput) (*model.Entitlement, error) {
	var p apierror.Problems
	in.Check(&p)
	if err := p.Err(); err != nil {
		return nil, err
	}
	var e model.Entitlement
	err := s.write(ctx, "input", func(tx *sqlx.Tx) error {
		return tx.GetContext(ctx, &e, `
			INSERT INTO hub.entitlement AS e (partner_id, scope, region_code, department_code, organisation_id, formation_id,
			                                  agreement_id, call_id, level, k_threshold, valid_from, valid_until, purpose,
			                                  source, trusted_only, granted_by)
			VALUES ($1, $2, nullif($3, ''), nullif($4, ''), nullif($5, 0), nullif($6, 0), nullif($7, 0), nullif($8, 0),
			        $9, $10, $11, $12, $13, 'granted', $14, $15)
			RETURNING `+entitlementCols,
			in.PartnerID, in.Scope, in.RegionCode, in.DepartmentCode, in.OrganisationID, in.FormationID, in.AgreementID,
			in.LabellingCallID, in.Level, in.KThreshold, in.ValidFrom, in.ValidUntil, strings.TrimSpace(in.Purpose),
			in.TrustedOnly, Author(ctx))
	})
	if err != nil {
		return nil, fmt.Errorf("store: grant entitlement: %w", err)
	}
	return &e, nil
}

// RevokeEntitlement revokes a grant at once.
func (s *Store) RevokeEntitlement(ctx context.Context, id int) (*model.Entitlement, error) {
	var e model.Entitlement
	err := s.write(ctx, "input", func(tx *sqlx.Tx) error {
		return notFound(tx.GetContext(ctx, &e, `
			UPDATE hub.entitlement e SET revoked_at = now(), revoked_by = $2
			 WHERE e.id = $1 AND e.revoked_at IS NULL RETURNING `+entitlementCols, id, Author(ctx)),
			"input.id", "no entitlement in force with this identifier")
	})
	if err != nil {
		return nil, fmt.Errorf("store: revoke entitlement: %w", err)
	}
	return &e, nil
}

// CallInput is a new labelling call.
type CallInput struct {
	Code, Name, Programme string
	OpenedOn, ClosedOn    time.Time
	ResultsOn             *time.Time
	EnvelopeEur           *float64
}

// CreateLabellingCall records a labelling call.
func (s *Store) CreateLabellingCall(ctx context.Context, in CallInput) (*model.LabellingCall, error) {
	var p apierror.Problems
	if !codes.CallCode(in.Code) {
		p.Add("input.code", "give 2 to 20 upper-case letters, digits or '-' (e.g. W4-2026)")
	}
	checkLength(&p, "input.name", in.Name, 2, 200)
	checkEnum(&p, "input.programme", in.Programme, []string{"pia_fej", "pic", "none"})
	if in.ClosedOn.Before(in.OpenedOn) {
		p.Add("input.closedOn", "must not be before openedOn")
	}
	if in.ResultsOn != nil && in.ResultsOn.Before(in.ClosedOn) {
		p.Add("input.resultsOn", "must not be before closedOn")
	}
	if in.EnvelopeEur != nil && *in.EnvelopeEur < 0 {
		p.Add("input.envelopeEur", "must not be negative")
	}
	if err := p.Err(); err != nil {
		return nil, err
	}
	var c model.LabellingCall
	err := s.write(ctx, "input", func(tx *sqlx.Tx) error {
		return tx.GetContext(ctx, &c, `
			INSERT INTO hub.labelling_call AS c (code, name, programme, opened_on, closed_on, results_on, envelope_eur)
			VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING `+callCols,
			in.Code, strings.TrimSpace(in.Name), in.Programme, in.OpenedOn, in.ClosedOn, in.ResultsOn, in.EnvelopeEur)
	})
	if err != nil {
		return nil, fmt.Errorf("store: create labelling call: %w", err)
	}
	return &c, nil
}

const labelCols = `l.id, l.formation_id, l.call_id, l.granted_on, l.valid_until, l.status, l.withdrawn_on`

// LabelInput grants a formation a label in a call.
type LabelInput struct {
	FormationID, CallID   int
	GrantedOn, ValidUntil time.Time
}

func (in LabelInput) check(p *apierror.Problems) {
	if !in.ValidUntil.After(in.GrantedOn) {
		p.Add("input.validUntil", "must be after grantedOn (%s)", in.GrantedOn.Format(time.DateOnly))
	}
}

// GrantLabel labels a formation; it enters the public catalogue.
func (s *Store) GrantLabel(ctx context.Context, in LabelInput) (*model.Label, error) {
	var p apierror.Problems
	in.check(&p)
	if err := p.Err(); err != nil {
		return nil, err
	}
	var l model.Label
	err := s.write(ctx, "input", func(tx *sqlx.Tx) error {
		return tx.GetContext(ctx, &l, `
			INSERT INTO hub.label AS l (formation_id, call_id, granted_on, valid_until, status)
			VALUES ($1, $2, $3, $4, 'active') RETURNING `+labelCols, in.FormationID, in.CallID, in.GrantedOn, in.ValidUntil)
	})
	if err != nil {
		return nil, fmt.Errorf("store: grant label: %w", err)
	}
	return &l, nil
}

// RenewLabel replaces label id by a label of a later call for the same formation.
func (s *Store) RenewLabel(ctx context.Context, id int, in LabelInput) (*model.Label, error) {
	var p apierror.Problems
	in.check(&p)
	if err := p.Err(); err != nil {
		return nil, err
	}
	var l model.Label
	err := s.write(ctx, "input", func(tx *sqlx.Tx) error {
		var old model.Label
		err := notFound(tx.GetContext(ctx, &old, `
			UPDATE hub.label l SET status = 'renewed' WHERE l.id = $1 AND l.status IN ('active', 'expired')
			RETURNING `+labelCols, id), "input.labelId", "no active or expired label with this identifier")
		if err != nil {
			return err
		}
		if !in.GrantedOn.After(old.GrantedOn.Time) {
			return apierror.BadInput("input.grantedOn", "a renewal is granted after the label it renews (%s)", old.GrantedOn)
		}
		return tx.GetContext(ctx, &l, `
			INSERT INTO hub.label AS l (formation_id, call_id, granted_on, valid_until, status)
			VALUES ($1, $2, $3, $4, 'active') RETURNING `+labelCols, old.FormationID, in.CallID, in.GrantedOn, in.ValidUntil)
	})
	if err != nil {
		return nil, fmt.Errorf("store: renew label: %w", err)
	}
	return &l, nil
}

// WithdrawLabel withdraws a label; a formation left without a label in force
// leaves the public catalogue.
func (s *Store) WithdrawLabel(ctx context.Context, id int, on time.Time) (*model.Label, error) {
	var l model.Label
	err := s.write(ctx, "input", func(tx *sqlx.Tx) error {
		err := notFound(tx.GetContext(ctx, &l, `
			UPDATE hub.label l SET status = 'withdrawn', withdrawn_on = $2
			 WHERE l.id = $1 AND l.status <> 'withdrawn' RETURNING `+labelCols, id, on),
			"input.labelId", "no label in force with this identifier")
		var pqErr *pq.Error
		if errors.As(err, &pqErr) && pqErr.Code == "23514" {
			return apierror.BadInput("input.withdrawnOn", "a label cannot be withdrawn before it was granted")
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: withdraw label: %w", err)
	}
	return &l, nil
}

// SeedGrantInput is a seed grant paid with a label.
type SeedGrantInput struct {
	LabelID            int
	AmountEur          float64
	BudgetShare        float64
	SessionsCovered    int
	ConventionSignedOn time.Time
	Justified          bool
}

// CreateSeedGrant records a seed grant.
func (s *Store) CreateSeedGrant(ctx context.Context, in SeedGrantInput) (*model.SeedGrant, error) {
	var p apierror.Problems
	if in.AmountEur <= 0 || in.AmountEur >= 1e8 {
		p.Add("input.amountEur", "must be positive (and below 100 million)")
	}
	if in.BudgetShare <= 0 || in.BudgetShare > 0.8 {
		p.Add("input.budgetShare", "must be above 0 and at most 0.8 of the formation's budget")
	}
	if in.SessionsCovered != 1 && in.SessionsCovered != 2 {
		p.Add("input.sessionsCovered", "a seed grant covers 1 or 2 sessions")
	}
	if err := p.Err(); err != nil {
		return nil, err
	}
	var g model.SeedGrant
	err := s.write(ctx, "input", func(tx *sqlx.Tx) error {
		return notFound(tx.GetContext(ctx, &g, `
			INSERT INTO hub.seed_grant AS g (label_id, formation_id, amount_eur, budget_share, sessions_covered, convention_signed_on, justified)
			SELECT l.id, l.formation_id, $2, $3, $4, $5, $6 FROM hub.label l WHERE l.id = $1
			RETURNING g.id, g.formation_id, g.amount_eur, g.budget_share, g.sessions_covered, g.convention_signed_on, g.justified`,
			in.LabelID, in.AmountEur, in.BudgetShare, in.SessionsCovered, in.ConventionSignedOn, in.Justified),
			"input.labelId", "no such label")
	})
	if err != nil {
		return nil, fmt.Errorf("store: create seed grant: %w", err)
	}
	return &g, nil
}

// AgreementInput is a funding agreement: one scope, its target set accordingly.
type AgreementInput struct {
	PartnerID                           int
	Reference, Title, Scope             string
	RegionCode, DepartmentCode          string
	OrganisationID, FormationID, CallID int
	AmountEur                           float64
	ValidFrom, ValidUntil               time.Time
}

// CreateFundingAgreement records a funding agreement; the database grants
// its funder aggregates over what it covers while it is in force.
func (s *Store) CreateFundingAgreement(ctx context.Context, in AgreementInput) (*model.FundingAgreement, error) {
	var p apierror.Problems
	checkLength(&p, "input.reference", in.Reference, 3, 60)
	checkLength(&p, "input.title", in.Title, 3, 200)
	ent := EntitlementInput{Scope: in.Scope, RegionCode: in.RegionCode, DepartmentCode: in.DepartmentCode,
		OrganisationID: in.OrganisationID, FormationID: in.FormationID, LabellingCallID: in.CallID,
		Level: "aggregate", ValidFrom: in.ValidFrom, ValidUntil: &in.ValidUntil, Purpose: "agreement"}
	if in.Scope == "funding_agreement" || in.Scope == "aid_applications" {
		p.Add("input.scope", "an agreement covers the nation, a region, a department, an organisation, a formation or a labelling call")
	} else {
		ent.Check(&p)
	}
	if in.AmountEur < 0 || in.AmountEur >= 1e10 {
		p.Add("input.amountEur", "must not be negative")
	}
	if err := p.Err(); err != nil {
		return nil, err
	}
	var a model.FundingAgreement
	err := s.write(ctx, "input", func(tx *sqlx.Tx) error {
		err := tx.GetContext(ctx, &a, `
			INSERT INTO hub.funding_agreement AS a (partner_id, reference, title, scope, region_code, department_code,
			                                        organisation_id, formation_id, call_id, amount_eur, valid_from, valid_until)
			VALUES ($1, $2, $3, $4, nullif($5, ''), nullif($6, ''), nullif($7, 0), nullif($8, 0), nullif($9, 0), $10, $11, $12)
			RETURNING `+agreementCols,
			in.PartnerID, strings.TrimSpace(in.Reference), strings.TrimSpace(in.Title), in.Scope, in.RegionCode,
			in.DepartmentCode, in.OrganisationID, in.FormationID, in.CallID, in.AmountEur, in.ValidFrom, in.ValidUntil)
		var pqErr *pq.Error
		if errors.As(err, &pqErr) && pqErr.Code == "23503" && pqErr.Constraint == "funding_agreement_partner_id_partner_kind_fkey" {
			return apierror.BadInput("input.partnerId", "an agreement is made with a partner of kind FUNDER")
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: create funding agreement: %w", err)
	}
	return &a, nil
}

// notFound turns "no row" into a caller-facing error about field.
func notFound(err error, field, msg string) error {
	if errors.Is(err, sql.ErrNoRows) {
		return &apierror.Error{Code: apierror.NotFound, Field: field, Message: msg}
	}
	return err
}

func checkLength(p *apierror.Problems, field, s string, min, max int) {
	n := len([]rune(strings.TrimSpace(s)))
	if n < min || n > max {
		p.Add(field, "give between %d and %d characters", min, max)
	}
}

func checkEnum(p *apierror.Problems, field, v string, allowed []string) {
	if !slices.Contains(allowed, v) {
		p.Add(field, "%q is not one of %s", v, strings.ToUpper(strings.Join(allowed, ", ")))
	}
}

func checkDepartment(p *apierror.Problems, field, code string) {
	if !codes.Department(code) {
		p.Add(field, "%q is not an INSEE department code (e.g. 93, 2A, 974)", code)
	}
}
