// Package hubtest runs the whole hub against a real PostgreSQL for tests: a
// fresh clone of the migrated demo database per test, served over HTTP by the
// same handler as in production, connected as the runtime role.
package hubtest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/gen-hub/genhub/internal/database"
	"github.com/gen-hub/genhub/internal/pgtest"
	"github.com/gen-hub/genhub/internal/seed"
	"github.com/gen-hub/genhub/internal/server"
	"github.com/gen-hub/genhub/internal/store"
)

// AppPassword is the runtime role's password on test servers.
const AppPassword = "genhub-test-app"

// Env is a running hub over its own database.
type Env struct {
	AdminURL string
	AppURL   string
	Admin    *sqlx.DB // superuser connection, for setting up and checking
	App      *sqlx.DB // runtime role pool, as the hub serves
	Store    *store.Store
	Handler  http.Handler
	Audit    *server.Audit

	mu   sync.Mutex
	sent []sent // requests sent through Post, checked against the audit log when the test ends
}

// sent is what the harness expects the audit log to hold of one request.
type sent struct {
	id          string
	prefix      string // key prefix, "" for the public
	status      int
	rows, cells int
	outcome     string
}

// DemoTemplate returns the template database with migrations and the demo data set.
func DemoTemplate(t testing.TB) string { return ScaledTemplate(t, 1) }

// ScaledTemplate returns the template database with migrations and the demo
// data set at the given scale. It is built once per test binary on the
// throwaway test cluster (scale 10: about half a minute), and reused across
// runs on a server named by GENHUB_TEST_DATABASE_URL.
func ScaledTemplate(t testing.TB, scale int) string {
	name := "demo"
	if scale != 1 {
		name = fmt.Sprintf("demo_x%d", scale)
	}
	return pgtest.Template(t, name, database.MigrationsHash()+"-"+seed.Version, func(ctx context.Context, adminURL string) error {
		if err := database.Migrate(ctx, adminURL, AppPassword); err != nil {
			return err
		}
		if err := seed.Load(ctx, adminURL, seed.Options{Scale: scale, Seed: 1}); err != nil {
			return err
		}
		// Statement counting (StatementCount) reads pg_stat_statements.
		db, err := database.Open(ctx, adminURL)
		if err != nil {
			return err
		}
		defer db.Close()
		_, err = db.ExecContext(ctx, `CREATE EXTENSION IF NOT EXISTS pg_stat_statements`)
		return err
	})
}

// New returns a hub over a fresh clone of the demo database.
func New(t testing.TB) *Env { return NewScaled(t, 1) }

// NewScaled returns a hub over a fresh clone of the demo database at the given scale.
func NewScaled(t testing.TB, scale int) *Env {
	t.Helper()
	ctx := context.Background()
	e := &Env{AdminURL: pgtest.Clone(t, ScaledTemplate(t, scale))}
	// Roles are cluster-wide: make sure this server knows the test password.
	var err error
	if e.Admin, err = database.Open(ctx, e.AdminURL); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Admin.Close() })
	if _, err := e.Admin.ExecContext(ctx, `ALTER ROLE genhub_app PASSWORD '`+AppPassword+`'`); err != nil {
		t.Fatal(err)
	}
	if e.AppURL, err = database.AppURL(e.AdminURL, AppPassword); err != nil {
		t.Fatal(err)
	}
	if e.App, err = database.OpenApp(ctx, e.AppURL, true); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.App.Close() })
	e.App.SetMaxOpenConns(20) // as the hub serves: a bounded pool
	e.App.SetMaxIdleConns(20)
	if err := database.CheckRuntimeRole(ctx, e.App); err != nil {
		t.Fatal(err)
	}
	e.Store = store.New(e.App)
	e.Audit = server.NewAudit(e.Store, nil)
	e.Serve(server.Options{Introspection: true})
	t.Cleanup(func() { e.checkAudit(t) })
	return e
}

// Serve makes e.Handler a hub served with o, recording in e.Audit. Requests
// sent through Post to a handler made this way are checked against the audit
// log when the test ends; a handler a test sets itself is not.
func (e *Env) Serve(o server.Options) {
	o.Audit = e.Audit
	e.Handler = audited{server.New(e.Store, o)}
}

// audited marks the handlers whose requests the harness checks in the audit log.
type audited struct{ http.Handler }

// FlushAudit writes the audit records of the requests answered so far.
func (e *Env) FlushAudit(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := e.Audit.Flush(ctx); err != nil {
		t.Fatalf("flush audit log: %v", err)
	}
}

