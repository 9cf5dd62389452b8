package store

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/gen-hub/genhub/internal/apierror"
)

// MaxPage is the largest page a list returns; DefaultPage is used when neither
// first nor last is given.
const (
	MaxPage     = 100
	DefaultPage = 20
)

// Page is a checked request for a slice of an ordered list.
type Page struct {
	Limit    int
	Backward bool     // last/before: the items just before Cursor
	Cursor   []string // key of the item to start after (or before); nil from the start (or end)
}

// NewPage checks Relay arguments and returns the page they ask for.
func NewPage(first *int, after *string, last *int, before *string) (Page, error) {
	p := Page{Limit: DefaultPage}
	switch {
	case first != nil && last != nil:
		return p, apierror.BadInput("first", "give first or last, not both")
	case first != nil && before != nil:
		return p, apierror.BadInput("before", "before goes with last, not with first")
	case last != nil && after != nil:
		return p, apierror.BadInput("after", "after goes with first, not with last")
	}
	field, n, cursor := "first", first, after
	if last != nil || before != nil {
		field, n, cursor, p.Backward = "last", last, before, true
	}
	if n != nil {
		if *n < 0 || *n > MaxPage {
			return p, apierror.BadInput(field, "must be between 0 and %d (got %d)", MaxPage, *n)
		}
		p.Limit = *n
	}
	if cursor != nil {
		key, err := DecodeCursor(*cursor)
		if err != nil {
			name := "after"
			if p.Backward {
				name = "before"
			}
			return p, apierror.BadInput(name, "not a cursor returned by this list")
		}
		p.Cursor = key
	}
	return p, nil
}

// EncodeCursor returns the opaque cursor of a sort key.
func EncodeCursor(key ...string) string {
	b, _ := json.Marshal(key)
	return base64.RawURLEncoding.EncodeToString(b)
}

// DecodeCursor reads a cursor made by EncodeCursor.
func DecodeCursor(c string) ([]string, error) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return nil, err
	}
	var key []string
	if err := json.Unmarshal(b, &key); err != nil || len(key) == 0 || len(key) > 3 {
		return nil, fmt.Errorf("store: bad cursor")
	}
	return key, nil
}

// query collects the conditions and bound parameters of a statement.
type query struct {
	where []string
	args  []any
}

// arg binds v and returns its placeholder.
func (q *query) arg(v any) string {
	q.args = append(q.args, v)
	return fmt.Sprintf("$%d", len(q.args))
}

// and adds a condition.
func (q *query) and(cond string) { q.where = append(q.where, cond) }

func (q *query) whereClause() string {
	if len(q.where) == 0 {
		return ""
	}
	return "WHERE " + strings.Join(q.where, " AND ")
}

// order is a sort order over unique keys: SQL expressions with the type each
// cursor value is cast to, the last one being the row's identifier.
type order struct {
	cols  []string // e.g. "f.title", "f.id"
	types []string // e.g. "text", "integer"
	desc  bool     // newest first
}

// list is one ordered, filtered list of rows of T.
type list[T any] struct {
	sel   string // columns selected, e.g. "f.id, f.title"
	from  string // e.g. "hub.formation f"
	q     query
	order order
	key   func(*T) []string // the sort key of a row, for its cursor
}

// pageQuery returns the conditions and parameters of page p of l (the list's
// own plus the keyset condition of the cursor) and its ORDER BY list.
func (l *list[T]) pageQuery(p Page) (query, string, error) {
	q := l.q // a copy: the count uses l.q alone
	q.where = append([]string(nil), l.q.where...)
	q.args = append([]any(nil), l.q.args...)
	cmp, dir := ">", "ASC"
	if p.Backward != l.order.desc {
		cmp, dir = "<", "DESC"
	}
	if p.Cursor != nil {
		if len(p.Cursor) != len(l.order.cols) {
			field := "after"
			if p.Backward {
				field = "before"
			}
			return q, "", apierror.BadInput(field, "not a cursor of this list in this order")
		}
		ph := make([]string, len(p.Cursor))
		for i, v := range p.Cursor {
			if !fitsType(v, l.order.types[i]) {
				field := "after"
				if p.Backward {
					field = "before"
				}
				return q, "", apierror.BadInput(field, "not a cursor of this list in this order")
			}
			ph[i] = q.arg(v) + "::" + l.order.types[i]
		}
		q.and(fmt.Sprintf("(%s) %s (%s)", strings.Join(l.order.cols, ", "), cmp, strings.Join(ph, ", ")))
	}
	by := make([]string, len(l.order.cols))
	for i, c := range l.order.cols {
		by[i] = c + " " + dir
	}
	return q, strings.Join(by, ", "), nil
}

