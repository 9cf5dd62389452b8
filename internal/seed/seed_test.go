package seed

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/gen-hub/genhub/internal/auth"
	"github.com/gen-hub/genhub/internal/database"
	"github.com/gen-hub/genhub/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// migrated returns the template of a migrated, empty hub database.
func migrated(t *testing.T) string {
	t.Helper()
	return pgtest.Template(t, "seed_migrated", database.MigrationsHash(), func(ctx context.Context, url string) error {
		return database.Migrate(ctx, url, "")
	})
}

// loaded returns the template of a hub database holding the demo data set at scale 1.
func loaded(t *testing.T) string {
	t.Helper()
	return pgtest.Template(t, "seed_demo", database.MigrationsHash()+"-"+Version, func(ctx context.Context, url string) error {
		if err := database.Migrate(ctx, url, ""); err != nil {
			return err
		}
		start := time.Now()
		err := Load(ctx, url, Options{Scale: 1, Seed: 1})
		t.Logf("Load at scale 1: %.2f s", time.Since(start).Seconds())
		return err
	})
}

func open(t *testing.T, url string) *sqlx.DB {
	t.Helper()
	db, err := database.Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// digests returns, for every hub table but the audit logs, its row count and
// the MD5 of its rows in text form, leaving out the columns that default to
// the time of the load.
func digests(t *testing.T, db *sqlx.DB) map[string]string {
	t.Helper()
	var tables []struct {
		Name string `db:"relname"`
		Cols string `db:"cols"`
	}
	err := db.Select(&tables, `
		SELECT c.relname, string_agg(quote_ident(a.attname), ', ' ORDER BY a.attnum) AS cols
		  FROM pg_class c
		  JOIN pg_namespace n ON n.oid = c.relnamespace
		  JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
		  LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
		 WHERE n.nspname = 'hub' AND c.relkind = 'r' AND c.relname NOT IN ('request_log', 'change_log', 'idempotency_key')
		   AND (d.oid IS NULL OR pg_get_expr(d.adbin, d.adrelid) !~* 'now\(\)|current_date|current_timestamp')
		 GROUP BY c.relname
		 ORDER BY c.relname`)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, tb := range tables {
		var n int
		var sum string
		q := fmt.Sprintf(`SELECT count(*), coalesce(md5(string_agg(t::text, ',' ORDER BY t::text)), '')
		                    FROM (SELECT %s FROM hub.%s) t`, tb.Cols, pq.QuoteIdentifier(tb.Name))
		if err := db.QueryRow(q).Scan(&n, &sum); err != nil {
			t.Fatalf("digest of %s: %v", tb.Name, err)
		}
		out[tb.Name] = fmt.Sprintf("%d rows %s", n, sum)
	}
	return out
}

// loadClones loads the data set with each options into its own clone of the
// migrated template, concurrently, and returns their digests.
func loadClones(t *testing.T, opts ...Options) []map[string]string {
	t.Helper()
	tpl := migrated(t)
	urls := make([]string, len(opts))
	for i := range opts {
		urls[i] = pgtest.Clone(t, tpl)
	}
	errs := make([]error, len(opts))
	var wg sync.WaitGroup
	for i, o := range opts {
		wg.Go(func() { errs[i] = Load(context.Background(), urls[i], o) })
	}
	wg.Wait()
	out := make([]map[string]string, len(opts))
	for i, err := range errs {
		if err != nil {
			t.Fatalf("Load(%+v): %v", opts[i], err)
		}
		out[i] = digests(t, open(t, urls[i]))
	}
	return out
}

func TestDeterministic(t *testing.T) {
	d := loadClones(t, Options{}, Options{Scale: 1, Seed: 1}, Options{Seed: 2})
	if diff := cmp.Diff(d[0], d[1]); diff != "" {
		t.Errorf("two loads with the same options differ (-first +second):\n%s", diff)
	}
	for _, table := range []string{"organisation", "formation", "label", "session", "enrolment", "outcome", "aid_application"} {
		if d[0][table] == d[2][table] {
			t.Errorf("hub.%s is the same with seeds 1 and 2", table)
		}
	}
	// Reference data and partners do not depend on the seed.
	for _, table := range []string{"region", "department", "qpv", "aid_scale", "partner", "crous_area", "api_key", "labelling_call"} {
		if d[0][table] != d[2][table] {
			t.Errorf("hub.%s differs between seeds 1 and 2", table)
		}
	}
	for table, sum := range d[0] {
		if sum == "0 rows " && table != "target" && table != "rate_usage" { // rate_usage: spending of the running hub
			t.Errorf("hub.%s is empty after the load", table)
		}
	}
}

// figure is a figure of the loaded data set and the range it must fall in.
type figure struct {
	name   string
	query  string
	lo, hi float64
}

var figures = []figure{
	{"wave-1 formations", `SELECT count(DISTINCT l.formation_id) FROM hub.label l JOIN hub.labelling_call c ON c.id = l.call_id
		WHERE c.code = 'W1-2015' AND l.granted_on = '2016-02-03'`, 171, 171},
	{"formations", `SELECT count(*) FROM hub.formation`, 900, 1100},
	{"organisations", `SELECT count(*) FROM hub.organisation`, 280, 320},
	{"sessions", `SELECT count(*) FROM hub.session`, 3500, 4600},
	{"enrolments", `SELECT count(*) FROM hub.enrolment`, 40000, 50000},
	{"QPV rows", `SELECT count(*) FROM hub.qpv`, 1200, 1400},
	{"% women", `SELECT 100.0 * count(*) FILTER (WHERE sex = 'female') / count(*) FROM hub.enrolment`, 22, 28},
	{"% QPV residents", `SELECT 100.0 * count(*) FILTER (WHERE qpv_resident) / count(*) FROM hub.enrolment`, 18, 24},
	{"% NEET", `SELECT 100.0 * count(*) FILTER (WHERE prior_situation = 'neet') / count(*) FROM hub.enrolment`, 36, 44},
	{"% job seekers", `SELECT 100.0 * count(*) FILTER (WHERE prior_situation = 'job_seeker') / count(*) FROM hub.enrolment`, 36, 44},
	{"% bac or below", `SELECT 100.0 * count(*) FILTER (WHERE qualification IN ('none', 'infra_bac', 'bac')) / count(*) FROM hub.enrolment`, 52, 60},
	{"% under 26", `SELECT 100.0 * count(*) FILTER (WHERE age_band = 'under_26') / count(*) FROM hub.enrolment`, 42, 50},
	{"% learners in Île-de-France", `SELECT 100.0 * count(*) FILTER (WHERE f.region_code = '11') / count(*)
		FROM hub.enrolment e JOIN hub.formation f ON f.id = e.formation_id`, 35, 45},
	{"% formations in Île-de-France", `SELECT 100.0 * count(*) FILTER (WHERE region_code = '11') / count(*) FROM hub.formation`, 22, 30},
	{"% formations in a QPV", `SELECT 100.0 * count(qpv_code) / count(*) FROM hub.formation`, 11, 19},
	{"% dropped out of finished", `SELECT 100.0 * count(*) FILTER (WHERE completion = 'dropped_out')
		/ count(*) FILTER (WHERE completion <> 'ongoing') FROM hub.enrolment`, 21, 29},
	{"% certified of completed, certifying", `SELECT 100.0 * count(*) FILTER (WHERE certification_obtained)
		/ count(*) FROM hub.enrolment e JOIN hub.formation f ON f.id = e.formation_id
		WHERE f.certifying AND e.completion = 'completed'`, 62, 78},
	{"% positive at 3 months", `SELECT 100.0 * count(*) FILTER (WHERE positive) / count(*) FROM hub.outcome WHERE measured_at = 'm3'`, 70, 78},
	{"% in employment at 3 months", `SELECT 100.0 * count(*) FILTER (WHERE situation IN ('cdi', 'cdd_6m_plus', 'cdd_under_6m',
		'interim', 'apprenticeship', 'professionalisation')) / count(*) FROM hub.outcome WHERE measured_at = 'm3'`, 40, 50},
	{"% answered at 3 months", `SELECT 100.0 * count(o.enrolment_id) / count(*) FROM hub.enrolment e
		JOIN hub.session s ON s.id = e.session_id
		LEFT JOIN hub.outcome o ON o.enrolment_id = e.id AND o.measured_at = 'm3'
		WHERE e.completion <> 'ongoing' AND s.end_on + interval '3 months' <= '2026-11-27'`, 76, 84},
	{"% answered at 6 months", `SELECT 100.0 * count(o.enrolment_id) / count(*) FROM hub.enrolment e
		JOIN hub.session s ON s.id = e.session_id
		LEFT JOIN hub.outcome o ON o.enrolment_id = e.id AND o.measured_at = 'm6'
		WHERE e.completion <> 'ongoing' AND s.end_on + interval '6 months' <= '2026-11-27'`, 60, 70},
	{"% learners applying for the aid", `SELECT 100.0 * (SELECT count(*) FROM hub.aid_application) / count(*) FROM hub.enrolment`, 6, 10},
	{"% aid applications rejected", `SELECT 100.0 * count(*) FILTER (WHERE status = 'rejected') / count(*) FROM hub.aid_application`, 15, 25},
	{"% certifying formations", `SELECT 100.0 * count(*) FILTER (WHERE certifying) / count(*) FROM hub.formation`, 40, 50},
	{"% free formations", `SELECT 100.0 * count(*) FILTER (WHERE free_of_charge) / count(*) FROM hub.formation`, 75, 85},
	{"% on-site formations", `SELECT 100.0 * count(*) FILTER (WHERE delivery_mode = 'on_site') / count(*) FROM hub.formation`, 50, 62},
	{"% dev formations", `SELECT 100.0 * count(*) FILTER (WHERE job_family = 'dev_integration_test') / count(*) FROM hub.formation`, 58, 70},
	{"average months", `SELECT avg(duration_months) FROM hub.formation`, 6.5, 8},
	{"% labels withdrawn", `SELECT 100.0 * count(*) FILTER (WHERE status = 'withdrawn') / count(*) FROM hub.label`, 1.5, 5},
	{"% formations with an active label", `SELECT 100.0 * count(DISTINCT formation_id) / (SELECT count(*) FROM hub.formation)
		FROM hub.label WHERE status = 'active' AND valid_until > '2026-11-27'`, 10, 20},
	{"% wave 1-3 first labels with a seed grant", `SELECT 100.0 * count(g.id) / count(*) FROM hub.label l
		JOIN hub.labelling_call c ON c.id = l.call_id LEFT JOIN hub.seed_grant g ON g.label_id = l.id
		WHERE c.code IN ('W1-2015', 'W2-2016', 'W3-2018')
		  AND NOT EXISTS (SELECT 1 FROM hub.label e WHERE e.formation_id = l.formation_id AND e.granted_on < l.granted_on)`, 55, 70},
	{"seed grants beyond their call's envelope", `SELECT count(*) FROM (SELECT c.id FROM hub.seed_grant g
		JOIN hub.label l ON l.id = g.label_id JOIN hub.labelling_call c ON c.id = l.call_id
		GROUP BY c.id, c.envelope_eur HAVING sum(g.amount_eur) > c.envelope_eur * 1.05) x`, 0, 0},
	{"average wave-1 seed grant", `SELECT avg(g.amount_eur) FROM hub.seed_grant g JOIN hub.label l ON l.id = g.label_id
		JOIN hub.labelling_call c ON c.id = l.call_id WHERE c.code = 'W1-2015'`, 65000, 75000},
	{"formations per organisation", `SELECT count(*)::numeric / count(DISTINCT organisation_id) FROM hub.formation`, 3, 3.7},
	// Consistency: each of these counts rows that break a rule of the data set.
	{"listed formations without a valid label, or the reverse", `SELECT count(*) FROM hub.formation f
		WHERE f.listed <> EXISTS (SELECT 1 FROM hub.label l WHERE l.formation_id = f.id AND l.status <> 'withdrawn')`, 0, 0},
	{"labels whose status disagrees with the dates", `SELECT count(*) FROM hub.label
		WHERE (status = 'active' AND valid_until < '2026-11-27') OR (status = 'expired' AND valid_until >= '2026-11-27')
		   OR (status = 'withdrawn' AND withdrawn_on > '2026-11-27')`, 0, 0},
	{"renewed labels without a later label", `SELECT count(*) FROM hub.label l WHERE l.status = 'renewed'
		AND NOT EXISTS (SELECT 1 FROM hub.label m WHERE m.formation_id = l.formation_id AND m.granted_on > l.granted_on)`, 0, 0},
	{"sessions not lasting the formation's duration", `SELECT count(*) FROM hub.session s JOIN hub.formation f ON f.id = s.formation_id
		WHERE s.end_on <> s.start_on + make_interval(months => f.duration_months)`, 0, 0},
	{"NEET learners aged 26 or more", `SELECT count(*) FROM hub.enrolment WHERE prior_situation = 'neet' AND age_band <> 'under_26'`, 0, 0},
	{"completions that disagree with the session's end", `SELECT count(*) FROM hub.enrolment e JOIN hub.session s ON s.id = e.session_id
		WHERE (s.end_on < '2026-11-27') = (e.completion = 'ongoing')`, 0, 0},
	{"certifications outside completed learners of certifying formations", `SELECT count(*) FROM hub.enrolment e
		JOIN hub.formation f ON f.id = e.formation_id
		WHERE (e.certification_obtained IS NOT NULL) <> (f.certifying AND e.completion <> 'ongoing')
		   OR (e.certification_obtained AND e.completion <> 'completed')`, 0, 0},
	{"learner references not L + 12 hex digits", `SELECT count(*) FROM hub.enrolment WHERE learner_ref !~ '^L[0-9a-f]{12}$'`, 0, 0},
	{"outcomes measured too early or recorded after the reference date", `SELECT count(*) FROM hub.outcome o
		JOIN hub.enrolment e ON e.id = o.enrolment_id JOIN hub.session s ON s.id = e.session_id
		WHERE e.completion = 'ongoing' OR o.recorded_on > '2026-11-27'
		   OR s.end_on + make_interval(months => CASE o.measured_at WHEN 'm3' THEN 3 ELSE 6 END) > o.recorded_on`, 0, 0},
	{"aid before the aid existed, or before the session started", `SELECT count(*) FROM hub.aid_application a
		JOIN hub.enrolment e ON e.id = a.enrolment_id JOIN hub.session s ON s.id = e.session_id
		WHERE s.start_on < '2017-04-16' OR a.submitted_on <= s.start_on OR a.submitted_on > '2026-11-27'`, 0, 0},
	{"aid filed with another CROUS than the formation's department's", `SELECT count(*) FROM hub.aid_application a
		JOIN hub.formation f ON f.id = a.formation_id
		WHERE NOT EXISTS (SELECT 1 FROM hub.crous_area c WHERE c.partner_id = a.crous_id AND c.department_code = f.department_code)`, 0, 0},
	{"aid on a scale not in force when decided", `SELECT count(*) FROM hub.aid_application
		WHERE scale_from IS NOT NULL AND scale_from <> CASE WHEN decided_on < '2020-07-22' THEN date '2015-07-15' ELSE date '2020-07-22' END`, 0, 0},
	{"seed grants signed before the label", `SELECT count(*) FROM hub.seed_grant g JOIN hub.label l ON l.id = g.label_id
		WHERE g.convention_signed_on <= l.granted_on`, 0, 0},
	{"formations postcoded outside their department", `SELECT count(*) FROM hub.formation WHERE NOT (
		(department_code IN ('2A', '2B') AND postcode LIKE '20%') OR
		(length(department_code) = 3 AND postcode LIKE department_code || '%') OR
		(department_code ~ '^[0-9]{2}$' AND postcode LIKE department_code || '%'))`, 0, 0},
	{"formations placed far from their department", `SELECT count(*) FROM hub.formation f
		JOIN (SELECT department_code, avg(latitude) AS lat, avg(longitude) AS lon FROM hub.formation GROUP BY 1) c USING (department_code)
		WHERE abs(f.latitude - c.lat) > 0.5 OR abs(f.longitude - c.lon) > 0.7`, 0, 0},
	{"identity sequences behind their table", `SELECT count(*) FROM (VALUES
		('organisation', (SELECT max(id) FROM hub.organisation)), ('formation', (SELECT max(id) FROM hub.formation)),
		('label', (SELECT max(id) FROM hub.label)), ('session', (SELECT max(id) FROM hub.session)),
		('enrolment', (SELECT max(id) FROM hub.enrolment)), ('aid_application', (SELECT max(id) FROM hub.aid_application)),
		('partner', (SELECT max(id) FROM hub.partner)), ('api_key', (SELECT max(id) FROM hub.api_key)),
		('seed_grant', (SELECT max(id) FROM hub.seed_grant)), ('labelling_call', (SELECT max(id) FROM hub.labelling_call)),
		('funding_agreement', (SELECT max(id) FROM hub.funding_agreement)), ('entitlement', (SELECT max(id) FROM hub.entitlement))
		) AS m(t, max_id)
		WHERE coalesce(pg_sequence_last_value(pg_get_serial_sequence('hub.' || t, 'id')), 0) < max_id`, 0, 0},
}

func TestCalibration(t *testing.T) {
	db := open(t, pgtest.Clone(t, loaded(t)))
	for _, f := range figures {
		var got float64
		if err := db.Get(&got, f.query); err != nil {
			t.Errorf("%s: %v", f.name, err)
			continue
		}
		t.Logf("%-70s %10.2f", f.name, got)
		if got < f.lo || got > f.hi {
			t.Errorf("%s = %.2f, want between %g and %g", f.name, got, f.lo, f.hi)
		}
	}
	var known []string
	if err := db.Select(&known, `SELECT code || ' ' || commune FROM hub.qpv WHERE code IN ('QP093028', 'QP075019') ORDER BY code`); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"QP075019 Paris 20e Arrondissement", "QP093028 Aubervilliers"}, known); diff != "" {
		t.Errorf("the QPVs of the research notes mismatch (-want +got):\n%s", diff)
	}
}

