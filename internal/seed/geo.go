package seed

import (
	"fmt"
	"math"
	"strings"
)

// region is an INSEE region as the migrations load it, with the names the
// demo partners serving it carry.
type region struct {
	code, name string
	council    string // its regional council (or the collectivity acting as one)
	crous      string // the CROUS serving it; Île-de-France has three, see crousIDF
}

var regions = []region{
	{"01", "Guadeloupe", "Région Guadeloupe", "CROUS de Guadeloupe"},
	{"02", "Martinique", "Collectivité territoriale de Martinique", "CROUS de Martinique"},
	{"03", "Guyane", "Collectivité territoriale de Guyane", "CROUS de Guyane"},
	{"04", "La Réunion", "Région Réunion", "CROUS de La Réunion"},
	{"06", "Mayotte", "Département de Mayotte", "Vice-rectorat de Mayotte"},
	{"11", "Île-de-France", "Région Île-de-France", ""},
	{"24", "Centre-Val de Loire", "Région Centre-Val de Loire", "CROUS Orléans-Tours"},
	{"27", "Bourgogne-Franche-Comté", "Région Bourgogne-Franche-Comté", "CROUS Bourgogne-Franche-Comté"},
	{"28", "Normandie", "Région Normandie", "CROUS Normandie"},
	{"32", "Hauts-de-France", "Région Hauts-de-France", "CROUS Hauts-de-France"},
	{"44", "Grand Est", "Région Grand Est", "CROUS Grand Est"},
	{"52", "Pays de la Loire", "Région Pays de la Loire", "CROUS Pays de la Loire"},
	{"53", "Bretagne", "Région Bretagne", "CROUS Bretagne"},
	{"75", "Nouvelle-Aquitaine", "Région Nouvelle-Aquitaine", "CROUS Nouvelle-Aquitaine"},
	{"76", "Occitanie", "Région Occitanie", "CROUS Occitanie"},
	{"84", "Auvergne-Rhône-Alpes", "Région Auvergne-Rhône-Alpes", "CROUS Auvergne-Rhône-Alpes"},
	{"93", "Provence-Alpes-Côte d'Azur", "Région Provence-Alpes-Côte d'Azur", "CROUS Provence-Alpes-Côte d'Azur"},
	{"94", "Corse", "Collectivité de Corse", "CROUS de Corse"},
}

// The three CROUS of Île-de-France and the departments each serves.
var crousIDF = []struct {
	slug, name  string
	departments []string
}{
	{"crous-paris", "CROUS de Paris", []string{"75"}},
	{"crous-creteil", "CROUS de Créteil", []string{"77", "93", "94"}},
	{"crous-versailles", "CROUS de Versailles", []string{"78", "91", "92", "95"}},
}

// commune is a real commune with its postcode; addresses in it are fictional.
type commune struct{ name, postcode string }

// department is an INSEE department with what the generator needs: its
// population in thousands (about 2020), an approximate centroid and some of
// its communes, the prefecture first.
type department struct {
	code, name, region string
	pop                float64
	lat, lon           float64
	communes           []commune
}

