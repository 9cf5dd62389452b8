package seed

import (
	"github.com/gen-hub/genhub/internal/auth"
)

// Partner is a demo partner of the data set. The funders, councils, CROUS and
// employment services are the real institutions of the GEN network; the five
// training organisations are fictional, like every organisation of the data set.
type Partner struct {
	Slug string
	Name string
	// Kind is operator, funder, region, employment_service, crous or organisation.
	Kind string
	// RegionCode is the INSEE region of a regional council or of a CROUS.
	RegionCode string
	// Departments are the departments whose learners' aid a CROUS instructs.
	Departments []string
	// Organisation and SIRET name an organisation partner's training organisation.
	Organisation string
	SIRET        string
	// Key is the partner's demo API key (auth.DemoKey), Prefix its public part.
	Key, Prefix string
}

// anchor is a fictional training organisation that exists whatever the seed
// and scale, so that the partners standing for organisations, and the funding
// agreements covering organisations, can be named in advance.
type anchor struct {
	slug, name, legal, dept, city string
	siret                         string
	waves                         []int // the first labelling call of each of its formations
}

// Indexes of the labelling calls (see calls).
const (
	w1 = iota
	w2
	w3
	c2021
	c2024
)

var anchors = []anchor{
	{"org-fabrique-numerique-saint-denis", "Fabrique Numérique de Saint-Denis", "association", "93", "Saint-Denis",
		siret("79324518", "0001"), []int{w1, w1, w2, w3, c2021, c2024}},
	{"org-code-academie-lille", "Code Académie Lille", "private_company", "59", "Lille",
		siret("81477209", "0002"), []int{w1, w2, w3, c2021, c2024}},
	{"org-tremplin-digital-marseille", "Association Tremplin Digital", "association", "13", "Marseille",
		siret("80215736", "0001"), []int{w2, w3, w3, c2024}},
	{"org-campus-numerique-rhone", "Campus Numérique du Rhône", "private_company", "69", "Lyon",
		siret("83961042", "0003"), []int{w1, w3, c2021, c2024}},
	{"org-les-codeurs-de-rennes", "Les Codeurs de Rennes", "association", "35", "Rennes",
		siret("75190834", "0001"), []int{w2, w3, c2021}},
	// Covered by Société Générale's agreements.
	{"", "Passerelle Numérique Paris", "association", "75", "Paris",
		siret("78820463", "0001"), []int{w1, w2, w3, c2021, c2024}},
	{"", "Association Octet Digital", "association", "31", "Toulouse",
		siret("82053317", "0002"), []int{w2, w3, c2021, c2024}},
	{"", "Atelier du Code Nantais", "private_company", "44", "Nantes",
		siret("84412970", "0001"), []int{w3, c2021, c2024}},
}

// anchorFormations counts the anchors' formations.
func anchorFormations() int {
	n := 0
	for _, a := range anchors {
		n += len(a.waves)
	}
	return n
}

// Partner ids follow the order of Partners, from 1.
const (
	partnerOperator = 1 + iota
	partnerGoogle
	partnerSocieteGenerale
	partnerCapgemini
	partnerCaisseDesDepots
	partnerEtat
)

