package graph_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/gen-hub/genhub/graph/model"
	"github.com/gen-hub/genhub/internal/hubtest"
	"github.com/gen-hub/genhub/internal/seed"
)

// The leak matrix: every demo partner (and the public) against every query
// path, each compared with the visibility computed here, independently of the
// hub's SQL, from the entitlement rows and the formations' attributes.

var levels = map[string]int{"public": 0, "aggregate": 1, "detail": 2, "personal": 3}

type world struct {
	today      time.Time
	formations map[int]formationFacts
	sessions   map[int]int // session → formation
	enrolments map[int]int // enrolment → formation
	enrolSess  map[int]int // enrolment → session
	learners   map[int]int // session → number of enrolments
	aid        map[int]aidFacts
	agreements map[int]agreementFacts
	partners   map[int]partnerFacts
	grants     []grantFacts
}

type formationFacts struct {
	Region, Department string
	Organisation       int
	Listed             bool
	Calls              []int
}

type aidFacts struct{ Formation, Enrolment, Crous int }

type agreementFacts struct {
	Partner               int
	Scope, Region, Dept   string
	Org, Formation, Call  int
	ValidFrom, ValidUntil time.Time
}

type partnerFacts struct{ Slug, Kind string }

type grantFacts struct {
	ID, Partner                     int
	Scope, Region, Dept, Level      string
	Org, Formation, Agreement, Call int
	ValidFrom                       time.Time
	ValidUntil, Revoked             *time.Time
}

func loadWorld(t *testing.T, e *hubtest.Env) *world {
	t.Helper()
	w := &world{formations: map[int]formationFacts{}, sessions: map[int]int{}, enrolments: map[int]int{},
		enrolSess: map[int]int{}, learners: map[int]int{},
		aid: map[int]aidFacts{}, agreements: map[int]agreementFacts{}, partners: map[int]partnerFacts{}}
	must := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	must(e.Admin.Get(&w.today, `SELECT current_date`))
	var fs []struct {
		ID     int    `db:"id"`
		Region string `db:"region_code"`
		Dept   string `db:"department_code"`
		Org    int    `db:"organisation_id"`
		Listed bool   `db:"listed"`
	}
	must(e.Admin.Select(&fs, `SELECT id, region_code, department_code, organisation_id, listed FROM hub.formation`))
	for _, f := range fs {
		w.formations[f.ID] = formationFacts{Region: f.Region, Department: f.Dept, Organisation: f.Org, Listed: f.Listed}
	}
	var labels []struct{ F, C int }
	must(e.Admin.Select(&labels, `SELECT formation_id AS f, call_id AS c FROM hub.label`))
	for _, l := range labels {
		f := w.formations[l.F]
		f.Calls = append(f.Calls, l.C)
		w.formations[l.F] = f
	}
	var pairs []struct{ K, V int }
	must(e.Admin.Select(&pairs, `SELECT id AS k, formation_id AS v FROM hub.session`))
	for _, p := range pairs {
		w.sessions[p.K] = p.V
	}
	var es []struct{ ID, F, S int }
	must(e.Admin.Select(&es, `SELECT id, formation_id AS f, session_id AS s FROM hub.enrolment`))
	for _, x := range es {
		w.enrolments[x.ID], w.enrolSess[x.ID] = x.F, x.S
		w.learners[x.S]++
	}
	var aid []struct{ ID, F, E, C int }
	must(e.Admin.Select(&aid, `SELECT id, formation_id AS f, enrolment_id AS e, crous_id AS c FROM hub.aid_application`))
	for _, a := range aid {
		w.aid[a.ID] = aidFacts{Formation: a.F, Enrolment: a.E, Crous: a.C}
	}
	var ps []struct {
		ID         int
		Slug, Kind string
	}
	must(e.Admin.Select(&ps, `SELECT id, slug, kind FROM hub.partner`))
	for _, p := range ps {
		w.partners[p.ID] = partnerFacts{Slug: p.Slug, Kind: p.Kind}
	}
	var as []struct {
		ID, Partner         int
		Scope, Region, Dept string
		Org, F, Call        int
		From, Until         time.Time
	}
	must(e.Admin.Select(&as, `SELECT id, partner_id AS partner, scope, coalesce(region_code, '') AS region,
		coalesce(department_code, '') AS dept, coalesce(organisation_id, 0) AS org, coalesce(formation_id, 0) AS f,
		coalesce(call_id, 0) AS call, valid_from AS from, valid_until AS until FROM hub.funding_agreement`))
	for _, a := range as {
		w.agreements[a.ID] = agreementFacts{Partner: a.Partner, Scope: a.Scope, Region: a.Region, Dept: a.Dept,
			Org: a.Org, Formation: a.F, Call: a.Call, ValidFrom: a.From, ValidUntil: a.Until}
	}
	var gs []struct {
		ID, Partner                int
		Scope, Region, Dept, Level string
		Org, F, Agreement, Call    int
		From                       time.Time
		Until, Revoked             *time.Time
	}
	must(e.Admin.Select(&gs, `SELECT id, partner_id AS partner, scope, coalesce(region_code, '') AS region,
		coalesce(department_code, '') AS dept, level, coalesce(organisation_id, 0) AS org, coalesce(formation_id, 0) AS f,
		coalesce(agreement_id, 0) AS agreement, coalesce(call_id, 0) AS call, valid_from AS from, valid_until AS until,
		revoked_at AS revoked FROM hub.entitlement`))
	for _, g := range gs {
		w.grants = append(w.grants, grantFacts{ID: g.ID, Partner: g.Partner, Scope: g.Scope, Region: g.Region, Dept: g.Dept,
			Level: g.Level, Org: g.Org, Formation: g.F, Agreement: g.Agreement, Call: g.Call, ValidFrom: g.From,
			ValidUntil: g.Until, Revoked: g.Revoked})
	}
	return w
}

