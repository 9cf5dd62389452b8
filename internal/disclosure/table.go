package disclosure

import (
	"errors"
	"fmt"
	"math/bits"
	"math/rand/v2"
	"strings"
)

// A table of counts, as the database computes it with GROUPING SETS: cells
// broken down by some dimensions, and margins that sum over some of them.
// Each margin is the sum of the cells one level below it along a dimension:
// those are the linear relations an attacker can use to recompute a hidden
// value from published ones. Protect hides enough values that none can be.

// Status says whether a value of a table is published and, if not, why.
type Status uint8

const (
	// Published values may be shown to the caller.
	Published Status = iota
	// BelowThreshold values are built from fewer than k people (primary suppression).
	BelowThreshold
	// Complementary values are hidden so that no other hidden value can be recomputed.
	Complementary
)

func (s Status) String() string {
	switch s {
	case Published:
		return "published"
	case BelowThreshold:
		return "below threshold"
	case Complementary:
		return "complementary"
	}
	return fmt.Sprintf("status(%d)", int(s))
}

// Rule says how a measure's values are judged on their own.
type Rule uint8

const (
	// HeadCount is a number of people: published if 0 or at least k.
	HeadCount Rule = iota
	// Attribute counts the people of another measure (Of) who have some
	// attribute: published only where Of is, and then if Of is 0 or neither
	// the group nor the rest of Of is smaller than k (so that "all of them" and
	// "none of them" are not published either).
	Attribute
	// Follows is a sum over the people Of counts (an amount of aid): published
	// exactly where Of is.
	Follows
	// Part is a head count of some of the people Of counts, where the rest is
	// not sensitive (those who finished, among learners): published only
	// where Of is, and then if 0 or at least k. Where the part is often all of
	// Of (every learner of an old cohort has finished), it must not show a
	// value that Of hides.
	Part
)

// Measure is one quantity given in every cell of a table.
type Measure struct {
	Name string
	Rule Rule
	// Of is the index of the measure an Attribute or Follows measure is
	// about; it must come before this one.
	Of int
}

// Value is a measure's value in one cell.
type Value struct {
	N int64
	// Known is false when the database withheld the value (it was below the
	// threshold): N is then meaningless.
	Known  bool
	Status Status
}

// Cell is one cell or margin of a table.
type Cell struct {
	// Margin has bit d set when the cell sums over dimension d.
	Margin uint32
	// Key holds the value of each dimension the cell does not sum over.
	Key    []string
	Values []Value // one per measure
}

// Table is a table of cells and margins over the same dimensions, with the
// same measures in every cell.
type Table struct {
	Dims     int
	Measures []Measure
	Cells    []Cell
}

// MaxDims is the most dimensions a table may have.
const MaxDims = 16

// relation says that the first member (a margin) is the sum of the others.
type relation struct {
	members []int
}

type protector struct {
	t    *Table
	k    int64
	rels []relation
	of   [][]int    // cell -> the relations it is a member of
	rnd  *rand.Rand // fixed seed: the same table is always protected the same way
}

// Protect sets the status of every value of t under threshold k: primary
// suppression by each measure's rule, then complementary suppression until
// no hidden value can be recomputed from the published ones through the
// table's relations. It prefers hiding the smallest values, and detailed
// cells before margins.
//
// The rules on single relations come first: never exactly one hidden value
// in a relation, and what the hidden values of a relation add up to, when it
// can be worked out, is itself at least k. They are not enough (a hidden
// value can be the sum of several relations), so every group of hidden values
// linked by relations is then solved exactly (see determined), and a value
// the system determines gets another value of its relations hidden, until
// none is.
func Protect(t *Table, k int) error {
	if k < 1 {
		return fmt.Errorf("disclosure: threshold %d", k)
	}
	p, err := newProtector(t, k)
	if err != nil {
		return err
	}
	for m := range t.Measures {
		if err := p.measure(m); err != nil {
			return fmt.Errorf("disclosure: measure %s: %w", t.Measures[m].Name, err)
		}
	}
	return nil
}

