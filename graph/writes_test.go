package graph_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gen-hub/genhub/graph/model"
	"github.com/gen-hub/genhub/internal/access"
	"github.com/gen-hub/genhub/internal/auth"
	"github.com/gen-hub/genhub/internal/hubtest"
	"github.com/gen-hub/genhub/internal/seed"
)

// Writers: one demo partner per kind. The organisation and the CROUS are
// chosen so that the organisation's learners apply to that CROUS (Lille, in
// Hauts-de-France); the others are the ones they must not write for.
const (
	operator      = "gip-gen"
	organisation  = "org-code-academie-lille"
	otherOrg      = "org-fabrique-numerique-saint-denis"
	crous         = "crous-hauts-de-france"
	otherCrous    = "crous-creteil"
	funder        = "google"
	region        = "region-hauts-de-france"
	employment    = "france-travail"
	publicCaller  = ""
	idempotencyOK = "retry-key-0001"
)

var writers = []string{operator, funder, region, employment, crous, organisation, publicCaller}

var kindOf = map[string]string{operator: "operator", funder: "funder", region: "region", employment: "employment_service",
	crous: "crous", organisation: "organisation", publicCaller: "public"}

func key(t *testing.T, slug string) string {
	t.Helper()
	if slug == "" {
		return ""
	}
	for _, p := range seed.Partners() {
		if p.Slug == slug {
			return p.Key
		}
	}
	t.Fatalf("no demo partner %s", slug)
	return ""
}

// fixtures are rows of the demo data each write path needs: for the
// organisation ("own") and for the other one ("other").
type fixtures struct {
	OwnFormation, OtherFormation     int
	OwnSession, OtherSession         int
	OwnEnrolment, OtherEnrolment     int // learners who finished, their session over
	OwnApplication, OtherApplication int // aid applications of the organisations' learners
	Label, Call, Agreement           int
	RenewedLabel, RenewalCall        int
	FunderPartner                    int
	Entitlement                      int
	Organisation                     int
	OrgSIRET                         string
	OwnSessionStart                  string
}

func loadFixtures(t *testing.T, e *hubtest.Env) fixtures {
	t.Helper()
	var f fixtures
	one := func(dst *int, q string, args ...any) {
		t.Helper()
		if err := e.Admin.Get(dst, q, args...); err != nil {
			t.Fatalf("fixture %s: %v", q, err)
		}
	}
	formation := `SELECT f.id FROM hub.formation f JOIN hub.partner p ON p.organisation_id = f.organisation_id
		WHERE p.slug = $1 ORDER BY f.id LIMIT 1`
	one(&f.OwnFormation, formation, organisation)
	one(&f.OtherFormation, formation, otherOrg)
	session := `SELECT s.id FROM hub.session s WHERE s.formation_id = $1 ORDER BY s.start_on DESC, s.id LIMIT 1`
	one(&f.OwnSession, session, f.OwnFormation)
	one(&f.OtherSession, session, f.OtherFormation)
	if err := e.Admin.Get(&f.OwnSessionStart, `SELECT start_on::text FROM hub.session WHERE id = $1`, f.OwnSession); err != nil {
		t.Fatal(err)
	}
	enrolment := `SELECT e.id FROM hub.enrolment e JOIN hub.session s ON s.id = e.session_id
		JOIN hub.partner p ON p.organisation_id = (SELECT organisation_id FROM hub.formation WHERE id = e.formation_id)
		WHERE p.slug = $1 AND e.completion <> 'ongoing' AND s.end_on < current_date - 200 ORDER BY e.id LIMIT 1`
	one(&f.OwnEnrolment, enrolment, organisation)
	one(&f.OtherEnrolment, enrolment, otherOrg)
	application := `SELECT a.id FROM hub.aid_application a JOIN hub.formation fo ON fo.id = a.formation_id
		JOIN hub.partner p ON p.organisation_id = fo.organisation_id WHERE p.slug = $1 ORDER BY a.id LIMIT 1`
	one(&f.OwnApplication, application, organisation)
	one(&f.OtherApplication, application, otherOrg)
	one(&f.Label, `SELECT id FROM hub.label l WHERE status = 'active'
		AND NOT EXISTS (SELECT 1 FROM hub.seed_grant g WHERE g.label_id = l.id) ORDER BY id LIMIT 1`)
	one(&f.Call, `SELECT c.id FROM hub.labelling_call c WHERE NOT EXISTS
		(SELECT 1 FROM hub.label l WHERE l.call_id = c.id AND l.formation_id = $1) ORDER BY c.opened_on DESC LIMIT 1`, f.OwnFormation)
	one(&f.FunderPartner, `SELECT id FROM hub.partner WHERE slug = $1`, funder)
	one(&f.Organisation, `SELECT organisation_id FROM hub.partner WHERE slug = $1`, organisation)
	one(&f.Entitlement, `SELECT e.id FROM hub.entitlement e JOIN hub.partner p ON p.id = e.partner_id
		WHERE p.slug = 'region-ile-de-france' AND e.revoked_at IS NULL ORDER BY e.id LIMIT 1`)
	one(&f.RenewedLabel, `SELECT id FROM hub.label l WHERE status = 'active' AND id <> $1 ORDER BY id LIMIT 1`, f.Label)
	one(&f.RenewalCall, `SELECT c.id FROM hub.labelling_call c WHERE NOT EXISTS (SELECT 1 FROM hub.label l
		WHERE l.call_id = c.id AND l.formation_id = (SELECT formation_id FROM hub.label WHERE id = $1)) ORDER BY c.opened_on DESC LIMIT 1`, f.RenewedLabel)
	if err := e.Admin.Get(&f.OrgSIRET, `SELECT siret FROM hub.organisation WHERE id = $1`, f.Organisation); err != nil {
		t.Fatal(err)
	}
	var crousOf int
	one(&crousOf, `SELECT crous_id FROM hub.aid_application WHERE id = $1`, f.OwnApplication)
	var want int
	one(&want, `SELECT id FROM hub.partner WHERE slug = $1`, crous)
	if crousOf != want {
		t.Fatalf("fixture: application %d is filed with partner %d, not %s", f.OwnApplication, crousOf, crous)
	}
	return f
}

