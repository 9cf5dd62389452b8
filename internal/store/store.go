// Package store holds all SQL of the hub. Every partner read or write goes
// through Read or Write, which run the work in a short transaction under the
// caller's request role and identity, so that PostgreSQL's row-level security
// applies to everything the work does.
package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/gen-hub/genhub/internal/access"
	"github.com/gen-hub/genhub/internal/apierror"
	"github.com/gen-hub/genhub/internal/database"
)

// Store runs queries for callers.
type Store struct {
	db *sqlx.DB
	// StatementTimeout bounds every statement of a unit of work.
	StatementTimeout time.Duration
}

// New returns a store over db, which must be connected as the runtime role.
func New(db *sqlx.DB) *Store {
	return &Store{db: db, StatementTimeout: 5 * time.Second}
}

// DB returns the underlying pool, for health checks and metrics.
func (s *Store) DB() *sqlx.DB { return s.db }

// Read runs fn in a read-only transaction as the caller in ctx. Inside a
// unit of work opened by Unit, it runs in that unit's transaction instead.
func (s *Store) Read(ctx context.Context, fn func(tx *sqlx.Tx) error) error {
	if u, ok := ctx.Value(unitKey{}).(*unit); ok && u.store == s {
		u.mu.Lock()
		defer u.mu.Unlock()
		return fn(u.tx)
	}
	return s.run(ctx, true, fn)
}

// Write runs fn in a read-write transaction as the caller in ctx; everything
// fn does is committed together or not at all.
func (s *Store) Write(ctx context.Context, fn func(tx *sqlx.Tx) error) error {
	return s.run(ctx, false, fn)
}

type unitKey struct{}

// unit is a read-only transaction shared by the Reads of one resolver.
type unit struct {
	store *Store
	mu    sync.Mutex // serialises statements: lib/pq runs one query at a time per connection
	tx    *sqlx.Tx
}

// Unit runs fn with a context whose Reads share one read-only transaction: a
// resolver that reads a page and what is nested below it pays for one
// transaction. The context must not outlive fn; statements are serialised,
// so a goroutine that inherits it by mistake is slow, not unsafe.
func (s *Store) Unit(ctx context.Context, fn func(ctx context.Context) error) error {
	if u, ok := ctx.Value(unitKey{}).(*unit); ok && u.store == s {
		return fn(ctx)
	}
	return s.run(ctx, true, func(tx *sqlx.Tx) error {
		return fn(context.WithValue(ctx, unitKey{}, &unit{store: s, tx: tx}))
	})
}

func (s *Store) run(ctx context.Context, readOnly bool, fn func(tx *sqlx.Tx) error) (err error) {
	c := access.FromContext(ctx)
	// Transaction-local: the pooled connection is clean again after COMMIT or ROLLBACK.
	timeout := strconv.FormatInt(s.StatementTimeout.Milliseconds(), 10)
	if d, ok := ctx.Value(timeoutKey{}).(time.Duration); ok {
		timeout = strconv.FormatInt(d.Milliseconds(), 10)
	}
	// A read goes with its caller's settings in the BEGIN's round trip, where
	// the connection allows it (database.OpenApp).
	begin := &database.Begin{}
	if readOnly {
		begin.SQL = `SELECT set_config('role', ` + pq.QuoteLiteral(c.Role()) + `, true), set_config('genhub.partner', ` +
			pq.QuoteLiteral(c.Setting()) + `, true), set_config('statement_timeout', ` + pq.QuoteLiteral(timeout) + `, true)`
	}
	tx, err := s.db.BeginTxx(database.WithBegin(ctx, begin), &sql.TxOptions{ReadOnly: readOnly})
	if err != nil {
		return classify(ctx, fmt.Errorf("store: begin: %w", err))
	}
	defer func() {
		if err != nil {
			tx.Rollback()
		}
	}()
	switch {
	case begin.Done: // the settings went with BEGIN
	case readOnly:
		_, err = tx.ExecContext(ctx,
			`SELECT set_config('role', $1, true), set_config('genhub.partner', $2, true), set_config('statement_timeout', $3, true)`,
			c.Role(), c.Setting(), timeout)
	default:
		// The audit triggers record who made each change, and in which request.
		_, err = tx.ExecContext(ctx,
			`SELECT set_config('role', $1, true), set_config('genhub.partner', $2, true), set_config('statement_timeout', $3, true),
			        set_config('genhub.author', $4, true), set_config('genhub.request', $5, true)`,
			c.Role(), c.Setting(), timeout, Author(ctx), RequestID(ctx))
	}
	if err != nil {
		return classify(ctx, fmt.Errorf("store: set caller: %w", err))
	}
	if err = fn(tx); err != nil {
		return classify(ctx, err)
	}
	if err = tx.Commit(); err != nil {
		return classify(ctx, fmt.Errorf("store: commit: %w", err))
	}
	return nil
}

// classify turns failures of the database itself into caller-facing errors:
// a deadline is TIMEOUT, an unreachable server UNAVAILABLE. Other errors pass.
func classify(ctx context.Context, err error) error {
	if _, ok := apierror.As(err); ok {
		return err
	}
	var pqErr *pq.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(ctx.Err(), context.DeadlineExceeded):
		return &apierror.Error{Code: apierror.Timeout, Message: "the request took too long and was cancelled"}
	case errors.As(err, &pqErr) && pqErr.Code == "57014": // query_canceled: statement_timeout
		return &apierror.Error{Code: apierror.Timeout, Message: "the query took too long and was cancelled"}
	case errors.As(err, &pqErr) && (pqErr.Code.Class() == "08" || pqErr.Code == "57P01" || pqErr.Code == "57P02" || pqErr.Code == "57P03"):
		return &apierror.Error{Code: apierror.Unavailable, Message: "the database is unavailable; retry shortly"}
	case errors.Is(err, driver.ErrBadConn) || isNetError(err):
		return &apierror.Error{Code: apierror.Unavailable, Message: "the database is unavailable; retry shortly"}
	}
	return err
}

func isNetError(err error) bool {
	var ne net.Error
	var oe *net.OpError
	return errors.As(err, &ne) || errors.As(err, &oe)
}
