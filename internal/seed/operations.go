package seed

import (
	"fmt"

	"github.com/gen-hub/genhub/internal/store"
)

// DemoLimits are the partners of the demo data set with limits of their own:
// France Travail's reporting scripts get more, a partner without an agreement less.
var DemoLimits = []struct {
	Slug          string
	Rate          float64
	Burst, Cost   int
	Justification string
}{
	{"france-travail", 50, 100, 1000000, "nightly exports of the national aggregates"},
	{"syntec-numerique", 2, 5, 20000, "public view only"},
}

// DemoDashboard is a trusted operation registered for the Hauts-de-France
// regional council in the demo data set: its dashboard runs it by hash.
const DemoDashboard = `query RegionDashboard($region: String!) {
  me { level }
  formations(first: 10, filter: { regionCode: $region }) {
    totalCount
    nodes { title sessions(first: 3) { nodes { startOn enrolmentCount { value published reason } } } }
  }
}`

// DemoDashboardPartner is the partner DemoDashboard is registered for.
const DemoDashboardPartner = "region-hauts-de-france"

func (w *writer) limits() error {
	ids := partnerIDs()
	return w.copy("partner_limit", []string{"partner_id", "requests_per_second", "burst", "cost_per_minute", "set_by"},
		func(put func(...any) error) error {
			for _, l := range DemoLimits {
				if err := put(ids[l.Slug], l.Rate, l.Burst, l.Cost, "demo data set: "+l.Justification); err != nil {
					return err
				}
			}
			return nil
		})
}

func (w *writer) operations() error {
	id, ok := partnerIDs()[DemoDashboardPartner]
	if !ok {
		return fmt.Errorf("seed: no partner %s", DemoDashboardPartner)
	}
	return w.copy("trusted_operation", []string{"id", "partner_id", "hash", "name", "document", "registered_by"},
		func(put func(...any) error) error {
			return put(1, id, store.DocumentHash(DemoDashboard), "RegionDashboard", DemoDashboard, "demo data set")
		})
}

// partnerIDs returns the identifiers the demo partners are loaded with.
func partnerIDs() map[string]int {
	m := map[string]int{}
	for i, p := range Partners() {
		m[p.Slug] = i + 1
	}
	return m
}
