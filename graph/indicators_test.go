package graph_test

import (
	"fmt"
	"math"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gen-hub/genhub/graph/model"
	"github.com/gen-hub/genhub/internal/hubtest"
	"github.com/gen-hub/genhub/internal/seed"
)

// The indicators are checked against an independent computation: every
// learner row read as the superuser, grouped and counted here in Go (the
// labelling call at entry included), then the disclosure rules checked on
// what the API published.

// learnerFacts is one enrolment with what the indicators count.
type learnerFacts struct {
	ID, Formation, Session, Year      int
	EnrolledOn                        time.Time
	Sex, AgeBand, Qualification, Prio string
	Qpv                               bool
	Completion                        string
	Region, Department, JobFamily     string
	Measured, Positive                bool
	Applied, Granted                  bool
	AmountCents                       int64
	Call                              int // labelling call at entry; 0: none
}

func loadLearners(t *testing.T, e *hubtest.Env) []learnerFacts {
	t.Helper()
	var rows []struct {
		ID, F, S, Year       int
		EnrolledOn           time.Time `db:"enrolled_on"`
		Sex, Age, Qual, Prio string
		Qpv                  bool
		Completion           string
		Region, Dept, Family string
		Measured, Positive   bool
		Applied, Granted     bool
		Amount               float64
	}
	err := e.Admin.Select(&rows, `
		SELECT e.id, e.formation_id AS f, e.session_id AS s, extract(year FROM e.enrolled_on)::int AS year,
		       e.enrolled_on, e.sex, e.age_band AS age, e.qualification AS qual, e.prior_situation AS prio,
		       e.qpv_resident AS qpv, e.completion, f.region_code AS region, f.department_code AS dept,
		       f.job_family AS family, o.enrolment_id IS NOT NULL AS measured, coalesce(o.positive, false) AS positive,
		       a.id IS NOT NULL AS applied, coalesce(a.status IN ('granted', 'paid', 'suspended'), false) AS granted,
		       coalesce(a.monthly_amount_eur * a.months, 0)::float8 AS amount
		  FROM hub.enrolment e
		  JOIN hub.formation f ON f.id = e.formation_id
		  LEFT JOIN hub.outcome o ON o.enrolment_id = e.id AND o.measured_at = 'm3'
		  LEFT JOIN hub.aid_application a ON a.enrolment_id = e.id`)
	if err != nil {
		t.Fatal(err)
	}
	var labels []struct {
		ID, F, Call int
		Granted     time.Time
	}
	if err := e.Admin.Select(&labels, `SELECT id, formation_id AS f, call_id AS call, granted_on AS granted FROM hub.label`); err != nil {
		t.Fatal(err)
	}
	byFormation := map[int][]int{}
	sort.Slice(labels, func(i, j int) bool {
		if !labels[i].Granted.Equal(labels[j].Granted) {
			return labels[i].Granted.Before(labels[j].Granted)
		}
		return labels[i].ID < labels[j].ID
	})
	for i, l := range labels {
		byFormation[l.F] = append(byFormation[l.F], i)
	}
	out := make([]learnerFacts, len(rows))
	for i, r := range rows {
		// The latest label granted on or before enrolment, else the first.
		call := 0
		for j, li := range byFormation[r.F] {
			if j == 0 || !labels[li].Granted.After(r.EnrolledOn) {
				call = labels[li].Call
			}
		}
		out[i] = learnerFacts{ID: r.ID, Formation: r.F, Session: r.S, Year: r.Year, EnrolledOn: r.EnrolledOn,
			Sex: r.Sex, AgeBand: r.Age, Qualification: r.Qual, Prio: r.Prio, Qpv: r.Qpv, Completion: r.Completion,
			Region: r.Region, Department: r.Dept, JobFamily: r.Family, Measured: r.Measured, Positive: r.Positive,
			Applied: r.Applied, Granted: r.Granted, AmountCents: int64(math.Round(r.Amount * 100)), Call: call}
	}
	return out
}

