package csvdata

import (
	"context"
	"io"
	"slices"
	"strconv"
	"sync/atomic"

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
		// Lines are read and checked here while the previous batch is written
		// by another goroutine: at most three batches are held at once.
		stage, err := store.NewEnrolmentStage(ctx, tx)
		if err != nil {
			return err
		}
		w := &enrolmentWriter{ctx: ctx, tx: tx, stage: stage, rep: rep, o: o, sessions: map[int]store.SessionDates{}, refused: map[int]bool{}}
		batches := make(chan batch, 1)
		written := make(chan error, 1)
		var failed atomic.Bool
		go func() {
			var err error
			for b := range batches {
				if err == nil {
					if err = w.flush(b); err != nil {
						failed.Store(true)
					}
				}
			}
			written <- err
		}()
		b := newBatch(o.BatchSize)
		err = func() error {
			for !failed.Load() {
				ok, err := t.next(func(line int, reason string) { rep.Lines++; rep.reject(o, line, "", reason) })
				if err != nil || !ok {
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
				b.rows, b.lines = append(b.rows, row), append(b.lines, t.line)
				if len(b.rows) == o.BatchSize {
					batches <- b
					b = newBatch(o.BatchSize)
				}
			}
			return nil
		}()
		if len(b.rows) > 0 && err == nil {
			batches <- b
		}
		close(batches)
		if werr := <-written; werr != nil {
			return werr
		}
		return err
	})
}

// batch is rows to write with their line numbers.
type batch struct {
	rows  []store.EnrolmentRow
	lines []int
}

func newBatch(n int) batch {
	return batch{rows: make([]store.EnrolmentRow, 0, n), lines: make([]int, 0, n)}
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
	stage    *store.EnrolmentStage
	rep      *Report
	o        Options
	sessions map[int]store.SessionDates // writable
	refused  map[int]bool               // not writable
}

func (w *enrolmentWriter) flush(b batch) error {
	var ask []int
	for _, r := range b.rows {
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
	type learner struct {
		session int
		ref     string
	}
	last := make(map[learner]int, len(b.rows))
	for i, r := range b.rows {
		last[learner{r.SessionID, r.LearnerRef}] = i
	}
	rows, lines := b.rows[:0], b.lines[:0] // filtered in place
	for i, r := range b.rows {
		var f fields
		r.CheckSession(&f.p, "row", w.sessions)
		switch {
		case len(f.p.List) > 0:
			reportRow(w.rep, w.o, b.lines[i], &f.p)
		case last[learner{r.SessionID, r.LearnerRef}] != i:
			w.rep.supersede()
		default:
			rows, lines = append(rows, r), append(lines, b.lines[i])
		}
	}
	return writeBatch(w.ctx, w.tx, w.rep, w.o, rows, lines, func(rows []store.EnrolmentRow) (store.EnrolmentCounts, error) {
		if len(rows) == 1 { // a line retried alone, or a last line
			return store.UpsertEnrolments(w.ctx, w.tx, rows)
		}
		return w.stage.Write(w.ctx, rows)
	})
}
