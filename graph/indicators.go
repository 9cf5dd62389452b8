package graph

import (
	"context"
	"math"
	"math/bits"
	"regexp"
	"slices"
	"sort"
	"strconv"

	"github.com/99designs/gqlgen/graphql"

	"github.com/gen-hub/genhub/graph/model"
	"github.com/gen-hub/genhub/internal/access"
	"github.com/gen-hub/genhub/internal/apierror"
	"github.com/gen-hub/genhub/internal/disclosure"
	"github.com/gen-hub/genhub/internal/loaders"
	"github.com/gen-hub/genhub/internal/store"
)

// An indicator table goes from the database (hub.indicators: cells and
// margins, primary suppression done) through disclosure.Protect
// (complementary suppression over the whole table, margins included, even
// when the caller does not ask for them) to the API.

// MaxIndicatorCells bounds the cells and margins of one table.
const MaxIndicatorCells = 10000

// dimensionNames maps the API's dimensions to hub.indicators' whitelist.
var dimensionNames = map[model.IndicatorDimension]string{
	model.IndicatorDimensionRegion:         "region",
	model.IndicatorDimensionDepartment:     "department",
	model.IndicatorDimensionFormation:      "formation",
	model.IndicatorDimensionSession:        "session",
	model.IndicatorDimensionLabellingCall:  "call",
	model.IndicatorDimensionYear:           "year",
	model.IndicatorDimensionJobFamily:      "job_family",
	model.IndicatorDimensionSex:            "sex",
	model.IndicatorDimensionAgeBand:        "age_band",
	model.IndicatorDimensionQualification:  "qualification",
	model.IndicatorDimensionPriorSituation: "prior_situation",
}

func dimensionOf(name string) model.IndicatorDimension {
	for d, n := range dimensionNames {
		if n == name {
			return d
		}
	}
	return ""
}

// The measures of every cell, in the order of disclosure.Table's values:
// head counts, and counts of people with an attribute among another count.
const (
	mLearners = iota
	mWomen
	mNeet
	mLowQualifiedNeetYouth
	mQpv
	mFinished
	mCompleted
	mMeasuredM3
	mPositiveM3
	mAidApplicants
	mAidGranted
	mAidAmount // in cents
	measureCount
)

var indicatorMeasures = []disclosure.Measure{
	mLearners:              {Name: "learners"},
	mWomen:                 {Name: "women", Rule: disclosure.Attribute, Of: mLearners},
	mNeet:                  {Name: "neet", Rule: disclosure.Attribute, Of: mLearners},
	mLowQualifiedNeetYouth: {Name: "lowQualifiedNeetYouth", Rule: disclosure.Attribute, Of: mLearners},
	mQpv:                   {Name: "qpvResidents", Rule: disclosure.Attribute, Of: mLearners},
	mFinished:              {Name: "finished", Rule: disclosure.Part, Of: mLearners},
	mCompleted:             {Name: "completed", Rule: disclosure.Attribute, Of: mFinished},
	mMeasuredM3:            {Name: "measuredM3", Rule: disclosure.Part, Of: mFinished},
	mPositiveM3:            {Name: "positiveM3", Rule: disclosure.Attribute, Of: mMeasuredM3},
	mAidApplicants:         {Name: "aidApplicants", Rule: disclosure.Attribute, Of: mLearners},
	mAidGranted:            {Name: "aidGranted", Rule: disclosure.Attribute, Of: mAidApplicants},
	mAidAmount:             {Name: "aidAmountEur", Rule: disclosure.Follows, Of: mAidGranted},
}

// givenBy lists the dimensions that define a measure: broken down by one of
// them, the measure is a copy of other counts of the table (women by sex are
// the learners of the FEMALE cells, and none of the MALE ones), equalities
// that protecting each measure on its own would not account for. Such a
// measure is left out of the table (GIVEN_BY_GROUPING).
var givenBy = map[int][]string{
	mWomen:                 {"sex"},
	mNeet:                  {"prior_situation"},
	mLowQualifiedNeetYouth: {"prior_situation", "age_band", "qualification"},
}