// dimValue returns the value of an API dimension for a learner, as the test
// writes cell keys.
func (l *learnerFacts) dimValue(d string) string {
	switch d {
	case "REGION":
		return l.Region
	case "DEPARTMENT":
		return l.Department
	case "FORMATION":
		return strconv.Itoa(l.Formation)
	case "SESSION":
		return strconv.Itoa(l.Session)
	case "LABELLING_CALL":
		if l.Call == 0 {
			return ""
		}
		return strconv.Itoa(l.Call)
	case "YEAR":
		return strconv.Itoa(l.Year)
	case "JOB_FAMILY":
		return strings.ToUpper(l.JobFamily)
	case "SEX":
		return strings.ToUpper(l.Sex)
	case "AGE_BAND":
		return strings.ToUpper(l.AgeBand)
	case "QUALIFICATION":
		return strings.ToUpper(l.Qualification)
	case "PRIOR_SITUATION":
		return strings.ToUpper(l.Prio)
	}
	panic("unknown dimension " + d)
}

// counts are the measures of one cell, as the test computes them.
type counts struct {
	Learners, Women, Neet, Lqny, Qpv, Finished, Completed, Measured, Positive, Applicants, Granted int64
	AmountCents                                                                                    int64
}

func (c *counts) add(l *learnerFacts) {
	c.Learners++
	if l.Sex == "female" {
		c.Women++
	}
	if l.Prio == "neet" {
		c.Neet++
		if l.AgeBand == "under_26" && slices.Contains([]string{"none", "infra_bac", "bac"}, l.Qualification) {
			c.Lqny++
		}
	}
	if l.Qpv {
		c.Qpv++
	}
	if l.Completion != "ongoing" {
		c.Finished++
	}
	if l.Completion == "completed" {
		c.Completed++
	}
	if l.Measured {
		c.Measured++
	}
	if l.Positive {
		c.Positive++
	}
	if l.Applied {
		c.Applicants++
	}
	if l.Granted {
		c.Granted++
		c.AmountCents += l.AmountCents
	}
}

// The API's view of a table.
type apiCount struct {
	Value        *int64
	Published    bool
	Reason       *string
	Confidential bool
}

type apiRate struct {
	Percent      *float64
	Published    bool
	Reason       *string
	Confidential bool
}

type apiCell struct {
	TotalOver      []string
	Region         *struct{ Code string }
	Department     *struct{ Code string }
	FormationID    *string
	SessionID      *string
	LabellingCall  *struct{ ID string }
	Year           *int
	JobFamily      *string
	Sex            *string
	AgeBand        *string
	Qualification  *string
	PriorSituation *string

	Learners, Women, Neet, LowQualifiedNeetYouth, QpvResidents, Finished, Completed apiCount
	MeasuredM3, PositiveM3, AidApplicants, AidGranted                               apiCount
	AidAmountEur                                                                    struct {
		Eur          *float64
		Published    bool
		Reason       *string
		Confidential bool
	}
	WomenRate, NeetRate, LowQualifiedNeetYouthRate, QpvRate, CompletionRate, PositiveExitRateM3, AidGrantRate apiRate
}

type apiTable struct {
	Dimensions       []string
	Threshold        int
	Confidential     bool
	SuppressedValues int
	Cells            []apiCell
	Total            *apiCell
}

const cellFields = `totalOver region { code } department { code } formationId sessionId labellingCall { id }
	year jobFamily sex ageBand qualification priorSituation
	learners { ...c } women { ...c } neet { ...c } lowQualifiedNeetYouth { ...c } qpvResidents { ...c }
	finished { ...c } completed { ...c } measuredM3 { ...c } positiveM3 { ...c } aidApplicants { ...c }
	aidGranted { ...c } aidAmountEur { eur published reason confidential }
	womenRate { ...r } neetRate { ...r } lowQualifiedNeetYouthRate { ...r } qpvRate { ...r }
	completionRate { ...r } positiveExitRateM3 { ...r } aidGrantRate { ...r }`

const tableQuery = `query($groupBy: [IndicatorDimension!]!, $filter: IndicatorFilter) {
	indicators(groupBy: $groupBy, filter: $filter) {
		dimensions threshold confidential suppressedValues cells { ` + cellFields + ` } total { learners { ...c } }
	}
}
fragment c on Count { value published reason confidential }
fragment r on Rate { percent published reason confidential }`

