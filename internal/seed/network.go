package seed

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"time"
)

// ref is the reference date of the data set: label statuses, completions and
// outcomes are as they stand on that day.
var ref = date(2026, 11, 27)

// lastSession bounds the calendar: no session starts after it.
var lastSession = date(2026, 12, 31)

// call is a labelling call (appel à labellisation).
type call struct {
	code, name, programme   string
	opened, closed, results time.Time
	envelope                any // euros, or nil
	grants                  []choice[time.Time]
	validYears              int
	newFormations           int // formations labelled for the first time, at scale 1
}

var calls = []call{
	{"W1-2015", "Grande École du Numérique — vague 1", "pia_fej",
		date(2015, 9, 17), date(2015, 10, 19), date(2016, 2, 3), "5000000.00",
		[]choice[time.Time]{{date(2016, 2, 3), 1}}, 1, 171},
	// Rolling: files were reviewed as they came, results announced in three rounds.
	{"W2-2016", "Grande École du Numérique — vague 2 (au fil de l'eau)", "pia_fej",
		date(2016, 8, 1), date(2017, 2, 24), date(2017, 3, 15), "10000000.00",
		[]choice[time.Time]{{date(2016, 11, 15), 1}, {date(2016, 12, 14), 1}, {date(2017, 3, 15), 2}}, 3, 250},
	{"W3-2018", "#10kNum — vague 3", "pic",
		date(2018, 3, 15), date(2018, 6, 30), date(2018, 12, 12), "37000000.00",
		[]choice[time.Time]{{date(2018, 12, 12), 1}}, 3, 350},
	{"C-2021", "Appel à labellisation 2021", "none",
		date(2021, 3, 15), date(2021, 6, 30), date(2021, 10, 15), nil,
		[]choice[time.Time]{{date(2021, 10, 15), 1}}, 3, 130},
	{"C-2024", "Appel à labellisation 2024", "none",
		date(2024, 2, 1), date(2024, 5, 31), date(2024, 9, 30), nil,
		[]choice[time.Time]{{date(2024, 9, 30), 1}}, 3, 100},
}

// relabel is the chance that a formation whose label came from call i is
// labelled again in call i+1 (wave 1 labels lasted a year, then were audited).
var relabel = []float64{0.55, 0.30, 0.30, 0.28, 0}

type org struct {
	id                       int
	siret, name, legal, city string
	dept                     int
	formations               int
	anchorWaves              []int
}

type label struct {
	id, call       int
	granted, until time.Time
	status         string
	withdrawn      time.Time // zero unless withdrawn
}

// end is the last day the label covers.
func (l *label) end() time.Time {
	if !l.withdrawn.IsZero() {
		return l.withdrawn
	}
	return l.until
}

type formation struct {
	id, org                 int
	firstCall               int
	first                   time.Time // first label granted on
	title, family, delivery string
	certCode                string // "" when not certifying
	certLevel               int
	months, seats           int
	free                    bool
	address, postcode, city string
	dept                    int
	qpv                     string
	lat, lon                float64
	labels                  []label
	// Learner profile: expected shares among its learners.
	women, qpvShare, dropout float64
	certRate                 float64
}

func (f *formation) idf() bool { return departments[f.dept].region == "11" }

type grant struct {
	id, label, formation int
	amount               string
	share                string
	sessions             int
	signed               time.Time
	justified            bool
}

type session struct {
	id             int
	f              *formation
	start, end     time.Time
	planned        int
	learners       int
	firstEnrolment int
}

// network is the generated data set, short of the learner rows, which are
// generated per session when they are written.
type network struct {
	seed       uint64
	orgs       []org
	formations []*formation
	grants     []grant
	sessions   []session
	qpvs       [][]qpv
	labels     int
	enrolments int
}

// Parts of the data set with their own generator (see newRand).
const (
	partNetwork = iota + 1
	partSession
)

func build(o Options) *network {
	r := newRand(o.Seed, partNetwork, 0)
	n := &network{seed: o.Seed, qpvs: qpvs()}
	g := newGeography()
	n.organisations(r, o.Scale, g)
	n.formationsOf(r, o.Scale, g)
	n.labelsAndGrants(r)
	n.sessionsOf(r)
	return n
}