func rowValues(r *store.IndicatorRow) [measureCount]*int64 {
	return [measureCount]*int64{r.Learners, r.Women, r.Neet, r.LowQualifiedNeetYouth, r.QpvResidents,
		r.Finished, r.Completed, r.M3Measured, r.M3Positive, r.AidApplicants, r.AidGranted, r.AidAmountCents}
}

// mayUseIndicators refuses callers below aggregate level, and a CROUS, which
// sees only the learners who applied to it.
func mayUseIndicators(ctx context.Context) error {
	if err := requireLevel(ctx, model.AccessLevelAggregate); err != nil {
		return err
	}
	if access.FromContext(ctx).Kind == access.KindCrous {
		return apierror.Denied("a CROUS sees only the learners who applied to it, not indicators")
	}
	return nil
}

var callCodeRe = regexp.MustCompile(`^[A-Z0-9-]{2,20}$`)

// indicatorQuery checks the arguments of the indicators field.
func indicatorQuery(ctx context.Context, groupBy []model.IndicatorDimension, f *model.IndicatorFilter) (store.IndicatorQuery, error) {
	var q store.IndicatorQuery
	for _, d := range groupBy {
		name, ok := dimensionNames[d]
		if !ok {
			return q, apierror.BadInput("groupBy", "unknown dimension %s", d)
		}
		if slices.Contains(q.Dims, name) {
			return q, apierror.BadInput("groupBy", "%s is repeated", d)
		}
		q.Dims = append(q.Dims, name)
	}
	geo := 0
	for _, d := range q.Dims {
		if slices.Index(store.IndicatorDims, d) < 4 {
			geo = 1
		}
	}
	if n := len(q.Dims) - countGeo(q.Dims) + geo; n > store.MaxIndicatorDims {
		return q, apierror.BadInput("groupBy", "at most %d dimensions (region, department, formation and session count as one)", store.MaxIndicatorDims)
	}
	if slices.Contains(q.Dims, "session") {
		if err := requireLevel(ctx, model.AccessLevelDetail); err != nil {
			return q, err
		}
	}
	if f == nil {
		return q, nil
	}
	if f.RegionCode != nil {
		if !store.ValidRegionCode(*f.RegionCode) {
			return q, apierror.BadInput("filter.regionCode", "%q is not an INSEE region code (two digits, e.g. 84)", *f.RegionCode)
		}
		q.Region = *f.RegionCode
	}
	if f.DepartmentCode != nil {
		if !store.ValidDepartmentCode(*f.DepartmentCode) {
			return q, apierror.BadInput("filter.departmentCode", "%q is not an INSEE department code (e.g. 59, 2A, 974)", *f.DepartmentCode)
		}
		q.Department = *f.DepartmentCode
	}
	if f.FormationID != nil {
		id, ok := model.ParseIntID("Formation", *f.FormationID)
		if !ok {
			return q, apierror.BadInput("filter.formationId", "not a formation identifier")
		}
		q.FormationID = id
	}
	if f.SessionID != nil {
		id, ok := model.ParseIntID("Session", *f.SessionID)
		if !ok {
			return q, apierror.BadInput("filter.sessionId", "not a session identifier")
		}
		q.SessionID = id
	}
	if f.LabellingCall != nil {
		if !callCodeRe.MatchString(*f.LabellingCall) {
			return q, apierror.BadInput("filter.labellingCall", "%q is not a labelling call code (e.g. C-2021)", *f.LabellingCall)
		}
		q.CallCode = *f.LabellingCall
	}
	if f.Year != nil {
		if *f.Year < 2000 || *f.Year > 2100 {
			return q, apierror.BadInput("filter.year", "%d is not a year of enrolment", *f.Year)
		}
		q.Year = *f.Year
	}
	if f.JobFamily != nil {
		q.JobFamily = model.Code(*f.JobFamily)
	}
	return q, nil
}

