package model

import "context"

// Connection is a page of a Relay connection of T. TotalCount runs its count
// query only when the field is asked for.
type Connection[T any] struct {
	Edges    []*Edge[T]
	Nodes    []*T
	PageInfo *PageInfo
	Count    func(ctx context.Context) (int, error)
}

// TotalCount counts the items of every page.
func (c *Connection[T]) TotalCount(ctx context.Context) (int, error) {
	if c.Count == nil {
		return len(c.Nodes), nil
	}
	return c.Count(ctx)
}

// Edge is an item of a connection with its cursor.
type Edge[T any] struct {
	Cursor string
	Node   *T
}

// NewConnection builds a page from its items, their cursors and whether more
// items exist before and after it.
func NewConnection[T any](items []*T, cursor func(*T) string, hasPrevious, hasNext bool, count func(context.Context) (int, error)) *Connection[T] {
	c := &Connection[T]{Nodes: items, Edges: make([]*Edge[T], len(items)), Count: count,
		PageInfo: &PageInfo{HasPreviousPage: hasPrevious, HasNextPage: hasNext}}
	for i, it := range items {
		c.Edges[i] = &Edge[T]{Cursor: cursor(it), Node: it}
	}
	if len(items) > 0 {
		start, end := c.Edges[0].Cursor, c.Edges[len(items)-1].Cursor
		c.PageInfo.StartCursor, c.PageInfo.EndCursor = &start, &end
	}
	return c
}

// The connections of the schema.
type (
	FormationConnection        = Connection[Formation]
	FormationEdge              = Edge[Formation]
	OrganisationConnection     = Connection[Organisation]
	OrganisationEdge           = Edge[Organisation]
	SessionConnection          = Connection[Session]
	SessionEdge                = Edge[Session]
	EnrolmentConnection        = Connection[Enrolment]
	EnrolmentEdge              = Edge[Enrolment]
	AidApplicationConnection   = Connection[AidApplication]
	AidApplicationEdge         = Edge[AidApplication]
	PartnerConnection          = Connection[Partner]
	PartnerEdge                = Edge[Partner]
	FundingAgreementConnection = Connection[FundingAgreement]
	FundingAgreementEdge       = Edge[FundingAgreement]
	EntitlementConnection      = Connection[Entitlement]
	EntitlementEdge            = Edge[Entitlement]
)
