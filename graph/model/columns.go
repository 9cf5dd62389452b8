package model

import (
	"database/sql"
	"strings"
)

// Column methods return a pointer to the field a SQL column scans into (nil
// for an unknown column), so that the store scans rows without reflection.

func (f *Formation) Column(name string) any {
	switch name {
	case "id":
		return &f.RowID
	case "organisation_id":
		return &f.OrganisationID
	case "title":
		return &f.Title
	case "job_family":
		return &f.JobFamily
	case "certification_code":
		return &f.CertificationCode
	case "certification_level":
		return &f.CertificationLevel
	case "certifying":
		return &f.Certifying
	case "duration_months":
		return &f.DurationMonths
	case "delivery_mode":
		return &f.DeliveryMode
	case "free_of_charge":
		return &f.FreeOfCharge
	case "seats":
		return &f.Seats
	case "address":
		return &f.Address
	case "postcode":
		return &f.Postcode
	case "city":
		return &f.City
	case "department_code":
		return &f.DepartmentCode
	case "region_code":
		return &f.RegionCode
	case "qpv_code":
		return &f.QpvCode
	case "latitude":
		return &f.Latitude
	case "longitude":
		return &f.Longitude
	case "listed":
		return &f.Listed
	}
	if strings.HasPrefix(name, "org_") {
		if f.org == nil {
			f.org = &orgColumns{}
		}
		return f.org.column(strings.TrimPrefix(name, "org_"))
	}
	return nil
}

// orgColumns are the columns of a formation's organisation read with it
// (LEFT JOIN: all null when the organisation is hidden from the caller).
type orgColumns struct {
	id                                         sql.NullInt64
	siret, name, legalStatus, city, department sql.NullString
}

func (o *orgColumns) column(name string) any {
	switch name {
	case "id":
		return &o.id
	case "siret":
		return &o.siret
	case "name":
		return &o.name
	case "legal_status":
		return &o.legalStatus
	case "city":
		return &o.city
	case "department_code":
		return &o.department
	}
	return nil
}

// JoinedOrganisation returns the organisation read with the formation: read
// is false when it was not read with it, o nil when it is hidden.
func (f *Formation) JoinedOrganisation() (o *Organisation, read bool, err error) {
	if f.org == nil {
		return nil, false, nil
	}
	c := f.org
	if !c.id.Valid {
		return nil, true, nil
	}
	o = &Organisation{RowID: int(c.id.Int64), Siret: c.siret.String, Name: c.name.String, City: c.city.String,
		DepartmentCode: c.department.String}
	if err := o.LegalStatus.Scan(c.legalStatus.String); err != nil {
		return nil, true, err
	}
	return o, true, nil
}

func (s *Session) Column(name string) any {
	switch name {
	case "id":
		return &s.RowID
	case "formation_id":
		return &s.FormationID
	case "start_on":
		return &s.StartOn
	case "end_on":
		return &s.EndOn
	case "planned_seats":
		return &s.PlannedSeats
	}
	return nil
}

func (o *Organisation) Column(name string) any {
	switch name {
	case "id":
		return &o.RowID
	case "siret":
		return &o.Siret
	case "name":
		return &o.Name
	case "legal_status":
		return &o.LegalStatus
	case "city":
		return &o.City
	case "department_code":
		return &o.DepartmentCode
	}
	return nil
}

func (l *Label) Column(name string) any {
	switch name {
	case "id":
		return &l.RowID
	case "formation_id":
		return &l.FormationID
	case "call_id":
		return &l.CallID
	case "granted_on":
		return &l.GrantedOn
	case "valid_until":
		return &l.ValidUntil
	case "status":
		return &l.Status
	case "withdrawn_on":
		return &l.WithdrawnOn
	}
	return nil
}
