// Package csvdata imports network data from CSV files and exports what a
// caller may see as CSV, streaming both ways in bounded memory.
//
// An import runs as its caller, in one transaction, so row-level security,
// the audit triggers and every constraint apply to each row; lines are
// checked one by one and written in batches: each batch of enrolments is
// copied (COPY FROM) into a temporary table of the transaction, then written
// with one INSERT … SELECT as the caller (PostgreSQL refuses COPY FROM on
// tables under row-level security); formations with INSERT … SELECT FROM
// unnest(arrays). By default the file is applied whole or not at all;
// with Partial the valid lines are applied and the others reported.
package csvdata

import (
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/gen-hub/genhub/graph/model"
	"github.com/gen-hub/genhub/internal/apierror"
	"github.com/gen-hub/genhub/internal/metrics"
	"github.com/gen-hub/genhub/internal/store"
)

// Options tune an import.
type Options struct {
	// Partial applies the valid lines and reports the others; by default one
	// bad line leaves the whole file unapplied.
	Partial bool
	// IdempotencyKey, when set, makes a retry of the same file a no-op that
	// returns the first report.
	IdempotencyKey string
	// BatchSize is the number of rows per INSERT (default 20,000: each
	// statement has a fixed cost, of its triggers above all, that larger
	// batches share; at most three batches are held in memory).
	BatchSize int
	// MaxProblems bounds the rejected lines listed in the report (default 1,000);
	// all are counted.
	MaxProblems int
}

// Report says what an import did.
type Report struct {
	Kind string `json:"kind"`
	// Lines is the number of data lines read (the header excluded).
	Lines int `json:"lines"`
	// Applied says whether the valid lines were written: always with
	// Partial, otherwise only when no line was rejected.
	Applied   bool `json:"applied"`
	Inserted  int  `json:"inserted"`
	Updated   int  `json:"updated"`
	Unchanged int  `json:"unchanged"`
	// Superseded counts lines corrected by a later line of the same batch
	// (the same learner in the same session): the later one is written.
	Superseded int `json:"superseded"`
	Rejected   int `json:"rejected"`
	// Problems lists rejected lines, at most Options.MaxProblems.
	Problems []Problem `json:"problems"`
	// Replayed says this report is an earlier import's with the same
	// idempotency key: nothing was written now.
	Replayed bool `json:"replayed"`

	mu sync.Mutex // lines are checked and written by two goroutines
}

// Problem is a rejected line.
type Problem struct {
	Line   int    `json:"line"`
	Field  string `json:"field,omitempty"`
	Reason string `json:"reason"`
}

func (o *Options) defaults() {
	if o.BatchSize <= 0 {
		o.BatchSize = 20000
	}
	if o.MaxProblems <= 0 {
		o.MaxProblems = 1000
	}
}

// rejected carries a report out of a transaction that must roll back.
type rejected struct{ report *Report }

func (r rejected) Error() string {
	return fmt.Sprintf("%d of %d lines rejected: nothing was applied", r.report.Rejected, r.report.Lines)
}

// ErrHeader is returned for a file whose header lacks a required column.
var ErrHeader = errors.New("csvdata: bad header")

// run applies an import in one unit of work, once per idempotency key. The
// request's hash is the file's: a retry is recognised by its bytes.
func run(ctx context.Context, st *store.Store, kind string, r io.Reader, o Options, body func(tx *sqlx.Tx, in io.Reader, rep *Report) error) (*Report, error) {
	h := sha256.New()
	tee := io.TeeReader(r, h)
	digest := func(h hash.Hash) func() string {
		return func() string {
			io.Copy(io.Discard, tee) // a retry is hashed whole before it is compared
			return hex.EncodeToString(h.Sum(nil))
		}
	}(h)
	ctx = store.WithStatementTimeout(ctx, time.Minute)
	rep, replayed, err := store.WriteOnce(ctx, st, o.IdempotencyKey, "import "+kind, digest, func(tx *sqlx.Tx) (*Report, error) {
		rep := &Report{Kind: kind, Problems: []Problem{}}
		if err := body(tx, tee, rep); err != nil {
			return nil, err
		}
		if rep.Rejected > 0 && !o.Partial {
			return nil, rejected{rep}
		}
		rep.Applied = true
		return rep, nil
	})
	var rj rejected
	if errors.As(err, &rj) {
		rep, err = rj.report, nil
	}
	if err != nil {
		return nil, err
	}
	rep.Replayed = replayed
	if !replayed {
		written := rep.Inserted + rep.Updated + rep.Unchanged
		if !rep.Applied {
			written = 0
		}
		metrics.ImportedRows.WithLabelValues(kind, "written").Add(float64(written))
		metrics.ImportedRows.WithLabelValues(kind, "rejected").Add(float64(rep.Rejected))
	}
	return rep, nil
}

