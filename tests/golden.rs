//! Golden tests of what the CLI prints: for each subcommand, the layout of
//! its text summary (numbers masked) and the shape of its JSON (every key
//! path with its type), on a veth testbed against nginx and kernel clients.
//! They pin the output down so that a refactoring can show it changed
//! nothing; a change that is meant is blessed with `SYNWAVE_BLESS=1 cargo
//! test --release --test golden`, and the diff of `tests/golden/` reviewed.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::{ns_cmd, require_root_or_skip, run_to_end, Finished, Nginx, Scratch, BIN};
use serde_json::Value;
use synwave::io::testbed::{IFACE_A, IP_A};
use synwave::io::{netns, Testbed};

/// Every number (with its decimals) becomes `#`, a duration's unit glued to
/// it becomes `#t`, and runs of blanks one space: what remains is layout.
fn mask(text: &str) -> String {
    let mut out = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_ascii_digit() {
            while chars
                .peek()
                .is_some_and(|&d| d.is_ascii_digit() || d == '.')
            {
                chars.next();
            }
            out.push('#');
            let rest: String = chars.clone().take(2).collect();
            if rest.starts_with("µs") || rest.starts_with("ms") {
                chars.next();
                chars.next();
                out.push('t');
            } else if rest.starts_with('s') && !rest[1..].starts_with(|c: char| c.is_alphabetic()) {
                chars.next();
                out.push('t');
            }
        } else {
            out.push(c);
        }
    }
    out.lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

/// Every key path of a JSON value with the type found there, sorted.
fn shape(v: &Value) -> String {
    fn walk(v: &Value, path: &str, out: &mut Vec<String>) {
        let kind = match v {
            Value::Null => "null",
            Value::Bool(_) => "bool",
            Value::Number(_) => "number",
            Value::String(_) => "string",
            Value::Array(_) => "array",
            Value::Object(o) => {
                for (k, child) in o {
                    walk(child, &format!("{path}.{k}"), out);
                }
                "object"
            }
        };
        out.push(format!("{path}: {kind}"));
    }
    let mut lines = Vec::new();
    walk(v, "", &mut lines);
    lines.sort();
    lines.join("\n") + "\n"
}

/// Compares `got` with `tests/golden/NAME`, or writes it there when blessing.
fn golden(name: &str, got: &str) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name);
    if std::env::var_os("SYNWAVE_BLESS").is_some() {
        std::fs::create_dir_all(path.parent().expect("a parent")).expect("mkdir tests/golden");
        std::fs::write(&path, got).expect("write golden file");
        return;
    }
    let want = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e}; bless with SYNWAVE_BLESS=1", path.display()));
    assert_eq!(
        got,
        want,
        "{name} differs from {} (bless a change that is meant with SYNWAVE_BLESS=1)",
        path.display()
    );
}

/// Runs `synwave ARGS` in namespace `ns` (`None`: where the test runs) and
/// checks the exit status.
fn run(ns: Option<&str>, scratch: &Scratch, args: &[&str], code: i32) -> Finished {
    let mut cmd = match ns {
        Some(ns) => ns_cmd(ns, BIN),
        None => std::process::Command::new(BIN),
    };
    cmd.args(args);
    let what = format!("synwave {}", args.join(" "));
    let f = run_to_end(&what, cmd, scratch, "golden", Duration::from_secs(120));
    assert_eq!(f.status.code(), Some(code), "{what}: {}", f.describe());
    f
}

/// The text and the JSON of one command, both against their golden files.
fn text_and_json(ns: Option<&str>, scratch: &Scratch, name: &str, args: &[&str]) {
    let f = run(ns, scratch, args, 0);
    golden(&format!("{name}.txt"), &mask(&f.stdout));
    let mut json_args = args.to_vec();
    json_args.push("--json");
    let f = run(ns, scratch, &json_args, 0);
    let v: Value = serde_json::from_str(f.stdout.trim())
        .unwrap_or_else(|e| panic!("{name} --json: {e}:\n{}", f.stdout));
    golden(&format!("{name}.json-shape"), &shape(&v));
}

