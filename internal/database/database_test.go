package database

import (
	"context"
	"strings"
	"testing"

	"github.com/gen-hub/genhub/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func migrated(t *testing.T) string {
	t.Helper()
	tpl := pgtest.Template(t, "migrated", MigrationsHash(), func(ctx context.Context, adminURL string) error {
		return Migrate(ctx, adminURL, "")
	})
	return pgtest.Clone(t, tpl)
}

// TestMigrateFromEmpty applies every migration to an empty database, twice.
func TestMigrateFromEmpty(t *testing.T) {
	ctx := context.Background()
	url := pgtest.Clone(t, pgtest.Template(t, "empty", "1", func(context.Context, string) error { return nil }))
	if err := Migrate(ctx, url, ""); err != nil {
		t.Fatalf("Migrate on an empty database: %v", err)
	}
	if err := Migrate(ctx, url, ""); err != nil {
		t.Fatalf("Migrate again (nothing pending): %v", err)
	}
	db, err := Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	v, err := Version(ctx, db)
	if err != nil || v < 5 {
		t.Fatalf("Version = %d, %v; want at least 5", v, err)
	}
	var regions, departments int
	db.Get(&regions, `SELECT count(*) FROM hub.region`)
	db.Get(&departments, `SELECT count(*) FROM hub.department`)
	if regions != 18 || departments != 101 {
		t.Errorf("reference data: %d regions, %d departments; want 18 and 101", regions, departments)
	}
}

// TestEveryNetworkTableHasForcedRLS checks that no table of the hub's schema
// holding network data escapes row-level security (a view reads its tables
// as its caller, under their policies), and that the runtime role owns none
// of them.
func TestEveryNetworkTableHasForcedRLS(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, migrated(t))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	reference := map[string]bool{"region": true, "department": true, "qpv": true, "aid_scale": true, "target": true}
	var tables []struct {
		Name    string `db:"relname"`
		RLS     bool   `db:"relrowsecurity"`
		Forced  bool   `db:"relforcerowsecurity"`
		Owner   string `db:"owner"`
		View    bool   `db:"view"`
		Invoker bool   `db:"invoker"`
	}
	err = db.SelectContext(ctx, &tables, `
		SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity, pg_get_userbyid(c.relowner) AS owner,
		       c.relkind = 'v' AS view, coalesce('security_invoker=true' = ANY (c.reloptions), false) AS invoker
		  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		 WHERE n.nspname = 'hub' AND c.relkind IN ('r', 'p', 'v', 'm') ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	if len(tables) < 20 {
		t.Fatalf("only %d tables in schema hub", len(tables))
	}
	for _, tb := range tables {
		if tb.Owner != "genhub_owner" {
			t.Errorf("hub.%s is owned by %s, want genhub_owner", tb.Name, tb.Owner)
		}
		switch {
		case reference[tb.Name]:
			continue
		case tb.View:
			if !tb.Invoker {
				t.Errorf("hub.%s: a view without security_invoker reads its tables as its owner", tb.Name)
			}
			continue
		}
		if !tb.RLS || !tb.Forced {
			t.Errorf("hub.%s: row security enabled=%v forced=%v; want both", tb.Name, tb.RLS, tb.Forced)
		}
	}
}

// TestCheckRuntimeRole accepts genhub_app and refuses a superuser.
func TestCheckRuntimeRole(t *testing.T) {
	ctx := context.Background()
	admin := migrated(t)
	appURL, err := AppURL(admin, "")
	if err != nil {
		t.Fatal(err)
	}
	// The test server may require a password: give genhub_app one for this test.
	if err := Migrate(ctx, admin, "test-password"); err != nil {
		t.Fatal(err)
	}
	appURL, _ = AppURL(admin, "test-password")
	app, err := Open(ctx, appURL)
	if err != nil {
		t.Fatal(err)
	}
	defer app.Close()
	if err := CheckRuntimeRole(ctx, app); err != nil {
		t.Errorf("CheckRuntimeRole(genhub_app) = %v, want nil", err)
	}
	su, err := Open(ctx, admin)
	if err != nil {
		t.Fatal(err)
	}
	defer su.Close()
	err = CheckRuntimeRole(ctx, su)
	if err == nil || !strings.Contains(err.Error(), "superuser") {
		t.Errorf("CheckRuntimeRole(superuser) = %v, want a refusal naming superuser", err)
	}
}
