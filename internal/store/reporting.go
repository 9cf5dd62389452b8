package store

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/gen-hub/genhub/graph/model"
	"github.com/gen-hub/genhub/internal/apierror"
	"github.com/gen-hub/genhub/internal/codes"
)

// What training organisations and CROUS report. The store writes whatever it
// is asked to as the caller; the database's policies confine an organisation
// to its own formations and a CROUS to the applications filed with it, and a
// refused or hidden row makes the whole unit of work fail.

// Rows a caller may write to, by kind: the same rules as the database's
// policies, asked first so that the API can say which item is wrong.
var ownedQuery = map[string]string{
	// A formation or enrolment of the caller's own organisation; any for the operator.
	"formation": `SELECT f.id FROM hub.formation f WHERE f.id = ANY($1)
		AND (hub.caller_is_operator() OR f.id IN (SELECT hub.caller_own_formations()))`,
	"enrolment": `SELECT e.id FROM hub.enrolment e WHERE e.id = ANY($1)
		AND (hub.caller_is_operator() OR e.formation_id IN (SELECT hub.caller_own_formations()))`,
	// An application of the caller's own learners (organisations confirm enrolments).
	"learner_application": `SELECT a.id FROM hub.aid_application a WHERE a.id = ANY($1)
		AND a.formation_id IN (SELECT hub.caller_own_formations())`,
	// An application filed with the calling CROUS.
	"crous_application": `SELECT a.id FROM hub.aid_application a WHERE a.id = ANY($1) AND a.crous_id = hub.caller_crous()`,
}

// Owned returns which of ids, rows of the given kind (formation, enrolment,
// learner_application, crous_application), the caller may write to.
func (s *Store) Owned(ctx context.Context, kind string, ids []int) (map[int]bool, error) {
	q, ok := ownedQuery[kind]
	if !ok {
		return nil, fmt.Errorf("store: owned: unknown kind %q", kind)
	}
	var own []int
	if err := s.Read(ctx, func(tx *sqlx.Tx) error { return tx.SelectContext(ctx, &own, q, pq.Array(ids)) }); err != nil {
		return nil, fmt.Errorf("store: owned %s: %w", kind, err)
	}
	m := make(map[int]bool, len(own))
	for _, id := range own {
		m[id] = true
	}
	return m, nil
}

// SessionInput is a new session of a formation.
type SessionInput struct {
	FormationID    int
	StartOn, EndOn time.Time
	PlannedSeats   int
}

// CreateSession records a session.
func (s *Store) CreateSession(ctx context.Context, in SessionInput) (*model.Session, error) {
	var p apierror.Problems
	checkDate(&p, "input.startOn", in.StartOn)
	if !in.EndOn.After(in.StartOn) {
		p.Add("input.endOn", "must be after startOn (%s)", in.StartOn.Format(time.DateOnly))
	} else if in.EndOn.After(in.StartOn.AddDate(2, 1, 0)) {
		p.Add("input.endOn", "a session lasts at most 24 months")
	}
	if in.PlannedSeats < 0 || in.PlannedSeats > 1000 {
		p.Add("input.plannedSeats", "must be between 0 and 1000")
	}
	if err := p.Err(); err != nil {
		return nil, err
	}
	var out model.Session
	err := s.write(ctx, "input", func(tx *sqlx.Tx) error {
		return tx.GetContext(ctx, &out, `
			INSERT INTO hub.session AS s (formation_id, start_on, end_on, planned_seats)
			VALUES ($1, $2, $3, $4) RETURNING `+sessionCols, in.FormationID, in.StartOn, in.EndOn, in.PlannedSeats)
	})
	if err != nil {
		return nil, fmt.Errorf("store: create session: %w", err)
	}
	return &out, nil
}

// BulkResult is what an idempotent bulk write did; Replayed says it was
// done by an earlier request with the same key, and nothing was written now.
type BulkResult[T any] struct {
	Counts   T
	Replayed bool
}

// RecordEnrolments adds or corrects enrolments, all or none, once per
// idempotency key. Rows must have passed Check; sessions are the caller's.
func (s *Store) RecordEnrolments(ctx context.Context, key string, rows []EnrolmentRow) (BulkResult[EnrolmentCounts], error) {
	var res BulkResult[EnrolmentCounts]
	hash := func() string { return RequestHash(rows) }
	err := s.write(ctx, "input", func(tx *sqlx.Tx) error {
		var err error
		res.Counts, res.Replayed, err = idempotent(ctx, tx, "input.idempotencyKey", key, "recordEnrolments", hash, func() (EnrolmentCounts, error) {
			return UpsertEnrolments(ctx, tx, rows)
		})
		return err
	})
	if err != nil {
		return res, fmt.Errorf("store: record enrolments: %w", err)
	}
	return res, nil
}

