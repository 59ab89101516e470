//! Compiles the XDP program and generates its libbpf-rs skeleton.

use std::env;
use std::path::PathBuf;

use libbpf_cargo::SkeletonBuilder;

const SRC: &str = "bpf/synwave.bpf.c";

fn main() {
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let arch = env::var("CARGO_CFG_TARGET_ARCH").expect("cargo sets CARGO_CFG_TARGET_ARCH");
    // <linux/types.h> pulls in <asm/types.h>, which Debian keeps under the
    // multiarch triple; clang -target bpf does not search there by itself.
    let multiarch = match arch.as_str() {
        "x86_64" => "x86_64-linux-gnu",
        "aarch64" => "aarch64-linux-gnu",
        other => panic!("unsupported target arch for the BPF build: {other}"),
    };
    SkeletonBuilder::new()
        .source(SRC)
        .obj(out.join("synwave.bpf.o"))
        .clang_args([
            "-O2".to_string(),
            "-Wall".to_string(),
            format!("-I/usr/include/{multiarch}"),
        ])
        .build_and_generate(out.join("synwave.skel.rs"))
        .expect("failed to build the XDP program (bpf/synwave.bpf.c)");
    println!("cargo:rerun-if-changed={SRC}");
    git_revision();
}

/// `synwave --version` names the commit it was built from, so that a figure
/// can be traced to the code that produced it; "unknown" outside a checkout.
fn git_revision() {
    let git = |args: &[&str]| {
        std::process::Command::new("git")
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    let rev = git(&["rev-parse", "--short=12", "HEAD"]).unwrap_or_else(|| "unknown".into());
    let dirty =
        git(&["status", "--porcelain", "--untracked-files=no"]).is_some_and(|s| !s.is_empty());
    let suffix = if dirty { "-dirty" } else { "" };
    println!("cargo:rustc-env=SYNWAVE_GIT_REV={rev}{suffix}");
    if let Some(head) = git(&["rev-parse", "--git-path", "HEAD"]) {
        println!("cargo:rerun-if-changed={head}");
    }
    if let Some(index) = git(&["rev-parse", "--git-path", "index"]) {
        println!("cargo:rerun-if-changed={index}");
    }
}