// geography says where training takes place: regions get fixed shares of
// the organisations and formations (quotas, so that the shares hold whatever
// the seed), departments are drawn within their region.
type geography struct {
	all      weighted   // departments, nationally
	regional []float64  // share of each region (in the order of regions)
	within   []weighted // departments of each region
	deps     [][]int    // department indexes of each region
}

func newGeography() *geography {
	w := locationWeights()
	g := &geography{all: newWeighted(w), regional: make([]float64, len(regions))}
	for _, reg := range regions {
		var ds []int
		var ws []float64
		for i, d := range departments {
			if d.region == reg.code {
				ds = append(ds, i)
				ws = append(ws, w[i])
				g.regional[regionIndex[reg.code]] += w[i]
			}
		}
		g.deps = append(g.deps, ds)
		g.within = append(g.within, newWeighted(ws))
	}
	return g
}

// draw picks a department of region ri.
func (g *geography) draw(r *rand.Rand, ri int) int { return g.deps[ri][g.within[ri].draw(r)] }

// quotas splits total in proportion to weights, by largest remainder.
func quotas(total int, weights []float64) []int {
	sum := 0.0
	for _, w := range weights {
		sum += w
	}
	q := make([]int, len(weights))
	rem := make([]float64, len(weights))
	given := 0
	for i, w := range weights {
		x := float64(total) * w / sum
		q[i] = int(x)
		rem[i] = x - float64(q[i])
		given += q[i]
	}
	for ; given < total; given++ {
		best := 0
		for i := range rem {
			if rem[i] > rem[best] {
				best = i
			}
		}
		q[best]++
		rem[best] = -1
	}
	return q
}

// locationWeights weights departments as places of training: Île-de-France
// over-represented (about 25 % of formations), then Hauts-de-France and PACA,
// the rest by population, overseas and Corsica small.
func locationWeights() []float64 {
	shares := []struct {
		region string
		share  float64
	}{{"11", 0.25}, {"32", 0.105}, {"93", 0.09}}
	fixed, rest := 0.0, 0.0
	for _, s := range shares {
		fixed += s.share
	}
	w := make([]float64, len(departments))
	for i := range departments {
		d := &departments[i]
		w[i] = d.pop * damp(d)
		switch d.code { // the big cities' pull, within their region
		case "75":
			w[i] *= 1.6
		case "93":
			w[i] *= 1.3
		case "13", "59":
			w[i] *= 1.2
		}
	}
	inRegion := func(reg string) (t float64) {
		for i, d := range departments {
			if d.region == reg {
				t += w[i]
			}
		}
		return t
	}
	sums := make([]float64, len(shares))
	for k, s := range shares {
		sums[k] = inRegion(s.region)
	}
	for i := range departments {
		rest += w[i]
	}
	for k := range shares {
		rest -= sums[k]
	}
	for i, d := range departments {
		share, total := 1-fixed, rest
		for k, s := range shares {
			if d.region == s.region {
				share, total = s.share, sums[k]
			}
		}
		w[i] *= share / total
	}
	return w
}

// damp lowers the weight of overseas departments and Corsica.
func damp(d *department) float64 {
	switch {
	case d.overseas():
		return 0.5
	case d.region == "94":
		return 0.7
	}
	return 1
}

var legalStatuses = []choice[string]{
	{"association", 44}, {"private_company", 34}, {"public_body", 13},
	{"local_authority", 4}, {"university", 3}, {"other", 2},
}

// Words for fictional organisation names.
var (
	nameWords = []string{"Horizon", "Passerelle", "Tremplin", "Envol", "Boussole", "Sillon", "Ruche", "Pixel",
		"Octet", "Lumen", "Azimut", "Canopée", "Alizé", "Boréal", "Cap", "Déclic", "Écluse", "Faubourg", "Grain",
		"Hélice", "Isard", "Jalon", "Kiosque", "Lanterne", "Mosaïque", "Nœud", "Orée", "Prisme", "Quai", "Relais",
		"Sémaphore", "Tisserand", "Vigie", "Zénith", "Aiguillage", "Balise", "Cordée", "Estran", "Fanal", "Grenier"}
	namePatterns = map[string][]string{
		"association": {"Association %[2]s Digital", "Fabrique Numérique de %[1]s", "Les Codeurs de %[1]s",
			"Association %[2]s Numérique", "Atelier du Code %[2]s", "%[2]s — École du numérique de %[1]s"},
		"private_company": {"Code Académie %[1]s", "%[2]s Formation Numérique", "Campus %[2]s Digital",
			"École %[2]s du Code", "%[2]s Tech Academy", "Studio %[2]s Formation"},
		"public_body":     {"Centre public de formation numérique de %[1]s", "Greta numérique %[2]s de %[1]s", "Établissement %[2]s de formation de %[1]s"},
		"local_authority": {"Fabrique numérique municipale de %[1]s", "Agglomération de %[1]s — École %[2]s"},
		"university":      {"Campus universitaire numérique de %[1]s", "Institut %[2]s du numérique de %[1]s"},
		"other":           {"Coopérative %[2]s Numérique", "Fondation %[2]s pour le numérique"},
	}
)

