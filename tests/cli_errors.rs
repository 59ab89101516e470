//! The error paths of the `synwave` command on a veth testbed: a second
//! instance on the same interface, a missing interface, no privileges, bad
//! arguments and bad configuration each end in one `synwave: error:` line
//! and a nonzero exit, and leave the interface without an XDP program.
//!
//! synwave in namespace A on `sw0`, the kernel in namespace B on `sw1`; each
//! test starts with [`common::Bed`] (see `tests/common` for the harness).

mod common;

use std::net::SocketAddr;
use std::thread;

use common::{
    assert_no_problems, assert_no_xdp, assert_one_line_error, client_cycle, count, link_details,
    ns_cmd, one_line_error, parse_json, run_to_end, s, start_serve, Bed, ClientClose, BIN,
    KERNEL_PORT, PROC_TIMEOUT, RESPONSE, SERVE_PORT,
};
use synwave::io::netns;
use synwave::io::testbed::{IFACE_A, IP_A, IP_B};

#[test]
fn second_instance_on_same_interface_fails_cleanly() {
    let Some(bed) = Bed::new("second_instance_on_same_interface_fails_cleanly", "swi-two") else {
        return;
    };
    let (tb, scratch) = (&bed.tb, &bed.scratch);
    let response = scratch.write("response", RESPONSE);
    let listen = format!("{IP_A}:{SERVE_PORT}");
    let mut first = start_serve(
        tb,
        scratch,
        "first",
        &["--listen", &listen, "--response", s(&response), "--json"],
    );

    let mut cmd = ns_cmd(tb.ns_a(), BIN);
    let listen2 = format!("{IP_A}:8081");
    cmd.args(["serve", "--iface", IFACE_A, "--listen", &listen2]);
    let second = run_to_end("second synwave serve", cmd, scratch, "second", PROC_TIMEOUT);
    assert_one_line_error("second synwave serve on the same interface", &second);
    assert!(
        link_details(tb).contains("prog/xdp"),
        "the failed second instance took the first one's XDP program away:\n{}",
        link_details(tb)
    );

    // The first instance still works.
    let client = {
        let ns = tb.ns_b().to_string();
        thread::spawn(move || {
            netns::enter(&ns).unwrap_or_else(|e| panic!("{e}"));
            client_cycle(SocketAddr::from((IP_A, SERVE_PORT)), ClientClose::AfterEof)
        })
    };
    let r = client.join().expect("client thread panicked");
    assert!(
        r.is_ok(),
        "kernel client could not use the first instance after the second failed: {r:?}\n{}",
        first.stderr()
    );

    let out = first.interrupt_and_collect();
    let v = parse_json("first synwave serve", &out);
    assert_eq!(count(&v, "accepted"), 1, "{v}");
    assert_no_xdp(tb, "after the first instance exited");
}

#[test]
fn missing_interface_is_one_line_error() {
    let Some(bed) = Bed::new("missing_interface_is_one_line_error", "swi-nif") else {
        return;
    };
    let (tb, scratch) = (&bed.tb, &bed.scratch);
    let listen = format!("{IP_A}:{SERVE_PORT}");
    let target = format!("{IP_B}:{KERNEL_PORT}");
    for (tag, args) in [
        (
            "serve",
            vec!["serve", "--iface", "nope0", "--listen", &listen],
        ),
        (
            "connect",
            vec!["connect", "--iface", "nope0", "--target", &target],
        ),
    ] {
        let mut cmd = ns_cmd(tb.ns_a(), BIN);
        cmd.args(&args);
        let what = format!("synwave {}", args.join(" "));
        let f = run_to_end(&what, cmd, scratch, tag, PROC_TIMEOUT);
        let line = assert_one_line_error(&what, &f);
        assert!(
            line.contains("nope0"),
            "{what}: error does not name the interface: {line}"
        );
        assert!(
            f.stdout.is_empty(),
            "{what}: wrote to stdout: {}",
            f.describe()
        );
    }
    assert_no_xdp(tb, "after the failed runs");
}

