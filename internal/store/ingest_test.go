package store_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/gen-hub/genhub/internal/hubtest"
	"github.com/gen-hub/genhub/internal/store"
)

// TestEnrolmentStageUnderPolicies writes batches through the temporary
// stage as the runtime role, with the hub's checks left out, as a bug would:
// the stage escapes nothing, the database still refuses another
// organisation's sessions and formations, and rows whose formation is not
// their session's.
func TestEnrolmentStageUnderPolicies(t *testing.T) {
	e := hubtest.New(t)
	lille := partnerID(t, e, "org-code-academie-lille")
	operator := partnerID(t, e, "gip-gen")
	type place struct{ Session, Formation int }
	var own, other place
	for _, x := range []struct {
		slug string
		dst  *place
	}{{"org-code-academie-lille", &own}, {"org-fabrique-numerique-saint-denis", &other}} {
		err := e.Admin.QueryRow(`SELECT s.id, s.formation_id FROM hub.session s JOIN hub.formation f ON f.id = s.formation_id
			JOIN hub.partner p ON p.organisation_id = f.organisation_id WHERE p.slug = $1 ORDER BY s.id LIMIT 1`, x.slug).
			Scan(&x.dst.Session, &x.dst.Formation)
		if err != nil {
			t.Fatalf("fixture %s: %v", x.slug, err)
		}
	}
	rows := func(p place, prefix string, n int) []store.EnrolmentRow {
		rs := make([]store.EnrolmentRow, n)
		for i := range rs {
			rs[i] = store.EnrolmentRow{SessionID: p.Session, FormationID: p.Formation, LearnerRef: fmt.Sprintf("%s-%04d", prefix, i),
				EnrolledOn: time.Date(2020, 1, 6, 0, 0, 0, 0, time.UTC), Sex: "male", AgeBand: "under_26", Qualification: "bac",
				PriorSituation: "neet", Completion: "ongoing"}
		}
		return rs
	}
	// code writes rs in a savepoint and returns the SQLSTATE of a refusal, "" when written.
	code := func(t *testing.T, tx *sqlx.Tx, st *store.EnrolmentStage, rs []store.EnrolmentRow) (store.EnrolmentCounts, string) {
		t.Helper()
		tx.MustExec(`SAVEPOINT w`)
		n, err := st.Write(context.Background(), rs)
		var pqErr *pq.Error
		if errors.As(err, &pqErr) {
			tx.MustExec(`ROLLBACK TO SAVEPOINT w`)
			return n, string(pqErr.Code)
		}
		if err != nil {
			t.Fatal(err)
		}
		return n, ""
	}

	t.Run("organisation", func(t *testing.T) {
		asApp(t, e, "genhub_personal", lille, func(tx *sqlx.Tx) {
			st, err := store.NewEnrolmentStage(context.Background(), tx)
			if err != nil {
				t.Fatal(err)
			}
			if n, c := code(t, tx, st, rows(own, "STAGE-OWN", 3)); c != "" || n.Inserted != 3 {
				t.Errorf("own session: %+v, code %q; want 3 inserted", n, c)
			}
			for _, c := range []struct {
				name string
				p    place
				want string
			}{
				{"another organisation's session", other, "42501"},
				{"another organisation's formation", place{own.Session, other.Formation}, "42501"},
				{"a formation that is not the session's", place{other.Session, own.Formation}, "23503"},
			} {
				if n, got := code(t, tx, st, rows(c.p, "STAGE-X", 2)); got != c.want {
					t.Errorf("%s: %+v, code %q; want %s", c.name, n, got, c.want)
				}
			}
			// Known learners, then new ones: written as an upsert from then on.
			known := append(rows(own, "STAGE-OWN", 3), rows(own, "STAGE-NEW", 2)...)
			known[0].Completion = "dropped_out"
			if n, c := code(t, tx, st, known); c != "" || n != (store.EnrolmentCounts{Inserted: 2, Updated: 1, Unchanged: 2}) {
				t.Errorf("known learners: %+v, code %q; want 2 inserted, 1 updated, 2 unchanged", n, c)
			}
			if n, c := code(t, tx, st, rows(other, "STAGE-Y", 2)); c != "42501" {
				t.Errorf("upsert into another organisation's session: %+v, code %q", n, c)
			}
			var visible int
			tx.Get(&visible, `SELECT count(*) FROM hub.enrolment WHERE learner_ref LIKE 'STAGE-%'`)
			if visible != 5 {
				t.Errorf("%d staged learners written, want 5", visible)
			}
		})
	})
	t.Run("operator writes anywhere", func(t *testing.T) {
		asApp(t, e, "genhub_operator", operator, func(tx *sqlx.Tx) {
			st, err := store.NewEnrolmentStage(context.Background(), tx)
			if err != nil {
				t.Fatal(err)
			}
			if n, c := code(t, tx, st, rows(other, "STAGE-OP", 4)); c != "" || n.Inserted != 4 {
				t.Errorf("operator: %+v, code %q", n, c)
			}
		})
	})
	t.Run("kinds that may not write", func(t *testing.T) {
		for _, r := range []struct{ role, partner string }{
			{"genhub_detail", partnerID(t, e, "region-hauts-de-france")},
			{"genhub_operator", lille}, // an organisation switching to the operator's role
		} {
			asApp(t, e, r.role, r.partner, func(tx *sqlx.Tx) {
				st, err := store.NewEnrolmentStage(context.Background(), tx)
				if err != nil { // no temporary tables for this role: refused too
					return
				}
				if n, c := code(t, tx, st, rows(own, "STAGE-Z", 2)); c != "42501" {
					t.Errorf("%s as %s: %+v, code %q; want 42501", r.partner, r.role, n, c)
				}
			})
		}
	})
}