func (rep *Report) reject(o Options, line int, field, reason string) {
	rep.mu.Lock()
	defer rep.mu.Unlock()
	rep.Rejected++
	if len(rep.Problems) < o.MaxProblems {
		rep.Problems = append(rep.Problems, Problem{Line: line, Field: field, Reason: reason})
	}
}

// rejectAll records the problems of one line.
func (rep *Report) rejectAll(o Options, line int, p *apierror.Problems) {
	rep.mu.Lock()
	defer rep.mu.Unlock()
	rep.Rejected++
	for _, e := range p.List {
		if len(rep.Problems) < o.MaxProblems {
			rep.Problems = append(rep.Problems, Problem{Line: line, Field: strings.TrimPrefix(e.Field, "row."), Reason: e.Message})
		}
	}
}

func (rep *Report) rejected() int {
	rep.mu.Lock()
	defer rep.mu.Unlock()
	return rep.Rejected
}

func (rep *Report) supersede() {
	rep.mu.Lock()
	rep.Superseded++
	rep.mu.Unlock()
}

// table reads a CSV stream with a header naming its columns.
type table struct {
	r    *csv.Reader
	cols map[string]int
	rec  []string
	line int
}

func newTable(in io.Reader, required, optional []string) (*table, error) {
	r := csv.NewReader(in)
	r.ReuseRecord = true
	r.FieldsPerRecord = -1
	head, err := r.Read()
	if err == io.EOF {
		return nil, fmt.Errorf("%w: the file is empty; the first line names the columns: %s", ErrHeader, strings.Join(required, ","))
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrHeader, err)
	}
	t := &table{r: r, cols: map[string]int{}, line: 1}
	for i, h := range head {
		t.cols[strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))] = i
	}
	var missing []string
	for _, c := range required {
		if _, ok := t.cols[c]; !ok {
			missing = append(missing, c)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("%w: missing columns %s (expected %s, optionally %s)", ErrHeader,
			strings.Join(missing, ","), strings.Join(required, ","), strings.Join(optional, ","))
	}
	return t, nil
}

// next reads the next line; false at the end. A malformed line is reported
// through bad, and reading goes on.
func (t *table) next(bad func(line int, reason string)) (bool, error) {
	for {
		rec, err := t.r.Read()
		t.line++
		if err == io.EOF {
			return false, nil
		}
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			if pe.Line > 0 {
				t.line = pe.Line
			}
			bad(t.line, "malformed CSV: "+pe.Err.Error())
			continue
		}
		if err != nil {
			return false, err
		}
		if line, _ := t.r.FieldPos(0); line > 0 {
			t.line = line
		}
		t.rec = rec
		return true, nil
	}
}

// get returns the trimmed value of column c, "" when absent.
func (t *table) get(c string) string {
	i, ok := t.cols[c]
	if !ok || i >= len(t.rec) {
		return ""
	}
	return strings.TrimSpace(t.rec[i])
}

// fields parses typed values of one line, recording problems by column.
type fields struct {
	t *table
	p apierror.Problems
}

func (f *fields) str(c string) string { return f.t.get(c) }

// code reads an enumeration value, accepting the API's upper-case spelling.
func (f *fields) code(c string) string { return strings.ToLower(f.t.get(c)) }

