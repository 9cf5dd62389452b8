package store

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/gen-hub/genhub/graph/model"
	"github.com/gen-hub/genhub/internal/apierror"
)

var (
	regionCodeRe     = regexp.MustCompile(`^[0-9]{2}$`)
	departmentCodeRe = regexp.MustCompile(`^(0[1-9]|1[0-9]|2[1-9AB]|[3-8][0-9]|9[0-5]|97[1-46])$`)
)

// ValidRegionCode says whether s has the form of an INSEE region code.
func ValidRegionCode(s string) bool { return regionCodeRe.MatchString(s) }

// ValidDepartmentCode says whether s has the form of an INSEE department code.
func ValidDepartmentCode(s string) bool { return departmentCodeRe.MatchString(s) }

// FormationColumns are the columns a formation is read with; a list may ask
// for some of them only (the identifier is always read).
var FormationColumns = []string{"id", "organisation_id", "title", "job_family", "certification_code",
	"certification_level", "certifying", "duration_months", "delivery_mode", "free_of_charge",
	"seats", "address", "postcode", "city", "department_code", "region_code", "qpv_code",
	"latitude", "longitude", "listed"}

var formationCols = columnList("f", FormationColumns, nil)

// FormationScope restricts a formation list to one parent.
type FormationScope struct {
	OrganisationID int
	RegionCode     string
	DepartmentCode string
	// WithOrganisation reads each formation's organisation in the same
	// statement (LEFT JOIN, under the organisation's own policies; see
	// model.Formation.JoinedOrganisation).
	WithOrganisation bool
}

// formationList builds the list of formations matching filter, in order,
// reading columns cols (nil: all).
func formationList(scope FormationScope, f *model.FormationFilter, by model.FormationOrder, cols []string) (*list[model.Formation], error) {
	always := []string{"id"}
	if by == model.FormationOrderTitle {
		always = append(always, "title")
	}
	if scope.OrganisationID != 0 {
		always = append(always, "organisation_id")
	}
	if scope.RegionCode != "" {
		always = append(always, "region_code")
	}
	if scope.DepartmentCode != "" {
		always = append(always, "department_code")
	}
	l := &list[model.Formation]{sel: columnList("f", FormationColumns, cols, always...), from: "hub.formation f"}
	if scope.WithOrganisation {
		l.from += " LEFT JOIN hub.organisation o ON o.id = f.organisation_id"
		for _, c := range OrganisationColumns {
			l.sel += ", o." + c + " AS org_" + c
		}
	}
	q := &l.q
	if scope.OrganisationID != 0 {
		q.and("f.organisation_id = " + q.arg(scope.OrganisationID))
	}
	if scope.RegionCode != "" {
		q.and("f.region_code = " + q.arg(scope.RegionCode))
	}
	if scope.DepartmentCode != "" {
		q.and("f.department_code = " + q.arg(scope.DepartmentCode))
	}
	if f != nil {
		if f.RegionCode != nil {
			if !ValidRegionCode(*f.RegionCode) {
				return nil, apierror.BadInput("filter.regionCode", "%q is not an INSEE region code (two digits, e.g. 84)", *f.RegionCode)
			}
			q.and("f.region_code = " + q.arg(*f.RegionCode))
		}
		if f.DepartmentCode != nil {
			if !ValidDepartmentCode(*f.DepartmentCode) {
				return nil, apierror.BadInput("filter.departmentCode", "%q is not an INSEE department code (e.g. 93, 2A, 974)", *f.DepartmentCode)
			}
			q.and("f.department_code = " + q.arg(*f.DepartmentCode))
		}
		if f.LabellingCall != nil || f.LabelStatus != nil {
			cond := []string{"l.formation_id = f.id"}
			if f.LabellingCall != nil {
				cond = append(cond, "l.call_id = (SELECT c.id FROM hub.labelling_call c WHERE c.code = "+q.arg(*f.LabellingCall)+")")
			}
			if f.LabelStatus != nil {
				cond = append(cond, "l.status = "+q.arg(model.Code(*f.LabelStatus)))
			}
			q.and("EXISTS (SELECT 1 FROM hub.label l WHERE " + strings.Join(cond, " AND ") + ")")
		}
		if f.JobFamily != nil {
			q.and("f.job_family = " + q.arg(model.Code(*f.JobFamily)))
		}
		if f.DeliveryMode != nil {
			q.and("f.delivery_mode = " + q.arg(model.Code(*f.DeliveryMode)))
		}
		if f.Certifying != nil {
			q.and("f.certifying = " + q.arg(*f.Certifying))
		}
		if f.FreeOfCharge != nil {
			q.and("f.free_of_charge = " + q.arg(*f.FreeOfCharge))
		}
		if f.TitleContains != nil {
			t := strings.TrimSpace(*f.TitleContains)
			if len([]rune(t)) < 2 || len(t) > 100 {
				return nil, apierror.BadInput("filter.titleContains", "give between 2 and 100 characters")
			}
			q.and("lower(f.title) LIKE " + q.arg("%"+escapeLike(strings.ToLower(t))+"%"))
		}
		if f.OrganisationID != nil {
			id, ok := model.ParseIntID("Organisation", *f.OrganisationID)
			if !ok {
				return nil, apierror.BadInput("filter.organisationId", "not an organisation identifier")
			}
			q.and("f.organisation_id = " + q.arg(id))
		}
	}
	switch by {
	case model.FormationOrderTitle:
		l.order = order{cols: []string{"f.title", "f.id"}, types: []string{"text", "integer"}}
		l.key = func(f *model.Formation) []string { return []string{f.Title, strconv.Itoa(f.RowID)} }
	default:
		l.order = order{cols: []string{"f.id"}, types: []string{"integer"}}
		l.key = func(f *model.Formation) []string { return []string{strconv.Itoa(f.RowID)} }
	}
	return l, nil
}