// inForce returns partner p's grants in force today, agreements resolved to their scope.
func (w *world) inForce(p int) []grantFacts {
	var out []grantFacts
	for _, g := range w.grants {
		if g.Partner != p || g.Revoked != nil || g.ValidFrom.After(w.today) || (g.ValidUntil != nil && g.ValidUntil.Before(w.today)) {
			continue
		}
		if g.Scope == "funding_agreement" {
			a := w.agreements[g.Agreement]
			if a.ValidFrom.After(w.today) || a.ValidUntil.Before(w.today) {
				continue
			}
			g.Scope, g.Region, g.Dept, g.Org, g.Formation, g.Call = a.Scope, a.Region, a.Dept, a.Org, a.Formation, a.Call
		}
		out = append(out, g)
	}
	return out
}

func (w *world) covers(g grantFacts, id int) bool {
	f := w.formations[id]
	switch g.Scope {
	case "national":
		return true
	case "region":
		return f.Region == g.Region
	case "department":
		return f.Department == g.Dept
	case "organisation":
		return f.Organisation == g.Org
	case "formation":
		return id == g.Formation
	case "labelling_call":
		return slices.Contains(f.Calls, g.Call)
	}
	return false
}

// formationsAt returns the formations partner p holds a grant on at level or above.
func (w *world) formationsAt(p int, level string) map[int]bool {
	out := map[int]bool{}
	for _, g := range w.inForce(p) {
		if levels[g.Level] < levels[level] {
			continue
		}
		for id := range w.formations {
			if w.covers(g, id) {
				out[id] = true
			}
		}
	}
	return out
}

func (w *world) maxLevel(p int) string {
	best := "public"
	for _, g := range w.inForce(p) {
		if levels[g.Level] > levels[best] {
			best = g.Level
		}
	}
	return best
}

func sortedKeys(m map[int]bool) []int {
	out := make([]int, 0, len(m))
	for k, ok := range m {
		if ok {
			out = append(out, k)
		}
	}
	sort.Ints(out)
	return out
}

// expected is what one caller must see on each path.
type expected struct {
	formations, sessions, enrolments, aid, agreements, entitlements []int
	level                                                           string
	enrolmentsAllowed, aidAllowed, partnersAllowed                  bool
}

