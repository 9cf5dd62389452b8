// Package database opens connections to PostgreSQL, applies the embedded
// migrations as the owner, and checks that the runtime role cannot bypass
// row-level security.
package database

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
	"github.com/pressly/goose/v3"

	"github.com/gen-hub/genhub/migrations"
)

// AppRole is the login role the hub serves with.
const AppRole = "genhub_app"

// Open connects to url and checks that the server answers.
func Open(ctx context.Context, dsn string) (*sqlx.DB, error) {
	db, err := sqlx.Open("postgres", dsn)
	if err != nil {
		return nil, fmt.Errorf("database: open: %w", err)
	}
	return db, connected(ctx, db, dsn)
}

// connected checks that the server of a new pool answers, and closes the
// pool when it does not.
func connected(ctx context.Context, db *sqlx.DB, dsn string) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return fmt.Errorf("database: connect to %s: %w", Redact(dsn), err)
	}
	return nil
}

// Redact returns the URL without its password, for messages.
func Redact(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		return "(unparsable database URL)"
	}
	return u.Redacted()
}

// AppURL returns adminURL with the runtime login role and its password in place
// of the admin's credentials: same server, same database.
func AppURL(adminURL, password string) (string, error) {
	u, err := url.Parse(adminURL)
	if err != nil {
		return "", fmt.Errorf("database: parse URL: %w", err)
	}
	if password == "" {
		u.User = url.User(AppRole)
	} else {
		u.User = url.UserPassword(AppRole, password)
	}
	// Send a statement and its parameters in one round trip.
	q := u.Query()
	q.Set("binary_parameters", "yes")
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// Migrate applies every pending migration, as the owner role, and sets the
// runtime role's password when one is given.
func Migrate(ctx context.Context, adminURL, appPassword string) error {
	db, err := Open(ctx, adminURL)
	if err != nil {
		return err
	}
	defer db.Close()
	p, err := goose.NewProvider(goose.DialectPostgres, db.DB, migrations.FS)
	if err != nil {
		return fmt.Errorf("database: migrations: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("database: migrate: %w", err)
	}
	if appPassword != "" {
		q := fmt.Sprintf("ALTER ROLE %s PASSWORD %s", AppRole, pq.QuoteLiteral(appPassword))
		if _, err := db.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("database: set %s password: %w", AppRole, err)
		}
	}
	return nil
}

// Version returns the newest applied migration, 0 on an empty database.
func Version(ctx context.Context, db *sqlx.DB) (int64, error) {
	var v int64
	err := db.GetContext(ctx, &v, `SELECT coalesce(max(version_id), 0) FROM goose_db_version WHERE is_applied`)
	var pqErr *pq.Error
	if errors.As(err, &pqErr) && pqErr.Code == "42P01" { // undefined_table
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("database: migration version: %w", err)
	}
	return v, nil
}

// CheckRuntimeRole refuses a connection whose login role could bypass row-level
// security: a superuser, a role with BYPASSRLS, a role that inherits privileges,
// or one that owns a table of the hub's schema.
func CheckRuntimeRole(ctx context.Context, db *sqlx.DB) error {
	var r struct {
		Name      string `db:"rolname"`
		Super     bool   `db:"rolsuper"`
		BypassRLS bool   `db:"rolbypassrls"`
		Inherit   bool   `db:"rolinherit"`
		Owned     string `db:"owned"`
	}
	err := db.GetContext(ctx, &r, `
		SELECT rolname, rolsuper, rolbypassrls, rolinherit,
		       coalesce((SELECT string_agg(c.relname, ', ' ORDER BY c.relname)
		                   FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		                  WHERE n.nspname = 'hub' AND pg_has_role(current_user, c.relowner, 'MEMBER')), '') AS owned
		  FROM pg_roles WHERE rolname = current_user`)
	if err != nil {
		return fmt.Errorf("database: check runtime role: %w", err)
	}
	var why []string
	if r.Super {
		why = append(why, "it is a superuser")
	}
	if r.BypassRLS {
		why = append(why, "it has BYPASSRLS")
	}
	if r.Inherit {
		why = append(why, "it inherits the privileges of its roles (it must be NOINHERIT)")
	}
	if r.Owned != "" {
		why = append(why, "it owns (or can act as the owner of) "+r.Owned)
	}
	if len(why) > 0 {
		return fmt.Errorf("database: refusing to serve as role %q: %s; serve as %s, which migrations create", r.Name, strings.Join(why, ", "), AppRole)
	}
	return nil
}

// Ping checks that the server answers within a short time.
func Ping(ctx context.Context, db *sql.DB) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	return db.PingContext(ctx)
}
