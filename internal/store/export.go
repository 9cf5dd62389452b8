package store

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/jmoiron/sqlx"

	"github.com/gen-hub/genhub/internal/access"
	"github.com/gen-hub/genhub/internal/apierror"
)

// An export is a table as the caller sees it, row-level security and column
// grants included, read in pages of ids so that each unit of work stays short.
type export struct {
	header []string
	query  string // selects text columns, id first; $1 the last id read, $2 the page size
	min    access.Level
}

var exports = map[string]export{
	"formations": {
		header: []string{"id", "organisation_siret", "title", "job_family", "certification_code", "certification_level",
			"duration_months", "delivery_mode", "free_of_charge", "seats", "address", "postcode", "city",
			"department_code", "region_code", "qpv_code", "latitude", "longitude", "listed"},
		query: `SELECT f.id::text, o.siret, f.title, f.job_family, f.certification_code, f.certification_level::text,
			f.duration_months::text, f.delivery_mode, f.free_of_charge::text, f.seats::text, f.address, f.postcode, f.city,
			f.department_code, f.region_code, f.qpv_code, f.latitude::text, f.longitude::text, f.listed::text
			FROM hub.formation f JOIN hub.organisation o ON o.id = f.organisation_id
			WHERE f.id > $1 ORDER BY f.id LIMIT $2`,
	},
	"sessions": {
		header: []string{"id", "formation_id", "start_on", "end_on", "planned_seats"},
		query: `SELECT s.id::text, s.formation_id::text, s.start_on::text, s.end_on::text, s.planned_seats::text
			FROM hub.session s WHERE s.id > $1 ORDER BY s.id LIMIT $2`,
	},
	"enrolments": {
		header: []string{"id", "session_id", "formation_id", "learner_ref", "enrolled_on", "sex", "age_band", "qualification",
			"prior_situation", "qpv_resident", "completion", "certification_obtained"},
		query: `SELECT e.id::text, e.session_id::text, e.formation_id::text, e.learner_ref, e.enrolled_on::text, e.sex,
			e.age_band, e.qualification, e.prior_situation, e.qpv_resident::text, e.completion, e.certification_obtained::text
			FROM hub.enrolment e WHERE e.id > $1 ORDER BY e.id LIMIT $2`,
		min: access.Personal,
	},
}

// ExportHeader returns the CSV header of an export (formations, sessions,
// enrolments), or an error for an unknown one or a caller below its level.
func ExportHeader(ctx context.Context, what string) ([]string, error) {
	x, ok := exports[what]
	if !ok {
		return nil, apierror.BadInput("what", "export formations, sessions or enrolments")
	}
	c := access.FromContext(ctx)
	if x.min > access.Public && !c.IsOperator() && (c.IsPublic() || c.Level < x.min || c.Kind == access.KindCrous) {
		return nil, apierror.Denied("exporting %s needs the %s level", what, x.min)
	}
	return x.header, nil
}

// ExportPage reads, as the caller, up to limit rows of an export after id
// after, calling fn with each (NULL as ""); it returns the last id read and
// how many rows it read.
func (s *Store) ExportPage(ctx context.Context, what string, after, limit int, fn func(rec []string) error) (last, n int, err error) {
	x := exports[what]
	err = s.Read(ctx, func(tx *sqlx.Tx) error {
		rows, err := tx.QueryContext(ctx, x.query, after, limit)
		if err != nil {
			return err
		}
		defer rows.Close()
		vals := make([]sql.NullString, len(x.header))
		ptrs := make([]any, len(vals))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		rec := make([]string, len(vals))
		for rows.Next() {
			if err := rows.Scan(ptrs...); err != nil {
				return err
			}
			for i, v := range vals {
				rec[i] = v.String
			}
			if _, err := fmt.Sscan(rec[0], &last); err != nil {
				return err
			}
			n++
			if err := fn(rec); err != nil {
				return err
			}
		}
		return rows.Err()
	})
	if err != nil {
		return last, n, fmt.Errorf("store: export %s: %w", what, err)
	}
	return last, n, nil
}