func (w *world) expect(p int) expected {
	var x expected
	kind := w.partners[p].Kind
	detail := w.formationsAt(p, "detail")
	personal := w.formationsAt(p, "personal")
	vis := map[int]bool{}
	for id, f := range w.formations {
		vis[id] = f.Listed || detail[id]
	}
	x.formations = sortedKeys(vis)
	ss := map[int]bool{}
	for s, f := range w.sessions {
		ss[s] = vis[f]
	}
	x.sessions = sortedKeys(ss)
	if p == 0 {
		x.level = "public"
		return x
	}
	x.level = w.maxLevel(p)
	x.enrolmentsAllowed = levels[x.level] >= 3 || kind == "operator"
	x.aidAllowed = x.enrolmentsAllowed
	x.partnersAllowed = kind == "operator"
	es, as := map[int]bool{}, map[int]bool{}
	for id, a := range w.aid {
		as[id] = personal[a.Formation] || (kind == "crous" && a.Crous == p)
		if kind == "crous" && a.Crous == p {
			es[a.Enrolment] = true
		}
	}
	for id, f := range w.enrolments {
		if personal[f] {
			es[id] = true
		}
	}
	x.enrolments, x.aid = sortedKeys(es), sortedKeys(as)
	ag, gr := map[int]bool{}, map[int]bool{}
	for id, a := range w.agreements {
		ag[id] = kind == "operator" || a.Partner == p
	}
	for _, g := range w.grants {
		gr[g.ID] = kind == "operator" || g.Partner == p
	}
	x.agreements, x.entitlements = sortedKeys(ag), sortedKeys(gr)
	return x
}

// listIDs pages through a root connection and returns the row ids, or the error code.
func listIDs(t *testing.T, e *hubtest.Env, key, field, typ string) ([]int, string) {
	t.Helper()
	var ids []int
	var after *string
	for {
		r := e.Query(t, key, fmt.Sprintf(`query($after: String) { %s(first: 100, after: $after) {
			pageInfo { hasNextPage endCursor } nodes { id } } }`, field), map[string]any{"after": after})
		if len(r.Errors) > 0 {
			return nil, r.Errors[0].Code()
		}
		var d map[string]struct {
			PageInfo struct {
				HasNextPage bool
				EndCursor   *string
			}
			Nodes []struct{ ID string }
		}
		r.MustData(t, &d)
		for _, n := range d[field].Nodes {
			id, ok := model.ParseIntID(typ, n.ID)
			if !ok {
				t.Fatalf("%s: bad id %q", field, n.ID)
			}
			ids = append(ids, id)
		}
		if !d[field].PageInfo.HasNextPage {
			sort.Ints(ids)
			return ids, ""
		}
		after = d[field].PageInfo.EndCursor
	}
}

func totalCount(t *testing.T, e *hubtest.Env, key, field string) (int, string) {
	t.Helper()
	r := e.Query(t, key, fmt.Sprintf(`{ %s(first: 1) { totalCount } }`, field), nil)
	if len(r.Errors) > 0 {
		return 0, r.Errors[0].Code()
	}
	var d map[string]struct{ TotalCount int }
	r.MustData(t, &d)
	return d[field].TotalCount, ""
}

type caller struct {
	name, key string
	id        int
}

func callers(t *testing.T, e *hubtest.Env) []caller {
	out := []caller{{name: "public"}}
	for _, p := range seed.Partners() {
		var id int
		if err := e.Admin.Get(&id, `SELECT id FROM hub.partner WHERE slug = $1`, p.Slug); err != nil {
			t.Fatalf("partner %s: %v", p.Slug, err)
		}
		out = append(out, caller{name: p.Slug, key: p.Key, id: id})
	}
	return out
}

