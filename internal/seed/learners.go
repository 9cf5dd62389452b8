package seed

import (
	"fmt"
	"math/rand/v2"
	"time"
)

// learner is one pseudonymised enrolment with what followed it.
type learner struct {
	ref                   string
	enrolled              time.Time
	sex, age, qual, prior string
	qpv                   bool
	completion            string
	cert                  any // nil, or whether the certification was obtained
	m3, m6                outcome
	aid                   *aid
}

type outcome struct {
	situation string // "" when none was recorded
	on        time.Time
}

type aid struct {
	submitted, decided, confirmed time.Time // decided, confirmed: zero when null
	status, reason                string
	scaleFrom                     time.Time
	echelon                       string
	amount                        string
	months                        int
}

// The learner aid was created by décret 2017-548, in force on 16 April 2017.
var aidStart = date(2017, 4, 16)

var (
	ageBands = []choice[string]{{"under_26", 46}, {"from_26_to_30", 20}, {"from_31_to_49", 28}, {"from_50", 6}}
	// Three in five young learners are at bac level or below; fewer of their elders.
	qualYoung = []choice[string]{{"none", 15}, {"infra_bac", 20}, {"bac", 31}, {"bac_plus_2", 20}, {"bac_plus_3", 14}}
	qualOlder = []choice[string]{{"none", 9}, {"infra_bac", 12}, {"bac", 25}, {"bac_plus_2", 31}, {"bac_plus_3", 23}}
	// NEET is a status of young people only.
	priorYoung = []choice[string]{{"neet", 87}, {"job_seeker", 6}, {"student", 4}, {"other", 3}}
	priorOlder = []choice[string]{{"job_seeker", 69}, {"employed", 21}, {"other", 10}}
	echelons   = []choice[string]{{"0bis", 15}, {"1", 12}, {"2", 10}, {"3", 10}, {"4", 10}, {"5", 13}, {"6", 15}, {"7", 15}}
	refusals   = []choice[string]{{"over_income", 35}, {"cumul_bcs", 10}, {"pe_allowance", 30},
		{"work_study_contract", 10}, {"cif", 5}, {"other", 10}}
)

// Situations three months after the end: 74 % positive overall, of which 45
// points in employment, 19 in further training and 10 in business creation.
var (
	positive = []choice[string]{{"cdi", 14}, {"cdd_6m_plus", 9}, {"cdd_under_6m", 7}, {"interim", 3},
		{"apprenticeship", 7}, {"professionalisation", 5}, {"further_training", 19}, {"business_creation", 10}}
	negative = []choice[string]{{"job_seeking", 18}, {"inactive", 4}, {"unknown", 4}}
)

func isPositive(s string) bool {
	for _, c := range positive {
		if c.v == s {
			return true
		}
	}
	return false
}

// The CROUS aid scale (hub.aid_scale): the amount follows from the scale in
// force when the aid was decided and the échelon.
var (
	scale2015 = date(2015, 7, 15)
	scale2020 = date(2020, 7, 22)
	amounts   = map[string][2]string{
		"0bis": {"100.80", "103.20"}, "1": {"166.70", "170.70"}, "2": {"251.00", "257.10"},
		"3": {"321.50", "329.20"}, "4": {"392.00", "401.50"}, "5": {"450.00", "461.00"},
		"6": {"477.30", "488.90"}, "7": {"554.50", "567.90"},
	}
)