func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// Formations returns a page of the formations the caller can see, read with
// columns cols (nil: all).
func (s *Store) Formations(ctx context.Context, scope FormationScope, f *model.FormationFilter, by model.FormationOrder, p Page, cols []string) (*Result[model.Formation], error) {
	l, err := formationList(scope, f, by, cols)
	if err != nil {
		return nil, err
	}
	return fetch(ctx, s, l, p)
}

// FormationsByID returns the formations with the given ids that the caller can see.
func (s *Store) FormationsByID(ctx context.Context, ids []int) (map[int]*model.Formation, error) {
	var rows []*model.Formation
	err := s.Read(ctx, func(tx *sqlx.Tx) (err error) {
		rows, err = selectRows[model.Formation](ctx, tx, `SELECT `+formationCols+` FROM hub.formation f WHERE f.id = ANY($1)`, pq.Array(ids))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: formations by id: %w", err)
	}
	m := make(map[int]*model.Formation, len(rows))
	for _, r := range rows {
		m[r.RowID] = r
	}
	return m, nil
}

// OrganisationColumns are the columns an organisation is read with.
var OrganisationColumns = []string{"id", "siret", "name", "legal_status", "city", "department_code"}

var organisationCols = columnList("o", OrganisationColumns, nil)

// Organisations returns a page of organisations by name.
func (s *Store) Organisations(ctx context.Context, nameContains *string, p Page) (*Result[model.Organisation], error) {
	l := &list[model.Organisation]{
		sel:   organisationCols,
		from:  "hub.organisation o",
		order: order{cols: []string{"o.name", "o.id"}, types: []string{"text", "integer"}},
		key:   func(o *model.Organisation) []string { return []string{o.Name, strconv.Itoa(o.RowID)} },
	}
	if nameContains != nil {
		t := strings.TrimSpace(*nameContains)
		if len([]rune(t)) < 2 || len(t) > 100 {
			return nil, apierror.BadInput("nameContains", "give between 2 and 100 characters")
		}
		l.q.and("lower(o.name) LIKE " + l.q.arg("%"+escapeLike(strings.ToLower(t))+"%"))
	}
	return fetch(ctx, s, l, p)
}

// OrganisationsByID returns the organisations with the given ids.
func (s *Store) OrganisationsByID(ctx context.Context, ids []int) (map[int]*model.Organisation, error) {
	return s.OrganisationsByIDCols(ctx, ids, nil)
}

// OrganisationsByIDCols returns the organisations with the given ids, read with columns cols (nil: all).
func (s *Store) OrganisationsByIDCols(ctx context.Context, ids []int, cols []string) (map[int]*model.Organisation, error) {
	var rows []*model.Organisation
	err := s.Read(ctx, func(tx *sqlx.Tx) (err error) {
		rows, err = selectRows[model.Organisation](ctx, tx, `SELECT `+columnList("o", OrganisationColumns, cols, "id")+` FROM hub.organisation o WHERE o.id = ANY($1)`, pq.Array(ids))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: organisations by id: %w", err)
	}
	m := make(map[int]*model.Organisation, len(rows))
	for _, r := range rows {
		m[r.RowID] = r
	}
	return m, nil
}

// Regions returns every region by code.
func (s *Store) Regions(ctx context.Context) ([]*model.Region, error) {
	var rows []*model.Region
	err := s.Read(ctx, func(tx *sqlx.Tx) error {
		return tx.SelectContext(ctx, &rows, `SELECT code, name FROM hub.region ORDER BY code`)
	})
	if err != nil {
		return nil, fmt.Errorf("store: regions: %w", err)
	}
	return rows, nil
}

// Departments returns every department by code.
func (s *Store) Departments(ctx context.Context) ([]*model.Department, error) {
	var rows []*model.Department
	err := s.Read(ctx, func(tx *sqlx.Tx) error {
		return tx.SelectContext(ctx, &rows, `SELECT code, name, region_code FROM hub.department ORDER BY code`)
	})
	if err != nil {
		return nil, fmt.Errorf("store: departments: %w", err)
	}
	return rows, nil
}

// ActiveFormations counts, per region and per department, the formations the
// caller can see that hold a label in force today.
func (s *Store) ActiveFormations(ctx context.Context) (byRegion, byDepartment map[string]int, err error) {
	var rows []struct {
		Region     string `db:"region_code"`
		Department string `db:"department_code"`
		N          int    `db:"n"`
	}
	err = s.Read(ctx, func(tx *sqlx.Tx) error {
		return tx.SelectContext(ctx, &rows, `
			SELECT f.region_code, f.department_code, count(*) AS n
			  FROM hub.formation f
			 WHERE EXISTS (SELECT 1 FROM hub.label l
			                WHERE l.formation_id = f.id AND l.status IN ('active', 'renewed')
			                  AND l.granted_on <= current_date AND l.valid_until >= current_date)
			 GROUP BY f.region_code, f.department_code`)
	})
	if err != nil {
		return nil, nil, fmt.Errorf("store: active formations: %w", err)
	}
	byRegion, byDepartment = map[string]int{}, map[string]int{}
	for _, r := range rows {
		byRegion[r.Region] += r.N
		byDepartment[r.Department] += r.N
	}
	return byRegion, byDepartment, nil
}

// Qpvs returns the priority neighbourhoods with the given codes.
func (s *Store) Qpvs(ctx context.Context, codes []string) (map[string]*model.Qpv, error) {
	var rows []*model.Qpv
	err := s.Read(ctx, func(tx *sqlx.Tx) error {
		return tx.SelectContext(ctx, &rows, `SELECT code, name, commune, department_code FROM hub.qpv WHERE code = ANY($1)`, pq.Array(codes))
	})
	if err != nil {
		return nil, fmt.Errorf("store: qpv: %w", err)
	}
	m := make(map[string]*model.Qpv, len(rows))
	for _, r := range rows {
		m[r.Code] = r
	}
	return m, nil
}

const callCols = `c.id, c.code, c.name, c.programme, c.opened_on, c.closed_on, c.results_on, c.envelope_eur`

// LabellingCalls returns every labelling call, oldest first.
func (s *Store) LabellingCalls(ctx context.Context) ([]*model.LabellingCall, error) {
	var rows []*model.LabellingCall
	err := s.Read(ctx, func(tx *sqlx.Tx) error {
		return tx.SelectContext(ctx, &rows, `SELECT `+callCols+` FROM hub.labelling_call c ORDER BY c.opened_on, c.id`)
	})
	if err != nil {
		return nil, fmt.Errorf("store: labelling calls: %w", err)
	}
	return rows, nil
}

// LabelsByFormation returns the labels of the given formations, oldest first.
func (s *Store) LabelsByFormation(ctx context.Context, formationIDs []int) (map[int][]*model.Label, error) {
	var rows []*model.Label
	err := s.Read(ctx, func(tx *sqlx.Tx) (err error) {
		rows, err = selectRows[model.Label](ctx, tx, `
			SELECT l.id, l.formation_id, l.call_id, l.granted_on, l.valid_until, l.status, l.withdrawn_on
			  FROM hub.label l WHERE l.formation_id = ANY($1) ORDER BY l.granted_on, l.id`, pq.Array(formationIDs))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: labels: %w", err)
	}
	m := map[int][]*model.Label{}
	for _, r := range rows {
		m[r.FormationID] = append(m[r.FormationID], r)
	}
	return m, nil
}

// SeedGrantsByFormation returns the seed grants of the given formations that the caller may see.
func (s *Store) SeedGrantsByFormation(ctx context.Context, formationIDs []int) (map[int][]*model.SeedGrant, error) {
	var rows []*model.SeedGrant
	err := s.Read(ctx, func(tx *sqlx.Tx) error {
		return tx.SelectContext(ctx, &rows, `
			SELECT g.id, g.formation_id, g.amount_eur, g.budget_share, g.sessions_covered, g.convention_signed_on, g.justified
			  FROM hub.seed_grant g WHERE g.formation_id = ANY($1) ORDER BY g.convention_signed_on, g.id`, pq.Array(formationIDs))
	})
	if err != nil {
		return nil, fmt.Errorf("store: seed grants: %w", err)
	}
	m := map[int][]*model.SeedGrant{}
	for _, r := range rows {
		m[r.FormationID] = append(m[r.FormationID], r)
	}
	return m, nil
}

// FormationsOf returns page p of the formations the caller can see for each
// parent, all parents being organisations, regions or departments.
func FormationsOf[K comparable](ctx context.Context, s *Store, parentCol string, parentOf func(*model.Formation) K, parents []K, p Page, cols []string) (map[K]*Result[model.Formation], error) {
	l, err := formationList(FormationScope{}, nil, model.FormationOrderID, append(cols, strings.TrimPrefix(parentCol, "f.")))
	if err != nil {
		return nil, err
	}
	return fetchEach(ctx, s, l, parentCol, parentOf, parents, p)
}

// LabelsByID returns the labels with the given ids that the caller can see.
func (s *Store) LabelsByID(ctx context.Context, ids []int) (map[int]*model.Label, error) {
	var rows []*model.Label
	err := s.Read(ctx, func(tx *sqlx.Tx) error {
		return tx.SelectContext(ctx, &rows, `
			SELECT l.id, l.formation_id, l.call_id, l.granted_on, l.valid_until, l.status, l.withdrawn_on
			  FROM hub.label l WHERE l.id = ANY($1)`, pq.Array(ids))
	})
	if err != nil {
		return nil, fmt.Errorf("store: labels by id: %w", err)
	}
	m := make(map[int]*model.Label, len(rows))
	for _, r := range rows {
		m[r.RowID] = r
	}
	return m, nil
}

// LabellingCallsByID returns the labelling calls with the given ids.
func (s *Store) LabellingCallsByID(ctx context.Context, ids []int) (map[int]*model.LabellingCall, error) {
	var rows []*model.LabellingCall
	err := s.Read(ctx, func(tx *sqlx.Tx) error {
		return tx.SelectContext(ctx, &rows, `SELECT `+callCols+` FROM hub.labelling_call c WHERE c.id = ANY($1)`, pq.Array(ids))
	})
	if err != nil {
		return nil, fmt.Errorf("store: labelling calls by id: %w", err)
	}
	m := make(map[int]*model.LabellingCall, len(rows))
	for _, r := range rows {
		m[r.RowID] = r
	}
	return m, nil
}