// organisations generates the training organisations: the anchors, then
// fictional ones, about 300 per unit of scale, every region having some.
func (n *network) organisations(r *rand.Rand, scale int, g *geography) {
	names := map[string]bool{}
	sirets := map[string]bool{}
	quota := quotas(300*scale, g.regional)
	for i, a := range anchors {
		d := deptIndex[a.dept]
		n.orgs = append(n.orgs, org{id: i + 1, siret: a.siret, name: a.name, legal: a.legal, city: a.city,
			dept: d, formations: len(a.waves), anchorWaves: a.waves})
		names[a.name], sirets[a.siret] = true, true
		quota[regionIndex[departments[d].region]]--
	}
	var gen []org
	for ri, k := range quota {
		for range max(k, 1) {
			d := g.draw(r, ri)
			legal := pick(r, legalStatuses)
			c := departments[d].communes[r.IntN(len(departments[d].communes))]
			if chance(r, 0.5) {
				c = departments[d].communes[0]
			}
			var name string
			for attempt := 0; ; attempt++ {
				pats := namePatterns[legal]
				name = fmt.Sprintf(pats[r.IntN(len(pats))], c.name, nameWords[r.IntN(len(nameWords))])
				if attempt > 3 {
					name += " " + strconv.Itoa(attempt)
				}
				if !names[name] {
					break
				}
			}
			s := randomSIRET(r)
			for sirets[s] {
				s = randomSIRET(r)
			}
			names[name], sirets[s] = true, true
			gen = append(gen, org{siret: s, name: name, legal: legal, city: c.name, dept: d})
		}
	}
	r.Shuffle(len(gen), func(i, j int) { gen[i], gen[j] = gen[j], gen[i] })
	for _, o := range gen {
		o.id = len(n.orgs) + 1
		n.orgs = append(n.orgs, o)
	}
}

// A course is what a formation teaches: job family, title and, when it is
// certifying, its RNCP or RS certification (the code changes with the
// certification's renewal, at the year given). Codes quoted in the research
// notes are real; the others are plausible codes in the official format.
type course struct {
	family, title string
	level         int
	oldCode, code string
	since         int
}

var certifying = []course{
	{"dev_integration_test", "Développeur web et web mobile", 5, "RNCP31114", "RNCP37674", 2023},
	{"dev_integration_test", "Concepteur développeur d'applications", 6, "RNCP31678", "RNCP37873", 2023},
	{"dev_integration_test", "Concepteur développeur de solutions informatiques", 6, "RNCP36135", "RNCP36135", 0},
	{"network_infra_security", "Technicien supérieur systèmes et réseaux", 5, "RNCP31115", "RNCP37682", 2023},
	{"network_infra_security", "Administrateur d'infrastructures sécurisées", 6, "RNCP31113", "RNCP37680", 2023},
	{"data", "Développeur en intelligence artificielle", 6, "RNCP34757", "RNCP34757", 0},
	{"data", "Data analyst", 6, "RNCP35288", "RNCP37429", 2023},
	{"maintenance_support", "Technicien d'assistance informatique", 4, "RNCP35750", "RNCP35750", 0},
	{"marketing_commercial", "Chargé de marketing et communication digitale", 5, "RNCP34062", "RNCP37806", 2023},
	{"content_design", "Designer web", 5, "RNCP31120", "RNCP37805", 2023},
	{"other", "Accompagnateur aux usages du numérique", 0, "RS5487", "RS5487", 0}, // RS: no level
}

