package graph_test

import (
	"encoding/json"
	"testing"

	"github.com/gen-hub/genhub/internal/hubtest"
)

// TestAdministration follows the operator onboarding a training organisation:
// the database gives the new partner its default grant, its key works once
// issued and stops once revoked, a label puts a formation in the public
// catalogue and its withdrawal takes it out, an agreement gives its funder a
// grant, and a revoked grant is no longer in force.
func TestAdministration(t *testing.T) {
	e := hubtest.New(t)
	f := loadFixtures(t, e)
	op := key(t, operator)
	do := func(q string, vars map[string]any, v any) {
		t.Helper()
		e.Query(t, op, q, map[string]any{"i": vars}).MustData(t, v)
	}
	n := seq.Add(1)
	var org struct{ CreateOrganisation struct{ ID, Siret string } }
	do(`mutation($i: CreateOrganisationInput!) { createOrganisation(input: $i) { id siret } }`,
		map[string]any{"siret": siret(n), "name": "Atelier Numérique d'Amiens", "legalStatus": "ASSOCIATION", "city": "Amiens", "departmentCode": "80"}, &org)
	var partner struct{ CreatePartner struct{ ID string } }
	do(`mutation($i: CreatePartnerInput!) { createPartner(input: $i) { id } }`,
		map[string]any{"slug": "org-atelier-amiens", "name": "Atelier Numérique d'Amiens", "kind": "ORGANISATION",
			"organisationId": org.CreateOrganisation.ID}, &partner)
	var issued struct {
		IssueApiKey struct {
			Key    string
			ApiKey struct{ Prefix string }
		}
	}
	do(`mutation($i: IssueApiKeyInput!) { issueApiKey(input: $i) { key apiKey { prefix } } }`,
		map[string]any{"partnerId": partner.CreatePartner.ID, "label": "reporting"}, &issued)
	var me struct {
		Me struct {
			Level        string
			Entitlements []struct{ Scope, Level, Source string }
		}
	}
	e.Query(t, issued.IssueApiKey.Key, `{ me { level entitlements { scope level source } } }`, nil).MustData(t, &me)
	if me.Me.Level != "PERSONAL" || len(me.Me.Entitlements) != 1 || me.Me.Entitlements[0].Scope != "ORGANISATION" || me.Me.Entitlements[0].Source != "DEFAULT" {
		t.Errorf("new organisation partner: %+v, want its default personal grant on its organisation", me.Me)
	}

	// A formation enters the catalogue with its label, and leaves it when the label is withdrawn.
	var formation struct{ CreateFormation struct{ ID string } }
	fv := formationVars(org.CreateOrganisation.Siret, n)
	fv["departmentCode"], fv["postcode"], fv["city"] = "80", "80000", "Amiens"
	do(`mutation($i: CreateFormationInput!) { createFormation(input: $i) { id } }`, fv, &formation)
	public := func() bool {
		var got struct{ Formation *struct{ Listed bool } }
		e.Query(t, "", `query($id: ID!) { formation(id: $id) { listed } }`, map[string]any{"id": formation.CreateFormation.ID}).MustData(t, &got)
		return got.Formation != nil && got.Formation.Listed
	}
	if public() {
		t.Fatal("an unlabelled formation is in the public catalogue")
	}
	var label struct{ GrantLabel struct{ ID string } }
	do(`mutation($i: GrantLabelInput!) { grantLabel(input: $i) { id } }`, map[string]any{"formationId": formation.CreateFormation.ID,
		"callId": gid("LabellingCall", f.Call), "grantedOn": today(), "validUntil": "2029-12-31"}, &label)
	if !public() {
		t.Error("a labelled formation is not in the public catalogue")
	}
	do(`mutation($i: WithdrawLabelInput!) { withdrawLabel(input: $i) { status } }`, map[string]any{"labelId": label.GrantLabel.ID}, &struct{}{})
	if public() {
		t.Error("a formation whose label was withdrawn is still in the public catalogue")
	}
	// The new organisation reports on its new formation.
	var session struct{ CreateSession struct{ ID string } }
	e.Query(t, issued.IssueApiKey.Key, `mutation($i: CreateSessionInput!) { createSession(input: $i) { id } }`,
		map[string]any{"i": map[string]any{"formationId": formation.CreateFormation.ID, "startOn": "2026-09-07", "endOn": "2027-04-09", "plannedSeats": 12}}).MustData(t, &session)

	// An agreement grants its funder aggregates over what it covers.
	var agreement struct{ CreateFundingAgreement struct{ ID string } }
	do(`mutation($i: CreateFundingAgreementInput!) { createFundingAgreement(input: $i) { id } }`,
		map[string]any{"partnerId": gid("Partner", f.FunderPartner), "reference": "CONV-AMIENS-2026", "title": "Amiens",
			"scope": "ORGANISATION", "organisationId": org.CreateOrganisation.ID, "amountEur": 20000,
			"validFrom": "2026-01-01", "validUntil": "2027-12-31"}, &agreement)
	var grants struct {
		Entitlements struct {
			Nodes []struct {
				ID, Scope, Level string
				Effective        bool
				FundingAgreement *struct{ ID string }
			}
		}
	}
	res := e.Query(t, op, `query($p: ID) { entitlements(partnerId: $p, first: 100) { nodes { id scope level effective fundingAgreement { id } } } }`,
		map[string]any{"p": gid("Partner", f.FunderPartner)})
	res.MustData(t, &grants)
	var grant string
	for _, g := range grants.Entitlements.Nodes {
		if g.FundingAgreement != nil && g.FundingAgreement.ID == agreement.CreateFundingAgreement.ID && g.Level == "AGGREGATE" && g.Effective {
			grant = g.ID
		}
	}
	if grant == "" {
		t.Fatalf("no grant in force for the new agreement: %s", res.Data)
	}
	var revoked struct{ RevokeEntitlement struct{ Effective bool } }
	do(`mutation($i: RevokeEntitlementInput!) { revokeEntitlement(input: $i) { effective } }`, map[string]any{"id": grant}, &revoked)
	if revoked.RevokeEntitlement.Effective {
		t.Error("a revoked grant is still in force")
	}

	// The key stops working once revoked.
	do(`mutation($i: RevokeApiKeyInput!) { revokeApiKey(input: $i) { revokedAt } }`, map[string]any{"prefix": issued.IssueApiKey.ApiKey.Prefix}, &struct{}{})
	if r := e.Query(t, issued.IssueApiKey.Key, `{ me { level } }`, nil); r.Status != 401 {
		b, _ := json.Marshal(r.Errors)
		t.Errorf("revoked key: status %d %s", r.Status, b)
	}
}
