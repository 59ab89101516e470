//! `synwave serve` against Linux kernel clients over a veth testbed:
//! thousands of request/response cycles, client-first and server-first
//! close, the kernel's sockets clean afterwards and synwave's tables empty
//! after 2MSL.
//!
//! synwave in namespace A on `sw0`, the kernel in namespace B on `sw1`; each
//! test starts with [`common::Bed`] (see `tests/common` for the harness).

mod common;

use std::net::SocketAddr;
use std::thread;
use std::time::Instant;

use common::{
    assert_counts, assert_no_xdp, assert_ss_clean, kernel_clients, parse_json, s, ss_count,
    start_serve, Bed, ClientClose, AFTER_2MSL, CYCLES, MSL_MS, RESPONSE, SERVE_PORT,
};
use synwave::io::testbed::IP_A;

const CLIENT_THREADS: usize = 4;

fn serve_kernel_clients(name: &str, close: &str, client: ClientClose) {
    let Some(bed) = Bed::new(name, "swi-srv") else {
        return;
    };
    let (tb, scratch) = (&bed.tb, &bed.scratch);
    let response = scratch.write("response", RESPONSE);
    let msl = MSL_MS.to_string();
    let listen = format!("{IP_A}:{SERVE_PORT}");
    let mut serve = start_serve(
        tb,
        scratch,
        "serve",
        &[
            "--listen",
            &listen,
            "--response",
            s(&response),
            "--close",
            close,
            "--msl-ms",
            &msl,
            "--json",
        ],
    );

    let t0 = Instant::now();
    let (failed, msgs) = kernel_clients(
        tb.ns_b(),
        SocketAddr::from((IP_A, SERVE_PORT)),
        CLIENT_THREADS,
        CYCLES,
        client,
    );
    let took = t0.elapsed();
    assert!(
        failed == 0,
        "{failed} of {CYCLES} kernel client cycles failed (in {took:?}):\n{}\n--- serve stderr:\n{}",
        msgs.join("\n"),
        serve.stderr()
    );

    // The kernel clients' sockets must all have finished their closing
    // handshake; only the active closer's TIME-WAIT may remain.
    match client {
        ClientClose::First => {
            assert_ss_clean(tb.ns_b(), SERVE_PORT, &["TIME-WAIT"]);
            let tw = ss_count(tb.ns_b(), SERVE_PORT, "TIME-WAIT");
            assert_eq!(
                tw, CYCLES,
                "client-first: every kernel client should hold TIME-WAIT"
            );
        }
        // The kernel is the passive closer: no TIME-WAIT, nothing at all.
        ClientClose::AfterEof => assert_ss_clean(tb.ns_b(), SERVE_PORT, &[]),
    }

    thread::sleep(AFTER_2MSL);
    let out = serve.interrupt_and_collect();
    let v = parse_json("synwave serve", &out);
    let n = CYCLES as u64;
    assert_counts(
        "synwave serve",
        &v,
        &[
            ("accepted", n),
            ("closed", n),
            ("requests", n),
            ("responses", n),
            ("reset", 0),
            ("timed_out", 0),
            ("tcbs_left", 0),
            ("time_wait_left", 0),
        ],
    );
    assert!(v["engine"].is_object(), "no engine object: {v}");
    assert!(v["xdp"].is_object(), "no xdp object: {v}");
    assert!(
        v["xdp"]["redirected"].as_u64().unwrap_or(0) >= 4 * n,
        "fewer frames redirected than the handshakes alone need: {v}"
    );
    assert_no_xdp(tb, "after serve exited");
}

#[test]
fn serve_accepts_kernel_clients_client_first_close() {
    serve_kernel_clients(
        "serve_accepts_kernel_clients_client_first_close",
        "wait-client",
        ClientClose::First,
    );
}

#[test]
fn serve_accepts_kernel_clients_server_first_close() {
    serve_kernel_clients(
        "serve_accepts_kernel_clients_server_first_close",
        "server-first",
        ClientClose::AfterEof,
    );
}
