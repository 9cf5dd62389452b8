package model

// IndicatorTable is a table of indicators under disclosure control.
type IndicatorTable struct {
	Dimensions       []IndicatorDimension
	Threshold        int
	Confidential     bool
	Cells            []*IndicatorCell
	Total            *IndicatorCell
	SuppressedValues int
	// FilterYear is the year the table is filtered on (0: none), for the
	// national figures it is compared with; Raw whether the caller may see
	// values that are not publishable; K the threshold.
	FilterYear int
	Raw        bool
}

// IndicatorCell is one cell or margin of an indicator table. The values of
// its dimensions are codes and row ids; the objects they name are set (in one
// batch per table, and only those the query asks for) before the cells are
// marshalled: without field resolvers, a large table marshals without a
// goroutine per field.
type IndicatorCell struct {
	TotalOver     []IndicatorDimension
	Region        *Region
	Department    *Department
	Formation     *Formation
	Session       *Session
	LabellingCall *LabellingCall

	RegionCode     *string
	DepartmentCode *string
	FormationRowID *int
	SessionRowID   *int
	CallRowID      *int
	Year           *int
	JobFamily      *JobFamily
	Sex            *Sex
	AgeBand        *AgeBand
	Qualification  *Qualification
	PriorSituation *PriorSituation

	Learners              *Count
	Women                 *Count
	Neet                  *Count
	LowQualifiedNeetYouth *Count
	QpvResidents          *Count
	Finished              *Count
	Completed             *Count
	MeasuredM3            *Count
	PositiveM3            *Count
	AidApplicants         *Count
	AidGranted            *Count
	AidAmountEur          *Amount

	WomenRate                 *Rate
	NeetRate                  *Rate
	LowQualifiedNeetYouthRate *Rate
	QpvRate                   *Rate
	CompletionRate            *Rate
	PositiveExitRateM3        *Rate
	AidGrantRate              *Rate
}

// FormationID returns the global identifier of the cell's formation.
func (c *IndicatorCell) FormationID() *string {
	if c.FormationRowID == nil {
		return nil
	}
	id := IntID("Formation", *c.FormationRowID)
	return &id
}

// SessionID returns the global identifier of the cell's session.
func (c *IndicatorCell) SessionID() *string {
	if c.SessionRowID == nil {
		return nil
	}
	id := IntID("Session", *c.SessionRowID)
	return &id
}

// TargetReport is progress against the targets; the scope part is resolved
// only when asked for.
type TargetReport struct {
	National []*TargetProgress
}
