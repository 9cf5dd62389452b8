package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
)

// KeyRecord is what the database knows of an API key and its partner.
type KeyRecord struct {
	KeyID       int        `db:"key_id"`
	Hash        []byte     `db:"hash"`
	ExpiresAt   *time.Time `db:"expires_at"`
	RevokedAt   *time.Time `db:"revoked_at"`
	PartnerID   int        `db:"partner_id"`
	PartnerSlug string     `db:"partner_slug"`
	PartnerName string     `db:"partner_name"`
	PartnerKind string     `db:"partner_kind"`
	MaxLevel    string     `db:"max_level"`
	TrustedOnly bool       `db:"trusted_only"`
	K           int        `db:"k_threshold"`
}

// KeyByPrefix looks up a key by its public prefix, before any caller is known:
// the only thing the login role may do on its own. Nil when no key has it.
func (s *Store) KeyByPrefix(ctx context.Context, prefix string) (*KeyRecord, error) {
	var k KeyRecord
	err := s.db.GetContext(ctx, &k, `SELECT * FROM hub.authenticate($1)`, prefix)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, classify(ctx, fmt.Errorf("store: look up key: %w", err))
	}
	return &k, nil
}

// TouchKey records that a key was used.
func (s *Store) TouchKey(ctx context.Context, keyID int) error {
	if _, err := s.db.ExecContext(ctx, `SELECT hub.touch_key($1)`, keyID); err != nil {
		return fmt.Errorf("store: touch key: %w", err)
	}
	return nil
}

// Key is an API key as listed to administrators (never its secret).
type Key struct {
	ID          int        `db:"id"`
	PartnerSlug string     `db:"slug"`
	Prefix      string     `db:"prefix"`
	Label       string     `db:"label"`
	CreatedAt   time.Time  `db:"created_at"`
	ExpiresAt   *time.Time `db:"expires_at"`
	RevokedAt   *time.Time `db:"revoked_at"`
	LastUsedAt  *time.Time `db:"last_used_at"`
}

// InsertKey stores a new key's prefix and hash for a partner, given by slug.
// It runs on the administration connection (the `genhub keys` command).
func InsertKey(ctx context.Context, db *sqlx.DB, slug, prefix string, hash []byte, label string, expires *time.Time) error {
	res, err := db.ExecContext(ctx, `
		INSERT INTO hub.api_key (partner_id, prefix, hash, label, expires_at)
		SELECT id, $2, $3, $4, $5 FROM hub.partner WHERE slug = $1`, slug, prefix, hash, label, expires)
	if err != nil {
		return fmt.Errorf("store: insert key: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("store: no partner %q", slug)
	}
	return nil
}

// RevokeKey revokes the key with the given prefix, on the administration connection.
func RevokeKey(ctx context.Context, db *sqlx.DB, prefix string) error {
	res, err := db.ExecContext(ctx, `UPDATE hub.api_key SET revoked_at = now() WHERE prefix = $1 AND revoked_at IS NULL`, prefix)
	if err != nil {
		return fmt.Errorf("store: revoke key: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("store: no unrevoked key with prefix %q", prefix)
	}
	return nil
}

// ListKeys lists every key, on the administration connection.
func ListKeys(ctx context.Context, db *sqlx.DB) ([]Key, error) {
	var keys []Key
	err := db.SelectContext(ctx, &keys, `
		SELECT k.id, p.slug, k.prefix, k.label, k.created_at, k.expires_at, k.revoked_at, k.last_used_at
		  FROM hub.api_key k JOIN hub.partner p ON p.id = k.partner_id ORDER BY p.slug, k.id`)
	if err != nil {
		return nil, fmt.Errorf("store: list keys: %w", err)
	}
	return keys, nil
}

// RevokeOwnKey revokes the caller's key keyID; false when it was not the caller's or already revoked.
func (s *Store) RevokeOwnKey(ctx context.Context, keyID int) (bool, error) {
	var ok bool
	err := s.Write(ctx, func(tx *sqlx.Tx) error {
		return tx.GetContext(ctx, &ok, `SELECT hub.revoke_own_key($1)`, keyID)
	})
	if err != nil {
		return false, fmt.Errorf("store: revoke own key: %w", err)
	}
	return ok, nil
}

// CallerBySlug returns what the database knows of partner slug as a caller,
// on the administration connection (the command line acts as a partner).
func CallerBySlug(ctx context.Context, db *sqlx.DB, slug string) (*KeyRecord, error) {
	var k KeyRecord
	err := db.GetContext(ctx, &k, `
		SELECT 0 AS key_id, ''::bytea AS hash, NULL::timestamptz AS expires_at, NULL::timestamptz AS revoked_at,
		       p.id AS partner_id, p.slug AS partner_slug, p.name AS partner_name, p.kind AS partner_kind,
		       coalesce((SELECT (ARRAY['public', 'aggregate', 'detail', 'personal'])[max(hub.level_rank(e.level)) + 1]
		                   FROM hub.partner_entitlements(p.id) e), 'public') AS max_level,
		       false AS trusted_only,
		       coalesce((SELECT max(coalesce(e.k_threshold, 11)) FROM hub.partner_entitlements(p.id) e), 11) AS k_threshold
		  FROM hub.partner p
		 WHERE p.slug = $1 OR ($1 = '' AND p.kind = 'operator')
		 ORDER BY p.id LIMIT 1`, slug)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("store: no partner %q", slug)
	}
	if err != nil {
		return nil, fmt.Errorf("store: partner %q: %w", slug, err)
	}
	return &k, nil
}
