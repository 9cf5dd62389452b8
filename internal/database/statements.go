package database

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"

	"github.com/hashicorp/golang-lru/v2/simplelru"
	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// MaxPrepared bounds the statements each connection keeps prepared.
const MaxPrepared = 200

// OpenApp connects like Open, for the hub's runtime role: each connection
// prepares every statement with parameters the first time it runs it and
// keeps it, so PostgreSQL parses and analyses the hub's statements, and their
// row-level security policies, once per connection instead of once per call.
// Plans stay right for each caller: PostgreSQL replans a cached statement
// whose plan depends on row-level security when the role changes, and the
// policies read the caller's settings when they run, not when they are planned.
// With prepare false (a pooler in transaction mode, which does not keep
// prepared statements), it is Open.
func OpenApp(ctx context.Context, dsn string, prepare bool) (*sqlx.DB, error) {
	if !prepare {
		return Open(ctx, dsn)
	}
	c, err := pq.NewConnector(dsn)
	if err != nil {
		return nil, fmt.Errorf("database: open: %w", err)
	}
	db := sqlx.NewDb(sql.OpenDB(preparing{c}), "postgres")
	return db, connected(ctx, db, dsn)
}

// preparing is a connector whose connections keep their prepared statements.
type preparing struct{ pq *pq.Connector }

func (c preparing) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.pq.Connect(ctx)
	if err != nil {
		return nil, err
	}
	pc, ok := conn.(pqConn)
	if !ok { // a driver without the interfaces lib/pq has: use it as it is
		return conn, nil
	}
	p := &preparedConn{pqConn: pc}
	p.stmts, _ = simplelru.NewLRU[string, driver.Stmt](MaxPrepared, func(_ string, s driver.Stmt) {
		p.closing = append(p.closing, s)
	})
	return p, nil
}

func (c preparing) Driver() driver.Driver { return c.pq.Driver() }

// pqConn is what database/sql uses of a lib/pq connection.
type pqConn interface {
	driver.Conn
	driver.ConnBeginTx
	driver.ConnPrepareContext
	driver.QueryerContext
	driver.ExecerContext
	driver.Pinger
	driver.SessionResetter
	driver.Validator
	driver.NamedValueChecker
}

// preparedConn runs statements with parameters through prepared statements.
// database/sql never uses a connection from two goroutines at once, so it
// needs no lock. A statement evicted from the cache is closed when the
// connection is next idle (ResetSession), never while rows are being read.
type preparedConn struct {
	pqConn
	stmts   *simplelru.LRU[string, driver.Stmt]
	closing []driver.Stmt
	reading bool // rows of this connection are open: nothing else may be sent
}

// errBusy refuses a statement sent while rows of the connection are open
// (lib/pq checks this for its own queries, not for prepared statements).
var errBusy = errors.New("database: a query is already being read on this connection")

type stmtContext interface {
	driver.Stmt
	driver.StmtQueryContext
	driver.StmtExecContext
}

// stmt returns the prepared statement of query, preparing it the first time.
func (c *preparedConn) stmt(ctx context.Context, query string) (stmtContext, error) {
	if s, ok := c.stmts.Get(query); ok {
		return s.(stmtContext), nil
	}
	s, err := c.pqConn.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	sc, ok := s.(stmtContext)
	if !ok {
		s.Close()
		return nil, errors.New("database: prepared statement without context support")
	}
	c.stmts.Add(query, sc)
	return sc, nil
}

func (c *preparedConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	if c.reading {
		return nil, errBusy
	}
	if len(args) == 0 {
		return c.watch(c.pqConn.QueryContext(ctx, query, args))
	}
	s, err := c.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	r, err := s.QueryContext(ctx, args)
	if err != nil {
		c.forgetIfStale(query, err)
	}
	return c.watch(r, err)
}

// watch notes that rows are open on the connection until they are closed:
// preparing or closing a statement then would mix up the protocol.
func (c *preparedConn) watch(r driver.Rows, err error) (driver.Rows, error) {
	if err != nil {
		return nil, err
	}
	pr, ok := r.(pqRows)
	if !ok {
		r.Close()
		return nil, errors.New("database: rows without column types")
	}
	c.reading = true
	return &preparedRows{pqRows: pr, conn: c}, nil
}