// fitsType says whether a cursor value can be cast to the SQL type of its column.
func fitsType(v, typ string) bool {
	switch typ {
	case "integer":
		n, err := strconv.ParseInt(v, 10, 32)
		return err == nil && n >= 0
	case "bigint":
		_, err := strconv.ParseInt(v, 10, 64)
		return err == nil
	case "date":
		_, err := time.Parse("2006-01-02", v)
		return err == nil
	case "timestamptz":
		_, err := time.Parse(time.RFC3339Nano, v)
		return err == nil
	}
	return !strings.ContainsRune(v, 0)
}

// page returns the rows of p, and whether rows exist before and after them.
func (l *list[T]) page(ctx context.Context, tx *sqlx.Tx, p Page) (rows []*T, hasPrev, hasNext bool, err error) {
	q, by, err := l.pageQuery(p)
	if err != nil {
		return nil, false, false, err
	}
	// The limit is a parameter: as a constant, it makes PostgreSQL's estimate
	// of a prepared statement's generic plan (an unknown limit counts as 10 %
	// of the rows) dearer than its custom plans, and it plans every call.
	limit := q.arg(p.Limit + 1)
	stmt := fmt.Sprintf("SELECT %s FROM %s %s ORDER BY %s LIMIT %s",
		l.sel, l.from, q.whereClause(), by, limit)
	rows, err = selectRows[T](ctx, tx, stmt, q.args...)
	if err != nil {
		return nil, false, false, fmt.Errorf("store: list %s: %w", l.from, err)
	}
	more := len(rows) > p.Limit
	if more {
		rows = rows[:p.Limit]
	}
	if p.Backward {
		for i, j := 0, len(rows)-1; i < j; i, j = i+1, j-1 {
			rows[i], rows[j] = rows[j], rows[i]
		}
		return rows, more, p.Cursor != nil, nil
	}
	return rows, p.Cursor != nil, more, nil
}

// count returns the number of rows of the list over all pages.
func (l *list[T]) count(ctx context.Context, tx *sqlx.Tx) (int, error) {
	var n int
	stmt := fmt.Sprintf("SELECT count(*) FROM %s %s", l.from, l.q.whereClause())
	if err := tx.GetContext(ctx, &n, stmt, l.q.args...); err != nil {
		return 0, fmt.Errorf("store: count %s: %w", l.from, err)
	}
	return n, nil
}

// Result is a page of rows with what a Relay connection needs.
type Result[T any] struct {
	Rows        []*T
	HasPrevious bool
	HasNext     bool
	Cursor      func(*T) string
	// Count counts the rows of every page, in its own transaction, when called.
	Count func(ctx context.Context) (int, error)
}

// fetch reads page p of l as the caller in ctx.
func fetch[T any](ctx context.Context, s *Store, l *list[T], p Page) (*Result[T], error) {
	r := &Result[T]{Cursor: func(t *T) string { return EncodeCursor(l.key(t)...) }}
	err := s.Read(ctx, func(tx *sqlx.Tx) (err error) {
		r.Rows, r.HasPrevious, r.HasNext, err = l.page(ctx, tx, p)
		return err
	})
	if err != nil {
		return nil, err
	}
	r.Count = func(ctx context.Context) (n int, err error) {
		err = s.Read(ctx, func(tx *sqlx.Tx) (err error) {
			n, err = l.count(ctx, tx)
			return err
		})
		return n, err
	}
	return r, nil
}

