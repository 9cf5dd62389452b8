package disclosure

import (
	"fmt"
	"math/big"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// grid builds a two-dimensional table of one head count from its inner cells
// (rows × columns, 0 for an empty cell, which is left out as the database
// leaves it out), with every margin.
func grid(inner [][]int64) *Table {
	t := &Table{Dims: 2, Measures: []Measure{{Name: "learners"}}}
	rows, cols := make([]int64, len(inner)), make([]int64, len(inner[0]))
	var total int64
	for i, r := range inner {
		for j, n := range r {
			rows[i] += n
			cols[j] += n
			total += n
			if n != 0 {
				t.Cells = append(t.Cells, count(0, n, fmt.Sprint("r", i+1), fmt.Sprint("c", j+1)))
			}
		}
	}
	for i, n := range rows {
		t.Cells = append(t.Cells, count(2, n, fmt.Sprint("r", i+1), ""))
	}
	for j, n := range cols {
		t.Cells = append(t.Cells, count(1, n, "", fmt.Sprint("c", j+1)))
	}
	t.Cells = append(t.Cells, count(3, total, "", ""))
	return t
}

func count(margin uint32, n int64, key ...string) Cell {
	return Cell{Margin: margin, Key: key, Values: []Value{{N: n, Known: true}}}
}

// statuses renders measure m of a table as "key=value:status" lines, with
// B for below threshold and C for complementary.
func statuses(t *Table, m int) []string {
	var out []string
	for _, c := range t.Cells {
		key := make([]string, len(c.Key))
		for d, v := range c.Key {
			key[d] = v
			if c.Margin&(1<<d) != 0 {
				key[d] = "*"
			}
		}
		s := ""
		switch c.Values[m].Status {
		case BelowThreshold:
			s = ":B"
		case Complementary:
			s = ":C"
		}
		out = append(out, fmt.Sprintf("%s=%d%s", strings.Join(key, ","), c.Values[m].N, s))
	}
	return out
}

func TestProtectHandBuilt(t *testing.T) {
	tests := []struct {
		name string
		t    *Table
		want []string
	}{{
		// A row whose one small cell would be the total minus the others:
		// the next smallest cell is hidden with it.
		name: "one row",
		t: &Table{Dims: 1, Measures: []Measure{{Name: "learners"}}, Cells: []Cell{
			count(0, 5, "a"), count(0, 20, "b"), count(0, 30, "c"), count(1, 55, ""),
		}},
		want: []string{"a=5:B", "b=20:C", "c=30", "*=55"},
	}, {
		// Zero people reveal nothing about anyone: published, and never chosen to hide.
		name: "zero and exactly k",
		t: &Table{Dims: 1, Measures: []Measure{{Name: "learners"}}, Cells: []Cell{
			count(0, 0, "a"), count(0, 11, "b"), count(0, 10, "c"), count(0, 40, "d"), count(1, 61, ""),
		}},
		want: []string{"a=0", "b=11:C", "c=10:B", "d=40", "*=61"},
	}, {
		// Two small cells that add up to fewer than k: their sum is the
		// total minus the rest, so a third value goes.
		name: "hidden cells adding up to less than k",
		t: &Table{Dims: 1, Measures: []Measure{{Name: "learners"}}, Cells: []Cell{
			count(0, 5, "a"), count(0, 4, "b"), count(0, 40, "c"), count(1, 49, ""),
		}},
		want: []string{"a=5:B", "b=4:B", "c=40:C", "*=49"},
	}, {
		// The small cell of row 1 is recoverable from the row total and from
		// the column total: the cheapest rectangle hides it.
		name: "rectangle",
		t: grid([][]int64{
			{3, 12, 40},
			{15, 30, 45},
			{50, 60, 70},
		}),
		want: []string{
			"r1,c1=3:B", "r1,c2=12:C", "r1,c3=40", "r2,c1=15:C", "r2,c2=30:C", "r2,c3=45",
			"r3,c1=50", "r3,c2=60", "r3,c3=70",
			"r1,*=55", "r2,*=90", "r3,*=180", "*,c1=68", "*,c2=102", "*,c3=155", "*,*=325",
		},
	}, {
		// A row total below k hides the row's cells, and the column totals
		// would give it back: the next smallest row goes too.
		name: "small margin",
		t: grid([][]int64{
			{3, 4, 0},
			{20, 25, 30},
			{40, 50, 60},
		}),
		want: []string{
			"r1,c1=3:B", "r1,c2=4:B", "r2,c1=20:C", "r2,c2=25:C", "r2,c3=30",
			"r3,c1=40", "r3,c2=50", "r3,c3=60",
			"r1,*=7:B", "r2,*=75:C", "r3,*=150", "*,c1=63", "*,c2=79", "*,c3=90", "*,*=232",
		},
	}, {
		// Every row and column holds at least two hidden values, yet the one
		// linking the two rectangles is the sum of rows 1-2 minus columns
		// 1-2: only the exact check finds it; a cell of its row goes too.
		name: "bridge between two rectangles",
		t: grid([][]int64{
			{5, 5, 5, 50},
			{6, 6, 50, 50},
			{50, 50, 6, 6},
			{50, 50, 6, 6},
		}),
		want: []string{
			"r1,c1=5:B", "r1,c2=5:B", "r1,c3=5:B", "r1,c4=50:C",
			"r2,c1=6:B", "r2,c2=6:B", "r2,c3=50", "r2,c4=50",
			"r3,c1=50", "r3,c2=50", "r3,c3=6:B", "r3,c4=6:B",
			"r4,c1=50", "r4,c2=50", "r4,c3=6:B", "r4,c4=6:B",
			"r1,*=65", "r2,*=112", "r3,*=112", "r4,*=112",
			"*,c1=111", "*,c2=111", "*,c3=67", "*,c4=112", "*,*=401",
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := Protect(tt.t, 11); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, statuses(tt.t, 0)); diff != "" {
				t.Errorf("mismatch (-want +got):\n%s", diff)
			}
			check(t, tt.t, 11)
		})
	}
}

