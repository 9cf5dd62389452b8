package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/gen-hub/genhub/internal/access"
	"github.com/gen-hub/genhub/internal/apierror"
)

type (
	authorKey  struct{}
	requestKey struct{}
	timeoutKey struct{}
)

// WithAuthor returns ctx whose writes are recorded in the change log under
// author, in place of the caller's slug and key (e.g. "cli:alice").
func WithAuthor(ctx context.Context, author string) context.Context {
	return context.WithValue(ctx, authorKey{}, author)
}

// Author returns who the change log records as the author of ctx's writes.
func Author(ctx context.Context) string {
	if a, ok := ctx.Value(authorKey{}).(string); ok && a != "" {
		return a
	}
	c := access.FromContext(ctx)
	if c.IsPublic() {
		return "public"
	}
	return fmt.Sprintf("%s (key %s)", c.Slug, c.KeyPrefix)
}

// WithRequestID returns ctx carrying the id of the request, which the change
// log records with every change.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestKey{}, id)
}

// RequestID returns the request id carried by ctx, "" if none.
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestKey{}).(string)
	return id
}

// WithStatementTimeout returns ctx whose units of work bound each statement by
// d instead of the store's default (bulk imports and exports).
func WithStatementTimeout(ctx context.Context, d time.Duration) context.Context {
	return context.WithValue(ctx, timeoutKey{}, d)
}

// conflict says which input field a unique or check constraint is about, and
// how to say so without naming the constraint.
var conflict = map[string]struct{ field, msg string }{
	"organisation_siret_key":               {"siret", "an organisation with this SIRET already exists"},
	"partner_slug_key":                     {"slug", "a partner with this slug already exists"},
	"partner_organisation_id_key":          {"organisationId", "this organisation already has a partner"},
	"labelling_call_code_key":              {"code", "a labelling call with this code already exists"},
	"label_formation_id_call_id_key":       {"callId", "the formation already holds a label of this call"},
	"seed_grant_label_id_key":              {"labelId", "this label already has a seed grant"},
	"funding_agreement_reference_key":      {"reference", "an agreement with this reference already exists"},
	"enrolment_session_id_learner_ref_key": {"learnerRef", "this learner is already enrolled in the session"},
	"crous_area_department_code_key":       {"departmentCodes", "a department is already served by another CROUS"},
	"crous_area_pkey":                      {"departmentCodes", "a department is listed twice"},
	"outcome_pkey":                         {"measuredAt", "this outcome is already recorded"},
	"aid_application_check1":               {"echelon", "a granted, paid or suspended aid needs an échelon, an amount and a number of months"},
	"aid_application_check3":               {"decidedOn", "the decision cannot precede the application"},
	"label_check":                          {"validUntil", "must be after the date the label was granted"},
	"label_check2":                         {"withdrawnOn", "a label cannot be withdrawn before it was granted"},
	"session_check":                        {"endOn", "must be after startOn"},
	"entitlement_check":                    {"validUntil", "must not be before validFrom"},
}

// checkedColumn returns the column a single-column check constraint is
// about (PostgreSQL names them table_column_check), "" for other constraints.
func checkedColumn(table, constraint string) string {
	col, ok := strings.CutPrefix(constraint, table+"_")
	if !ok {
		return ""
	}
	col, ok = strings.CutSuffix(col, "_check")
	if !ok || col == "" {
		return ""
	}
	return col
}

// refusal turns the database's refusal of a write into an error for the
// caller: never SQL text or constraint names. Field paths are prefixed with
// path (e.g. "input").
func refusal(err error, path string) error {
	if err == nil {
		return nil
	}
	if _, ok := apierror.As(err); ok {
		return err
	}
	var pqErr *pq.Error
	if !errors.As(err, &pqErr) {
		return err
	}
	at := func(f string) string {
		if path == "" {
			return f
		}
		return path + "." + f
	}
	c, known := conflict[pqErr.Constraint]
	switch {
	case pqErr.Code == "23505" && known, pqErr.Code == "23514" && known:
		return apierror.BadInput(at(c.field), "%s", c.msg)
	case pqErr.Code == "23505":
		return apierror.BadInput(path, "a row with these values already exists")
	case pqErr.Code == "23514":
		if col := checkedColumn(pqErr.Table, pqErr.Constraint); col != "" {
			return apierror.BadInput(at(lowerCamel(col)), "the value is outside what is allowed")
		}
		return apierror.BadInput(path, "the values are inconsistent with each other (check dates, amounts and statuses)")
	case pqErr.Code == "23503":
		return apierror.BadInput(path, "a value refers to something that does not exist or that you cannot see")
	case pqErr.Code == "23502":
		return apierror.BadInput(at(lowerCamel(pqErr.Column)), "a value is required")
	case pqErr.Code == "42501": // insufficient privilege, or a row-level security policy
		return apierror.Denied("you may not make this change")
	case pqErr.Code.Class() == "22": // data exception: a value the column cannot hold
		return apierror.BadInput(path, "a value is out of range or malformed")
	case pqErr.Code == "40001" || pqErr.Code == "40P01":
		return &apierror.Error{Code: apierror.Unavailable, Message: "a concurrent change conflicted with this one; retry"}
	}
	return err
}

