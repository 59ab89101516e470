#!/usr/bin/env bash
# This checkout's engine against an earlier commit's, on a noisy machine:
# builds REV's lifecycle or scale bench from `git archive` (under
# target/compare, kept for the next run), runs the two binaries by turns
# RUNS times, which goes first alternating, and prints per figure the
# median of the runs' new / old ratios beside each side's median. Where
# absolute figures move by tens of percent from run to run, that ratio
# is what stays put. Nothing else should run meanwhile (a build least of
# all: it takes the other core).
#   lifecycle: lifecycles a second at 50 k records, new / old (above 1 is faster)
#   scale:     ns a lifecycle at each size, new / old (below 1 is faster);
#              ARGS go to the scale bench (default --secs 2: 50 k, 1 M, 10 M)
# Usage: benches/compare.sh REV lifecycle|scale [RUNS=8] [ARGS...]
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
usage="usage: benches/compare.sh REV lifecycle|scale [RUNS=8] [ARGS...]"
(($# >= 2)) || { echo "$usage" >&2; exit 2; }
rev=$1 bench=$2 runs=${3:-8}
shift $(($# < 3 ? $# : 3))
case $bench in
    lifecycle | scale) ;;
    *) echo "compare: the bench is lifecycle or scale, not '$bench'" >&2; echo "$usage" >&2; exit 2 ;;
esac
[[ $runs =~ ^[1-9][0-9]*$ ]] || { echo "compare: RUNS is a count, not '$runs'" >&2; exit 2; }
sha=$(git rev-parse --verify --quiet "$rev^{commit}") || { echo "compare: no commit '$rev' here" >&2; exit 2; }
args=("$@")
[[ $bench == scale && ${#args[@]} -eq 0 ]] && args=(--secs 2)

# The bench's executable as built in directory $1 (target dir $2).
executable() {
    (cd "$1" && CARGO_TARGET_DIR=$2 cargo bench --bench "$bench" --no-run --message-format=json 2>/dev/null) |
        sed -n "s/.*\"executable\":\"\([^\"]*\/$bench-[^\"]*\)\".*/\1/p" | tail -1
}
echo "compare: building $bench here and at ${sha:0:7}" >&2
new=$(executable . "$PWD/target")
tree=$PWD/target/compare/$sha
if [[ ! -e $tree/Cargo.toml ]]; then
    mkdir -p "$tree"
    git archive "$sha" | tar -x -C "$tree"
fi
old=$(executable "$tree" "$PWD/target/compare/target")
[[ -x $new && -x $old ]] || { echo "compare: a bench did not build (run cargo bench --bench $bench --no-run here and in $tree)" >&2; exit 1; }

# One run of side $1 as lines "SIDE FIGURE VALUE".
run() {
    local side=$1 bin
    [[ $side == old ]] && bin=$old || bin=$new
    if [[ $bench == lifecycle ]]; then
        # A filter no criterion benchmark matches: only the summary runs.
        "$bin" --bench summary-only 2>/dev/null | awk -v s="$side" '
            /handshake \+ teardown:/ { print s, "handshake+teardown", $NF }
            /request\/response \+ teardown:/ { print s, "with-request/response", $NF }'
    else
        "$bin" "${args[@]}" 2>/dev/null | awk -v s="$side" '$1 ~ /^[0-9]+$/ && NF >= 5 { print s, $1 "-records-ns", $2 }'
    fi
}
out=$(mktemp)
trap 'rm -f "$out"' EXIT
for ((i = 1; i <= runs; i++)); do
    order=(old new)
    ((i % 2)) || order=(new old)
    for side in "${order[@]}"; do
        run "$side" | sed "s/^/$i /" >> "$out"
    done
    echo "compare: run $i of $runs done" >&2
done
[[ -s $out ]] || { echo "compare: the benches printed no figures" >&2; exit 1; }
echo "$bench: this checkout ($(git rev-parse --short HEAD)$(git diff --quiet HEAD -- src benches Cargo.toml Cargo.lock || echo ', with changes')) against ${sha:0:7}, $runs runs by turns"
# Medians in plain awk (Debian's mawk has no sort).
awk '
    function median(a, n,    i, j, t) {
        for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
        return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
    }
    { v[$1, $2, $3] = $4; if (!($3 in seen)) { seen[$3] = 1; order[++figures] = $3 } runs[$1] = 1 }
    END {
        printf "%-28s %12s %12s %10s %6s\n", "figure", "old median", "new median", "new/old", "runs"
        for (f = 1; f <= figures; f++) {
            fig = order[f]; n = 0; no = 0; nn = 0
            for (r in runs) {
                if ((r, "old", fig) in v) o[++no] = v[r, "old", fig]
                if ((r, "new", fig) in v) w[++nn] = v[r, "new", fig]
                if ((r, "old", fig) in v && (r, "new", fig) in v) q[++n] = v[r, "new", fig] / v[r, "old", fig]
            }
            if (n) printf "%-28s %12.1f %12.1f %10.3f %6d\n", fig, median(o, no), median(w, nn), median(q, n), n
        }
    }' "$out"
