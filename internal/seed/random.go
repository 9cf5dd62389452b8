package seed

import (
	"math/rand/v2"
	"sort"
	"strconv"
	"time"
)

// The PCG stream constant: with the seed it fixes every random draw.
const pcgStream = 0x6a656e2d68756221

// newRand returns the generator of one part of the data set. Parts that are
// generated several times (a session's learners, once per table) get their
// own generator so that each pass draws exactly the same values.
func newRand(seed uint64, part, id uint64) *rand.Rand {
	return rand.New(rand.NewPCG(mix(seed^mix(part)), pcgStream^mix(id+part<<32)))
}

// mix is SplitMix64's finaliser: nearby inputs give unrelated outputs.
func mix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// weighted draws indexes with the given weights.
type weighted struct{ cum []float64 }

func newWeighted(w []float64) weighted {
	cum := make([]float64, len(w))
	t := 0.0
	for i, x := range w {
		t += x
		cum[i] = t
	}
	return weighted{cum}
}

func (w weighted) draw(r *rand.Rand) int {
	x := r.Float64() * w.cum[len(w.cum)-1]
	return min(sort.SearchFloat64s(w.cum, x), len(w.cum)-1)
}

// choice is a value with its weight.
type choice[T any] struct {
	v T
	w float64
}

// pick draws one of the choices by weight.
func pick[T any](r *rand.Rand, cs []choice[T]) T {
	t := 0.0
	for _, c := range cs {
		t += c.w
	}
	x := r.Float64() * t
	for _, c := range cs {
		if x < c.w {
			return c.v
		}
		x -= c.w
	}
	return cs[len(cs)-1].v
}

// between returns an integer in [lo, hi].
func between(r *rand.Rand, lo, hi int) int { return lo + r.IntN(hi-lo+1) }

// chance is true with probability p.
func chance(r *rand.Rand, p float64) bool { return r.Float64() < p }

// Dates are calendar days at midnight UTC.
func date(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

func days(t time.Time, n int) time.Time { return t.AddDate(0, 0, n) }

// addMonths adds n months as PostgreSQL does: 31 January plus a month is the
// last day of February, not 3 March.
func addMonths(t time.Time, n int) time.Time {
	y, m, d := t.Date()
	first := date(y, m, 1).AddDate(0, n, 0)
	last := first.AddDate(0, 1, -1).Day()
	return date(first.Year(), first.Month(), min(d, last))
}

func ymd(t time.Time) string { return t.Format(time.DateOnly) }

func minDate(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// luhnDigit returns the digit that makes s followed by it pass the Luhn check.
func luhnDigit(s string) byte {
	sum := 0
	for i := len(s) - 1; i >= 0; i-- {
		d := int(s[i] - '0')
		if (len(s)-1-i)%2 == 0 { // doubled: every second digit from the right of the full number
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	return byte('0' + (10-sum%10)%10)
}

// luhnValid says whether s, all digits, passes the Luhn check.
func luhnValid(s string) bool {
	return len(s) > 1 && luhnDigit(s[:len(s)-1]) == s[len(s)-1]
}

// siret builds a SIRET from an 8-digit SIREN body and a 4-digit NIC body: the
// SIREN gets its Luhn key, then the NIC's last digit makes all 14 digits pass.
func siret(sirenBody, nicBody string) string {
	siren := sirenBody + string(luhnDigit(sirenBody))
	body := siren + nicBody
	return body + string(luhnDigit(body))
}

// randomSIRET draws a SIRET that is not La Poste's (SIREN 356000000), whose
// establishments follow another rule.
func randomSIRET(r *rand.Rand) string {
	for {
		siren := strconv.Itoa(between(r, 1, 9)) + pad(r.IntN(10_000_000), 7)
		if siren == "35600000" {
			continue
		}
		return siret(siren, "000"+strconv.Itoa(between(r, 1, 9)))
	}
}

// pad writes n on width digits with leading zeros.
func pad(n, width int) string {
	s := strconv.Itoa(n)
	for len(s) < width {
		s = "0" + s
	}
	return s
}
