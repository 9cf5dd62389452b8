package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/jmoiron/sqlx"

	"github.com/gen-hub/genhub/graph/model"
	"github.com/gen-hub/genhub/internal/access"
	"github.com/gen-hub/genhub/internal/apierror"
)

// MaxDocument is the longest GraphQL document that may be registered, in bytes.
const MaxDocument = 128 << 10

// DocumentHash returns the lower-case hex SHA-256 of a GraphQL document, as
// clients send it in extensions.persistedQuery.sha256Hash.
func DocumentHash(document string) string {
	sum := sha256.Sum256([]byte(document))
	return hex.EncodeToString(sum[:])
}

// TrustedDocument returns the document registered for a partner under hash,
// and false when there is none. It runs as the login role, like authentication.
func (s *Store) TrustedDocument(ctx context.Context, partnerID int, hash string) (string, bool, error) {
	var doc sql.NullString
	if err := s.db.GetContext(ctx, &doc, `SELECT hub.trusted_document($1, $2)`, partnerID, hash); err != nil {
		return "", false, classify(ctx, fmt.Errorf("store: trusted document: %w", err))
	}
	return doc.String, doc.Valid, nil
}

const operationColumns = `o.id, p.slug AS partner_slug, o.hash, o.name, o.document, o.registered_by, o.registered_at, o.revoked_at`

// Operation is a document to register for a partner.
type Operation struct {
	Name     string `json:"name"`
	Document string `json:"body"`
}

// RegisterOperation registers document for a partner, as the caller (the
// operator: row-level security refuses anyone else). Registering a document
// already registered for the partner returns the existing registration.
func (s *Store) RegisterOperation(ctx context.Context, partnerID int, name, document string) (*model.TrustedOperation, error) {
	if len(document) == 0 || len(document) > MaxDocument {
		return nil, apierror.BadInput("document", "must hold 1 to %d bytes", MaxDocument)
	}
	var op model.TrustedOperation
	hash := DocumentHash(document)
	author := access.FromContext(ctx).Slug
	err := s.Write(ctx, func(tx *sqlx.Tx) error {
		var id int
		err := tx.GetContext(ctx, &id, `
			INSERT INTO hub.trusted_operation (partner_id, hash, name, document, registered_by)
			SELECT id, $2, nullif($3, ''), $4, $5 FROM hub.partner WHERE id = $1
			ON CONFLICT (partner_id, hash) WHERE revoked_at IS NULL DO NOTHING
			RETURNING id`, partnerID, hash, name, document, author)
		if errors.Is(err, sql.ErrNoRows) {
			err = tx.GetContext(ctx, &id, `
				SELECT id FROM hub.trusted_operation WHERE partner_id = $1 AND hash = $2 AND revoked_at IS NULL`, partnerID, hash)
		}
		if errors.Is(err, sql.ErrNoRows) {
			return apierror.New(apierror.NotFound, "no such partner")
		}
		if err != nil {
			return fmt.Errorf("store: register operation: %w", err)
		}
		return tx.GetContext(ctx, &op, `SELECT `+operationColumns+`
			FROM hub.trusted_operation o JOIN hub.partner p ON p.id = o.partner_id WHERE o.id = $1`, id)
	})
	if err != nil {
		return nil, err
	}
	return &op, nil
}

// RevokeOperation revokes a registration, as the caller (the operator); false
// when there is no such registration in force.
func (s *Store) RevokeOperation(ctx context.Context, id int) (bool, error) {
	var n int64
	author := access.FromContext(ctx).Slug
	err := s.Write(ctx, func(tx *sqlx.Tx) error {
		res, err := tx.ExecContext(ctx, `
			UPDATE hub.trusted_operation SET revoked_at = now(), revoked_by = $2
			 WHERE id = $1 AND revoked_at IS NULL`, id, author)
		if err != nil {
			return fmt.Errorf("store: revoke operation: %w", err)
		}
		n, err = res.RowsAffected()
		return err
	})
	return n > 0, err
}

// MaxListedOperations bounds TrustedOperations.
const MaxListedOperations = 500

// TrustedOperations lists the registrations the caller may see (its own; the
// operator's: everyone's, or one partner's), newest first, revoked ones too.
func (s *Store) TrustedOperations(ctx context.Context, partnerID *int) ([]*model.TrustedOperation, error) {
	var ops []*model.TrustedOperation
	err := s.Read(ctx, func(tx *sqlx.Tx) error {
		err := tx.SelectContext(ctx, &ops, `SELECT `+operationColumns+`
			FROM hub.trusted_operation o JOIN hub.partner p ON p.id = o.partner_id
			WHERE $1::integer IS NULL OR o.partner_id = $1
			ORDER BY o.id DESC LIMIT $2`, partnerID, MaxListedOperations)
		if err != nil {
			return fmt.Errorf("store: list operations: %w", err)
		}
		return nil
	})
	return ops, err
}

// RegisterOperations registers documents for the partner with the given slug
// on the administration connection (the operations file read at start-up);
// documents already registered are left as they are. It returns how many
// were added.
func RegisterOperations(ctx context.Context, db *sqlx.DB, slug string, ops []Operation, author string) (int, error) {
	added := 0
	tx, err := db.BeginTxx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("store: register operations: %w", err)
	}
	defer tx.Rollback()
	var partnerID int
	if err := tx.GetContext(ctx, &partnerID, `SELECT id FROM hub.partner WHERE slug = $1`, slug); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return 0, fmt.Errorf("store: register operations: no partner %q", slug)
		}
		return 0, fmt.Errorf("store: register operations: %w", err)
	}
	for _, op := range ops {
		if len(op.Document) == 0 || len(op.Document) > MaxDocument {
			return 0, fmt.Errorf("store: register operations: %q: the document must hold 1 to %d bytes", op.Name, MaxDocument)
		}
		res, err := tx.ExecContext(ctx, `
			INSERT INTO hub.trusted_operation (partner_id, hash, name, document, registered_by)
			VALUES ($1, $2, nullif($3, ''), $4, $5)
			ON CONFLICT (partner_id, hash) WHERE revoked_at IS NULL DO NOTHING`,
			partnerID, DocumentHash(op.Document), op.Name, op.Document, author)
		if err != nil {
			return 0, fmt.Errorf("store: register operation %q: %w", op.Name, err)
		}
		n, _ := res.RowsAffected()
		added += int(n)
	}
	return added, tx.Commit()
}
