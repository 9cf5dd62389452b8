package seed

import "testing"

func TestSIRET(t *testing.T) {
	// Real SIRETs from the research notes pass; changing a digit breaks them.
	for _, s := range []string{"79119919300016", "11000007200014", "19753471200017"} {
		if !luhnValid(s) || !luhnValid(s[:9]) {
			t.Errorf("%s (or its SIREN) fails the Luhn check", s)
		}
		bad := []byte(s)
		bad[5] = '0' + (bad[5]-'0'+1)%10
		if luhnValid(string(bad)) {
			t.Errorf("%s passes the Luhn check", bad)
		}
	}
	r := newRand(1, 99, 0)
	for range 1000 {
		s := randomSIRET(r)
		if len(s) != 14 || !luhnValid(s) || !luhnValid(s[:9]) || s[:9] == "356000000" {
			t.Fatalf("randomSIRET gave %s", s)
		}
	}
	for _, a := range anchors {
		if len(a.siret) != 14 || !luhnValid(a.siret) || !luhnValid(a.siret[:9]) {
			t.Errorf("anchor %s has SIRET %s", a.name, a.siret)
		}
	}
}

func TestSlug(t *testing.T) {
	for in, want := range map[string]string{
		"Provence-Alpes-Côte d'Azur": "provence-alpes-cote-d-azur",
		"Île-de-France":              "ile-de-france",
		"La Réunion":                 "la-reunion",
		"Bourgogne-Franche-Comté":    "bourgogne-franche-comte",
		"Centre-Val de Loire":        "centre-val-de-loire",
	} {
		if got := slug(in); got != want {
			t.Errorf("slug(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestQPVs(t *testing.T) {
	seen := map[string]bool{}
	n := 0
	for i, qs := range qpvs() {
		if len(qs) == 0 {
			t.Errorf("department %s has no QPV", departments[i].code)
		}
		for _, q := range qs {
			if seen[q.code] {
				t.Errorf("QPV %s twice", q.code)
			}
			seen[q.code] = true
			n++
		}
	}
	if n < 1200 || n > 1400 || !seen["QP093028"] || !seen["QP075019"] || !seen["QP02A001"] || !seen["QP971001"] {
		t.Errorf("%d QPVs, want about 1,300 including QP093028, QP075019, QP02A001 and QP971001", n)
	}
}
