package graph

import (
	"math"
	"reflect"
	"testing"
)

// TestEveryListHasComplexity: every field taking a page size (first) or a
// list of identifiers has a cost function, so that lists cost their size.
func TestEveryListHasComplexity(t *testing.T) {
	var c ComplexityRoot
	setComplexity(&c)
	intPtr := reflect.TypeFor[*int]()
	root := reflect.ValueOf(c)
	for i := range root.NumField() {
		obj := root.Field(i)
		for j := range obj.NumField() {
			f := obj.Field(j)
			ft := f.Type()
			if ft.Kind() != reflect.Func || ft.NumIn() < 2 {
				continue
			}
			// (childComplexity int, first *int, ...) or (childComplexity int, ids []string)
			if (ft.In(1) == intPtr || ft.In(1).Kind() == reflect.Slice) && f.IsNil() {
				t.Errorf("%s.%s has no complexity function", root.Type().Field(i).Name, obj.Type().Field(j).Name)
			}
		}
	}
}

func TestPageCost(t *testing.T) {
	n := func(v int) *int { return &v }
	for _, c := range []struct {
		child       int
		first, last *int
		want        int
	}{
		{3, nil, nil, 1 + 20*3},
		{3, n(5), nil, 1 + 5*3},
		{3, nil, n(7), 1 + 7*3},
		{3, n(1 << 40), nil, 1 + 101*3},
		{3, n(-5), nil, 1 + 3},
		{math.MaxInt / 2, n(100), nil, math.MaxInt},
	} {
		if got := pageCost(c.child, c.first, c.last); got != c.want {
			t.Errorf("pageCost(%d, %v, %v) = %d, want %d", c.child, c.first, c.last, got, c.want)
		}
	}
}