func countGeo(dims []string) int {
	n := 0
	for _, d := range dims {
		if slices.Index(store.IndicatorDims, d) < 4 {
			n++
		}
	}
	return n
}

// protectedTable is a table from the database with every value's status.
type protectedTable struct {
	src      *store.IndicatorTable
	dims     []string
	t        *disclosure.Table
	k        int
	withheld []int // measures left out (givenBy)
}

// protect runs disclosure control over a table from the database.
func protect(src *store.IndicatorTable) (*protectedTable, error) {
	if len(src.Rows) > MaxIndicatorCells {
		return nil, apierror.BadInput("groupBy", "the table would have %d cells and margins, more than %d: filter it or group by fewer dimensions", len(src.Rows), MaxIndicatorCells)
	}
	n := len(src.Dims)
	t := &disclosure.Table{Dims: n, Measures: indicatorMeasures, Cells: make([]disclosure.Cell, len(src.Rows))}
	// Keys and values of every cell in two allocations.
	keys := make([]string, len(src.Rows)*n)
	values := make([]disclosure.Value, len(src.Rows)*measureCount)
	for i := range src.Rows {
		r := &src.Rows[i]
		c := &t.Cells[i]
		// GROUPING() gives its first argument the highest bit.
		c.Margin = uint32(bits.Reverse32(uint32(r.Margin)) >> (32 - n))
		if n == 0 {
			c.Margin = 0
		}
		c.Key = keys[i*n : (i+1)*n : (i+1)*n]
		for j, d := range src.Dims {
			if c.Margin&(1<<j) == 0 {
				c.Key[j] = r.Key(d)
			}
		}
		c.Values = values[i*measureCount : (i+1)*measureCount : (i+1)*measureCount]
		for m, v := range rowValues(r) {
			if v != nil {
				c.Values[m] = disclosure.Value{N: *v, Known: true}
			}
		}
	}
	p := &protectedTable{src: src, dims: src.Dims, t: t, k: disclosure.Threshold(src.K)}
	for m, by := range givenBy {
		for _, d := range by {
			if slices.Contains(src.Dims, d) {
				p.withheld = append(p.withheld, m)
				break
			}
		}
	}
	for _, m := range p.withheld {
		for i := range t.Cells {
			t.Cells[i].Values[m] = disclosure.Value{Known: true} // left out: nothing to protect
		}
	}
	if err := disclosure.Protect(t, p.k); err != nil {
		return nil, err
	}
	return p, nil
}

// indicatorTable renders a protected table for the API.
func (p *protectedTable) indicatorTable(margins bool, year int) *model.IndicatorTable {
	out := &model.IndicatorTable{Threshold: p.k, Confidential: p.src.Raw, Cells: []*model.IndicatorCell{},
		Dimensions: []model.IndicatorDimension{}, FilterYear: year, Raw: p.src.Raw}
	for _, d := range p.dims {
		out.Dimensions = append(out.Dimensions, dimensionOf(d))
	}
	order := make([]int, len(p.t.Cells))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return p.less(order[a], order[b]) })
	full := uint32(1)<<len(p.dims) - 1
	shown := len(order)
	if !margins {
		shown = 0
		for i := range p.t.Cells {
			if p.t.Cells[i].Margin == 0 {
				shown++
			}
		}
	}
	out.Cells = make([]*model.IndicatorCell, 0, shown)
	a := newCellAlloc(shown)
	for _, i := range order {
		c := &p.t.Cells[i]
		for m, v := range c.Values {
			if v.Status != disclosure.Published && !slices.Contains(p.withheld, m) {
				out.SuppressedValues++
			}
		}
		if c.Margin != 0 && !margins {
			continue
		}
		cell := p.cell(i, a)
		out.Cells = append(out.Cells, cell)
		if c.Margin == full {
			out.Total = cell
		}
	}
	return out
}

