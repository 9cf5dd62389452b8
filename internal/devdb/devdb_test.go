package devdb

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// tempDir returns a fresh directory the postgres OS user can reach when the
// tests run as root (t.TempDir's parent is mode 0700).
func tempDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.Chmod(filepath.Dir(dir), 0o711); err != nil {
		t.Fatal(err)
	}
	return dir
}

func start(t *testing.T, o Options) *Cluster {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := Start(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Stop() })
	return c
}

func connect(t *testing.T, c *Cluster) *sql.DB {
	t.Helper()
	db, err := sql.Open("postgres", c.URL("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func exec1(t *testing.T, db *sql.DB, query string) {
	t.Helper()
	if _, err := db.Exec(query); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
}

func count(t *testing.T, db *sql.DB) int {
	t.Helper()
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM kept`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func postmasterPID(t *testing.T, c *Cluster) int {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(c.Dir(), "pgdata", "postmaster.pid"))
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.SplitN(string(b), "\n", 2)[0])
	if err != nil {
		t.Fatal(err)
	}
	return pid
}

func TestFindBinaries(t *testing.T) {
	dir, err := FindBinaries()
	if err != nil {
		t.Fatal(err)
	}
	if !hasBinaries(dir) {
		t.Errorf("FindBinaries() = %q, which lacks initdb, postgres or pg_ctl", dir)
	}
	// On the project machine the only server is PostgreSQL 15, symlinked
	// from /usr/local/bin.
	installed, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	if len(installed) == 1 && installed[0] == "/usr/lib/postgresql/15/bin" {
		if p, err := exec.LookPath("postgres"); err == nil {
			if real, _ := filepath.EvalSymlinks(p); filepath.Dir(real) != installed[0] {
				t.Skipf("postgres on PATH is %s", real)
			}
		}
		if dir != installed[0] {
			t.Errorf("FindBinaries() = %q, want %q", dir, installed[0])
		}
	}
}

func TestStartKeepsRowsAcrossRestarts(t *testing.T) {
	dir := tempDir(t)
	c := start(t, Options{Dir: dir})
	db := connect(t, c)
	var one int
	if err := db.QueryRow(`SELECT 1`).Scan(&one); err != nil || one != 1 {
		t.Fatalf("SELECT 1 = %d, %v", one, err)
	}
	exec1(t, db, `CREATE TABLE kept (id int)`)
	exec1(t, db, `INSERT INTO kept VALUES (1)`)
	var preload string
	if err := db.QueryRow(`SHOW shared_preload_libraries`).Scan(&preload); err != nil || preload != "pg_stat_statements" {
		t.Errorf("shared_preload_libraries = %q, %v", preload, err)
	}
	db.Close()

	pid := postmasterPID(t, c)
	if err := c.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := c.Stop(); err != nil {
		t.Errorf("second Stop: %v", err)
	}
	if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("postgres pid %d still exists after Stop (kill 0: %v)", pid, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "pgdata", "PG_VERSION")); err != nil {
		t.Errorf("Stop of a kept cluster removed its data: %v", err)
	}

	c2 := start(t, Options{Dir: dir})
	if c2.Port() != c.Port() {
		t.Errorf("restart port = %d, want the remembered %d", c2.Port(), c.Port())
	}
	if n := count(t, connect(t, c2)); n != 1 {
		t.Errorf("rows after restart = %d, want 1", n)
	}
}

func TestStopAndStartServer(t *testing.T) {
	c := start(t, Options{Dir: tempDir(t)})
	db := connect(t, c)
	exec1(t, db, `CREATE TABLE kept (id int)`)
	exec1(t, db, `INSERT INTO kept VALUES (1)`)
	for _, tc := range []struct {
		name string
		stop func() error
	}{
		{"StopServer", c.StopServer},
		{"KillServer", c.KillServer},
	} {
		t.Run(tc.name, func(t *testing.T) {
			port := c.Port()
			if err := tc.stop(); err != nil {
				t.Fatal(err)
			}
			if err := db.Ping(); err == nil {
				t.Fatal("Ping succeeded with the server stopped")
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			if err := c.StartServer(ctx); err != nil {
				t.Fatal(err)
			}
			if c.Port() != port {
				t.Errorf("port after restart = %d, want %d", c.Port(), port)
			}
			if n := count(t, db); n != 1 {
				t.Errorf("rows after restart = %d, want 1", n)
			}
		})
	}
}

func TestEphemeralStopRemovesDir(t *testing.T) {
	dir := filepath.Join(tempDir(t), "state")
	c := start(t, Options{Dir: dir, Ephemeral: true})
	var fsync string
	if err := connect(t, c).QueryRow(`SHOW fsync`).Scan(&fsync); err != nil || fsync != "off" {
		t.Errorf("fsync = %q, %v; want off", fsync, err)
	}
	if err := c.Stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("Stat(%s) after Stop = %v, want not exist", dir, err)
	}
}

func TestStartStopsServerOfEarlierRun(t *testing.T) {
	dir := tempDir(t)
	old := start(t, Options{Dir: dir})
	pid := postmasterPID(t, old)
	// As if the hub had died without stopping its server.
	c := start(t, Options{Dir: dir})
	if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("earlier postgres pid %d still exists (kill 0: %v)", pid, err)
	}
	if err := connect(t, c).Ping(); err != nil {
		t.Fatal(err)
	}
}

func TestUnreachableDir(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("the reachability check applies when running as root")
	}
	parent := t.TempDir() // mode 0700, owned by root
	if err := os.Chmod(parent, 0o700); err != nil {
		t.Fatal(err)
	}
	_, err := Start(context.Background(), Options{Dir: filepath.Join(parent, "db")})
	if err == nil || !strings.Contains(err.Error(), "chmod o+x "+parent) || strings.Contains(err.Error(), "\n") {
		t.Errorf("Start under a 0700 directory: err = %v, want one line naming %s", err, parent)
	}
}
