package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strconv"
	"strings"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/gen-hub/genhub/internal/apierror"
)

// IndicatorDims are the dimensions indicators may be grouped by, in the order
// of hub.indicators' whitelist. The first four form a hierarchy.
var IndicatorDims = []string{"region", "department", "formation", "session", "call", "year",
	"job_family", "sex", "age_band", "qualification", "prior_situation"}

const geoLevels = 4

// MaxIndicatorDims is the most dimensions a table may be grouped by; the
// geographic ones count as one.
const MaxIndicatorDims = 3

// IndicatorQuery is a table of indicators asked for: dimensions to group by
// and filters (zero values: none), each on one value of a dimension.
type IndicatorQuery struct {
	Dims        []string
	Region      string
	Department  string
	FormationID int
	SessionID   int
	CallCode    string
	Year        int
	JobFamily   string
}

// TableDims returns the dimensions of the table q gives, in whitelist order:
// those asked for, plus the coarser geographic levels of any geographic one.
func (q IndicatorQuery) TableDims() []string {
	finest := -1
	for _, d := range q.Dims {
		if i := slices.Index(IndicatorDims, d); i >= 0 && i < geoLevels {
			finest = max(finest, i)
		}
	}
	var out []string
	for i, d := range IndicatorDims {
		if i <= finest || (i >= geoLevels && slices.Contains(q.Dims, d)) {
			out = append(out, d)
		}
	}
	return out
}

// IndicatorRow is one cell or margin of an indicator table, as hub.indicators
// returns it. Values are nil where the database suppressed them.
type IndicatorRow struct {
	Margin         int     `db:"margin"` // GROUPING() of TableDims: bit 0 is the last dimension
	RegionCode     *string `db:"region_code"`
	DepartmentCode *string `db:"department_code"`
	FormationID    *int    `db:"formation_id"`
	SessionID      *int    `db:"session_id"`
	CallID         *int    `db:"call_id"`
	Year           *int    `db:"year"`
	JobFamily      *string `db:"job_family"`
	Sex            *string `db:"sex"`
	AgeBand        *string `db:"age_band"`
	Qualification  *string `db:"qualification"`
	PriorSituation *string `db:"prior_situation"`

	Learners              *int64 `db:"learners"`
	Women                 *int64 `db:"women"`
	Neet                  *int64 `db:"neet"`
	LowQualifiedNeetYouth *int64 `db:"low_qualified_neet_youth"`
	QpvResidents          *int64 `db:"qpv_residents"`
	Finished              *int64 `db:"finished"`
	Completed             *int64 `db:"completed"`
	M3Measured            *int64 `db:"m3_measured"`
	M3Positive            *int64 `db:"m3_positive"`
	AidApplicants         *int64 `db:"aid_applicants"`
	AidGranted            *int64 `db:"aid_granted"`
	AidAmountCents        *int64 `db:"-"`

	AidAmount sql.NullString `db:"aid_amount_eur"`
	K         int            `db:"k"`
	Raw       bool           `db:"raw"`
}

// Key returns the value of dimension d in the row ("" when null).
func (r *IndicatorRow) Key(d string) string {
	str := func(s *string) string {
		if s == nil {
			return ""
		}
		return *s
	}
	num := func(n *int) string {
		if n == nil {
			return ""
		}
		return strconv.Itoa(*n)
	}
	switch d {
	case "region":
		return str(r.RegionCode)
	case "department":
		return str(r.DepartmentCode)
	case "formation":
		return num(r.FormationID)
	case "session":
		return num(r.SessionID)
	case "call":
		return num(r.CallID)
	case "year":
		return num(r.Year)
	case "job_family":
		return str(r.JobFamily)
	case "sex":
		return str(r.Sex)
	case "age_band":
		return str(r.AgeBand)
	case "qualification":
		return str(r.Qualification)
	case "prior_situation":
		return str(r.PriorSituation)
	}
	return ""
}

// IndicatorTable is what hub.indicators returns: rows, the threshold
// applied, and whether the caller may see values below it (flagged).
type IndicatorTable struct {
	Dims []string
	Rows []IndicatorRow
	K    int
	Raw  bool
}

