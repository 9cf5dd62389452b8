package store

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/jmoiron/sqlx"
)

// columner is a row type that says where each of its columns scans to.
type columner interface{ Column(name string) any }

// selectRows runs q and scans every row into a new T: without reflection when
// T is a columner, through sqlx otherwise. Columns T does not know (such as
// row_number_) are read and dropped.
func selectRows[T any](ctx context.Context, tx *sqlx.Tx, q string, args ...any) ([]*T, error) {
	if _, ok := any(new(T)).(columner); !ok {
		var out []*T
		err := tx.Unsafe().SelectContext(ctx, &out, q, args...)
		return out, err
	}
	rows, err := tx.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	var (
		out     []*T
		discard any
		ptrs    = make([]any, len(cols))
	)
	for rows.Next() {
		t := new(T)
		c := any(t).(columner)
		for i, name := range cols {
			if ptrs[i] = c.Column(name); ptrs[i] == nil {
				ptrs[i] = &discard
			}
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// columnList returns the columns of alias to select: those of want that are in
// all (the table's readable columns), plus always; every column when want is nil.
func columnList(alias string, all, want []string, always ...string) string {
	var b strings.Builder
	for _, c := range all {
		if want != nil && !slices.Contains(want, c) && !slices.Contains(always, c) {
			continue
		}
		if b.Len() > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s.%s", alias, c)
	}
	return b.String()
}
