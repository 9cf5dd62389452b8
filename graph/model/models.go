// Package model holds the GraphQL object types. Hand-written types carry the SQL
// column each field is read from (db tags), so that a row scans straight into
// the object the API returns; gqlgen generates the enums, inputs and the rest.
package model

import "time"

// Formation is a labelled training course.
type Formation struct {
	RowID              int          `db:"id"`
	OrganisationID     int          `db:"organisation_id"`
	Title              string       `db:"title"`
	JobFamily          JobFamily    `db:"job_family"`
	CertificationCode  *string      `db:"certification_code"`
	CertificationLevel *int         `db:"certification_level"`
	Certifying         bool         `db:"certifying"`
	DurationMonths     int          `db:"duration_months"`
	DeliveryMode       DeliveryMode `db:"delivery_mode"`
	FreeOfCharge       bool         `db:"free_of_charge"`
	Seats              int          `db:"seats"`
	Address            string       `db:"address"`
	Postcode           string       `db:"postcode"`
	City               string       `db:"city"`
	DepartmentCode     string       `db:"department_code"`
	RegionCode         string       `db:"region_code"`
	QpvCode            *string      `db:"qpv_code"`
	Latitude           *float64     `db:"latitude"`
	Longitude          *float64     `db:"longitude"`
	Listed             bool         `db:"listed"`

	org *orgColumns // its organisation, when read with it (JoinedOrganisation)
}

func (f *Formation) ID() string    { return IntID("Formation", f.RowID) }
func (f *Formation) GetID() string { return f.ID() }
func (*Formation) IsNode()         {}

// Organisation is a training organisation.
type Organisation struct {
	RowID          int         `db:"id"`
	Siret          string      `db:"siret"`
	Name           string      `db:"name"`
	LegalStatus    LegalStatus `db:"legal_status"`
	City           string      `db:"city"`
	DepartmentCode string      `db:"department_code"`
}

func (o *Organisation) ID() string    { return IntID("Organisation", o.RowID) }
func (o *Organisation) GetID() string { return o.ID() }
func (*Organisation) IsNode()         {}

// Region is an INSEE region.
type Region struct {
	Code string `db:"code"`
	Name string `db:"name"`
}

func (r *Region) ID() string    { return GlobalID("Region", r.Code) }
func (r *Region) GetID() string { return r.ID() }
func (*Region) IsNode()         {}

// Department is an INSEE department.
type Department struct {
	Code       string `db:"code"`
	Name       string `db:"name"`
	RegionCode string `db:"region_code"`
}

func (d *Department) ID() string    { return GlobalID("Department", d.Code) }
func (d *Department) GetID() string { return d.ID() }
func (*Department) IsNode()         {}

// Qpv is a priority neighbourhood.
type Qpv struct {
	Code           string `db:"code"`
	Name           string `db:"name"`
	Commune        string `db:"commune"`
	DepartmentCode string `db:"department_code"`
}

// LabellingCall is a call for labelling.
type LabellingCall struct {
	RowID       int       `db:"id"`
	Code        string    `db:"code"`
	Name        string    `db:"name"`
	Programme   Programme `db:"programme"`
	OpenedOn    Date      `db:"opened_on"`
	ClosedOn    Date      `db:"closed_on"`
	ResultsOn   *Date     `db:"results_on"`
	EnvelopeEur *float64  `db:"envelope_eur"`
}

func (c *LabellingCall) ID() string    { return IntID("LabellingCall", c.RowID) }
func (c *LabellingCall) GetID() string { return c.ID() }
func (*LabellingCall) IsNode()         {}

// Label is a label granted to a formation.
type Label struct {
	RowID       int         `db:"id"`
	FormationID int         `db:"formation_id"`
	CallID      int         `db:"call_id"`
	GrantedOn   Date        `db:"granted_on"`
	ValidUntil  Date        `db:"valid_until"`
	Status      LabelStatus `db:"status"`
	WithdrawnOn *Date       `db:"withdrawn_on"`
}

func (l *Label) ID() string    { return IntID("Label", l.RowID) }
func (l *Label) GetID() string { return l.ID() }
func (*Label) IsNode()         {}

// SeedGrant is a seed grant paid with a label.
type SeedGrant struct {
	RowID              int     `db:"id"`
	FormationID        int     `db:"formation_id"`
	AmountEur          float64 `db:"amount_eur"`
	BudgetShare        float64 `db:"budget_share"`
	SessionsCovered    int     `db:"sessions_covered"`
	ConventionSignedOn Date    `db:"convention_signed_on"`
	Justified          bool    `db:"justified"`
}

// Session is a cohort of a formation.
type Session struct {
	RowID        int  `db:"id"`
	FormationID  int  `db:"formation_id"`
	StartOn      Date `db:"start_on"`
	EndOn        Date `db:"end_on"`
	PlannedSeats int  `db:"planned_seats"`
}

func (s *Session) ID() string    { return IntID("Session", s.RowID) }
func (s *Session) GetID() string { return s.ID() }
func (*Session) IsNode()         {}

