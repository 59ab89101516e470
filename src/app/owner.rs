//! Which worker owns a TCP frame, from its tuple alone.
//!
//! The queue a frame arrives on is whatever the sender's hash chose: a NIC's
//! RSS, or on veth the queue Linux picked for the peer's socket
//! (`sk_txhash`, which it draws anew on SYN and RTO retries,
//! `net.core.txrehash`). So the worker that receives a frame need not be
//! the one whose engine knows its connection. Every worker can tell which
//! one does, without asking anybody:
//!
//! - a connection we opened belongs to the worker whose slice of the
//!   source-port range ([`super::plan::port_slice`]) holds its local port,
//!   or, when the NIC's RSS is known, to the worker of the queue its
//!   replies hash to (which chose it for that: [`super::tuples::Home`]);
//! - a connection a peer opened (a listener's) belongs to the worker a
//!   fixed software hash of its 4-tuple names, as Linux's RPS spreads
//!   flows — never to "the queue its SYN arrived on", since a retried SYN
//!   can arrive on another.
//!
//! A frame that arrives elsewhere is handed to its owner (`io::handoff`).

use super::plan::{ports_per_worker, Steering};
use crate::wire::rss::Rss;
use crate::wire::{EtherType, EthernetFrame, EthernetRepr, Ipv4Packet, Ipv4Repr, TcpSegment};
use std::net::{Ipv4Addr, SocketAddrV4};

/// The owner of every tuple, the same on every worker.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Owners {
    workers: u32,
    /// First source port of worker 0's slice.
    first_port: u16,
    /// Ports per worker; 0 when we open no connections.
    span: u32,
    /// With the NIC's RSS: the source port range, whose tuples belong to
    /// the queue their replies hash to.
    rss: Option<(Rss, (u16, u16))>,
}

impl Owners {
    /// The owners of a run on `workers` workers steered as `steering`
    /// says: its source ports split as [`super::plan::LoadPlan`] splits
    /// them, everything else by hash.
    pub fn new(steering: &Steering, workers: u32) -> Self {
        let workers = workers.max(1);
        let span = if steering.sources.is_empty() {
            0
        } else {
            ports_per_worker(steering.ports, workers).unwrap_or(0)
        };
        Owners {
            workers,
            first_port: steering.ports.0,
            span,
            rss: None,
        }
    }

    /// Like [`Owners::new`], the source ports chosen by the NIC's `rss`
    /// ([`super::plan::LoadPlan::worker`] with [`super::plan::WorkerStart::rss`]).
    pub fn with_rss(steering: &Steering, workers: u32, rss: Rss) -> Self {
        let ports = steering.ports;
        Owners {
            rss: (!steering.sources.is_empty()).then_some((rss, ports)),
            ..Self::new(steering, workers)
        }
    }

    /// The owners of a run: [`Owners::with_rss`] when the NIC's RSS is
    /// known, else [`Owners::new`].
    pub fn of_run(steering: &Steering, workers: u32, rss: Option<Rss>) -> Self {
        match rss {
            Some(rss) => Self::with_rss(steering, workers, rss),
            None => Self::new(steering, workers),
        }
    }

    /// One worker owns everything.
    pub fn single() -> Self {
        Owners {
            workers: 1,
            first_port: 0,
            span: 0,
            rss: None,
        }
    }

    /// How many workers share the tuples.
    pub fn workers(&self) -> u32 {
        self.workers
    }

    /// The worker that owns the connection between our `local` end and the
    /// peer's `remote` end: total (every tuple has one owner, below
    /// [`Owners::workers`]) and pure.
    pub fn of(&self, local: SocketAddrV4, remote: SocketAddrV4) -> u32 {
        if self.workers == 1 {
            return 0;
        }
        if let Some((rss, (lo, hi))) = &self.rss {
            if (*lo..=*hi).contains(&local.port()) {
                let queue = rss.queue(remote, local);
                if queue < self.workers {
                    return queue;
                }
            }
        }
        let offset = u32::from(local.port()).wrapping_sub(u32::from(self.first_port));
        // No span: we open no connections.
        if let Some(slice) = offset.checked_div(self.span).filter(|&s| s < self.workers) {
            return slice;
        }
        reduce(flow_hash(local, remote), self.workers)
    }

