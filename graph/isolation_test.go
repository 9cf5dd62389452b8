package graph_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/gen-hub/genhub/internal/apierror"
	"github.com/gen-hub/genhub/internal/hubtest"
	"github.com/gen-hub/genhub/internal/store"
)

// An organisation writing about another organisation's formation, through
// every write path: the API refuses it; and with the API's check left out
// (the store called directly, as the organisation), the database refuses it.
// Likewise a CROUS deciding on an application filed with another CROUS.

// untouched returns a snapshot of everything the attempts could change.
func untouched(t *testing.T, e *hubtest.Env, f fixtures) string {
	t.Helper()
	var s string
	err := e.Admin.Get(&s, `SELECT concat_ws('|',
		(SELECT count(*) FROM hub.session WHERE formation_id = $1),
		(SELECT count(*) FROM hub.enrolment WHERE session_id = $2),
		(SELECT string_agg(situation || recorded_on, ',') FROM hub.outcome WHERE enrolment_id = $3),
		(SELECT concat(status, decided_on, enrolment_confirmed_on, echelon) FROM hub.aid_application WHERE id = $4),
		(SELECT count(*) FROM hub.change_rows))`, f.OtherFormation, f.OtherSession, f.OtherEnrolment, f.OtherApplication)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestOrganisationWritesOnlyItsOwn(t *testing.T) {
	e := hubtest.New(t)
	f := loadFixtures(t, e)
	before := untouched(t, e, f)
	var otherStart string
	e.Admin.Get(&otherStart, `SELECT start_on::text FROM hub.session WHERE id = $1`, f.OtherSession)

	t.Run("api", func(t *testing.T) {
		for _, c := range []struct {
			name, slug, query, field string
			vars                     map[string]any
		}{
			{"createSession", organisation, `mutation($i: CreateSessionInput!) { createSession(input: $i) { id } }`, "input.formationId",
				map[string]any{"formationId": gid("Formation", f.OtherFormation), "startOn": "2026-09-07", "endOn": "2027-03-26", "plannedSeats": 12}},
			{"recordEnrolments", organisation, `mutation($i: RecordEnrolmentsInput!) { recordEnrolments(input: $i) { inserted } }`, "input.enrolments[0].sessionId",
				map[string]any{"idempotencyKey": "isolation-enrol-1", "enrolments": []any{enrolmentVars(f.OtherSession, otherStart, "INTRUDER-0001")}}},
			{"recordOutcomes", organisation, `mutation($i: RecordOutcomesInput!) { recordOutcomes(input: $i) { recorded } }`, "input.outcomes[0].enrolmentId",
				map[string]any{"idempotencyKey": "isolation-outcome-1", "outcomes": []any{map[string]any{
					"enrolmentId": gid("Enrolment", f.OtherEnrolment), "measuredAt": "M3", "situation": "INACTIVE", "recordedOn": today()}}}},
			{"confirmAidEnrolment", organisation, `mutation($i: ConfirmAidEnrolmentInput!) { confirmAidEnrolment(input: $i) { id } }`, "input.applicationId",
				map[string]any{"applicationId": gid("AidApplication", f.OtherApplication)}},
			{"decideAidApplication", crous, `mutation($i: DecideAidApplicationInput!) { decideAidApplication(input: $i) { id } }`, "input.applicationId",
				map[string]any{"applicationId": gid("AidApplication", f.OtherApplication), "status": "REJECTED", "refusalReason": "OVER_INCOME"}},
		} {
			t.Run(c.name, func(t *testing.T) {
				mustCode(t, e.Query(t, key(t, c.slug), c.query, map[string]any{"i": c.vars}), "FORBIDDEN", c.field)
			})
		}
	})

	// The same attempts with the API's checks left out: the store writes as
	// the caller, and only the database stands in the way.
	t.Run("database", func(t *testing.T) {
		org, cr := callerCtx(t, e, organisation), callerCtx(t, e, crous)
		otherStartOn, _ := time.Parse(time.DateOnly, otherStart)
		attempts := map[string]func() error{
			"createSession": func() error {
				_, err := e.Store.CreateSession(org, store.SessionInput{FormationID: f.OtherFormation,
					StartOn: time.Date(2026, 9, 7, 0, 0, 0, 0, time.UTC), EndOn: time.Date(2027, 3, 26, 0, 0, 0, 0, time.UTC), PlannedSeats: 12})
				return err
			},
			"recordEnrolments": func() error {
				_, err := e.Store.RecordEnrolments(org, "isolation-enrol-2", []store.EnrolmentRow{{SessionID: f.OtherSession,
					LearnerRef: "INTRUDER-0002", EnrolledOn: otherStartOn, Sex: "male", AgeBand: "under_26", Qualification: "bac",
					PriorSituation: "neet", Completion: "ongoing"}})
				return err
			},
			"recordOutcomes": func() error {
				_, err := e.Store.RecordOutcomes(org, "isolation-outcome-2", []store.OutcomeRow{{EnrolmentID: f.OtherEnrolment,
					MeasuredAt: "m3", Situation: "inactive", RecordedOn: time.Now().UTC().Truncate(24 * time.Hour)}})
				return err
			},
			"confirmAidEnrolment": func() error {
				_, err := e.Store.ConfirmAidEnrolment(org, f.OtherApplication, time.Now().UTC().Truncate(24*time.Hour))
				return err
			},
			"decideAidApplication": func() error {
				_, err := e.Store.DecideAidApplication(cr, store.AidDecision{ApplicationID: f.OtherApplication, Status: "rejected",
					DecidedOn: time.Now().UTC().Truncate(24 * time.Hour), RefusalReason: "over_income"})
				return err
			},
		}
		for name, attempt := range attempts {
			t.Run(name, func(t *testing.T) {
				err := attempt()
				e, ok := apierror.As(err)
				if !ok || (e.Code != apierror.Forbidden && e.Code != apierror.NotFound) {
					t.Fatalf("want FORBIDDEN or NOT_FOUND from the database, got %v", err)
				}
			})
		}
	})

	if after := untouched(t, e, f); after != before {
		t.Errorf("the other organisation's rows changed: %s, then %s", before, after)
	}
}

// TestOwnWritesRecorded: the organisation's own writes go through, and
// the operator finds them in the change log with their author.
func TestOwnWritesRecorded(t *testing.T) {
	e := hubtest.New(t)
	f := loadFixtures(t, e)
	res := e.Query(t, key(t, organisation), `mutation($i: CreateSessionInput!) { createSession(input: $i) { id formation { id } } }`,
		map[string]any{"i": map[string]any{"formationId": gid("Formation", f.OwnFormation), "startOn": "2026-10-05", "endOn": "2027-04-30", "plannedSeats": 15}})
	var created struct {
		CreateSession struct{ ID string }
	}
	res.MustData(t, &created)
	reqID := res.Header.Get("X-Request-Id")
	var log struct {
		ChangeLog struct {
			Nodes []struct {
				Author, Table, Action, RequestID string
				Partner                          struct{ Slug string }
				Before                           *string
				After                            string
			}
		}
	}
	e.Query(t, key(t, operator), `query($r: String) { changeLog(requestId: $r) { nodes { author table action requestId partner { slug } before after } } }`,
		map[string]any{"r": reqID}).MustData(t, &log)
	if len(log.ChangeLog.Nodes) != 1 {
		t.Fatalf("want one change for request %s, got %+v", reqID, log.ChangeLog.Nodes)
	}
	c := log.ChangeLog.Nodes[0]
	wantAuthor := fmt.Sprintf("%s (key %s)", organisation, keyPrefixOf(t, organisation))
	if c.Author != wantAuthor || c.Table != "session" || c.Action != "INSERT" || c.Partner.Slug != organisation || c.Before != nil {
		t.Errorf("change = %+v, want an insert into session by %s", c, wantAuthor)
	}
}

func keyPrefixOf(t *testing.T, slug string) string {
	k := key(t, slug)
	return k[3 : 3+len(k[3:])-33]
}
