#!/usr/bin/env bash
# Installs what synwave needs to build and run on Debian 12 (idempotent),
# and the packages named as arguments besides (what one bench needs and
# the tests do not: benches/soak.sh's nftables).
# Needs root for apt-get; skips packages that are already there.
# Usage: deploy/setup.sh [PACKAGE...]
set -euo pipefail
# nginx and wrk: the kernel baselines the tests and benches compare against.
# python3-venv: deploy/k8s/validate.sh installs its checkers from PyPI into a
# virtual environment (Debian 12's Python refuses system-wide pip, PEP 668).
# python3-prometheus-client: the Prometheus client parser tests/prometheus.rs
# reads --metrics text with.
packages=(clang llvm libelf-dev zlib1g-dev pkg-config m4 libbpf-dev bpftool ethtool tcpdump iproute2 nginx-light wrk python3-venv python3-prometheus-client "$@")
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
    if [[ $(id -u) -ne 0 ]]; then
        echo "synwave: missing packages (${missing[*]}); run as root or: apt-get install ${missing[*]}" >&2
        exit 1
    fi
    echo "synwave: installing ${missing[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "${missing[@]}" >/dev/null
fi
if ! command -v cargo >/dev/null; then
    echo "synwave: no Rust toolchain; install one with rustup (https://rustup.rs), then run this again" >&2
    exit 1
fi
