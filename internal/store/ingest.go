package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/gen-hub/genhub/graph/model"
	"github.com/gen-hub/genhub/internal/apierror"
	"github.com/gen-hub/genhub/internal/codes"
)

// Rows written in bulk (enrolments, formations): checked one by one, written
// many at a time under the caller's role, with one INSERT … SELECT from arrays
// (unnest) or, for large batches of enrolments, from a temporary table filled
// by COPY. PostgreSQL refuses COPY FROM on tables under row-level security;
// an INSERT … SELECT keeps every policy and trigger in force.

// EnrolmentRow is one pseudonymised enrolment to add, or to correct when the
// session already has a learner with that pseudonym.
type EnrolmentRow struct {
	SessionID int
	// FormationID is the session's formation, set by CheckSession; the
	// database refuses a row whose formation is not its session's.
	FormationID           int
	LearnerRef            string
	EnrolledOn            time.Time
	Sex                   string
	AgeBand               string
	Qualification         string
	PriorSituation        string
	QPVResident           bool
	Completion            string
	CertificationObtained *bool
}

var (
	sexes           = []string{"female", "male"}
	ageBands        = []string{"under_26", "from_26_to_30", "from_31_to_49", "from_50"}
	qualifications  = []string{"none", "infra_bac", "bac", "bac_plus_2", "bac_plus_3"}
	priorSituations = []string{"neet", "job_seeker", "employed", "student", "other"}
	completions     = []string{"ongoing", "completed", "dropped_out"}
)

// firstDay is the earliest date the network's data can carry (the first call opened in 2015).
var firstDay = time.Date(2015, 1, 1, 0, 0, 0, 0, time.UTC)

// Check reports the row's bad fields under path (e.g. "input.enrolments[3]").
func (r *EnrolmentRow) Check(p *apierror.Problems, path string) {
	if !codes.LearnerRef(r.LearnerRef) {
		p.Add(path+".learnerRef", "a pseudonym is 8 to 64 letters, digits, '-' or '_' (never a name)")
	}
	checkDate(p, path+".enrolledOn", r.EnrolledOn)
	checkEnum(p, path+".sex", r.Sex, sexes)
	checkEnum(p, path+".ageBand", r.AgeBand, ageBands)
	checkEnum(p, path+".qualification", r.Qualification, qualifications)
	checkEnum(p, path+".priorSituation", r.PriorSituation, priorSituations)
	checkEnum(p, path+".completion", r.Completion, completions)
	if r.CertificationObtained != nil && *r.CertificationObtained && r.Completion != "completed" {
		p.Add(path+".certificationObtained", "only a learner who completed the formation obtains its certification")
	}
}

// CheckSession reports a row whose session is not among sessions (those the
// caller may write to), or whose enrolment date is after the session's end,
// and sets the row's formation to its session's.
func (r *EnrolmentRow) CheckSession(p *apierror.Problems, path string, sessions map[int]SessionDates) {
	s, ok := sessions[r.SessionID]
	switch {
	case !ok:
		p.Deny(path+".sessionId", "not a session of your formations")
	case r.EnrolledOn.After(s.EndOn):
		p.Add(path+".enrolledOn", "after the end of the session (%s)", s.EndOn.Format(time.DateOnly))
	}
	r.FormationID = s.FormationID
}

// checkDate refuses dates before the network existed or in the future.
func checkDate(p *apierror.Problems, field string, d time.Time) {
	if d.Before(firstDay) || d.After(time.Now().AddDate(0, 0, 1)) {
		p.Add(field, "must be between %s and today", firstDay.Format(time.DateOnly))
	}
}

// SessionDates are the dates of a session the caller may write to.
type SessionDates struct {
	ID          int       `db:"id"`
	FormationID int       `db:"formation_id"`
	StartOn     time.Time `db:"start_on"`
	EndOn       time.Time `db:"end_on"`
}

