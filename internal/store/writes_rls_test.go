package store_test

import (
	"errors"
	"testing"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/gen-hub/genhub/internal/hubtest"
)

// exec runs a write in a savepoint and returns the rows it changed, or -1 and
// the SQLSTATE when PostgreSQL refuses it.
func exec(t *testing.T, tx *sqlx.Tx, q string, args ...any) (int64, string) {
	t.Helper()
	if _, err := tx.Exec(`SAVEPOINT w`); err != nil {
		t.Fatal(err)
	}
	res, err := tx.Exec(q, args...)
	var pqErr *pq.Error
	if errors.As(err, &pqErr) {
		tx.Exec(`ROLLBACK TO SAVEPOINT w`)
		return -1, string(pqErr.Code)
	}
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	n, _ := res.RowsAffected()
	return n, ""
}

// TestWritesRawSQL writes as the runtime role with raw SQL, as a bug or an
// injection in the hub would: an organisation cannot write about another
// organisation's formations, a CROUS about another CROUS's applications,
// read-only kinds cannot write at all, and nobody can alter the audit trail.
func TestWritesRawSQL(t *testing.T) {
	e := hubtest.New(t)
	const denied = "42501"
	lille := partnerID(t, e, "org-code-academie-lille")
	hdf := partnerID(t, e, "crous-hauts-de-france")
	operator := partnerID(t, e, "gip-gen")
	region := partnerID(t, e, "region-hauts-de-france")
	var own, other struct {
		Formation, Session, Enrolment, Application int
	}
	for _, x := range []struct {
		slug string
		dst  *struct{ Formation, Session, Enrolment, Application int }
	}{{"org-code-academie-lille", &own}, {"org-fabrique-numerique-saint-denis", &other}} {
		err := e.Admin.QueryRow(`
			SELECT e.formation_id, e.session_id, e.id, a.id FROM hub.enrolment e
			  JOIN hub.aid_application a ON a.enrolment_id = e.id
			  JOIN hub.formation f ON f.id = e.formation_id JOIN hub.partner p ON p.organisation_id = f.organisation_id
			 WHERE p.slug = $1 ORDER BY e.id LIMIT 1`, x.slug).Scan(&x.dst.Formation, &x.dst.Session, &x.dst.Enrolment, &x.dst.Application)
		if err != nil {
			t.Fatalf("fixture %s: %v", x.slug, err)
		}
	}
	insertSession := `INSERT INTO hub.session (formation_id, start_on, end_on, planned_seats) VALUES ($1, '2026-09-01', '2027-03-01', 10)`
	insertEnrolment := `INSERT INTO hub.enrolment (session_id, formation_id, learner_ref, enrolled_on, sex, age_band, qualification,
		prior_situation, qpv_resident, completion) VALUES ($1, $2, 'RAWSQL-0001', '2026-01-01', 'male', 'under_26', 'bac', 'neet', false, 'ongoing')`
	insertOutcome := `INSERT INTO hub.outcome (enrolment_id, formation_id, measured_at, situation, recorded_on)
		VALUES ($1, $2, 'm6', 'inactive', current_date) ON CONFLICT DO NOTHING`

	t.Run("organisation: its own formations only", func(t *testing.T) {
		asApp(t, e, "genhub_personal", lille, func(tx *sqlx.Tx) {
			if n, code := exec(t, tx, insertSession, own.Formation); n != 1 {
				t.Errorf("own session: %d rows, code %q", n, code)
			}
			for name, w := range map[string]struct {
				q    string
				args []any
			}{
				"session":   {insertSession, []any{other.Formation}},
				"enrolment": {insertEnrolment, []any{other.Session, other.Formation}},
				"outcome":   {insertOutcome, []any{other.Enrolment, other.Formation}},
				// Claiming one's own formation for another's session or enrolment breaks the foreign keys or the policy.
				"enrolment under own formation": {insertEnrolment, []any{other.Session, own.Formation}},
			} {
				if n, code := exec(t, tx, w.q, w.args...); n != -1 {
					t.Errorf("%s of another organisation: %d rows written", name, n)
				} else if name != "enrolment under own formation" && code != denied {
					t.Errorf("%s of another organisation: code %s, want %s", name, code, denied)
				}
			}
			for name, q := range map[string]string{
				"enrolment":   `UPDATE hub.enrolment SET completion = 'dropped_out' WHERE id = $1`,
				"outcome":     `UPDATE hub.outcome SET situation = 'inactive' WHERE enrolment_id = $1`,
				"application": `UPDATE hub.aid_application SET enrolment_confirmed_on = current_date WHERE enrolment_id = $1`,
				"session":     `UPDATE hub.session SET planned_seats = 0 WHERE id = (SELECT session_id FROM hub.enrolment WHERE id = $1)`,
			} {
				if n, code := exec(t, tx, q, other.Enrolment); n > 0 {
					t.Errorf("update of another organisation's %s: %d rows (%s)", name, n, code)
				}
			}
			// Columns the organisation may not set, even on its own rows.
			for name, q := range map[string]string{
				"decision":  `UPDATE hub.aid_application SET status = 'granted' WHERE id = $1`,
				"formation": `UPDATE hub.enrolment SET formation_id = formation_id WHERE id = $1`,
			} {
				if _, code := exec(t, tx, q, own.Application); code != denied {
					t.Errorf("setting %s: code %q, want %s", name, code, denied)
				}
			}
			if _, code := exec(t, tx, `DELETE FROM hub.enrolment WHERE id = $1`, own.Enrolment); code != denied {
				t.Errorf("delete: code %q, want %s", code, denied)
			}
		})
	})
	t.Run("crous: the applications filed with it only", func(t *testing.T) {
		asApp(t, e, "genhub_crous", hdf, func(tx *sqlx.Tx) {
			decide := `UPDATE hub.aid_application SET status = 'rejected', refusal_reason = 'other', decided_on = current_date,
				echelon = NULL, monthly_amount_eur = NULL, months = NULL, scale_from = NULL WHERE id = $1`
			if n, code := exec(t, tx, decide, own.Application); n != 1 {
				t.Errorf("own application: %d rows, code %q", n, code)
			}
			if n, _ := exec(t, tx, decide, other.Application); n > 0 {
				t.Errorf("another CROUS's application: %d rows", n)
			}
			if _, code := exec(t, tx, `UPDATE hub.aid_application SET crous_id = crous_id WHERE id = $1`, own.Application); code != denied {
				t.Errorf("moving an application: code %q, want %s", code, denied)
			}
			if _, code := exec(t, tx, insertSession, own.Formation); code != denied {
				t.Errorf("a CROUS writing a session: code %q", code)
			}
		})
	})
	t.Run("read-only kinds write nothing", func(t *testing.T) {
		asApp(t, e, "genhub_detail", region, func(tx *sqlx.Tx) {
			for _, q := range []string{insertSession, `UPDATE hub.formation SET seats = 1 WHERE id = $1`,
				`INSERT INTO hub.entitlement (partner_id, scope, level, purpose, granted_by) VALUES ($1, 'national', 'personal', 'me me me', 'x')`} {
				if _, code := exec(t, tx, q, own.Formation); code != denied {
					t.Errorf("%s at detail: code %q, want %s", q, code, denied)
				}
			}
		})
	})
	t.Run("a role the caller does not fit writes nothing", func(t *testing.T) {
		// The organisation switching to the operator's role: its policies require an operator.
		asApp(t, e, "genhub_operator", lille, func(tx *sqlx.Tx) {
			if _, code := exec(t, tx, insertSession, other.Formation); code != denied {
				t.Errorf("organisation as genhub_operator: code %q, want %s", code, denied)
			}
			if n, _ := exec(t, tx, `UPDATE hub.partner SET name = 'pwned'`); n > 0 {
				t.Errorf("organisation as genhub_operator renamed %d partners", n)
			}
		})
	})
	t.Run("operator writes, but grants only as granted", func(t *testing.T) {
		asApp(t, e, "genhub_operator", operator, func(tx *sqlx.Tx) {
			if n, code := exec(t, tx, insertSession, other.Formation); n != 1 {
				t.Errorf("operator session: %d, %q", n, code)
			}
			q := `INSERT INTO hub.entitlement (partner_id, scope, level, purpose, granted_by, source) VALUES ($1, 'national', 'personal', 'sneaky default', 'x', 'default')`
			if _, code := exec(t, tx, q, region); code != denied {
				t.Errorf("operator forging a default grant: code %q, want %s", code, denied)
			}
		})
	})
	t.Run("nobody alters the audit trail", func(t *testing.T) {
		for _, role := range []struct{ role, partner string }{
			{"genhub_operator", operator}, {"genhub_personal", lille}, {"", ""},
		} {
			asApp(t, e, role.role, role.partner, func(tx *sqlx.Tx) {
				for _, q := range []string{
					`UPDATE hub.request_log SET outcome = 'OK'`, `DELETE FROM hub.request_log`,
					`INSERT INTO hub.request_log (request_id, duration_ms, outcome) VALUES ('forged', 1, 'OK')`,
					`UPDATE hub.change_log SET author = 'someone else'`, `DELETE FROM hub.change_log`,
					`INSERT INTO hub.change_log (author, table_name, action, row_keys, key_block) VALUES ('x', 'y', 'insert', '{1}', 0)`,
					`TRUNCATE hub.change_log`,
				} {
					if _, code := exec(t, tx, q); code != denied {
						t.Errorf("%q as %q: code %q, want %s", q, role.role, code, denied)
					}
				}
			})
		}
	})
}