// The bridge is invisible to the rules on single relations: the exact check
// is what finds it.
func TestBridgeNeedsExactCheck(t *testing.T) {
	tb := grid([][]int64{
		{5, 5, 5, 50},
		{6, 6, 50, 50},
		{50, 50, 6, 6},
		{50, 50, 6, 6},
	})
	p, err := newProtector(tb, 11)
	if err != nil {
		t.Fatal(err)
	}
	p.primary(0)
	if err := p.fixpoint(0); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range p.determined(0) {
		got = append(got, strings.Join(tb.Cells[c].Key, ","))
	}
	if diff := cmp.Diff([]string{"r1,c3"}, got); diff != "" {
		t.Errorf("determined after the single-relation rules: mismatch (-want +got):\n%s", diff)
	}
}

func TestProtectMeasures(t *testing.T) {
	// learners, women among them, aid granted among women (an attribute of
	// an attribute), and the amount of that aid.
	cell := func(margin uint32, key string, n, w, g, eur int64) Cell {
		return Cell{Margin: margin, Key: []string{key}, Values: []Value{
			{N: n, Known: true}, {N: w, Known: true}, {N: g, Known: true}, {N: eur, Known: true}}}
	}
	tb := &Table{Dims: 1, Measures: []Measure{
		{Name: "learners"},
		{Name: "women", Rule: Attribute, Of: 0},
		{Name: "granted", Rule: Attribute, Of: 1},
		{Name: "amount", Rule: Follows, Of: 2},
	}, Cells: []Cell{
		cell(0, "a", 8, 4, 0, 0),        // fewer than k learners: everything hidden
		cell(0, "b", 50, 45, 10, 900),   // 5 men: the women are hidden, and what is counted among them
		cell(0, "c", 40, 20, 12, 1000),  // learners hidden to protect a: so is what is counted among them
		cell(0, "d", 60, 30, 15, 1500),  // published
		cell(0, "f", 70, 35, 30, 2000),  // 5 women without aid: granted hidden
		cell(0, "e", 0, 0, 0, 0),        // nobody, so nobody with the attribute
		cell(1, "", 228, 134, 67, 5400), // the total
	}}
	if err := Protect(tb, 11); err != nil {
		t.Fatal(err)
	}
	want := [][]string{
		{"a=8:B", "b=50", "c=40:C", "d=60", "f=70", "e=0", "*=228"},
		{"a=4:B", "b=45:B", "c=20:C", "d=30", "f=35", "e=0", "*=134"},
		{"a=0:B", "b=10:B", "c=12:C", "d=15", "f=30:B", "e=0", "*=67"},
		{"a=0:B", "b=900:B", "c=1000:C", "d=1500", "f=2000:B", "e=0", "*=5400"},
	}
	for m := range tb.Measures {
		if diff := cmp.Diff(want[m], statuses(tb, m)); diff != "" {
			t.Errorf("%s: mismatch (-want +got):\n%s", tb.Measures[m].Name, diff)
		}
	}
	check(t, tb, 11)
}