// less orders cells: detailed ones first, then by dimension values (numbers
// as numbers).
func (p *protectedTable) less(a, b int) bool {
	ca, cb := &p.t.Cells[a], &p.t.Cells[b]
	if la, lb := bits.OnesCount32(ca.Margin), bits.OnesCount32(cb.Margin); la != lb {
		return la < lb
	}
	if ca.Margin != cb.Margin {
		return ca.Margin < cb.Margin
	}
	for j := range ca.Key {
		x, y := ca.Key[j], cb.Key[j]
		if x == y {
			continue
		}
		nx, errx := strconv.Atoi(x)
		ny, erry := strconv.Atoi(y)
		if errx == nil && erry == nil {
			return nx < ny
		}
		return x < y
	}
	return false
}

func (p *protectedTable) cell(i int, a *cellAlloc) *model.IndicatorCell {
	c := &p.t.Cells[i]
	r := &p.src.Rows[i]
	out := a.cell()
	out.TotalOver = a.totalOver(p.dims, c.Margin)
	for j, d := range p.dims {
		if c.Margin&(1<<j) != 0 {
			continue
		}
		switch d {
		case "region":
			out.RegionCode = r.RegionCode
		case "department":
			out.DepartmentCode = r.DepartmentCode
		case "formation":
			out.FormationRowID = r.FormationID
		case "session":
			out.SessionRowID = r.SessionID
		case "call":
			out.CallRowID = r.CallID
		case "year":
			out.Year = r.Year
		case "job_family":
			out.JobFamily = enumOf[model.JobFamily](r.JobFamily)
		case "sex":
			out.Sex = enumOf[model.Sex](r.Sex)
		case "age_band":
			out.AgeBand = enumOf[model.AgeBand](r.AgeBand)
		case "qualification":
			out.Qualification = enumOf[model.Qualification](r.Qualification)
		case "prior_situation":
			out.PriorSituation = enumOf[model.PriorSituation](r.PriorSituation)
		}
	}
	a.fillMeasures(out, c.Values, p.src.Raw)
	for _, m := range p.withheld {
		count, rate := a.count(), a.rate()
		count.Reason, rate.Reason = &reasonGivenByGrouping, &reasonGivenByGrouping
		switch m {
		case mWomen:
			out.Women, out.WomenRate = count, rate
		case mNeet:
			out.Neet, out.NeetRate = count, rate
		case mLowQualifiedNeetYouth:
			out.LowQualifiedNeetYouth, out.LowQualifiedNeetYouthRate = count, rate
		}
	}
	return out
}

// fillMeasures sets the counts, amount and rates of a cell from its values.
func (a *cellAlloc) fillMeasures(out *model.IndicatorCell, v []disclosure.Value, raw bool) {
	out.Learners = a.countOf(v[mLearners], raw)
	out.Women = a.countOf(v[mWomen], raw)
	out.Neet = a.countOf(v[mNeet], raw)
	out.LowQualifiedNeetYouth = a.countOf(v[mLowQualifiedNeetYouth], raw)
	out.QpvResidents = a.countOf(v[mQpv], raw)
	out.Finished = a.countOf(v[mFinished], raw)
	out.Completed = a.countOf(v[mCompleted], raw)
	out.MeasuredM3 = a.countOf(v[mMeasuredM3], raw)
	out.PositiveM3 = a.countOf(v[mPositiveM3], raw)
	out.AidApplicants = a.countOf(v[mAidApplicants], raw)
	out.AidGranted = a.countOf(v[mAidGranted], raw)
	out.AidAmountEur = a.amountOf(v[mAidAmount], raw)
	out.WomenRate = a.rateOf(v[mWomen], v[mLearners], raw)
	out.NeetRate = a.rateOf(v[mNeet], v[mLearners], raw)
	out.LowQualifiedNeetYouthRate = a.rateOf(v[mLowQualifiedNeetYouth], v[mLearners], raw)
	out.QpvRate = a.rateOf(v[mQpv], v[mLearners], raw)
	out.CompletionRate = a.rateOf(v[mCompleted], v[mFinished], raw)
	out.PositiveExitRateM3 = a.rateOf(v[mPositiveM3], v[mMeasuredM3], raw)
	out.AidGrantRate = a.rateOf(v[mAidGranted], v[mAidApplicants], raw)
}