// OutcomeRow is a learner's situation measured after the end of the formation.
type OutcomeRow struct {
	EnrolmentID int
	MeasuredAt  string // m3 or m6
	Situation   string
	RecordedOn  time.Time
}

var situations = []string{"cdi", "cdd_6m_plus", "cdd_under_6m", "interim", "apprenticeship", "professionalisation",
	"business_creation", "further_training", "job_seeking", "inactive", "unknown"}

// OutcomeCounts says what a bulk write of outcomes did.
type OutcomeCounts struct {
	Recorded int `json:"recorded"`
}

// RecordOutcomes records (or corrects) outcomes at 3 and 6 months, all or
// none, once per idempotency key. An outcome is measured after the end of
// the session, for a learner who is no longer in training.
func (s *Store) RecordOutcomes(ctx context.Context, key string, rows []OutcomeRow) (BulkResult[OutcomeCounts], error) {
	var res BulkResult[OutcomeCounts]
	var p apierror.Problems
	ids := make([]int64, len(rows))
	measured, situation, recorded := make([]string, len(rows)), make([]string, len(rows)), make([]string, len(rows))
	seen := map[[2]any]bool{}
	for i, r := range rows {
		path := fmt.Sprintf("input.outcomes[%d]", i)
		checkEnum(&p, path+".measuredAt", r.MeasuredAt, []string{"m3", "m6"})
		checkEnum(&p, path+".situation", r.Situation, situations)
		checkDate(&p, path+".recordedOn", r.RecordedOn)
		if k := [2]any{r.EnrolmentID, r.MeasuredAt}; seen[k] {
			p.Add(path, "this outcome is given twice")
		} else {
			seen[k] = true
		}
		ids[i], measured[i], situation[i], recorded[i] = int64(r.EnrolmentID), r.MeasuredAt, r.Situation, r.RecordedOn.Format(time.DateOnly)
	}
	if err := p.Err(); err != nil {
		return res, err
	}
	hash := func() string { return RequestHash(rows) }
	err := s.write(ctx, "input", func(tx *sqlx.Tx) error {
		var err error
		res.Counts, res.Replayed, err = idempotent(ctx, tx, "input.idempotencyKey", key, "recordOutcomes", hash, func() (OutcomeCounts, error) {
			var n OutcomeCounts
			var facts []struct {
				ID         int       `db:"id"`
				Completion string    `db:"completion"`
				EndOn      time.Time `db:"end_on"`
			}
			err := tx.SelectContext(ctx, &facts, `
				SELECT e.id, e.completion, s.end_on FROM hub.enrolment e JOIN hub.session s ON s.id = e.session_id
				 WHERE e.id = ANY($1)`, pq.Array(ids))
			if err != nil {
				return n, err
			}
			byID := map[int]int{}
			for i, f := range facts {
				byID[f.ID] = i
			}
			for i, r := range rows {
				path := fmt.Sprintf("input.outcomes[%d]", i)
				j, ok := byID[r.EnrolmentID]
				switch {
				case !ok:
					p.Deny(path+".enrolmentId", "not one of your learners' enrolments")
				case facts[j].Completion == "ongoing":
					p.Add(path+".enrolmentId", "the learner is still in training: record completion first")
				case r.RecordedOn.Before(facts[j].EndOn):
					p.Add(path+".recordedOn", "before the end of the session (%s)", facts[j].EndOn.Format(time.DateOnly))
				}
			}
			if err := p.Err(); err != nil {
				return n, err
			}
			err = tx.GetContext(ctx, &n.Recorded, `
				WITH w AS (
				  INSERT INTO hub.outcome AS o (enrolment_id, formation_id, measured_at, situation, recorded_on)
				  SELECT u.enrolment_id, e.formation_id, u.measured_at, u.situation, u.recorded_on
				    FROM unnest($1::integer[], $2::text[], $3::text[], $4::date[]) AS u(enrolment_id, measured_at, situation, recorded_on)
				    JOIN hub.enrolment e ON e.id = u.enrolment_id
				  ON CONFLICT (enrolment_id, measured_at) DO UPDATE
				     SET situation = excluded.situation, recorded_on = excluded.recorded_on
				  RETURNING 1
				)
				SELECT count(*) FROM w`, pq.Array(ids), pq.Array(measured), pq.Array(situation), pq.Array(recorded))
			if err == nil && n.Recorded != len(rows) {
				err = apierror.Denied("some outcomes are for enrolments that are not yours: nothing was written")
			}
			return n, err
		})
		return err
	})
	if err != nil {
		return res, fmt.Errorf("store: record outcomes: %w", err)
	}
	return res, nil
}

