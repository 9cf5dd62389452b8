package codes

import "testing"

func TestSIRET(t *testing.T) {
	for _, tc := range []struct {
		s    string
		want bool
	}{
		{"73282932000074", true}, // a real establishment
		{"73282932000075", false},
		{"35600000000048", true}, // La Poste's head office
		{"35600000012345", false},
		{"35600000049837", true}, // La Poste: digit sum divisible by 5
		{"7328293200007", false},
		{"7328293200007a", false},
		{"", false},
	} {
		if got := SIRET(tc.s); got != tc.want {
			t.Errorf("SIRET(%q) = %v, want %v", tc.s, got, tc.want)
		}
	}
}

func TestCodes(t *testing.T) {
	for _, tc := range []struct {
		name string
		got  bool
		want bool
	}{
		{"region 84", Region("84"), true},
		{"region 8", Region("8"), false},
		{"department 2A", Department("2A"), true},
		{"department 20", Department("20"), false},
		{"department 974", Department("974"), true},
		{"department 975", Department("975"), false},
		{"qpv of 93", QPV("QP093028", "93"), true},
		{"qpv of another department", QPV("QP093028", "94"), false},
		{"qpv of 2A", QPV("QP02A001", "2A"), true},
		{"qpv overseas", QPV("QP971012", "971"), true},
		{"qpv malformed", QPV("QP93028", ""), false},
		{"rncp", Certification("RNCP37674"), true},
		{"rs", Certification("RS5487"), true},
		{"rncp lower case", Certification("rncp37674"), false},
		{"rncp too long", Certification("RNCP376740"), false},
		{"echelon 0bis", Echelon("0bis"), true},
		{"echelon 8", Echelon("8"), false},
		{"learner ref", LearnerRef("L-0001-abcd"), true},
		{"learner ref short", LearnerRef("abc"), false},
	} {
		if tc.got != tc.want {
			t.Errorf("%s: got %v, want %v", tc.name, tc.got, tc.want)
		}
	}
}