    /// The owner of a received frame (its destination is our end), or
    /// `None` when it is no TCP/IPv4 frame whose ports can be read: the
    /// worker that has it deals with it (the engine counts it malformed).
    pub fn of_frame(&self, frame: &[u8]) -> Option<u32> {
        let (local, remote) = tuple(frame)?;
        Some(self.of(local, remote))
    }
}

/// The (destination, source) ends of a TCP/IPv4 frame: ours, then the
/// peer's. Reads only what the owner needs; no checksum is verified.
pub fn tuple(frame: &[u8]) -> Option<(SocketAddrV4, SocketAddrV4)> {
    let eth = EthernetFrame::new_checked(frame).ok()?;
    if eth.ethertype() != EtherType::IPV4 {
        return None;
    }
    let ip = Ipv4Packet::new_checked(&frame[EthernetRepr::HEADER_LEN..]).ok()?;
    if ip.protocol() != Ipv4Repr::PROTO_TCP || ip.is_fragment() {
        return None;
    }
    let tcp = TcpSegment::new_checked(ip.payload()).ok()?;
    Some((
        SocketAddrV4::new(ip.dst(), tcp.dst_port()),
        SocketAddrV4::new(ip.src(), tcp.src_port()),
    ))
}

/// A fixed hash of a connection's 4-tuple, as seen from our end: the same
/// on every worker and in every run, well mixed in its high bits.
pub fn flow_hash(local: SocketAddrV4, remote: SocketAddrV4) -> u32 {
    let ip = |a: Ipv4Addr| u64::from(u32::from(a));
    let addrs = ip(*local.ip()) << 32 | ip(*remote.ip());
    let ports = u64::from(local.port()) << 16 | u64::from(remote.port());
    // Two rounds of a multiply-xorshift mix (SplitMix64's finaliser).
    let mut x = addrs ^ ports.rotate_left(40);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    (x ^ (x >> 31)) as u32
}