func enumOf[T ~string](s *string) *T {
	if s == nil {
		return nil
	}
	var v T
	if err := (any)(&v).(interface{ Scan(any) error }).Scan(*s); err != nil {
		return nil
	}
	return &v
}

// The reasons values are suppressed for, shared by every value (read only).
var (
	reasonBelowThreshold  = model.SuppressionReasonBelowThreshold
	reasonComplementary   = model.SuppressionReasonComplementary
	reasonGivenByGrouping = model.SuppressionReasonGivenByGrouping
)

func reasonOf(s disclosure.Status) *model.SuppressionReason {
	switch s {
	case disclosure.BelowThreshold:
		return &reasonBelowThreshold
	case disclosure.Complementary:
		return &reasonComplementary
	}
	return nil
}

// cellAlloc hands out the cells of a table and their values from a few
// slices sized once per table: a table of a thousand cells has some forty
// thousand of them, which one allocation each would leave to the garbage
// collector. A nil cellAlloc allocates each value on its own.
type cellAlloc struct {
	cells   []model.IndicatorCell
	counts  []model.Count
	rates   []model.Rate
	amounts []model.Amount
	ints    []int
	floats  []float64
	overs   map[uint32][]model.IndicatorDimension
}

func newCellAlloc(cells int) *cellAlloc {
	return &cellAlloc{
		cells:   make([]model.IndicatorCell, 0, cells),
		counts:  make([]model.Count, 0, cells*(mAidGranted+1)),
		rates:   make([]model.Rate, 0, cells*7),
		amounts: make([]model.Amount, 0, cells),
		ints:    make([]int, 0, cells*(mAidGranted+1)),
		floats:  make([]float64, 0, cells*8),
		overs:   map[uint32][]model.IndicatorDimension{},
	}
}

// take returns the next element of *s, or a new one when s is full.
func take[T any](s *[]T) *T {
	if len(*s) == cap(*s) {
		return new(T)
	}
	*s = (*s)[:len(*s)+1]
	return &(*s)[len(*s)-1]
}

func (a *cellAlloc) cell() *model.IndicatorCell {
	if a == nil {
		return new(model.IndicatorCell)
	}
	return take(&a.cells)
}

func (a *cellAlloc) count() *model.Count {
	if a == nil {
		return new(model.Count)
	}
	return take(&a.counts)
}

func (a *cellAlloc) rate() *model.Rate {
	if a == nil {
		return new(model.Rate)
	}
	return take(&a.rates)
}

func (a *cellAlloc) amount() *model.Amount {
	if a == nil {
		return new(model.Amount)
	}
	return take(&a.amounts)
}

func (a *cellAlloc) int(n int) *int {
	p := new(int)
	if a != nil {
		p = take(&a.ints)
	}
	*p = n
	return p
}

func (a *cellAlloc) float(x float64) *float64 {
	p := new(float64)
	if a != nil {
		p = take(&a.floats)
	}
	*p = x
	return p
}

// totalOver returns the dimensions a cell of the given margin sums over,
// one shared slice per margin.
func (a *cellAlloc) totalOver(dims []string, margin uint32) []model.IndicatorDimension {
	if a != nil {
		if t, ok := a.overs[margin]; ok {
			return t
		}
	}
	t := []model.IndicatorDimension{}
	for j, d := range dims {
		if margin&(1<<j) != 0 {
			t = append(t, dimensionOf(d))
		}
	}
	if a != nil {
		a.overs[margin] = t
	}
	return t
}

