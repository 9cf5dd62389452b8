package model

import "time"

// TrustedOperation is a GraphQL document registered for a partner.
type TrustedOperation struct {
	RowID        int        `db:"id"`
	PartnerSlug  string     `db:"partner_slug"`
	Hash         string     `db:"hash"`
	Name         *string    `db:"name"`
	Document     string     `db:"document"`
	RegisteredBy string     `db:"registered_by"`
	RegisteredAt time.Time  `db:"registered_at"`
	RevokedAt    *time.Time `db:"revoked_at"`
}

func (o *TrustedOperation) ID() string { return IntID("TrustedOperation", o.RowID) }