// ConfirmAidEnrolment records that the learner behind an aid application is
// enrolled, as its training organisation confirms to the CROUS.
func (s *Store) ConfirmAidEnrolment(ctx context.Context, applicationID int, on time.Time) (*model.AidApplication, error) {
	var p apierror.Problems
	checkDate(&p, "input.confirmedOn", on)
	if err := p.Err(); err != nil {
		return nil, err
	}
	var a model.AidApplication
	err := s.write(ctx, "input", func(tx *sqlx.Tx) error {
		return notFound(tx.GetContext(ctx, &a, `
			UPDATE hub.aid_application a SET enrolment_confirmed_on = $2 WHERE a.id = $1 RETURNING `+aidCols, applicationID, on),
			"input.applicationId", "not an aid application of your learners")
	})
	if err != nil {
		return nil, fmt.Errorf("store: confirm aid enrolment: %w", err)
	}
	return &a, nil
}

// AidDecision is a CROUS's decision on an application. A grant (granted,
// paid, suspended) has an échelon and a number of months, the amount being
// the scale's in force on the decision date; a refusal has a reason.
type AidDecision struct {
	ApplicationID int
	Status        string
	DecidedOn     time.Time
	Echelon       string
	Months        int
	RefusalReason string
}

var refusalReasons = []string{"over_income", "cumul_bcs", "pe_allowance", "work_study_contract", "cif", "other"}

// Check reports the decision's bad fields.
func (d AidDecision) Check(p *apierror.Problems) {
	statuses := []string{"granted", "rejected", "paid", "suspended"}
	checkEnum(p, "input.status", d.Status, statuses)
	checkDate(p, "input.decidedOn", d.DecidedOn)
	if !slices.Contains(statuses, d.Status) {
		return // what else is needed depends on the status
	}
	if d.Status == "rejected" {
		if d.RefusalReason == "" {
			p.Add("input.refusalReason", "a refusal needs its reason")
		} else {
			checkEnum(p, "input.refusalReason", d.RefusalReason, refusalReasons)
		}
		if d.Echelon != "" || d.Months != 0 {
			p.Add("input.echelon", "a refusal has no échelon and no months")
		}
		return
	}
	if d.RefusalReason != "" {
		p.Add("input.refusalReason", "only a refusal has a reason")
	}
	if !codes.Echelon(d.Echelon) {
		p.Add("input.echelon", "%q is not an échelon of the scale (0bis, 1 … 7)", d.Echelon)
	}
	if d.Months < 1 || d.Months > 12 {
		p.Add("input.months", "the aid is paid for 1 to 12 months")
	}
}

// DecideAidApplication records a CROUS's decision.
func (s *Store) DecideAidApplication(ctx context.Context, d AidDecision) (*model.AidApplication, error) {
	var p apierror.Problems
	d.Check(&p)
	if err := p.Err(); err != nil {
		return nil, err
	}
	var a model.AidApplication
	err := s.write(ctx, "input", func(tx *sqlx.Tx) error {
		var scale struct {
			From   *time.Time `db:"valid_from"`
			Amount *float64   `db:"monthly_eur"`
		}
		if d.Status != "rejected" {
			if err := tx.GetContext(ctx, &scale, `
				SELECT valid_from, monthly_eur FROM hub.aid_scale
				 WHERE echelon = $1 AND valid_from <= $2 ORDER BY valid_from DESC LIMIT 1`, d.Echelon, d.DecidedOn); err != nil {
				return notFound(err, "input.decidedOn", "no aid scale was in force on that date")
			}
		}
		var months *int
		if d.Months != 0 {
			months = &d.Months
		}
		err := tx.GetContext(ctx, &a, `
			UPDATE hub.aid_application a
			   SET status = $2, decided_on = $3, scale_from = $4, echelon = nullif($5, ''), monthly_amount_eur = $6,
			       months = $7, refusal_reason = nullif($8, '')
			 WHERE a.id = $1 RETURNING `+aidCols,
			d.ApplicationID, d.Status, d.DecidedOn, scale.From, d.Echelon, scale.Amount, months, d.RefusalReason)
		return notFound(err, "input.applicationId", "not an application filed with you")
	})
	if err != nil {
		return nil, fmt.Errorf("store: decide aid application: %w", err)
	}
	return &a, nil
}