// WritableSessions returns, among ids, the sessions whose learners the caller
// may report on: those of its own formations, or any for the operator. The
// database enforces the same rule on every write; this lets callers learn
// which line or item is wrong.
func (s *Store) WritableSessions(ctx context.Context, ids []int) (map[int]SessionDates, error) {
	var rows []SessionDates
	err := s.Read(ctx, func(tx *sqlx.Tx) error {
		var err error
		rows, err = WritableSessionsTx(ctx, tx, ids)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: writable sessions: %w", err)
	}
	m := make(map[int]SessionDates, len(rows))
	for _, r := range rows {
		m[r.ID] = r
	}
	return m, nil
}

// WritableSessionsTx is WritableSessions within a unit of work.
func WritableSessionsTx(ctx context.Context, tx *sqlx.Tx, ids []int) ([]SessionDates, error) {
	var rows []SessionDates
	err := tx.SelectContext(ctx, &rows, `
		SELECT s.id, s.formation_id, s.start_on, s.end_on FROM hub.session s
		 WHERE s.id = ANY($1) AND (hub.caller_is_operator() OR s.formation_id IN (SELECT hub.caller_own_formations()))`,
		pq.Array(ids))
	return rows, err
}

// EnrolmentCounts says what a bulk write of enrolments did.
type EnrolmentCounts struct {
	Inserted  int `json:"inserted"`
	Updated   int `json:"updated"`
	Unchanged int `json:"unchanged"`
}

// Add adds other's counts to c.
func (c *EnrolmentCounts) Add(other EnrolmentCounts) {
	c.Inserted += other.Inserted
	c.Updated += other.Updated
	c.Unchanged += other.Unchanged
}

// enrolmentColumns holds a batch of enrolment rows column by column, as arrays.
type enrolmentColumns struct {
	session                                          []int64
	ref, enrolled, sex, age, qual, prior, completion []string
	qpv                                              []bool
	cert                                             []int64 // -1 unknown, 0 no, 1 yes
}

func columnsOf(rows []EnrolmentRow) *enrolmentColumns {
	c := &enrolmentColumns{}
	for _, r := range rows {
		c.session = append(c.session, int64(r.SessionID))
		c.ref = append(c.ref, r.LearnerRef)
		c.enrolled = append(c.enrolled, r.EnrolledOn.Format(time.DateOnly))
		c.sex = append(c.sex, r.Sex)
		c.age = append(c.age, r.AgeBand)
		c.qual = append(c.qual, r.Qualification)
		c.prior = append(c.prior, r.PriorSituation)
		c.qpv = append(c.qpv, r.QPVResident)
		c.completion = append(c.completion, r.Completion)
		cert := int64(-1)
		if r.CertificationObtained != nil {
			cert = 0
			if *r.CertificationObtained {
				cert = 1
			}
		}
		c.cert = append(c.cert, cert)
	}
	return c
}

// enrolmentInsert is the INSERT of enrolments read from source, a relation
// with the columns of hub.enrolment but id.
func enrolmentInsert(source string) string {
	return `
		INSERT INTO hub.enrolment AS e (session_id, formation_id, learner_ref, enrolled_on, sex, age_band, qualification,
		                                prior_situation, qpv_resident, completion, certification_obtained)
		SELECT u.session_id, u.formation_id, u.learner_ref, u.enrolled_on, u.sex, u.age_band, u.qualification,
		       u.prior_situation, u.qpv_resident, u.completion, u.certification_obtained
		  FROM ` + source + ` u`
}

// enrolmentUpsert is enrolmentInsert correcting the learners the sessions
// already have (same pseudonym), with the counts of rows inserted and updated;
// a row equal to the recorded one is left alone.
func enrolmentUpsert(source string) string {
	return `
		WITH w AS (` + enrolmentInsert(source) + `
		  ON CONFLICT (session_id, learner_ref) DO UPDATE
		     SET enrolled_on = excluded.enrolled_on, sex = excluded.sex, age_band = excluded.age_band,
		         qualification = excluded.qualification, prior_situation = excluded.prior_situation,
		         qpv_resident = excluded.qpv_resident, completion = excluded.completion,
		         certification_obtained = excluded.certification_obtained
		   WHERE (e.enrolled_on, e.sex, e.age_band, e.qualification, e.prior_situation, e.qpv_resident, e.completion, e.certification_obtained)
		         IS DISTINCT FROM (excluded.enrolled_on, excluded.sex, excluded.age_band, excluded.qualification,
		                           excluded.prior_situation, excluded.qpv_resident, excluded.completion, excluded.certification_obtained)
		  RETURNING xmax = 0 AS inserted
		)
		SELECT count(*) FILTER (WHERE inserted) AS inserted, count(*) FILTER (WHERE NOT inserted) AS updated FROM w`
}

// unnestedEnrolments reads enrolments from arrays $1 to $10 (see columnsOf).
// The formation of each row is its session's, as the caller sees it: a
// session the caller cannot see gives no formation, and the NOT NULL
// constraint then refuses the whole statement.
const unnestedEnrolments = `(
		SELECT x.session_id, s.formation_id, x.learner_ref, x.enrolled_on, x.sex, x.age_band, x.qualification, x.prior_situation,
		       x.qpv_resident, x.completion, CASE WHEN x.cert >= 0 THEN x.cert = 1 END AS certification_obtained
		  FROM unnest($1::integer[], $2::text[], $3::date[], $4::text[], $5::text[], $6::text[], $7::text[],
		              $8::boolean[], $9::text[], $10::smallint[])
		       AS x(session_id, learner_ref, enrolled_on, sex, age_band, qualification, prior_situation, qpv_resident, completion, cert)
		  LEFT JOIN hub.session s ON s.id = x.session_id)`

// upsertCounts runs an enrolmentUpsert statement over rows.
func upsertCounts(ctx context.Context, tx *sqlx.Tx, rows int, stmt string, args ...any) (EnrolmentCounts, error) {
	var res struct {
		Inserted int `db:"inserted"`
		Updated  int `db:"updated"`
	}
	if err := tx.GetContext(ctx, &res, stmt, args...); err != nil {
		return EnrolmentCounts{}, enrolmentRefusal(err)
	}
	return EnrolmentCounts{Inserted: res.Inserted, Updated: res.Updated, Unchanged: rows - res.Inserted - res.Updated}, nil
}

// enrolmentRefusal names a write refused for a session the caller cannot see.
func enrolmentRefusal(err error) error {
	var pqErr *pq.Error
	if errors.As(err, &pqErr) && pqErr.Code == "23502" && pqErr.Column == "formation_id" {
		return apierror.Denied("some enrolments are for sessions that are not yours (or do not exist): nothing was written")
	}
	return err
}

// UpsertEnrolments writes rows in one statement: new learners are inserted,
// known ones (same session and pseudonym) corrected. A session the caller
// cannot see writes nothing, and that is an error, as is any row the policies
// refuse. Within rows, a pseudonym must appear once per session.
func UpsertEnrolments(ctx context.Context, tx *sqlx.Tx, rows []EnrolmentRow) (EnrolmentCounts, error) {
	if len(rows) == 0 {
		return EnrolmentCounts{}, nil
	}
	c := columnsOf(rows)
	return upsertCounts(ctx, tx, len(rows), enrolmentUpsert(unnestedEnrolments),
		pq.Array(c.session), pq.Array(c.ref), pq.Array(c.enrolled), pq.Array(c.sex), pq.Array(c.age), pq.Array(c.qual),
		pq.Array(c.prior), pq.Array(c.qpv), pq.Array(c.completion), pq.Array(c.cert))
}

// EnrolmentStage writes large batches of enrolments: each batch is copied
// (COPY FROM STDIN) into a temporary table of the transaction, which is not
// under row-level security, then written from there with one INSERT … SELECT
// as the caller, under its policies, the session foreign key and every
// trigger. Rows carry their formation (see CheckSession): the foreign key
// refuses one that is not the session's, the policies one that is not the
// caller's. (PostgreSQL refuses COPY FROM straight into a table under
// row-level security.) Learners are inserted with a plain INSERT until a
// batch names a learner the session already has; from then on batches are
// written as upserts.
type EnrolmentStage struct {
	tx     *sqlx.Tx
	upsert bool
}

// NewEnrolmentStage creates the temporary table of tx that batches are
// copied into; it is dropped at the end of the transaction. Create it before
// any savepoint that may be rolled back.
func NewEnrolmentStage(ctx context.Context, tx *sqlx.Tx) (*EnrolmentStage, error) {
	_, err := tx.ExecContext(ctx, `
		CREATE TEMPORARY TABLE enrolment_stage (
		  session_id integer, formation_id integer, learner_ref text, enrolled_on date, sex text, age_band text, qualification text,
		  prior_situation text, qpv_resident boolean, completion text, certification_obtained boolean
		) ON COMMIT DROP`)
	if err != nil {
		return nil, fmt.Errorf("store: create enrolment stage: %w", err)
	}
	return &EnrolmentStage{tx: tx}, nil
}

const stagedEnrolments = `pg_temp.enrolment_stage`

// Write writes rows as UpsertEnrolments does, through the stage.
func (st *EnrolmentStage) Write(ctx context.Context, rows []EnrolmentRow) (EnrolmentCounts, error) {
	if len(rows) == 0 {
		return EnrolmentCounts{}, nil
	}
	if err := st.copy(ctx, rows); err != nil {
		return EnrolmentCounts{}, err
	}
	if !st.upsert {
		// A savepoint keeps the staged rows when the plain INSERT meets a known learner.
		if _, err := st.tx.ExecContext(ctx, `SAVEPOINT staged`); err != nil {
			return EnrolmentCounts{}, err
		}
		res, err := st.tx.ExecContext(ctx, enrolmentInsert(stagedEnrolments))
		var pqErr *pq.Error
		switch {
		case err == nil:
			if _, err := st.tx.ExecContext(ctx, `RELEASE SAVEPOINT staged`); err != nil {
				return EnrolmentCounts{}, err
			}
			n, err := res.RowsAffected()
			return EnrolmentCounts{Inserted: int(n), Unchanged: len(rows) - int(n)}, err
		case errors.As(err, &pqErr) && pqErr.Code == "23505" && pqErr.Constraint == "enrolment_session_id_learner_ref_key":
			if _, err := st.tx.ExecContext(ctx, `ROLLBACK TO SAVEPOINT staged`); err != nil {
				return EnrolmentCounts{}, err
			}
			st.upsert = true
		default:
			return EnrolmentCounts{}, enrolmentRefusal(err)
		}
	}
	return upsertCounts(ctx, st.tx, len(rows), enrolmentUpsert(stagedEnrolments))
}

// copy replaces the stage's rows with rows.
func (st *EnrolmentStage) copy(ctx context.Context, rows []EnrolmentRow) (err error) {
	if _, err := st.tx.ExecContext(ctx, `TRUNCATE pg_temp.enrolment_stage`); err != nil {
		return fmt.Errorf("store: empty enrolment stage: %w", err)
	}
	stmt, err := st.tx.PrepareContext(ctx, pq.CopyInSchema("pg_temp", "enrolment_stage", "session_id", "formation_id", "learner_ref",
		"enrolled_on", "sex", "age_band", "qualification", "prior_situation", "qpv_resident", "completion", "certification_obtained"))
	if err != nil {
		return fmt.Errorf("store: copy enrolments: %w", err)
	}
	defer func() {
		if cerr := stmt.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("store: copy enrolments: %w", cerr)
		}
	}()
	for _, r := range rows {
		var cert any
		if r.CertificationObtained != nil {
			cert = *r.CertificationObtained
		}
		if _, err := stmt.ExecContext(ctx, int64(r.SessionID), int64(r.FormationID), r.LearnerRef, r.EnrolledOn.Format(time.DateOnly), r.Sex, r.AgeBand,
			r.Qualification, r.PriorSituation, r.QPVResident, r.Completion, cert); err != nil {
			return fmt.Errorf("store: copy enrolments: %w", err)
		}
	}
	if _, err := stmt.ExecContext(ctx); err != nil {
		return fmt.Errorf("store: copy enrolments: %w", err)
	}
	return nil
}