// pageEach returns page p of the list for each parent, in one statement: the
// rows whose parentCol is each of parents, numbered per parent.
func pageEach[T any, K comparable](ctx context.Context, tx *sqlx.Tx, l *list[T], parentCol string, parents []K, parentOf func(*T) K, p Page) (map[K][]*T, error) {
	q, by, err := l.pageQuery(p)
	if err != nil {
		return nil, err
	}
	// Each parent's page is read by a scan of its own that stops at the limit
	// (an index on the parent and the order serves it), rather than numbering
	// every row of every parent and sorting them.
	array := "integer[]"
	if _, ok := any(parents).([]string); ok {
		array = "text[]"
	}
	seen := make(map[K]bool, len(parents))
	distinct := make([]K, 0, len(parents))
	for _, k := range parents {
		if !seen[k] {
			seen[k] = true
			distinct = append(distinct, k)
		}
	}
	each := q.arg(pq.Array(distinct))
	q.and(parentCol + " = p_.parent_")
	stmt := fmt.Sprintf(`SELECT x.* FROM unnest(%s::%s) AS p_(parent_) CROSS JOIN LATERAL (SELECT %s
		FROM %s %s ORDER BY %s LIMIT %d) x`,
		each, array, l.sel, l.from, q.whereClause(), by, p.Limit+1)
	rows, err := selectRows[T](ctx, tx, stmt, q.args...)
	if err != nil {
		return nil, fmt.Errorf("store: list %s by %s: %w", l.from, parentCol, err)
	}
	m := make(map[K][]*T, len(parents))
	for _, r := range rows {
		m[parentOf(r)] = append(m[parentOf(r)], r)
	}
	return m, nil
}

// countEach counts the rows of the list for each parent, in one statement.
func countEach[T any, K comparable](ctx context.Context, tx *sqlx.Tx, l *list[T], parentCol string, parents []K) (map[K]int, error) {
	q := l.q
	q.where = append([]string(nil), l.q.where...)
	q.args = append([]any(nil), l.q.args...)
	q.and(parentCol + " = ANY(" + q.arg(pq.Array(parents)) + ")")
	var rows []struct {
		Parent K   `db:"parent"`
		N      int `db:"n"`
	}
	stmt := fmt.Sprintf("SELECT %s AS parent, count(*) AS n FROM %s %s GROUP BY 1", parentCol, l.from, q.whereClause())
	if err := tx.SelectContext(ctx, &rows, stmt, q.args...); err != nil {
		return nil, fmt.Errorf("store: count %s by %s: %w", l.from, parentCol, err)
	}
	m := make(map[K]int, len(rows))
	for _, r := range rows {
		m[r.Parent] = r.N
	}
	return m, nil
}

// fetchEach reads page p of l for each parent as the caller in ctx. The counts
// of all parents are computed together, once, when the first is asked for.
func fetchEach[T any, K comparable](ctx context.Context, s *Store, l *list[T], parentCol string, parentOf func(*T) K, parents []K, p Page) (map[K]*Result[T], error) {
	var byParent map[K][]*T
	err := s.Read(ctx, func(tx *sqlx.Tx) (err error) {
		byParent, err = pageEach(ctx, tx, l, parentCol, parents, parentOf, p)
		return err
	})
	if err != nil {
		return nil, err
	}
	var (
		once   sync.Once
		counts map[K]int
		cerr   error
	)
	cursor := func(t *T) string { return EncodeCursor(l.key(t)...) }
	res := make(map[K]*Result[T], len(parents))
	for _, parent := range parents {
		rows := byParent[parent]
		more := len(rows) > p.Limit
		if more {
			rows = rows[:p.Limit]
		}
		r := &Result[T]{Rows: rows, Cursor: cursor, HasPrevious: p.Cursor != nil, HasNext: more}
		if p.Backward {
			slices.Reverse(r.Rows)
			r.HasPrevious, r.HasNext = more, p.Cursor != nil
		}
		r.Count = func(ctx context.Context) (int, error) {
			once.Do(func() {
				cerr = s.Read(ctx, func(tx *sqlx.Tx) (err error) {
					counts, err = countEach(ctx, tx, l, parentCol, parents)
					return err
				})
			})
			return counts[parent], cerr
		}
		res[parent] = r
	}
	return res, nil
}