var uncertified = map[string][]string{
	"dev_integration_test": {"Intégrateur web", "Développeur front-end JavaScript", "Développeur Python",
		"Initiation au code et à la programmation", "Testeur logiciel", "Développeur d'applications mobiles",
		"Développeur Java full stack", "Développeur PHP Symfony", "Préparation aux métiers du développement"},
	"network_infra_security": {"Technicien réseaux et cybersécurité", "Analyste SOC junior", "Technicien cloud et DevOps"},
	"data":                   {"Technicien de la donnée", "Initiation à la data et à l'IA"},
	"maintenance_support":    {"Technicien support utilisateurs", "Technicien de maintenance informatique", "Réparateur d'équipements numériques"},
	"marketing_commercial":   {"Community manager", "Assistant e-commerce", "Chargé de référencement web"},
	"content_design":         {"Motion designer", "UX/UI designer junior", "Rédacteur web", "Infographiste multimédia"},
	"other":                  {"Médiateur numérique", "Fabmanager", "Découverte des métiers du numérique"},
}

var families = []choice[string]{
	{"dev_integration_test", 64}, {"network_infra_security", 8}, {"data", 6}, {"maintenance_support", 7},
	{"marketing_commercial", 7}, {"content_design", 5}, {"other", 3},
}

var durations = []choice[int]{
	{3, 14}, {4, 15}, {5, 16}, {6, 18}, {7, 10}, {8, 7}, {9, 5}, {10, 3}, {11, 2}, {12, 5}, {15, 1.5}, {18, 1}, {24, 0.5},
}

var streets = []string{"rue de la République", "avenue Jean Jaurès", "rue Victor Hugo", "boulevard Pasteur",
	"rue du Moulin", "allée des Tilleuls", "rue de la Gare", "place de la Mairie", "rue des Écoles",
	"avenue de la Liberté", "rue Gambetta", "impasse des Artisans", "rue du Port", "chemin des Vignes",
	"rue de l'Industrie", "quai des Chartreux", "rue des Lilas", "avenue des Platanes", "rue Jules Ferry",
	"rue Louise Michel", "rue Olympe de Gouges", "boulevard de l'Europe", "rue du Marché", "rue de la Forge"}

// formationsOf generates the formations: exactly 171 × scale first labelled
// in wave 1, and each later call's new formations, spread over the
// organisations (about three each, mostly in their own department).
func (n *network) formationsOf(r *rand.Rand, scale int, g *geography) {
	pool := make([]int, len(calls))
	for i, c := range calls {
		pool[i] = c.newFormations * scale
	}
	for _, o := range n.orgs {
		for _, w := range o.anchorWaves {
			pool[w]--
		}
	}
	var waves []int
	for i, k := range pool {
		for range k {
			waves = append(waves, i)
		}
	}
	r.Shuffle(len(waves), func(i, j int) { waves[i], waves[j] = waves[j], waves[i] })

	// Each region gets its quota of formations, spread over its
	// organisations: one or more each, a few with many.
	quota := quotas(len(waves)+anchorFormations(), g.regional)
	byRegion := make([][]*org, len(regions))
	for i := range n.orgs {
		o := &n.orgs[i]
		ri := regionIndex[departments[o.dept].region]
		if o.anchorWaves != nil {
			quota[ri] -= len(o.anchorWaves)
			continue
		}
		byRegion[ri] = append(byRegion[ri], o)
	}
	for ri := range quota {
		quota[ri] = max(quota[ri], len(byRegion[ri]))
	}
	// Bring the total back to the number of waves drawn, taking from or
	// giving to the regions with the most formations per organisation.
	total := 0
	for _, q := range quota {
		total += q
	}
	for ; total != len(waves); total += cmpSign(len(waves) - total) {
		best, bestRatio := -1, -1.0
		for ri, q := range quota {
			if total > len(waves) && q <= len(byRegion[ri]) {
				continue
			}
			if ratio := float64(q) / float64(max(len(byRegion[ri]), 1)); ratio > bestRatio {
				best, bestRatio = ri, ratio
			}
		}
		quota[best] += cmpSign(len(waves) - total)
	}
	for ri, orgs := range byRegion {
		size := make([]float64, len(orgs))
		for i, o := range orgs {
			o.formations = 1
			size[i] = 0.3 + r.ExpFloat64()
		}
		if len(orgs) == 0 {
			continue
		}
		by := newWeighted(size)
		for range quota[ri] - len(orgs) {
			orgs[by.draw(r)].formations++
		}
	}

	var fs []*formation
	next := 0
	for i := range n.orgs {
		o := &n.orgs[i]
		for k := range o.formations {
			var wave int
			if o.anchorWaves != nil {
				wave = o.anchorWaves[k]
			} else {
				wave, next = waves[next], next+1
			}
			fs = append(fs, n.newFormation(r, o, wave, g))
		}
	}
	// Ids follow the date of the first label, as they would have been created.
	slices.SortStableFunc(fs, func(a, b *formation) int { return a.first.Compare(b.first) })
	for i, f := range fs {
		f.id = i + 1
	}
	n.formations = fs
}