// countOf publishes a count; with raw (a caller who may read the rows) a
// value that is not publishable is shown too, flagged confidential.
func (a *cellAlloc) countOf(v disclosure.Value, raw bool) *model.Count {
	c := a.count()
	c.Published, c.Reason = v.Status == disclosure.Published, reasonOf(v.Status)
	if v.Known && (c.Published || raw) {
		c.Value, c.Confidential = a.int(int(v.N)), !c.Published
	}
	return c
}

func (a *cellAlloc) amountOf(v disclosure.Value, raw bool) *model.Amount {
	m := a.amount()
	m.Published, m.Reason = v.Status == disclosure.Published, reasonOf(v.Status)
	if v.Known && (m.Published || raw) {
		m.Eur, m.Confidential = a.float(float64(v.N)/100), !m.Published
	}
	return m
}

// rateOf is num / den in percent, rounded to one decimal, published where
// both counts are; its reason is the denominator's, else the numerator's.
func (a *cellAlloc) rateOf(num, den disclosure.Value, raw bool) *model.Rate {
	r := a.rate()
	r.Published = num.Status == disclosure.Published && den.Status == disclosure.Published
	if !r.Published {
		r.Reason = reasonOf(den.Status)
		if r.Reason == nil {
			r.Reason = reasonOf(num.Status)
		}
	}
	if num.Known && den.Known && den.N > 0 && (r.Published || raw) {
		r.Percent, r.Confidential = a.float(percent(num.N, den.N)), !r.Published
	}
	return r
}

func percent(num, den int64) float64 {
	return math.Round(1000*float64(num)/float64(den)) / 10
}

var notEntitled = model.SuppressionReasonNotEntitled

// nationalCell is the national comparison of a table: the public national
// figures (for one year, or all), under the same rules of disclosure.
func nationalCell(f *store.NationalFigures, year, k int, raw bool) (*model.IndicatorCell, error) {
	var sum store.YearFigures
	for _, y := range f.Years {
		if year == 0 || y.Year == year {
			add(&sum, y)
		}
	}
	values := [measureCount]int64{mLearners: int64(sum.Learners), mWomen: int64(sum.Women), mNeet: int64(sum.Neet),
		mLowQualifiedNeetYouth: int64(sum.LowQualifiedNeetYouth), mQpv: int64(sum.QpvResidents),
		mFinished: int64(sum.Finished), mCompleted: int64(sum.Completed), mMeasuredM3: int64(sum.M3Measured),
		mPositiveM3: int64(sum.M3Positive)}
	t := &disclosure.Table{Measures: indicatorMeasures, Cells: []disclosure.Cell{{Values: make([]disclosure.Value, measureCount)}}}
	for m := range values {
		t.Cells[0].Values[m] = disclosure.Value{N: values[m], Known: true}
	}
	if err := disclosure.Protect(t, k); err != nil {
		return nil, err
	}
	out := &model.IndicatorCell{TotalOver: []model.IndicatorDimension{}}
	(*cellAlloc)(nil).fillMeasures(out, t.Cells[0].Values, raw)
	// CROUS aid is not among the public national figures.
	out.AidApplicants = &model.Count{Reason: &notEntitled}
	out.AidGranted = &model.Count{Reason: &notEntitled}
	out.AidAmountEur = &model.Amount{Reason: &notEntitled}
	out.AidGrantRate = &model.Rate{Reason: &notEntitled}
	return out, nil
}