var departments = []department{
	dep("01", "Ain", "84", 652, 46.10, 5.35, "Bourg-en-Bresse"),
	dep("02", "Aisne", "32", 531, 49.56, 3.56, "Laon", "Saint-Quentin 02100", "Soissons 02200"),
	dep("03", "Allier", "84", 335, 46.39, 3.19, "Moulins", "Montluçon 03100"),
	dep("04", "Alpes-de-Haute-Provence", "93", 164, 44.10, 6.24, "Digne-les-Bains"),
	dep("05", "Hautes-Alpes", "93", 141, 44.66, 6.26, "Gap"),
	dep("06", "Alpes-Maritimes", "93", 1094, 43.94, 7.12, "Nice", "Cannes 06400", "Antibes 06600"),
	dep("07", "Ardèche", "84", 328, 44.75, 4.42, "Privas", "Annonay 07100"),
	dep("08", "Ardennes", "44", 270, 49.62, 4.63, "Charleville-Mézières"),
	dep("09", "Ariège", "76", 153, 42.94, 1.50, "Foix"),
	dep("10", "Aube", "44", 310, 48.30, 4.16, "Troyes"),
	dep("11", "Aude", "76", 374, 43.10, 2.41, "Carcassonne", "Narbonne 11100"),
	dep("12", "Aveyron", "76", 279, 44.28, 2.68, "Rodez"),
	dep("13", "Bouches-du-Rhône", "93", 2043, 43.54, 5.09, "Marseille 13001", "Marseille 13003", "Marseille 13013",
		"Marseille 13015", "Aix-en-Provence 13100", "Martigues 13500"),
	dep("14", "Calvados", "28", 694, 49.10, -0.36, "Caen", "Lisieux 14100"),
	dep("15", "Cantal", "84", 144, 45.05, 2.67, "Aurillac"),
	dep("16", "Charente", "75", 352, 45.72, 0.20, "Angoulême"),
	dep("17", "Charente-Maritime", "75", 651, 45.78, -0.67, "La Rochelle", "Rochefort 17300"),
	dep("18", "Cher", "24", 302, 47.06, 2.49, "Bourges"),
	dep("19", "Corrèze", "75", 240, 45.36, 1.88, "Tulle", "Brive-la-Gaillarde 19100"),
	dep("2A", "Corse-du-Sud", "94", 158, 41.86, 8.99, "Ajaccio 20000"),
	dep("2B", "Haute-Corse", "94", 182, 42.39, 9.21, "Bastia 20200", "Corte 20250"),
	dep("21", "Côte-d'Or", "27", 534, 47.42, 4.77, "Dijon"),
	dep("22", "Côtes-d'Armor", "53", 600, 48.44, -2.86, "Saint-Brieuc", "Lannion 22300"),
	dep("23", "Creuse", "75", 116, 46.09, 2.02, "Guéret"),
	dep("24", "Dordogne", "75", 413, 45.15, 0.74, "Périgueux", "Bergerac 24100"),
	dep("25", "Doubs", "27", 543, 47.17, 6.36, "Besançon", "Montbéliard 25200"),
	dep("26", "Drôme", "84", 516, 44.69, 5.17, "Valence"),
	dep("27", "Eure", "28", 599, 49.11, 0.99, "Évreux", "Vernon 27200"),
	dep("28", "Eure-et-Loir", "24", 431, 48.39, 1.37, "Chartres", "Dreux 28100"),
	dep("29", "Finistère", "53", 915, 48.26, -4.06, "Quimper", "Brest 29200"),
	dep("30", "Gard", "76", 748, 43.99, 4.18, "Nîmes", "Alès 30100"),
	dep("31", "Haute-Garonne", "76", 1400, 43.36, 1.17, "Toulouse", "Colomiers 31770"),
	dep("32", "Gers", "76", 191, 43.69, 0.45, "Auch"),
	dep("33", "Gironde", "75", 1623, 44.83, -0.58, "Bordeaux", "Mérignac 33700", "Pessac 33600"),
	dep("34", "Hérault", "76", 1176, 43.58, 3.37, "Montpellier", "Béziers 34500", "Sète 34200"),
	dep("35", "Ille-et-Vilaine", "53", 1079, 48.15, -1.64, "Rennes", "Saint-Malo 35400"),
	dep("36", "Indre", "24", 219, 46.78, 1.58, "Châteauroux"),
	dep("37", "Indre-et-Loire", "24", 610, 47.26, 0.69, "Tours"),
	dep("38", "Isère", "84", 1271, 45.26, 5.58, "Grenoble", "Échirolles 38130"),
	dep("39", "Jura", "27", 259, 46.73, 5.70, "Lons-le-Saunier"),
	dep("40", "Landes", "75", 413, 43.96, -0.78, "Mont-de-Marsan", "Dax 40100"),
	dep("41", "Loir-et-Cher", "24", 329, 47.62, 1.43, "Blois"),
	dep("42", "Loire", "84", 765, 45.73, 4.17, "Saint-Étienne", "Roanne 42300"),
	dep("43", "Haute-Loire", "84", 227, 45.13, 3.80, "Le Puy-en-Velay"),
	dep("44", "Loire-Atlantique", "52", 1429, 47.35, -1.68, "Nantes", "Saint-Nazaire 44600", "Rezé 44400"),
	dep("45", "Loiret", "24", 680, 47.91, 2.34, "Orléans", "Montargis 45200"),
	dep("46", "Lot", "76", 174, 44.62, 1.60, "Cahors"),
	dep("47", "Lot-et-Garonne", "75", 331, 44.37, 0.46, "Agen"),
	dep("48", "Lozère", "76", 76, 44.52, 3.50, "Mende"),
	dep("49", "Maine-et-Loire", "52", 818, 47.39, -0.56, "Angers", "Cholet 49300"),
	dep("50", "Manche", "28", 495, 49.08, -1.33, "Saint-Lô", "Cherbourg-en-Cotentin 50100"),
	dep("51", "Marne", "44", 566, 48.95, 4.24, "Châlons-en-Champagne", "Reims 51100"),
	dep("52", "Haute-Marne", "44", 172, 48.11, 5.23, "Chaumont"),
	dep("53", "Mayenne", "52", 307, 48.15, -0.66, "Laval"),
	dep("54", "Meurthe-et-Moselle", "44", 733, 48.79, 6.16, "Nancy", "Vandœuvre-lès-Nancy 54500"),
	dep("55", "Meuse", "44", 184, 49.01, 5.38, "Bar-le-Duc"),
	dep("56", "Morbihan", "53", 759, 47.85, -2.81, "Vannes", "Lorient 56100"),
	dep("57", "Moselle", "44", 1044, 49.04, 6.66, "Metz", "Thionville 57100", "Forbach 57600"),
	dep("58", "Nièvre", "27", 204, 47.12, 3.50, "Nevers"),
	dep("59", "Nord", "32", 2608, 50.45, 3.22, "Lille", "Roubaix 59100", "Tourcoing 59200", "Dunkerque 59140",
		"Valenciennes 59300", "Maubeuge 59600"),
	dep("60", "Oise", "32", 829, 49.41, 2.43, "Beauvais", "Creil 60100", "Compiègne 60200"),
	dep("61", "Orne", "28", 279, 48.62, 0.13, "Alençon"),
	dep("62", "Pas-de-Calais", "32", 1465, 50.49, 2.29, "Arras", "Lens 62300", "Calais 62100", "Boulogne-sur-Mer 62200"),
	dep("63", "Puy-de-Dôme", "84", 662, 45.72, 3.14, "Clermont-Ferrand"),
	dep("64", "Pyrénées-Atlantiques", "75", 682, 43.26, -0.76, "Pau", "Bayonne 64100"),
	dep("65", "Hautes-Pyrénées", "76", 229, 43.05, 0.16, "Tarbes"),
	dep("66", "Pyrénées-Orientales", "76", 479, 42.60, 2.52, "Perpignan"),
	dep("67", "Bas-Rhin", "44", 1140, 48.67, 7.55, "Strasbourg", "Haguenau 67500"),
	dep("68", "Haut-Rhin", "44", 764, 47.86, 7.27, "Colmar", "Mulhouse 68100"),
	dep("69", "Rhône", "84", 1876, 45.87, 4.64, "Lyon 69001", "Lyon 69007", "Lyon 69008", "Villeurbanne 69100",
		"Vénissieux 69200", "Vaulx-en-Velin 69120"),
	dep("70", "Haute-Saône", "27", 235, 47.64, 6.09, "Vesoul"),
	dep("71", "Saône-et-Loire", "27", 551, 46.65, 4.54, "Mâcon", "Chalon-sur-Saône 71100"),
	dep("72", "Sarthe", "52", 566, 47.99, 0.22, "Le Mans"),
	dep("73", "Savoie", "84", 436, 45.48, 6.44, "Chambéry"),
	dep("74", "Haute-Savoie", "84", 826, 46.03, 6.43, "Annecy", "Annemasse 74100"),
	dep("75", "Paris", "11", 2166, 48.86, 2.34, "Paris 75010", "Paris 75011", "Paris 75013", "Paris 75014",
		"Paris 75017", "Paris 75018", "Paris 75019", "Paris 75020", "Paris 75002", "Paris 75009"),
	dep("76", "Seine-Maritime", "28", 1255, 49.66, 1.03, "Rouen", "Le Havre 76600", "Dieppe 76200"),
	dep("77", "Seine-et-Marne", "11", 1421, 48.63, 2.93, "Melun", "Meaux 77100", "Torcy 77200", "Chelles 77500"),
	dep("78", "Yvelines", "11", 1448, 48.82, 1.84, "Versailles", "Mantes-la-Jolie 78200", "Trappes 78190",
		"Les Mureaux 78130"),
	dep("79", "Deux-Sèvres", "75", 375, 46.56, -0.32, "Niort"),
	dep("80", "Somme", "32", 570, 49.96, 2.28, "Amiens", "Abbeville 80100"),
	dep("81", "Tarn", "76", 389, 43.79, 2.17, "Albi", "Castres 81100"),
	dep("82", "Tarn-et-Garonne", "76", 260, 44.09, 1.28, "Montauban"),
	dep("83", "Var", "93", 1076, 43.46, 6.22, "Toulon", "Hyères 83400", "Fréjus 83600"),
	dep("84", "Vaucluse", "93", 561, 43.99, 5.19, "Avignon", "Carpentras 84200"),
	dep("85", "Vendée", "52", 685, 46.68, -1.30, "La Roche-sur-Yon"),
	dep("86", "Vienne", "75", 438, 46.56, 0.46, "Poitiers", "Châtellerault 86100"),
	dep("87", "Haute-Vienne", "75", 372, 45.89, 1.24, "Limoges"),
	dep("88", "Vosges", "44", 364, 48.20, 6.38, "Épinal"),
	dep("89", "Yonne", "27", 335, 47.84, 3.56, "Auxerre", "Sens 89100"),
	dep("90", "Territoire de Belfort", "27", 141, 47.63, 6.93, "Belfort"),
	dep("91", "Essonne", "11", 1301, 48.52, 2.24, "Évry-Courcouronnes", "Massy 91300", "Grigny 91350",
		"Corbeil-Essonnes 91100"),
	dep("92", "Hauts-de-Seine", "11", 1624, 48.84, 2.25, "Nanterre", "Boulogne-Billancourt 92100",
		"Gennevilliers 92230", "Colombes 92700", "Bagneux 92220"),
	dep("93", "Seine-Saint-Denis", "11", 1655, 48.91, 2.48, "Bobigny", "Saint-Denis 93200", "Aubervilliers 93300",
		"Montreuil 93100", "Pantin 93500", "Aulnay-sous-Bois 93600", "Clichy-sous-Bois 93390", "Saint-Ouen-sur-Seine 93400"),
	dep("94", "Val-de-Marne", "11", 1407, 48.78, 2.47, "Créteil", "Vitry-sur-Seine 94400", "Ivry-sur-Seine 94200",
		"Champigny-sur-Marne 94500"),
	dep("95", "Val-d'Oise", "11", 1249, 49.08, 2.13, "Cergy", "Argenteuil 95100", "Sarcelles 95200",
		"Garges-lès-Gonesse 95140"),
	dep("971", "Guadeloupe", "01", 384, 16.18, -61.55, "Basse-Terre 97100", "Pointe-à-Pitre 97110"),
	dep("972", "Martinique", "02", 361, 14.65, -61.02, "Fort-de-France 97200"),
	dep("973", "Guyane", "03", 286, 4.93, -52.33, "Cayenne 97300"),
	dep("974", "La Réunion", "04", 861, -21.13, 55.53, "Saint-Denis 97400", "Saint-Pierre 97410"),
	dep("976", "Mayotte", "06", 279, -12.78, 45.23, "Mamoudzou 97600"),
}

