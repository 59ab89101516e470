//! `synwave connect` against the Linux kernel over a veth testbed: a kernel
//! listener served to the end, a closed port (RST, refused) and a kernel
//! that aborts every connection (RST, reset).
//!
//! synwave in namespace A on `sw0`, the kernel in namespace B on `sw1`; each
//! test starts with [`common::Bed`] (see `tests/common` for the harness).

mod common;

use common::{
    assert_counts, assert_no_xdp, assert_ss_clean, run_connect, run_connect_exiting, s, Bed,
    Behaviour, KernelServer, CYCLES, KERNEL_PORT, MSL_MS, REQUEST, RESPONSE,
};
use synwave::io::testbed::IP_B;

// ---------------------------------------------------------------------------
// A kernel listener
// ---------------------------------------------------------------------------

#[test]
fn connect_to_kernel_listener() {
    let Some(bed) = Bed::new("connect_to_kernel_listener", "swi-con") else {
        return;
    };
    let (tb, scratch) = (&bed.tb, &bed.scratch);
    let request = scratch.write("request", REQUEST);
    let server = KernelServer::start(tb.ns_b(), KERNEL_PORT, Behaviour::Respond, 4);

    let target = format!("{IP_B}:{KERNEL_PORT}");
    let msl = MSL_MS.to_string();
    let count = CYCLES.to_string();
    let v = run_connect(
        tb,
        scratch,
        "connect",
        &[
            "--target",
            &target,
            "--count",
            &count,
            "--concurrency",
            "64",
            "--request",
            s(&request),
            "--msl-ms",
            &msl,
            "--drain",
        ],
    );
    let n = CYCLES as u64;
    assert_counts(
        "synwave connect",
        &v,
        &[
            ("opened", n),
            ("connected", n),
            ("closed", n),
            ("refused", 0),
            ("reset", 0),
            ("timed_out", 0),
            ("bytes_received", n * RESPONSE.len() as u64),
            ("tcbs_left", 0),
            ("time_wait_left", 0),
        ],
    );
    // synwave closed first: the kernel went CLOSE-WAIT → LAST-ACK → CLOSED
    // and holds nothing, TIME-WAIT included.
    assert_ss_clean(tb.ns_b(), KERNEL_PORT, &["LISTEN"]);
    let (served, errors) = server.finish();
    assert!(errors.is_empty(), "kernel server errors: {errors:?}");
    assert_eq!(
        served, n,
        "kernel server completed {served} of {n} connections"
    );
    assert_no_xdp(tb, "after connect exited");
}

// ---------------------------------------------------------------------------
// RSTs
// ---------------------------------------------------------------------------

#[test]
fn connect_to_closed_port_is_refused() {
    let Some(bed) = Bed::new("connect_to_closed_port_is_refused", "swi-ref") else {
        return;
    };
    let (tb, scratch) = (&bed.tb, &bed.scratch);
    let target = format!("{IP_B}:9999");
    let msl = MSL_MS.to_string();
    let v = run_connect_exiting(
        tb,
        scratch,
        "connect",
        &[
            "--target",
            &target,
            "--count",
            "50",
            "--concurrency",
            "16",
            "--msl-ms",
            &msl,
            "--drain",
        ],
        3,
    );
    assert_counts(
        "synwave connect (closed port)",
        &v,
        &[
            ("opened", 50),
            ("refused", 50),
            ("connected", 0),
            ("reset", 0),
            ("timed_out", 0),
            ("closed", 0),
            ("tcbs_left", 0),
            ("time_wait_left", 0),
        ],
    );
    assert_no_xdp(tb, "after connect exited");
}

#[test]
fn kernel_abort_resets_our_connection() {
    let Some(bed) = Bed::new("kernel_abort_resets_our_connection", "swi-rst") else {
        return;
    };
    let (tb, scratch) = (&bed.tb, &bed.scratch);
    let request = scratch.write("request", REQUEST);
    let server = KernelServer::start(tb.ns_b(), KERNEL_PORT, Behaviour::Abort, 2);
    let target = format!("{IP_B}:{KERNEL_PORT}");
    let msl = MSL_MS.to_string();
    let v = run_connect_exiting(
        tb,
        scratch,
        "connect",
        &[
            "--target",
            &target,
            "--count",
            "50",
            "--concurrency",
            "16",
            "--request",
            s(&request),
            "--msl-ms",
            &msl,
            "--drain",
        ],
        3,
    );
    assert_counts(
        "synwave connect (kernel aborts)",
        &v,
        &[
            ("opened", 50),
            ("connected", 50),
            ("reset", 50),
            ("refused", 0),
            ("timed_out", 0),
            ("closed", 0),
            ("bytes_received", 0),
            ("tcbs_left", 0),
            ("time_wait_left", 0),
        ],
    );
    let (served, errors) = server.finish();
    assert!(errors.is_empty(), "kernel server errors: {errors:?}");
    assert_eq!(served, 50);
    assert_ss_clean(tb.ns_b(), KERNEL_PORT, &[]);
}
