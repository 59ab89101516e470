//! A SYN flood from spoofed sources (RFC 4987) against `synwave serve` on a
//! veth testbed: legitimate kernel clients still get through, on SYN
//! cookies, with their first-byte latency intact, and the half-open state
//! stays within the backlog.
//!
//! synwave in namespace A on `sw0`, the kernel in namespace B on `sw1`; each
//! test starts with [`common::Bed`] (see `tests/common` for the harness).

mod common;

use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use common::{
    assert_no_xdp, count, first_byte_latencies, kernel_clients, parse_json, s, start_serve, Bed,
    ClientClose, RESPONSE, SERVE_PORT,
};
use synwave::io::testbed::{IFACE_A, IFACE_B, IP_A};
use synwave::io::{netns, Testbed};

/// The paced flood's rate, in SYNs a second.
const FLOOD_PER_SEC: u64 = 100_000;

/// Sends spoofed SYNs to `dst` on `iface` of namespace `ns` through an
/// AF_PACKET socket until `stop`, `per_sec` a second or (None) as fast as
/// one thread can; returns how many.
fn syn_flood(
    ns: &str,
    iface: &str,
    dst_mac: [u8; 6],
    dst: SocketAddr,
    per_sec: Option<u64>,
    stop: Arc<AtomicBool>,
) -> JoinHandle<u64> {
    let (ns, iface) = (ns.to_string(), iface.to_string());
    thread::spawn(move || {
        netns::enter(&ns).unwrap_or_else(|e| panic!("{e}"));
        let ifindex = synwave::io::netdev::ifindex(&iface).unwrap_or_else(|e| panic!("{e}"));
        // SAFETY: plain socket(2)/bind(2)/send(2) on an fd we own, with a
        // zeroed, correctly sized sockaddr_ll.
        let fd = unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW, 0) };
        assert!(fd >= 0, "AF_PACKET socket: {}", io::Error::last_os_error());
        let mut sll: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        sll.sll_family = libc::AF_PACKET as u16;
        sll.sll_ifindex = ifindex as i32;
        let rc = unsafe {
            libc::bind(
                fd,
                &sll as *const _ as *const libc::sockaddr,
                std::mem::size_of::<libc::sockaddr_ll>() as u32,
            )
        };
        assert_eq!(rc, 0, "bind AF_PACKET: {}", io::Error::last_os_error());
        let SocketAddr::V4(dst) = dst else {
            panic!("IPv4 only")
        };
        let mut frame = [0u8; 128];
        let mut sent = 0u64;
        let mut n: u32 = 0;
        let start = Instant::now();
        while !stop.load(Ordering::Relaxed) {
            n = n.wrapping_add(1);
            if let Some(rate) = per_sec.filter(|_| n % 256 == 0) {
                let due = start + Duration::from_secs_f64(sent as f64 / rate as f64);
                if let Some(ahead) = due.checked_duration_since(Instant::now()) {
                    thread::sleep(ahead);
                }
            }
            // Spoofed sources across 172.16/12, never answered by anyone.
            let src = std::net::Ipv4Addr::from(
                0xac10_0000 | (n.wrapping_mul(2_654_435_761) & 0x000f_ffff),
            );
            let repr = synwave::wire::TcpRepr {
                src_port: 1024 + (n % 60_000) as u16,
                dst_port: dst.port(),
                seq: synwave::wire::SeqNumber(n.wrapping_mul(7919)),
                ack: synwave::wire::SeqNumber(0),
                flags: synwave::wire::TcpFlags::SYN,
                window: 64240,
                urgent: 0,
                options: synwave::wire::TcpOptions {
                    mss: Some(1460),
                    ..Default::default()
                },
                payload: &[],
            };
            let len = synwave::wire::emit_tcp_frame(
                &mut frame,
                synwave::wire::MacAddr([2, 0xde, 0xad, 0, 0, 1]),
                synwave::wire::MacAddr(dst_mac),
                src,
                *dst.ip(),
                &repr,
            );
            let rc = unsafe { libc::send(fd, frame.as_ptr() as *const libc::c_void, len, 0) };
            if rc > 0 {
                sent += 1;
            }
        }
        unsafe { libc::close(fd) };
        sent
    })
}

/// The MAC address of `sw0` in namespace A, where the flood is sent.
fn mac_of_sw0(tb: &Testbed) -> synwave::wire::MacAddr {
    let mac_text = tb
        .ip_a(&["-o", "link", "show", IFACE_A])
        .unwrap_or_else(|e| panic!("{e}"));
    mac_text
        .split_whitespace()
        .skip_while(|w| *w != "link/ether")
        .nth(1)
        .and_then(|m| m.parse().ok())
        .unwrap_or_else(|| panic!("no MAC in {mac_text}"))
}

