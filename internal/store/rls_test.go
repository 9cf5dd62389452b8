package store_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/gen-hub/genhub/internal/hubtest"
	"github.com/gen-hub/genhub/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// asApp runs fn in a transaction of the runtime login role, after the given
// role and partner settings (empty: not set), and rolls back.
func asApp(t *testing.T, e *hubtest.Env, role, partner string, fn func(tx *sqlx.Tx)) {
	t.Helper()
	tx, err := e.App.BeginTxx(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if role != "" {
		if _, err := tx.Exec(`SELECT set_config('role', $1, true)`, role); err != nil {
			t.Fatalf("switch to %s: %v", role, err)
		}
	}
	if partner != "" {
		if _, err := tx.Exec(`SELECT set_config('genhub.partner', $1, true)`, partner); err != nil {
			t.Fatal(err)
		}
	}
	fn(tx)
}

// count returns the count of q, or -1 and the SQLSTATE when PostgreSQL refuses.
func count(t *testing.T, tx *sqlx.Tx, q string, args ...any) (int, string) {
	t.Helper()
	if _, err := tx.Exec(`SAVEPOINT c`); err != nil {
		t.Fatal(err)
	}
	var n int
	err := tx.Get(&n, q, args...)
	var pqErr *pq.Error
	if errors.As(err, &pqErr) {
		tx.Exec(`ROLLBACK TO SAVEPOINT c`)
		return -1, string(pqErr.Code)
	}
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n, ""
}

func partnerID(t *testing.T, e *hubtest.Env, slug string) string {
	var id int
	if err := e.Admin.Get(&id, `SELECT id FROM hub.partner WHERE slug = $1`, slug); err != nil {
		t.Fatalf("partner %s: %v", slug, err)
	}
	return fmt.Sprint(id)
}

// TestRuntimeRoleRawSQL talks to PostgreSQL as the hub's runtime role with
// raw SQL, as a bug or an injection in the hub would: row-level security and
// grants must hold on their own.
func TestRuntimeRoleRawSQL(t *testing.T) {
	e := hubtest.New(t)
	const denied = "42501" // insufficient_privilege
	region := partnerID(t, e, "region-hauts-de-france")
	funder := partnerID(t, e, "caisse-des-depots")
	var orgSlug, orgSiret string
	e.Admin.QueryRow(`SELECT p.slug, o.siret FROM hub.partner p JOIN hub.organisation o ON o.id = p.organisation_id ORDER BY p.id LIMIT 1`).Scan(&orgSlug, &orgSiret)
	org := partnerID(t, e, orgSlug)
	var listed, ownEnrolments, otherFormation, otherSession, regionGrants int
	e.Admin.Get(&listed, `SELECT count(*) FROM hub.formation WHERE listed`)
	e.Admin.Get(&ownEnrolments, `SELECT count(*) FROM hub.enrolment e JOIN hub.formation f ON f.id = e.formation_id
		JOIN hub.organisation o ON o.id = f.organisation_id WHERE o.siret = $1`, orgSiret)
	e.Admin.Get(&otherFormation, `SELECT f.id FROM hub.formation f JOIN hub.organisation o ON o.id = f.organisation_id
		WHERE o.siret <> $1 AND f.region_code <> '32' AND EXISTS (SELECT 1 FROM hub.enrolment x WHERE x.formation_id = f.id) LIMIT 1`, orgSiret)
	e.Admin.Get(&otherSession, `SELECT session_id FROM hub.enrolment WHERE formation_id = $1 LIMIT 1`, otherFormation)
	e.Admin.Get(&regionGrants, `SELECT count(*) FROM hub.seed_grant g JOIN hub.formation f ON f.id = g.formation_id WHERE f.region_code = '32'`)
	if ownEnrolments == 0 || otherSession == 0 || regionGrants == 0 {
		t.Fatal("the demo data lacks rows this test needs")
	}

	t.Run("login role alone reads nothing", func(t *testing.T) {
		asApp(t, e, "", "", func(tx *sqlx.Tx) {
			for _, tbl := range []string{"formation", "organisation", "session", "enrolment", "partner", "entitlement", "api_key"} {
				if n, code := count(t, tx, `SELECT count(*) FROM hub.`+tbl); code != denied {
					t.Errorf("hub.%s as genhub_app: %d rows, code %q; want permission denied", tbl, n, code)
				}
			}
			for _, fn := range []string{"hub.caller_formations('detail')", "hub.partner_entitlements(1)", "hub.national_figures()",
				"hub.session_counts(ARRAY[1])", "hub.caller_entitlements()"} {
				if n, code := count(t, tx, `SELECT count(*) FROM `+fn); code != denied {
					t.Errorf("%s as genhub_app: %d rows, code %q; want permission denied", fn, n, code)
				}
			}
		})
	})
	t.Run("no partner set sees nothing", func(t *testing.T) {
		for _, role := range []string{"genhub_public", "genhub_detail", "genhub_operator"} {
			asApp(t, e, role, "", func(tx *sqlx.Tx) {
				for _, tbl := range []string{"formation", "organisation", "session", "label", "partner"} {
					if n, code := count(t, tx, `SELECT count(*) FROM hub.`+tbl); n > 0 {
						t.Errorf("hub.%s as %s with no partner: %d rows (%s); want none", tbl, role, n, code)
					}
				}
			})
		}
	})
	t.Run("public sees the catalogue only", func(t *testing.T) {
		asApp(t, e, "genhub_public", "public", func(tx *sqlx.Tx) {
			if n, _ := count(t, tx, `SELECT count(*) FROM hub.formation`); n != listed {
				t.Errorf("formations: %d, want %d listed", n, listed)
			}
			for _, tbl := range []string{"enrolment", "outcome", "aid_application", "seed_grant", "change_log"} {
				if n, code := count(t, tx, `SELECT count(*) FROM hub.`+tbl); code != denied {
					t.Errorf("hub.%s as public: %d rows, code %q; want permission denied", tbl, n, code)
				}
			}
			// Partners' own rows: granted to the level, but the keyless public owns none.
			for _, tbl := range []string{"partner", "entitlement", "funding_agreement", "request_log", "api_key"} {
				if n, code := count(t, tx, `SELECT count(*) FROM hub.`+tbl); n != 0 || code != "" {
					t.Errorf("hub.%s as public: %d rows, code %q; want none", tbl, n, code)
				}
			}
			if _, code := count(t, tx, `SELECT count(hash) FROM hub.api_key`); code != denied {
				t.Errorf("api_key.hash readable by public: code %q", code)
			}
		})
	})
	t.Run("region cannot read another region's detail nor learners", func(t *testing.T) {
		asApp(t, e, "genhub_detail", region, func(tx *sqlx.Tx) {
			if n, _ := count(t, tx, `SELECT count(*) FROM hub.seed_grant`); n != regionGrants {
				t.Errorf("seed grants: %d, want the region's %d", n, regionGrants)
			}
			if n, _ := count(t, tx, `SELECT count(*) FROM hub.seed_grant g WHERE g.formation_id IN (SELECT id FROM hub.formation WHERE region_code <> '32')`); n != 0 {
				t.Errorf("another region's seed grants: %d rows", n)
			}
			for _, tbl := range []string{"enrolment", "outcome", "aid_application"} {
				if n, code := count(t, tx, `SELECT count(*) FROM hub.`+tbl); code != denied {
					t.Errorf("hub.%s at detail: %d rows, code %q; want permission denied", tbl, n, code)
				}
			}
			if n, _ := count(t, tx, `SELECT count(*) FROM hub.partner`); n != 1 {
				t.Errorf("partners: %d, want only itself", n)
			}
			if n, _ := count(t, tx, `SELECT count(*) FROM hub.session_counts(ARRAY[$1::integer])`, otherSession); n != 0 {
				t.Errorf("session_counts of another region's session: %d rows, want none", n)
			}
		})
	})
	t.Run("aggregate level has no learner table at all", func(t *testing.T) {
		asApp(t, e, "genhub_aggregate", funder, func(tx *sqlx.Tx) {
			for _, q := range []string{`SELECT count(*) FROM hub.enrolment`, `SELECT count(*) FROM hub.outcome`,
				`SELECT count(*) FROM hub.aid_application`, `SELECT count(*) FROM hub.session_counts(ARRAY[1])`,
				`SELECT count(*) FROM hub.seed_grant`} {
				if n, code := count(t, tx, q); code != denied {
					t.Errorf("%s at aggregate: %d, code %q; want permission denied", q, n, code)
				}
			}
		})
	})
	t.Run("a higher role than entitled gives nothing", func(t *testing.T) {
		asApp(t, e, "genhub_aggregate", funder, func(tx *sqlx.Tx) {
			for _, role := range []string{"genhub_personal", "genhub_operator", "genhub_detail", "genhub_crous"} {
				if _, err := tx.Exec(`SELECT set_config('role', $1, true)`, role); err != nil {
					t.Fatal(err)
				}
				for _, tbl := range []string{"formation", "enrolment", "partner", "entitlement"} {
					if n, code := count(t, tx, `SELECT count(*) FROM hub.`+tbl); n > 0 {
						t.Errorf("funder switched to %s reads %d rows of hub.%s (%s)", role, n, tbl, code)
					}
				}
			}
			for _, role := range []string{"genhub_stats", "genhub_access", "genhub_figures", "genhub_owner", "postgres"} {
				if _, code := count(t, tx, `SELECT count(*) FROM (SELECT set_config('role', '`+role+`', true)) x`); code != denied {
					t.Errorf("switching to %s: code %q, want permission denied", role, code)
				}
			}
		})
	})
	t.Run("organisation reads its own learners only", func(t *testing.T) {
		asApp(t, e, "genhub_personal", org, func(tx *sqlx.Tx) {
			if n, _ := count(t, tx, `SELECT count(*) FROM hub.enrolment`); n != ownEnrolments {
				t.Errorf("enrolments: %d, want own %d", n, ownEnrolments)
			}
			if n, _ := count(t, tx, `SELECT count(*) FROM hub.enrolment WHERE formation_id = $1`, otherFormation); n != 0 {
				t.Errorf("another organisation's enrolments: %d", n)
			}
			if n, _ := count(t, tx, `SELECT count(*) FROM hub.outcome WHERE formation_id = $1`, otherFormation); n != 0 {
				t.Errorf("another organisation's outcomes: %d", n)
			}
			if n, _ := count(t, tx, `SELECT count(*) FROM hub.session_counts(ARRAY[$1::integer])`, otherSession); n != 0 {
				t.Errorf("inferring another organisation's session size: %d rows", n)
			}
			// Another partner's identity cannot be borrowed by id alone without the setting.
			if n, _ := count(t, tx, `SELECT count(*) FROM hub.partner WHERE id <> $1::integer`, org); n != 0 {
				t.Errorf("other partners visible: %d", n)
			}
		})
	})
}