// FormationRow is one formation to record: the operator labels formations of
// any organisation, named by SIRET.
type FormationRow struct {
	OrganisationSIRET  string
	Title              string
	JobFamily          string
	CertificationCode  string
	CertificationLevel int
	DurationMonths     int
	DeliveryMode       string
	FreeOfCharge       bool
	Seats              int
	Address, Postcode  string
	City               string
	DepartmentCode     string
	QPVCode            string
	Latitude           *float64
	Longitude          *float64
}

var (
	jobFamilies   = []string{"dev_integration_test", "network_infra_security", "maintenance_support", "data", "marketing_commercial", "content_design", "other"}
	deliveryModes = []string{"on_site", "blended", "remote"}
)

// Check reports the row's bad fields under path.
func (r *FormationRow) Check(p *apierror.Problems, path string) {
	if !codes.SIRET(r.OrganisationSIRET) {
		p.Add(path+".organisationSiret", "%q is not a SIRET: 14 digits passing the Luhn check", r.OrganisationSIRET)
	}
	checkLength(p, path+".title", r.Title, 3, 200)
	checkEnum(p, path+".jobFamily", r.JobFamily, jobFamilies)
	switch {
	case r.CertificationCode != "" && !codes.Certification(r.CertificationCode):
		p.Add(path+".certificationCode", "%q is not an RNCP or RS code (RNCP37674, RS5487)", r.CertificationCode)
	case strings.HasPrefix(r.CertificationCode, "RNCP") && (r.CertificationLevel < 3 || r.CertificationLevel > 8):
		p.Add(path+".certificationLevel", "an RNCP title has a level from 3 to 8")
	case !strings.HasPrefix(r.CertificationCode, "RNCP") && r.CertificationLevel != 0:
		p.Add(path+".certificationLevel", "only an RNCP title has a level")
	}
	if r.DurationMonths < 3 || r.DurationMonths > 24 {
		p.Add(path+".durationMonths", "a formation lasts 3 to 24 months")
	}
	checkEnum(p, path+".deliveryMode", r.DeliveryMode, deliveryModes)
	if r.Seats <= 0 || r.Seats > 1000 {
		p.Add(path+".seats", "must be between 1 and 1000")
	}
	checkLength(p, path+".address", r.Address, 3, 300)
	if !codes.Postcode(r.Postcode) {
		p.Add(path+".postcode", "%q is not a postal code (five digits)", r.Postcode)
	}
	checkLength(p, path+".city", r.City, 1, 100)
	checkDepartment(p, path+".departmentCode", r.DepartmentCode)
	if r.QPVCode != "" && !codes.QPV(r.QPVCode, r.DepartmentCode) {
		p.Add(path+".qpvCode", "%q is not a QPV code of department %s (e.g. QP093028)", r.QPVCode, r.DepartmentCode)
	}
	if (r.Latitude == nil) != (r.Longitude == nil) {
		p.Add(path+".longitude", "give both latitude and longitude, or neither")
	}
	if r.Latitude != nil && (*r.Latitude < -22 || *r.Latitude > 52) {
		p.Add(path+".latitude", "must be between -22 and 52 (France and its overseas departments)")
	}
	if r.Longitude != nil && (*r.Longitude < -62 || *r.Longitude > 56) {
		p.Add(path+".longitude", "must be between -62 and 56 (France and its overseas departments)")
	}
}

