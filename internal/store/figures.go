package store

import (
	"context"
	"fmt"

	"github.com/jmoiron/sqlx"

	"github.com/gen-hub/genhub/graph/model"
)

// YearFigures are national counts for one year of entry.
type YearFigures struct {
	Year                  int `db:"year"`
	Learners              int `db:"learners"`
	Women                 int `db:"women"`
	Neet                  int `db:"neet"`
	LowQualified          int `db:"low_qualified"`
	LowQualifiedNeetYouth int `db:"low_qualified_neet_youth"`
	QpvResidents          int `db:"qpv_residents"`
	Completed             int `db:"completed"`
	Finished              int `db:"finished"`
	M3Measured            int `db:"m3_measured"`
	M3Positive            int `db:"m3_positive"`
	FormationsLabelled    int // first labelled that year
}

// NationalFigures are the public key figures of the whole network.
type NationalFigures struct {
	Listed, Active int
	Years          []YearFigures
	Targets        []Target
}

// Target is a target of the network.
type Target struct {
	Code  string     `db:"code"`
	Label string     `db:"label"`
	Value float64    `db:"value"`
	Unit  string     `db:"unit"`
	DueOn model.Date `db:"due_on"`
}

// NationalFigures returns the national key figures by year of entry.
func (s *Store) NationalFigures(ctx context.Context) (*NationalFigures, error) {
	nf := &NationalFigures{}
	err := s.Read(ctx, func(tx *sqlx.Tx) error {
		if err := tx.SelectContext(ctx, &nf.Years, `SELECT * FROM hub.national_figures()`); err != nil {
			return err
		}
		var labelled []struct {
			Listed   int `db:"listed"`
			Active   int `db:"active"`
			Year     int `db:"first_labelled_year"`
			Labelled int `db:"labelled"`
		}
		if err := tx.SelectContext(ctx, &labelled, `SELECT * FROM hub.national_formations()`); err != nil {
			return err
		}
		byYear := map[int]int{}
		for _, l := range labelled {
			nf.Listed, nf.Active = l.Listed, l.Active
			byYear[l.Year] = l.Labelled
		}
		for i := range nf.Years {
			nf.Years[i].FormationsLabelled = byYear[nf.Years[i].Year]
			delete(byYear, nf.Years[i].Year)
		}
		for y, n := range byYear { // years with labels but no learners yet
			nf.Years = append(nf.Years, YearFigures{Year: y, FormationsLabelled: n})
		}
		return tx.SelectContext(ctx, &nf.Targets, `SELECT code, label, value, unit, due_on FROM hub.target ORDER BY due_on, code`)
	})
	if err != nil {
		return nil, fmt.Errorf("store: national figures: %w", err)
	}
	return nf, nil
}