func (n *network) newFormation(r *rand.Rand, o *org, wave int, g *geography) *formation {
	f := &formation{org: o.id, firstCall: wave, first: pick(r, calls[wave].grants)}
	// Where: the organisation's department mostly, else its region, else anywhere.
	switch x := r.Float64(); {
	case o.anchorWaves != nil || x < 0.85:
		f.dept = o.dept
	case x < 0.96:
		f.dept = g.draw(r, regionIndex[departments[o.dept].region])
	default:
		f.dept = g.all.draw(r)
	}
	d := &departments[f.dept]
	c := d.communes[r.IntN(len(d.communes))]
	if chance(r, 0.4) {
		c = d.communes[0]
	}
	if o.anchorWaves != nil {
		for _, cc := range d.communes {
			if cc.name == o.city {
				c = cc
				break
			}
		}
	}
	if chance(r, 0.15) {
		q := n.qpvs[f.dept][r.IntN(len(n.qpvs[f.dept]))]
		f.qpv, c = q.code, q.commune
	}
	f.city, f.postcode = c.name, c.postcode
	f.address = fmt.Sprintf("%d %s", between(r, 1, 140), streets[r.IntN(len(streets))])
	jitter := 0.2
	switch {
	case d.code == "75":
		jitter = 0.025
	case d.code == "92" || d.code == "93" || d.code == "94":
		jitter = 0.05
	case d.code == "973":
		jitter = 0.1
	case d.overseas():
		jitter = 0.04
	case d.region == "94":
		jitter = 0.1
	}
	f.lat = round5(d.lat + (r.Float64()*2-1)*jitter)
	f.lon = round5(d.lon + (r.Float64()*2-1)*jitter*1.4)

	// What: family, title, certification.
	f.family = pick(r, families)
	f.months = pick(r, durations)
	if chance(r, 0.46) {
		var cs []course
		for _, c := range certifying {
			if c.family == f.family {
				cs = append(cs, c)
			}
		}
		c := cs[r.IntN(len(cs))]
		f.title, f.certLevel, f.certCode = c.title, c.level, c.oldCode
		if c.since > 0 && f.first.Year() >= c.since {
			f.certCode = c.code
		}
		if c.level >= 6 {
			f.months = max(f.months, between(r, 7, 12))
		}
	} else {
		ts := uncertified[f.family]
		f.title = ts[r.IntN(len(ts))]
	}
	f.delivery = pick(r, []choice[string]{{"on_site", 56}, {"blended", 40}, {"remote", 4}})
	// The #10kNum call required free access.
	f.free = wave == w3 || chance(r, 0.70)
	f.seats = between(r, 12, 30)

	// Who: a few formations are for women only, most have about one woman in five.
	f.women = clamp(0.20+r.NormFloat64()*0.07, 0.03, 0.5)
	switch f.family {
	case "content_design", "marketing_commercial":
		f.women += 0.12
	case "network_infra_security":
		f.women -= 0.06
	}
	f.women = max(f.women, 0.02)
	if chance(r, 0.05) {
		f.women = 0.92
		f.title += " — parcours 100 % femmes"
	} else if chance(r, 0.12) {
		f.title += []string{" (parcours intensif)", " en alternance", " — spécial reconversion", " — promo inclusive"}[r.IntN(4)]
	}
	f.qpvShare = clamp(0.17+r.NormFloat64()*0.06, 0.02, 0.6)
	if f.qpv != "" {
		f.qpvShare = clamp(0.42+r.NormFloat64()*0.1, 0.15, 0.9)
	}
	f.dropout = clamp(0.25+r.NormFloat64()*0.07, 0.05, 0.5)
	f.certRate = clamp(0.70+r.NormFloat64()*0.08, 0.35, 0.95)
	return f
}