// InsertFormations records rows in one statement; the region follows from
// the department. It returns their identifiers in order.
func InsertFormations(ctx context.Context, tx *sqlx.Tx, rows []FormationRow) ([]int, error) {
	var siret, title, family, cert, mode, addr, post, city, dept, qpv []string
	var level, months, seats []int64
	var free []bool
	var lat, lon []*float64
	for _, r := range rows {
		siret, title, family = append(siret, r.OrganisationSIRET), append(title, strings.TrimSpace(r.Title)), append(family, r.JobFamily)
		cert, level, months = append(cert, r.CertificationCode), append(level, int64(r.CertificationLevel)), append(months, int64(r.DurationMonths))
		mode, free, seats = append(mode, r.DeliveryMode), append(free, r.FreeOfCharge), append(seats, int64(r.Seats))
		addr, post, city = append(addr, strings.TrimSpace(r.Address)), append(post, r.Postcode), append(city, strings.TrimSpace(r.City))
		dept, qpv = append(dept, r.DepartmentCode), append(qpv, r.QPVCode)
		lat, lon = append(lat, r.Latitude), append(lon, r.Longitude)
	}
	var ids []int
	err := tx.SelectContext(ctx, &ids, `
		WITH u AS (
		  SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::smallint[], $6::smallint[], $7::text[],
		                       $8::boolean[], $9::integer[], $10::text[], $11::text[], $12::text[], $13::text[], $14::text[],
		                       $15::numeric[], $16::numeric[]) WITH ORDINALITY
		    AS u(siret, title, job_family, cert, level, months, mode, free, seats, address, postcode, city, dept, qpv, lat, lon, n)
		), w AS (
		  INSERT INTO hub.formation (organisation_id, title, job_family, certification_code, certification_level, certifying,
		                             duration_months, delivery_mode, free_of_charge, seats, address, postcode, city,
		                             department_code, region_code, qpv_code, latitude, longitude)
		  SELECT o.id, u.title, u.job_family, nullif(u.cert, ''), nullif(u.level, 0), u.cert <> '', u.months, u.mode, u.free,
		         u.seats, u.address, u.postcode, u.city, u.dept, d.region_code, nullif(u.qpv, ''), u.lat, u.lon
		    FROM u
		    LEFT JOIN hub.organisation o ON o.siret = u.siret
		    LEFT JOIN hub.department d ON d.code = u.dept
		   ORDER BY u.n
		  RETURNING id
		)
		SELECT id FROM w ORDER BY id`,
		pq.Array(siret), pq.Array(title), pq.Array(family), pq.Array(cert), pq.Array(level), pq.Array(months), pq.Array(mode),
		pq.Array(free), pq.Array(seats), pq.Array(addr), pq.Array(post), pq.Array(city), pq.Array(dept), pq.Array(qpv),
		floatArray(lat), floatArray(lon))
	return ids, err
}

