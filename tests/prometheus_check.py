"""Reads Prometheus text on stdin with the Prometheus Python client's own
parser (prometheus_client, Debian's python3-prometheus-client) and checks
the conventions synwave promises (README "Prometheus"): counters end in
_total, latency histograms have the bucket bounds given as arguments (in
seconds, then +Inf), cumulative, with +Inf equal to _count, and every
series has a segment label (and a worker label unless it is per
interface). Prints each family's type and the sum of its samples over all
label sets as JSON (for a histogram: its _count and each bucket), or the
first violation on stderr with exit status 1."""

import json
import sys

from prometheus_client.parser import text_string_to_metric_families

bounds = [float(b) for b in sys.argv[1:]] + [float("inf")]
text = sys.stdin.read()
out = {}
problems = []
# The parser names a counter's family without _total, whatever the text
# said: check the text's own TYPE lines.
for line in text.splitlines():
    words = line.split()
    if words[:2] == ["#", "TYPE"] and words[3:] == ["counter"] and not words[2].endswith("_total"):
        problems.append(f"{words[2]}: a counter not named _total")
for fam in text_string_to_metric_families(text):
    if fam.type not in ("counter", "gauge", "histogram"):
        problems.append(f"{fam.name}: type {fam.type}")
    entry = {"type": fam.type, "total": 0.0}
    series = {}
    for s in fam.samples:
        labels = dict(s.labels)
        if "segment" not in labels:
            problems.append(f"{s.name}: no segment label")
        if "worker" not in labels and not fam.name.startswith("synwave_xdp_"):
            problems.append(f"{s.name}: no worker label")
        if fam.type != "histogram":
            entry["total"] += s.value
            continue
        le = labels.pop("le", None)
        key = tuple(sorted(labels.items()))
        h = series.setdefault(key, {"buckets": [], "count": None, "sum": None})
        if s.name.endswith("_bucket"):
            h["buckets"].append((float(le), s.value))
        elif s.name.endswith("_count"):
            h["count"] = s.value
        elif s.name.endswith("_sum"):
            h["sum"] = s.value
    if fam.type == "histogram":
        if not fam.name.endswith("_seconds"):
            problems.append(f"{fam.name}: a histogram not in seconds")
        buckets = [0.0] * len(bounds)
        for key, h in series.items():
            les = [b for b, _ in h["buckets"]]
            counts = [c for _, c in h["buckets"]]
            if les != bounds:
                problems.append(f"{fam.name}{key}: bounds {les}")
                continue
            if any(a > b for a, b in zip(counts, counts[1:])):
                problems.append(f"{fam.name}{key}: buckets not cumulative {counts}")
            if h["count"] != counts[-1] or h["sum"] is None:
                problems.append(f"{fam.name}{key}: _count {h['count']} vs +Inf {counts[-1]}, _sum {h['sum']}")
            entry["total"] += counts[-1]
            buckets = [a + b for a, b in zip(buckets, counts)]
        entry["buckets"] = buckets
    out[fam.name] = entry
if problems:
    print("prometheus_check: " + "; ".join(problems[:5]), file=sys.stderr)
    sys.exit(1)
print(json.dumps(out))
