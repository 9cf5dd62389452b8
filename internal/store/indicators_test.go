package store_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

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

// summaryDiff counts the rows where hub.learner_summary differs from a count
// of the learner tables written independently (the call at entry by a
// correlated subquery rather than label periods), for the formations where
// the condition (on formation_id) holds.
const summaryDiff = `
WITH e AS (
  SELECT e.*, extract(year FROM e.enrolled_on)::int AS year,
         coalesce((SELECT l.call_id FROM hub.label l WHERE l.formation_id = e.formation_id AND l.granted_on <= e.enrolled_on
                    ORDER BY l.granted_on DESC, l.id DESC LIMIT 1),
                  (SELECT l.call_id FROM hub.label l WHERE l.formation_id = e.formation_id ORDER BY l.granted_on, l.id LIMIT 1),
                  0) AS call_id
    FROM hub.enrolment e
   WHERE %[1]s
), fresh AS (
  SELECT e.session_id, e.formation_id, e.year, e.call_id,
         count(*) AS learners,
         sum((e.sex = 'female')::int) AS women,
         sum((e.prior_situation = 'neet')::int) AS neet,
         sum((e.prior_situation = 'neet' AND e.age_band = 'under_26' AND e.qualification IN ('none', 'infra_bac', 'bac'))::int) AS lqny,
         sum(e.qpv_resident::int) AS qpv,
         sum((e.completion <> 'ongoing')::int) AS finished,
         sum((e.completion = 'completed')::int) AS completed,
         sum((SELECT count(*) FROM hub.outcome o WHERE o.enrolment_id = e.id AND o.measured_at = 'm3')) AS measured,
         sum((SELECT count(*) FROM hub.outcome o WHERE o.enrolment_id = e.id AND o.measured_at = 'm3' AND o.positive)) AS positive,
         sum((SELECT count(*) FROM hub.aid_application a WHERE a.enrolment_id = e.id)) AS applicants,
         sum((SELECT count(*) FROM hub.aid_application a WHERE a.enrolment_id = e.id AND a.status IN ('granted', 'paid', 'suspended'))) AS granted,
         coalesce(sum((SELECT sum(a.monthly_amount_eur * a.months) FROM hub.aid_application a
                         WHERE a.enrolment_id = e.id AND a.status IN ('granted', 'paid', 'suspended'))), 0) AS amount
    FROM e GROUP BY 1, 2, 3, 4
), summary AS (
  SELECT session_id, formation_id, year, call_id, learners, women, neet, low_qualified_neet_youth, qpv_residents,
         finished, completed, m3_measured, m3_positive, aid_applicants, aid_granted, aid_amount_eur
    FROM hub.learner_summary
   WHERE %[1]s
)
SELECT (SELECT count(*) FROM (SELECT * FROM fresh EXCEPT SELECT * FROM summary) a)
     + (SELECT count(*) FROM (SELECT * FROM summary EXCEPT SELECT * FROM fresh) b)`