// dep builds a department; a commune written "Name 12345" carries its
// postcode, a bare name gets the department's main one (code + "000").
func dep(code, name, reg string, pop, lat, lon float64, communes ...string) department {
	d := department{code: code, name: name, region: reg, pop: pop, lat: lat, lon: lon}
	for _, c := range communes {
		n, pc := c, ""
		if i := strings.LastIndexByte(c, ' '); i > 0 && len(c)-i == 6 && c[i+1] >= '0' && c[i+1] <= '9' {
			n, pc = c[:i], c[i+1:]
		}
		if pc == "" {
			pc = code + "000"
		}
		d.communes = append(d.communes, commune{n, pc})
	}
	return d
}

// overseas says whether a department is outside metropolitan France.
func (d *department) overseas() bool { return len(d.code) == 3 }

var (
	deptIndex   = map[string]int{}
	regionIndex = map[string]int{}
)

func init() {
	for i, d := range departments {
		deptIndex[d.code] = i
	}
	for i, r := range regions {
		regionIndex[r.code] = i
	}
}

// slug returns the ASCII slug of a French name: "Provence-Alpes-Côte d'Azur"
// gives "provence-alpes-cote-d-azur".
func slug(s string) string {
	r := strings.NewReplacer("à", "a", "â", "a", "ä", "a", "ç", "c", "é", "e", "è", "e", "ê", "e", "ë", "e",
		"î", "i", "ï", "i", "ô", "o", "ö", "o", "ù", "u", "û", "u", "ü", "u", "œ", "oe", "ÿ", "y")
	s = r.Replace(strings.ToLower(s))
	var b strings.Builder
	dash := false
	for _, c := range s {
		if (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') {
			b.WriteRune(c)
			dash = false
		} else if !dash && b.Len() > 0 {
			b.WriteByte('-')
			dash = true
		}
	}
	return strings.TrimSuffix(b.String(), "-")
}

