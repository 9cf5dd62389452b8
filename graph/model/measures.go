package model

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"sync"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
)

// Count, Rate and Amount are the values of indicator tables, some forty
// thousand in a table of a thousand cells. They marshal themselves: gqlgen
// then writes each as one value (the fields the query selects, as its
// executor would) instead of resolving each of their fields with a field
// context of its own. gqlgen, finding MarshalGQLContext and
// UnmarshalGQLContext on them, binds them as marshalers (make generate).

// Count is a count of people under disclosure control.
type Count struct {
	Value        *int
	Published    bool
	Reason       *SuppressionReason
	Confidential bool
}

// Rate is a share of people under disclosure control.
type Rate struct {
	// In percent, rounded to one decimal; null when suppressed or when the denominator is zero.
	Percent *float64
	// Whether the rate is published: both its counts are.
	Published bool
	// Why it is suppressed: the reason of the count that is.
	Reason *SuppressionReason
	// Shown only because your level allows it: not for publication.
	Confidential bool
}

// Amount is an amount of money summed over people, published where their number is.
type Amount struct {
	// In euros; null when suppressed.
	Eur *float64
	// Whether the amount is published.
	Published bool
	// Why it is suppressed, if it is.
	Reason *SuppressionReason
	// Shown only because your level allows it: not for publication.
	Confidential bool
}

var (
	countImplementors  = []string{"Count"}
	rateImplementors   = []string{"Rate"}
	amountImplementors = []string{"Amount"}
)

// MarshalGQLContext writes the fields of c the query selects.
func (c *Count) MarshalGQLContext(ctx context.Context, w io.Writer) error {
	return writeMeasure(ctx, w, "Count", countImplementors, c)
}

// MarshalGQLContext writes the fields of r the query selects.
func (r *Rate) MarshalGQLContext(ctx context.Context, w io.Writer) error {
	return writeMeasure(ctx, w, "Rate", rateImplementors, r)
}

// MarshalGQLContext writes the fields of a the query selects.
func (a *Amount) MarshalGQLContext(ctx context.Context, w io.Writer) error {
	return writeMeasure(ctx, w, "Amount", amountImplementors, a)
}

func (c *Count) appendField(b []byte, name string) []byte {
	if name == "value" {
		if c.Value == nil {
			return append(b, "null"...)
		}
		return strconv.AppendInt(b, int64(*c.Value), 10)
	}
	return appendCommon(b, name, c.Published, c.Reason, c.Confidential)
}

func (r *Rate) appendField(b []byte, name string) []byte {
	if name == "percent" {
		return appendFloat(b, r.Percent)
	}
	return appendCommon(b, name, r.Published, r.Reason, r.Confidential)
}

func (a *Amount) appendField(b []byte, name string) []byte {
	if name == "eur" {
		return appendFloat(b, a.Eur)
	}
	return appendCommon(b, name, a.Published, a.Reason, a.Confidential)
}

// UnmarshalGQLContext refuses input: Count is an output type (gqlgen binds
// a marshaler only when it has both methods).
func (c *Count) UnmarshalGQLContext(context.Context, any) error {
	return fmt.Errorf("Count is an output type")
}

// UnmarshalGQLContext refuses input: Rate is an output type.
func (r *Rate) UnmarshalGQLContext(context.Context, any) error {
	return fmt.Errorf("Rate is an output type")
}

// UnmarshalGQLContext refuses input: Amount is an output type.
func (a *Amount) UnmarshalGQLContext(context.Context, any) error {
	return fmt.Errorf("Amount is an output type")
}

// measure is a Count, Rate or Amount: it appends the value of one of its fields.
type measure interface {
	appendField(b []byte, name string) []byte
}

// buffers are the bytes of measures being written.
var buffers = sync.Pool{New: func() any { b := make([]byte, 0, 256); return &b }}

// writeMeasure writes an object of typeName with the fields selected at the
// field being marshalled (fragments, aliases and @skip/@include applied by
// gqlgen's own CollectFields, as for any object).
func writeMeasure(ctx context.Context, w io.Writer, typeName string, implementors []string, m measure) error {
	fc := graphql.GetFieldContext(ctx)
	if fc == nil {
		return fmt.Errorf("%s: no field being marshalled", typeName)
	}
	p := buffers.Get().(*[]byte)
	b := append((*p)[:0], '{')
	if sel := fc.Field.Selections; plainFields(sel) {
		for i, s := range sel {
			f := s.(*ast.Field)
			b = appendSelected(b, i, f.Alias, f.Name, typeName, m)
		}
	} else {
		for i, f := range graphql.CollectFields(graphql.GetOperationContext(ctx), fc.Field.Selections, implementors) {
			b = appendSelected(b, i, f.Alias, f.Name, typeName, m)
		}
	}
	b = append(b, '}')
	_, err := w.Write(b)
	*p = b
	buffers.Put(p)
	return err
}

// appendSelected appends the i-th field selected, "alias":value.
func appendSelected(b []byte, i int, alias, name, typeName string, m measure) []byte {
	if i > 0 {
		b = append(b, ',')
	}
	b = strconv.AppendQuote(b, alias)
	b = append(b, ':')
	if name == "__typename" {
		return strconv.AppendQuote(b, typeName)
	}
	return m.appendField(b, name)
}

// plainFields says whether the selections are only fields, without
// directives and each alias once (the usual case): CollectFields would
// return them as they are.
func plainFields(sel ast.SelectionSet) bool {
	for i, s := range sel {
		f, ok := s.(*ast.Field)
		if !ok || len(f.Directives) > 0 {
			return false
		}
		for _, t := range sel[:i] {
			if t.(*ast.Field).Alias == f.Alias {
				return false
			}
		}
	}
	return true
}

// appendCommon writes the fields every measure has.
func appendCommon(b []byte, name string, published bool, reason *SuppressionReason, confidential bool) []byte {
	switch name {
	case "published":
		return strconv.AppendBool(b, published)
	case "reason":
		if reason == nil {
			return append(b, "null"...)
		}
		return strconv.AppendQuote(b, reason.String())
	case "confidential":
		return strconv.AppendBool(b, confidential)
	}
	return append(b, "null"...) // not reached: the query was validated against the schema
}

// appendFloat writes a Float as gqlgen does (%g), or null.
func appendFloat(b []byte, x *float64) []byte {
	if x == nil {
		return append(b, "null"...)
	}
	return strconv.AppendFloat(b, *x, 'g', -1, 64)
}