// scopeTargets is progress against the targets within the caller's aggregate
// scope: from its table of indicators by year of enrolment, under disclosure
// control, and the formations of the scope.
func (r *Resolver) scopeTargets(ctx context.Context) ([]*model.ScopeTargetProgress, error) {
	src, err := r.Store.Indicators(ctx, store.IndicatorQuery{Dims: []string{"year"}})
	if err != nil {
		return nil, err
	}
	p, err := protect(src)
	if err != nil {
		return nil, err
	}
	labelled, err := r.Store.FormationsLabelled(ctx)
	if err != nil {
		return nil, err
	}
	f, err := r.nationalFigures(ctx)
	if err != nil {
		return nil, err
	}
	all := func(int) bool { return true }
	out := []*model.ScopeTargetProgress{}
	for _, t := range f.Targets {
		due := t.DueOn.Year()
		byDue := func(y int) bool { return y <= due }
		tp := &model.ScopeTargetProgress{Code: t.Code, Label: t.Label, Target: t.Value, DueOn: t.DueOn}
		switch t.Code {
		case "fabriques":
			atDue, now := 0, 0
			for y, n := range labelled {
				now += n
				if y <= due {
					atDue += n
				}
			}
			tp.AtDueDate, tp.Current = formationCount(atDue), formationCount(now)
		case "learners":
			tp.AtDueDate = p.targetCount(p.yearSum(mLearners, byDue))
			tp.Current = p.targetCount(p.yearSum(mLearners, all))
		case "low_qualified_neet_share":
			tp.AtDueDate = p.targetShare(p.yearSum(mLowQualifiedNeetYouth, byDue), p.yearSum(mLearners, byDue))
			tp.Current = p.targetShare(p.yearSum(mLowQualifiedNeetYouth, all), p.yearSum(mLearners, all))
		case "women_share":
			tp.AtDueDate = p.targetShare(p.yearSum(mWomen, byDue), p.yearSum(mLearners, byDue))
			tp.Current = p.targetShare(p.yearSum(mWomen, all), p.yearSum(mLearners, all))
		default:
			continue
		}
		out = append(out, tp)
	}
	return out, nil
}

func formationCount(n int) *model.TargetValue {
	v := float64(n)
	return &model.TargetValue{Value: &v, Published: true}
}

// yearSum returns measure m summed over the years keep keeps, from a table
// by year. The sum is published when it follows from published values: every
// year kept is published, or the total and every other year are. Otherwise it
// carries the strongest reason among the hidden years it needs.
func (p *protectedTable) yearSum(m int, keep func(int) bool) disclosure.Value {
	var in, rest []disclosure.Value
	var total disclosure.Value
	for i, c := range p.t.Cells {
		if c.Margin != 0 {
			total = c.Values[m]
			continue
		}
		if y := p.src.Rows[i].Year; y != nil && keep(*y) {
			in = append(in, c.Values[m])
		} else {
			rest = append(rest, c.Values[m])
		}
	}
	sum := func(vs []disclosure.Value) (int64, bool, disclosure.Status) {
		var n int64
		known, status := true, disclosure.Published
		for _, v := range vs {
			n += v.N
			known = known && v.Known
			if v.Status != disclosure.Published && (status == disclosure.Published || v.Status == disclosure.BelowThreshold) {
				status = v.Status
			}
		}
		return n, known, status
	}
	n, known, status := sum(in)
	if status == disclosure.Published {
		return disclosure.Value{N: n, Known: true, Status: disclosure.Published}
	}
	if r, _, rs := sum(rest); rs == disclosure.Published && total.Status == disclosure.Published {
		return disclosure.Value{N: total.N - r, Known: true, Status: disclosure.Published}
	}
	return disclosure.Value{N: n, Known: known, Status: status}
}

func (p *protectedTable) targetCount(v disclosure.Value) *model.TargetValue {
	c := (*cellAlloc)(nil).countOf(v, p.src.Raw)
	tv := &model.TargetValue{Published: c.Published, Reason: c.Reason, Confidential: c.Confidential}
	if c.Value != nil {
		x := float64(*c.Value)
		tv.Value = &x
	}
	return tv
}

func (p *protectedTable) targetShare(num, den disclosure.Value) *model.TargetValue {
	r := (*cellAlloc)(nil).rateOf(num, den, p.src.Raw)
	tv := &model.TargetValue{Published: r.Published, Reason: r.Reason, Confidential: r.Confidential}
	if r.Percent != nil {
		x := math.Round(*r.Percent*10) / 1000
		tv.Value = &x
	}
	return tv
}

