package csvdata

import (
	"context"
	"io"

	"github.com/jmoiron/sqlx"

	"github.com/gen-hub/genhub/internal/store"
)

// FormationColumns are the required columns of a formations file; the
// optional ones are certification_code, certification_level, qpv_code,
// latitude and longitude. The organisation is named by its SIRET; the region
// follows from the department.
var FormationColumns = []string{"organisation_siret", "title", "job_family", "duration_months", "delivery_mode",
	"free_of_charge", "seats", "address", "postcode", "city", "department_code"}

var formationOptional = []string{"certification_code", "certification_level", "qpv_code", "latitude", "longitude"}

// ImportFormations records the formations of a CSV file as the caller in ctx
// (the operator). Formations have no natural key: give an idempotency key to
// make a retry safe.
func ImportFormations(ctx context.Context, st *store.Store, r io.Reader, o Options) (*Report, error) {
	if o.BatchSize <= 0 {
		o.BatchSize = 1000
	}
	o.defaults()
	return run(ctx, st, "formations", r, o, func(tx *sqlx.Tx, in io.Reader, rep *Report) error {
		t, err := newTable(in, FormationColumns, formationOptional)
		if err != nil {
			return err
		}
		var rows []store.FormationRow
		var lines []int
		flush := func() error {
			sirets := make([]string, len(rows))
			for i, r := range rows {
				sirets[i] = r.OrganisationSIRET
			}
			known, err := store.KnownSIRETs(ctx, tx, sirets)
			if err != nil {
				return err
			}
			ok, okLines := rows[:0], lines[:0] // filtered in place
			for i, r := range rows {
				if !known[r.OrganisationSIRET] {
					rep.reject(o, lines[i], "organisation_siret", "no organisation has SIRET "+r.OrganisationSIRET+": record it first")
					continue
				}
				ok, okLines = append(ok, r), append(okLines, lines[i])
			}
			err = writeBatch(ctx, tx, rep, o, ok, okLines, func(rows []store.FormationRow) (store.EnrolmentCounts, error) {
				ids, err := store.InsertFormations(ctx, tx, rows)
				return store.EnrolmentCounts{Inserted: len(ids)}, err
			})
			rows, lines = rows[:0], lines[:0]
			return err
		}
		for {
			more, err := t.next(func(line int, reason string) { rep.Lines++; rep.reject(o, line, "", reason) })
			if err != nil || !more {
				if err == nil {
					err = flush()
				}
				return err
			}
			rep.Lines++
			f := fields{t: t}
			row := store.FormationRow{
				OrganisationSIRET: f.str("organisation_siret"), Title: f.str("title"), JobFamily: f.code("job_family"),
				CertificationCode: f.str("certification_code"), CertificationLevel: f.int("certification_level", true),
				DurationMonths: f.int("duration_months", false), DeliveryMode: f.code("delivery_mode"),
				FreeOfCharge: f.bool("free_of_charge"), Seats: f.int("seats", false), Address: f.str("address"),
				Postcode: f.str("postcode"), City: f.str("city"), DepartmentCode: f.str("department_code"),
				QPVCode: f.str("qpv_code"), Latitude: f.optFloat("latitude"), Longitude: f.optFloat("longitude"),
			}
			if len(f.p.List) == 0 {
				row.Check(&f.p, "row")
			}
			if len(f.p.List) > 0 {
				reportRow(rep, o, t.line, &f.p)
				continue
			}
			rows, lines = append(rows, row), append(lines, t.line)
			if len(rows) == o.BatchSize {
				if err := flush(); err != nil {
					return err
				}
			}
		}
	})
}