func newProtector(t *Table, k int) (*protector, error) {
	p := &protector{t: t, k: int64(k), rnd: rand.New(rand.NewPCG(1, 2))}
	if err := p.check(); err != nil {
		return nil, err
	}
	return p, p.relations()
}

func (p *protector) check() error {
	t := p.t
	if t.Dims < 0 || t.Dims > MaxDims {
		return fmt.Errorf("disclosure: %d dimensions (at most %d)", t.Dims, MaxDims)
	}
	for i, m := range t.Measures {
		if m.Rule != HeadCount && (m.Of < 0 || m.Of >= i) {
			return fmt.Errorf("disclosure: measure %s depends on measure %d, which does not come before it", m.Name, m.Of)
		}
	}
	for i, c := range t.Cells {
		if len(c.Key) != t.Dims || len(c.Values) != len(t.Measures) {
			return fmt.Errorf("disclosure: cell %d has %d keys and %d values, want %d and %d", i, len(c.Key), len(c.Values), t.Dims, len(t.Measures))
		}
		if c.Margin>>t.Dims != 0 {
			return fmt.Errorf("disclosure: cell %d sums over a dimension the table does not have", i)
		}
	}
	return nil
}

// id names a cell by its margin and key, with dimension blank summed over too.
func id(margin uint32, key []string, blank int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%x", margin)
	for d, v := range key {
		b.WriteByte(0)
		if margin&(1<<d) == 0 && d != blank {
			b.WriteString(v)
		}
	}
	return b.String()
}

// relations finds every relation of the table: for each margin and each
// dimension it sums over, the cells one level below it along that dimension,
// when the table holds that level.
func (p *protector) relations() error {
	t := p.t
	index := make(map[string]int, len(t.Cells))
	levels := map[uint32]bool{}
	for i, c := range t.Cells {
		k := id(c.Margin, c.Key, -1)
		if _, dup := index[k]; dup {
			return fmt.Errorf("disclosure: cell %d appears twice", i)
		}
		index[k] = i
		levels[c.Margin] = true
	}
	byParent := map[[2]int]int{}
	p.of = make([][]int, len(t.Cells))
	for i, c := range t.Cells {
		for d := 0; d < t.Dims; d++ {
			bit := uint32(1) << d
			if c.Margin&bit != 0 || !levels[c.Margin|bit] {
				continue
			}
			parent, ok := index[id(c.Margin|bit, c.Key, d)]
			if !ok {
				return fmt.Errorf("disclosure: cell %d has no margin over dimension %d", i, d)
			}
			r, ok := byParent[[2]int{parent, d}]
			if !ok {
				r = len(p.rels)
				p.rels = append(p.rels, relation{members: []int{parent}})
				byParent[[2]int{parent, d}] = r
				p.of[parent] = append(p.of[parent], r)
			}
			p.rels[r].members = append(p.rels[r].members, i)
			p.of[i] = append(p.of[i], r)
		}
	}
	return nil
}

func (p *protector) v(cell, m int) *Value { return &p.t.Cells[cell].Values[m] }

// primary applies measure m's own rule to every cell.
func (p *protector) primary(m int) {
	ms := p.t.Measures[m]
	for i := range p.t.Cells {
		v := p.v(i, m)
		switch ms.Rule {
		case HeadCount:
			v.Status = Published
			if !v.Known || (v.N != 0 && v.N < p.k) {
				v.Status = BelowThreshold
			}
		case Attribute:
			n := p.v(i, ms.Of)
			switch {
			case n.Status != Published:
				v.Status = n.Status
			case n.N == 0 && v.Known && v.N == 0:
				v.Status = Published // nobody, so nobody with the attribute
			case !v.Known || v.N < p.k || n.N-v.N < p.k:
				v.Status = BelowThreshold
			default:
				v.Status = Published
			}
		case Follows:
			v.Status = p.v(i, ms.Of).Status
			if !v.Known && v.Status == Published {
				v.Status = BelowThreshold
			}
		case Part:
			v.Status = p.v(i, ms.Of).Status
			if v.Status == Published && (!v.Known || (v.N != 0 && v.N < p.k)) {
				v.Status = BelowThreshold
			}
		}
	}
}