var seq atomic.Int64

// siret returns a new valid SIRET (Luhn) for n.
func siret(n int64) string {
	base := fmt.Sprintf("9%012d", n)
	for d := 0; d < 10; d++ {
		s := base + fmt.Sprint(d)
		sum := 0
		for i := 0; i < 14; i++ {
			x := int(s[i] - '0')
			if i%2 == 0 {
				if x *= 2; x > 9 {
					x -= 9
				}
			}
			sum += x
		}
		if sum%10 == 0 {
			return s
		}
	}
	panic("unreachable")
}

func gid(typ string, id int) string { return model.IntID(typ, id) }

// writeCase is one write path: a mutation, its variables, the kinds allowed.
type writeCase struct {
	field string
	allow []string // kinds allowed
	query string
	vars  func(f fixtures, n int64) map[string]any
}

var operatorOnly = []string{"operator"}

var writeCases = []writeCase{
	{"createOrganisation", operatorOnly, `mutation($i: CreateOrganisationInput!) { createOrganisation(input: $i) { id siret } }`,
		func(f fixtures, n int64) map[string]any {
			return map[string]any{"siret": siret(n), "name": fmt.Sprintf("Atelier test %d", n), "legalStatus": "ASSOCIATION", "city": "Lens", "departmentCode": "62"}
		}},
	{"createPartner", operatorOnly, `mutation($i: CreatePartnerInput!) { createPartner(input: $i) { id slug kind } }`,
		func(f fixtures, n int64) map[string]any {
			return map[string]any{"slug": fmt.Sprintf("funder-test-%d", n), "name": "Fondation test", "kind": "FUNDER"}
		}},
	{"updatePartner", operatorOnly, `mutation($i: UpdatePartnerInput!) { updatePartner(input: $i) { id name } }`,
		func(f fixtures, n int64) map[string]any {
			return map[string]any{"id": gid("Partner", f.FunderPartner), "name": fmt.Sprintf("Google France %d", n)}
		}},
	{"issueApiKey", operatorOnly, `mutation($i: IssueApiKeyInput!) { issueApiKey(input: $i) { key apiKey { prefix partner { slug } } } }`,
		func(f fixtures, n int64) map[string]any {
			return map[string]any{"partnerId": gid("Partner", f.FunderPartner), "label": "test key"}
		}},
	{"grantEntitlement", operatorOnly, `mutation($i: GrantEntitlementInput!) { grantEntitlement(input: $i) { id scope level effective } }`,
		func(f fixtures, n int64) map[string]any {
			return map[string]any{"partnerId": gid("Partner", f.FunderPartner), "scope": "REGION", "regionCode": "53",
				"level": "AGGREGATE", "purpose": "evaluating the Breton formations"}
		}},
	{"revokeEntitlement", operatorOnly, `mutation($i: RevokeEntitlementInput!) { revokeEntitlement(input: $i) { id revokedAt } }`,
		func(f fixtures, n int64) map[string]any {
			return map[string]any{"id": gid("Entitlement", f.Entitlement)}
		}},
	{"createFormation", operatorOnly, `mutation($i: CreateFormationInput!) { createFormation(input: $i) { id listed region { code } } }`,
		func(f fixtures, n int64) map[string]any { return formationVars(f.OrgSIRET, n) }},
	{"createLabellingCall", operatorOnly, `mutation($i: CreateLabellingCallInput!) { createLabellingCall(input: $i) { id code } }`,
		func(f fixtures, n int64) map[string]any {
			return map[string]any{"code": fmt.Sprintf("T-%d", n), "name": "Appel test", "programme": "NONE", "openedOn": "2026-01-05", "closedOn": "2026-03-31"}
		}},
	{"grantLabel", operatorOnly, `mutation($i: GrantLabelInput!) { grantLabel(input: $i) { id status } }`,
		func(f fixtures, n int64) map[string]any {
			return map[string]any{"formationId": gid("Formation", f.OwnFormation), "callId": gid("LabellingCall", f.Call),
				"grantedOn": "2026-06-01", "validUntil": "2029-05-31"}
		}},
	{"renewLabel", operatorOnly, `mutation($i: RenewLabelInput!) { renewLabel(input: $i) { id status call { id } } }`,
		func(f fixtures, n int64) map[string]any {
			return map[string]any{"labelId": gid("Label", f.RenewedLabel), "callId": gid("LabellingCall", f.RenewalCall),
				"grantedOn": today(), "validUntil": "2030-12-31"}
		}},
	{"withdrawLabel", operatorOnly, `mutation($i: WithdrawLabelInput!) { withdrawLabel(input: $i) { id status withdrawnOn } }`,
		func(f fixtures, n int64) map[string]any { return map[string]any{"labelId": gid("Label", f.Label)} }},
	{"createFundingAgreement", operatorOnly, `mutation($i: CreateFundingAgreementInput!) { createFundingAgreement(input: $i) { id scope } }`,
		func(f fixtures, n int64) map[string]any {
			return map[string]any{"partnerId": gid("Partner", f.FunderPartner), "reference": fmt.Sprintf("CONV-TEST-%d", n),
				"title": "Convention test", "scope": "REGION", "regionCode": "53", "amountEur": 150000,
				"validFrom": "2026-01-01", "validUntil": "2027-12-31"}
		}},
	{"createSeedGrant", operatorOnly, `mutation($i: CreateSeedGrantInput!) { createSeedGrant(input: $i) { amountEur } }`,
		func(f fixtures, n int64) map[string]any {
			return map[string]any{"labelId": gid("Label", f.Label), "amountEur": 40000, "budgetShare": 0.5,
				"sessionsCovered": 1, "conventionSignedOn": "2026-02-01"}
		}},
	{"createSession", []string{"operator", "organisation"}, `mutation($i: CreateSessionInput!) { createSession(input: $i) { id startOn } }`,
		func(f fixtures, n int64) map[string]any {
			return map[string]any{"formationId": gid("Formation", f.OwnFormation), "startOn": "2026-09-07", "endOn": "2027-03-26", "plannedSeats": 14}
		}},
	{"recordEnrolments", []string{"operator", "organisation"}, `mutation($i: RecordEnrolmentsInput!) { recordEnrolments(input: $i) { inserted updated unchanged replayed } }`,
		func(f fixtures, n int64) map[string]any {
			return map[string]any{"idempotencyKey": fmt.Sprintf("enrol-%d-batch", n), "enrolments": []any{
				enrolmentVars(f.OwnSession, f.OwnSessionStart, fmt.Sprintf("TEST-%06d", n)),
				enrolmentVars(f.OwnSession, f.OwnSessionStart, fmt.Sprintf("TEST-%06d-b", n))}}
		}},
	{"recordOutcomes", []string{"operator", "organisation"}, `mutation($i: RecordOutcomesInput!) { recordOutcomes(input: $i) { recorded replayed } }`,
		func(f fixtures, n int64) map[string]any {
			return map[string]any{"idempotencyKey": fmt.Sprintf("outcome-%d-batch", n), "outcomes": []any{
				map[string]any{"enrolmentId": gid("Enrolment", f.OwnEnrolment), "measuredAt": "M6", "situation": []string{"CDI", "INTERIM"}[n%2], "recordedOn": today()}}}
		}},
	{"confirmAidEnrolment", []string{"organisation"}, `mutation($i: ConfirmAidEnrolmentInput!) { confirmAidEnrolment(input: $i) { id enrolmentConfirmedOn } }`,
		func(f fixtures, n int64) map[string]any {
			return map[string]any{"applicationId": gid("AidApplication", f.OwnApplication)}
		}},
	{"decideAidApplication", []string{"crous"}, `mutation($i: DecideAidApplicationInput!) { decideAidApplication(input: $i) { id status echelon monthlyAmountEur months } }`,
		func(f fixtures, n int64) map[string]any {
			return map[string]any{"applicationId": gid("AidApplication", f.OwnApplication), "status": "GRANTED", "echelon": "3", "months": 7}
		}},
	// Last: it revokes the funder's own key, which later cases do not use.
	{"revokeApiKey", operatorOnly, `mutation($i: RevokeApiKeyInput!) { revokeApiKey(input: $i) { prefix revokedAt } }`,
		func(f fixtures, n int64) map[string]any {
			for _, p := range seed.Partners() {
				if p.Slug == "syntec-numerique" {
					return map[string]any{"prefix": p.Prefix}
				}
			}
			return nil
		}},
}