/// Kernel clients in namespace B calling 10.77.0.1:8080 until stopped.
fn clients(ns: String, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        netns::enter(&ns).unwrap_or_else(|e| panic!("{e}"));
        while !stop.load(Ordering::Relaxed) {
            if let Ok(mut c) =
                TcpStream::connect_timeout(&(IP_A, 8080).into(), Duration::from_millis(200))
            {
                let _ = c.set_read_timeout(Some(Duration::from_secs(1)));
                let _ = c.write_all(b"GET / HTTP/1.1\r\nHost: 10.77.0.1\r\n\r\n");
                let _ = c.read_to_end(&mut Vec::new());
            } else {
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    })
}

#[test]
fn cli_output_of_every_subcommand_matches_its_golden_file() {
    if !require_root_or_skip("cli_output_of_every_subcommand_matches_its_golden_file") {
        return;
    }
    let tb = Testbed::up("swg").unwrap_or_else(|e| panic!("testbed: {e}"));
    let _nginx = Nginx::start(&tb);
    let scratch = Scratch::new("golden");
    let (a, b) = (Some(tb.ns_a()), Some(tb.ns_b()));
    let request = "GET / HTTP/1.1\\r\\nHost: {host}\\r\\n\\r\\n";
    text_and_json(
        a,
        &scratch,
        "load",
        &[
            "load",
            "--iface",
            IFACE_A,
            "--target",
            "10.77.0.2:80",
            "--rate",
            "200",
            "--duration",
            "1",
            "--request",
            request,
        ],
    );
    text_and_json(
        a,
        &scratch,
        "latency",
        &[
            "latency",
            "--iface",
            IFACE_A,
            "--target",
            "10.77.0.2:80",
            "--connections",
            "200",
            "--compare-kernel",
        ],
    );
    text_and_json(
        a,
        &scratch,
        "connect",
        &[
            "connect",
            "--iface",
            IFACE_A,
            "--target",
            "10.77.0.2:80",
            "--count",
            "20",
        ],
    );
    text_and_json(
        a,
        &scratch,
        "kernel-load",
        &[
            "kernel-load",
            "--target",
            "10.77.0.2:80",
            "--connections",
            "100",
        ],
    );
    let stop = Arc::new(AtomicBool::new(false));
    let c = clients(tb.ns_b().to_string(), stop.clone());
    text_and_json(
        a,
        &scratch,
        "serve",
        &[
            "serve",
            "--iface",
            IFACE_A,
            "--listen",
            "10.77.0.1:8080",
            "--duration",
            "1",
        ],
    );
    stop.store(true, Ordering::Relaxed);
    c.join().expect("client thread");
    let f = run(
        b,
        &scratch,
        &[
            "kernel-serve",
            "--listen",
            "10.77.0.2:8081",
            "--duration",
            "0.5",
        ],
        0,
    );
    golden("kernel-serve.txt", &mask(&f.stdout));
    // The one-line error, and the exit status of a run that failed.
    let f = run(
        a,
        &scratch,
        &[
            "load",
            "--iface",
            IFACE_A,
            "--target",
            "10.77.0.2:0",
            "--rate",
            "1",
        ],
        1,
    );
    golden("error.txt", &mask(&f.stderr));
    let f = run(
        a,
        &scratch,
        &[
            "load",
            "--iface",
            IFACE_A,
            "--target",
            "10.77.0.2:9999",
            "--concurrency",
            "2",
            "--connections",
            "4",
        ],
        3,
    );
    golden(
        "failed-run.txt",
        &mask(&format!("{}{}", f.stdout, f.stderr)),
    );
    drop(tb);
    // The demo builds its own testbed.
    text_and_json(None, &scratch, "demo", &["demo", "--duration", "2s"]);
    // Both demo runs stopped the nginx they started.
    let left = std::process::Command::new("pgrep")
        .args(["-f", "synwave-demo-"])
        .output()
        .expect("pgrep runs");
    assert!(
        left.stdout.is_empty(),
        "the demo left processes behind: {}",
        String::from_utf8_lossy(&left.stdout)
    );
}

#[test]
fn mask_keeps_layout_and_hides_numbers() {
    assert_eq!(
        mask("  connect   12µs  1.50ms 2.00s  p99.9  10 conn/s\n\n3 s measured, x1"),
        "connect #t #t #t p# # conn/s\n# s measured, x#\n"
    );
}
