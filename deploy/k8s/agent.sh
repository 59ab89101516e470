#!/usr/bin/env bash
# The entry point of a load agent, in a pod of the Indexed Job
# (deploy/k8s/agents.yaml) and in tests/many_machines.rs alike: maps the
# Job's JOB_COMPLETION_INDEX and the test's parameters (environment, from
# the ConfigMap in deploy/k8s/params.yaml, or a file of KEY=VALUE lines
# named by SYNWAVE_PARAMS) to one segment of the test:
#
#   synwave load --segment $JOB_COMPLETION_INDEX/$SYNWAVE_SEGMENTS --wait-for-start \
#       --metrics $SYNWAVE_CONTROL --json ...
#
# It prepares (attaches, resolves the next hop, fills the maps), says
# ready on GET /ready, waits for `synwave start` to POST /start, runs its
# share, and prints the JSON result on stdout as one line, so that
# `kubectl logs -l job-name=synwave-agent --tail=-1 | synwave merge -`
# adds the segments up.
#
# Parameters (required: SYNWAVE_TARGET, SYNWAVE_SEGMENTS, SYNWAVE_IFACE;
# and at least one of SYNWAVE_RATE and SYNWAVE_CONCURRENCY):
#   SYNWAVE_TARGET       ADDR:PORT to load
#   SYNWAVE_SEGMENTS     N, the number of agents (the Job's completions)
#   SYNWAVE_IFACE        the NIC (or VF) this agent attaches XDP to
#   SYNWAVE_RATE         the whole test's connections per second
#   SYNWAVE_CONCURRENCY  the whole test's connections open at once
#   SYNWAVE_DURATION     how long (default 10s)
#   SYNWAVE_SRC          a source range shared by all agents, split by address
#   SYNWAVE_WORKERS      workers, one per receive queue (default 1)
#   SYNWAVE_CONTROL      the control and metrics port (default 0.0.0.0:9464)
#   SYNWAVE_LINGER       --metrics-linger (default 15s)
#   SYNWAVE_EXTRA        more `synwave load` flags, split at blanks
#   SYNWAVE_BIN          the binary (default: synwave on PATH)
set -euo pipefail
if [[ -n "${SYNWAVE_PARAMS:-}" ]]; then
    # shellcheck source=/dev/null
    source "$SYNWAVE_PARAMS"
fi
fail() { echo "synwave-agent: $*" >&2; exit 2; }
[[ "${JOB_COMPLETION_INDEX:-}" =~ ^[0-9]+$ ]] || fail "JOB_COMPLETION_INDEX must be set to this agent's index (0..N-1); Kubernetes sets it in an Indexed Job"
for v in SYNWAVE_TARGET SYNWAVE_SEGMENTS SYNWAVE_IFACE; do
    [[ -n "${!v:-}" ]] || fail "$v must be set (see deploy/k8s/params.yaml)"
done
[[ -n "${SYNWAVE_RATE:-}${SYNWAVE_CONCURRENCY:-}" ]] || fail "set SYNWAVE_RATE or SYNWAVE_CONCURRENCY (see deploy/k8s/params.yaml)"
args=(load --iface "$SYNWAVE_IFACE" --target "$SYNWAVE_TARGET"
    --segment "$JOB_COMPLETION_INDEX/$SYNWAVE_SEGMENTS"
    --duration "${SYNWAVE_DURATION:-10s}" --workers "${SYNWAVE_WORKERS:-1}"
    --wait-for-start --metrics "${SYNWAVE_CONTROL:-0.0.0.0:9464}"
    --metrics-linger "${SYNWAVE_LINGER:-15s}" --json)
[[ -z "${SYNWAVE_RATE:-}" ]] || args+=(--rate "$SYNWAVE_RATE")
[[ -z "${SYNWAVE_CONCURRENCY:-}" ]] || args+=(--concurrency "$SYNWAVE_CONCURRENCY")
[[ -z "${SYNWAVE_SRC:-}" ]] || args+=(--src "$SYNWAVE_SRC")
# shellcheck disable=SC2206
[[ -z "${SYNWAVE_EXTRA:-}" ]] || args+=($SYNWAVE_EXTRA)
echo "synwave-agent: ${SYNWAVE_BIN:-synwave} ${args[*]}" >&2
exec "${SYNWAVE_BIN:-synwave}" "${args[@]}"