#[test]
fn syn_flood_from_spoofed_sources_does_not_stop_legitimate_clients() {
    let Some(bed) = Bed::new(
        "syn_flood_from_spoofed_sources_does_not_stop_legitimate_clients",
        "swi-syn",
    ) else {
        return;
    };
    let (tb, scratch) = (&bed.tb, &bed.scratch);
    let response = scratch.write("response", RESPONSE);
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
            "--syn-backlog",
            "128",
            "--json",
        ],
    );
    let mac = mac_of_sw0(tb);
    let stop = Arc::new(AtomicBool::new(false));
    let flood = syn_flood(
        tb.ns_b(),
        IFACE_B,
        mac.0,
        SocketAddr::from((IP_A, SERVE_PORT)),
        None,
        stop.clone(),
    );
    thread::sleep(Duration::from_millis(300));

    // Legitimate kernel clients while the flood goes on.
    let (failed, msgs) = kernel_clients(
        tb.ns_b(),
        SocketAddr::from((IP_A, SERVE_PORT)),
        2,
        200,
        ClientClose::First,
    );
    stop.store(true, Ordering::Relaxed);
    let flooded = flood.join().expect("flood thread panicked");
    assert_eq!(
        failed, 0,
        "legitimate clients failed during the flood: {msgs:?}"
    );

    let out = serve.interrupt_and_collect();
    let v = parse_json("synwave serve", &out);
    let e = &v["engine"];
    let cookies = e["syn_cookies_sent"].as_u64().unwrap_or(0);
    println!(
        "flood: {flooded} spoofed SYNs; {} cookies sent, {} accepted, {} connections accepted in all",
        cookies,
        e["syn_cookies_accepted"].as_u64().unwrap_or(0),
        count(&v, "accepted")
    );
    assert!(flooded > 1000, "the flood sent only {flooded} SYNs");
    assert!(
        cookies > 0,
        "no SYN cookies under a flood of {flooded} SYNs: {v}"
    );
    assert!(count(&v, "accepted") >= 200, "{v}");
    // The flood holds at most the backlog in memory.
    assert!(
        count(&v, "tcbs_left") <= 128 + 4,
        "half-open state grew past the backlog: {v}"
    );
    assert_no_xdp(tb, "after serve exited");
}

fn p99(sorted: &[Duration]) -> Duration {
    sorted[(sorted.len() * 99 / 100).min(sorted.len() - 1)]
}

/// Issue 10, defect 2: a cookie SYN-ACK whose TSval ran ahead of the clock
/// made the kernel client PAWS-reject our response until our RTO, so
/// first-byte latency under a flood (every legitimate SYN answered by a
/// cookie) was about a second. Under the flood it must stay within 2x of
/// the no-flood figure. The bound has a floor of 100 ms: the flood thread,
/// the server and the clients share few cores (a busy machine took the
/// quiet p99 from 0.14 ms to 7 ms and the flooded one to 22 ms), and a
/// stall to an RTO (200 ms at least; 1 s with the defect) is what this
/// looks for.
#[test]
fn syn_flood_keeps_first_byte_latency_of_legitimate_clients() {
    let Some(bed) = Bed::new(
        "syn_flood_keeps_first_byte_latency_of_legitimate_clients",
        "swi-fbl",
    ) else {
        return;
    };
    let (tb, scratch) = (&bed.tb, &bed.scratch);
    let response = scratch.write("response", RESPONSE);
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
            "--syn-backlog",
            "128",
            "--json",
        ],
    );
    let addr = SocketAddr::from((IP_A, SERVE_PORT));
    let cycles = 300;
    let quiet = first_byte_latencies(tb.ns_b(), addr, cycles).unwrap_or_else(|e| panic!("{e}"));
    let mac = mac_of_sw0(tb);
    let stop = Arc::new(AtomicBool::new(false));
    // Paced: as fast as one thread goes, the flood outran the server on
    // a quick machine (millions of SYNs; 3% of frames lost at the full rx
    // ring), and a legitimate SYN lost there waits out the client's 1 s
    // RTO, which is the very stall this test looks for. At 100,000 a
    // second every legitimate SYN still meets a full backlog (128) and
    // is answered by a cookie; overload is the other test's.
    let flood = syn_flood(
        tb.ns_b(),
        IFACE_B,
        mac.0,
        addr,
        Some(FLOOD_PER_SEC),
        stop.clone(),
    );
    thread::sleep(Duration::from_millis(300));
    let flooded_lat = first_byte_latencies(tb.ns_b(), addr, cycles);
    stop.store(true, Ordering::Relaxed);
    let flooded = flood.join().expect("flood thread panicked");
    let flooded_lat = flooded_lat.unwrap_or_else(|e| panic!("during the flood: {e}"));
    let out = serve.interrupt_and_collect();
    let v = parse_json("synwave serve", &out);
    let e = &v["engine"];
    let (base, under) = (p99(&quiet), p99(&flooded_lat));
    println!(
        "first byte p99: {base:?} without flood, {under:?} under {flooded} spoofed SYNs \
         ({} cookies sent, {} accepted)",
        e["syn_cookies_sent"].as_u64().unwrap_or(0),
        e["syn_cookies_accepted"].as_u64().unwrap_or(0),
    );
    assert!(flooded > 1000, "the flood sent only {flooded} SYNs");
    assert!(
        e["syn_cookies_accepted"].as_u64().unwrap_or(0) > 0,
        "no legitimate client came in on a cookie: {v}"
    );
    let bound = (2 * base).max(Duration::from_millis(100));
    // Frames the XDP program steered to the socket that the engine never
    // read: lost at a full rx ring, the server too slow for the flood.
    let unread = v["xdp"]["redirected"]
        .as_u64()
        .unwrap_or(0)
        .saturating_sub(e["frames_in"].as_u64().unwrap_or(0));
    assert!(
        under <= bound,
        "first-byte p99 {under:?} under the flood, bound {bound:?} (no flood: {base:?}; \
         {unread} frames redirected but never read)"
    );
    assert_no_xdp(tb, "after serve exited");
}
