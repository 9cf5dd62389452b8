package disclosure

import (
	"math"
	"math/big"
	"math/bits"
)

// num is an exact rational: a fraction of int64s while it fits, a big.Rat
// beyond. The systems solved here have small coefficients (often only 0 and
// ±1), so the fast path is the common one.
type num struct {
	n, d int64    // d > 0, gcd(n, d) = 1; used when r is nil
	r    *big.Rat // set once a value no longer fits
}

func small(n int64) num { return num{n: n, d: 1} }

func (a num) isZero() bool {
	if a.r != nil {
		return a.r.Sign() == 0
	}
	return a.n == 0
}

func (a num) rat() *big.Rat {
	if a.r != nil {
		return a.r
	}
	return big.NewRat(a.n, a.d)
}

func fromRat(r *big.Rat) num {
	if r.Num().IsInt64() && r.Denom().IsInt64() {
		return num{n: r.Num().Int64(), d: r.Denom().Int64()}
	}
	return num{r: r}
}

// subMul returns a - f·b.
func (a num) subMul(f, b num) num {
	if a.r == nil && f.r == nil && b.r == nil {
		if v, ok := fracSubMul(a, f, b); ok {
			return v
		}
	}
	p := new(big.Rat).Mul(f.rat(), b.rat())
	return fromRat(p.Sub(a.rat(), p))
}

// quo returns a / b (b not zero).
func (a num) quo(b num) num {
	if a.r == nil && b.r == nil {
		n, d := a.n, b.n
		if d < 0 {
			n, d = -n, -d
		}
		g1, g2 := gcd(n, d), gcd(b.d, a.d)
		nn, ok1 := mul64(n/g1, b.d/g2)
		dd, ok2 := mul64(a.d/g2, d/g1)
		if ok1 && ok2 && n != math.MinInt64 && d != math.MinInt64 {
			return num{n: nn, d: dd}
		}
	}
	return fromRat(new(big.Rat).Quo(a.rat(), b.rat()))
}

// mod returns a modulo prime, if its denominator is invertible.
func (a num) mod() (uint64, bool) {
	if a.r != nil {
		return ratMod(a.r)
	}
	n := uint64(a.n % prime)
	if a.n < 0 {
		n = uint64(prime - (-a.n)%prime)
		if n == prime {
			n = 0
		}
	}
	if a.d == 1 {
		return n, true
	}
	d := uint64(a.d) % prime
	if d == 0 {
		return 0, false
	}
	return mulMod(n, invMod(d)), true
}

func fracSubMul(a, f, b num) (num, bool) {
	// f·b
	g1, g2 := gcd(f.n, b.d), gcd(b.n, f.d)
	pn, ok1 := mul64(f.n/g1, b.n/g2)
	pd, ok2 := mul64(f.d/g2, b.d/g1)
	if !ok1 || !ok2 {
		return num{}, false
	}
	// a - p
	if a.d == 1 && pd == 1 {
		n, ok := sub64(a.n, pn)
		return num{n: n, d: 1}, ok
	}
	g := gcd(a.d, pd)
	x, ok1 := mul64(a.n, pd/g)
	y, ok2 := mul64(pn, a.d/g)
	d, ok3 := mul64(a.d, pd/g)
	n, ok4 := sub64(x, y)
	if !ok1 || !ok2 || !ok3 || !ok4 {
		return num{}, false
	}
	if h := gcd(n, d); h > 1 {
		n, d = n/h, d/h
	}
	return num{n: n, d: d}, true
}

func gcd(a, b int64) int64 {
	if a < 0 {
		a = -a
	}
	if b < 0 {
		b = -b
	}
	for b != 0 {
		a, b = b, a%b
	}
	if a == 0 {
		return 1
	}
	return a
}

// mul64 multiplies, reporting overflow (kept away from MinInt64).
func mul64(a, b int64) (int64, bool) {
	if a == 0 || b == 0 {
		return 0, true
	}
	neg := (a < 0) != (b < 0)
	ua, ub := uint64(a), uint64(b)
	if a < 0 {
		ua = uint64(-a)
	}
	if b < 0 {
		ub = uint64(-b)
	}
	hi, lo := bits.Mul64(ua, ub)
	if hi != 0 || lo > math.MaxInt64 || a == math.MinInt64 || b == math.MinInt64 {
		return 0, false
	}
	if neg {
		return -int64(lo), true
	}
	return int64(lo), true
}

func sub64(a, b int64) (int64, bool) {
	c := a - b
	if (a >= 0) != (b >= 0) && (c >= 0) != (a >= 0) {
		return 0, false
	}
	return c, c != math.MinInt64
}