// Those who finished are a part of the learners: where every learner of a
// cell has finished (an old cohort), a published count of those who finished
// would give away the learners' count that protects another cell.
func TestProtectPart(t *testing.T) {
	cell := func(margin uint32, key string, n, f int64) Cell {
		return Cell{Margin: margin, Key: []string{key}, Values: []Value{{N: n, Known: true}, {N: f, Known: true}}}
	}
	tb := &Table{Dims: 1, Measures: []Measure{{Name: "learners"}, {Name: "finished", Rule: Part, Of: 0}}, Cells: []Cell{
		cell(0, "a", 5, 5), cell(0, "b", 20, 20), cell(0, "c", 30, 30), cell(0, "d", 40, 8), cell(1, "", 95, 63),
	}}
	if err := Protect(tb, 11); err != nil {
		t.Fatal(err)
	}
	want := [][]string{
		{"a=5:B", "b=20:C", "c=30", "d=40", "*=95"},
		{"a=5:B", "b=20:C", "c=30", "d=8:B", "*=63"},
	}
	for m := range tb.Measures {
		if diff := cmp.Diff(want[m], statuses(tb, m)); diff != "" {
			t.Errorf("%s: mismatch (-want +got):\n%s", tb.Measures[m].Name, diff)
		}
	}
	check(t, tb, 11)
}

// Values the database withheld are hidden, and what is left is protected as usual.
func TestProtectWithheld(t *testing.T) {
	tb := &Table{Dims: 1, Measures: []Measure{{Name: "learners"}}, Cells: []Cell{
		{Key: []string{"a"}, Values: []Value{{}}},
		count(0, 20, "b"), count(0, 30, "c"), count(1, 55, ""),
	}}
	if err := Protect(tb, 11); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"a=0:B", "b=20:C", "c=30", "*=55"}, statuses(tb, 0)); diff != "" {
		t.Errorf("mismatch (-want +got):\n%s", diff)
	}
}

// TestProtectRandom is the property test: on random tables of random shapes
// (cubes, and hierarchies such as region > department), no hidden value can
// be derived from the published values and the table's relations, checked
// relation by relation and by the exact rank test, written independently of
// the code under test.
func TestProtectRandom(t *testing.T) {
	seeds := 400
	if testing.Short() {
		seeds = 60
	}
	hidden, total := 0, 0
	for seed := range seeds {
		r := rand.New(rand.NewPCG(uint64(seed), 0x5eed))
		tb, k := randomTable(r)
		if err := Protect(tb, k); err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		if t.Failed() {
			return
		}
		check(t, tb, k)
		if t.Failed() {
			t.Fatalf("seed %d (k=%d):\n%s", seed, k, strings.Join(statuses(tb, 0), "\n"))
		}
		for _, c := range tb.Cells {
			for _, v := range c.Values {
				total++
				if v.Status != Published {
					hidden++
				}
			}
		}
	}
	t.Logf("%d tables, %d values, %d hidden", seeds, total, hidden)
}

