//! Source tuples for outgoing connections, reused as soon as whoever holds
//! the old connection's TIME-WAIT will take a new SYN on them (RFC 9293
//! §3.4.2, RFC 6191; Linux `tcp_tw_reuse`):
//!
//! - the peer closed first, or we aborted with RST: free again at once (one
//!   tick of our TSval clock later, so the new SYN's TSval is above the
//!   last one the peer saw), the new ISS above the old SND.NXT — the peer's
//!   TIME-WAIT takes such a SYN as new;
//! - we closed first: when the engine lets a connect take over our
//!   TIME-WAIT record ([`crate::tcp::Engine::reusable_at`]): a second with
//!   timestamps, 2MSL without them or with `--strict-time-wait`.
//!
//! On a NIC whose RSS is known, a worker's allocator can keep to the
//! tuples whose replies the NIC steers to the worker's own queue ([`Home`]:
//! mTCP's per-core address pools), over the whole port range, so that no
//! reply has to be handed to another worker.

use crate::tcp::Instant;
use crate::wire::rss::{toeplitz_tcp4, Rss};
use crate::wire::SeqNumber;
use core::fmt;
use core::time::Duration;
use std::collections::VecDeque;
use std::net::{Ipv4Addr, SocketAddrV4};

/// How long at least a tuple rests: one tick of the TSval clock (1 ms), so
/// the next SYN's TSval is strictly above the last segment's.
const MIN_REST: Duration = Duration::from_millis(1);

/// What a run asks of the tuple space, for the check before it starts.
#[derive(Clone, Debug, PartialEq)]
pub struct Demand {
    /// New connections per second, if paced.
    pub rate: Option<f64>,
    /// How long connections keep being opened, if bounded by time.
    pub duration: Option<Duration>,
    /// How many connections, if bounded by count.
    pub connections: Option<u64>,
    /// Connections open at once at most.
    pub concurrency: Option<u64>,
    /// How long a tuple rests after its connection ended.
    pub rest: Duration,
}

/// The run cannot get the tuples it needs: the arithmetic.
#[derive(Clone, Debug, PartialEq)]
pub struct TupleSpaceError {
    /// Tuples the run needs at once.
    pub needed: u64,
    /// Why, in words with the numbers.
    pub because: String,
    pub addresses: usize,
    pub ports: usize,
}

impl fmt::Display for TupleSpaceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} needs {} source tuples at once, but {} source address(es) x {} ports = {} tuples; \
             lower the load, add source addresses (--src a.b.c.d/n) or ports (--ports)",
            self.because,
            self.needed,
            self.addresses,
            self.ports,
            self.addresses * self.ports
        )
    }
}

impl std::error::Error for TupleSpaceError {}

/// Checks that a run's demand fits `addresses` x `ports` tuples: connections
/// open at once, and those opened within one rest period, must all have a
/// tuple. Only what cannot run is refused: a run shorter than the rest
/// needs only the tuples it opens.
pub fn check_demand(d: &Demand, addresses: usize, ports: usize) -> Result<(), TupleSpaceError> {
    let tuples = (addresses * ports) as u64;
    let err = |needed: u64, because: String| {
        Err(TupleSpaceError {
            needed,
            because,
            addresses,
            ports,
        })
    };
    if let Some(c) = d.concurrency.filter(|&c| c > tuples) {
        return err(c, format!("--concurrency {c}"));
    }
    if let Some(rate) = d.rate {
        let run = match (d.duration, d.connections) {
            (Some(t), Some(n)) => t.min(Duration::from_secs_f64(n as f64 / rate)),
            (Some(t), None) => t,
            (None, Some(n)) => Duration::from_secs_f64(n as f64 / rate),
            (None, None) => Duration::MAX,
        };
        let window = run.min(d.rest.max(MIN_REST));
        let mut needed = (rate * window.as_secs_f64()).ceil() as u64;
        if let Some(n) = d.connections {
            needed = needed.min(n);
        }
        if needed > tuples {
            return err(
                needed,
                format!(
                    "--rate {rate:.0}/s with each tuple resting {:.1} s after we close first (over a {} run)",
                    d.rest.as_secs_f64(),
                    if run == Duration::MAX {
                        "endless".to_string()
                    } else {
                        format!("{:.1} s", run.as_secs_f64())
                    }
                ),
            );
        }
    }
    Ok(())
}

/// A tuple handed out by [`TupleAllocator::take`]: the source address and
/// port, and where the last connection on it left off, if it had one.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Tuple {
    pub addr: Ipv4Addr,
    pub port: u16,
    pub last_snd_nxt: Option<SeqNumber>,
}

