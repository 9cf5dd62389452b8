package store_test

import (
	"context"
	"database/sql"
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/gen-hub/genhub/internal/access"
	"github.com/gen-hub/genhub/internal/database"
	"github.com/gen-hub/genhub/internal/hubtest"
	"github.com/gen-hub/genhub/internal/store"
)

// oneConnection returns a pool of the runtime role with prepared statements
// and a single connection, so that every statement runs on it.
func oneConnection(t *testing.T, e *hubtest.Env) *sqlx.DB {
	t.Helper()
	db, err := database.OpenApp(context.Background(), e.AppURL, true)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	db.SetMaxOpenConns(1)
	return db
}

// TestPreparedStatementsFollowTheCaller runs the same prepared statements on
// one connection as five callers in turn, several rounds, and compares each
// answer with the same statement sent unprepared: a plan or a result cached
// for one caller must never serve another.
func TestPreparedStatementsFollowTheCaller(t *testing.T) {
	e := hubtest.New(t)
	ctx := context.Background()
	one := oneConnection(t, e)
	plain, err := database.Open(ctx, e.AppURL)
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()

	var org string
	e.Admin.Get(&org, `SELECT slug FROM hub.partner WHERE organisation_id IS NOT NULL ORDER BY id LIMIT 1`)
	callers := []struct{ role, partner string }{
		{"genhub_public", "public"},
		{"genhub_detail", partnerID(t, e, "region-hauts-de-france")},
		{"genhub_aggregate", partnerID(t, e, "caisse-des-depots")},
		{"genhub_personal", partnerID(t, e, org)},
		{"genhub_operator", partnerID(t, e, "gip-gen")},
	}
	queries := []string{
		`SELECT count(*) FROM hub.formation WHERE id > $1`,
		`SELECT count(*) FROM hub.session WHERE id > $1`,
		`SELECT count(*) FROM hub.enrolment WHERE id > $1`,
		`SELECT count(*) FROM hub.partner WHERE id > $1`,
	}
	answer := func(db *sqlx.DB, role, partner, q string) (int, string) {
		tx, err := db.BeginTxx(ctx, &sql.TxOptions{ReadOnly: true})
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback()
		if _, err := tx.Exec(`SELECT set_config('role', $1, true), set_config('genhub.partner', $2, true)`, role, partner); err != nil {
			t.Fatal(err)
		}
		var n int
		err = tx.Get(&n, q, 0)
		var pqErr *pq.Error
		if errors.As(err, &pqErr) {
			return -1, string(pqErr.Code)
		}
		if err != nil {
			t.Fatalf("%s as %s: %v", q, role, err)
		}
		return n, ""
	}

	seen := map[string]map[int]bool{} // query: the distinct counts callers got
	for round := range 4 {
		for _, c := range callers {
			for _, q := range queries {
				n, code := answer(one, c.role, c.partner, q)
				wantN, wantCode := answer(plain, c.role, c.partner, q)
				if n != wantN || code != wantCode {
					t.Errorf("round %d, %s (%s): %s = %d %s prepared, %d %s unprepared",
						round, c.role, c.partner, q, n, code, wantN, wantCode)
				}
				if seen[q] == nil {
					seen[q] = map[int]bool{}
				}
				seen[q][n] = true
			}
		}
	}
	// The callers must see different things, or the comparison proves nothing.
	for q, counts := range seen {
		if len(counts) < 3 {
			t.Errorf("%s: only %d distinct answers across five callers", q, len(counts))
		}
	}
	// And the statements were prepared on that connection.
	var prepared int
	if err := one.Get(&prepared, `SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE $1`, "%WHERE id > $1%"); err != nil {
		t.Fatal(err)
	}
	if prepared != len(queries) {
		t.Errorf("%d of the %d statements prepared on the connection", prepared, len(queries))
	}
}