// TestAccessMatrix runs every demo partner against every list path and checks
// the exact set of visible ids (or counts, for the operator's large sets).
func TestAccessMatrix(t *testing.T) {
	e := hubtest.New(t)
	w := loadWorld(t, e)
	kinds := map[string]bool{}
	for _, c := range callers(t, e) {
		x := w.expect(c.id)
		kinds[w.partners[c.id].Kind] = true
		t.Run(c.name, func(t *testing.T) {
			check := func(path string, want []int, allowed bool, got []int, code string) {
				t.Helper()
				switch {
				case !allowed && code != "FORBIDDEN":
					t.Errorf("%s: got %d rows, error %q; want FORBIDDEN", path, len(got), code)
				case allowed && code != "":
					t.Errorf("%s: error %s; want %d rows", path, code, len(want))
				case allowed:
					if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
						t.Errorf("%s: ids mismatch (-want +got):\n%s", path, diff)
					}
				}
			}
			count := func(path string, want int, allowed bool) {
				t.Helper()
				n, code := totalCount(t, e, c.key, path)
				if !allowed {
					if code != "FORBIDDEN" {
						t.Errorf("%s totalCount: %d, error %q; want FORBIDDEN", path, n, code)
					}
					return
				}
				if code != "" || n != want {
					t.Errorf("%s totalCount = %d (error %q), want %d", path, n, code, want)
				}
			}
			count("formations", len(x.formations), true)
			count("sessions", len(x.sessions), true)
			count("enrolments", len(x.enrolments), x.enrolmentsAllowed)
			count("aidApplications", len(x.aid), x.aidAllowed)
			count("fundingAgreements", len(x.agreements), c.key != "")
			count("entitlements", len(x.entitlements), c.key != "")
			count("partners", len(w.partners), x.partnersAllowed)
			got, code := listIDs(t, e, c.key, "formations", "Formation")
			check("formations", x.formations, true, got, code)
			// Seed grants: detail level, and never a CROUS (finances).
			kind := w.partners[c.id].Kind
			finances := kind == "operator" || (c.key != "" && levels[x.level] >= 2 && kind != "crous")
			r := e.Query(t, c.key, `{ formations(first: 20) { nodes { id seedGrants { amountEur } } } }`, nil)
			for _, err := range r.Errors {
				if finances || err.Code() != "FORBIDDEN" {
					t.Errorf("seedGrants: error %s %q; want %s", err.Code(), err.Message, map[bool]string{true: "none", false: "FORBIDDEN"}[finances])
				}
			}
			if !finances && len(x.formations) > 0 && len(r.Errors) == 0 {
				t.Errorf("seedGrants: no error; want FORBIDDEN")
			}
			if len(x.enrolments) <= 3000 {
				got, code = listIDs(t, e, c.key, "enrolments", "Enrolment")
				check("enrolments", x.enrolments, x.enrolmentsAllowed, got, code)
			}
			if len(x.aid) <= 3000 {
				got, code = listIDs(t, e, c.key, "aidApplications", "AidApplication")
				check("aidApplications", x.aid, x.aidAllowed, got, code)
			}
			if c.key != "" {
				got, code = listIDs(t, e, c.key, "fundingAgreements", "FundingAgreement")
				check("fundingAgreements", x.agreements, true, got, code)
				got, code = listIDs(t, e, c.key, "entitlements", "Entitlement")
				check("entitlements", x.entitlements, true, got, code)
			}
			// me: the partner and its level.
			var me struct {
				Me *struct {
					Partner      struct{ Slug string }
					Level        string
					Entitlements []struct{ ID string }
				}
			}
			e.Query(t, c.key, `{ me { partner { slug } level entitlements { id } } }`, nil).MustData(t, &me)
			if c.key == "" {
				if me.Me != nil {
					t.Errorf("me = %+v for the public, want null", me.Me)
				}
			} else if me.Me == nil || me.Me.Partner.Slug != c.name || me.Me.Level != upper(x.level) || len(me.Me.Entitlements) != len(w.inForce(c.id)) {
				t.Errorf("me = %+v; want %s at %s with %d entitlements", me.Me, c.name, x.level, len(w.inForce(c.id)))
			}
		})
	}
	for _, k := range []string{"operator", "funder", "region", "employment_service", "crous", "organisation"} {
		if !kinds[k] {
			t.Errorf("no demo partner of kind %s in the matrix", k)
		}
	}
}

func upper(s string) string {
	b := []byte(s)
	for i := range b {
		if b[i] >= 'a' && b[i] <= 'z' {
			b[i] -= 'a' - 'A'
		}
	}
	return string(b)
}