#[test]
fn no_privileges_is_one_line_error() {
    let Some(bed) = Bed::new("no_privileges_is_one_line_error", "swi-nop") else {
        return;
    };
    let (tb, scratch) = (&bed.tb, &bed.scratch);
    let mut problems = Vec::new();
    let listen = format!("{IP_A}:{SERVE_PORT}");
    let target = format!("{IP_B}:{KERNEL_PORT}");
    for (tag, args) in [
        (
            "serve",
            vec!["serve", "--iface", IFACE_A, "--listen", &listen],
        ),
        (
            "connect",
            vec!["connect", "--iface", IFACE_A, "--target", &target],
        ),
    ] {
        // Enter A as root, then drop to nobody: setuid away from 0 clears
        // every capability.
        let mut cmd = ns_cmd(tb.ns_a(), "setpriv");
        cmd.args(["--reuid=65534", "--regid=65534", "--clear-groups", BIN])
            .args(&args);
        let what = format!("synwave {} (as nobody)", args.join(" "));
        let f = run_to_end(&what, cmd, scratch, tag, PROC_TIMEOUT);
        problems.extend(one_line_error(&what, &f).err());
        assert_no_xdp(tb, &what);
    }
    assert_no_problems(&problems);
}

#[test]
fn bad_arguments_are_one_line_errors() {
    let Some(bed) = Bed::new("bad_arguments_are_one_line_errors", "swi-arg") else {
        return;
    };
    let (tb, scratch) = (&bed.tb, &bed.scratch);
    let mut problems = Vec::new();
    for (tag, args) in [
        (
            "bad-addr",
            vec!["serve", "--iface", IFACE_A, "--listen", "nope"],
        ),
        ("missing", vec!["serve", "--iface", IFACE_A]),
        (
            "bad-close",
            vec![
                "serve",
                "--iface",
                IFACE_A,
                "--listen",
                "10.77.0.1:8080",
                "--close",
                "never",
            ],
        ),
        (
            "bad-count",
            vec![
                "connect",
                "--iface",
                IFACE_A,
                "--target",
                "10.77.0.2:9090",
                "--count",
                "-3",
            ],
        ),
    ] {
        let mut cmd = ns_cmd(tb.ns_a(), BIN);
        cmd.args(&args);
        let what = format!("synwave {}", args.join(" "));
        let f = run_to_end(&what, cmd, scratch, tag, PROC_TIMEOUT);
        problems.extend(one_line_error(&what, &f).err());
    }
    assert_no_xdp(tb, "after bad arguments");
    assert_no_problems(&problems);
}

#[test]
fn bad_configuration_is_refused_before_anything_is_attached() {
    let Some(bed) = Bed::new(
        "bad_configuration_is_refused_before_anything_is_attached",
        "swi-cfg",
    ) else {
        return;
    };
    let (tb, scratch) = (&bed.tb, &bed.scratch);
    let listen = format!("{IP_A}:{SERVE_PORT}");
    for (args, needle) in [
        (vec!["--max-tcbs", "100000000"], "exceed the memory limit"),
        (
            vec!["--umem-frames", "1048576", "--memory-per-worker", "64"],
            "MB of UMEM",
        ),
        (vec!["--syn-backlog", "0"], "syn_backlog"),
        (vec!["--msl-ms", "0"], "msl"),
        (vec!["--workers", "4"], "receive queue"),
    ] {
        let mut cmd = ns_cmd(tb.ns_a(), BIN);
        cmd.args(["serve", "--iface", IFACE_A, "--listen", &listen])
            .args(&args);
        let what = format!("serve {}", args.join(" "));
        let f = run_to_end(&what, cmd, scratch, "cfg", PROC_TIMEOUT);
        let line = assert_one_line_error(&what, &f);
        assert!(line.contains(needle), "{what}: {line}");
        assert_no_xdp(tb, &what);
    }
}
