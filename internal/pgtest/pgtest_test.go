package pgtest

import (
	"context"
	"database/sql"
	"testing"
)

func TestMain(m *testing.M) {
	Main(m)
}

// buildItems creates a table with one row; leak leaves a connection open,
// as a careless build would.
func buildItems(builds *int, leak bool) func(context.Context, string) error {
	return func(ctx context.Context, url string) error {
		*builds++
		db, err := sql.Open("postgres", url)
		if err != nil {
			return err
		}
		if !leak {
			defer db.Close()
		}
		_, err = db.ExecContext(ctx, `CREATE TABLE items (id int); INSERT INTO items VALUES (1)`)
		return err
	}
}

func open(t *testing.T, url string) *sql.DB {
	t.Helper()
	db, err := sql.Open("postgres", url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func count(t *testing.T, db *sql.DB) int {
	t.Helper()
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM items`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestClonesAreIndependent(t *testing.T) {
	var builds int
	tpl := Template(t, "pgtest_items", "v1", buildItems(&builds, false))
	// No build at all when the template is left on a shared server.
	if again := Template(t, "pgtest_items", "v1", buildItems(&builds, false)); again != tpl || builds > 1 {
		t.Errorf("second Template = %q after %d builds, want %q after at most 1", again, builds, tpl)
	}
	a, b := open(t, Clone(t, tpl)), open(t, Clone(t, tpl))
	if _, err := a.Exec(`INSERT INTO items VALUES (2)`); err != nil {
		t.Fatal(err)
	}
	if got := count(t, a); got != 2 {
		t.Errorf("rows in clone a = %d, want 2", got)
	}
	if got := count(t, b); got != 1 {
		t.Errorf("rows in clone b = %d, want 1", got)
	}
}

func TestTemplateSurvivesLeakedConnection(t *testing.T) {
	var builds int
	tpl := Template(t, "pgtest_leak", "v1", buildItems(&builds, true))
	if got := count(t, open(t, Clone(t, tpl))); got != 1 {
		t.Errorf("rows in clone = %d, want 1", got)
	}
}

func TestTemplateReusesExisting(t *testing.T) {
	var builds int
	tpl := Template(t, "pgtest_reuse", "v1", buildItems(&builds, false))
	before := builds
	// As if another test binary on the same server asked for it.
	delete(templates, tpl)
	Template(t, "pgtest_reuse", "v1", buildItems(&builds, false))
	if builds != before {
		t.Errorf("Template built an existing template again")
	}
}

func TestCloneDroppedAfterTest(t *testing.T) {
	var builds int
	tpl := Template(t, "pgtest_items", "v1", buildItems(&builds, false))
	var name string
	t.Run("clone", func(t *testing.T) {
		if err := open(t, Clone(t, tpl)).QueryRow(`SELECT current_database()`).Scan(&name); err != nil {
			t.Fatal(err)
		}
	})
	var exists bool
	if err := open(t, AdminURL("postgres")).QueryRow(`SELECT exists(SELECT 1 FROM pg_database WHERE datname = $1)`, name).Scan(&exists); err != nil {
		t.Fatal(err)
	}
	if exists {
		t.Errorf("database %s still exists after its test", name)
	}
}
