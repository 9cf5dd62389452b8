package graph

import (
	"math"
	"time"

	"github.com/gen-hub/genhub/graph/model"
	"github.com/gen-hub/genhub/internal/store"
)

// Complexity of an operation (see internal/server's limits): a field costs 1
// plus its children; a list costs the number of items it may return times the
// cost of one item, so that nested lists multiply.

// pageCost returns the cost of a page of first (or last) items each costing
// child: the page size asked for, the default page when none is, and one more
// than the maximum when a page too large is asked for (it will be refused).
func pageCost(child int, first, last *int) int {
	n := store.DefaultPage
	switch {
	case first != nil:
		n = *first
	case last != nil:
		n = *last
	}
	n = max(1, min(n, store.MaxPage+1))
	return addOne(mulSat(n, child))
}

// addOne adds the cost of the list field itself, saturating.
func addOne(c int) int {
	if c == math.MaxInt {
		return c
	}
	return c + 1
}

// mulSat multiplies without overflowing: costs saturate at MaxInt.
func mulSat(a, b int) int {
	if a <= 0 || b <= 0 {
		return max(a, b, 1)
	}
	if a > math.MaxInt/b {
		return math.MaxInt
	}
	return a * b
}

// indicatorCellsCost is what one indicator table's cells cost, in items.
const indicatorCellsCost = 50

// listedOperationsCost is what trustedOperations may return, roughly: a
// partner has a few dashboards' worth of operations.
const listedOperationsCost = 50

// setComplexity gives every list field of the schema its cost.
func setComplexity(c *ComplexityRoot) {
	conn := func(child int, first *int, _ *string, last *int, _ *string) int { return pageCost(child, first, last) }
	c.Department.Formations = conn
	c.Region.Formations = conn
	c.Organisation.Formations = conn
	c.Formation.Sessions = conn
	c.Session.Enrolments = conn
	c.Query.FundingAgreements = conn
	c.Query.Formations = func(child int, first *int, after *string, last *int, before *string, _ *model.FormationFilter, _ *model.FormationOrder) int {
		return pageCost(child, first, last)
	}
	c.Query.Organisations = func(child int, first *int, after *string, last *int, before *string, _ *string) int {
		return pageCost(child, first, last)
	}
	c.Query.Sessions = func(child int, first *int, after *string, last *int, before *string, _ *model.SessionFilter) int {
		return pageCost(child, first, last)
	}
	c.Query.Enrolments = func(child int, first *int, after *string, last *int, before *string, _ *string) int {
		return pageCost(child, first, last)
	}
	c.Query.AidApplications = func(child int, first *int, after *string, last *int, before *string, _ *model.AidStatus) int {
		return pageCost(child, first, last)
	}
	c.Query.Partners = func(child int, first *int, after *string, last *int, before *string, _ *model.PartnerKind) int {
		return pageCost(child, first, last)
	}
	c.Query.Entitlements = func(child int, first *int, after *string, last *int, before *string, _ *string) int {
		return pageCost(child, first, last)
	}
	c.Query.Nodes = func(child int, ids []string) int { return addOne(mulSat(max(1, len(ids)), child)) }
	// An indicator table's size depends on the data in scope, unknown here:
	// its cells count as indicatorCellsCost items (the hard bound is
	// MaxIndicatorCells, checked when the table is computed).
	c.Query.Indicators = func(child int, _ []model.IndicatorDimension, _ *model.IndicatorFilter, _ *bool) int {
		return addOne(child)
	}
	c.IndicatorTable.Cells = func(child int) int { return addOne(mulSat(indicatorCellsCost, child)) }
	c.Query.TrustedOperations = func(child int, _ *string) int { return addOne(mulSat(listedOperationsCost, child)) }
	c.Query.RequestLog = func(child int, first *int, _ *string, last *int, _ *string, _, _ *string, _, _ *time.Time) int {
		return pageCost(child, first, last)
	}
	c.Query.ChangeLog = func(child int, first *int, _ *string, last *int, _ *string, _, _, _, _ *string, _, _ *time.Time) int {
		return pageCost(child, first, last)
	}
}