// cellObjects sets the objects the cells of t name: regions and departments
// from the reference data; formations, sessions and labelling calls in one
// statement each, only when the query asks for them (a hidden one stays null).
func (r *Resolver) cellObjects(ctx context.Context, t *model.IndicatorTable) error {
	if err := r.reference(ctx); err != nil {
		return err
	}
	cells := t.Cells
	if t.Total != nil && !slices.Contains(cells, t.Total) {
		cells = append(slices.Clip(cells), t.Total)
	}
	for _, c := range cells {
		if c.RegionCode != nil {
			c.Region = r.regionByID[*c.RegionCode]
		}
		if c.DepartmentCode != nil {
			c.Department = r.deptByID[*c.DepartmentCode]
		}
	}
	asked := cellFieldsAsked(ctx)
	rowIDs := func(id func(*model.IndicatorCell) *int) []int {
		seen := map[int]bool{}
		var out []int
		for _, c := range cells {
			if v := id(c); v != nil && !seen[*v] {
				seen[*v] = true
				out = append(out, *v)
			}
		}
		return out
	}
	ld := loaders.For(ctx)
	op := graphql.GetOperationContext(ctx)
	if f, ok := asked["formation"]; ok {
		keys := rowIDs(func(c *model.IndicatorCell) *int { return c.FormationRowID })
		m, err := r.Store.FormationsByID(ctx, keys)
		if err != nil {
			return err
		}
		var rows []*model.Formation
		for _, k := range keys {
			if m[k] != nil {
				rows = append(rows, m[k])
			} else {
				ld.PrimeFormation(k, nil)
			}
		}
		fields := map[string]graphql.CollectedField{}
		for _, x := range graphql.CollectFields(op, f.Selections, []string{"Formation", "Node"}) {
			fields[x.Name] = x
		}
		if err := r.prefetchFormations(ctx, rows, fields, true); err != nil {
			return err
		}
		for _, c := range cells {
			if c.FormationRowID != nil {
				c.Formation = m[*c.FormationRowID]
			}
		}
	}
	if f, ok := asked["session"]; ok {
		keys := rowIDs(func(c *model.IndicatorCell) *int { return c.SessionRowID })
		m, err := r.Store.SessionsByID(ctx, keys)
		if err != nil {
			return err
		}
		var rows []*model.Session
		for _, k := range keys {
			ld.Session.Prime(k, m[k])
			if m[k] != nil {
				rows = append(rows, m[k])
			}
		}
		fields := map[string]graphql.CollectedField{}
		for _, x := range graphql.CollectFields(op, f.Selections, []string{"Session", "Node"}) {
			fields[x.Name] = x
		}
		if err := r.prefetchSessions(ctx, rows, fields, true); err != nil {
			return err
		}
		for _, c := range cells {
			if c.SessionRowID != nil {
				c.Session = m[*c.SessionRowID]
			}
		}
	}
	if _, ok := asked["labellingCall"]; ok {
		keys := rowIDs(func(c *model.IndicatorCell) *int { return c.CallRowID })
		m, err := r.Store.LabellingCallsByID(ctx, keys)
		if err != nil {
			return err
		}
		for _, c := range cells {
			if c.CallRowID != nil {
				c.LabellingCall = m[*c.CallRowID]
			}
		}
	}
	return nil
}

// cellFieldsAsked returns the fields the query asks of the cells and the
// total of the indicator table being resolved, merged by name.
func cellFieldsAsked(ctx context.Context) map[string]graphql.CollectedField {
	op := graphql.GetOperationContext(ctx)
	out := map[string]graphql.CollectedField{}
	for _, f := range graphql.CollectFields(op, graphql.GetFieldContext(ctx).Field.Selections, []string{"IndicatorTable"}) {
		if f.Name != "cells" && f.Name != "total" {
			continue
		}
		for _, x := range graphql.CollectFields(op, f.Selections, []string{"IndicatorCell"}) {
			if _, ok := out[x.Name]; !ok {
				out[x.Name] = x
			}
		}
	}
	return out
}
