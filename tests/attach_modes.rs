//! How the data path attaches (`--bind`, `--xdp-mode`, `--huge-pages`) on
//! a veth testbed: veth has native XDP but no AF_XDP zero-copy, so `auto`
//! binds in copy mode and says so in one notice; a forced zero-copy bind is
//! one clean error with nothing left attached; the generic (skb) hook
//! carries a whole load against a kernel server; and a UMEM in huge pages
//! is refused in one line when none are reserved. The modes used are in
//! the text summary and the JSON (`xdp_mode`, `bind`, `huge_pages`).
//!
//! synwave in namespace A on `sw0`, the kernel in namespace B on `sw1`; each
//! test starts with [`common::Bed`] (see `tests/common` for the harness).

mod common;

use common::{
    assert_no_xdp, assert_one_line_error, count, ns_cmd, parse_json, run_to_end, Bed, Behaviour,
    Finished, KernelServer, Scratch, BIN, CONNECT_TIMEOUT, REQUEST, RESPONSE,
};
use synwave::io::testbed::{IFACE_A, IP_B};
use synwave::io::Testbed;

const PORT: u16 = 9292;

/// `synwave COMMAND --iface sw0 ARGS` in namespace A, to its end.
fn synwave(tb: &Testbed, scratch: &Scratch, tag: &str, command: &str, args: &[&str]) -> Finished {
    let mut cmd = ns_cmd(tb.ns_a(), BIN);
    cmd.args([command, "--iface", IFACE_A]).args(args);
    run_to_end(
        &format!("synwave {command} {}", args.join(" ")),
        cmd,
        scratch,
        tag,
        CONNECT_TIMEOUT,
    )
}

/// A load of `n` connections against the kernel server on namespace B,
/// with the request it expects.
fn load_args(scratch: &Scratch, n: &str, extra: &[&str]) -> Vec<String> {
    let request = scratch.write("request", REQUEST);
    let target = format!("{IP_B}:{PORT}");
    let response = RESPONSE.len().to_string();
    let mut a: Vec<String> = [
        "--target",
        &target,
        "--connections",
        n,
        "--concurrency",
        "16",
    ]
    .map(String::from)
    .to_vec();
    a.extend(["--request-file".into(), request.display().to_string()]);
    a.extend(["--response-bytes".to_string(), response]);
    a.extend(extra.iter().map(|s| s.to_string()));
    a
}

fn strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

#[test]
fn auto_bind_on_veth_falls_back_to_copy_mode_with_one_notice_and_reports_it() {
    let Some(bed) = Bed::new(
        "auto_bind_on_veth_falls_back_to_copy_mode_with_one_notice_and_reports_it",
        "swi-bind",
    ) else {
        return;
    };
    let (tb, scratch) = (&bed.tb, &bed.scratch);
    let server = KernelServer::start(tb.ns_b(), PORT, Behaviour::Respond, 2);
    let json = load_args(scratch, "50", &["--json"]);
    let f = synwave(tb, scratch, "auto", "load", &strs(&json));
    assert!(f.status.success(), "{}", f.describe());
    let notices: Vec<&str> = (f.stderr.lines())
        .filter(|l| l.contains("no AF_XDP zero-copy"))
        .collect();
    assert_eq!(
        notices.len(),
        1,
        "one notice, not one per queue: {}",
        f.describe()
    );
    assert!(
        notices[0].starts_with("synwave: warning: "),
        "{}",
        notices[0]
    );
    let v = parse_json("load --bind auto", &f.stdout);
    assert_eq!(v["bind"], "copy", "{v}");
    assert_eq!(v["xdp_mode"], "native", "{v}");
    assert_eq!(v["huge_pages"], false, "{v}");
    assert_eq!(count(&v, "completed"), 50, "{v}");

    // Asked for, copy mode is no fallback: no notice. The text says it too.
    let text = load_args(scratch, "20", &["--bind", "copy"]);
    let f = synwave(tb, scratch, "copy", "load", &strs(&text));
    assert!(f.status.success(), "{}", f.describe());
    assert!(!f.stderr.contains("zero-copy"), "{}", f.describe());
    assert!(
        f.stdout.contains("data path: XDP native, copy bind"),
        "{}",
        f.describe()
    );
    let (_, errs) = server.finish();
    assert!(errs.is_empty(), "kernel server errors: {errs:?}");
    assert_no_xdp(tb, "after the runs");
}

