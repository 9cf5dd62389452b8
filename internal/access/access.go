// Package access holds who is calling and at which level: the partner behind an
// API key, its highest effective level, and the database role its requests use.
package access

import (
	"context"
	"fmt"
)

// Level is an access level; levels are ordered: public < aggregate < detail < personal.
type Level int

// The access levels.
const (
	Public Level = iota
	Aggregate
	Detail
	Personal
)

var levelNames = [...]string{"public", "aggregate", "detail", "personal"}

// String returns the level's name as stored in the database.
func (l Level) String() string {
	if l < Public || l > Personal {
		return fmt.Sprintf("level(%d)", int(l))
	}
	return levelNames[l]
}

// ParseLevel reads a level name as stored in the database.
func ParseLevel(s string) (Level, error) {
	for i, n := range levelNames {
		if n == s {
			return Level(i), nil
		}
	}
	return Public, fmt.Errorf("access: unknown level %q", s)
}

// Partner kinds, as stored in the database.
const (
	KindOperator          = "operator"
	KindFunder            = "funder"
	KindRegion            = "region"
	KindEmploymentService = "employment_service"
	KindCrous             = "crous"
	KindOrganisation      = "organisation"
)

// Caller is the identity a request runs under. The zero value is the public.
type Caller struct {
	PartnerID   int    // 0 for the public
	Slug        string // partner slug
	Name        string
	Kind        string // partner kind; empty for the public
	Level       Level  // highest effective level over the partner's entitlements
	KeyID       int
	KeyPrefix   string
	TrustedOnly bool // the partner may run registered operations only
	K           int  // disclosure threshold of its aggregates (0: the default)
	ClientAddr  string
}

// IsPublic says whether the caller is the public (no key).
func (c Caller) IsPublic() bool { return c.PartnerID == 0 }

// IsOperator says whether the caller is the network's operator.
func (c Caller) IsOperator() bool { return c.Kind == KindOperator }

// Role returns the NOLOGIN database role the caller's transactions switch to.
func (c Caller) Role() string {
	switch {
	case c.IsPublic():
		return "genhub_public"
	case c.Kind == KindOperator:
		return "genhub_operator"
	case c.Kind == KindCrous:
		return "genhub_crous"
	}
	return "genhub_" + c.Level.String()
}

// Setting returns the value of the transaction-local setting genhub.partner.
func (c Caller) Setting() string {
	if c.IsPublic() {
		return "public"
	}
	return fmt.Sprint(c.PartnerID)
}

type ctxKey struct{}

// WithCaller returns a context carrying the caller.
func WithCaller(ctx context.Context, c Caller) context.Context {
	return context.WithValue(ctx, ctxKey{}, c)
}

// FromContext returns the caller of the request; the public when none was set.
func FromContext(ctx context.Context) Caller {
	c, _ := ctx.Value(ctxKey{}).(Caller)
	return c
}