// key returns the test's key of an API cell over the table's dimensions.
func (c *apiCell) key(dims []string) string {
	parts := make([]string, len(dims))
	for i, d := range dims {
		if slices.Contains(c.TotalOver, d) {
			parts[i] = "*"
			continue
		}
		var v string
		switch d {
		case "REGION":
			v = c.Region.Code
		case "DEPARTMENT":
			v = c.Department.Code
		case "FORMATION":
			id, _ := model.ParseIntID("Formation", *c.FormationID)
			v = strconv.Itoa(id)
		case "SESSION":
			id, _ := model.ParseIntID("Session", *c.SessionID)
			v = strconv.Itoa(id)
		case "LABELLING_CALL":
			if c.LabellingCall != nil {
				id, _ := model.ParseIntID("LabellingCall", c.LabellingCall.ID)
				v = strconv.Itoa(id)
			}
		case "YEAR":
			v = strconv.Itoa(*c.Year)
		case "JOB_FAMILY":
			v = *c.JobFamily
		case "SEX":
			v = *c.Sex
		case "AGE_BAND":
			v = *c.AgeBand
		case "QUALIFICATION":
			v = *c.Qualification
		case "PRIOR_SITUATION":
			v = *c.PriorSituation
		}
		parts[i] = v
	}
	return strings.Join(parts, "|")
}

// expectedCells groups learners into every level the table has (the sets of
// dimensions summed over, as strings of 0 and 1 over dims).
func expectedCells(ls []learnerFacts, dims []string, levels map[string]bool) map[string]*counts {
	out := map[string]*counts{}
	parts := make([]string, len(dims))
	for i := range ls {
		l := &ls[i]
		for level := range levels {
			for j, d := range dims {
				if level[j] == '1' {
					parts[j] = "*"
				} else {
					parts[j] = l.dimValue(d)
				}
			}
			k := strings.Join(parts, "|")
			c := out[k]
			if c == nil {
				c = &counts{}
				out[k] = c
			}
			c.add(l)
		}
	}
	return out
}

func levelOf(c *apiCell, dims []string) string {
	b := make([]byte, len(dims))
	for i, d := range dims {
		b[i] = '0'
		if slices.Contains(c.TotalOver, d) {
			b[i] = '1'
		}
	}
	return string(b)
}

// measure is one count of a cell as the API gives it and as the test computes
// it, with its rule: a head count, a part of another count, or people with an
// attribute among another count.
type measure struct {
	name string
	api  func(*apiCell) apiCount
	want func(*counts) int64
	rule string // head, part, attribute
	of   int    // index of the denominator in measures
}

var measures = []measure{
	{"learners", func(c *apiCell) apiCount { return c.Learners }, func(c *counts) int64 { return c.Learners }, "head", -1},
	{"women", func(c *apiCell) apiCount { return c.Women }, func(c *counts) int64 { return c.Women }, "attribute", 0},
	{"neet", func(c *apiCell) apiCount { return c.Neet }, func(c *counts) int64 { return c.Neet }, "attribute", 0},
	{"lowQualifiedNeetYouth", func(c *apiCell) apiCount { return c.LowQualifiedNeetYouth }, func(c *counts) int64 { return c.Lqny }, "attribute", 0},
	{"qpvResidents", func(c *apiCell) apiCount { return c.QpvResidents }, func(c *counts) int64 { return c.Qpv }, "attribute", 0},
	{"finished", func(c *apiCell) apiCount { return c.Finished }, func(c *counts) int64 { return c.Finished }, "part", 0},
	{"completed", func(c *apiCell) apiCount { return c.Completed }, func(c *counts) int64 { return c.Completed }, "attribute", 5},
	{"measuredM3", func(c *apiCell) apiCount { return c.MeasuredM3 }, func(c *counts) int64 { return c.Measured }, "part", 5},
	{"positiveM3", func(c *apiCell) apiCount { return c.PositiveM3 }, func(c *counts) int64 { return c.Positive }, "attribute", 7},
	{"aidApplicants", func(c *apiCell) apiCount { return c.AidApplicants }, func(c *counts) int64 { return c.Applicants }, "attribute", 0},
	{"aidGranted", func(c *apiCell) apiCount { return c.AidGranted }, func(c *counts) int64 { return c.Granted }, "attribute", 9},
}