// TestHiddenLooksMissing checks that asking for a hidden row by id answers
// exactly like asking for one that does not exist, on every by-id path.
func TestHiddenLooksMissing(t *testing.T) {
	e := hubtest.New(t)
	w := loadWorld(t, e)
	var hidden, enrolment, maxID int
	if err := e.Admin.Get(&hidden, `SELECT id FROM hub.formation WHERE NOT listed ORDER BY id LIMIT 1`); err != nil {
		t.Fatalf("the demo data has no unlisted formation: %v", err)
	}
	e.Admin.Get(&maxID, `SELECT max(id) + 1000 FROM hub.formation`)
	e.Admin.Get(&enrolment, `SELECT min(id) FROM hub.enrolment`)
	var enrolmentMissing int
	e.Admin.Get(&enrolmentMissing, `SELECT max(id) + 1000 FROM hub.enrolment`)
	paths := []struct {
		name, query string
		hidden      string
		missing     string
	}{
		{"formation", `query($id: ID!) { formation(id: $id) { id title } }`,
			model.IntID("Formation", hidden), model.IntID("Formation", maxID)},
		{"node formation", `query($id: ID!) { node(id: $id) { id ... on Formation { title } } }`,
			model.IntID("Formation", hidden), model.IntID("Formation", maxID)},
		{"nodes enrolment", `query($id: ID!) { nodes(ids: [$id]) { id } }`,
			model.IntID("Enrolment", enrolment), model.IntID("Enrolment", enrolmentMissing)},
		{"explain", `query($id: ID!) { explainAccess(formationId: $id) { visible level reasons entitlements { id } } }`,
			model.IntID("Formation", hidden), model.IntID("Formation", maxID)},
	}
	for _, c := range callers(t, e) {
		x := w.expect(c.id)
		if slices.Contains(x.formations, hidden) {
			continue // this caller may see it: nothing to compare
		}
		for _, p := range paths {
			if p.name == "nodes enrolment" && slices.Contains(x.enrolments, enrolment) {
				continue
			}
			h := e.Query(t, c.key, p.query, map[string]any{"id": p.hidden})
			m := e.Query(t, c.key, p.query, map[string]any{"id": p.missing})
			scrub := func(r *hubtest.Response) string {
				for i := range r.Errors {
					delete(r.Errors[i].Extensions, "requestId")
				}
				s := string(r.Data)
				// The explanation echoes the id asked; compare the rest.
				return fmt.Sprint(len(s), r.Errors)
			}
			if scrub(h) != scrub(m) || h.Status != m.Status {
				t.Errorf("%s as %s: hidden answers %s %v, missing answers %s %v", p.name, c.name, h.Data, h.Errors, m.Data, m.Errors)
			}
		}
	}
}

