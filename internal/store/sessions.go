package store

import (
	"context"
	"fmt"
	"strconv"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/gen-hub/genhub/graph/model"
	"github.com/gen-hub/genhub/internal/apierror"
)

// SessionColumns are the columns a session is read with.
var SessionColumns = []string{"id", "formation_id", "start_on", "end_on", "planned_seats"}

var sessionCols = columnList("s", SessionColumns, nil)

// SessionFilter selects sessions; zero fields are ignored.
type SessionFilter struct {
	FormationID int
	RegionCode  string
	StartsFrom  *model.Date
	StartsUntil *model.Date
}

// ParseSessionFilter checks a GraphQL session filter.
func ParseSessionFilter(f *model.SessionFilter) (SessionFilter, error) {
	var sf SessionFilter
	if f == nil {
		return sf, nil
	}
	if f.FormationID != nil {
		id, ok := model.ParseIntID("Formation", *f.FormationID)
		if !ok {
			return sf, apierror.BadInput("filter.formationId", "not a formation identifier")
		}
		sf.FormationID = id
	}
	if f.RegionCode != nil {
		if !ValidRegionCode(*f.RegionCode) {
			return sf, apierror.BadInput("filter.regionCode", "%q is not an INSEE region code (two digits, e.g. 84)", *f.RegionCode)
		}
		sf.RegionCode = *f.RegionCode
	}
	sf.StartsFrom, sf.StartsUntil = f.StartsFrom, f.StartsUntil
	if sf.StartsFrom != nil && sf.StartsUntil != nil && sf.StartsUntil.Before(sf.StartsFrom.Time) {
		return sf, apierror.BadInput("filter.startsUntil", "must not be before startsFrom")
	}
	return sf, nil
}

// Sessions returns a page of the sessions the caller can see, by start date,
// read with columns cols (nil: all).
func (s *Store) Sessions(ctx context.Context, f SessionFilter, p Page, cols []string) (*Result[model.Session], error) {
	l := sessionList(cols)
	q := &l.q
	if f.FormationID != 0 {
		q.and("s.formation_id = " + q.arg(f.FormationID))
	}
	if f.RegionCode != "" {
		q.and("s.formation_id IN (SELECT f.id FROM hub.formation f WHERE f.region_code = " + q.arg(f.RegionCode) + ")")
	}
	if f.StartsFrom != nil {
		q.and("s.start_on >= " + q.arg(*f.StartsFrom))
	}
	if f.StartsUntil != nil {
		q.and("s.start_on <= " + q.arg(*f.StartsUntil))
	}
	return fetch(ctx, s, l, p)
}

// SessionsByID returns the sessions with the given ids that the caller can see.
func (s *Store) SessionsByID(ctx context.Context, ids []int) (map[int]*model.Session, error) {
	var rows []*model.Session
	err := s.Read(ctx, func(tx *sqlx.Tx) (err error) {
		rows, err = selectRows[model.Session](ctx, tx, `SELECT `+sessionCols+` FROM hub.session s WHERE s.id = ANY($1)`, pq.Array(ids))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: sessions by id: %w", err)
	}
	m := make(map[int]*model.Session, len(rows))
	for _, r := range rows {
		m[r.RowID] = r
	}
	return m, nil
}

func sessionList(cols []string) *list[model.Session] {
	return &list[model.Session]{
		sel:   columnList("s", SessionColumns, cols, "id", "formation_id", "start_on"),
		from:  "hub.session s",
		order: order{cols: []string{"s.start_on", "s.id"}, types: []string{"date", "integer"}},
		key:   func(s *model.Session) []string { return []string{s.StartOn.String(), strconv.Itoa(s.RowID)} },
	}
}

// SessionsOf returns page p of the sessions of each formation, read with columns cols (nil: all).
func (s *Store) SessionsOf(ctx context.Context, formationIDs []int, p Page, cols []string) (map[int]*Result[model.Session], error) {
	return fetchEach(ctx, s, sessionList(cols), "s.formation_id", func(s *model.Session) int { return s.FormationID }, formationIDs, p)
}
