//! The veth frame ceiling: what this machine's AF_XDP path carries with no
//! TCP at all, so that synwave's figures can be read as a fraction of it.
//!
//! Two AF_XDP endpoints on a fresh veth testbed, with the ring sizes and
//! batch size synwave's workers use (`XskConfig::default()`, one socket per
//! side, copy mode as veth offers), each writing every frame it sends once,
//! straight into the UMEM TX frame it leaves from, as synwave's workers do
//! (`XskSocket::tx_batch`, `transmit`): namespace A keeps a window of frames in
//! flight to B, B bounces each one straight back (addresses and ports
//! swapped, which leaves both checksums valid), and A counts what returns.
//! Every frame is an ACK-only TCP segment of the size of a handshake's.
//!
//! Run as root: `cargo bench --bench ceiling [-- SECONDS]` (default 5). It
//! prints frames per second crossing the veth, both directions together.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use synwave::io::testbed::{IFACE_A, IFACE_B, IP_A, IP_B};
use synwave::io::{netdev, netns, Testbed, XdpMode, XdpProgram, XskConfig, XskSocket};
use synwave::wire::{emit_tcp_frame, SeqNumber, TcpFlags, TcpRepr, TCP_FRAME_MAX_HEADER};

/// B's port, in its listener map; A's ports, in its client map.
const PORT_B: u16 = 9;
const PORTS_A: (u16, u16) = (20_000, 20_255);
/// Frames in flight from A at once: a few batches, well inside the rings.
const WINDOW: usize = 1024;

fn main() {
    let secs: u64 = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(5);
    if let Err(e) = run(Duration::from_secs(secs)) {
        eprintln!("ceiling: {e}");
        std::process::exit(1);
    }
}

fn run(measure: Duration) -> Result<(), String> {
    let bed = Testbed::up("swceil").map_err(|e| e.to_string())?;
    let stop = Arc::new(AtomicBool::new(false));
    let (ns_a, ns_b) = (bed.ns_a().to_string(), bed.ns_b().to_string());
    let mac_b = in_ns(&ns_b, || netdev::mac_addr(IFACE_B))?.map_err(|e| e.to_string())?;
    let b_stop = stop.clone();
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let bouncer = std::thread::spawn(move || -> Result<u64, String> {
        netns::enter(&ns_b).map_err(|e| e.to_string())?;
        let (mut xdp, mut xsk) = endpoint(IFACE_B)?;
        xdp.add_listener(IP_B, PORT_B).map_err(|e| e.to_string())?;
        let _ = ready_tx.send(());
        // Each frame is written once, into the TX frame it leaves from, as
        // synwave's engine writes its frames.
        let mut out = xsk.tx_batch();
        let mut bounced = 0u64;
        while !b_stop.load(Ordering::Relaxed) {
            let (n, ()) = xsk
                .recv_batch(|frames| {
                    for f in frames {
                        out.push_with(f.len(), |o| {
                            o.copy_from_slice(f);
                            swap_ends(o);
                            f.len()
                        });
                    }
                })
                .map_err(|e| e.to_string())?;
            if n > 0 {
                let dropped = xsk.transmit(&mut out, |_| ()).map_err(|e| e.to_string())?;
                bounced += n as u64 - dropped;
            }
        }
        Ok(bounced)
    });
    ready_rx
        .recv_timeout(Duration::from_secs(10))
        .map_err(|_| "the bouncer did not come up".to_string())?;
    let returned = in_ns(&ns_a, move || -> Result<(u64, Duration), String> {
        let (mut xdp, mut xsk) = endpoint(IFACE_A)?;
        xdp.set_client_ports(IP_A, PORTS_A.0, PORTS_A.1)
            .map_err(|e| e.to_string())?;
        let mac_a = netdev::mac_addr(IFACE_A).map_err(|e| e.to_string())?;
        let frames: Vec<Vec<u8>> = (PORTS_A.0..=PORTS_A.1)
            .map(|port| segment(mac_a, mac_b, port))
            .collect();
        let mut out = xsk.tx_batch();
        let (mut in_flight, mut next, mut returned) = (0usize, 0usize, 0u64);
        let mut start = Instant::now();
        let warm = Duration::from_millis(500);
        let mut measuring = false;
        loop {
            let room = (WINDOW - in_flight).min(XskConfig::default().batch);
            if room > 0 {
                for i in 0..room {
                    out.push(&frames[(next + i) % frames.len()]);
                }
                let dropped = xsk.transmit(&mut out, |_| ()).map_err(|e| e.to_string())?;
                let sent = room - dropped as usize;
                next = (next + sent) % frames.len();
                in_flight += sent;
            }
            let (n, ()) = xsk.recv_batch(|_| ()).map_err(|e| e.to_string())?;
            in_flight = in_flight.saturating_sub(n);
            if measuring {
                returned += n as u64;
            }
            let now = start.elapsed();
            if !measuring && now >= warm {
                (measuring, start) = (true, Instant::now());
            } else if measuring && now >= measure {
                return Ok((returned, now));
            }
            if n == 0 && room == 0 {
                // Frames lost on the way (a full ring) never return: top up.
                if xsk.poll_readable(1).map_err(|e| e.to_string())? {
                    continue;
                }
                in_flight = 0;
            }
        }
    })??;
    stop.store(true, Ordering::Relaxed);
    let bounced = bouncer
        .join()
        .map_err(|_| "the bouncer panicked".to_string())??;
    let (round_trips, took) = returned;
    let per_s = 2.0 * round_trips as f64 / took.as_secs_f64();
    println!(
        "ceiling: {per_s:.0} frames/s across the veth, both directions ({round_trips} round trips in {:.1} s; B bounced {bounced}); one AF_XDP socket per side, default rings, copy mode, frames written in place in UMEM",
        took.as_secs_f64()
    );
    println!("ceiling_frames_per_s={per_s:.0}");
    Ok(())
}

