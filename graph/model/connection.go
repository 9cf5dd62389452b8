package model

import (
	"context"
	"sync"
)

// Connection is a page of a Relay connection of T. TotalCount runs its count
// query only when the field is asked for; cursors are encoded only when asked
// for (edges, page info).
type Connection[T any] struct {
	Nodes []*T
	Count func(ctx context.Context) (int, error)

	cursor               func(*T) string
	hasPrevious, hasNext bool
	edgesOnce, infoOnce  sync.Once
	edges                []*Edge[T]
	pageInfo             *PageInfo
}

// TotalCount counts the items of every page.
func (c *Connection[T]) TotalCount(ctx context.Context) (int, error) {
	if c.Count == nil {
		return len(c.Nodes), nil
	}
	return c.Count(ctx)
}

// Edges returns the items of the page with their cursors.
func (c *Connection[T]) Edges() []*Edge[T] {
	c.edgesOnce.Do(func() {
		c.edges = make([]*Edge[T], len(c.Nodes))
		for i, it := range c.Nodes {
			c.edges[i] = &Edge[T]{Cursor: c.cursor(it), Node: it}
		}
	})
	return c.edges
}

// PageInfo says where the page sits.
func (c *Connection[T]) PageInfo() *PageInfo {
	c.infoOnce.Do(func() {
		c.pageInfo = &PageInfo{HasPreviousPage: c.hasPrevious, HasNextPage: c.hasNext}
		if n := len(c.Nodes); n > 0 {
			start, end := c.cursor(c.Nodes[0]), c.cursor(c.Nodes[n-1])
			c.pageInfo.StartCursor, c.pageInfo.EndCursor = &start, &end
		}
	})
	return c.pageInfo
}

// Edge is an item of a connection with its cursor.
type Edge[T any] struct {
	Cursor string
	Node   *T
}

// NewConnection builds a page from its items, their cursors and whether more
// items exist before and after it.
func NewConnection[T any](items []*T, cursor func(*T) string, hasPrevious, hasNext bool, count func(context.Context) (int, error)) *Connection[T] {
	return &Connection[T]{Nodes: items, Count: count, cursor: cursor, hasPrevious: hasPrevious, hasNext: hasNext}
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