// rates: name, the rate, numerator and denominator measures.
var rates = []struct {
	name     string
	api      func(*apiCell) apiRate
	num, den int
}{
	{"womenRate", func(c *apiCell) apiRate { return c.WomenRate }, 1, 0},
	{"neetRate", func(c *apiCell) apiRate { return c.NeetRate }, 2, 0},
	{"lowQualifiedNeetYouthRate", func(c *apiCell) apiRate { return c.LowQualifiedNeetYouthRate }, 3, 0},
	{"qpvRate", func(c *apiCell) apiRate { return c.QpvRate }, 4, 0},
	{"completionRate", func(c *apiCell) apiRate { return c.CompletionRate }, 6, 5},
	{"positiveExitRateM3", func(c *apiCell) apiRate { return c.PositiveExitRateM3 }, 8, 7},
	{"aidGrantRate", func(c *apiCell) apiRate { return c.AidGrantRate }, 10, 9},
}

// checkTable checks a table returned by the API against the learners in
// scope: every cell exists and has the right values, no level lacks a cell,
// what is published obeys the rules (nothing under k), and no relation of the
// table has exactly one hidden value.
func checkTable(t *testing.T, name string, tb *apiTable, scope []learnerFacts) {
	t.Helper()
	k := int64(tb.Threshold)
	levels := map[string]bool{}
	for i := range tb.Cells {
		levels[levelOf(&tb.Cells[i], tb.Dimensions)] = true
	}
	want := expectedCells(scope, tb.Dimensions, levels)
	seen := map[string]bool{}
	for i := range tb.Cells {
		c := &tb.Cells[i]
		key := c.key(tb.Dimensions)
		seen[key] = true
		w, ok := want[key]
		if !ok {
			t.Errorf("%s: cell %s has no learner in scope", name, key)
			continue
		}
		for _, m := range measures {
			got := m.api(c)
			if got.Reason != nil && *got.Reason == "GIVEN_BY_GROUPING" {
				continue
			}
			if !got.Published {
				if got.Reason == nil || (got.Value != nil && !tb.Confidential) {
					t.Errorf("%s: cell %s %s hidden as %+v", name, key, m.name, got)
				}
				continue
			}
			if got.Value == nil || *got.Value != m.want(w) {
				t.Errorf("%s: cell %s %s = %v, want %d", name, key, m.name, got.Value, m.want(w))
				continue
			}
			v := *got.Value
			switch m.rule {
			case "head":
				if v != 0 && v < k {
					t.Errorf("%s: cell %s %s published %d < %d", name, key, m.name, v, k)
				}
			case "part":
				if !m2(c, m.of).Published || (v != 0 && v < k) {
					t.Errorf("%s: cell %s %s published %d (of %+v)", name, key, m.name, v, m2(c, m.of))
				}
			case "attribute":
				den := m2(c, m.of)
				if !den.Published || (*den.Value != 0 && (v < k || *den.Value-v < k)) {
					t.Errorf("%s: cell %s %s published %d of %+v", name, key, m.name, v, den)
				}
			}
		}
		if c.AidAmountEur.Published != c.AidGranted.Published {
			t.Errorf("%s: cell %s aid amount published %v, granted %v", name, key, c.AidAmountEur.Published, c.AidGranted.Published)
		} else if c.AidAmountEur.Published && int64(math.Round(*c.AidAmountEur.Eur*100)) != w.AmountCents {
			t.Errorf("%s: cell %s aid amount %v, want %d cents", name, key, *c.AidAmountEur.Eur, w.AmountCents)
		}
		for _, r := range rates {
			got := r.api(c)
			num, den := m2(c, r.num), m2(c, r.den)
			if got.Reason != nil && *got.Reason == "GIVEN_BY_GROUPING" {
				continue
			}
			if got.Published != (num.Published && den.Published) {
				t.Errorf("%s: cell %s %s published %v with %+v / %+v", name, key, r.name, got.Published, num, den)
			}
			if got.Published && *den.Value > 0 {
				p := math.Round(1000*float64(*num.Value)/float64(*den.Value)) / 10
				if got.Percent == nil || *got.Percent != p {
					t.Errorf("%s: cell %s %s = %v, want %v", name, key, r.name, got.Percent, p)
				}
			}
		}
	}
	for key := range want {
		if !seen[key] {
			t.Errorf("%s: cell %s missing", name, key)
		}
	}
	checkRelations(t, name, tb)
}

func m2(c *apiCell, i int) apiCount { return measures[i].api(c) }

