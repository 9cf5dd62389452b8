package graph_test

import (
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/gen-hub/genhub/graph/model"
	"github.com/gen-hub/genhub/internal/hubtest"
	"github.com/gen-hub/genhub/internal/seed"
)

type formationPage struct {
	Formations struct {
		TotalCount int
		PageInfo   struct {
			HasNextPage, HasPreviousPage bool
			StartCursor, EndCursor       *string
		}
		Edges []struct {
			Cursor string
			Node   struct{ ID, Title string }
		}
	}
}

const pageQuery = `query($first: Int, $after: String, $last: Int, $before: String, $filter: FormationFilter, $orderBy: FormationOrder) {
  formations(first: $first, after: $after, last: $last, before: $before, filter: $filter, orderBy: $orderBy) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { id title } }
  }
}`

// walk pages through the formations the key sees, forward or backward, and
// returns their row ids in list order.
func walk(t *testing.T, e *hubtest.Env, key string, size int, backward bool, vars map[string]any) []int {
	t.Helper()
	var ids []int
	var cursor *string
	for page := 0; ; page++ {
		v := map[string]any{}
		for k, x := range vars {
			v[k] = x
		}
		if backward {
			v["last"], v["before"] = size, cursor
		} else {
			v["first"], v["after"] = size, cursor
		}
		var p formationPage
		e.Query(t, key, pageQuery, v).MustData(t, &p)
		var pageIDs []int
		for _, edge := range p.Formations.Edges {
			id, ok := model.ParseIntID("Formation", edge.Node.ID)
			if !ok {
				t.Fatalf("bad id %q", edge.Node.ID)
			}
			pageIDs = append(pageIDs, id)
		}
		if backward {
			ids = append(pageIDs, ids...)
			if !p.Formations.PageInfo.HasPreviousPage {
				return ids
			}
			cursor = p.Formations.PageInfo.StartCursor
		} else {
			ids = append(ids, pageIDs...)
			if !p.Formations.PageInfo.HasNextPage {
				return ids
			}
			cursor = p.Formations.PageInfo.EndCursor
		}
		if page > 10000/size {
			t.Fatal("pagination does not end")
		}
	}
}

func sqlIDs(t *testing.T, e *hubtest.Env, q string, args ...any) []int {
	t.Helper()
	var ids []int
	if err := e.Admin.Select(&ids, q, args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return ids
}

// TestCataloguePagination pages through the public catalogue forward and
// backward, by id and by title: every listed formation once, no gaps, stable order.
func TestCataloguePagination(t *testing.T) {
	e := hubtest.New(t)
	byID := sqlIDs(t, e, `SELECT id FROM hub.formation WHERE listed ORDER BY id`)
	byTitle := sqlIDs(t, e, `SELECT id FROM hub.formation WHERE listed ORDER BY title, id`)
	if len(byID) < 800 {
		t.Fatalf("only %d listed formations in the demo data", len(byID))
	}
	tests := []struct {
		name     string
		size     int
		backward bool
		order    string
		want     []int
	}{
		{"forward by id", 100, false, "ID", byID},
		{"forward by id, odd page", 37, false, "ID", byID},
		{"backward by id", 100, true, "ID", byID},
		{"forward by title", 64, false, "TITLE", byTitle},
		{"backward by title", 50, true, "TITLE", byTitle},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := walk(t, e, "", tc.size, tc.backward, map[string]any{"orderBy": tc.order})
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("ids mismatch (-want +got):\n%s", diff)
			}
		})
	}
	t.Run("first page and total", func(t *testing.T) {
		var p formationPage
		e.Query(t, "", pageQuery, map[string]any{"first": 5}).MustData(t, &p)
		if len(p.Formations.Edges) != 5 || p.Formations.TotalCount != len(byID) || !p.Formations.PageInfo.HasNextPage {
			t.Errorf("first page: %d edges, totalCount %d (want 5 and %d), hasNextPage %v",
				len(p.Formations.Edges), p.Formations.TotalCount, len(byID), p.Formations.PageInfo.HasNextPage)
		}
	})
}