/// Attaches synwave's XDP program to `iface` and opens its queue-0 socket.
fn endpoint(iface: &str) -> Result<(XdpProgram, XskSocket), String> {
    let mut xdp = XdpProgram::attach(iface, XdpMode::Auto).map_err(|e| e.to_string())?;
    let xsk = XskSocket::open(iface, 0, &XskConfig::default()).map_err(|e| e.to_string())?;
    xdp.register_xsk(&xsk).map_err(|e| e.to_string())?;
    Ok((xdp, xsk))
}

/// An ACK-only segment from A's `port` to B, with both checksums.
fn segment(mac_a: synwave::wire::MacAddr, mac_b: synwave::wire::MacAddr, port: u16) -> Vec<u8> {
    let mut buf = vec![0u8; TCP_FRAME_MAX_HEADER];
    let tcp = TcpRepr {
        src_port: port,
        dst_port: PORT_B,
        seq: SeqNumber(1),
        ack: SeqNumber(1),
        flags: TcpFlags::ACK,
        window: 65535,
        urgent: 0,
        options: Default::default(),
        payload: &[],
    };
    let n = emit_tcp_frame(&mut buf, mac_a, mac_b, IP_A, IP_B, &tcp);
    buf.truncate(n);
    buf
}

/// Swaps the Ethernet addresses, the IPv4 addresses and the TCP ports: the
/// frame goes back where it came from, its checksums still right (both sums
/// are over unordered words).
fn swap_ends(f: &mut [u8]) {
    const IP: usize = 14;
    if f.len() < IP + 20 + 4 {
        return;
    }
    for i in 0..6 {
        f.swap(i, 6 + i);
    }
    for i in 0..4 {
        f.swap(IP + 12 + i, IP + 16 + i);
    }
    let tcp = IP + usize::from(f[IP] & 0x0f) * 4;
    if f.len() >= tcp + 4 {
        for i in 0..2 {
            f.swap(tcp + i, tcp + 2 + i);
        }
    }
}

/// Runs `f` on a thread inside namespace `ns`.
fn in_ns<T: Send + 'static>(ns: &str, f: impl FnOnce() -> T + Send + 'static) -> Result<T, String> {
    Testbed::in_ns(ns, f).map_err(|e| e.to_string())
}