/// One resting tuple: when it is free, which it is, and its last SND.NXT
/// (unknown when it was given back without having carried a connection).
#[derive(Copy, Clone, Debug)]
struct Resting {
    free_at: Instant,
    index: u32,
    snd_nxt: Option<SeqNumber>,
}

/// Which tuples come back home: those whose replies from `target` the
/// NIC's RSS receives on `queue`. The Toeplitz hash is linear, so a
/// reply's hash is the XOR of its addresses' and target port's part (one
/// per source address) and its destination port's part (one per port).
#[derive(Clone, Debug)]
pub struct Home {
    rss: Rss,
    queue: u32,
    by_addr: Vec<u32>,
    by_port: Vec<u32>,
}

impl Home {
    /// The tuples of `addresses` x `ports` whose replies from `target`
    /// `rss` steers to `queue`.
    pub fn new(
        rss: Rss,
        target: SocketAddrV4,
        addresses: &[Ipv4Addr],
        ports: (u16, u16),
        queue: u32,
    ) -> Self {
        let zero = SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0);
        let by_addr = (addresses.iter())
            .map(|&a| toeplitz_tcp4(&rss.key, target, SocketAddrV4::new(a, 0)))
            .collect();
        let by_port = (ports.0..=ports.1)
            .map(|p| toeplitz_tcp4(&rss.key, zero, SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, p)))
            .collect();
        Home {
            rss,
            queue,
            by_addr,
            by_port,
        }
    }

    /// Whether the reply to the `addr`-th address and `offset`-th port lands on our queue.
    fn keeps(&self, addr: usize, offset: u32) -> bool {
        let hash = self.by_addr[addr] ^ self.by_port[offset as usize];
        self.rss.queue_of_hash(hash) == self.queue
    }
}

/// The tuples of some addresses and a port range. Never-used tuples come
/// first, from a cursor that starts at a chosen port (so that consecutive
/// runs do not begin on the same tuples); used ones rest in FIFOs, one per
/// rest period, whose heads are therefore always the first to be free.
#[derive(Clone, Debug)]
pub struct TupleAllocator {
    addresses: Vec<Ipv4Addr>,
    first_port: u16,
    ports: u32,
    start: u32,
    /// The cursor over never-used tuples, by index.
    fresh: u32,
    /// Never-used tuples handed out.
    handed: usize,
    /// Tuples that are ours: all, or those that come back [`Home`].
    kept: usize,
    home: Option<Home>,
    resting: Vec<(Duration, VecDeque<Resting>)>,
}

impl TupleAllocator {
    /// Every port of `ports` (inclusive) on every address; never-used tuples
    /// are handed out from the `start`-th port (modulo the range) on,
    /// interleaving addresses so consecutive connections spread over them.
    pub fn new(addresses: Vec<Ipv4Addr>, ports: (u16, u16), start: u32) -> Self {
        let count = u32::from(ports.1 - ports.0) + 1;
        TupleAllocator {
            kept: addresses.len() * count as usize,
            addresses,
            first_port: ports.0,
            ports: count,
            start: start % count,
            fresh: 0,
            handed: 0,
            home: None,
            resting: Vec::new(),
        }
    }

    /// Only the tuples that come back `home` (built for the same
    /// addresses and ports).
    pub fn homed(mut self, home: Home) -> Self {
        let n = self.addresses.len();
        self.kept = (0..n)
            .map(|a| (0..self.ports).filter(|&o| home.keeps(a, o)).count())
            .sum();
        self.home = Some(home);
        self
    }

    /// The tuples that are ours: addresses x ports, or those that come back home.
    pub fn capacity(&self) -> usize {
        self.kept
    }

    /// Whether the tuple of `index` is ours.
    fn keeps(&self, index: u32) -> bool {
        let n = self.addresses.len() as u32;
        self.home
            .as_ref()
            .is_none_or(|h| h.keeps((index % n) as usize, (self.start + index / n) % self.ports))
    }

    fn tuple(&self, index: u32, last_snd_nxt: Option<SeqNumber>) -> Tuple {
        let n = self.addresses.len() as u32;
        Tuple {
            addr: self.addresses[(index % n) as usize],
            port: self.first_port + ((self.start + index / n) % self.ports) as u16,
            last_snd_nxt,
        }
    }

    fn index_of(&self, addr: Ipv4Addr, port: u16) -> Option<u32> {
        let a = self.addresses.iter().position(|&x| x == addr)? as u32;
        let offset = u32::from(port.checked_sub(self.first_port)?);
        if offset >= self.ports {
            return None;
        }
        let slot = (offset + self.ports - self.start) % self.ports;
        Some(slot * self.addresses.len() as u32 + a)
    }