// checkRelations finds every relation of an API table (a margin, and the
// cells one level below it along one dimension) and checks that none has
// exactly one hidden value, for every measure.
func checkRelations(t *testing.T, name string, tb *apiTable) {
	t.Helper()
	type cellRef struct {
		level, key string
		parts      []string
		c          *apiCell
	}
	byKey := map[string]*cellRef{}
	var all []*cellRef
	for i := range tb.Cells {
		c := &tb.Cells[i]
		k := c.key(tb.Dimensions)
		r := &cellRef{level: levelOf(c, tb.Dimensions), key: k, parts: strings.Split(k, "|"), c: c}
		byKey[k] = r
		all = append(all, r)
	}
	children := map[string][]*cellRef{} // parent key + dimension -> children
	for _, r := range all {
		for d := range tb.Dimensions {
			if r.parts[d] == "*" {
				continue
			}
			pp := slices.Clone(r.parts)
			pp[d] = "*"
			pk := strings.Join(pp, "|")
			if _, ok := byKey[pk]; !ok {
				continue
			}
			children[fmt.Sprint(d, "#", pk)] = append(children[fmt.Sprint(d, "#", pk)], r)
		}
	}
	for id, kids := range children {
		pk := id[strings.Index(id, "#")+1:]
		parent := byKey[pk]
		// Only a full level below the margin is a relation: the level must be the parent's with one dimension less.
		for _, m := range measures {
			hidden := 0
			for _, x := range append([]*cellRef{parent}, kids...) {
				v := m.api(x.c)
				if !v.Published && (v.Reason == nil || *v.Reason != "GIVEN_BY_GROUPING") {
					hidden++
				}
			}
			if hidden == 1 {
				t.Errorf("%s: %s: relation of %s has exactly one hidden value", name, m.name, pk)
			}
		}
	}
}

// regionGroupings are the groupings checked for every regional council.
var regionGroupings = [][]string{
	{}, {"REGION"}, {"DEPARTMENT"}, {"FORMATION"}, {"SESSION"}, {"LABELLING_CALL"}, {"YEAR"}, {"JOB_FAMILY"},
	{"SEX"}, {"AGE_BAND"}, {"QUALIFICATION"}, {"PRIOR_SITUATION"},
	{"DEPARTMENT", "YEAR"}, {"LABELLING_CALL", "SEX"}, {"JOB_FAMILY", "AGE_BAND", "QUALIFICATION"},
}

// TestIndicatorsRegionalCouncils: for every regional council of the demo data
// and every grouping, nothing published is under k and every published value
// matches the learners of its region, counted here.
func TestIndicatorsRegionalCouncils(t *testing.T) {
	e := hubtest.New(t)
	learners := loadLearners(t, e)
	councils := 0
	for _, p := range seed.Partners() {
		if p.Kind != "region" {
			continue
		}
		councils++
		var scope []learnerFacts
		for _, l := range learners {
			if l.Region == p.RegionCode {
				scope = append(scope, l)
			}
		}
		t.Run(p.Slug, func(t *testing.T) {
			hidden := 0
			for _, g := range regionGroupings {
				name := fmt.Sprintf("%s by %v", p.Slug, g)
				var d struct{ Indicators apiTable }
				e.Query(t, p.Key, tableQuery, map[string]any{"groupBy": g}).MustData(t, &d)
				tb := &d.Indicators
				if tb.Threshold != 11 || tb.Confidential {
					t.Fatalf("%s: threshold %d, confidential %v", name, tb.Threshold, tb.Confidential)
				}
				if tb.Total == nil || tb.Total.Learners.Value == nil || *tb.Total.Learners.Value != int64(len(scope)) {
					t.Errorf("%s: total %+v, want %d learners", name, tb.Total, len(scope))
				}
				checkTable(t, name, tb, scope)
				hidden += tb.SuppressedValues
			}
			if hidden == 0 {
				t.Errorf("%s: nothing suppressed in any grouping: the check proves little", p.Slug)
			}
		})
	}
	if councils != 18 {
		t.Errorf("%d regional councils, want 18", councils)
	}
}