// TestLearnerSummaryTriggers changes learners, outcomes, aid applications and
// labels in every way and checks that the summary the indicators read stays
// equal to a fresh count, also with two writers at once.
func TestLearnerSummaryTriggers(t *testing.T) {
	e := hubtest.New(t)
	formations := "true"
	check := func(step string) {
		t.Helper()
		var diff int
		if err := e.Admin.Get(&diff, fmt.Sprintf(summaryDiff, formations)); err != nil {
			t.Fatalf("%s: %v", step, err)
		}
		if diff != 0 {
			t.Fatalf("%s: %d summary rows differ from a fresh count", step, diff)
		}
	}
	check("demo data")
	var s1, s2, f int
	e.Admin.QueryRow(`SELECT s1.id, s2.id, s1.formation_id FROM hub.session s1 JOIN hub.session s2
		ON s2.formation_id = s1.formation_id AND s2.id > s1.id ORDER BY s1.id LIMIT 1`).Scan(&s1, &s2, &f)
	steps := []struct{ name, sql string }{
		{"insert enrolments", `INSERT INTO hub.enrolment (session_id, formation_id, learner_ref, enrolled_on, sex, age_band,
			qualification, prior_situation, qpv_resident, completion)
			SELECT $1, $3, 'test-learner-' || g, DATE '2019-01-01' + g, CASE WHEN g % 2 = 0 THEN 'female' ELSE 'male' END,
			       'under_26', 'bac', 'neet', g % 3 = 0, 'completed' FROM generate_series(1, 5) g`},
		{"update enrolments", `UPDATE hub.enrolment SET sex = 'female', enrolled_on = DATE '2024-06-01', session_id = $2
			WHERE learner_ref IN ('test-learner-1', 'test-learner-2') AND session_id = $1`},
		{"insert outcomes", `INSERT INTO hub.outcome (enrolment_id, formation_id, measured_at, situation, recorded_on)
			SELECT id, formation_id, 'm3', 'cdi', DATE '2025-01-01' FROM hub.enrolment WHERE learner_ref LIKE 'test-learner-%'`},
		{"update outcomes", `UPDATE hub.outcome SET situation = 'job_seeking' WHERE enrolment_id IN
			(SELECT id FROM hub.enrolment WHERE learner_ref = 'test-learner-3')`},
		{"insert aid", `INSERT INTO hub.aid_application (enrolment_id, formation_id, crous_id, submitted_on, status,
			scale_from, echelon, monthly_amount_eur, months, decided_on)
			SELECT e.id, e.formation_id, (SELECT id FROM hub.partner WHERE kind = 'crous' ORDER BY id LIMIT 1),
			       DATE '2021-01-01', 'granted', DATE '2020-07-22', '3', 329.20, 10, DATE '2021-02-01'
			  FROM hub.enrolment e WHERE e.learner_ref LIKE 'test-learner-%'`},
		{"update aid", `UPDATE hub.aid_application SET status = 'paid', months = 12 WHERE enrolment_id IN
			(SELECT id FROM hub.enrolment WHERE learner_ref = 'test-learner-4')`},
		{"new label", `INSERT INTO hub.label (formation_id, call_id, granted_on, valid_until, status)
			SELECT $3, c.id, DATE '2019-06-01', DATE '2022-06-01', 'active' FROM hub.labelling_call c
			 WHERE NOT EXISTS (SELECT 1 FROM hub.label l WHERE l.formation_id = $3 AND l.call_id = c.id) ORDER BY c.id LIMIT 1`},
		{"move label", `UPDATE hub.label SET granted_on = DATE '2015-01-01' WHERE formation_id = $3 AND granted_on = DATE '2019-06-01'`},
		{"delete aid", `DELETE FROM hub.aid_application WHERE enrolment_id IN (SELECT id FROM hub.enrolment WHERE learner_ref = 'test-learner-5')`},
		{"delete outcomes", `DELETE FROM hub.outcome WHERE enrolment_id IN (SELECT id FROM hub.enrolment WHERE learner_ref = 'test-learner-5')`},
		{"delete enrolment", `DELETE FROM hub.enrolment WHERE learner_ref = 'test-learner-5'`},
		{"delete label", `DELETE FROM hub.label WHERE formation_id = $3 AND granted_on = DATE '2015-01-01'`},
	}
	formations = fmt.Sprintf("formation_id = %d", f) // what the steps change
	ids := strings.NewReplacer("$1", fmt.Sprint(s1), "$2", fmt.Sprint(s2), "$3", fmt.Sprint(f))
	for _, st := range steps {
		if _, err := e.Admin.Exec(ids.Replace(st.sql)); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		check(st.name)
	}

	// Two writers in the same session: the second one's change to the summary
	// row waits for the first transaction, then adds to what it left.
	insert := `INSERT INTO hub.enrolment (session_id, formation_id, learner_ref, enrolled_on, sex, age_band,
		qualification, prior_situation, qpv_resident, completion)
		VALUES ($1, $2, $3, DATE '2020-03-01', 'female', 'from_31_to_49', 'bac_plus_2', 'employed', false, 'ongoing')`
	tx1, err := e.Admin.Begin()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx1.Exec(insert, s1, f, "test-concurrent-1"); err != nil {
		t.Fatal(err)
	}
	done := make(chan error)
	go func() {
		tx2, err := e.Admin.Begin()
		if err == nil {
			if _, err = tx2.Exec(insert, s1, f, "test-concurrent-2"); err == nil {
				err = tx2.Commit()
			}
		}
		done <- err
	}()
	select {
	case err := <-done:
		t.Fatalf("the second writer did not wait for the first: %v", err)
	case <-time.After(300 * time.Millisecond):
	}
	if err := tx1.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	check("two writers")
}

