//! Every command of the README's "Commands" block runs as written, with
//! default flags, on a veth testbed against a Linux kernel server (nginx in
//! namespace B on port 80, kernel clients for `serve`), and exits 0.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::{ns_cmd, require_root_or_skip, run_to_end, s, Nginx, Scratch, BIN};
use synwave::io::testbed::IP_A;
use synwave::io::{netns, Testbed};

/// The lines of the ```sh blocks under "## Commands", comments dropped.
fn readme_commands() -> Vec<String> {
    let readme = include_str!("../README.md");
    let start = readme
        .find("\n## Commands")
        .expect("README has a Commands section");
    let section = &readme[start + 1..];
    let section = &section[..section[3..].find("\n## ").map_or(section.len(), |i| i + 3)];
    let mut lines = Vec::new();
    let mut in_block = false;
    for line in section.lines() {
        if line.starts_with("```") {
            in_block = !in_block && line == "```sh";
            continue;
        }
        let line = line.trim();
        if in_block && !line.is_empty() && !line.starts_with('#') {
            lines.push(line.to_string());
        }
    }
    lines
}

/// Kernel clients in namespace B calling `synwave serve` until `stop`;
/// returns how many got a response.
fn kernel_clients(ns: String, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<u64> {
    std::thread::spawn(move || {
        netns::enter(&ns).unwrap_or_else(|e| panic!("{e}"));
        let mut answered = 0;
        while !stop.load(Ordering::Relaxed) {
            let Ok(mut c) =
                TcpStream::connect_timeout(&(IP_A, 8080).into(), Duration::from_millis(200))
            else {
                std::thread::sleep(Duration::from_millis(20));
                continue;
            };
            let _ = c.set_read_timeout(Some(Duration::from_secs(1)));
            let _ = c.write_all(b"GET / HTTP/1.1\r\nHost: 10.77.0.1\r\n\r\n");
            let mut buf = Vec::new();
            if c.read_to_end(&mut buf).is_ok() && buf.starts_with(b"HTTP/1.1 200") {
                answered += 1;
            }
        }
        answered
    })
}

#[test]
fn every_readme_command_runs_as_written_against_a_kernel_server() {
    if !require_root_or_skip("every_readme_command_runs_as_written_against_a_kernel_server") {
        return;
    }
    let commands = readme_commands();
    assert!(commands.len() >= 8, "README commands: {commands:?}");
    let tb = Testbed::up("swr").unwrap_or_else(|e| panic!("testbed: {e}"));
    let _nginx = Nginx::start(&tb);
    let scratch = Scratch::new("readme");
    for (i, line) in commands.iter().enumerate() {
        // The README's `synwave` is the binary under test; everything else
        // is the shell's, in namespace A, in a scratch directory.
        let script = format!(
            "synwave() {{ \"$SYNWAVE\" \"$@\"; }}\ncd {}\n{line}",
            s(&scratch.0)
        );
        let mut cmd = ns_cmd(tb.ns_a(), "bash");
        cmd.args(["-euo", "pipefail", "-c", &script])
            .env("SYNWAVE", BIN);
        let clients = line.starts_with("synwave serve").then(|| {
            let stop = Arc::new(AtomicBool::new(false));
            (kernel_clients(tb.ns_b().to_string(), stop.clone()), stop)
        });
        let f = run_to_end(
            line,
            cmd,
            &scratch,
            &format!("cmd{i}"),
            Duration::from_secs(120),
        );
        assert!(
            f.status.success(),
            "README command `{line}`: {}",
            f.describe()
        );
        if let Some((handle, stop)) = clients {
            stop.store(true, Ordering::Relaxed);
            let answered = handle.join().expect("client thread");
            assert!(
                answered > 0,
                "`{line}` answered no kernel client: {}",
                f.describe()
            );
        }
    }
}
