package server

import (
	"encoding/json"
	"testing"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// TestDataOnly checks that an answer of data alone is written as
// json.Marshal writes it, and that anything else is left to json.Marshal.
func TestDataOnly(t *testing.T) {
	for _, c := range []struct {
		resp *graphql.Response
		fast bool
	}{
		{&graphql.Response{Data: json.RawMessage(`{"a":[1,2.5,null,"x\"y",{"b":true}]}`)}, true},
		{&graphql.Response{Data: json.RawMessage(`{"title":"Code & Co <b>"}`)}, false},
		{&graphql.Response{Data: json.RawMessage("{\"s\":\"a\u2028b\"}")}, false},
		{&graphql.Response{Data: json.RawMessage("{\"s\":\"a\u2029\"}")}, false},
		{&graphql.Response{Data: json.RawMessage("{\"s\":\"\u2027 \u202a \u00e9t\u00e9 \u20ac\"}")}, true},
		{&graphql.Response{Data: json.RawMessage(`{"a":1}`), Errors: gqlerror.List{{Message: "no"}}}, false},
		{&graphql.Response{Data: json.RawMessage(`{"a":1}`), Extensions: map[string]any{"cost": 1}}, false},
		{&graphql.Response{}, false},
	} {
		got, ok := dataOnly(c.resp)
		if ok != c.fast {
			t.Errorf("%s: fast path %v, want %v", c.resp.Data, ok, c.fast)
			continue
		}
		want, err := json.Marshal(c.resp)
		if ok && (err != nil || string(got) != string(want)) {
			t.Errorf("%s: wrote %s, json.Marshal %s (%v)", c.resp.Data, got, want, err)
		}
	}
}