// TestIndicatorsAccess is the access matrix of the indicators, for every demo
// partner and the public: who may ask, over which scope (the learners of the
// formations its aggregate grants in force cover, computed here from the
// entitlement rows), with which filters and dimensions, and whether it sees
// unpublishable values (flagged confidential).
func TestIndicatorsAccess(t *testing.T) {
	e := hubtest.New(t)
	w := loadWorld(t, e)
	learnersOf := map[int]int{}
	for _, f := range w.enrolments {
		learnersOf[f]++
	}
	total := len(w.enrolments)
	const query = `query($filter: IndicatorFilter, $groupBy: [IndicatorDimension!]! = []) {
		indicators(filter: $filter, groupBy: $groupBy) { confidential threshold
			total { learners { value published reason confidential } }
			national { learners { value published } aidApplicants { reason } } } }`
	type result struct {
		Indicators *struct {
			Confidential bool
			Threshold    int
			Total        struct{ Learners apiCount }
			National     struct {
				Learners      apiCount
				AidApplicants apiCount
			}
		}
	}
	run := func(key string, vars map[string]any) (*result, string) {
		r := e.Query(t, key, query, vars)
		if len(r.Errors) > 0 {
			return nil, r.Errors[0].Code()
		}
		var d result
		r.MustData(t, &d)
		return &d, ""
	}
	kinds := map[string]bool{}
	for _, c := range callers(t, e) {
		kind := "public"
		if c.id != 0 {
			kind = w.partners[c.id].Kind
		}
		kinds[kind] = true
		t.Run(c.name, func(t *testing.T) {
			scope := w.formationsAt(c.id, "aggregate")
			personal := w.formationsAt(c.id, "personal")
			detail := w.formationsAt(c.id, "detail")
			if c.id == 0 {
				scope = map[int]bool{}
			}
			allowed := len(scope) > 0 && kind != "crous"
			got, code := run(c.key, nil)
			if !allowed {
				if code != "FORBIDDEN" {
					t.Fatalf("indicators: error %q, want FORBIDDEN (kind %s, %d formations in scope)", code, kind, len(scope))
				}
				return
			}
			if code != "" {
				t.Fatalf("indicators: error %s", code)
			}
			want := 0
			raw := kind == "operator"
			covered := true
			for f := range scope {
				want += learnersOf[f]
				covered = covered && personal[f]
			}
			raw = raw || covered
			if got.Indicators.Confidential != raw {
				t.Errorf("confidential = %v, want %v", got.Indicators.Confidential, raw)
			}
			l := got.Indicators.Total.Learners
			switch {
			case want != 0 && want < got.Indicators.Threshold && !raw:
				if l.Published || l.Value != nil {
					t.Errorf("total %+v published below the threshold (%d learners)", l, want)
				}
			case l.Value == nil || *l.Value != int64(want):
				t.Errorf("total learners %v, want %d", l.Value, want)
			}
			if n := got.Indicators.National.Learners; n.Value == nil || *n.Value != int64(total) {
				t.Errorf("national learners %+v, want %d", n, total)
			}
			if r := got.Indicators.National.AidApplicants.Reason; r == nil || *r != "NOT_ENTITLED" {
				t.Errorf("national aid applicants: reason %v, want NOT_ENTITLED", r)
			}
			// A formation outside the scope is refused; one inside gives its learners.
			var in, out int
			for _, f := range sortedFormations(w) {
				if scope[f] && in == 0 && learnersOf[f] >= 11 {
					in = f
				}
				if !scope[f] && out == 0 {
					out = f
				}
			}
			if out != 0 {
				if _, code := run(c.key, map[string]any{"filter": map[string]any{"formationId": model.IntID("Formation", out)}}); code != "FORBIDDEN" {
					t.Errorf("formation %d outside the scope: error %q, want FORBIDDEN", out, code)
				}
			}
			if in != 0 {
				got, code := run(c.key, map[string]any{"filter": map[string]any{"formationId": model.IntID("Formation", in)}})
				if code != "" || got.Indicators.Total.Learners.Value == nil || *got.Indicators.Total.Learners.Value != int64(learnersOf[in]) {
					t.Errorf("formation %d in scope: %+v %s, want %d learners", in, got, code, learnersOf[in])
				}
			}
			// Sessions need a detail grant on every formation in scope.
			sessions := true
			for f := range scope {
				sessions = sessions && detail[f]
			}
			_, code = run(c.key, map[string]any{"groupBy": []string{"SESSION"}})
			if sessions != (code == "") || (!sessions && code != "FORBIDDEN") {
				t.Errorf("by session: error %q, want allowed=%v", code, sessions)
			}
			// No filter on a person attribute exists; an unknown dimension is refused by the schema.
			if r := e.Query(t, c.key, `{ indicators(filter: { sex: FEMALE }) { threshold } }`, nil); len(r.Errors) == 0 {
				t.Errorf("filter on sex accepted")
			}
		})
	}
	for _, k := range []string{"public", "operator", "funder", "region", "employment_service", "crous", "organisation"} {
		if !kinds[k] {
			t.Errorf("no demo partner of kind %s", k)
		}
	}
}