// TestNestedFromVisibleParent checks that nested lists under a visible parent
// show only what the caller may see: sessions' enrolment counts and enrolments.
func TestNestedFromVisibleParent(t *testing.T) {
	e := hubtest.New(t)
	w := loadWorld(t, e)
	q := `query($id: ID!) { formation(id: $id) { id sessions(first: 100) { nodes { id
		enrolmentCount { value published reason confidential }
		enrolments(first: 100) { totalCount nodes { id } } } } } }`
	// A listed formation of the organisation partner's own, and one of another region.
	var own, other int
	orgPartner := seed.Partners()[0]
	for _, p := range seed.Partners() {
		if p.Kind == "organisation" {
			orgPartner = p
			break
		}
	}
	e.Admin.Get(&own, `SELECT f.id FROM hub.formation f JOIN hub.organisation o ON o.id = f.organisation_id
		WHERE o.siret = $1 AND f.listed AND EXISTS (SELECT 1 FROM hub.session s WHERE s.formation_id = f.id) ORDER BY f.id LIMIT 1`, orgPartner.SIRET)
	e.Admin.Get(&other, `SELECT f.id FROM hub.formation f JOIN hub.organisation o ON o.id = f.organisation_id
		WHERE o.siret <> $1 AND f.listed AND f.region_code <> (SELECT department_code FROM hub.organisation WHERE siret = $1)
		AND EXISTS (SELECT 1 FROM hub.session s WHERE s.formation_id = f.id) ORDER BY f.id LIMIT 1`, orgPartner.SIRET)
	if own == 0 || other == 0 {
		t.Fatal("demo data lacks the formations this test needs")
	}
	for _, c := range callers(t, e) {
		x := w.expect(c.id)
		for _, fid := range []int{own, other} {
			r := e.Query(t, c.key, q, map[string]any{"id": model.IntID("Formation", fid)})
			var d struct {
				Formation struct {
					Sessions struct {
						Nodes []struct {
							ID             string
							EnrolmentCount *struct {
								Value     *int
								Published bool
								Reason    *string
							}
							Enrolments *struct {
								TotalCount int
								Nodes      []struct{ ID string }
							}
						}
					}
				}
			}
			// Errors are expected for fields above the caller's level; data must still be right.
			if err := jsonUnmarshal(r.Data, &d); err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			personal := w.formationsAt(c.id, "personal")[fid] || w.partners[c.id].Kind == "operator"
			aggregate := w.formationsAt(c.id, "aggregate")[fid]
			for _, s := range d.Formation.Sessions.Nodes {
				sid, _ := model.ParseIntID("Session", s.ID)
				learners := w.learners[sid]
				switch {
				case (levels[x.level] < 2 && w.partners[c.id].Kind != "operator") || w.partners[c.id].Kind == "crous":
					if s.EnrolmentCount != nil {
						t.Errorf("%s: enrolmentCount shown below detail level", c.name)
					}
				case personal:
					if s.EnrolmentCount == nil || s.EnrolmentCount.Value == nil || *s.EnrolmentCount.Value != learners {
						t.Errorf("%s: session %d count %+v, want %d", c.name, sid, s.EnrolmentCount, learners)
					}
				case !aggregate:
					if s.EnrolmentCount == nil || s.EnrolmentCount.Value != nil || s.EnrolmentCount.Reason == nil || *s.EnrolmentCount.Reason != "NOT_ENTITLED" {
						t.Errorf("%s: session %d count %+v, want NOT_ENTITLED", c.name, sid, s.EnrolmentCount)
					}
				case learners > 0 && learners < 11:
					if s.EnrolmentCount == nil || s.EnrolmentCount.Value != nil || s.EnrolmentCount.Published {
						t.Errorf("%s: session %d with %d learners published %+v", c.name, sid, learners, s.EnrolmentCount)
					}
				default:
					if s.EnrolmentCount == nil || s.EnrolmentCount.Value == nil || *s.EnrolmentCount.Value != learners {
						t.Errorf("%s: session %d count %+v, want %d", c.name, sid, s.EnrolmentCount, learners)
					}
				}
				if s.Enrolments != nil {
					want := 0
					for _, id := range x.enrolments {
						if w.enrolSess[id] == sid {
							want++
						}
					}
					if s.Enrolments.TotalCount != want || len(s.Enrolments.Nodes) != min(want, 100) {
						t.Errorf("%s: session %d shows %d enrolments (total %d), want %d", c.name, sid, len(s.Enrolments.Nodes), s.Enrolments.TotalCount, want)
					}
				} else if x.enrolmentsAllowed && personal {
					t.Errorf("%s: session %d enrolments missing for a personal-level caller", c.name, sid)
				}
			}
		}
	}
}

func jsonUnmarshal(b []byte, v any) error {
	if len(b) == 0 || string(b) == "null" {
		return nil
	}
	return json.Unmarshal(b, v)
}

// TestExpiryAndRevocation: an agreement that ended yesterday grants nothing
// today, one that ends today still does, and a revoked key fails at once.
func TestExpiryAndRevocation(t *testing.T) {
	e := hubtest.New(t)
	var funder seed.Partner
	for _, p := range seed.Partners() {
		if p.Slug == "caisse-des-depots" {
			funder = p
		}
	}
	level := func() string {
		var me struct{ Me struct{ Level string } }
		e.Query(t, funder.Key, `{ me { level } }`, nil).MustData(t, &me)
		return me.Me.Level
	}
	if got := level(); got != "AGGREGATE" {
		t.Fatalf("caisse-des-depots level = %s before the change, want AGGREGATE", got)
	}
	exec := func(q string) {
		t.Helper()
		if _, err := e.Admin.Exec(q, funder.Slug); err != nil {
			t.Fatal(err)
		}
	}
	exec(`UPDATE hub.funding_agreement SET valid_until = current_date WHERE partner_id = (SELECT id FROM hub.partner WHERE slug = $1)`)
	if got := level(); got != "AGGREGATE" {
		t.Errorf("agreement ending today: level %s, want AGGREGATE", got)
	}
	exec(`UPDATE hub.funding_agreement SET valid_until = current_date - 1 WHERE partner_id = (SELECT id FROM hub.partner WHERE slug = $1)`)
	if got := level(); got != "PUBLIC" {
		t.Errorf("agreement ended yesterday: level %s, want PUBLIC", got)
	}
	var me struct {
		Me struct{ Entitlements []struct{ ID string } }
	}
	e.Query(t, funder.Key, `{ me { entitlements { id } } }`, nil).MustData(t, &me)
	if len(me.Me.Entitlements) != 0 {
		t.Errorf("entitlements in force after expiry: %v, want none", me.Me.Entitlements)
	}
	exec(`UPDATE hub.api_key SET revoked_at = now() WHERE partner_id = (SELECT id FROM hub.partner WHERE slug = $1)`)
	r := e.Query(t, funder.Key, `{ formations(first: 1) { totalCount } }`, nil)
	if r.Status != 401 || len(r.Errors) != 1 || r.Errors[0].Code() != "UNAUTHENTICATED" || r.Data != nil {
		t.Errorf("revoked key: status %d, errors %+v, data %s; want 401 UNAUTHENTICATED and no data", r.Status, r.Errors, r.Data)
	}
	for _, bad := range []string{"gh_nosuchkey1_abcdefghijklmnopqrstuvwxyzABCDEF", "nonsense", funder.Key + "x"} {
		r := e.Query(t, bad, `{ formations(first: 1) { totalCount } }`, nil)
		if r.Status != 401 || len(r.Errors) != 1 || r.Errors[0].Code() != "UNAUTHENTICATED" {
			t.Errorf("key %q: status %d, errors %+v; want 401 UNAUTHENTICATED", bad, r.Status, r.Errors)
		}
	}
}