    /// A tuple free by `now`: a never-used one while any is left, else the
    /// one that has been free the longest.
    pub fn take(&mut self, now: Instant) -> Option<Tuple> {
        let all = self.addresses.len() * self.ports as usize;
        while self.handed < self.kept && (self.fresh as usize) < all {
            let index = self.fresh;
            self.fresh += 1;
            if self.keeps(index) {
                self.handed += 1;
                return Some(self.tuple(index, None));
            }
        }
        let (queue, _) = self
            .resting
            .iter()
            .enumerate()
            .filter_map(|(i, (_, q))| q.front().map(|r| (i, r.free_at)))
            .filter(|&(_, free_at)| free_at <= now)
            .min_by_key(|&(_, free_at)| free_at)?;
        let r = self.resting[queue].1.pop_front()?;
        Some(self.tuple(r.index, r.snd_nxt))
    }

    /// Returns a tuple whose connection ended at `now` having sent up to
    /// `snd_nxt` (if known); it is free again from `free_at` (at least a
    /// tick later).
    pub fn give_back(
        &mut self,
        addr: Ipv4Addr,
        port: u16,
        snd_nxt: Option<SeqNumber>,
        now: Instant,
        free_at: Instant,
    ) {
        let Some(index) = self.index_of(addr, port) else {
            return;
        };
        let free_at = free_at.max(now + MIN_REST);
        // FIFOs by rest period, to the millisecond: few distinct ones occur
        // (a tick, the reuse delay, 2MSL), so the search is short.
        let rest = Duration::from_millis((free_at - now).as_millis() as u64);
        let r = Resting {
            free_at,
            index,
            snd_nxt,
        };
        match self.resting.iter_mut().find(|(d, _)| *d == rest) {
            Some((_, q)) => q.push_back(r),
            None => self.resting.push((rest, VecDeque::from([r]))),
        }
    }

    /// Tuples not in use (free now or resting).
    pub fn len(&self) -> usize {
        self.capacity() - self.handed + self.resting.iter().map(|(_, q)| q.len()).sum::<usize>()
    }