// learners generates the learners of a session into buf. Its generator is
// the session's own, so every pass over the sessions (one per table) sees the
// same learners.
func (n *network) learners(s *session, buf []learner) []learner {
	r := newRand(n.seed, partSession, uint64(s.id))
	f := s.f
	buf = buf[:0]
	finished := s.end.Before(ref)
	for range s.learners {
		var l learner
		for {
			l.ref = fmt.Sprintf("L%012x", r.Uint64()>>16)
			dup := false
			for i := range buf {
				dup = dup || buf[i].ref == l.ref
			}
			if !dup {
				break
			}
		}
		l.enrolled = days(s.start, -between(r, 0, 40))
		if l.enrolled.After(ref) {
			l.enrolled = days(ref, -between(r, 0, 20))
		}
		l.sex = "male"
		if chance(r, f.women) {
			l.sex = "female"
		}
		l.age = pick(r, ageBands)
		if l.age == "under_26" {
			l.qual, l.prior = pick(r, qualYoung), pick(r, priorYoung)
		} else {
			l.qual, l.prior = pick(r, qualOlder), pick(r, priorOlder)
		}
		l.qpv = chance(r, f.qpvShare)
		l.completion = "ongoing"
		if finished {
			l.completion = "completed"
			if chance(r, f.dropout) {
				l.completion = "dropped_out"
			}
		}
		if f.certCode != "" && finished {
			l.cert = l.completion == "completed" && chance(r, f.certRate)
		}
		if finished {
			n.outcomes(r, s, &l)
		}
		if !s.start.Before(aidStart) && chance(r, 0.09) {
			l.aid = n.application(r, s, &l)
		}
		buf = append(buf, l)
	}
	return buf
}

// outcomes records where a finished learner stands 3 and 6 months after the
// end, for those who answered (about 80 % and 65 %).
func (n *network) outcomes(r *rand.Rand, s *session, l *learner) {
	p := 0.80 // completed learners do better than those who dropped out
	if l.completion == "dropped_out" {
		p = 0.56
	}
	at3, at6 := addMonths(s.end, 3), addMonths(s.end, 6)
	answered3, answered6 := chance(r, 0.80), chance(r, 0.65)
	s3 := situation(r, p)
	s6 := s3
	switch {
	case isPositive(s3) && chance(r, 0.15), !isPositive(s3) && chance(r, 0.35):
		s6 = situation(r, p+0.05)
	}
	lag3, lag6 := between(r, 0, 40), between(r, 0, 40)
	if answered3 && !at3.After(ref) {
		l.m3 = outcome{s3, minDate(days(at3, lag3), ref)}
	}
	if answered6 && !at6.After(ref) {
		l.m6 = outcome{s6, minDate(days(at6, lag6), ref)}
	}
}

func situation(r *rand.Rand, p float64) string {
	if chance(r, p) {
		return pick(r, positive)
	}
	return pick(r, negative)
}

// application is a learner's request for the CROUS aid, filed once the
// training has started, with the CROUS of the formation's department.
func (n *network) application(r *rand.Rand, s *session, l *learner) *aid {
	a := &aid{submitted: days(s.start, between(r, 3, 45))}
	decided := days(a.submitted, between(r, 7, 60))
	confirmed := days(a.submitted, between(r, 1, 21))
	confirm := chance(r, 0.92)
	rejected, suspended := chance(r, 0.20), chance(r, 0.03)
	a.reason = pick(r, refusals)
	a.echelon = pick(r, echelons)
	a.months = max(1, min(10, s.f.months)-between(r, 0, 2))
	if l.completion == "dropped_out" && chance(r, 0.15) {
		suspended = true
	}
	if a.submitted.After(ref) {
		return nil
	}
	if confirm && !confirmed.After(ref) {
		a.confirmed = confirmed
	}
	switch {
	case decided.After(ref):
		a.status, a.reason = "submitted", ""
		return a
	case rejected:
		a.status = "rejected"
	case suspended:
		a.status = "suspended"
	case addMonths(decided, a.months).After(ref): // still being paid
		a.status = "granted"
	default:
		a.status = "paid"
	}
	a.decided = decided
	if a.status == "rejected" {
		return a
	}
	a.reason = ""
	a.scaleFrom, a.amount = scale2015, amounts[a.echelon][0]
	if !decided.Before(scale2020) {
		a.scaleFrom, a.amount = scale2020, amounts[a.echelon][1]
	}
	return a
}