// profileDiff counts the keys where hub.learner_profile (its rows summed, as
// hub.indicators reads them) differs from a count of the learner rows, plus
// the summary rows whose places differ from their formation's.
const profileDiff = `
WITH fresh AS (
  SELECT f.region_code, extract(year FROM e.enrolled_on)::int AS year, e.sex, e.age_band, e.qualification, e.prior_situation,
         count(*) AS learners,
         sum((e.sex = 'female')::int) AS women,
         sum((e.prior_situation = 'neet')::int) AS neet,
         sum((e.prior_situation = 'neet' AND e.age_band = 'under_26' AND e.qualification IN ('none', 'infra_bac', 'bac'))::int) AS lqny,
         sum(e.qpv_resident::int) AS qpv,
         sum((e.completion <> 'ongoing')::int) AS finished,
         sum((e.completion = 'completed')::int) AS completed,
         count(o.enrolment_id) AS measured, count(*) FILTER (WHERE o.positive) AS positive,
         count(a.id) AS applicants, count(*) FILTER (WHERE a.status IN ('granted', 'paid', 'suspended')) AS granted,
         coalesce(sum(a.monthly_amount_eur * a.months) FILTER (WHERE a.status IN ('granted', 'paid', 'suspended')), 0) AS amount
    FROM hub.enrolment e
    JOIN hub.formation f ON f.id = e.formation_id
    LEFT JOIN hub.outcome o ON o.enrolment_id = e.id AND o.measured_at = 'm3'
    LEFT JOIN hub.aid_application a ON a.enrolment_id = e.id
   GROUP BY 1, 2, 3, 4, 5, 6
), profile AS (
  SELECT region_code, year, sex, age_band, qualification, prior_situation,
         sum(learners), sum(women), sum(neet), sum(low_qualified_neet_youth), sum(qpv_residents), sum(finished),
         sum(completed), sum(m3_measured), sum(m3_positive), sum(aid_applicants), sum(aid_granted), sum(aid_amount_eur)
    FROM hub.learner_profile
   GROUP BY 1, 2, 3, 4, 5, 6
  HAVING sum(learners) <> 0
)
SELECT (SELECT count(*) FROM (SELECT * FROM fresh EXCEPT SELECT * FROM profile) a)
     + (SELECT count(*) FROM (SELECT * FROM profile EXCEPT SELECT * FROM fresh) b)
     + (SELECT count(*) FROM hub.learner_summary s JOIN hub.formation f ON f.id = s.formation_id
         WHERE (s.region_code, s.department_code, s.job_family) IS DISTINCT FROM (f.region_code, f.department_code, f.job_family))`