// qpv is a priority neighbourhood of the 2015 geography.
type qpv struct {
	code, name, dept string
	commune          commune
}

// The two neighbourhoods the research notes cite, kept under their real code.
var knownQPV = map[string]string{"QP093028": "Aubervilliers", "QP075019": "Paris 75020"}

// qpvs returns the demo QPV rows, by department in the order of departments:
// about 1,300, more than proportionally in populous departments, at least one
// per department. They do not depend on the options: they are reference data.
func qpvs() [][]qpv {
	const total = 1300
	sum := 0.0
	for _, d := range departments {
		sum += math.Pow(d.pop, 1.25)
	}
	out := make([][]qpv, len(departments))
	for i := range departments {
		d := &departments[i]
		n := max(1, int(math.Round(total*math.Pow(d.pop, 1.25)/sum)))
		switch d.code { // the real counts of the two cited departments
		case "75":
			n = 20
		case "93":
			n = 63
		}
		code3 := strings.Repeat("0", 3-len(d.code)) + d.code // as lpad(code, 3, '0'): 093, 02A, 971
		for k := 1; k <= n; k++ {
			code := fmt.Sprintf("QP%s%03d", code3, k)
			c := d.communes[(k-1)%len(d.communes)]
			if want, ok := knownQPV[code]; ok {
				c = d.communeNamed(want)
			}
			name := fmt.Sprintf("Quartier prioritaire %03d (%s)", k, d.name)
			out[i] = append(out[i], qpv{code: code, name: name, dept: d.code, commune: c})
		}
	}
	return out
}

// communeNamed finds a commune of d by name or by "Name postcode".
func (d *department) communeNamed(s string) commune {
	for _, c := range d.communes {
		if c.name == s || c.name+" "+c.postcode == s {
			return c
		}
	}
	panic("seed: no commune " + s + " in " + d.code)
}

// communeLabel is how a QPV's commune is written: Paris by arrondissement.
func (c commune) label() string {
	if c.name == "Paris" {
		n := c.postcode[3:]
		if n == "01" {
			return "Paris 1er Arrondissement"
		}
		return "Paris " + strings.TrimPrefix(n, "0") + "e Arrondissement"
	}
	return c.name
}
