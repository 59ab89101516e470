//! Reading what synwave reports and checking what it leaves behind: its
//! JSON summary, the interface's XDP attachment, its one-line errors.

use serde_json::Value;
use synwave::io::testbed::IFACE_A;
use synwave::io::Testbed;

use super::Finished;

/// The JSON object synwave printed with --json (its last `{...}` line).
pub fn parse_json(what: &str, stdout: &str) -> Value {
    let line = stdout
        .lines()
        .rev()
        .find(|l| l.trim_start().starts_with('{'))
        .unwrap_or_else(|| panic!("{what}: no JSON object on stdout:\n{stdout}"));
    let v: Value =
        serde_json::from_str(line).unwrap_or_else(|e| panic!("{what}: bad JSON ({e}):\n{line}"));
    assert!(v.is_object(), "{what}: JSON is not an object: {line}");
    v
}

pub fn count(v: &Value, key: &str) -> u64 {
    v.get(key)
        .and_then(Value::as_u64)
        .unwrap_or_else(|| panic!("key {key:?} missing or not a count in {v}"))
}

/// Asserts every `(key, expected)`, reporting all mismatches at once.
pub fn assert_counts(what: &str, v: &Value, expected: &[(&str, u64)]) {
    let bad: Vec<String> = expected
        .iter()
        .filter_map(|&(k, want)| {
            let got = v.get(k).and_then(Value::as_u64);
            (got != Some(want)).then(|| format!("{k}: expected {want}, got {got:?}"))
        })
        .collect();
    assert!(
        bad.is_empty(),
        "{what}: counters differ:\n  {}\nfull summary: {v}",
        bad.join("\n  ")
    );
}

/// Panics with every problem found, if any.
pub fn assert_no_problems(problems: &[String]) {
    assert!(
        problems.is_empty(),
        "{} problem(s):\n\n{}",
        problems.len(),
        problems.join("\n\n")
    );
}

/// `ip -d link show sw0` in namespace A: shows an attached XDP program.
pub fn link_details(tb: &Testbed) -> String {
    tb.ip_a(&["-d", "link", "show", IFACE_A])
        .unwrap_or_else(|e| panic!("{e}"))
}

pub fn assert_no_xdp(tb: &Testbed, when: &str) {
    let d = link_details(tb);
    assert!(
        !d.contains("xdp"),
        "{when}: an XDP program is still attached to {IFACE_A}:\n{d}"
    );
}

/// Asserts a failed run: nonzero exit, stderr exactly one line starting with
/// `synwave: error:`. Returns that line.
pub fn assert_one_line_error(what: &str, f: &Finished) -> String {
    one_line_error(what, f).unwrap_or_else(|e| panic!("{e}"))
}

/// Checks a failed run: nonzero exit, stderr exactly one line starting with
/// `synwave: error:`; returns that line, or what is wrong.
pub fn one_line_error(what: &str, f: &Finished) -> Result<String, String> {
    if f.status.success() {
        return Err(format!("{what}: expected failure, {}", f.describe()));
    }
    let lines: Vec<&str> = f.stderr.lines().collect();
    if lines.len() == 1 && lines[0].starts_with("synwave: error:") {
        Ok(lines[0].to_string())
    } else {
        Err(format!(
            "{what}: expected exactly one stderr line `synwave: error: ...`, got {} line(s); {}",
            lines.len(),
            f.describe()
        ))
    }
}
