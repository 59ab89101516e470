//! Shared helpers for the privileged integration tests. Each test binary
//! compiles this module on its own and uses part of it, hence the
//! `dead_code` allowance for the whole tree.
//!
//! synwave runs in namespace A (`ip netns exec A synwave ...` on `sw0`), the
//! kernel peer in namespace B (`sw1`). Each test builds its own testbed
//! ([`Bed`]) and removes it on the way out, panicking or not. Every child
//! process is held by a [`Proc`] guard that SIGKILLs it on drop, and every
//! wait has a deadline. The tests of a binary take its serial lock: on a
//! small machine, several of them at once only make each other's timing
//! worse.
//!
//! | module | what |
//! |---|---|
//! | `bed` | the fixture ([`Bed`]): root check, serial lock, testbed, scratch directory |
//! | `proc` | child processes ([`Proc`], [`run_to_end`]) and the synwave subcommands started in namespace A |
//! | `checks` | synwave's JSON summary, its XDP attachment, its one-line errors |
//! | `kernel_peer` | the Linux stack in namespace B: kernel clients, [`KernelServer`], [`Nginx`] |
//! | `ss` | kernel socket states (`ss -tan`) |
//! | `pcap` | captures read back as segments |
//! | `frame` | raw Ethernet/IPv4/TCP frames |
#![allow(dead_code)]

mod bed;
mod checks;
mod frame;
mod kernel_peer;
mod pcap;
mod proc;
mod ss;

// One re-export for all: each test binary uses a part of it.
#[allow(unused_imports)]
pub use self::{
    bed::{require_root_or_skip, serial, Bed, Scratch},
    checks::{
        assert_counts, assert_no_problems, assert_no_xdp, assert_one_line_error, count,
        link_details, one_line_error, parse_json,
    },
    frame::{inet_checksum, parse_tcp, rst_for_syn, TcpFrame, TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN},
    kernel_peer::{
        client_cycle, first_byte_latencies, kernel_clients, Behaviour, ClientClose, KernelServer,
        Nginx, IO_TIMEOUT, REQUEST, RESPONSE,
    },
    pcap::{describe, read_pcap, read_pcap_records, segments, Seg},
    proc::{
        ns_cmd, run_connect, run_connect_exiting, run_to_end, start_serve, Finished, Proc, BIN,
        CONNECT_TIMEOUT, PROC_TIMEOUT,
    },
    ss::{assert_ss_clean, ss_count, ss_lines},
};

use std::fs;
use std::path::Path;
use std::time::Duration;

/// MSL given to synwave: TIME-WAIT lasts 2 × 200 ms.
pub const MSL_MS: u64 = 200;
/// How long after the last connection everything must have drained:
/// 2 MSL plus a generous margin.
pub const AFTER_2MSL: Duration = Duration::from_millis(2 * MSL_MS + 600);
/// Where `synwave serve` listens on 10.77.0.1.
pub const SERVE_PORT: u16 = 8080;
/// Where the kernel server listens on 10.77.0.2.
pub const KERNEL_PORT: u16 = 9090;
/// Connections in each `serve` and `connect` run against the kernel.
pub const CYCLES: usize = 2000;

pub fn s(p: &Path) -> &str {
    p.to_str().expect("non-UTF-8 path")
}

/// Puts back the engine keys a test moved aside, root-only as synwave keeps them.
pub fn restore_keys(path: &Path, bytes: &[u8]) {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let _ = fs::remove_file(path);
    if let Ok(mut f) = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
    {
        let _ = f.write_all(bytes);
    }
}