// Indicators computes a table of indicators over the caller's aggregate
// scope, in one statement. A filter outside that scope is FORBIDDEN.
func (s *Store) Indicators(ctx context.Context, q IndicatorQuery) (*IndicatorTable, error) {
	t := &IndicatorTable{Dims: q.TableDims()}
	nullStr := func(v string) any {
		if v == "" {
			return nil
		}
		return v
	}
	nullInt := func(v int) any {
		if v == 0 {
			return nil
		}
		return v
	}
	err := s.Read(ctx, func(tx *sqlx.Tx) error {
		// An unknown call code selects nothing (-1), as one outside the scope does.
		rows, err := tx.QueryContext(ctx, `
			SELECT margin, region_code, department_code, formation_id, session_id, call_id, year, job_family,
			       sex, age_band, qualification, prior_situation, learners, women, neet, low_qualified_neet_youth,
			       qpv_residents, finished, completed, m3_measured, m3_positive, aid_applicants, aid_granted,
			       aid_amount_eur, k, raw
			  FROM hub.indicators($1, $2, $3, $4, $5,
			         CASE WHEN $6::text IS NOT NULL
			              THEN coalesce((SELECT c.id FROM hub.labelling_call c WHERE c.code = $6), -1) END,
			         $7, $8)`,
			pq.Array(q.Dims), nullStr(q.Region), nullStr(q.Department), nullInt(q.FormationID),
			nullInt(q.SessionID), nullStr(q.CallCode), nullInt(q.Year), nullStr(q.JobFamily))
		if err != nil {
			return err
		}
		defer rows.Close()
		// Scanned by hand: a table of a thousand cells is 26,000 values.
		for rows.Next() {
			t.Rows = append(t.Rows, IndicatorRow{})
			r := &t.Rows[len(t.Rows)-1]
			err := rows.Scan(&r.Margin, &r.RegionCode, &r.DepartmentCode, &r.FormationID, &r.SessionID, &r.CallID,
				&r.Year, &r.JobFamily, &r.Sex, &r.AgeBand, &r.Qualification, &r.PriorSituation,
				&r.Learners, &r.Women, &r.Neet, &r.LowQualifiedNeetYouth, &r.QpvResidents, &r.Finished, &r.Completed,
				&r.M3Measured, &r.M3Positive, &r.AidApplicants, &r.AidGranted, &r.AidAmount, &r.K, &r.Raw)
			if err != nil {
				return err
			}
		}
		return rows.Err()
	})
	if err != nil {
		var pqErr *pq.Error
		if errors.As(err, &pqErr) {
			msg := strings.TrimPrefix(pqErr.Message, "indicators: ")
			switch pqErr.Code {
			case "GH400":
				return nil, apierror.BadInput("groupBy", "%s", msg)
			case "GH403":
				return nil, apierror.Denied("%s", msg)
			}
		}
		return nil, fmt.Errorf("store: indicators: %w", err)
	}
	for i := range t.Rows {
		r := &t.Rows[i]
		t.K, t.Raw = r.K, r.Raw
		if r.AidAmount.Valid {
			cents, ok := new(big.Rat).SetString(r.AidAmount.String)
			if !ok {
				return nil, fmt.Errorf("store: indicators: amount %q", r.AidAmount.String)
			}
			c := new(big.Rat).Mul(cents, big.NewRat(100, 1))
			if !c.IsInt() || !c.Num().IsInt64() {
				return nil, fmt.Errorf("store: indicators: amount %q", r.AidAmount.String)
			}
			v := c.Num().Int64()
			r.AidAmountCents = &v
		}
	}
	return t, nil
}

// FormationsLabelled counts the formations of the caller's aggregate scope by
// the year they were first labelled.
func (s *Store) FormationsLabelled(ctx context.Context) (map[int]int, error) {
	var rows []struct {
		Year int `db:"first_labelled_year"`
		N    int `db:"labelled"`
	}
	err := s.Read(ctx, func(tx *sqlx.Tx) error {
		return tx.SelectContext(ctx, &rows, `SELECT first_labelled_year, labelled FROM hub.scope_formations()`)
	})
	if err != nil {
		return nil, fmt.Errorf("store: formations labelled: %w", err)
	}
	m := make(map[int]int, len(rows))
	for _, r := range rows {
		m[r.Year] = r.N
	}
	return m, nil
}