// Enrolment is a pseudonymised enrolment. The pointer fields are null for a
// CROUS, whose role has no grant on those columns.
type Enrolment struct {
	RowID                 int             `db:"id"`
	SessionID             int             `db:"session_id"`
	FormationID           int             `db:"formation_id"`
	LearnerRef            string          `db:"learner_ref"`
	EnrolledOn            Date            `db:"enrolled_on"`
	Sex                   *Sex            `db:"sex"`
	AgeBand               *AgeBand        `db:"age_band"`
	Qualification         *Qualification  `db:"qualification"`
	PriorSituation        *PriorSituation `db:"prior_situation"`
	QpvResident           *bool           `db:"qpv_resident"`
	Completion            Completion      `db:"completion"`
	CertificationObtained *bool           `db:"certification_obtained"`
}

func (e *Enrolment) ID() string    { return IntID("Enrolment", e.RowID) }
func (e *Enrolment) GetID() string { return e.ID() }
func (*Enrolment) IsNode()         {}

// Outcome is a former learner's situation some months after the end.
type Outcome struct {
	EnrolmentID int         `db:"enrolment_id"`
	MeasuredAt  OutcomeTime `db:"measured_at"`
	Situation   Situation   `db:"situation"`
	Positive    bool        `db:"positive"`
	RecordedOn  Date        `db:"recorded_on"`
}

// AidApplication is an application for the CROUS learner aid.
type AidApplication struct {
	RowID                int            `db:"id"`
	EnrolmentID          int            `db:"enrolment_id"`
	FormationID          int            `db:"formation_id"`
	CrousID              int            `db:"crous_id"`
	SubmittedOn          Date           `db:"submitted_on"`
	Status               AidStatus      `db:"status"`
	Echelon              *string        `db:"echelon"`
	MonthlyAmountEur     *float64       `db:"monthly_amount_eur"`
	Months               *int           `db:"months"`
	RefusalReason        *RefusalReason `db:"refusal_reason"`
	DecidedOn            *Date          `db:"decided_on"`
	EnrolmentConfirmedOn *Date          `db:"enrolment_confirmed_on"`
}

func (a *AidApplication) ID() string    { return IntID("AidApplication", a.RowID) }
func (a *AidApplication) GetID() string { return a.ID() }
func (*AidApplication) IsNode()         {}

// Partner is a partner of the network.
type Partner struct {
	RowID          int         `db:"id"`
	Slug           string      `db:"slug"`
	Name           string      `db:"name"`
	Kind           PartnerKind `db:"kind"`
	RegionCode     *string     `db:"region_code"`
	OrganisationID *int        `db:"organisation_id"`
}

func (p *Partner) ID() string    { return IntID("Partner", p.RowID) }
func (p *Partner) GetID() string { return p.ID() }
func (*Partner) IsNode()         {}

// FundingAgreement is a funding agreement.
type FundingAgreement struct {
	RowID          int            `db:"id"`
	PartnerID      int            `db:"partner_id"`
	Reference      string         `db:"reference"`
	Title          string         `db:"title"`
	Scope          AgreementScope `db:"scope"`
	RegionCode     *string        `db:"region_code"`
	DepartmentCode *string        `db:"department_code"`
	OrganisationID *int           `db:"organisation_id"`
	FormationID    *int           `db:"formation_id"`
	CallID         *int           `db:"call_id"`
	AmountEur      float64        `db:"amount_eur"`
	ValidFrom      Date           `db:"valid_from"`
	ValidUntil     Date           `db:"valid_until"`
}

func (a *FundingAgreement) ID() string    { return IntID("FundingAgreement", a.RowID) }
func (a *FundingAgreement) GetID() string { return a.ID() }
func (*FundingAgreement) IsNode()         {}

// Entitlement is a row granting a partner a scope at a level.
type Entitlement struct {
	RowID          int               `db:"id"`
	PartnerID      int               `db:"partner_id"`
	Scope          EntitlementScope  `db:"scope"`
	RegionCode     *string           `db:"region_code"`
	DepartmentCode *string           `db:"department_code"`
	OrganisationID *int              `db:"organisation_id"`
	FormationID    *int              `db:"formation_id"`
	AgreementID    *int              `db:"agreement_id"`
	CallID         *int              `db:"call_id"`
	Level          AccessLevel       `db:"level"`
	KThresholdDB   *int              `db:"k_threshold"`
	ValidFrom      Date              `db:"valid_from"`
	ValidUntil     *Date             `db:"valid_until"`
	Purpose        string            `db:"purpose"`
	Source         EntitlementSource `db:"source"`
	TrustedOnly    bool              `db:"trusted_only"`
	GrantedBy      string            `db:"granted_by"`
	GrantedAt      time.Time         `db:"granted_at"`
	RevokedAt      *time.Time        `db:"revoked_at"`
	Effective      bool              `db:"effective"`
}

// DefaultK is the disclosure threshold when a grant sets none: the rule French
// public statistics apply to data about persons.
const DefaultK = 11

func (e *Entitlement) ID() string    { return IntID("Entitlement", e.RowID) }
func (e *Entitlement) GetID() string { return e.ID() }
func (*Entitlement) IsNode()         {}

// KThreshold returns the grant's disclosure threshold.
func (e *Entitlement) KThreshold() int {
	if e.KThresholdDB != nil {
		return *e.KThresholdDB
	}
	return DefaultK
}

// Me is the caller.
type Me struct {
	Partner   *Partner
	Level     AccessLevel
	KeyPrefix string
}
