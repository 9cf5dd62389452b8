package graph_test

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/gen-hub/genhub/internal/hubtest"
)

// TestReadmeMutations runs the README's example mutations as the partners it
// names, so that the examples stay true.
func TestReadmeMutations(t *testing.T) {
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := regexp.MustCompile("(?s)```graphql\n(mutation.*?)```").FindAllStringSubmatch(string(b), -1)
	as := map[string]string{"grantEntitlement": operator, "recordEnrolments": organisation,
		"decideAidApplication": crous, "revokeCurrentKey": employment}
	want := map[string]string{"recordEnrolments": `"inserted":2`, "decideAidApplication": `"monthlyAmountEur":329.2`,
		"grantEntitlement": `"effective":true`, "revokeCurrentKey": `"revokeCurrentKey":true`}
	e := hubtest.New(t)
	seen := 0
	for _, m := range blocks {
		q := m[1]
		field := regexp.MustCompile(`mutation\s*\{\s*(\w+)`).FindStringSubmatch(q)[1]
		slug, ok := as[field]
		if !ok {
			t.Errorf("README mutation %s: no partner to run it as", field)
			continue
		}
		res := e.Query(t, key(t, slug), q, nil)
		if len(res.Errors) > 0 || !strings.Contains(string(res.Data), want[field]) {
			t.Errorf("README mutation %s as %s: %s %+v", field, slug, res.Data, res.Errors)
		}
		seen++
	}
	if seen != len(as) {
		t.Errorf("ran %d README mutations, want %d", seen, len(as))
	}
}