// checkAudit checks that every request sent through the harness is in the
// audit log once, with its partner, its outcome and the rows and cells of its
// answer as counted here.
func (e *Env) checkAudit(t testing.TB) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := e.Audit.Close(ctx); err != nil {
		t.Errorf("close audit log: %v", err)
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.sent) == 0 || t.Failed() {
		return
	}
	ids := make([]string, len(e.sent))
	for i, s := range e.sent {
		ids[i] = s.id
	}
	var rows []struct {
		ID      string  `db:"request_id"`
		Prefix  *string `db:"prefix"`
		Logged  *string `db:"key_prefix"`
		Rows    int     `db:"rows_returned"`
		Cells   int     `db:"cells_returned"`
		Outcome string  `db:"outcome"`
	}
	// The partner of each record is checked through its key's.
	err := e.Admin.SelectContext(ctx, &rows, `
		SELECT r.request_id, k.prefix, r.key_prefix, r.rows_returned, r.cells_returned, r.outcome
		  FROM hub.request_log r LEFT JOIN hub.api_key k ON k.partner_id = r.partner_id AND k.prefix = r.key_prefix
		 WHERE r.request_id = ANY($1)`, pq.Array(ids))
	if err != nil {
		t.Errorf("read audit log: %v", err)
		return
	}
	got := map[string][]int{}
	for i, r := range rows {
		got[r.ID] = append(got[r.ID], i)
	}
	for _, s := range e.sent {
		idx := got[s.id]
		if len(idx) != 1 {
			t.Errorf("audit log: request %s (key %q, status %d) recorded %d times, want once", s.id, s.prefix, s.status, len(idx))
			continue
		}
		r := rows[idx[0]]
		wantPrefix := s.prefix
		if s.status == http.StatusUnauthorized {
			wantPrefix = "" // a refused key names no partner
		}
		gotPrefix := ""
		if r.Prefix != nil {
			gotPrefix = *r.Prefix
		}
		if gotPrefix != wantPrefix || (r.Logged == nil) != (wantPrefix == "") {
			t.Errorf("audit log: request %s recorded for the partner of key %q, want key %q", s.id, gotPrefix, wantPrefix)
		}
		if r.Rows != s.rows || r.Cells != s.cells || r.Outcome != s.outcome {
			t.Errorf("audit log: request %s recorded rows %d, cells %d, outcome %s; the answer had rows %d, cells %d, outcome %s",
				s.id, r.Rows, r.Cells, r.Outcome, s.rows, s.cells, s.outcome)
		}
	}
}

// StatementCount runs fn and returns how many SQL statements PostgreSQL
// executed in this test's database meanwhile (pg_stat_statements, which the
// test server preloads; BEGIN and COMMIT count too). The once-a-minute record
// of a key's use and the audit log's batches, made in the background, are left out.
func (e *Env) StatementCount(t testing.TB, fn func()) int {
	t.Helper()
	var dbid int
	if err := e.Admin.Get(&dbid, `SELECT oid FROM pg_database WHERE datname = current_database()`); err != nil {
		t.Fatal(err)
	}
	count := func() int {
		var n int
		if err := e.Admin.Get(&n, `SELECT coalesce(sum(calls), 0) FROM pg_stat_statements
			WHERE dbid = $1 AND query NOT LIKE '%pg_stat_statements%' AND query NOT LIKE '%touch_key%'
			  AND query NOT LIKE '%log_requests%'`, dbid); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if _, err := e.Admin.Exec(`SELECT pg_stat_statements_reset(0, $1, 0)`, dbid); err != nil {
		t.Fatal(err)
	}
	before := count()
	fn()
	return count() - before
}

// Response is a GraphQL response as a client sees it.
type Response struct {
	Status int
	Header http.Header
	Data   json.RawMessage `json:"data"`
	Errors []Error         `json:"errors"`
	// Elapsed is the time the hub's handler took, without the test's decoding.
	Elapsed time.Duration `json:"-"`
}

// Error is one GraphQL error.
type Error struct {
	Message    string         `json:"message"`
	Path       []any          `json:"path"`
	Extensions map[string]any `json:"extensions"`
}

// Code returns the error's stable code.
func (e Error) Code() string { s, _ := e.Extensions["code"].(string); return s }

// Query posts a GraphQL query with the given key ("" for the public).
func (e *Env) Query(t testing.TB, key, query string, vars map[string]any) *Response {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	return e.Post(t, key, body)
}

// Post sends a raw request body to /graphql.
func (e *Env) Post(t testing.TB, key string, body []byte) *Response {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, "/graphql", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	id := fmt.Sprintf("hubtest-%d", requestSeq.Add(1))
	req.Header.Set("X-Request-Id", id)
	rec := httptest.NewRecorder()
	start := time.Now()
	e.Handler.ServeHTTP(rec, req)
	res := &Response{Status: rec.Code, Header: rec.Header(), Elapsed: time.Since(start)}
	b, _ := io.ReadAll(rec.Body)
	if err := json.Unmarshal(b, res); err != nil {
		t.Fatalf("response is not JSON (status %d): %s", rec.Code, b)
	}
	if _, ok := e.Handler.(audited); !ok {
		return res
	}
	s := sent{id: id, status: rec.Code, outcome: "OK"}
	if m := keyPrefixRe.FindStringSubmatch(key); m != nil {
		s.prefix = m[1]
	}
	s.rows, s.cells = countData(res.Data)
	if len(res.Errors) > 0 {
		s.outcome = res.Errors[0].Code()
	}
	e.mu.Lock()
	e.sent = append(e.sent, s)
	e.mu.Unlock()
	return res
}

var (
	requestSeq  atomic.Int64
	keyPrefixRe = regexp.MustCompile(`^gh_([a-z0-9]{8,16})_`)
)

// countData counts the objects below the root of data and its values other
// than null, decoding it (the hub counts them while it answers, as text).
func countData(data json.RawMessage) (rows, cells int) {
	var v any
	if len(data) == 0 || json.Unmarshal(data, &v) != nil {
		return 0, 0
	}
	var walk func(v any, root bool)
	walk = func(v any, root bool) {
		switch v := v.(type) {
		case map[string]any:
			if !root {
				rows++
			}
			for _, x := range v {
				walk(x, false)
			}
		case []any:
			for _, x := range v {
				walk(x, false)
			}
		case nil:
		default:
			cells++
		}
	}
	walk(v, true)
	return rows, cells
}

// MustData decodes the data of a response without errors into v.
func (r *Response) MustData(t testing.TB, v any) {
	t.Helper()
	if len(r.Errors) > 0 {
		t.Fatalf("unexpected errors: %+v", r.Errors)
	}
	if err := json.Unmarshal(r.Data, v); err != nil {
		t.Fatalf("decode data: %v\n%s", err, r.Data)
	}
}