/// `hash` mapped onto `0..n` without a division (Lemire's multiply-shift).
fn reduce(hash: u32, n: u32) -> u32 {
    ((u64::from(hash) * u64::from(n)) >> 32) as u32
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::{emit_tcp_frame, MacAddr, SeqNumber, TcpFlags, TcpOptions, TcpRepr};

    const OURS: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 1);
    const PEER: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 2);

    fn load_steering(ports: (u16, u16)) -> Steering {
        Steering {
            sources: vec![OURS],
            ports,
            target: Some(PEER),
            ..Steering::default()
        }
    }

    fn frame(from: SocketAddrV4, to: SocketAddrV4) -> Vec<u8> {
        let tcp = TcpRepr {
            src_port: from.port(),
            dst_port: to.port(),
            seq: SeqNumber(1),
            ack: SeqNumber(1),
            flags: TcpFlags::ACK,
            window: 1024,
            urgent: 0,
            options: TcpOptions::default(),
            payload: &[],
        };
        let mut buf = vec![0; 128];
        let n = emit_tcp_frame(
            &mut buf,
            MacAddr::default(),
            MacAddr::default(),
            *from.ip(),
            *to.ip(),
            &tcp,
        );
        buf.truncate(n);
        buf
    }

    #[test]
    fn a_connection_we_opened_belongs_to_the_worker_whose_port_slice_holds_its_port() {
        use crate::app::plan::port_slice;
        let ports = (10_000, 60_999);
        let o = Owners::new(&load_steering(ports), 3);
        let span = ports_per_worker(ports, 3).unwrap();
        let remote = SocketAddrV4::new(PEER, 80);
        for w in 0..3 {
            let (lo, hi) = port_slice(ports, span, w);
            for port in [lo, lo + 1, hi] {
                assert_eq!(
                    o.of(SocketAddrV4::new(OURS, port), remote),
                    w,
                    "port {port}"
                );
            }
        }
    }

    #[test]
    fn the_owner_is_total_and_every_worker_computes_the_same_one() {
        // Built from the same steering on each worker, as the runtime does.
        for steering in [load_steering((1024, 65535)), Steering::default()] {
            for workers in [1, 2, 3, 4, 7] {
                let on: Vec<Owners> = (0..workers)
                    .map(|_| Owners::new(&steering, workers))
                    .collect();
                let mut seen = vec![0u32; workers as usize];
                for port in (0..=u16::MAX).step_by(7) {
                    let local = SocketAddrV4::new(OURS, port);
                    let remote = SocketAddrV4::new(PEER, 40_000u16.wrapping_add(port));
                    let owner = on[0].of(local, remote);
                    assert!(owner < workers, "{owner} of {workers}");
                    assert!(on.iter().all(|o| o.of(local, remote) == owner));
                    // The frame says the same as its tuple.
                    let f = frame(remote, local);
                    assert_eq!(on[1 % on.len()].of_frame(&f), Some(owner));
                    seen[owner as usize] += 1;
                }
                // Every worker owns a fair share.
                let fair = seen.iter().sum::<u32>() / workers;
                assert!(seen.iter().all(|&n| n > fair / 2), "{seen:?}");
            }
        }
    }

    #[test]
    fn a_passive_open_is_owned_by_its_hash_whatever_queue_its_syn_took() {
        let o = Owners::new(&Steering::default(), 2);
        let local = SocketAddrV4::new(OURS, 8080);
        let owners: Vec<u32> = (0..64)
            .map(|p| o.of(local, SocketAddrV4::new(PEER, 50_000 + p)))
            .collect();
        assert!(owners.contains(&0) && owners.contains(&1), "{owners:?}");
        // A retried SYN is the same tuple: the same owner.
        let remote = SocketAddrV4::new(PEER, 50_007);
        assert_eq!(o.of(local, remote), owners[7]);
    }

    #[test]
    fn with_rss_a_connection_we_opened_belongs_to_the_queue_its_replies_hash_to() {
        use crate::wire::rss::VERIFICATION_KEY;
        let rss = Rss {
            key: VERIFICATION_KEY.to_vec(),
            table: (0..128).map(|i| i % 4).collect(),
        };
        let steering = load_steering((1024, 65535));
        let o = Owners::with_rss(&steering, 2, rss.clone());
        let remote = SocketAddrV4::new(PEER, 80);
        for port in (1024..=65535).step_by(11) {
            let local = SocketAddrV4::new(OURS, port);
            let queue = rss.queue(remote, local);
            let owner = o.of(local, remote);
            // Queues 2 and 3 have no worker: those tuples are nobody's
            // choice, and owned by hash like any other.
            if queue < 2 {
                assert_eq!(owner, queue, "port {port}");
            }
            assert!(owner < 2);
        }
        // A listener's connections are still owned by hash.
        let serve = Owners::with_rss(&Steering::default(), 2, rss);
        assert_eq!(serve, Owners::new(&Steering::default(), 2));
    }

    #[test]
    fn what_is_no_tcp_ipv4_frame_has_no_owner() {
        let o = Owners::new(&Steering::default(), 2);
        let mut arp = frame(SocketAddrV4::new(PEER, 1), SocketAddrV4::new(OURS, 2));
        arp[12..14].copy_from_slice(&0x0806u16.to_be_bytes());
        assert_eq!(o.of_frame(&arp), None);
        assert_eq!(o.of_frame(&[0u8; 20]), None);
        let mut short = frame(SocketAddrV4::new(PEER, 1), SocketAddrV4::new(OURS, 2));
        short.truncate(40);
        assert_eq!(o.of_frame(&short), None);
        assert_eq!(
            Owners::single().of_frame(&frame(
                SocketAddrV4::new(PEER, 1),
                SocketAddrV4::new(OURS, 2)
            )),
            Some(0)
        );
    }
}
