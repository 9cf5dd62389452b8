package model

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
	return nil
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