func (c *preparedConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	if c.reading {
		return nil, errBusy
	}
	if len(args) == 0 {
		return c.pqConn.ExecContext(ctx, query, args)
	}
	s, err := c.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	res, err := s.ExecContext(ctx, args)
	if err != nil {
		c.forgetIfStale(query, err)
	}
	return res, err
}

// forgetIfStale drops a statement that a migration made stale (its result
// type changed): it fails this once and is prepared again on its next use.
func (c *preparedConn) forgetIfStale(query string, err error) {
	var pqErr *pq.Error
	if errors.As(err, &pqErr) && (pqErr.Code == "0A000" || pqErr.Code == "26000") { // cached plan changed; no such statement
		c.stmts.Remove(query)
	}
}

// ResetSession closes the statements evicted since the connection was last
// used, before database/sql hands it out again.
func (c *preparedConn) ResetSession(ctx context.Context) error {
	for _, s := range c.closing {
		if err := s.Close(); err != nil {
			return driver.ErrBadConn
		}
	}
	c.closing = c.closing[:0]
	return c.pqConn.ResetSession(ctx)
}

// pqRows is what database/sql uses of lib/pq's rows.
type pqRows interface {
	driver.Rows
	driver.RowsColumnTypeScanType
	driver.RowsColumnTypeDatabaseTypeName
	driver.RowsColumnTypeLength
	driver.RowsColumnTypePrecisionScale
}

// preparedRows tells its connection when its rows are closed.
type preparedRows struct {
	pqRows
	conn *preparedConn
}

func (r *preparedRows) Close() error {
	r.conn.reading = false
	return r.pqRows.Close()
}

// Begin carries statements a transaction runs first, sent with its BEGIN in
// one round trip (one simple-protocol query) by connections opened with
// OpenApp; Done says they ran. Other connections leave Done false, and the
// caller runs them itself. The statements take no parameters: what they hold
// must be quoted (pq.QuoteLiteral).
type Begin struct {
	SQL  string
	Done bool
}

type beginKey struct{}

// WithBegin returns ctx under which the next BeginTx runs b with its BEGIN.
func WithBegin(ctx context.Context, b *Begin) context.Context {
	return context.WithValue(ctx, beginKey{}, b)
}

// BeginTx opens a transaction, running the statements of a Begin in ctx in
// the same round trip as BEGIN. It sends BEGIN itself, for every transaction
// of the connection: lib/pq follows the transaction's state from the server's
// answers, so its Commit and Rollback end it as usual, and it never keeps a
// watcher of a transaction it did not begin (database/sql rolls a transaction
// back when its context ends; lib/pq still watches each statement's).
func (c *preparedConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	tx, ok := c.pqConn.(driver.Tx)
	if !ok {
		return c.pqConn.BeginTx(ctx, opts)
	}
	if c.reading {
		return nil, errBusy
	}
	q := "BEGIN"
	switch sql.IsolationLevel(opts.Isolation) {
	case sql.LevelDefault:
	case sql.LevelReadCommitted:
		q += " ISOLATION LEVEL READ COMMITTED"
	case sql.LevelRepeatableRead:
		q += " ISOLATION LEVEL REPEATABLE READ"
	case sql.LevelSerializable:
		q += " ISOLATION LEVEL SERIALIZABLE"
	default:
		return nil, fmt.Errorf("database: isolation level %d not supported", opts.Isolation)
	}
	if opts.ReadOnly {
		q += " READ ONLY"
	} else {
		q += " READ WRITE"
	}
	b, _ := ctx.Value(beginKey{}).(*Begin)
	if b != nil && b.SQL == "" {
		b = nil
	}
	if b != nil {
		q += "; " + b.SQL
	}
	if _, err := c.pqConn.ExecContext(ctx, q, nil); err != nil {
		tx.Rollback() // if BEGIN ran; an error otherwise, which changes nothing
		return nil, err
	}
	if b != nil {
		b.Done = true
	}
	return tx, nil
}