func formationVars(siret string, n int64) map[string]any {
	return map[string]any{"organisationSiret": siret, "title": fmt.Sprintf("Développeur web test %d", n),
		"jobFamily": "DEV_INTEGRATION_TEST", "certificationCode": "RNCP37674", "certificationLevel": 5,
		"durationMonths": 7, "deliveryMode": "BLENDED", "freeOfCharge": true, "seats": 16,
		"address": "12 rue Nationale", "postcode": "59000", "city": "Lille", "departmentCode": "59"}
}

func today() string { return time.Now().Format(time.DateOnly) }

func enrolmentVars(session int, on, ref string) map[string]any {
	return map[string]any{"sessionId": gid("Session", session), "learnerRef": ref, "enrolledOn": on,
		"sex": "FEMALE", "ageBand": "UNDER_26", "qualification": "INFRA_BAC", "priorSituation": "NEET",
		"qpvResident": true, "completion": "ONGOING"}
}

// TestWriteMatrix runs every write path as every kind of partner: allowed
// kinds write, the others get FORBIDDEN and write nothing.
func TestWriteMatrix(t *testing.T) {
	e := hubtest.New(t)
	f := loadFixtures(t, e)
	for _, c := range writeCases {
		for _, w := range writers {
			allowed := false
			for _, k := range c.allow {
				allowed = allowed || k == kindOf[w]
			}
			t.Run(c.field+"/"+kindOf[w], func(t *testing.T) {
				before := changes(t, e)
				res := e.Query(t, key(t, w), c.query, map[string]any{"i": c.vars(f, seq.Add(1))})
				var data map[string]json.RawMessage
				json.Unmarshal(res.Data, &data)
				if allowed {
					if len(res.Errors) > 0 || string(data[c.field]) == "null" {
						t.Fatalf("%s as %s: refused: %+v", c.field, kindOf[w], res.Errors)
					}
					if changes(t, e) == before {
						t.Errorf("%s as %s: nothing in the change log", c.field, kindOf[w])
					}
					return
				}
				if len(res.Errors) != 1 || res.Errors[0].Code() != "FORBIDDEN" || string(data[c.field]) != "null" {
					t.Fatalf("%s as %s: want one FORBIDDEN error and no data, got %s %+v", c.field, kindOf[w], res.Data, res.Errors)
				}
				if changes(t, e) != before {
					t.Errorf("%s as %s: refused, yet the change log grew", c.field, kindOf[w])
				}
			})
		}
	}
}