// TestConstraints checks that the database, not only the generator, keeps bad
// rows out: each statement must fail with the given SQLSTATE and constraint.
func TestConstraints(t *testing.T) {
	db := open(t, pgtest.Clone(t, loaded(t)))
	badLuhn := []byte(anchors[0].siret)
	badLuhn[13] = '0' + (badLuhn[13]-'0'+1)%10
	tests := []struct {
		name       string
		stmt       string
		code       string
		constraint string
	}{
		{"session without a formation",
			`INSERT INTO hub.session (formation_id, start_on, end_on, planned_seats) VALUES (NULL, '2024-01-08', '2024-07-08', 12)`,
			"23502", ""},
		{"session of a missing formation",
			`INSERT INTO hub.session (formation_id, start_on, end_on, planned_seats) VALUES (999999, '2024-01-08', '2024-07-08', 12)`,
			"23503", "session_formation_id_fkey"},
		{"session ending before it starts",
			`INSERT INTO hub.session (formation_id, start_on, end_on, planned_seats) VALUES (1, '2024-07-08', '2024-01-08', 12)`,
			"23514", "session_check"},
		{"SIRET failing the Luhn check",
			`INSERT INTO hub.organisation (siret, name, legal_status, city, department_code) VALUES ('` + string(badLuhn) + `', 'Test', 'association', 'Lille', '59')`,
			"23514", "organisation_siret_check"},
		{"SIRET of 13 digits",
			`INSERT INTO hub.organisation (siret, name, legal_status, city, department_code) VALUES ('7932451800013', 'Test', 'association', 'Lille', '59')`,
			"23514", "organisation_siret_check"},
		{"department 20", `INSERT INTO hub.department (code, name, region_code) VALUES ('20', 'Corse', '94')`,
			"23514", "department_code_check"},
		{"department 98", `INSERT INTO hub.department (code, name, region_code) VALUES ('98', 'Monaco', '93')`,
			"23514", "department_code_check"},
		{"organisation in department 20",
			`INSERT INTO hub.organisation (siret, name, legal_status, city, department_code) VALUES ('` + siret("79324518", "0009") + `', 'Test', 'association', 'Ajaccio', '20')`,
			"23503", "organisation_department_code_fkey"},
		{"QPV code of another department",
			`INSERT INTO hub.qpv (code, name, department_code, commune) VALUES ('QP093999', 'Test', '75', 'Paris')`,
			"23514", "qpv_check"},
		{"formation in a QPV of another department",
			`UPDATE hub.formation SET qpv_code = 'QP093028' WHERE id = (SELECT min(id) FROM hub.formation WHERE department_code <> '93')`,
			"23503", "formation_qpv_code_department_code_fkey"},
		{"formation in a department of another region",
			`UPDATE hub.formation SET region_code = '32', qpv_code = NULL WHERE id = (SELECT min(id) FROM hub.formation WHERE region_code <> '32')`,
			"23503", "formation_department_code_region_code_fkey"},
		{"RNCP code of six digits",
			`UPDATE hub.formation SET certification_code = 'RNCP376740' WHERE id = (SELECT min(id) FROM hub.formation WHERE certifying)`,
			"23514", "formation_certification_code_check"},
		{"RNCP skill block as a certification",
			`UPDATE hub.formation SET certification_code = 'RNCP37674BC01' WHERE id = (SELECT min(id) FROM hub.formation WHERE certifying)`,
			"23514", "formation_certification_code_check"},
		{"certifying formation without a code",
			`UPDATE hub.formation SET certifying = true WHERE id = (SELECT min(id) FROM hub.formation WHERE NOT certifying)`,
			"23514", "formation_check"},
		{"enrolment in another formation than its session's",
			`INSERT INTO hub.enrolment (session_id, formation_id, learner_ref, enrolled_on, sex, age_band, qualification, prior_situation, qpv_resident, completion)
			 SELECT s.id, (SELECT min(f.id) FROM hub.formation f WHERE f.id <> s.formation_id), 'Ltest0000001', s.start_on,
			        'female', 'under_26', 'bac', 'neet', false, 'ongoing'
			   FROM hub.session s ORDER BY s.id LIMIT 1`,
			"23503", "enrolment_session_id_formation_id_fkey"},
		{"same learner twice in a session",
			`INSERT INTO hub.enrolment (session_id, formation_id, learner_ref, enrolled_on, sex, age_band, qualification, prior_situation, qpv_resident, completion)
			 SELECT session_id, formation_id, learner_ref, enrolled_on, sex, age_band, qualification, prior_situation, qpv_resident, completion
			   FROM hub.enrolment ORDER BY id LIMIT 1`,
			"23505", "enrolment_session_id_learner_ref_key"},
		{"certification of a learner who dropped out",
			`UPDATE hub.enrolment SET certification_obtained = true WHERE id = (SELECT min(id) FROM hub.enrolment WHERE completion = 'dropped_out')`,
			"23514", "enrolment_check"},
		{"aid of an amount not on the scale",
			`UPDATE hub.aid_application SET monthly_amount_eur = monthly_amount_eur + 1 WHERE id = (SELECT min(id) FROM hub.aid_application WHERE status = 'paid')`,
			"23503", "aid_application_scale_from_echelon_monthly_amount_eur_fkey"},
		{"aid of the 2020 scale's amount under the 2015 scale",
			`UPDATE hub.aid_application SET scale_from = '2015-07-15' WHERE id = (SELECT min(id) FROM hub.aid_application WHERE status = 'paid' AND scale_from = '2020-07-22')`,
			"23503", "aid_application_scale_from_echelon_monthly_amount_eur_fkey"},
		{"aid filed with a partner that is not a CROUS",
			`UPDATE hub.aid_application SET crous_id = (SELECT id FROM hub.partner WHERE slug = 'google') WHERE id = (SELECT min(id) FROM hub.aid_application)`,
			"23503", "aid_application_crous_id_crous_kind_fkey"},
		{"rejected aid without a reason",
			`UPDATE hub.aid_application SET refusal_reason = NULL WHERE id = (SELECT min(id) FROM hub.aid_application WHERE status = 'rejected')`,
			"23514", "aid_application_check"},
		{"outcome of an enrolment of another formation",
			`UPDATE hub.outcome SET formation_id = formation_id + 1 WHERE enrolment_id = (SELECT min(enrolment_id) FROM hub.outcome)`,
			"23503", "outcome_enrolment_id_formation_id_fkey"},
		{"seed grant of another formation's label",
			`UPDATE hub.seed_grant SET formation_id = formation_id + 1 WHERE id = 1`,
			"23503", "seed_grant_label_id_formation_id_fkey"},
		{"seed grant above 80 % of the budget",
			`UPDATE hub.seed_grant SET budget_share = 0.81 WHERE id = 1`,
			"23514", "seed_grant_budget_share_check"},
		{"withdrawn label without a date",
			`UPDATE hub.label SET status = 'withdrawn' WHERE id = (SELECT min(id) FROM hub.label WHERE status = 'expired')`,
			"23514", "label_check1"},
		{"department served by two CROUS",
			`INSERT INTO hub.crous_area (partner_id, department_code) SELECT id, '93' FROM hub.partner WHERE slug = 'crous-paris'`,
			"23505", "crous_area_department_code_key"},
	}
	ctx := context.Background()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tx, err := db.BeginTx(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer tx.Rollback()
			res, err := tx.ExecContext(ctx, tt.stmt)
			if err == nil {
				n, _ := res.RowsAffected()
				t.Fatalf("accepted (%d rows), want SQLSTATE %s %s", n, tt.code, tt.constraint)
			}
			var pqErr *pq.Error
			if !errors.As(err, &pqErr) {
				t.Fatalf("error %v is not a PostgreSQL error", err)
			}
			if string(pqErr.Code) != tt.code || pqErr.Constraint != tt.constraint {
				t.Errorf("error %s %q (%v), want %s %q", pqErr.Code, pqErr.Constraint, err, tt.code, tt.constraint)
			}
		})
	}
}

