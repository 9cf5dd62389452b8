package graph_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/gen-hub/genhub/internal/hubtest"
)

// TestValidationNamesField: bad input gets BAD_USER_INPUT errors naming each
// bad field by its path, never SQL text, and writes nothing.
func TestValidationNamesField(t *testing.T) {
	e := hubtest.New(t)
	f := loadFixtures(t, e)
	org := func(over map[string]any) map[string]any {
		v := map[string]any{"siret": siret(seq.Add(1)), "name": "Atelier", "legalStatus": "ASSOCIATION", "city": "Arras", "departmentCode": "62"}
		for k, x := range over {
			v[k] = x
		}
		return v
	}
	formation := func(over map[string]any) map[string]any {
		v := formationVars(f.OrgSIRET, seq.Add(1))
		for k, x := range over {
			v[k] = x
		}
		return v
	}
	session := func(over map[string]any) map[string]any {
		v := map[string]any{"formationId": gid("Formation", f.OwnFormation), "startOn": "2026-09-07", "endOn": "2027-03-26", "plannedSeats": 14}
		for k, x := range over {
			v[k] = x
		}
		return v
	}
	enrol := func(over map[string]any) map[string]any {
		v := enrolmentVars(f.OwnSession, f.OwnSessionStart, fmt.Sprintf("VALID-%06d", seq.Add(1)))
		for k, x := range over {
			v[k] = x
		}
		return v
	}
	const (
		createOrg       = `mutation($i: CreateOrganisationInput!) { createOrganisation(input: $i) { id } }`
		createFormation = `mutation($i: CreateFormationInput!) { createFormation(input: $i) { id } }`
		createSession   = `mutation($i: CreateSessionInput!) { createSession(input: $i) { id } }`
		recordEnrol     = `mutation($i: RecordEnrolmentsInput!) { recordEnrolments(input: $i) { inserted } }`
		grant           = `mutation($i: GrantEntitlementInput!) { grantEntitlement(input: $i) { id } }`
		decide          = `mutation($i: DecideAidApplicationInput!) { decideAidApplication(input: $i) { id } }`
	)
	app := gid("AidApplication", f.OwnApplication)
	existing := func() string {
		var s string
		e.Admin.Get(&s, `SELECT siret FROM hub.organisation ORDER BY id LIMIT 1`)
		return s
	}()
	for _, c := range []struct {
		name   string
		slug   string
		query  string
		input  map[string]any
		fields []string
	}{
		{"SIRET failing Luhn", operator, createOrg, org(map[string]any{"siret": "73282932000075"}), []string{"input.siret"}},
		{"SIRET too short", operator, createOrg, org(map[string]any{"siret": "7328293200007"}), []string{"input.siret"}},
		{"department code", operator, createOrg, org(map[string]any{"departmentCode": "20"}), []string{"input.departmentCode"}},
		{"SIRET already recorded", operator, createOrg, org(map[string]any{"siret": existing}), []string{"input.siret"}},
		{"several fields at once", operator, createOrg, org(map[string]any{"siret": "1", "departmentCode": "999", "name": "A"}),
			[]string{"input.siret", "input.name", "input.departmentCode"}},
		{"QPV of another department", operator, createFormation, formation(map[string]any{"qpvCode": "QP093028"}), []string{"input.qpvCode"}},
		{"QPV malformed", operator, createFormation, formation(map[string]any{"qpvCode": "QP59-001"}), []string{"input.qpvCode"}},
		{"RNCP code", operator, createFormation, formation(map[string]any{"certificationCode": "RNCP-37674"}), []string{"input.certificationCode"}},
		{"RS with a level", operator, createFormation, formation(map[string]any{"certificationCode": "RS5487"}), []string{"input.certificationLevel"}},
		{"negative seats", operator, createFormation, formation(map[string]any{"seats": -3}), []string{"input.seats"}},
		{"unknown organisation", operator, createFormation, formation(map[string]any{"organisationSiret": siret(seq.Add(1))}), []string{"input.organisationSiret"}},
		{"dates out of order", organisation, createSession, session(map[string]any{"endOn": "2026-09-01"}), []string{"input.endOn"}},
		{"negative planned seats", organisation, createSession, session(map[string]any{"plannedSeats": -1}), []string{"input.plannedSeats"}},
		{"learner pseudonym", organisation, recordEnrol, map[string]any{"idempotencyKey": "validation-1", "enrolments": []any{
			enrol(nil), enrol(map[string]any{"learnerRef": "Jean Dupont"})}}, []string{"input.enrolments[1].learnerRef"}},
		{"certification without completion", organisation, recordEnrol, map[string]any{"idempotencyKey": "validation-2", "enrolments": []any{
			enrol(map[string]any{"certificationObtained": true})}}, []string{"input.enrolments[0].certificationObtained"}},
		{"enrolled after the session", organisation, recordEnrol, map[string]any{"idempotencyKey": "validation-3", "enrolments": []any{
			enrol(map[string]any{"enrolledOn": "2026-11-01"})}}, []string{"input.enrolments[0].enrolledOn"}},
		{"idempotency key", organisation, recordEnrol, map[string]any{"idempotencyKey": "short", "enrolments": []any{enrol(nil)}}, []string{"input.idempotencyKey"}},
		{"region scope without region", operator, grant, map[string]any{"partnerId": gid("Partner", f.FunderPartner), "scope": "REGION",
			"level": "AGGREGATE", "purpose": "test"}, []string{"input.regionCode"}},
		{"grant ending before it starts", operator, grant, map[string]any{"partnerId": gid("Partner", f.FunderPartner), "scope": "NATIONAL",
			"level": "AGGREGATE", "purpose": "test", "validFrom": "2026-06-01", "validUntil": "2026-01-01"}, []string{"input.validUntil"}},
		{"échelon", crous, decide, map[string]any{"applicationId": app, "status": "GRANTED", "echelon": "9", "months": 5}, []string{"input.echelon"}},
		{"months", crous, decide, map[string]any{"applicationId": app, "status": "GRANTED", "echelon": "2", "months": 0}, []string{"input.months"}},
		{"refusal without reason", crous, decide, map[string]any{"applicationId": app, "status": "REJECTED"}, []string{"input.refusalReason"}},
		{"back to submitted", crous, decide, map[string]any{"applicationId": app, "status": "SUBMITTED"}, []string{"input.status"}},
		{"decision before the application", crous, decide, map[string]any{"applicationId": app, "status": "REJECTED",
			"refusalReason": "OTHER", "decidedOn": "2015-02-01"}, []string{"input.decidedOn"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			before := changes(t, e)
			res := e.Query(t, key(t, c.slug), c.query, map[string]any{"i": c.input})
			var got []string
			for _, x := range res.Errors {
				if x.Code() != "BAD_USER_INPUT" {
					t.Errorf("error %q: code %s, want BAD_USER_INPUT", x.Message, x.Code())
				}
				field, _ := x.Extensions["field"].(string)
				got = append(got, field)
			}
			slices.Sort(got)
			want := slices.Clone(c.fields)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("fields %v, want %v: %+v", got, want, res.Errors)
			}
			mustCode(t, &hubtest.Response{Errors: res.Errors[:1]}, "BAD_USER_INPUT", res.Errors[0].Extensions["field"].(string))
			if changes(t, e) != before {
				t.Errorf("refused input changed data")
			}
		})
	}
}

