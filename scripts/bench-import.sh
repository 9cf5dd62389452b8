#!/bin/sh
# Measures `genhub import enrolments` on N generated rows (default 1,000,000)
# as a training organisation, against the hub's database (DATABASE_URL, or the
# embedded cluster, started with its demo data when missing): rows per second
# and the importer's peak resident memory. The rows are new learners spread
# over the organisation's sessions; run it twice and the second run corrects
# nothing (the same pseudonyms, unchanged).
#
#   scripts/bench-import.sh [N]        AS=<partner slug> to import as another organisation
set -eu
N=${1:-1000000}
AS=${AS:-org-code-academie-lille}
BIN=./bin/genhub
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

go build -o "$BIN" ./cmd/genhub
if [ -z "${DATABASE_URL:-}" ]; then
	# Keep the embedded cluster up for the whole run (a hub serving on a free
	# port), so that the importer's memory is its own, not a starting server's.
	$BIN serve -listen 127.0.0.1:0 > "$WORK/serve.log" 2>&1 &
	SERVE=$!
	trap 'kill $SERVE; wait $SERVE || true; rm -rf "$WORK"' EXIT
	until grep -q "GEN Data Hub ready" "$WORK/serve.log"; do
		kill -0 $SERVE 2>/dev/null || { cat "$WORK/serve.log" >&2; exit 1; }
		sleep 1
	done
else
	$BIN migrate
	$BIN seed 2>/dev/null || true   # loads the demo data into an empty database only
fi

# The organisation's sessions (id, first day): its enrolments name them.
$BIN export enrolments -as "$AS" 2>/dev/null | awk -F, 'NR > 1 { print $2 }' | sort -u > "$WORK/own"
$BIN export sessions -as "$AS" 2>/dev/null |
	awk -F, 'NR == FNR { own[$1] = 1; next } FNR > 1 && ($1 in own) { print $1 "," $3 }' "$WORK/own" - > "$WORK/sessions"
echo "$(wc -l < "$WORK/sessions") sessions of $AS; generating $N rows" >&2

RUN=$(date +%s)
awk -F, -v n="$N" -v run="$RUN" -v today="$(date +%F)" '
	BEGIN { c = 0 }
	{ id[c] = $1; day[c] = ($2 < today ? $2 : today); c++ }  # nobody enrols in the future
	END {
		split("female male", sex, " "); split("under_26 from_26_to_30 from_31_to_49", age, " ")
		split("none infra_bac bac bac_plus_2", qual, " "); split("neet job_seeker other", prior, " ")
		split("completed dropped_out ongoing", done, " ")
		print "session_id,learner_ref,enrolled_on,sex,age_band,qualification,prior_situation,qpv_resident,completion,certification_obtained"
		for (i = 0; i < n; i++) {
			s = i % c
			printf "%s,B%s-%09d,%s,%s,%s,%s,%s,%s,%s,\n", id[s], run, i, day[s], sex[i % 2 + 1], age[i % 3 + 1],
				qual[i % 4 + 1], prior[i % 3 + 1], (i % 5 == 0 ? "true" : "false"), done[i % 3 + 1]
		}
	}' "$WORK/sessions" > "$WORK/enrolments.csv"
ls -l "$WORK/enrolments.csv" >&2

# -stats prints rows/s and the importer's peak resident memory (VmHWM).
status=0
/usr/bin/time -f "wall %e s, importer peak RSS %M kB" \
	$BIN import enrolments -as "$AS" -stats "$WORK/enrolments.csv" > "$WORK/report.json" || status=$?
grep -E '"(lines|applied|inserted|updated|unchanged|rejected)"' "$WORK/report.json" >&2
grep -m 3 -A 1 '"field"' "$WORK/report.json" >&2 || true
exit $status
