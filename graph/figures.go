package graph

import (
	"github.com/gen-hub/genhub/graph/model"
	"github.com/gen-hub/genhub/internal/store"
)

func share(n, d int) float64 {
	if d == 0 {
		return 0
	}
	return float64(n) / float64(d)
}

// keyFigures turns the national counts into the public key figures and the
// progress against the targets, at their due date and today.
func keyFigures(f *store.NationalFigures) *model.KeyFigures {
	var all, due store.YearFigures
	formations, formationsDue := 0, 0
	dueYear := 2017
	if len(f.Targets) > 0 {
		dueYear = f.Targets[0].DueOn.Year()
	}
	kf := &model.KeyFigures{ListedFormations: f.Listed, ActiveFormations: f.Active, ByYear: []*model.YearFigures{}}
	for _, y := range f.Years {
		add(&all, y)
		formations += y.FormationsLabelled
		if y.Year <= dueYear {
			add(&due, y)
			formationsDue += y.FormationsLabelled
		}
		kf.ByYear = append(kf.ByYear, &model.YearFigures{
			Year: y.Year, Learners: y.Learners, FormationsLabelled: y.FormationsLabelled,
			WomenShare:                 share(y.Women, y.Learners),
			LowQualifiedNeetYouthShare: share(y.LowQualifiedNeetYouth, y.Learners),
			QpvShare:                   share(y.QpvResidents, y.Learners),
		})
	}
	kf.Learners = all.Learners
	kf.WomenShare = share(all.Women, all.Learners)
	kf.NeetShare = share(all.Neet, all.Learners)
	kf.LowQualifiedShare = share(all.LowQualified, all.Learners)
	kf.LowQualifiedNeetYouthShare = share(all.LowQualifiedNeetYouth, all.Learners)
	kf.QpvShare = share(all.QpvResidents, all.Learners)
	kf.PositiveExitShareM3 = share(all.M3Positive, all.M3Measured)
	kf.Targets = []*model.TargetProgress{}
	for _, t := range f.Targets {
		tp := &model.TargetProgress{Code: t.Code, Label: t.Label, Target: t.Value, DueOn: t.DueOn}
		switch t.Code {
		case "fabriques":
			tp.AtDueDate, tp.Current = float64(formationsDue), float64(formations)
		case "learners":
			tp.AtDueDate, tp.Current = float64(due.Learners), float64(all.Learners)
		case "low_qualified_neet_share":
			tp.AtDueDate, tp.Current = share(due.LowQualifiedNeetYouth, due.Learners), kf.LowQualifiedNeetYouthShare
		case "women_share":
			tp.AtDueDate, tp.Current = share(due.Women, due.Learners), kf.WomenShare
		default:
			continue
		}
		kf.Targets = append(kf.Targets, tp)
	}
	return kf
}

func add(a *store.YearFigures, y store.YearFigures) {
	a.Learners += y.Learners
	a.Women += y.Women
	a.Neet += y.Neet
	a.LowQualified += y.LowQualified
	a.LowQualifiedNeetYouth += y.LowQualifiedNeetYouth
	a.QpvResidents += y.QpvResidents
	a.Completed += y.Completed
	a.Finished += y.Finished
	a.M3Measured += y.M3Measured
	a.M3Positive += y.M3Positive
}