// TestIdempotentRetry: a bulk mutation retried with its key returns the first
// answer and writes nothing twice; the key cannot be reused for other data.
func TestIdempotentRetry(t *testing.T) {
	e := hubtest.New(t)
	f := loadFixtures(t, e)
	const q = `mutation($i: RecordEnrolmentsInput!) { recordEnrolments(input: $i) { inserted updated unchanged replayed } }`
	batch := map[string]any{"idempotencyKey": "7d5b8e0c-4a1f-4f0e-9d7e-3c2b1a000001", "enrolments": []any{
		enrolmentVars(f.OwnSession, f.OwnSessionStart, "RETRY-000001"), enrolmentVars(f.OwnSession, f.OwnSessionStart, "RETRY-000002"),
		enrolmentVars(f.OwnSession, f.OwnSessionStart, "RETRY-000003")}}
	count := func() (n int) {
		e.Admin.Get(&n, `SELECT count(*) FROM hub.enrolment WHERE session_id = $1`, f.OwnSession)
		return n
	}
	start, changesAt := count(), changes(t, e)
	type report struct {
		Inserted, Updated, Unchanged int
		Replayed                     bool
	}
	var first, second struct{ RecordEnrolments report }
	e.Query(t, key(t, organisation), q, map[string]any{"i": batch}).MustData(t, &first)
	afterFirst := changes(t, e)
	e.Query(t, key(t, organisation), q, map[string]any{"i": batch}).MustData(t, &second)
	if want := (report{Inserted: 3}); first.RecordEnrolments != want {
		t.Errorf("first: %+v, want %+v", first.RecordEnrolments, want)
	}
	if want := (report{Inserted: 3, Replayed: true}); second.RecordEnrolments != want {
		t.Errorf("retry: %+v, want %+v", second.RecordEnrolments, want)
	}
	if n := count(); n != start+3 {
		t.Errorf("enrolments: %d, want %d", n, start+3)
	}
	if afterFirst != changesAt+3 || changes(t, e) != afterFirst {
		t.Errorf("change log: %d, %d then %d; want 3 changes, then none", changesAt, afterFirst, changes(t, e))
	}
	// The same key with other data is refused; another organisation's same key is its own.
	batch["enrolments"] = []any{enrolmentVars(f.OwnSession, f.OwnSessionStart, "RETRY-000004")}
	mustCode(t, e.Query(t, key(t, organisation), q, map[string]any{"i": batch}), "BAD_USER_INPUT", "input.idempotencyKey")
	if n := count(); n != start+3 {
		t.Errorf("enrolments after a reused key: %d, want %d", n, start+3)
	}
	// Without a change, the same learners sent again under a new key are unchanged.
	batch["idempotencyKey"] = "7d5b8e0c-4a1f-4f0e-9d7e-3c2b1a000002"
	batch["enrolments"] = []any{enrolmentVars(f.OwnSession, f.OwnSessionStart, "RETRY-000001"),
		func() map[string]any {
			v := enrolmentVars(f.OwnSession, f.OwnSessionStart, "RETRY-000002")
			v["completion"] = "DROPPED_OUT"
			return v
		}()}
	var third struct{ RecordEnrolments report }
	e.Query(t, key(t, organisation), q, map[string]any{"i": batch}).MustData(t, &third)
	if want := (report{Updated: 1, Unchanged: 1}); third.RecordEnrolments != want {
		t.Errorf("correction: %+v, want %+v", third.RecordEnrolments, want)
	}
}
