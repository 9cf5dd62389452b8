package disclosure

import (
	"container/heap"
	"math/big"
	"math/bits"
	"math/rand/v2"
	"sort"
)

// A hidden value x is recomputable from a table exactly when every solution
// of the table's relations (with the published values put in) gives x the
// same value: when every solution of the homogeneous system (the relations
// restricted to the hidden values) has x = 0, i.e. when the unit vector of x
// lies in the row space of that system.
//
// determined brings each group's system to echelon form over the rationals
// (exact), then draws solutions of the homogeneous system at random: free
// variables get random values, the others follow by back-substitution. A
// value that is not zero in some solution is certainly not determined. A
// value that is zero in two random solutions is treated as determined; it
// could be zero by chance (with probability about 2^-120), and then one value
// more is hidden than needed: the error is only ever on the safe side.

// group is a set of hidden values linked by relations, with those relations:
// groups are independent systems of equations.
type group struct {
	cells []int
	rels  []int
}

// groups splits measure m's hidden values into independent groups.
func (p *protector) groups(m int) []group {
	root := map[int]int{}
	var find func(int) int
	find = func(x int) int {
		r, ok := root[x]
		if !ok || r == x {
			root[x] = x
			return x
		}
		r = find(r)
		root[x] = r
		return r
	}
	var linked []int // relations with a hidden member
	for ri, r := range p.rels {
		first := -1
		for _, c := range r.members {
			if p.v(c, m).Status == Published {
				continue
			}
			if first < 0 {
				first = find(c)
				linked = append(linked, ri)
				continue
			}
			if rc := find(c); rc != first {
				root[rc] = first
			}
		}
	}
	index := map[int]int{}
	var gs []group
	at := func(c int) int {
		r := find(c)
		g, ok := index[r]
		if !ok {
			g = len(gs)
			index[r] = g
			gs = append(gs, group{})
		}
		return g
	}
	for c := range p.t.Cells {
		if p.v(c, m).Status != Published {
			g := at(c)
			gs[g].cells = append(gs[g].cells, c)
		}
	}
	for _, ri := range linked {
		for _, c := range p.rels[ri].members {
			if p.v(c, m).Status != Published {
				g := at(c)
				gs[g].rels = append(gs[g].rels, ri)
				break
			}
		}
	}
	return gs
}

// determined returns measure m's hidden values that the relations determine.
func (p *protector) determined(m int) []int {
	var out []int
	for _, g := range p.groups(m) {
		if len(g.rels) == 0 {
			continue
		}
		col := make(map[int]int, len(g.cells))
		for i, c := range g.cells {
			col[c] = i
		}
		rows := make([]row, 0, len(g.rels))
		for _, ri := range g.rels {
			var r row
			for j, c := range p.rels[ri].members {
				if p.v(c, m).Status == Published {
					continue
				}
				coef := int64(1)
				if j == 0 { // the margin: children minus margin is zero
					coef = -1
				}
				r = append(r, term{col: col[c], v: small(coef)})
			}
			rows = append(rows, r)
		}
		for j, fixed := range fixedColumns(rows, len(g.cells), p.rnd) {
			if fixed {
				out = append(out, g.cells[j])
			}
		}
	}
	return out
}

type term struct {
	col int
	v   num
}

// row is a sparse row of a system: terms, none zero.
type row []term

type pivot struct {
	col int // the pivot column
	at  int // its index in r
	r   row
}

// fixedColumns says which variables of the homogeneous system rows (over
// ncols variables) are zero in every solution, as explained above. The
// echelon form is exact; the random solutions are computed modulo a prime
// p: a value not zero mod p is not zero, and one that is zero mod p by
// chance only makes the answer safer.
func fixedColumns(rows []row, ncols int, rnd *rand.Rand) []bool {
	pivots := echelon(rows, ncols)
	fixed := make([]bool, ncols)
	for i := range fixed {
		fixed[i] = true
	}
	// The rows modulo p; a denominator divisible by p (never seen) would
	// leave every variable fixed: safe.
	type modTerm struct {
		col int
		v   uint64
	}
	mod := make([][]modTerm, len(pivots))
	inv := make([]uint64, len(pivots))
	pivotOf := make([]int, ncols)
	for i := range pivotOf {
		pivotOf[i] = -1
	}
	for i, pv := range pivots {
		pivotOf[pv.col] = i
		for _, t := range pv.r {
			v, ok := t.v.mod()
			if !ok {
				return fixed
			}
			if t.col == pv.col {
				if v == 0 {
					return fixed
				}
				inv[i] = invMod(v)
				continue
			}
			mod[i] = append(mod[i], modTerm{col: t.col, v: v})
		}
	}
	x := make([]uint64, ncols)
	for range 2 {
		for c := range x {
			if pivotOf[c] < 0 {
				x[c] = 1 + rnd.Uint64N(prime-1)
			}
		}
		// A pivot row holds its pivot and variables whose values are known
		// by then: free ones, and pivots of later rows.
		for i := len(pivots) - 1; i >= 0; i-- {
			var sum uint64
			for _, t := range mod[i] {
				sum = addMod(sum, mulMod(t.v, x[t.col]))
			}
			x[pivots[i].col] = mulMod(prime-sum, inv[i]) % prime
		}
		for c, v := range x {
			if v != 0 {
				fixed[c] = false
			}
		}
	}
	return fixed
}