// TestConcurrentPartners runs many requests by different partners at once
// (run under -race): each sees only its own slice.
func TestConcurrentPartners(t *testing.T) {
	e := hubtest.New(t)
	w := loadWorld(t, e)
	cs := callers(t, e)
	type want struct {
		slug               string
		formations, enrols int
	}
	wants := make([]want, len(cs))
	for i, c := range cs {
		x := w.expect(c.id)
		n := -1
		if x.enrolmentsAllowed {
			n = len(x.enrolments)
		}
		wants[i] = want{c.name, len(x.formations), n}
	}
	var wg sync.WaitGroup
	errs := make(chan string, 1000)
	for round := 0; round < 4; round++ {
		for i, c := range cs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				q := `{ me { partner { slug } } formations(first: 3) { totalCount nodes { id organisation { name } sessions(first: 2) { nodes { id } } } } }`
				if wants[i].enrols >= 0 {
					q = `{ me { partner { slug } } formations(first: 3) { totalCount } enrolments(first: 5) { totalCount nodes { id session { id } } } }`
				}
				r := e.Query(t, c.key, q, nil)
				var d struct {
					Me         *struct{ Partner struct{ Slug string } }
					Formations struct{ TotalCount int }
					Enrolments *struct{ TotalCount int }
				}
				if len(r.Errors) > 0 || jsonUnmarshal(r.Data, &d) != nil {
					errs <- fmt.Sprintf("%s: %+v", c.name, r.Errors)
					return
				}
				slug := "public"
				if d.Me != nil {
					slug = d.Me.Partner.Slug
				}
				got := want{slug, d.Formations.TotalCount, -1}
				if d.Enrolments != nil {
					got.enrols = d.Enrolments.TotalCount
				}
				if got != wants[i] {
					errs <- fmt.Sprintf("%s: got %+v, want %+v", c.name, got, wants[i])
				}
			}()
		}
	}
	wg.Wait()
	close(errs)
	for msg := range errs {
		t.Error(msg)
	}
}

// TestRevokeCurrentKey: a partner revokes the key it uses; the next request fails.
func TestRevokeCurrentKey(t *testing.T) {
	e := hubtest.New(t)
	key := seed.Partners()[1].Key
	var d struct{ RevokeCurrentKey bool }
	e.Query(t, key, `mutation { revokeCurrentKey }`, nil).MustData(t, &d)
	if !d.RevokeCurrentKey {
		t.Fatal("revokeCurrentKey = false, want true")
	}
	if r := e.Query(t, key, `{ me { level } }`, nil); r.Status != 401 {
		t.Errorf("after revocation: status %d, errors %+v; want 401", r.Status, r.Errors)
	}
	if r := e.Query(t, "", `mutation { revokeCurrentKey }`, nil); len(r.Errors) != 1 || r.Errors[0].Code() != "FORBIDDEN" {
		t.Errorf("public revokeCurrentKey: %+v, want FORBIDDEN", r.Errors)
	}
}