func changes(t *testing.T, e *hubtest.Env) int {
	t.Helper()
	var n int
	if err := e.Admin.Get(&n, `SELECT count(*) FROM hub.change_rows`); err != nil {
		t.Fatal(err)
	}
	return n
}

// callerCtx returns a context for the partner of slug, authenticated as the hub does.
func callerCtx(t *testing.T, e *hubtest.Env, slug string) context.Context {
	t.Helper()
	c, err := (&auth.Authenticator{Store: e.Store}).Caller(context.Background(), "Bearer "+key(t, slug))
	if err != nil {
		t.Fatal(err)
	}
	return access.WithCaller(context.Background(), c)
}

func errCode(res *hubtest.Response) (code, field string) {
	if len(res.Errors) == 0 {
		return "", ""
	}
	f, _ := res.Errors[0].Extensions["field"].(string)
	return res.Errors[0].Code(), f
}

func mustCode(t *testing.T, res *hubtest.Response, code, field string) {
	t.Helper()
	if c, f := errCode(res); c != code || f != field {
		t.Fatalf("want %s on %s, got %s on %q: %s %+v", code, field, c, f, res.Data, res.Errors)
	}
	for _, e := range res.Errors {
		for _, leak := range []string{"violates", "constraint", "hub.", "pq:", "SQLSTATE", "policy"} {
			if strings.Contains(e.Message, leak) {
				t.Errorf("error message shows database internals (%q): %s", leak, e.Message)
			}
		}
	}
}
