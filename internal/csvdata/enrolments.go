package csvdata

import (
	"context"
	"io"
	"slices"
	"strconv"

	"github.com/jmoiron/sqlx"

	"github.com/gen-hub/genhub/graph/model"
	"github.com/gen-hub/genhub/internal/store"
)

// EnrolmentColumns are the columns of an enrolments file, in the order the
// export writes them; certification_obtained may be left out or empty. Enum
// values are the API's, in either case (FEMALE or female).
var EnrolmentColumns = []string{"session_id", "learner_ref", "enrolled_on", "sex", "age_band", "qualification",
	"prior_situation", "qpv_resident", "completion"}

// ImportEnrolments adds or corrects the enrolments of a CSV file as the
// caller in ctx: a training organisation for its own sessions, or the
// operator. A learner already enrolled in the session under the same
// pseudonym is corrected.
func ImportEnrolments(ctx context.Context, st *store.Store, r io.Reader, o Options) (*Report, error) {
	o.defaults()
	return run(ctx, st, "enrolments", r, o, func(tx *sqlx.Tx, in io.Reader, rep *Report) error {
		t, err := newTable(in, EnrolmentColumns, []string{"certification_obtained"})
		if err != nil {
			return err
		}
		w := &enrolmentWriter{ctx: ctx, tx: tx, rep: rep, o: o, sessions: map[int]store.SessionDates{}, refused: map[int]bool{}}
		for {
			ok, err := t.next(func(line int, reason string) { rep.Lines++; rep.reject(o, line, "", reason) })
			if err != nil || !ok {
				if err == nil {
					err = w.flush()
				}
				return err
			}
			rep.Lines++
			f := fields{t: t}
			row := store.EnrolmentRow{
				SessionID: sessionID(&f), LearnerRef: f.str("learner_ref"), EnrolledOn: f.date("enrolled_on"),
				Sex: f.code("sex"), AgeBand: f.code("age_band"), Qualification: f.code("qualification"),
				PriorSituation: f.code("prior_situation"), QPVResident: f.bool("qpv_resident"),
				Completion: f.code("completion"), CertificationObtained: f.optBool("certification_obtained"),
			}
			if len(f.p.List) == 0 {
				row.Check(&f.p, "row")
			}
			if len(f.p.List) > 0 {
				reportRow(rep, o, t.line, &f.p)
				continue
			}
			w.rows, w.lines = append(w.rows, row), append(w.lines, t.line)
			if len(w.rows) == o.BatchSize {
				if err := w.flush(); err != nil {
					return err
				}
			}
		}
	})
}

// sessionID reads a session's number, or its global identifier.
func sessionID(f *fields) int {
	s := f.str("session_id")
	if n, err := strconv.Atoi(s); err == nil && n > 0 {
		return n
	}
	if n, ok := model.ParseIntID("Session", s); ok {
		return n
	}
	f.p.Add("session_id", "%q is not a session number or identifier", s)
	return 0
}

// enrolmentWriter checks batches of rows against the sessions the caller may
// write to (remembered as it goes) and writes them.
type enrolmentWriter struct {
	ctx      context.Context
	tx       *sqlx.Tx
	rep      *Report
	o        Options
	rows     []store.EnrolmentRow
	lines    []int
	sessions map[int]store.SessionDates // writable
	refused  map[int]bool               // not writable
}

func (w *enrolmentWriter) flush() error {
	var ask []int
	for _, r := range w.rows {
		if _, ok := w.sessions[r.SessionID]; !ok && !w.refused[r.SessionID] && !slices.Contains(ask, r.SessionID) {
			ask = append(ask, r.SessionID)
		}
	}
	if len(ask) > 0 {
		found, err := store.WritableSessionsTx(w.ctx, w.tx, ask)
		if err != nil {
			return err
		}
		for _, s := range found {
			w.sessions[s.ID] = s
		}
		for _, id := range ask {
			if _, ok := w.sessions[id]; !ok {
				w.refused[id] = true
			}
		}
	}
	// Check the sessions; of a learner given twice, the last line wins.
	last := make(map[[2]any]int, len(w.rows))
	for i, r := range w.rows {
		last[[2]any{r.SessionID, r.LearnerRef}] = i
	}
	rows, lines := w.rows[:0], w.lines[:0] // filtered in place
	for i, r := range w.rows {
		var f fields
		r.CheckSession(&f.p, "row", w.sessions)
		switch {
		case len(f.p.List) > 0:
			reportRow(w.rep, w.o, w.lines[i], &f.p)
		case last[[2]any{r.SessionID, r.LearnerRef}] != i:
			w.rep.Superseded++
		default:
			rows, lines = append(rows, r), append(lines, w.lines[i])
		}
	}
	err := writeBatch(w.ctx, w.tx, w.rep, w.o, rows, lines, func(rows []store.EnrolmentRow) (store.EnrolmentCounts, error) {
		return store.UpsertEnrolments(w.ctx, w.tx, rows)
	})
	w.rows, w.lines = w.rows[:0], w.lines[:0]
	return err
}
