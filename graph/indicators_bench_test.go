package graph_test

import (
	"fmt"
	"os"
	"runtime/debug"
	"slices"
	"testing"
	"time"

	"github.com/gen-hub/genhub/internal/hubtest"
	"github.com/gen-hub/genhub/internal/seed"
)

// BenchmarkIndicators times the indicators query end to end, as a partner's
// dashboard sends it: HTTP handler, authentication, the SQL statement under
// row-level security, complementary suppression, JSON, timed around the
// hub's handler (the test's own decoding of the answer is left out), with the
// garbage collector tuned as genhub serve tunes it. It runs at demo scale,
// and at scale 10 as well when GENHUB_BENCH_SCALE10 is set (the scale-10
// template is built once per server, in about a minute). Besides ns/op it
// reports the median and 90th percentile of the requests, in milliseconds.
//
//	make bench-indicators
func BenchmarkIndicators(b *testing.B) {
	if os.Getenv("GOGC") == "" && os.Getenv("GOMEMLIMIT") == "" { // as genhub serve tunes it
		defer debug.SetGCPercent(debug.SetGCPercent(400))
		defer debug.SetMemoryLimit(debug.SetMemoryLimit(120 << 20))
	}
	scales := []int{1}
	if os.Getenv("GENHUB_BENCH_SCALE10") != "" {
		scales = append(scales, 10)
	}
	keys := map[string]string{}
	for _, p := range seed.Partners() {
		keys[p.Slug] = p.Key
	}
	const fields = `{ threshold suppressedValues cells { totalOver year region { code } department { code } formationId
		learners { value published reason } women { value published reason } womenRate { percent published }
		lowQualifiedNeetYouthRate { percent published } positiveExitRateM3 { percent published }
		aidGranted { value published } aidAmountEur { eur published } } }`
	cases := []struct {
		name, who, groupBy string
	}{
		{"region-32/year", "region-hauts-de-france", "[YEAR]"},
		{"region-32/department-year", "region-hauts-de-france", "[DEPARTMENT, YEAR]"},
		{"region-32/formation", "region-hauts-de-france", "[FORMATION]"},
		{"region-32/sex-age", "region-hauts-de-france", "[SEX, AGE_BAND]"},
		{"region-84/call-year", "region-auvergne-rhone-alpes", "[LABELLING_CALL, YEAR]"},
		{"region-11/year", "region-ile-de-france", "[YEAR]"},
		{"funder-call/year", "google", "[YEAR]"},
		{"national/region-year", "france-travail", "[REGION, YEAR]"},
		{"national/sex-age", "france-travail", "[SEX, AGE_BAND]"}, // learner rows, not the summary
	}
	for _, scale := range scales {
		e := hubtest.NewScaled(b, scale)
		for _, c := range cases {
			query := fmt.Sprintf(`{ indicators(groupBy: %s) %s }`, c.groupBy, fields)
			b.Run(fmt.Sprintf("scale=%d/%s", scale, c.name), func(b *testing.B) {
				// One request first: connections, plans, caches.
				if r := e.Query(b, keys[c.who], query, nil); len(r.Errors) > 0 {
					b.Fatalf("%s: %+v", c.name, r.Errors)
				}
				var times []time.Duration
				for b.Loop() {
					r := e.Query(b, keys[c.who], query, nil)
					times = append(times, r.Elapsed)
					if len(r.Errors) > 0 {
						b.Fatalf("%s: %+v", c.name, r.Errors)
					}
				}
				slices.Sort(times)
				ms := func(q float64) float64 {
					return float64(times[int(q*float64(len(times)-1))].Microseconds()) / 1000
				}
				b.ReportMetric(ms(0.5), "p50-ms")
				b.ReportMetric(ms(0.9), "p90-ms")
			})
		}
	}
}
