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
	"testing"

	"github.com/jmoiron/sqlx"

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
	if e.App, err = database.Open(ctx, e.AppURL); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.App.Close() })
	e.App.SetMaxOpenConns(20) // as the hub serves: a bounded pool
	e.App.SetMaxIdleConns(20)
	if err := database.CheckRuntimeRole(ctx, e.App); err != nil {
		t.Fatal(err)
	}
	e.Store = store.New(e.App)
	e.Handler = server.New(e.Store, server.Options{Introspection: true})
	return e
}

// StatementCount runs fn and returns how many SQL statements PostgreSQL
// executed in this test's database meanwhile (pg_stat_statements, which the
// test server preloads; BEGIN and COMMIT count too). The once-a-minute record
// of a key's use, made in the background, is left out.
func (e *Env) StatementCount(t testing.TB, fn func()) int {
	t.Helper()
	var dbid int
	if err := e.Admin.Get(&dbid, `SELECT oid FROM pg_database WHERE datname = current_database()`); err != nil {
		t.Fatal(err)
	}
	count := func() int {
		var n int
		if err := e.Admin.Get(&n, `SELECT coalesce(sum(calls), 0) FROM pg_stat_statements
			WHERE dbid = $1 AND query NOT LIKE '%pg_stat_statements%' AND query NOT LIKE '%touch_key%'`, dbid); err != nil {
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
	rec := httptest.NewRecorder()
	e.Handler.ServeHTTP(rec, req)
	res := &Response{Status: rec.Code, Header: rec.Header()}
	b, _ := io.ReadAll(rec.Body)
	if err := json.Unmarshal(b, res); err != nil {
		t.Fatalf("response is not JSON (status %d): %s", rec.Code, b)
	}
	return res
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