func sortedFormations(w *world) []int {
	ids := make([]int, 0, len(w.formations))
	for id := range w.formations {
		ids = append(ids, id)
	}
	sort.Ints(ids)
	return ids
}

// TestTargetProgress: the national part is public and equals keyFigures; the
// scope part needs an aggregate grant and is consistent with the caller's
// table by year.
func TestTargetProgress(t *testing.T) {
	e := hubtest.New(t)
	keys := map[string]string{}
	for _, p := range seed.Partners() {
		keys[p.Slug] = p.Key
	}
	type value struct {
		Value     *float64
		Published bool
		Reason    *string
	}
	var pub struct {
		TargetProgress struct{ National []struct{ Code string } }
		KeyFigures     struct{ Targets []struct{ Code string } }
	}
	e.Query(t, "", `{ targetProgress { national { code } } keyFigures { targets { code } } }`, nil).MustData(t, &pub)
	if len(pub.TargetProgress.National) != 4 || !cmpCodes(pub.TargetProgress.National, pub.KeyFigures.Targets) {
		t.Errorf("national targets %+v, key figures %+v", pub.TargetProgress.National, pub.KeyFigures.Targets)
	}
	if r := e.Query(t, "", `{ targetProgress { scope { code } } }`, nil); len(r.Errors) == 0 || r.Errors[0].Code() != "FORBIDDEN" {
		t.Errorf("public scope: errors %+v, want FORBIDDEN", r.Errors)
	}
	if r := e.Query(t, keys["crous-creteil"], `{ targetProgress { scope { code } } }`, nil); len(r.Errors) == 0 || r.Errors[0].Code() != "FORBIDDEN" {
		t.Errorf("CROUS scope: errors %+v, want FORBIDDEN", r.Errors)
	}
	var d struct {
		TargetProgress struct {
			Scope []struct {
				Code               string
				AtDueDate, Current value
			}
		}
		Indicators struct {
			Cells []struct {
				Year      *int
				Learners  apiCount
				Women     apiCount
				TotalOver []string
			}
		}
	}
	e.Query(t, keys["region-hauts-de-france"], `{ targetProgress { scope { code atDueDate { value published reason } current { value published reason } } }
		indicators(groupBy: [YEAR]) { cells { year totalOver learners { value published } women { value published } } } }`, nil).MustData(t, &d)
	var learners, women, learnersDue, womenDue int64
	for _, c := range d.Indicators.Cells {
		if c.Year == nil {
			learners, women = *c.Learners.Value, *c.Women.Value
			continue
		}
		if *c.Year <= 2017 {
			if !c.Learners.Published || !c.Women.Published {
				t.Fatalf("year %d not published: cannot check the sums", *c.Year)
			}
			learnersDue += *c.Learners.Value
			womenDue += *c.Women.Value
		}
	}
	var formations, formationsDue int
	e.Admin.Get(&formations, `SELECT count(DISTINCT l.formation_id) FROM hub.label l JOIN hub.formation f ON f.id = l.formation_id WHERE f.region_code = '32'`)
	e.Admin.Get(&formationsDue, `SELECT count(*) FROM (SELECT l.formation_id FROM hub.label l JOIN hub.formation f ON f.id = l.formation_id
		WHERE f.region_code = '32' GROUP BY 1 HAVING min(l.granted_on) < '2018-01-01') x`)
	share := func(n, d int64) float64 { return math.Round(1000*float64(n)/float64(d)) / 1000 }
	want := map[string][2]float64{
		"fabriques":   {float64(formationsDue), float64(formations)},
		"learners":    {float64(learnersDue), float64(learners)},
		"women_share": {share(womenDue, learnersDue), share(women, learners)},
	}
	for _, s := range d.TargetProgress.Scope {
		w, ok := want[s.Code]
		if !ok {
			continue
		}
		if s.AtDueDate.Value == nil || *s.AtDueDate.Value != w[0] || s.Current.Value == nil || *s.Current.Value != w[1] {
			t.Errorf("%s: at due date %+v, current %+v; want %v", s.Code, s.AtDueDate, s.Current, w)
		}
	}
	if len(d.TargetProgress.Scope) != 4 {
		t.Errorf("scope targets %+v", d.TargetProgress.Scope)
	}
}