// TestLearnerProfileTriggers changes learners, outcomes, aid applications and
// a formation's region, department and job family, and checks that the
// profile the indicators read for whole regions stays equal to a count of
// the learner rows; then that two transactions writing the same region's
// profile rows both commit without waiting for each other.
func TestLearnerProfileTriggers(t *testing.T) {
	e := hubtest.New(t)
	check := func(step string) {
		t.Helper()
		var diff int
		if err := e.Admin.Get(&diff, profileDiff); err != nil {
			t.Fatalf("%s: %v", step, err)
		}
		if diff != 0 {
			t.Fatalf("%s: %d profile keys or summary places differ from a fresh count", step, diff)
		}
	}
	check("demo data")
	var pending int
	e.Admin.Get(&pending, `SELECT count(*) FROM hub.learner_profile WHERE pending`)
	if pending != 0 {
		t.Errorf("demo data: %d profile rows left pending after commit", pending)
	}
	var s1, s2, f int
	var region, dept, otherDept string
	e.Admin.QueryRow(`SELECT s1.id, s2.id, s1.formation_id FROM hub.session s1 JOIN hub.session s2
		ON s2.formation_id = s1.formation_id AND s2.id > s1.id ORDER BY s1.id LIMIT 1`).Scan(&s1, &s2, &f)
	e.Admin.QueryRow(`SELECT d.region_code, d.code FROM hub.department d
		WHERE d.region_code <> (SELECT region_code FROM hub.formation WHERE id = $1) ORDER BY d.code LIMIT 1`, f).Scan(&region, &dept)
	e.Admin.QueryRow(`SELECT d.code FROM hub.department d WHERE d.region_code = $1 AND d.code <> $2 ORDER BY d.code LIMIT 1`,
		region, dept).Scan(&otherDept)
	if region == "" || otherDept == "" {
		t.Fatal("no region with two departments to move the formation to")
	}
	steps := []struct{ name, sql string }{
		{"insert enrolments", `INSERT INTO hub.enrolment (session_id, formation_id, learner_ref, enrolled_on, sex, age_band,
			qualification, prior_situation, qpv_resident, completion)
			SELECT $1, $3, 'test-learner-' || g, DATE '2019-01-01' + g, CASE WHEN g % 2 = 0 THEN 'female' ELSE 'male' END,
			       'under_26', 'bac', 'neet', g % 3 = 0, 'completed' FROM generate_series(1, 6) g`},
		// Learners of one session, day and profile, as a bulk import brings them:
		// the triggers count them together first.
		{"insert a batch of alike enrolments", `INSERT INTO hub.enrolment (session_id, formation_id, learner_ref, enrolled_on, sex,
			age_band, qualification, prior_situation, qpv_resident, completion)
			SELECT $1, $3, 'test-alike-' || g, DATE '2020-03-02', 'female', 'from_26_to_30', 'none', 'job_seeker',
			       g % 2 = 0, CASE WHEN g % 3 = 0 THEN 'ongoing' ELSE 'completed' END FROM generate_series(1, 7) g`},
		{"update enrolments", `UPDATE hub.enrolment SET sex = 'female', age_band = 'from_50', enrolled_on = DATE '2024-06-01', session_id = $2
			WHERE learner_ref IN ('test-learner-1', 'test-learner-2') AND session_id = $1`},
		{"update nothing counted", `UPDATE hub.enrolment SET certification_obtained = true WHERE learner_ref = 'test-learner-3'`},
		{"insert outcomes", `INSERT INTO hub.outcome (enrolment_id, formation_id, measured_at, situation, recorded_on)
			SELECT id, formation_id, m, 'cdi', DATE '2025-01-01' FROM hub.enrolment, unnest(ARRAY['m3', 'm6']) m
			 WHERE learner_ref LIKE 'test-learner-%'`},
		{"update outcomes", `UPDATE hub.outcome SET situation = 'job_seeking' WHERE enrolment_id IN
			(SELECT id FROM hub.enrolment WHERE learner_ref = 'test-learner-3')`},
		{"insert aid", `INSERT INTO hub.aid_application (enrolment_id, formation_id, crous_id, submitted_on, status,
			scale_from, echelon, monthly_amount_eur, months, decided_on)
			SELECT e.id, e.formation_id, (SELECT id FROM hub.partner WHERE kind = 'crous' ORDER BY id LIMIT 1),
			       DATE '2021-01-01', 'granted', DATE '2020-07-22', '3', 329.20, 10, DATE '2021-02-01'
			  FROM hub.enrolment e WHERE e.learner_ref LIKE 'test-learner-%'`},
		{"update aid", `UPDATE hub.aid_application SET status = 'paid', months = 12 WHERE enrolment_id IN
			(SELECT id FROM hub.enrolment WHERE learner_ref = 'test-learner-4')`},
		{"formation moves region", `UPDATE hub.formation SET region_code = '` + region + `', department_code = '` + dept + `' WHERE id = $3`},
		{"enrolment after the move", `INSERT INTO hub.enrolment (session_id, formation_id, learner_ref, enrolled_on, sex, age_band,
			qualification, prior_situation, qpv_resident, completion)
			VALUES ($1, $3, 'test-learner-7', DATE '2022-02-01', 'male', 'from_26_to_30', 'none', 'employed', true, 'ongoing')`},
		{"formation moves department", `UPDATE hub.formation SET department_code = '` + otherDept + `' WHERE id = $3`},
		{"formation changes job family", `UPDATE hub.formation SET job_family = CASE WHEN job_family = 'data' THEN 'other' ELSE 'data' END WHERE id = $3`},
		{"delete aid", `DELETE FROM hub.aid_application WHERE enrolment_id IN (SELECT id FROM hub.enrolment WHERE learner_ref = 'test-learner-5')`},
		{"delete outcomes", `DELETE FROM hub.outcome WHERE enrolment_id IN (SELECT id FROM hub.enrolment WHERE learner_ref = 'test-learner-5')`},
		{"delete enrolment", `DELETE FROM hub.enrolment WHERE learner_ref = 'test-learner-5'`},
	}
	ids := strings.NewReplacer("$1", fmt.Sprint(s1), "$2", fmt.Sprint(s2), "$3", fmt.Sprint(f))
	for _, st := range steps {
		if _, err := e.Admin.Exec(ids.Replace(st.sql)); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		check(st.name)
	}

	// Two writers of the same profile rows: learners of the same region, year
	// and attributes, in two formations (so that no summary row is shared).
	// The first merges its changes early (SET CONSTRAINTS ... IMMEDIATE), so
	// that it holds the rows of its keys; the second must neither wait for it
	// nor fail, and leaves those rows to a later merge.
	var sa, fa, sb, fb int
	err := e.Admin.QueryRow(`SELECT sa.id, sa.formation_id, sb.id, sb.formation_id
		  FROM hub.session sa JOIN hub.formation a ON a.id = sa.formation_id
		  JOIN hub.formation b ON b.region_code = a.region_code AND b.id > a.id
		  JOIN hub.session sb ON sb.formation_id = b.id
		 WHERE a.region_code = '32' ORDER BY sa.id, sb.id LIMIT 1`).Scan(&sa, &fa, &sb, &fb)
	if err != nil {
		t.Fatal(err)
	}
	insert := `INSERT INTO hub.enrolment (session_id, formation_id, learner_ref, enrolled_on, sex, age_band,
		qualification, prior_situation, qpv_resident, completion)
		SELECT $1, $2, $3 || g, DATE '2020-03-01', 'female', 'under_26', 'bac', 'neet', false, 'ongoing'
		  FROM generate_series(1, 3) g`
	tx1, err := e.Admin.Begin()
	if err != nil {
		t.Fatal(err)
	}
	defer tx1.Rollback()
	if _, err := tx1.Exec(insert, sa, fa, "test-concurrent-a"); err != nil {
		t.Fatal(err)
	}
	if _, err := tx1.Exec(`SET CONSTRAINTS hub.learner_profile_merge IMMEDIATE`); err != nil {
		t.Fatal(err)
	}
	done := make(chan error)
	go func() {
		tx2, err := e.Admin.Begin()
		if err == nil {
			if _, err = tx2.Exec(insert, sb, fb, "test-concurrent-b"); err == nil {
				err = tx2.Commit()
			} else {
				tx2.Rollback()
			}
		}
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("second writer: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the second writer waited for the first")
	}
	if err := tx1.Commit(); err != nil {
		t.Fatal(err)
	}
	check("two writers")
	// A later writer of those keys merges the rows the two left side by side.
	if _, err := e.Admin.Exec(`DELETE FROM hub.enrolment WHERE learner_ref = 'test-concurrent-a1'`); err != nil {
		t.Fatal(err)
	}
	check("later writer")
	var keys, rows int
	e.Admin.QueryRow(`SELECT count(DISTINCT (region_code, year, sex, age_band, qualification, prior_situation)), count(*)
		FROM hub.learner_profile`).Scan(&keys, &rows)
	if rows != keys {
		t.Errorf("%d profile rows for %d keys after the last merge", rows, keys)
	}
	e.Admin.Get(&pending, `SELECT count(*) FROM hub.learner_profile WHERE pending`)
	if pending != 0 {
		t.Errorf("%d profile rows pending after the last merge", pending)
	}
}