// randomTable returns a table of 1 to 3 dimensions, the first two possibly
// a hierarchy (the second's values nested in the first's), with every margin
// of its grouping sets, a head count, an attribute, an amount and a part,
// and a threshold from 5 to 11. Small values are common; some are withheld as the
// database withholds them.
func randomTable(r *rand.Rand) (*Table, int) {
	dims := 1 + r.IntN(3)
	k := 5 + r.IntN(7)
	nested := dims >= 2 && r.IntN(3) == 0
	card := make([]int, dims)
	for d := range card {
		card[d] = 2 + r.IntN(3)
	}
	// Grouping sets: every subset of the dimensions, except that a nested
	// dimension is summed over whenever its parent is (ROLLUP).
	var levels []uint32
	for m := uint32(0); m < 1<<dims; m++ {
		if nested && m&1 != 0 && m&2 == 0 {
			continue
		}
		levels = append(levels, m)
	}
	type inner struct {
		key        []string
		n, w, a, f int64
	}
	var cells []inner
	var walk func(d int, key []string)
	walk = func(d int, key []string) {
		if d == dims {
			if r.IntN(5) == 0 {
				return // empty: not in the table
			}
			n := int64(1 + r.IntN(k))
			if r.IntN(2) == 0 {
				n += int64(r.IntN(60))
			}
			w := int64(r.IntN(int(n) + 1))
			f := n // often everyone has finished
			if r.IntN(2) == 0 {
				f = int64(r.IntN(int(n) + 1))
			}
			cells = append(cells, inner{key: append([]string(nil), key...), n: n, w: w, a: w * int64(100+r.IntN(500)), f: f})
			return
		}
		for v := range card[d] {
			s := fmt.Sprint(v)
			if nested && d == 1 {
				s = key[0] + "." + s
			}
			walk(d+1, append(key, s))
		}
	}
	walk(0, nil)
	withheld := r.IntN(2) == 0
	tb := &Table{Dims: dims, Measures: []Measure{
		{Name: "learners"},
		{Name: "women", Rule: Attribute, Of: 0},
		{Name: "amount", Rule: Follows, Of: 1},
		{Name: "finished", Rule: Part, Of: 0},
	}}
	for _, m := range levels {
		sums := map[string]*Cell{}
		var order []string
		for _, c := range cells {
			key := make([]string, dims)
			for d := range key {
				if m&(1<<d) == 0 {
					key[d] = c.key[d]
				}
			}
			id := strings.Join(key, "\x00")
			s, ok := sums[id]
			if !ok {
				s = &Cell{Margin: m, Key: key, Values: make([]Value, 4)}
				sums[id] = s
				order = append(order, id)
			}
			s.Values[0].N += c.n
			s.Values[1].N += c.w
			s.Values[2].N += c.a
			s.Values[3].N += c.f
		}
		if len(order) == 0 && m == 1<<dims-1 {
			order = append(order, "")
			sums[""] = &Cell{Margin: m, Key: make([]string, dims), Values: make([]Value, 4)}
		}
		for _, id := range order {
			c := sums[id]
			for i := range c.Values {
				c.Values[i].Known = true
			}
			n, w, f := c.Values[0].N, c.Values[1].N, c.Values[3].N
			if withheld && n != 0 && n < int64(k) {
				c.Values = make([]Value, 4)
			} else if withheld {
				if (w < int64(k) || n-w < int64(k)) && n != 0 {
					c.Values[1], c.Values[2] = Value{}, Value{}
				}
				if f != 0 && f < int64(k) {
					c.Values[3] = Value{}
				}
			}
			tb.Cells = append(tb.Cells, *c)
		}
	}
	r.Shuffle(len(tb.Cells), func(i, j int) { tb.Cells[i], tb.Cells[j] = tb.Cells[j], tb.Cells[i] })
	return tb, k
}