func cmpSign(x int) int {
	switch {
	case x > 0:
		return 1
	case x < 0:
		return -1
	}
	return 0
}

func clamp(x, lo, hi float64) float64 { return math.Max(lo, math.Min(hi, x)) }

func round5(x float64) float64 { return math.Round(x*1e5) / 1e5 }

// labelsAndGrants gives each formation its chain of labels (renewed in later
// calls, about 3 % withdrawn) and seed grants for wave 1 to 3 first labels.
func (n *network) labelsAndGrants(r *rand.Rand) {
	// Within each programme's envelope: 5 M€ for wave 1 at about 70,000 € a
	// grant, 10 M€ for wave 2, 37 M€ for #10kNum.
	grantChance := []float64{0.42, 0.55, 0.80}
	for _, f := range n.formations {
		c, granted := f.firstCall, f.first
		for {
			l := label{id: n.labels + 1, call: c, granted: granted, until: addMonths(granted, 12*calls[c].validYears)}
			n.labels++
			if chance(r, 0.03) {
				last := minDate(days(l.until, -1), ref)
				span := int(last.Sub(l.granted).Hours()/24) - 30
				l.status, l.withdrawn = "withdrawn", days(l.granted, 30+r.IntN(max(span, 1)))
				f.labels = append(f.labels, l)
				break
			}
			if c+1 < len(calls) && chance(r, relabel[c]) {
				l.status = "renewed"
				f.labels = append(f.labels, l)
				c++
				granted = pick(r, calls[c].grants)
				continue
			}
			l.status = "expired"
			if !l.until.Before(ref) {
				l.status = "active"
			}
			f.labels = append(f.labels, l)
			break
		}
		first := f.labels[0]
		if first.call <= w3 && chance(r, grantChance[first.call]) {
			mean, sd := []float64{70000, 40000, 95000}[first.call], []float64{12000, 10000, 20000}[first.call]
			amount := math.Round(clamp(mean+r.NormFloat64()*sd, mean/2.5, mean*1.8)/500) * 500
			g := grant{id: len(n.grants) + 1, label: first.id, formation: f.id,
				amount: fmt.Sprintf("%.2f", amount), share: fmt.Sprintf("%.2f", float64(between(r, 35, 80))/100),
				sessions: between(r, 1, 2), signed: days(first.granted, between(r, 20, 120)),
				justified: chance(r, 0.70)}
			if first.status == "withdrawn" {
				g.justified = chance(r, 0.3)
			}
			n.grants = append(n.grants, g)
		}
	}
}

// sessionsOf plans about one session a year per formation while it is
// labelled (more often in Île-de-France), and how many learners each enrols.
func (n *network) sessionsOf(r *rand.Rand) {
	for _, f := range n.formations {
		last := f.labels[len(f.labels)-1].end()
		if last.After(lastSession) {
			last = lastSession
		}
		start := days(f.first, between(r, 20, 150))
		for first := true; first || start.Before(last); first = false {
			s := session{id: len(n.sessions) + 1, f: f, start: start, end: addMonths(start, f.months), planned: f.seats}
			if chance(r, 0.25) {
				s.planned = max(6, f.seats+between(r, -4, 4))
			}
			var fill float64
			switch {
			case chance(r, 0.06): // a small cohort
				s.learners = between(r, 3, 8)
			case f.idf():
				fill = 0.52 + 0.38*r.Float64()
			default:
				fill = 0.28 + 0.38*r.Float64()
			}
			if fill > 0 {
				s.learners = max(3, int(math.Round(float64(s.planned)*fill)))
			}
			if s.start.After(ref) { // enrolments still open
				s.learners = max(1, s.learners/2)
			}
			s.firstEnrolment = n.enrolments + 1
			n.enrolments += s.learners
			n.sessions = append(n.sessions, s)
			if f.idf() {
				start = days(start, between(r, 200, 330))
			} else {
				start = days(start, between(r, 300, 420))
			}
		}
	}
}