func (p *protector) measure(m int) error {
	p.primary(m)
	for round := 0; ; round++ {
		if round > len(p.t.Cells) {
			return errors.New("complementary suppression does not converge")
		}
		if err := p.fixpoint(m); err != nil {
			return err
		}
		det := p.determined(m)
		if len(det) == 0 {
			return nil
		}
		for _, c := range det {
			if p.v(c, m).Status == Published {
				continue
			}
			if err := p.hideNear(c, m); err != nil {
				return err
			}
		}
	}
}

// fixpoint hides values until no relation leaks on its own.
func (p *protector) fixpoint(m int) error {
	for changed := true; changed; {
		changed = false
		for _, r := range p.rels {
			if !p.leaks(r, m) {
				continue
			}
			c := p.cheapest(r.members, m)
			if c < 0 {
				return fmt.Errorf("relation of cell %d leaks and has no value left to hide", r.members[0])
			}
			p.v(c, m).Status = Complementary
			changed = true
		}
	}
	return nil
}

// leaks says whether relation r gives away something about its hidden
// values: exactly one of them hidden (it is the difference of the others),
// or hidden children that add up, by difference with the published margin,
// to fewer than k people (or fewer than k without the attribute).
func (p *protector) leaks(r relation, m int) bool {
	hidden := 0
	for _, c := range r.members {
		if p.v(c, m).Status != Published {
			hidden++
		}
	}
	if hidden == 0 {
		return false
	}
	if hidden == 1 {
		return true
	}
	ms := p.t.Measures[m]
	parent := p.v(r.members[0], m)
	if ms.Rule == Follows || parent.Status != Published {
		return false
	}
	rest := parent.N
	denominators, complete := int64(0), true
	for _, c := range r.members[1:] {
		v := p.v(c, m)
		if v.Status == Published {
			rest -= v.N
			continue
		}
		if ms.Rule == Attribute {
			n := p.v(c, ms.Of)
			complete = complete && n.Status == Published
			denominators += n.N
		}
	}
	if rest < p.k {
		return true
	}
	return ms.Rule == Attribute && complete && denominators-rest < p.k
}

// cheapest returns the member to hide next: the smallest published value,
// preferring non-zero values (hiding a zero protects little) and detailed
// cells over margins; -1 if every member is hidden.
func (p *protector) cheapest(members []int, m int) int {
	best := -1
	for _, c := range members {
		if p.v(c, m).Status == Published && (best < 0 || p.before(c, best, m)) {
			best = c
		}
	}
	return best
}

func (p *protector) before(a, b, m int) bool {
	va, vb := p.v(a, m).N, p.v(b, m).N
	if (va == 0) != (vb == 0) {
		return vb == 0
	}
	if va != vb {
		return va < vb
	}
	la, lb := bits.OnesCount32(p.t.Cells[a].Margin), bits.OnesCount32(p.t.Cells[b].Margin)
	if la != lb {
		return la < lb
	}
	return a < b
}

// hideNear hides one more value next to a hidden value that the relations
// determine: the cheapest published member of its relations, or failing
// that of any relation of its group.
func (p *protector) hideNear(cell, m int) error {
	var near []int
	for _, r := range p.of[cell] {
		near = append(near, p.rels[r].members...)
	}
	if c := p.cheapest(near, m); c >= 0 {
		p.v(c, m).Status = Complementary
		return nil
	}
	for _, cs := range p.groups(m) {
		for _, x := range cs.cells {
			if x != cell {
				continue
			}
			near = near[:0]
			for _, r := range cs.rels {
				near = append(near, p.rels[r].members...)
			}
			if c := p.cheapest(near, m); c >= 0 {
				p.v(c, m).Status = Complementary
				return nil
			}
		}
	}
	return fmt.Errorf("cell %d is determined and nothing is left to hide", cell)
}