// check verifies, independently of Protect, what a protected table must
// satisfy: the primary rules; on every relation, never exactly one hidden
// value and hidden values adding up to 0 or at least k; and the rank test.
func check(t *testing.T, tb *Table, k int) {
	t.Helper()
	rels := bruteRelations(tb)
	K := int64(k)
	for m, ms := range tb.Measures {
		for i, c := range tb.Cells {
			v := c.Values[m]
			if v.Status != Published {
				continue
			}
			if !v.Known {
				t.Errorf("%s: cell %d published a withheld value", ms.Name, i)
			}
			switch ms.Rule {
			case HeadCount:
				if v.N != 0 && v.N < K {
					t.Errorf("%s: cell %v published %d < k", ms.Name, c.Key, v.N)
				}
			case Attribute:
				n := c.Values[ms.Of]
				if n.Status != Published {
					t.Errorf("%s: cell %v published without its denominator", ms.Name, c.Key)
				} else if n.N != 0 && (v.N < K || n.N-v.N < K) {
					t.Errorf("%s: cell %v published %d of %d", ms.Name, c.Key, v.N, n.N)
				}
			case Follows:
				if c.Values[ms.Of].Status != Published {
					t.Errorf("%s: cell %v published where %s is not", ms.Name, c.Key, tb.Measures[ms.Of].Name)
				}
			case Part:
				if c.Values[ms.Of].Status != Published {
					t.Errorf("%s: cell %v published where %s is not", ms.Name, c.Key, tb.Measures[ms.Of].Name)
				} else if v.N != 0 && v.N < K {
					t.Errorf("%s: cell %v published %d < k", ms.Name, c.Key, v.N)
				}
			}
		}
		for _, rel := range rels {
			hidden := 0
			rest := tb.Cells[rel[0]].Values[m].N
			for _, c := range rel {
				if tb.Cells[c].Values[m].Status != Published {
					hidden++
				}
			}
			for _, c := range rel[1:] {
				if tb.Cells[c].Values[m].Status == Published {
					rest -= tb.Cells[c].Values[m].N
				}
			}
			if hidden == 1 {
				t.Errorf("%s: relation %v has exactly one hidden value", ms.Name, keys(tb, rel))
			}
			if hidden > 0 && ms.Rule != Follows && tb.Cells[rel[0]].Values[m].Status == Published && rest < K {
				t.Errorf("%s: hidden values of relation %v add up to %d < k", ms.Name, keys(tb, rel), rest)
			}
		}
		for _, c := range rankDetermined(tb, rels, m) {
			t.Errorf("%s: hidden value of cell %v is determined by the published ones", ms.Name, keys(tb, []int{c}))
		}
	}
}

func keys(tb *Table, cells []int) []string {
	var out []string
	for _, c := range cells {
		key := append([]string(nil), tb.Cells[c].Key...)
		for d := range key {
			if tb.Cells[c].Margin&(1<<d) != 0 {
				key[d] = "*"
			}
		}
		out = append(out, strings.Join(key, ","))
	}
	return out
}

// bruteRelations lists the relations (margin first, then the cells it sums)
// by comparing every pair of cells.
func bruteRelations(tb *Table) [][]int {
	levels := map[uint32]bool{}
	for _, c := range tb.Cells {
		levels[c.Margin] = true
	}
	var rels [][]int
	for p, pc := range tb.Cells {
		for d := range tb.Dims {
			bit := uint32(1) << d
			if pc.Margin&bit == 0 || !levels[pc.Margin&^bit] {
				continue
			}
			rel := []int{p}
			for c, cc := range tb.Cells {
				if cc.Margin != pc.Margin&^bit {
					continue
				}
				same := true
				for e := range tb.Dims {
					if pc.Margin&(1<<e) == 0 && cc.Key[e] != pc.Key[e] {
						same = false
					}
				}
				if same {
					rel = append(rel, c)
				}
			}
			if len(rel) > 1 {
				rels = append(rels, rel)
			}
		}
	}
	return rels
}

