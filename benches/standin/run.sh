#!/usr/bin/env bash
# The first apply of a project against the Python stand-in (descope_standin.py), timed.
#
#   benches/standin/run.sh [DMGMT] [PROJECT] [RUNS]
#
#   DMGMT    the dmgmt binary to time (default: target/release/dmgmt of this repository)
#   PROJECT  a project folder holding environments/bench.yaml and the templates it names, whose
#            YAML reads `${env.BENCH_URL}` and `${env.BENCH_KEY}` (default: /tmp/dmgmt-bench-project,
#            written by `BENCH_DIR=/tmp/dmgmt-bench-project cargo bench --bench plan`: the 10k
#            project, 10,000 tenants, 1,000 roles, 200 permissions, 50 flows)
#   RUNS     how many first applies (default 5)
#
# Each run: a fresh copy of PROJECT's environments/ (no state/), a fresh stand-in seeded from it
# (every object as declared, 100 tenants under another name), then `/usr/bin/time dmgmt apply -e
# bench --auto-approve`, the calls the stand-in served, and `plan --detailed-exitcode`, which must
# exit 0 (converged). Prints each run and the median wall time. Needs python3 (3.11) and
# /usr/bin/time (apt-get install time).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
dmgmt=${1:-$here/../../target/release/dmgmt}
project=${2:-/tmp/dmgmt-bench-project}
runs=${3:-5}
[ -x "$dmgmt" ] || { echo "run.sh: no dmgmt binary at $dmgmt (cargo build --release)" >&2; exit 2; }
[ -f "$project/environments/bench.yaml" ] || { echo "run.sh: no $project/environments/bench.yaml (BENCH_DIR=$project cargo bench --bench plan writes one)" >&2; exit 2; }
# An obviously fake key: the stand-in accepts exactly this one, and it is nobody's secret.
export BENCH_KEY=K2standinFAKEkeyNOTaSECRET000000000000
export NO_COLOR=1
work=$(mktemp -d)
standin=""
stop() { if [ -n "$standin" ]; then kill "$standin" 2>/dev/null || true; wait "$standin" 2>/dev/null || true; standin=""; fi; }
trap 'stop; rm -rf "$work"' EXIT

walls=()
for run in $(seq "$runs"); do
    dir=$work/run$run
    mkdir -p "$dir/project"
    cp -r "$project/environments" "$dir/project/"
    python3 "$here/descope_standin.py" --seed-from "$dir/project" --log "$dir/calls.jsonl" \
        >"$dir/url" 2>"$dir/standin.err" &
    standin=$!
    for _ in $(seq 600); do   # until the URL line is written (seeding takes a few seconds)
        [ -s "$dir/url" ] && break
        kill -0 "$standin" 2>/dev/null || { cat "$dir/standin.err" >&2; exit 1; }
        sleep 0.05
    done
    export BENCH_URL=$(head -n1 "$dir/url")
    [ -n "$BENCH_URL" ] || { echo "run.sh: the stand-in printed no URL" >&2; exit 1; }
    if ! /usr/bin/time -o "$dir/time" -f '%e s wall %U+%S s CPU %M KB' \
        "$dmgmt" --dir "$dir/project" apply -e bench --auto-approve >"$dir/apply.out" 2>"$dir/apply.err"; then
        echo "run $run: apply failed:" >&2
        tail -n 20 "$dir/apply.err" >&2
        exit 1
    fi
    # Calls served; changing ones by the apply bench's rule (not GET, not a list, search or export).
    read -r served mutating failed < <(python3 -c 'import json, sys
calls = [json.loads(l) for l in open(sys.argv[1])]
reads = ("/all", "/search", "/list", "/export", "/load")
print(len(calls), sum(c["method"] != "GET" and not any(r in c["path"] for r in reads) for c in calls),
      sum(not 200 <= c["status"] < 300 for c in calls))' "$dir/calls.jsonl")
    plan_code=0
    "$dmgmt" --dir "$dir/project" plan -e bench --detailed-exitcode >"$dir/plan.out" 2>&1 || plan_code=$?
    stop
    summary=$(grep -E '^Plan:' "$dir/apply.out" | head -n1)
    echo "run $run: $(cat "$dir/time") | $served calls served ($mutating changing, $failed not 2xx) | plan after: exit $plan_code | $summary"
    [ "$plan_code" = 0 ] || { echo "run $run: not converged:" >&2; tail -n 20 "$dir/plan.out" >&2; exit 1; }
    walls+=("$(cut -d' ' -f1 "$dir/time")")
done
sorted=$(printf '%s\n' "${walls[@]}" | sort -n)
median=$(echo "$sorted" | sed -n "$(( (runs + 1) / 2 ))p")
echo "first apply, $runs runs: median $median s wall; all: $(echo "${walls[@]}" | tr ' ' ',' | sed 's/,/ s, /g') s"
echo "machine: $(nproc) cores, $(uname -sr), $(python3 --version), $(date -u +%Y-%m-%d)"
