// Package pgtest gives tests real PostgreSQL databases: each test gets a
// fresh clone of a template database built once per test binary.
package pgtest

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/lib/pq"
	"github.com/lib/pq/pqerror"

	"github.com/gen-hub/genhub/internal/devdb"
)

var (
	serverURL *url.URL       // superuser URL on the test server; set by Main
	cluster   *devdb.Cluster // nil when the server is external

	adminOnce sync.Once
	admin     *sql.DB // the postgres database, for CREATE/DROP DATABASE
	adminErr  error

	templatesMu sync.Mutex
	templates   = map[string]*template{}
)

type template struct {
	mu    sync.Mutex
	built bool
}

// Main runs the tests of a package against real PostgreSQL and exits. It
// uses the server at GENHUB_TEST_DATABASE_URL, or else DATABASE_URL, whose
// role must be a superuser or have CREATEDB and CREATEROLE; with neither set
// it runs an ephemeral devdb cluster in a temporary directory for the tests.
func Main(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	raw := os.Getenv("GENHUB_TEST_DATABASE_URL")
	if raw == "" {
		raw = os.Getenv("DATABASE_URL")
	}
	if raw == "" {
		dir, err := tempDir()
		if err != nil {
			fmt.Fprintln(os.Stderr, "pgtest:", err)
			return 1
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		cluster, err = devdb.Start(ctx, devdb.Options{Dir: dir, Ephemeral: true})
		cancel()
		if err != nil {
			os.RemoveAll(dir)
			fmt.Fprintln(os.Stderr, "pgtest:", err)
			return 1
		}
		defer cluster.Stop()
		raw = cluster.URL("postgres")
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		fmt.Fprintln(os.Stderr, "pgtest: the test database URL must look like postgres://user:password@host:port/db")
		return 1
	}
	serverURL = u
	code := m.Run()
	if admin != nil {
		admin.Close()
	}
	return code
}

// tempDir makes the cluster's directory, in RAM when /dev/shm exists:
// CREATE DATABASE, which creates some 300 files, is then about eight times
// faster than on ext4. It first removes directories of test binaries that
// died without cleaning up (its name carries the owner's pid).
func tempDir() (string, error) {
	base := os.TempDir()
	// Clones are much faster in memory; use /dev/shm when it has room (a
	// container's default 64 MB does not).
	var fs syscall.Statfs_t
	if err := syscall.Statfs("/dev/shm", &fs); err == nil && uint64(fs.Bavail)*uint64(fs.Bsize) > 2<<30 {
		base = "/dev/shm"
	}
	stale, _ := filepath.Glob(filepath.Join(base, "genhub-pgtest-*-*"))
	for _, d := range stale {
		pid, err := strconv.Atoi(strings.Split(filepath.Base(d), "-")[2])
		if err == nil && syscall.Kill(pid, 0) == syscall.ESRCH {
			os.RemoveAll(d)
		}
	}
	return os.MkdirTemp(base, fmt.Sprintf("genhub-pgtest-%d-", os.Getpid()))
}

// Cluster returns the cluster Main started, or nil when the tests use an
// external server.
func Cluster() *devdb.Cluster { return cluster }

// AdminURL returns the superuser URL of database db on the test server.
func AdminURL(db string) string {
	if serverURL == nil {
		panic("pgtest: AdminURL called before pgtest.Main (call it from TestMain)")
	}
	u := *serverURL
	u.Path, u.RawPath = "/"+db, ""
	return u.String()
}

func adminDB() (*sql.DB, error) {
	adminOnce.Do(func() { admin, adminErr = sql.Open("postgres", AdminURL("postgres")) })
	return admin, adminErr
}

// Template returns the name of a template database, name_<hash of version>,
// building it once per test binary with build, which gets the admin URL of
// the new empty database and must close its connections. A template of that
// name already on the server, left by another test binary, is reused.
func Template(t testing.TB, name, version string, build func(ctx context.Context, adminURL string) error) string {
	t.Helper()
	sum := sha256.Sum256([]byte(version))
	tpl := name + "_" + hex.EncodeToString(sum[:6])
	if len(tpl) > 63 {
		t.Fatalf("pgtest: template name %q is longer than 63 bytes", tpl)
	}

	templatesMu.Lock()
	tm := templates[tpl]
	if tm == nil {
		tm = &template{}
		templates[tpl] = tm
	}
	templatesMu.Unlock()

	tm.mu.Lock()
	defer tm.mu.Unlock()
	if tm.built {
		return tpl
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	if err := buildTemplate(ctx, tpl, build); err != nil {
		t.Fatalf("pgtest: template %s: %v", tpl, err)
	}
	tm.built = true
	return tpl
}

func buildTemplate(ctx context.Context, tpl string, build func(context.Context, string) error) error {
	db, err := adminDB()
	if err != nil {
		return err
	}
	// Test binaries sharing a server build each template once: the lock
	// lives until this transaction ends, or its session does if we die.
	lock, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer lock.Rollback()
	if _, err := lock.ExecContext(ctx, `SELECT pg_advisory_xact_lock(1734700648, hashtext($1))`, tpl); err != nil {
		return fmt.Errorf("lock: %w", err)
	}

	q := pq.QuoteIdentifier(tpl)
	var done bool
	err = db.QueryRowContext(ctx, `SELECT datistemplate FROM pg_database WHERE datname = $1`, tpl).Scan(&done)
	switch {
	case err == nil && done:
		return nil
	case err == nil: // half built by a test binary that died
		if _, err := db.ExecContext(ctx, `DROP DATABASE `+q+` WITH (FORCE)`); err != nil {
			return err
		}
	case !errors.Is(err, sql.ErrNoRows):
		return err
	}

	if _, err := db.ExecContext(ctx, `CREATE DATABASE `+q); err != nil {
		return err
	}
	if err := build(ctx, AdminURL(tpl)); err != nil {
		db.ExecContext(ctx, `DROP DATABASE `+q+` WITH (FORCE)`)
		return fmt.Errorf("build: %w", err)
	}
	// A connection left open on the template would make every clone fail.
	if _, err := db.ExecContext(ctx, `ALTER DATABASE `+q+` WITH IS_TEMPLATE true ALLOW_CONNECTIONS false`); err != nil {
		return err
	}
	_, err = db.ExecContext(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1`, tpl)
	return err
}

// Clone creates a fresh database from template for one test, drops it when
// the test ends, and returns its admin URL.
func Clone(t testing.TB, template string) string {
	t.Helper()
	db, err := adminDB()
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	b := make([]byte, 8)
	rand.Read(b)
	name := "t_" + hex.EncodeToString(b)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	create := `CREATE DATABASE ` + pq.QuoteIdentifier(name) + ` TEMPLATE ` + pq.QuoteIdentifier(template)
	// CREATE DATABASE fails while anyone, such as a backend still exiting, is
	// connected to the template.
	for attempt := 1; ; attempt++ {
		_, err = db.ExecContext(ctx, create)
		if err == nil || attempt == 5 || pq.As(err, pqerror.ObjectInUse) == nil {
			break
		}
		time.Sleep(time.Duration(attempt) * 100 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("pgtest: clone %s: %v", template, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if _, err := db.ExecContext(ctx, `DROP DATABASE IF EXISTS `+pq.QuoteIdentifier(name)+` WITH (FORCE)`); err != nil {
			t.Errorf("pgtest: drop %s: %v", name, err)
		}
	})
	return AdminURL(name)
}
