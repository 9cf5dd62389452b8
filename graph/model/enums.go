package model

import (
	"fmt"
	"strings"
)

// GraphQL enum values are the database's lower-case codes in upper case
// (ON_SITE is stored as on_site); these methods convert at the boundary.

func scanCode[T ~string](dst *T, src any) error {
	switch s := src.(type) {
	case string:
		*dst = T(strings.ToUpper(s))
	case []byte:
		*dst = T(strings.ToUpper(string(s)))
	default:
		return fmt.Errorf("model: cannot scan %T into %T", src, *dst)
	}
	return nil
}

// Code returns an enum value as stored in the database.
func Code[T ~string](v T) string { return strings.ToLower(string(v)) }

func (e *AccessLevel) Scan(src any) error       { return scanCode(e, src) }
func (e *PartnerKind) Scan(src any) error       { return scanCode(e, src) }
func (e *JobFamily) Scan(src any) error         { return scanCode(e, src) }
func (e *DeliveryMode) Scan(src any) error      { return scanCode(e, src) }
func (e *LabelStatus) Scan(src any) error       { return scanCode(e, src) }
func (e *LegalStatus) Scan(src any) error       { return scanCode(e, src) }
func (e *Programme) Scan(src any) error         { return scanCode(e, src) }
func (e *Sex) Scan(src any) error               { return scanCode(e, src) }
func (e *AgeBand) Scan(src any) error           { return scanCode(e, src) }
func (e *Qualification) Scan(src any) error     { return scanCode(e, src) }
func (e *PriorSituation) Scan(src any) error    { return scanCode(e, src) }
func (e *Completion) Scan(src any) error        { return scanCode(e, src) }
func (e *OutcomeTime) Scan(src any) error       { return scanCode(e, src) }
func (e *Situation) Scan(src any) error         { return scanCode(e, src) }
func (e *AidStatus) Scan(src any) error         { return scanCode(e, src) }
func (e *RefusalReason) Scan(src any) error     { return scanCode(e, src) }
func (e *AgreementScope) Scan(src any) error    { return scanCode(e, src) }
func (e *EntitlementScope) Scan(src any) error  { return scanCode(e, src) }
func (e *EntitlementSource) Scan(src any) error { return scanCode(e, src) }