// Partners returns the demo partners, in the order of their ids in the
// loaded database. It reads no database: the list is static.
func Partners() []Partner {
	ps := []Partner{
		{Slug: "gip-gen", Name: "GIP Grande École du Numérique", Kind: "operator"},
		{Slug: "google", Name: "Google France", Kind: "funder"},
		{Slug: "societe-generale", Name: "Société Générale", Kind: "funder"},
		{Slug: "capgemini", Name: "Capgemini", Kind: "funder"},
		{Slug: "caisse-des-depots", Name: "Caisse des Dépôts", Kind: "funder"},
		{Slug: "etat", Name: "État — ministère du Travail", Kind: "funder"},
		{Slug: "syntec-numerique", Name: "Syntec Numérique", Kind: "funder"},
		{Slug: "cinov-it", Name: "CINOV IT", Kind: "funder"},
		{Slug: "fafiec", Name: "FAFIEC", Kind: "funder"},
		{Slug: "france-travail", Name: "France Travail", Kind: "employment_service"},
		{Slug: "unml", Name: "Union nationale des missions locales", Kind: "employment_service"},
	}
	for _, r := range regions {
		ps = append(ps, Partner{Slug: "region-" + slug(r.name), Name: r.council, Kind: "region", RegionCode: r.code})
	}
	for _, r := range regions {
		if r.code == "11" {
			for _, c := range crousIDF {
				ps = append(ps, Partner{Slug: c.slug, Name: c.name, Kind: "crous", RegionCode: r.code, Departments: c.departments})
			}
			continue
		}
		var deps []string
		for _, d := range departments {
			if d.region == r.code {
				deps = append(deps, d.code)
			}
		}
		ps = append(ps, Partner{Slug: "crous-" + slug(r.name), Name: r.crous, Kind: "crous", RegionCode: r.code, Departments: deps})
	}
	for _, a := range anchors {
		if a.slug != "" {
			ps = append(ps, Partner{Slug: a.slug, Name: a.name, Kind: "organisation", Organisation: a.name, SIRET: a.siret})
		}
	}
	for i := range ps {
		ps[i].Key, ps[i].Prefix, _ = auth.DemoKey(ps[i].Slug)
	}
	return ps
}

// agreement is a funding agreement of a demo funder.
type agreement struct {
	partner      int
	reference    string
	title        string
	scope        string
	region, dept string
	organisation int // anchor index + 1 = organisation id
	call         int // call index + 1 = call id
	amount       string
	from, until  string
}

var agreements = []agreement{
	{partner: partnerGoogle, reference: "CONV-GOOGLE-2016-01", title: "Soutien aux fabriques de la première vague",
		scope: "labelling_call", call: w1 + 1, amount: "1000000.00", from: "2016-01-01", until: "2018-12-31"},
	{partner: partnerGoogle, reference: "CONV-GOOGLE-2021-01", title: "Formations labellisées en 2021",
		scope: "labelling_call", call: c2021 + 1, amount: "1500000.00", from: "2021-10-15", until: "2027-12-31"},
	{partner: partnerSocieteGenerale, reference: "CONV-SG-2022-01", title: "Mécénat de compétences — Passerelle Numérique Paris",
		scope: "organisation", organisation: 6, amount: "180000.00", from: "2022-01-01", until: "2027-06-30"},
	{partner: partnerSocieteGenerale, reference: "CONV-SG-2022-02", title: "Mécénat — Association Octet Digital",
		scope: "organisation", organisation: 7, amount: "120000.00", from: "2022-01-01", until: "2027-06-30"},
	{partner: partnerSocieteGenerale, reference: "CONV-SG-2022-03", title: "Mécénat — Atelier du Code Nantais",
		scope: "organisation", organisation: 8, amount: "95000.00", from: "2022-01-01", until: "2027-06-30"},
	{partner: partnerCapgemini, reference: "CONV-CAPGEMINI-2019-01", title: "Formations numériques en Hauts-de-France",
		scope: "region", region: "32", amount: "2000000.00", from: "2019-01-01", until: "2027-12-31"},
	{partner: partnerCapgemini, reference: "CONV-CAPGEMINI-2020-01", title: "Formations numériques dans le Rhône",
		scope: "department", dept: "69", amount: "600000.00", from: "2020-01-01", until: "2025-12-31"},
	{partner: partnerCaisseDesDepots, reference: "CONV-CDC-2016-01", title: "Contribution au budget du GIP",
		scope: "national", amount: "5000000.00", from: "2016-01-01", until: "2026-12-31"},
	{partner: partnerEtat, reference: "CONV-ETAT-2016-01", title: "Subvention pour charges de service public du GIP",
		scope: "national", amount: "48000000.00", from: "2016-01-01", until: "2030-12-31"},
}