    /// True when every tuple is in use.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
    const B: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);

    fn alloc() -> TupleAllocator {
        TupleAllocator::new(vec![A, B], (1000, 1001), 0)
    }

    fn t0() -> Instant {
        Instant::from_millis(1)
    }

    #[test]
    fn rfc9293_3_4_2_every_tuple_once_before_any_is_reused() {
        let mut a = alloc();
        let mut got = Vec::new();
        while let Some(t) = a.take(t0()) {
            assert_eq!(t.last_snd_nxt, None);
            got.push((t.addr, t.port));
        }
        assert_eq!(got.len(), 4);
        got.sort();
        got.dedup();
        assert_eq!(got.len(), 4, "a tuple was handed out twice");
        assert!(a.is_empty());
    }

    #[test]
    fn rfc6191_a_tuple_the_peer_holds_is_free_a_tick_later_with_its_last_snd_nxt() {
        let mut a = alloc();
        while a.take(t0()).is_some() {}
        a.give_back(A, 1001, Some(SeqNumber(777)), t0(), t0());
        assert_eq!(a.take(t0()), None, "reused within the same TSval tick");
        let t = a.take(t0() + MIN_REST).unwrap();
        assert_eq!(
            (t.addr, t.port, t.last_snd_nxt),
            (A, 1001, Some(SeqNumber(777)))
        );
    }

    #[test]
    fn rfc9293_3_4_2_a_tuple_we_hold_rests_until_the_engine_lets_it_go() {
        let mut a = alloc();
        while a.take(t0()).is_some() {}
        let second = t0() + Duration::from_secs(1);
        a.give_back(A, 1000, Some(SeqNumber(1)), t0(), second);
        a.give_back(B, 1000, Some(SeqNumber(2)), t0(), t0());
        // The one the peer holds comes back first, though given back later.
        assert_eq!(a.take(t0() + MIN_REST).map(|t| t.addr), Some(B));
        assert_eq!(a.take(t0() + Duration::from_millis(999)), None);
        assert_eq!(a.take(second).map(|t| t.addr), Some(A));
    }

    #[test]
    fn rfc6528_a_tuple_given_back_without_a_snd_nxt_leaves_the_isn_to_the_clock() {
        let mut a = TupleAllocator::new(vec![A], (1000, 1000), 0);
        a.take(t0());
        a.give_back(A, 1000, None, t0(), t0());
        assert_eq!(a.take(t0() + MIN_REST).map(|t| t.last_snd_nxt), Some(None));
    }

    #[test]
    fn fresh_tuples_start_at_the_chosen_port_and_wrap() {
        let mut a = TupleAllocator::new(vec![A], (1000, 1002), 2);
        let ports: Vec<u16> = std::iter::from_fn(|| a.take(t0()).map(|t| t.port)).collect();
        assert_eq!(ports, vec![1002, 1000, 1001]);
        a.give_back(A, 1000, Some(SeqNumber(5)), t0(), t0());
        assert_eq!(a.take(t0() + MIN_REST).map(|t| t.port), Some(1000));
        // Tuples outside the allocator's space are ignored, not panicked on.
        a.give_back(B, 1000, Some(SeqNumber(5)), t0(), t0());
        a.give_back(A, 999, Some(SeqNumber(5)), t0(), t0());
        a.give_back(A, 1003, Some(SeqNumber(5)), t0(), t0());
        assert_eq!(a.len(), 0);
    }

    #[test]
    fn mtcp_each_worker_gets_only_tuples_whose_replies_rss_steers_to_it_over_the_whole_range() {
        use crate::wire::rss::VERIFICATION_KEY;
        let target = SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 9), 80);
        let ports = (1024, 65535);
        let addresses = vec![A, B];
        for workers in [2u32, 3, 4] {
            let rss = Rss {
                key: VERIFICATION_KEY.to_vec(),
                table: (0..128).map(|i| i % workers).collect(),
            };
            let mut owner = std::collections::HashMap::new();
            let mut counts = Vec::new();
            for q in 0..workers {
                let home = Home::new(rss.clone(), target, &addresses, ports, q);
                let mut a = TupleAllocator::new(addresses.clone(), ports, 12_345).homed(home);
                let capacity = a.capacity();
                let mut got = 0;
                while let Some(t) = a.take(t0()) {
                    let reply_to = SocketAddrV4::new(t.addr, t.port);
                    assert_eq!(rss.queue(target, reply_to), q, "{reply_to} given to {q}");
                    assert!(owner.insert(reply_to, q).is_none(), "{reply_to} twice");
                    got += 1;
                }
                assert_eq!(got, capacity);
                assert!(a.is_empty());
                // A tuple given back comes out again, and only ours are taken back.
                let mine = *owner.iter().find(|(_, &w)| w == q).unwrap().0;
                a.give_back(*mine.ip(), mine.port(), None, t0(), t0());
                let again = a.take(t0() + MIN_REST).unwrap();
                assert_eq!((again.addr, again.port), (*mine.ip(), mine.port()));
                counts.push(got);
            }
            // Every tuple of the range has exactly one worker, and each a fair share.
            let all = addresses.len() * (usize::from(ports.1 - ports.0) + 1);
            assert_eq!(owner.len(), all);
            let fair = all / workers as usize;
            assert!(
                counts
                    .iter()
                    .all(|&c| c > fair * 9 / 10 && c < fair * 11 / 10),
                "{workers} workers: {counts:?} tuples each"
            );
        }
    }

    fn demand(rate: Option<f64>, duration: Option<u64>, rest: u64) -> Demand {
        Demand {
            rate,
            duration: duration.map(Duration::from_secs),
            connections: None,
            concurrency: None,
            rest: Duration::from_secs(rest),
        }
    }

    #[test]
    fn a_short_run_needs_only_the_tuples_it_opens() {
        // 500/s for 1 s with a 60 s rest: 500 tuples, not 30,000.
        assert!(check_demand(&demand(Some(500.0), Some(1), 60), 1, 20001).is_ok());
        // 1000/s, 5000 connections (5 s) with a 1 s reuse delay: 1000.
        let d = Demand {
            connections: Some(5000),
            ..demand(Some(1000.0), None, 1)
        };
        assert!(check_demand(&d, 1, 20001).is_ok());
    }

    #[test]
    fn what_cannot_run_is_refused_with_the_arithmetic() {
        let e = check_demand(&demand(Some(30_000.0), Some(10), 1), 1, 20001).unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains("needs 30000 source tuples"), "{msg}");
        assert!(
            msg.contains("1 source address(es) x 20001 ports = 20001 tuples"),
            "{msg}"
        );
        let d = Demand {
            concurrency: Some(30_000),
            ..demand(None, Some(10), 0)
        };
        assert!(check_demand(&d, 1, 20001)
            .unwrap_err()
            .to_string()
            .contains("--concurrency 30000"));
        // No rest (the peer closes first): any rate fits.
        assert!(check_demand(&demand(Some(1e6), Some(10), 0), 1, 20001).is_ok());
    }
}