// TestCatalogueFilters compares each filter with the same selection in SQL.
func TestCatalogueFilters(t *testing.T) {
	e := hubtest.New(t)
	var orgID int
	if err := e.Admin.Get(&orgID, `SELECT organisation_id FROM hub.formation WHERE listed GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1`); err != nil {
		t.Fatal(err)
	}
	var remote string // a Corsican or overseas department with formations
	if err := e.Admin.Get(&remote, `SELECT department_code FROM hub.formation WHERE listed AND length(department_code) = 3 OR department_code LIKE '2_' AND department_code !~ '^[0-9]+$' ORDER BY 1 LIMIT 1`); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		filter map[string]any
		where  string
		args   []any
	}{
		{"region", map[string]any{"regionCode": "32"}, "region_code = $1", []any{"32"}},
		{"department", map[string]any{"departmentCode": "93"}, "department_code = $1", []any{"93"}},
		{"corsica or overseas", map[string]any{"departmentCode": remote}, "department_code = $1", []any{remote}},
		{"labelling call", map[string]any{"labellingCall": "W1-2015"},
			"id IN (SELECT formation_id FROM hub.label l JOIN hub.labelling_call c ON c.id = l.call_id WHERE c.code = $1)", []any{"W1-2015"}},
		{"label status", map[string]any{"labelStatus": "ACTIVE"}, "id IN (SELECT formation_id FROM hub.label WHERE status = $1)", []any{"active"}},
		{"job family", map[string]any{"jobFamily": "DATA"}, "job_family = $1", []any{"data"}},
		{"delivery mode", map[string]any{"deliveryMode": "REMOTE"}, "delivery_mode = $1", []any{"remote"}},
		{"certifying", map[string]any{"certifying": true}, "certifying = $1", []any{true}},
		{"free", map[string]any{"freeOfCharge": false}, "free_of_charge = $1", []any{false}},
		{"title", map[string]any{"titleContains": "Développ"}, "lower(title) LIKE $1", []any{"%développ%"}},
		{"organisation", map[string]any{"organisationId": model.IntID("Organisation", orgID)}, "organisation_id = $1", []any{orgID}},
		{"combined", map[string]any{"regionCode": "11", "jobFamily": "DEV_INTEGRATION_TEST", "certifying": true},
			"region_code = $1 AND job_family = $2 AND certifying", []any{"11", "dev_integration_test"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			want := sqlIDs(t, e, `SELECT id FROM hub.formation WHERE listed AND `+tc.where+` ORDER BY id`, tc.args...)
			got := walk(t, e, "", 100, false, map[string]any{"filter": tc.filter})
			if len(want) == 0 {
				t.Fatalf("the demo data has no formation for this filter: the test would prove nothing")
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("ids mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestCatalogueBadInput checks that bad arguments get BAD_USER_INPUT with the field.
func TestCatalogueBadInput(t *testing.T) {
	e := hubtest.New(t)
	tests := []struct {
		name  string
		vars  map[string]any
		field string
	}{
		{"region code", map[string]any{"first": 5, "filter": map[string]any{"regionCode": "999"}}, "filter.regionCode"},
		{"department 20", map[string]any{"first": 5, "filter": map[string]any{"departmentCode": "20"}}, "filter.departmentCode"},
		{"page too large", map[string]any{"first": 1000}, "first"},
		{"negative page", map[string]any{"last": -1}, "last"},
		{"first and last", map[string]any{"first": 5, "last": 5}, "first"},
		{"garbage cursor", map[string]any{"first": 5, "after": "not-a-cursor"}, "after"},
		{"cursor of the wrong type", map[string]any{"first": 5, "after": "WyJhYmMiXQ"}, "after"}, // ["abc"] where an id goes
		{"cursor of another order", map[string]any{"last": 5, "before": "WyIyMDE3LTAxLTAxIiwiMyIsIjQiXQ"}, "before"},
		{"short title", map[string]any{"first": 5, "filter": map[string]any{"titleContains": "a"}}, "filter.titleContains"},
		{"organisation id", map[string]any{"first": 5, "filter": map[string]any{"organisationId": "Zm9vOmJhcg"}}, "filter.organisationId"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := e.Query(t, "", pageQuery, tc.vars)
			if len(r.Errors) != 1 || r.Errors[0].Code() != "BAD_USER_INPUT" || r.Errors[0].Extensions["field"] != tc.field {
				t.Fatalf("errors = %+v; want one BAD_USER_INPUT on %s", r.Errors, tc.field)
			}
		})
	}
	t.Run("wrong type", func(t *testing.T) {
		r := e.Query(t, "", pageQuery, map[string]any{"first": "five"})
		if len(r.Errors) == 0 || r.Errors[0].Code() != "BAD_USER_INPUT" {
			t.Fatalf("errors = %+v; want BAD_USER_INPUT", r.Errors)
		}
	})
}

// TestReferenceAndFigures checks regions, departments and the national key figures against SQL.
func TestReferenceAndFigures(t *testing.T) {
	e := hubtest.New(t)
	var got struct {
		Regions []struct {
			Code             string
			ActiveFormations int
			Departments      []struct{ Code string }
		}
		KeyFigures struct {
			Learners   int
			WomenShare float64
			Targets    []struct {
				Code              string
				Target, AtDueDate float64
			}
		}
	}
	e.Query(t, "", `{ regions { code activeFormations departments { code } } keyFigures { learners womenShare targets { code target atDueDate } } }`, nil).MustData(t, &got)
	if len(got.Regions) != 18 {
		t.Fatalf("%d regions, want 18", len(got.Regions))
	}
	depts := 0
	for _, r := range got.Regions {
		depts += len(r.Departments)
		var want int
		e.Admin.Get(&want, `SELECT count(*) FROM hub.formation f WHERE region_code = $1 AND listed AND EXISTS (
			SELECT 1 FROM hub.label l WHERE l.formation_id = f.id AND l.status IN ('active','renewed') AND l.granted_on <= current_date AND l.valid_until >= current_date)`, r.Code)
		if r.ActiveFormations != want {
			t.Errorf("region %s: activeFormations %d, want %d", r.Code, r.ActiveFormations, want)
		}
	}
	if depts != 101 {
		t.Errorf("%d departments, want 101", depts)
	}
	var learners, women int
	e.Admin.Get(&learners, `SELECT count(*) FROM hub.enrolment`)
	e.Admin.Get(&women, `SELECT count(*) FROM hub.enrolment WHERE sex = 'female'`)
	if got.KeyFigures.Learners != learners || fmt.Sprintf("%.6f", got.KeyFigures.WomenShare) != fmt.Sprintf("%.6f", float64(women)/float64(learners)) {
		t.Errorf("key figures: learners %d share %f; want %d and %f", got.KeyFigures.Learners, got.KeyFigures.WomenShare, learners, float64(women)/float64(learners))
	}
	if len(got.KeyFigures.Targets) != 4 {
		t.Errorf("targets = %+v, want 4", got.KeyFigures.Targets)
	}
}

// TestSameFieldTwiceUnderAPage: a nested page asked under both nodes and
// edges, with different fields each time, is read with the columns of both.
func TestSameFieldTwiceUnderAPage(t *testing.T) {
	e := hubtest.New(t)
	var d struct {
		Formations struct {
			Nodes []struct {
				Sessions struct{ Nodes []struct{ ID string } }
			}
			Edges []struct {
				Node struct {
					Sessions struct {
						Nodes []struct{ ID, StartOn, EndOn string }
					}
				}
			}
		}
	}
	e.Query(t, "", `{ formations(first: 5) { nodes { sessions(first: 2) { nodes { id } } }
		edges { node { sessions(first: 2) { nodes { id startOn endOn } } } } } }`, nil).MustData(t, &d)
	n := 0
	for _, edge := range d.Formations.Edges {
		for _, s := range edge.Node.Sessions.Nodes {
			id, _ := model.ParseIntID("Session", s.ID)
			var start, end string
			if err := e.Admin.QueryRow(`SELECT start_on::text, end_on::text FROM hub.session WHERE id = $1`, id).Scan(&start, &end); err != nil {
				t.Fatal(err)
			}
			if s.StartOn != start || s.EndOn != end {
				t.Errorf("session %d: %s to %s; want %s to %s", id, s.StartOn, s.EndOn, start, end)
			}
			n++
		}
	}
	if n == 0 {
		t.Fatal("no sessions in the answer")
	}
}

// TestOrganisationsReadWithThePage: a page of formations asking for their
// organisation reads them in the same statement (one statement fewer), and
// each is the organisation's row, for a partner and for the public.
func TestOrganisationsReadWithThePage(t *testing.T) {
	e := hubtest.New(t)
	var region string
	for _, p := range seed.Partners() {
		if p.Slug == "region-hauts-de-france" {
			region = p.Key
		}
	}
	const q = `{ formations(first: 30) { nodes { organisation { id siret name legalStatus city department { code } } } } }`
	for _, key := range []string{"", region} {
		var d struct {
			Formations struct {
				Nodes []struct {
					Organisation struct {
						ID, Siret, Name, LegalStatus, City string
						Department                         struct{ Code string }
					}
				}
			}
		}
		e.Query(t, key, q, nil).MustData(t, &d)
		if len(d.Formations.Nodes) == 0 {
			t.Fatal("no formations")
		}
		for _, n := range d.Formations.Nodes {
			o := n.Organisation
			id, _ := model.ParseIntID("Organisation", o.ID)
			var siret, name, status, city, dept string
			if err := e.Admin.QueryRow(`SELECT siret, name, upper(legal_status), city, department_code FROM hub.organisation WHERE id = $1`, id).
				Scan(&siret, &name, &status, &city, &dept); err != nil {
				t.Fatal(err)
			}
			if o.Siret != siret || o.Name != name || o.LegalStatus != status || o.City != city || o.Department.Code != dept {
				t.Errorf("organisation %d: %+v; want %s %s %s %s %s", id, o, siret, name, status, city, dept)
			}
		}
	}
	with := e.StatementCount(t, func() { e.Query(t, region, q, nil) })
	without := e.StatementCount(t, func() {
		e.Query(t, region, `{ formations(first: 30) { nodes { id } } }`, nil)
	})
	if with != without {
		t.Errorf("statements with organisations %d, without %d; want the same", with, without)
	}
}