// lowerCamel turns a column name into the API's field name: valid_until → validUntil.
func lowerCamel(s string) string {
	b := make([]byte, 0, len(s))
	up := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '_':
			up = true
		case up && 'a' <= c && c <= 'z':
			b = append(b, c-'a'+'A')
			up = false
		default:
			b = append(b, c)
			up = false
		}
	}
	return string(b)
}

// write runs fn as the caller in one read-write transaction: all of it or
// nothing. Refusals by the database come back as caller-facing errors about
// the input at path.
func (s *Store) write(ctx context.Context, path string, fn func(tx *sqlx.Tx) error) error {
	return refusal(s.Write(ctx, fn), path)
}

var idempotencyKeyRe = regexp.MustCompile(`^[A-Za-z0-9._:-]{8,128}$`)

// CheckIdempotencyKey refuses a key the database would not store.
func CheckIdempotencyKey(field, key string) error {
	if !idempotencyKeyRe.MatchString(key) {
		return apierror.BadInput(field, "give 8 to 128 letters, digits, '.', '_', ':' or '-' (a UUID will do)")
	}
	return nil
}

// RequestHash returns the fingerprint of a request's input stored with its
// idempotency key.
func RequestHash(input any) string {
	b, _ := json.Marshal(input)
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// idempotent runs fn in tx once per caller and key: the first time it stores
// fn's result with the key and the request's hash; a retry with the same key
// and the same request gets that result back, replayed, and fn does not run.
// The same key with another request is refused. Retries wait for the first
// to finish. hash is called after fn, or instead of it on a retry (so that a
// streamed request can be hashed as it is read).
func idempotent[T any](ctx context.Context, tx *sqlx.Tx, field, key, op string, hash func() string, fn func() (T, error)) (res T, replayed bool, err error) {
	if err := CheckIdempotencyKey(field, key); err != nil {
		return res, false, err
	}
	if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(1769104228, hashtext(hub.caller() || ':' || $1))`, key); err != nil {
		return res, false, fmt.Errorf("store: lock idempotency key: %w", err)
	}
	var prev struct {
		Operation string `db:"operation"`
		Hash      string `db:"request_hash"`
		Result    []byte `db:"result"`
	}
	err = tx.GetContext(ctx, &prev, `SELECT operation, request_hash, result FROM hub.idempotency_key WHERE partner_id = hub.caller() AND key = $1`, key)
	switch {
	case err == nil:
		if prev.Operation != op || prev.Hash != hash() {
			return res, false, apierror.BadInput(field, "this key was already used for a different request; use a new key for new data")
		}
		if err := json.Unmarshal(prev.Result, &res); err != nil {
			return res, false, fmt.Errorf("store: stored result of %s: %w", op, err)
		}
		return res, true, nil
	case !errors.Is(err, sql.ErrNoRows):
		return res, false, fmt.Errorf("store: look up idempotency key: %w", err)
	}
	if res, err = fn(); err != nil {
		return res, false, err
	}
	b, err := json.Marshal(res)
	if err != nil {
		return res, false, fmt.Errorf("store: result of %s: %w", op, err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO hub.idempotency_key (partner_id, key, operation, request_hash, result)
		VALUES (hub.caller(), $1, $2, $3, $4::jsonb)`, key, op, hash(), string(b)); err != nil {
		return res, false, fmt.Errorf("store: store idempotency key: %w", err)
	}
	return res, false, nil
}

// WriteOnce runs fn as the caller in one read-write transaction, once per
// idempotency key when key is not empty (see idempotent); op names the kind
// of request, hash fingerprints it. replayed says the result is an earlier
// request's and fn did not run. Refusals by the database come back as
// caller-facing errors.
func WriteOnce[T any](ctx context.Context, s *Store, key, op string, hash func() string, fn func(tx *sqlx.Tx) (T, error)) (res T, replayed bool, err error) {
	err = s.write(ctx, "", func(tx *sqlx.Tx) error {
		var err error
		if key == "" {
			res, err = fn(tx)
			return err
		}
		res, replayed, err = idempotent(ctx, tx, "idempotencyKey", key, op, hash, func() (T, error) { return fn(tx) })
		return err
	})
	return res, replayed, err
}

// Refusal turns a database error in a write into a caller-facing error (see
// refusal); other errors pass.
func Refusal(err error) error { return refusal(err, "") }
