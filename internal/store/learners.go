package store

import (
	"context"
	"fmt"
	"strconv"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/gen-hub/genhub/graph/model"
	"github.com/gen-hub/genhub/internal/access"
)

// A CROUS's role may read only the enrolment facts that confirm an application.
const (
	enrolmentCols      = `e.id, e.session_id, e.formation_id, e.learner_ref, e.enrolled_on, e.sex, e.age_band, e.qualification, e.prior_situation, e.qpv_resident, e.completion, e.certification_obtained`
	enrolmentCrousCols = `e.id, e.session_id, e.formation_id, e.learner_ref, e.enrolled_on, e.completion`
)

func enrolmentColsFor(c access.Caller) string {
	if c.Kind == access.KindCrous {
		return enrolmentCrousCols
	}
	return enrolmentCols
}

func enrolmentList(ctx context.Context) *list[model.Enrolment] {
	return &list[model.Enrolment]{
		sel:   enrolmentColsFor(access.FromContext(ctx)),
		from:  "hub.enrolment e",
		order: order{cols: []string{"e.id"}, types: []string{"integer"}},
		key:   func(e *model.Enrolment) []string { return []string{strconv.Itoa(e.RowID)} },
	}
}

// Enrolments returns a page of the enrolments the caller may read, optionally of one session.
func (s *Store) Enrolments(ctx context.Context, sessionID int, p Page) (*Result[model.Enrolment], error) {
	l := enrolmentList(ctx)
	if sessionID != 0 {
		l.q.and("e.session_id = " + l.q.arg(sessionID))
	}
	return fetch(ctx, s, l, p)
}

// EnrolmentsByID returns the enrolments with the given ids that the caller may read.
func (s *Store) EnrolmentsByID(ctx context.Context, ids []int) (map[int]*model.Enrolment, error) {
	var rows []*model.Enrolment
	cols := enrolmentColsFor(access.FromContext(ctx))
	err := s.Read(ctx, func(tx *sqlx.Tx) error {
		return tx.SelectContext(ctx, &rows, `SELECT `+cols+` FROM hub.enrolment e WHERE e.id = ANY($1)`, pq.Array(ids))
	})
	if err != nil {
		return nil, fmt.Errorf("store: enrolments by id: %w", err)
	}
	m := make(map[int]*model.Enrolment, len(rows))
	for _, r := range rows {
		m[r.RowID] = r
	}
	return m, nil
}

// OutcomesByEnrolment returns the outcomes of the given enrolments, 3 months before 6.
func (s *Store) OutcomesByEnrolment(ctx context.Context, ids []int) (map[int][]*model.Outcome, error) {
	var rows []*model.Outcome
	err := s.Read(ctx, func(tx *sqlx.Tx) error {
		return tx.SelectContext(ctx, &rows, `
			SELECT o.enrolment_id, o.measured_at, o.situation, o.positive, o.recorded_on
			  FROM hub.outcome o WHERE o.enrolment_id = ANY($1) ORDER BY o.enrolment_id, o.measured_at`, pq.Array(ids))
	})
	if err != nil {
		return nil, fmt.Errorf("store: outcomes: %w", err)
	}
	m := map[int][]*model.Outcome{}
	for _, r := range rows {
		m[r.EnrolmentID] = append(m[r.EnrolmentID], r)
	}
	return m, nil
}

const aidCols = `a.id, a.enrolment_id, a.formation_id, a.crous_id, a.submitted_on, a.status, a.echelon,
	a.monthly_amount_eur, a.months, a.refusal_reason, a.decided_on, a.enrolment_confirmed_on`

// AidApplications returns a page of the aid applications the caller may read.
func (s *Store) AidApplications(ctx context.Context, status *model.AidStatus, p Page) (*Result[model.AidApplication], error) {
	l := &list[model.AidApplication]{
		sel:   aidCols,
		from:  "hub.aid_application a",
		order: order{cols: []string{"a.id"}, types: []string{"integer"}},
		key:   func(a *model.AidApplication) []string { return []string{strconv.Itoa(a.RowID)} },
	}
	if status != nil {
		l.q.and("a.status = " + l.q.arg(model.Code(*status)))
	}
	return fetch(ctx, s, l, p)
}

// AidApplicationsByID returns the applications with the given ids that the caller may read.
func (s *Store) AidApplicationsByID(ctx context.Context, ids []int) (map[int]*model.AidApplication, error) {
	var rows []*model.AidApplication
	err := s.Read(ctx, func(tx *sqlx.Tx) error {
		return tx.SelectContext(ctx, &rows, `SELECT `+aidCols+` FROM hub.aid_application a WHERE a.id = ANY($1)`, pq.Array(ids))
	})
	if err != nil {
		return nil, fmt.Errorf("store: aid applications by id: %w", err)
	}
	m := make(map[int]*model.AidApplication, len(rows))
	for _, r := range rows {
		m[r.RowID] = r
	}
	return m, nil
}

// SessionCount is the number of learners of a session within the caller's
// aggregate scope; Personal says the caller may read those learners' rows.
// Learners is nil when the database suppressed a count below the threshold.
type SessionCount struct {
	SessionID int  `db:"session_id"`
	Learners  *int `db:"learners"`
	Personal  bool `db:"personal"`
}

// SessionCounts counts the learners of the given sessions that the caller holds
// an aggregate grant on (or more); sessions outside its grants are absent.
func (s *Store) SessionCounts(ctx context.Context, ids []int) (map[int]SessionCount, error) {
	var rows []SessionCount
	err := s.Read(ctx, func(tx *sqlx.Tx) error {
		return tx.SelectContext(ctx, &rows, `SELECT session_id, learners, personal FROM hub.session_counts($1)`, pq.Array(ids))
	})
	if err != nil {
		return nil, fmt.Errorf("store: session counts: %w", err)
	}
	m := make(map[int]SessionCount, len(rows))
	for _, r := range rows {
		m[r.SessionID] = r
	}
	return m, nil
}

// EnrolmentsOf returns page p of the enrolments of each session that the caller may read.
func (s *Store) EnrolmentsOf(ctx context.Context, sessionIDs []int, p Page) (map[int]*Result[model.Enrolment], error) {
	return fetchEach(ctx, s, enrolmentList(ctx), "e.session_id", func(e *model.Enrolment) int { return e.SessionID }, sessionIDs, p)
}