func cmpCodes(a, b []struct{ Code string }) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Code != b[i].Code {
			return false
		}
	}
	return true
}

// TestIndicatorsBadInput: bad arguments get BAD_USER_INPUT with the field.
func TestIndicatorsBadInput(t *testing.T) {
	e := hubtest.New(t)
	var key string
	for _, p := range seed.Partners() {
		if p.Slug == "region-hauts-de-france" {
			key = p.Key
		}
	}
	for _, q := range []string{
		`{ indicators(groupBy: [YEAR, YEAR]) { threshold } }`,
		`{ indicators(groupBy: [YEAR, SEX, AGE_BAND, QUALIFICATION]) { threshold } }`,
		`{ indicators(groupBy: [REGION, SESSION, YEAR, SEX, AGE_BAND]) { threshold } }`,
		`{ indicators(filter: { regionCode: "3" }) { threshold } }`,
		`{ indicators(filter: { departmentCode: "20" }) { threshold } }`,
		`{ indicators(filter: { formationId: "nope" }) { threshold } }`,
		`{ indicators(filter: { labellingCall: "w1; drop" }) { threshold } }`,
		`{ indicators(filter: { year: 1900 }) { threshold } }`,
	} {
		r := e.Query(t, key, q, nil)
		if len(r.Errors) == 0 || r.Errors[0].Code() != "BAD_USER_INPUT" {
			t.Errorf("%s: errors %+v, want BAD_USER_INPUT", q, r.Errors)
		}
	}
	// Four geographic levels count as one dimension.
	if r := e.Query(t, key, `{ indicators(groupBy: [REGION, DEPARTMENT, FORMATION, SESSION, YEAR, SEX]) { dimensions } }`, nil); len(r.Errors) > 0 {
		t.Errorf("geographic levels and two more: %+v", r.Errors)
	}
	// An unknown call selects nothing within the scope, like one outside it.
	if r := e.Query(t, key, `{ indicators(filter: { labellingCall: "X-1999" }) { threshold } }`, nil); len(r.Errors) == 0 || r.Errors[0].Code() != "FORBIDDEN" {
		t.Errorf("unknown call: errors %+v, want FORBIDDEN", r.Errors)
	}
}

// TestIndicatorValuesSelection checks that counts, rates and amounts, which
// marshal themselves, write what the query selects as gqlgen's executor
// writes any object: fields in the order selected, aliases, fragments,
// @skip and @include, __typename, a field selected twice once.
func TestIndicatorValuesSelection(t *testing.T) {
	e := hubtest.New(t)
	var key string
	for _, p := range seed.Partners() {
		if p.Slug == "region-hauts-de-france" {
			key = p.Key
		}
	}
	r := e.Query(t, key, `query ($no: Boolean!) { indicators(groupBy: [YEAR]) { total {
		learners { __typename n: value published ... on Count { reason } hidden: confidential @skip(if: true) value value }
		womenRate { p: percent @include(if: $no) ...rate }
		aidAmountEur { eur confidential }
	} } }
	fragment rate on Rate { published percent }`, map[string]any{"no": false})
	if len(r.Errors) > 0 {
		t.Fatalf("%+v", r.Errors)
	}
	got := string(r.Data)
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`"learners":\{"__typename":"Count","n":[0-9]+,"published":true,"reason":null,"value":[0-9]+\}`),
		regexp.MustCompile(`"womenRate":\{"published":true,"percent":[0-9.]+\}`),
		regexp.MustCompile(`"aidAmountEur":\{"eur":[0-9.e+]+,"confidential":false\}`),
	} {
		if !want.MatchString(got) {
			t.Errorf("data %s: no match for %s", got, want)
		}
	}
}