func TestPartners(t *testing.T) {
	ps := Partners()
	db := open(t, pgtest.Clone(t, loaded(t)))
	slugRe := regexp.MustCompile(`^[a-z0-9][a-z0-9-]{1,62}$`)
	seen := map[string]bool{}
	kinds := map[string]int{}
	served := map[string]string{}
	for _, p := range ps {
		if seen[p.Slug] || !slugRe.MatchString(p.Slug) {
			t.Errorf("slug %q is repeated or malformed", p.Slug)
		}
		seen[p.Slug] = true
		kinds[p.Kind]++
		for _, d := range p.Departments {
			if served[d] != "" {
				t.Errorf("department %s is served by %s and %s", d, served[d], p.Slug)
			}
			served[d] = p.Slug
		}
	}
	for _, s := range []string{"gip-gen", "google", "societe-generale", "capgemini", "caisse-des-depots", "etat",
		"syntec-numerique", "france-travail", "unml", "crous-paris", "crous-creteil", "crous-versailles",
		"region-ile-de-france", "region-hauts-de-france", "region-auvergne-rhone-alpes",
		"region-provence-alpes-cote-d-azur", "region-la-reunion", "crous-hauts-de-france"} {
		if !seen[s] {
			t.Errorf("no partner %s", s)
		}
	}
	if diff := cmp.Diff(map[string]int{"operator": 1, "funder": 8, "employment_service": 2, "region": 18, "crous": 20, "organisation": 5}, kinds); diff != "" {
		t.Errorf("partners by kind (-want +got):\n%s", diff)
	}
	if len(served) != len(departments) {
		t.Errorf("the CROUS serve %d departments, want %d", len(served), len(departments))
	}

	for i, p := range ps {
		var got struct {
			ID           int        `db:"id"`
			Name         string     `db:"name"`
			Kind         string     `db:"kind"`
			Region       string     `db:"region"`
			Demo         bool       `db:"demo"`
			Organisation string     `db:"organisation"`
			SIRET        string     `db:"siret"`
			Formations   int        `db:"formations"`
			OrgRegion    string     `db:"org_region"`
			Prefix       string     `db:"prefix"`
			Hash         []byte     `db:"hash"`
			Expires      *time.Time `db:"expires_at"`
			Defaults     int        `db:"defaults"`
		}
		err := db.Get(&got, `
			SELECT p.id, p.name, p.kind, coalesce(p.region_code, '') AS region, p.demo,
			       coalesce(o.name, '') AS organisation, coalesce(o.siret, '') AS siret,
			       (SELECT count(*) FROM hub.formation f WHERE f.organisation_id = o.id) AS formations,
			       coalesce((SELECT region_code FROM hub.department d WHERE d.code = o.department_code), '') AS org_region,
			       k.prefix, k.hash, k.expires_at,
			       (SELECT count(*) FROM hub.entitlement e WHERE e.partner_id = p.id AND e.source = 'default') AS defaults
			  FROM hub.partner p
			  LEFT JOIN hub.organisation o ON o.id = p.organisation_id
			  JOIN hub.api_key k ON k.partner_id = p.id AND k.label = 'demo key'
			 WHERE p.slug = $1`, p.Slug)
		if err != nil {
			t.Errorf("partner %s: %v", p.Slug, err)
			continue
		}
		key, prefix, hash := auth.DemoKey(p.Slug)
		if got.ID != i+1 || got.Name != p.Name || got.Kind != p.Kind || got.Region != p.RegionCode || !got.Demo ||
			got.Organisation != p.Organisation || got.SIRET != p.SIRET {
			t.Errorf("partner %s in the database: %+v; Partners says %+v", p.Slug, got, p)
		}
		if p.Key != key || p.Prefix != prefix || got.Prefix != prefix || !bytes.Equal(got.Hash, hash) || got.Expires != nil {
			t.Errorf("partner %s: the demo key does not match auth.DemoKey", p.Slug)
		}
		if p.Kind == "organisation" && got.Formations < 3 {
			t.Errorf("organisation partner %s has %d formations, want several", p.Slug, got.Formations)
		}
		if p.Kind == "organisation" {
			kinds["organisation in "+got.OrgRegion]++
		}
		// One default grant per kind, and for a funder one per funding agreement.
		want := 1
		if p.Kind == "funder" {
			want = 0
			for _, a := range agreements {
				if a.partner == i+1 {
					want++
				}
			}
		}
		if got.Defaults != want {
			t.Errorf("partner %s (%s) has %d default entitlements, want %d", p.Slug, p.Kind, got.Defaults, want)
		}
	}
	if kinds["organisation in 11"] == 0 || kinds["organisation in 32"] == 0 {
		t.Errorf("want organisation partners in Île-de-France and Hauts-de-France, got %v", kinds)
	}

	// The funders' agreements, and the entitlements their trigger gave.
	var agr []string
	err := db.Select(&agr, `
		SELECT p.slug || ' ' || a.reference || ' ' || a.scope || ' ' || a.valid_from || '..' || a.valid_until
		       || ' ' || (SELECT count(*) FROM hub.entitlement e WHERE e.agreement_id = a.id AND e.level = 'aggregate')
		  FROM hub.funding_agreement a JOIN hub.partner p ON p.id = a.partner_id ORDER BY a.id`)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"google CONV-GOOGLE-2016-01 labelling_call 2016-01-01..2018-12-31 1",
		"google CONV-GOOGLE-2021-01 labelling_call 2021-10-15..2027-12-31 1",
		"societe-generale CONV-SG-2022-01 organisation 2022-01-01..2027-06-30 1",
		"societe-generale CONV-SG-2022-02 organisation 2022-01-01..2027-06-30 1",
		"societe-generale CONV-SG-2022-03 organisation 2022-01-01..2027-06-30 1",
		"capgemini CONV-CAPGEMINI-2019-01 region 2019-01-01..2027-12-31 1",
		"capgemini CONV-CAPGEMINI-2020-01 department 2020-01-01..2025-12-31 1",
		"caisse-des-depots CONV-CDC-2016-01 national 2016-01-01..2026-12-31 1",
		"etat CONV-ETAT-2016-01 national 2016-01-01..2030-12-31 1",
	}
	if diff := cmp.Diff(want, agr); diff != "" {
		t.Errorf("funding agreements (-want +got):\n%s", diff)
	}
}