// TestPreparedStatementsStaleAndBusy: a statement a migration made stale
// fails once and is prepared again; a statement sent while rows are open is
// refused without spoiling the connection.
func TestPreparedStatementsStaleAndBusy(t *testing.T) {
	e := hubtest.New(t)
	ctx := context.Background()
	one := oneConnection(t, e)
	e.Admin.MustExec(`CREATE TABLE public.probe (id int, name text); INSERT INTO public.probe VALUES (1, 'a'), (2, 'b');
		GRANT SELECT ON public.probe TO genhub_app`)
	const q = `SELECT * FROM public.probe WHERE id >= $1 ORDER BY id`
	cols := func() (int, error) {
		rows, err := one.QueryContext(ctx, q, 1)
		if err != nil {
			return 0, err
		}
		defer rows.Close()
		c, err := rows.Columns()
		return len(c), err
	}
	if n, err := cols(); n != 2 || err != nil {
		t.Fatalf("before: %d columns, %v", n, err)
	}
	e.Admin.MustExec(`ALTER TABLE public.probe ADD COLUMN extra int`)
	if _, err := cols(); err == nil || !strings.Contains(err.Error(), "cached plan") {
		t.Logf("after the change, first run: %v", err) // PostgreSQL may replan by itself
	}
	if n, err := cols(); n != 3 || err != nil {
		t.Errorf("after the change: %d columns, %v; want 3 columns", n, err)
	}

	// A second statement while rows are open is refused; then the connection works.
	tx, err := one.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := tx.QueryContext(ctx, q, 1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.ExecContext(ctx, `SELECT $1::int`, 5); err == nil {
		t.Error("a statement while rows are open: no error")
	}
	if _, err := tx.QueryContext(ctx, `SELECT $1::text`, "x"); err == nil {
		t.Error("a query while rows are open: no error")
	}
	var ids []int
	for rows.Next() {
		var id int
		var name string
		var extra sql.NullInt64
		if err := rows.Scan(&id, &name, &extra); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	rows.Close()
	tx.Rollback()
	if len(ids) != 2 {
		t.Errorf("rows read around the refused statements: %v", ids)
	}
	var n int
	if err := one.Get(&n, `SELECT count(*) FROM public.probe WHERE id > $1`, 0); err != nil || n != 2 {
		t.Errorf("afterwards: %d, %v", n, err)
	}
}

// TestSettingsWithBegin: on the hub's connections a read transaction's
// settings go with its BEGIN (database.Begin), on plain ones they do not, and
// either way a read runs as the caller, read-only, with the statement timeout.
func TestSettingsWithBegin(t *testing.T) {
	e := hubtest.New(t)
	ctx := context.Background()
	plain, err := database.Open(ctx, e.AppURL)
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	const set = `SELECT set_config('role', 'genhub_detail', true), set_config('genhub.partner', '21', true)`
	for _, c := range []struct {
		name string
		db   *sqlx.DB
		done bool
	}{{"prepared", oneConnection(t, e), true}, {"plain", plain, false}} {
		for _, readOnly := range []bool{true, false} {
			b := &database.Begin{SQL: set}
			tx, err := c.db.BeginTxx(database.WithBegin(ctx, b), &sql.TxOptions{ReadOnly: readOnly})
			if err != nil {
				t.Fatal(err)
			}
			var user, partner, ro string
			err = tx.QueryRowx(`SELECT current_user, coalesce(current_setting('genhub.partner', true), ''), current_setting('transaction_read_only')`).Scan(&user, &partner, &ro)
			tx.Rollback()
			if err != nil {
				t.Fatal(err)
			}
			if b.Done != c.done || (c.done && (user != "genhub_detail" || partner != "21")) || ro != map[bool]string{true: "on", false: "off"}[readOnly] {
				t.Errorf("%s, read-only %v: done %v, user %s, partner %q, read-only %s", c.name, readOnly, b.Done, user, partner, ro)
			}
		}
	}
	// Nothing to run with BEGIN: not done, and the caller sets what it needs.
	one := oneConnection(t, e)
	b := &database.Begin{}
	tx, err := one.BeginTxx(database.WithBegin(ctx, b), &sql.TxOptions{Isolation: sql.LevelSerializable})
	if err != nil {
		t.Fatal(err)
	}
	var iso string
	tx.Get(&iso, `SHOW transaction_isolation`)
	tx.Rollback()
	if b.Done || iso != "serializable" {
		t.Errorf("an empty Begin: done %v, isolation %q; want not done, serializable", b.Done, iso)
	}
	// A BEGIN whose statements fail leaves a clean connection behind.
	if _, err := one.BeginTxx(database.WithBegin(ctx, &database.Begin{SQL: "SELECT set_config('role', 'no_such_role', true)"}), nil); err == nil {
		t.Fatal("a BEGIN with a bad setting succeeded")
	}
	var user string
	if err := one.Get(&user, `SELECT current_user`); err != nil || user != database.AppRole {
		t.Errorf("after a failed BEGIN: user %q (%v); want %s outside any transaction", user, err, database.AppRole)
	}
	region, _ := strconv.Atoi(partnerID(t, e, "region-hauts-de-france"))
	s := store.New(one)
	err = s.Read(access.WithCaller(ctx, access.Caller{PartnerID: region, Kind: "region", Level: access.Detail}), func(tx *sqlx.Tx) error {
		var user, partner, timeout string
		if err := tx.QueryRowx(`SELECT current_user, current_setting('genhub.partner'), current_setting('statement_timeout')`).Scan(&user, &partner, &timeout); err != nil {
			return err
		}
		if user != "genhub_detail" || partner != strconv.Itoa(region) || timeout == "0" {
			t.Errorf("a read ran as %s, partner %s, timeout %s; want genhub_detail, 21 and a timeout", user, partner, timeout)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
