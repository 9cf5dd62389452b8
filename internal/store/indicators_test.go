package store_test

import (
	"testing"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/gen-hub/genhub/internal/hubtest"
)

type sqlCell struct {
	Margin     int     `db:"margin"`
	Region     *string `db:"region_code"`
	Learners   *int64  `db:"learners"`
	Women      *int64  `db:"women"`
	Finished   *int64  `db:"finished"`
	Applicants *int64  `db:"aid_applicants"`
	Granted    *int64  `db:"aid_granted"`
	Amount     *string `db:"aid_amount_eur"`
	K          int     `db:"k"`
	Raw        bool    `db:"raw"`
}

const indicatorsSQL = `SELECT margin, region_code, learners, women, finished, aid_applicants, aid_granted,
	aid_amount_eur::text, k, raw FROM hub.indicators($1, $2, NULL, NULL, NULL, NULL, NULL, NULL)`

// TestIndicatorsFunctionRawSQL calls hub.indicators as the runtime role with
// raw SQL, as a bug in the hub would: the function alone must keep values
// below the threshold out, keep to the caller's scope, and refuse what is
// not on its whitelist.
func TestIndicatorsFunctionRawSQL(t *testing.T) {
	e := hubtest.New(t)
	region := partnerID(t, e, "region-hauts-de-france")
	employment := partnerID(t, e, "france-travail")
	crous := partnerID(t, e, "crous-creteil")
	var regionLearners int64
	e.Admin.Get(&regionLearners, `SELECT count(*) FROM hub.enrolment e JOIN hub.formation f ON f.id = e.formation_id WHERE f.region_code = '32'`)

	sqlState := func(tx *sqlx.Tx, dims []string, regionFilter any) string {
		t.Helper()
		if _, err := tx.Exec(`SAVEPOINT s`); err != nil {
			t.Fatal(err)
		}
		var cells []sqlCell
		err := tx.Select(&cells, indicatorsSQL, pq.Array(dims), regionFilter)
		if err == nil {
			return ""
		}
		tx.Exec(`ROLLBACK TO SAVEPOINT s`)
		if pqErr, ok := err.(*pq.Error); ok {
			return string(pqErr.Code)
		}
		t.Fatal(err)
		return ""
	}

	// A regional council, even under a request role above its grants: its
	// region only, nothing below k, no raw values.
	for _, role := range []string{"genhub_detail", "genhub_personal"} {
		asApp(t, e, role, region, func(tx *sqlx.Tx) {
			var cells []sqlCell
			if err := tx.Select(&cells, indicatorsSQL, pq.Array([]string{"region", "department", "formation", "session"}), nil); err != nil {
				t.Fatalf("%s: %v", role, err)
			}
			hidden := 0
			for _, c := range cells {
				if c.Raw || c.K != 11 {
					t.Fatalf("%s: raw %v, k %d", role, c.Raw, c.K)
				}
				if c.Region != nil && *c.Region != "32" {
					t.Errorf("%s: a cell of region %s", role, *c.Region)
				}
				if c.Margin == 15 && (c.Learners == nil || *c.Learners != regionLearners) {
					t.Errorf("%s: total %v, want %d", role, c.Learners, regionLearners)
				}
				if c.Learners == nil {
					hidden++
					if c.Women != nil || c.Finished != nil || c.Applicants != nil || c.Granted != nil || c.Amount != nil {
						t.Errorf("%s: values shown where the learners are hidden: %+v", role, c)
					}
					continue
				}
				n := *c.Learners
				if n != 0 && n < 11 {
					t.Errorf("%s: %d learners published", role, n)
				}
				if w := c.Women; w != nil && n != 0 && (*w < 11 || n-*w < 11) {
					t.Errorf("%s: %d women of %d published", role, *w, n)
				}
				if g := c.Granted; g != nil && (c.Applicants == nil || (*c.Applicants != 0 && (*g < 11 || *c.Applicants-*g < 11))) {
					t.Errorf("%s: %d granted of %v applicants published", role, *g, c.Applicants)
				}
				if (c.Amount == nil) != (c.Granted == nil) {
					t.Errorf("%s: amount %v where granted %v", role, c.Amount, c.Granted)
				}
			}
			if hidden == 0 {
				t.Errorf("%s: no session below the threshold: the check proves little", role)
			}
		})
	}

	asApp(t, e, "genhub_detail", region, func(tx *sqlx.Tx) {
		for _, c := range []struct {
			dims   []string
			region any
			want   string
		}{
			{[]string{"year"}, "11", "GH403"},                     // outside the scope
			{[]string{"year"}, "99", "GH403"},                     // nowhere: the same answer
			{[]string{"learner_ref"}, nil, "GH400"},               // not on the whitelist
			{[]string{"year) FROM hub.partner --"}, nil, "GH400"}, // nor is SQL
			{[]string{"year", "year"}, nil, "GH400"},
			{[]string{"year", "sex", "age_band", "qualification"}, nil, "GH400"},
			{[]string{"session", "year", "sex"}, "32", ""},
		} {
			if got := sqlState(tx, c.dims, c.region); got != c.want {
				t.Errorf("%v in region %v: SQLSTATE %q, want %q", c.dims, c.region, got, c.want)
			}
		}
	})
	// An aggregate grant does not open session sizes.
	asApp(t, e, "genhub_aggregate", employment, func(tx *sqlx.Tx) {
		if got := sqlState(tx, []string{"session"}, nil); got != "GH403" {
			t.Errorf("employment service by session: SQLSTATE %q, want GH403", got)
		}
		if got := sqlState(tx, []string{"region"}, nil); got != "" {
			t.Errorf("employment service by region: SQLSTATE %q", got)
		}
	})
	// Neither the public nor a CROUS may call it.
	const denied = "42501"
	asApp(t, e, "genhub_public", "public", func(tx *sqlx.Tx) {
		if got := sqlState(tx, nil, nil); got != denied {
			t.Errorf("public: SQLSTATE %q, want %s", got, denied)
		}
	})
	asApp(t, e, "genhub_crous", crous, func(tx *sqlx.Tx) {
		if got := sqlState(tx, nil, nil); got != denied {
			t.Errorf("CROUS: SQLSTATE %q, want %s", got, denied)
		}
	})
}