// rankDetermined returns the hidden cells of measure m whose value the
// relations fix: x_i is determined exactly when every solution of the
// homogeneous system (the relations restricted to hidden values) has x_i = 0,
// i.e. when no vector of a basis of its null space touches column i. The
// basis comes from a dense Gauss-Jordan elimination over big.Rat.
func rankDetermined(tb *Table, rels [][]int, m int) []int {
	var hidden []int
	col := map[int]int{}
	for i, c := range tb.Cells {
		if c.Values[m].Status != Published {
			col[i] = len(hidden)
			hidden = append(hidden, i)
		}
	}
	n := len(hidden)
	if n == 0 {
		return nil
	}
	var a [][]*big.Rat
	for _, rel := range rels {
		row := make([]*big.Rat, n)
		for j := range row {
			row[j] = new(big.Rat)
		}
		any := false
		for j, c := range rel {
			x, ok := col[c]
			if !ok {
				continue
			}
			any = true
			if j == 0 {
				row[x].SetInt64(-1)
			} else {
				row[x].SetInt64(1)
			}
		}
		if any {
			a = append(a, row)
		}
	}
	pivotCol := []int{}
	isPivot := make([]bool, n)
	r := 0
	for c := 0; c < n && r < len(a); c++ {
		p := -1
		for i := r; i < len(a); i++ {
			if a[i][c].Sign() != 0 {
				p = i
				break
			}
		}
		if p < 0 {
			continue
		}
		a[r], a[p] = a[p], a[r]
		inv := new(big.Rat).Inv(a[r][c])
		for j := range a[r] {
			a[r][j].Mul(a[r][j], inv)
		}
		for i := range a {
			if i == r || a[i][c].Sign() == 0 {
				continue
			}
			f := new(big.Rat).Set(a[i][c])
			for j := range a[i] {
				a[i][j].Sub(a[i][j], new(big.Rat).Mul(f, a[r][j]))
			}
		}
		pivotCol = append(pivotCol, c)
		isPivot[c] = true
		r++
	}
	// Null space basis: one vector per free column f, x_f = 1 and each pivot
	// variable x_p = -a[row of p][f].
	touched := make([]bool, n)
	for f := 0; f < n; f++ {
		if isPivot[f] {
			continue
		}
		touched[f] = true
		for i, p := range pivotCol {
			if a[i][f].Sign() != 0 {
				touched[p] = true
			}
		}
	}
	var out []int
	for j, ok := range touched {
		if !ok {
			out = append(out, hidden[j])
		}
	}
	return out
}

func BenchmarkProtect(b *testing.B) {
	// A region by formation by year: 3 departments, 40 formations, 10 years.
	r := rand.New(rand.NewPCG(1, 2))
	tb := &Table{Dims: 2, Measures: []Measure{{Name: "learners"}, {Name: "women", Rule: Attribute, Of: 0}}}
	byYear := map[string][2]int64{}
	var total [2]int64
	for f := range 40 {
		var row [2]int64
		for y := range 10 {
			n := int64(r.IntN(30))
			if n == 0 {
				continue
			}
			w := int64(r.IntN(int(n) + 1))
			key := []string{fmt.Sprint(f), fmt.Sprint(2016 + y)}
			tb.Cells = append(tb.Cells, Cell{Key: key, Values: []Value{{N: n, Known: true}, {N: w, Known: true}}})
			row[0] += n
			row[1] += w
			s := byYear[key[1]]
			byYear[key[1]] = [2]int64{s[0] + n, s[1] + w}
		}
		tb.Cells = append(tb.Cells, Cell{Margin: 2, Key: []string{fmt.Sprint(f), ""}, Values: []Value{{N: row[0], Known: true}, {N: row[1], Known: true}}})
		total[0] += row[0]
		total[1] += row[1]
	}
	for y, s := range byYear {
		tb.Cells = append(tb.Cells, Cell{Margin: 1, Key: []string{"", y}, Values: []Value{{N: s[0], Known: true}, {N: s[1], Known: true}}})
	}
	tb.Cells = append(tb.Cells, Cell{Margin: 3, Key: []string{"", ""}, Values: []Value{{N: total[0], Known: true}, {N: total[1], Known: true}}})
	hidden := 0
	for b.Loop() {
		if err := Protect(tb, 11); err != nil {
			b.Fatal(err)
		}
	}
	for _, c := range tb.Cells {
		if c.Values[0].Status != Published {
			hidden++
		}
	}
	b.ReportMetric(float64(len(tb.Cells)), "cells")
	b.ReportMetric(float64(hidden), "hidden")
}