// prime is the Mersenne prime 2^61 - 1.
const prime = 1<<61 - 1

func addMod(a, b uint64) uint64 {
	s := a + b
	if s >= prime {
		s -= prime
	}
	return s
}

func mulMod(a, b uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	// 2^64 = 8 * 2^61 and 2^61 = 1 (mod p)
	r := (lo & prime) + (lo >> 61) + (hi << 3)
	r = (r & prime) + (r >> 61)
	if r >= prime {
		r -= prime
	}
	return r
}

func invMod(a uint64) uint64 {
	// Fermat: a^(p-2)
	r, e := uint64(1), uint64(prime-2)
	for ; e > 0; e >>= 1 {
		if e&1 == 1 {
			r = mulMod(r, a)
		}
		a = mulMod(a, a)
	}
	return r
}

var bigPrime = new(big.Int).SetUint64(prime)

// ratMod returns x modulo p, if its denominator is invertible.
func ratMod(x *big.Rat) (uint64, bool) {
	n := new(big.Int).Mod(x.Num(), bigPrime).Uint64()
	d := new(big.Int).Mod(x.Denom(), bigPrime).Uint64()
	if d == 0 {
		return 0, false
	}
	return mulMod(n, invMod(d)), true
}

// echelon returns the rows of an echelon form of rows: each pivot row is
// zero in the pivot columns of the rows before it. Pivots are taken in the
// columns that appear in the fewest rows, which keeps rows sparse.
func echelon(rows []row, ncols int) []pivot {
	count := make([]int, ncols)
	for _, r := range rows {
		for _, t := range r {
			count[t.col]++
		}
	}
	pivotOf := make([]int, ncols)
	for i := range pivotOf {
		pivotOf[i] = -1
	}
	var pivots []pivot
	acc := make([]num, ncols) // the row being reduced, dense
	in := make([]bool, ncols)
	var cols []int // its columns
	for _, r := range rows {
		cols = cols[:0]
		var due pivotHeap // pivot rows to subtract, earliest first
		for _, t := range r {
			acc[t.col], in[t.col] = t.v, true
			cols = append(cols, t.col)
			if pi := pivotOf[t.col]; pi >= 0 {
				heap.Push(&due, pi)
			}
		}
		for due.Len() > 0 {
			pi := heap.Pop(&due).(int)
			for due.Len() > 0 && due[0] == pi {
				heap.Pop(&due)
			}
			pv := pivots[pi]
			if acc[pv.col].isZero() {
				continue
			}
			f := acc[pv.col].quo(pv.r[pv.at].v)
			for _, t := range pv.r {
				if !in[t.col] {
					acc[t.col], in[t.col] = small(0), true
					cols = append(cols, t.col)
					if pj := pivotOf[t.col]; pj >= 0 {
						heap.Push(&due, pj)
					}
				}
				acc[t.col] = acc[t.col].subMul(f, t.v)
			}
		}
		var nr row
		lead := -1
		sort.Ints(cols)
		for _, c := range cols {
			x := acc[c]
			acc[c], in[c] = num{}, false
			if x.isZero() {
				continue
			}
			nr = append(nr, term{col: c, v: x})
			if lead < 0 || count[c] < count[nr[lead].col] {
				lead = len(nr) - 1
			}
		}
		if lead < 0 {
			continue
		}
		pivotOf[nr[lead].col] = len(pivots)
		pivots = append(pivots, pivot{col: nr[lead].col, at: lead, r: nr})
	}
	return pivots
}

type pivotHeap []int

func (h pivotHeap) Len() int           { return len(h) }
func (h pivotHeap) Less(i, j int) bool { return h[i] < h[j] }
func (h pivotHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *pivotHeap) Push(x any)        { *h = append(*h, x.(int)) }
func (h *pivotHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
