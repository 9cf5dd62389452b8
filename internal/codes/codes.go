// Package codes checks the official codes the hub's data carries: SIRET
// numbers, INSEE region and department codes, QPV codes, RNCP and RS
// certification codes, CROUS aid échelons. The database checks the same
// formats in its constraints; these let the API say which field is wrong.
package codes

import (
	"regexp"
	"strings"
)

var (
	regionRe        = regexp.MustCompile(`^[0-9]{2}$`)
	departmentRe    = regexp.MustCompile(`^(0[1-9]|1[0-9]|2[1-9AB]|[3-8][0-9]|9[0-5]|97[1-46])$`)
	qpvRe           = regexp.MustCompile(`^QP[0-9]{2}[0-9AB][0-9]{3}$`)
	certificationRe = regexp.MustCompile(`^(RNCP[0-9]{2,5}|RS[0-9]{2,5})$`)
	postcodeRe      = regexp.MustCompile(`^[0-9]{5}$`)
	learnerRefRe    = regexp.MustCompile(`^[A-Za-z0-9_-]{8,64}$`)
	slugRe          = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{1,62}$`)
	callCodeRe      = regexp.MustCompile(`^[A-Z0-9-]{2,20}$`)
)

// SIRET says whether s is a SIRET: 14 digits passing the Luhn check. La
// Poste's establishments (SIREN 356000000) use a digit sum divisible by 5.
func SIRET(s string) bool {
	if len(s) != 14 {
		return false
	}
	sum := 0
	for i := 0; i < 14; i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return false
		}
		sum += int(c - '0')
	}
	if strings.HasPrefix(s, "356000000") && s != "35600000000048" {
		return sum%5 == 0
	}
	sum = 0
	for i := 0; i < 14; i++ {
		d := int(s[i] - '0')
		if i%2 == 0 { // from the right, every second digit is doubled
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	return sum%10 == 0
}

// Region says whether s has the form of an INSEE region code (two digits).
func Region(s string) bool { return regionRe.MatchString(s) }

// Department says whether s has the form of an INSEE department code (93, 2A, 974).
func Department(s string) bool { return departmentRe.MatchString(s) }

// QPV says whether s is a QPV code of department dept: QP, the department on
// three characters, three digits (QP093028, QP02A001, QP971012).
func QPV(s, dept string) bool {
	if !qpvRe.MatchString(s) {
		return false
	}
	return dept == "" || s[2:5] == leftPad3(dept)
}

func leftPad3(s string) string {
	for len(s) < 3 {
		s = "0" + s
	}
	return s
}

// Certification says whether s is an RNCP or RS code (RNCP37674, RS5487).
func Certification(s string) bool { return certificationRe.MatchString(s) }

// Postcode says whether s is a French postal code.
func Postcode(s string) bool { return postcodeRe.MatchString(s) }

// LearnerRef says whether s can be a learner's pseudonym: 8 to 64 letters,
// digits, '-' or '_'.
func LearnerRef(s string) bool { return learnerRefRe.MatchString(s) }

// Slug says whether s can be a partner's slug.
func Slug(s string) bool { return slugRe.MatchString(s) }

// CallCode says whether s can be a labelling call's code (W1-2015).
func CallCode(s string) bool { return callCodeRe.MatchString(s) }

// Echelons are the échelons of the CROUS aid scale, lowest first.
var Echelons = []string{"0bis", "1", "2", "3", "4", "5", "6", "7"}

// Echelon says whether s is an échelon of the aid scale.
func Echelon(s string) bool {
	for _, e := range Echelons {
		if s == e {
			return true
		}
	}
	return false
}