// floatArray writes nullable floats as a PostgreSQL array literal.
func floatArray(xs []*float64) any {
	parts := make([]string, len(xs))
	for i, x := range xs {
		if x == nil {
			parts[i] = "NULL"
		} else {
			parts[i] = fmt.Sprint(*x)
		}
	}
	return "{" + strings.Join(parts, ",") + "}"
}

// CreateFormation records one formation and returns it.
func (s *Store) CreateFormation(ctx context.Context, in FormationRow) (*model.Formation, error) {
	var p apierror.Problems
	in.Check(&p, "input")
	if err := p.Err(); err != nil {
		return nil, err
	}
	var f model.Formation
	err := s.write(ctx, "input", func(tx *sqlx.Tx) error {
		if err := knownOrganisations(ctx, tx, []FormationRow{in}, func(int) string { return "input.organisationSiret" }); err != nil {
			return err
		}
		ids, err := InsertFormations(ctx, tx, []FormationRow{in})
		if err != nil {
			return err
		}
		return tx.GetContext(ctx, &f, `SELECT `+formationCols+` FROM hub.formation f WHERE f.id = $1`, ids[0])
	})
	if err != nil {
		return nil, fmt.Errorf("store: create formation: %w", err)
	}
	return &f, nil
}

// KnownSIRETs returns which of sirets name a recorded organisation.
func KnownSIRETs(ctx context.Context, tx *sqlx.Tx, sirets []string) (map[string]bool, error) {
	var known []string
	if err := tx.SelectContext(ctx, &known, `SELECT siret FROM hub.organisation WHERE siret = ANY($1)`, pq.Array(sirets)); err != nil {
		return nil, err
	}
	m := make(map[string]bool, len(known))
	for _, k := range known {
		m[k] = true
	}
	return m, nil
}

// knownOrganisations refuses rows whose SIRET names no organisation; field
// gives the path of row i's SIRET.
func knownOrganisations(ctx context.Context, tx *sqlx.Tx, rows []FormationRow, field func(i int) string) error {
	sirets := make([]string, len(rows))
	for i, r := range rows {
		sirets[i] = r.OrganisationSIRET
	}
	var known []string
	if err := tx.SelectContext(ctx, &known, `SELECT siret FROM hub.organisation WHERE siret = ANY($1)`, pq.Array(sirets)); err != nil {
		return err
	}
	var p apierror.Problems
	for i, s := range sirets {
		if !slices.Contains(known, s) {
			p.Add(field(i), "no organisation has SIRET %s: record it first", s)
		}
	}
	return p.Err()
}
