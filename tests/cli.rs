//! The command line as a user meets it before any run, no root needed:
//! `--version` names the commit, shell completions and the manual page are
//! generated from the same definition as `--help`, and the flags users of
//! wrk, wrk2 and h2load type are there.

use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_synwave");

fn stdout_of(args: &[&str]) -> String {
    let out = Command::new(BIN).args(args).output().expect("synwave runs");
    assert!(out.status.success(), "synwave {args:?}: {out:?}");
    String::from_utf8(out.stdout).expect("UTF-8 output")
}

#[test]
fn version_names_the_git_revision() {
    let v = stdout_of(&["--version"]);
    assert!(v.starts_with("synwave "), "{v}");
    assert!(v.contains("(git "), "{v}");
}

#[test]
fn completions_and_man_page_cover_every_subcommand() {
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let script = stdout_of(&["completions", shell]);
        for needle in ["load", "latency", "find-max", "stages"] {
            assert!(script.contains(needle), "{shell} completions lack {needle}");
        }
    }
    let man = stdout_of(&["man"]);
    assert!(man.contains(".TH synwave 1"), "{man}");
    for sub in ["serve", "connect", "load", "latency", "demo"] {
        assert!(man.contains(sub), "the manual page lacks {sub}");
    }
}

#[test]
fn wrk_style_short_flags_are_aliases() {
    let help = stdout_of(&["load", "--help"]);
    for flag in [
        "-c, --concurrency",
        "-d, --duration",
        "-R, --rate",
        "-t, --workers",
        "--latency",
    ] {
        assert!(help.contains(flag), "load --help lacks {flag}");
    }
}

#[test]
fn durations_and_fractions_take_units() {
    // Accepted by the parser; the run then stops at the missing interface,
    // a one-line error, not a usage error (exit 2).
    let out = Command::new(BIN)
        .args([
            "load",
            "--iface",
            "nonexistent0",
            "--target",
            "10.77.0.2:80",
            "-R",
            "10",
            "-d",
            "500ms",
            "--max-error-rate",
            "0.1%",
            "--connect-timeout",
            "2s",
        ])
        .output()
        .expect("synwave runs");
    assert_ne!(out.status.code(), Some(2), "{out:?}");
    let bad = Command::new(BIN)
        .args([
            "load",
            "--iface",
            "x",
            "--target",
            "10.77.0.2:80",
            "-d",
            "10parsecs",
        ])
        .output()
        .expect("synwave runs");
    assert_eq!(bad.status.code(), Some(2), "{bad:?}");
}