#[test]
fn forced_zero_copy_on_veth_is_one_clean_error_and_leaves_nothing_attached() {
    let Some(bed) = Bed::new(
        "forced_zero_copy_on_veth_is_one_clean_error_and_leaves_nothing_attached",
        "swi-zc",
    ) else {
        return;
    };
    let (tb, scratch) = (&bed.tb, &bed.scratch);
    let target = format!("{IP_B}:{PORT}");
    let listen = format!("0.0.0.0:{PORT}");
    for (tag, command, args) in [
        (
            "load",
            "load",
            vec![
                "--target",
                &target,
                "--connections",
                "1",
                "--concurrency",
                "1",
            ],
        ),
        ("serve", "serve", vec!["--listen", &listen]),
        ("latency", "latency", vec!["--target", &target]),
        ("connect", "connect", vec!["--target", &target]),
    ] {
        let args: Vec<&str> = args.into_iter().chain(["--bind", "zero-copy"]).collect();
        let f = synwave(tb, scratch, tag, command, &args);
        let line = assert_one_line_error(tag, &f);
        assert!(
            line.contains("zero-copy") && line.contains("--bind copy or auto"),
            "{tag}: {line}"
        );
        assert_no_xdp(tb, &format!("after {tag} --bind zero-copy"));
    }
    // Zero-copy needs the driver's hook: refused before anything is attached.
    let f = synwave(
        tb,
        scratch,
        "generic-zc",
        "connect",
        &[
            "--target",
            &target,
            "--bind",
            "zero-copy",
            "--xdp-mode",
            "generic",
        ],
    );
    let line = assert_one_line_error("zero-copy in the generic hook", &f);
    assert!(line.contains("--xdp-mode native or auto"), "{line}");
    assert_no_xdp(tb, "after --xdp-mode generic --bind zero-copy");
}

#[test]
fn generic_xdp_mode_completes_a_load_against_a_kernel_server() {
    let Some(bed) = Bed::with_queues(
        "generic_xdp_mode_completes_a_load_against_a_kernel_server",
        "swi-gen",
        2,
    ) else {
        return;
    };
    let (tb, scratch) = (&bed.tb, &bed.scratch);
    let server = KernelServer::start(tb.ns_b(), PORT, Behaviour::Respond, 4);
    let args = load_args(
        scratch,
        "500",
        &["--xdp-mode", "generic", "--workers", "2", "--json"],
    );
    let f = synwave(tb, scratch, "generic", "load", &strs(&args));
    assert!(f.status.success(), "{}", f.describe());
    let v = parse_json("load --xdp-mode generic", &f.stdout);
    assert_eq!(v["xdp_mode"], "generic", "{v}");
    assert_eq!(v["bind"], "copy", "{v}");
    assert_eq!(count(&v, "completed"), 500, "{v}");
    assert_eq!(count(&v, "started"), 500, "{v}");
    // Asked for, the generic hook is no fallback: no notice of either kind.
    assert!(
        !f.stderr.contains("zero-copy") && !f.stderr.contains("no native XDP"),
        "{}",
        f.describe()
    );
    let (_, errs) = server.finish();
    assert!(errs.is_empty(), "kernel server errors: {errs:?}");
    assert_no_xdp(tb, "after the generic run");
}

#[test]
fn huge_pages_without_a_reservation_is_one_line_and_with_one_the_umem_lives_there() {
    let Some(bed) = Bed::new(
        "huge_pages_without_a_reservation_is_one_line_and_with_one_the_umem_lives_there",
        "swi-huge",
    ) else {
        return;
    };
    let (tb, scratch) = (&bed.tb, &bed.scratch);
    let target = format!("{IP_B}:{PORT}");
    let connect = ["--target", target.as_str(), "--huge-pages"];
    let reserved = Reservation::take(0);
    let f = synwave(tb, scratch, "none", "connect", &connect);
    let line = assert_one_line_error("--huge-pages with none reserved", &f);
    assert!(line.contains("vm.nr_hugepages"), "{line}");
    assert_no_xdp(tb, "after --huge-pages with none reserved");
    // A UMEM smaller than a huge page is refused before anything else.
    let f = synwave(
        tb,
        scratch,
        "small",
        "connect",
        &[&connect[..], &["--umem-frames", "256"]].concat(),
    );
    let line = assert_one_line_error("--huge-pages with a small UMEM", &f);
    assert!(line.contains("--umem-frames 1024"), "{line}");
    drop(reserved);

    // 8 MiB of UMEM: four 2 MiB pages, and four more for the zero-copy
    // try of `--bind auto`, whose UMEM the kernel releases late.
    let _reserved = Reservation::take(8);
    let server = KernelServer::start(tb.ns_b(), PORT, Behaviour::Respond, 2);
    let args = load_args(scratch, "20", &["--huge-pages", "--json"]);
    let f = synwave(tb, scratch, "huge", "load", &strs(&args));
    assert!(f.status.success(), "{}", f.describe());
    let v = parse_json("load --huge-pages", &f.stdout);
    assert_eq!(v["huge_pages"], true, "{v}");
    assert_eq!(count(&v, "completed"), 20, "{v}");
    let (_, errs) = server.finish();
    assert!(errs.is_empty(), "kernel server errors: {errs:?}");
    assert_no_xdp(tb, "after the huge-page run");
}

/// `vm.nr_hugepages` set for a test, and put back as it was on drop.
struct Reservation(String);

impl Reservation {
    const PATH: &'static str = "/proc/sys/vm/nr_hugepages";

    fn take(pages: u32) -> Self {
        let was = std::fs::read_to_string(Self::PATH).expect("reading vm.nr_hugepages");
        std::fs::write(Self::PATH, pages.to_string()).expect("setting vm.nr_hugepages");
        let now = std::fs::read_to_string(Self::PATH).unwrap_or_default();
        assert_eq!(
            now.trim(),
            pages.to_string(),
            "the kernel reserved only {now} huge pages"
        );
        Reservation(was)
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        let _ = std::fs::write(Self::PATH, self.0.trim());
    }
}
