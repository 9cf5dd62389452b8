package store

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/lib/pq"

	"github.com/gen-hub/genhub/graph/model"
)

// RequestRecord is one request to append to the audit log.
type RequestRecord struct {
	At            time.Time
	RequestID     string
	PartnerID     *int
	KeyPrefix     *string
	OperationName *string
	OperationHash *string
	Level         *string
	RootFields    *string
	Rows, Cells   int
	DurationMs    float64
	Outcome       string
}

// LogRequests appends records to the audit log in one statement, as the
// login role itself, through the one function it may call to do so, which
// can only insert.
func (s *Store) LogRequests(ctx context.Context, recs []RequestRecord) error {
	if len(recs) == 0 {
		return nil
	}
	n := len(recs)
	at, id, prefix, name, hash, level, scope, outcome := make([]string, n), make([]string, n), make([]*string, n),
		make([]*string, n), make([]*string, n), make([]*string, n), make([]*string, n), make([]string, n)
	partner := make([]*int, n)
	rows, cells := make([]int64, n), make([]int64, n)
	dur := make([]float64, n)
	for i, r := range recs {
		at[i], id[i], partner[i], prefix[i], name[i], hash[i] = r.At.UTC().Format(time.RFC3339Nano), r.RequestID, r.PartnerID, r.KeyPrefix, r.OperationName, r.OperationHash
		level[i], scope[i], rows[i], cells[i], dur[i], outcome[i] = r.Level, r.RootFields, int64(r.Rows), int64(r.Cells), r.DurationMs, r.Outcome
	}
	_, err := s.db.ExecContext(ctx, `SELECT hub.log_requests($1::timestamptz[], $2, $3::integer[], $4::text[], $5::text[], $6::text[],
		$7::text[], $8::text[], $9, $10, $11::numeric[], $12)`,
		pq.Array(at), pq.Array(id), nullableInts(partner), nullableStrings(prefix), nullableStrings(name), nullableStrings(hash),
		nullableStrings(level), nullableStrings(scope), pq.Array(rows), pq.Array(cells), pq.Array(dur), pq.Array(outcome))
	if err != nil {
		return fmt.Errorf("store: log requests: %w", err)
	}
	return nil
}

// RequestLogFilter selects audit records; zero fields are ignored.
type RequestLogFilter struct {
	PartnerID    int
	RequestID    string
	Since, Until *time.Time
}

const requestCols = `r.id, r.at, r.request_id, r.partner_id, r.key_prefix, r.operation_name, r.operation_hash,
	r.level, r.scope, r.rows_returned, r.cells_returned, r.duration_ms, r.outcome`

// RequestLog returns a page of the request records the caller may read, newest
// first: its own, or everyone's for the operator.
func (s *Store) RequestLog(ctx context.Context, f RequestLogFilter, p Page) (*Result[model.RequestLogEntry], error) {
	l := &list[model.RequestLogEntry]{
		sel:   requestCols,
		from:  "hub.request_log r",
		order: order{cols: []string{"r.id"}, types: []string{"bigint"}, desc: true},
		key:   func(r *model.RequestLogEntry) []string { return []string{strconv.FormatInt(r.RowID, 10)} },
	}
	if f.PartnerID != 0 {
		l.q.and("r.partner_id = " + l.q.arg(f.PartnerID))
	}
	if f.RequestID != "" {
		l.q.and("r.request_id = " + l.q.arg(f.RequestID))
	}
	if f.Since != nil {
		l.q.and("r.at >= " + l.q.arg(*f.Since))
	}
	if f.Until != nil {
		l.q.and("r.at < " + l.q.arg(*f.Until))
	}
	return fetch(ctx, s, l, p)
}

// ChangeLogFilter selects changes; zero fields are ignored.
type ChangeLogFilter struct {
	Table, RowKey, RequestID string
	PartnerID                int
	Since, Until             *time.Time
}

// ChangeLog returns a page of the changes the caller may read (the operator
// only), newest first. The log keeps one entry per statement; hub.change_rows
// shows it one change per row, and filters on an entry's columns select
// entries before their rows are unfolded.
func (s *Store) ChangeLog(ctx context.Context, f ChangeLogFilter, p Page) (*Result[model.ChangeLogEntry], error) {
	l := &list[model.ChangeLogEntry]{
		sel: `c.id, c.position, c.at, c.request_id, c.partner_id, c.author, c.table_name, c.row_key, c.action,
			c.before::text AS before, c.after::text AS after`,
		from:  "hub.change_rows c",
		order: order{cols: []string{"c.id", "c.position"}, types: []string{"bigint", "integer"}, desc: true},
		key: func(c *model.ChangeLogEntry) []string {
			return []string{strconv.FormatInt(c.RowID, 10), strconv.Itoa(c.Position)}
		},
	}
	if f.Table != "" {
		l.q.and("c.table_name = " + l.q.arg(f.Table))
	}
	if f.RowKey != "" {
		// An entry holds rows whose first key column is in one block of
		// 1,000 values (see migrations/00040_change_log_by_statement.sql).
		first, _, _ := strings.Cut(f.RowKey, ":")
		n, err := strconv.ParseInt(first, 10, 64)
		if err != nil {
			l.q.and("false") // every key starts with a number
		} else {
			l.q.and("c.key_block = " + l.q.arg(n/changeKeyBlock))
		}
		k := l.q.arg(f.RowKey)
		l.q.and(k + " = ANY (c.row_keys)")
		l.q.and("c.row_key = " + k)
	}
	if f.RequestID != "" {
		l.q.and("c.request_id = " + l.q.arg(f.RequestID))
	}
	if f.PartnerID != 0 {
		l.q.and("c.partner_id = " + l.q.arg(f.PartnerID))
	}
	if f.Since != nil {
		l.q.and("c.at >= " + l.q.arg(*f.Since))
	}
	if f.Until != nil {
		l.q.and("c.at < " + l.q.arg(*f.Until))
	}
	return fetch(ctx, s, l, p)
}

// changeKeyBlock is the width of the blocks of key values the change log's
// entries are grouped by (hub.record_change).
const changeKeyBlock = 1000

// nullableStrings writes a text[] literal with NULLs.
func nullableStrings(xs []*string) any {
	out := make([]any, len(xs))
	for i, x := range xs {
		if x != nil {
			out[i] = *x
		}
	}
	return pq.GenericArray{A: out}
}

func nullableInts(xs []*int) any {
	out := make([]any, len(xs))
	for i, x := range xs {
		if x != nil {
			out[i] = int64(*x)
		}
	}
	return pq.GenericArray{A: out}
}