func TestEmpty(t *testing.T) {
	ctx := context.Background()
	fresh := open(t, pgtest.Clone(t, migrated(t)))
	if empty, err := Empty(ctx, fresh); err != nil || !empty {
		t.Errorf("Empty on a migrated database = %v, %v; want true", empty, err)
	}
	url := pgtest.Clone(t, loaded(t))
	if empty, err := Empty(ctx, open(t, url)); err != nil || empty {
		t.Errorf("Empty on a loaded database = %v, %v; want false", empty, err)
	}
	if err := Load(ctx, url, Options{}); !errors.Is(err, ErrNotEmpty) {
		t.Errorf("Load on a loaded database: %v, want ErrNotEmpty", err)
	}
	if err := Load(ctx, url, Options{Scale: -1}); err == nil {
		t.Error("Load with a negative scale succeeded")
	}
}

// TestLoadScale10 times the load at scale 10; it takes a while, so it runs
// only when GENHUB_SEED_SCALE10=1.
func TestLoadScale10(t *testing.T) {
	if os.Getenv("GENHUB_SEED_SCALE10") != "1" {
		t.Skip("set GENHUB_SEED_SCALE10=1 to load the data set at scale 10")
	}
	url := pgtest.Clone(t, migrated(t))
	start := time.Now()
	if err := Load(context.Background(), url, Options{Scale: 10}); err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	db := open(t, url)
	var n struct {
		Formations int `db:"formations"`
		Wave1      int `db:"wave1"`
		Sessions   int `db:"sessions"`
		Enrolments int `db:"enrolments"`
		Outcomes   int `db:"outcomes"`
		Aid        int `db:"aid"`
	}
	err := db.Get(&n, `SELECT (SELECT count(*) FROM hub.formation) AS formations,
		(SELECT count(*) FROM hub.label WHERE call_id = 1) AS wave1,
		(SELECT count(*) FROM hub.session) AS sessions, (SELECT count(*) FROM hub.enrolment) AS enrolments,
		(SELECT count(*) FROM hub.outcome) AS outcomes, (SELECT count(*) FROM hub.aid_application) AS aid`)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("scale 10 loaded in %.1f s: %+v", took.Seconds(), n)
	if n.Wave1 != 1710 || n.Enrolments < 400000 || n.Enrolments > 500000 {
		t.Errorf("scale 10: %+v, want 1710 wave-1 formations and 400,000 to 500,000 enrolments", n)
	}
	if took > time.Minute {
		t.Errorf("scale 10 took %v, want under a minute", took)
	}
}