func (f *fields) int(c string, optional bool) int {
	s := f.t.get(c)
	if s == "" && optional {
		return 0
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		f.p.Add(c, "%q is not a whole number", s)
	}
	return n
}

func (f *fields) bool(c string) bool {
	b, ok := parseBool(f.t.get(c))
	if !ok {
		f.p.Add(c, "%q is not true or false", f.t.get(c))
	}
	return b
}

func (f *fields) optBool(c string) *bool {
	if f.t.get(c) == "" {
		return nil
	}
	b := f.bool(c)
	return &b
}

func (f *fields) optFloat(c string) *float64 {
	s := f.t.get(c)
	if s == "" {
		return nil
	}
	x, err := strconv.ParseFloat(s, 64)
	if err != nil {
		f.p.Add(c, "%q is not a number", s)
		return nil
	}
	return &x
}

func (f *fields) date(c string) time.Time {
	d, err := model.ParseDate(f.t.get(c))
	if err != nil {
		f.p.Add(c, "%s", err.Error())
	}
	return d.Time
}

func parseBool(s string) (bool, bool) {
	switch strings.ToLower(s) {
	case "true", "t", "1", "yes", "oui":
		return true, true
	case "false", "f", "0", "no", "non":
		return false, true
	}
	return false, false
}

// fieldName turns the path of a row's problem into the CSV column it is about.
func fieldName(path string) string {
	path = strings.TrimPrefix(path, "row.")
	var b strings.Builder
	for _, r := range path {
		if 'A' <= r && r <= 'Z' {
			b.WriteByte('_')
			r += 'a' - 'A'
		}
		b.WriteRune(r)
	}
	return b.String()
}

// reportRow records the problems of a row's checks, named by CSV column.
func reportRow(rep *Report, o Options, line int, p *apierror.Problems) {
	for _, e := range p.List {
		e.Field = fieldName(e.Field)
	}
	rep.rejectAll(o, line, p)
}

// writeBatch writes one batch in a savepoint. When the database refuses it,
// each half is tried again the same way, down to single rows, to find the
// lines it refuses, which are rejected with its reason; the others are kept.
// A few bad lines in a large batch cost a few statements per halving, not
// one per line.
func writeBatch[T any](ctx context.Context, tx *sqlx.Tx, rep *Report, o Options, rows []T, lines []int,
	write func([]T) (store.EnrolmentCounts, error)) error {
	if len(rows) == 0 || (rep.rejected() > 0 && !o.Partial) {
		return nil // nothing will be applied: only check the rest
	}
	try := func(rows []T) (store.EnrolmentCounts, error) {
		if _, err := tx.ExecContext(ctx, `SAVEPOINT batch`); err != nil {
			return store.EnrolmentCounts{}, err
		}
		n, err := write(rows)
		if err != nil {
			if _, rerr := tx.ExecContext(ctx, `ROLLBACK TO SAVEPOINT batch`); rerr != nil {
				return n, rerr
			}
			return n, err
		}
		_, err = tx.ExecContext(ctx, `RELEASE SAVEPOINT batch`)
		return n, err
	}
	var split func(rows []T, lines []int) error
	split = func(rows []T, lines []int) error {
		n, err := try(rows)
		switch {
		case err == nil:
			rep.Inserted, rep.Updated, rep.Unchanged = rep.Inserted+n.Inserted, rep.Updated+n.Updated, rep.Unchanged+n.Unchanged
			return nil
		case !refused(err):
			return err
		case len(rows) == 1:
			e, _ := apierror.As(store.Refusal(err))
			rep.reject(o, lines[0], fieldName(e.Field), e.Message)
			return nil
		}
		half := len(rows) / 2
		if err := split(rows[:half], lines[:half]); err != nil {
			return err
		}
		return split(rows[half:], lines[half:])
	}
	return split(rows, lines)
}

// refused says whether err is the database refusing the data (rather than failing).
func refused(err error) bool {
	e, ok := apierror.As(store.Refusal(err))
	return ok && (e.Code == apierror.BadUserInput || e.Code == apierror.Forbidden)
}
