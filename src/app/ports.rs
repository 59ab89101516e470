//! Source addresses and ports for outgoing connections, handed out so that
//! no 4-tuple is reused while it may still be in TIME-WAIT at either end
//! (RFC 9293 §3.4.2, RFC 6191).

use crate::tcp::Instant;
use core::fmt;
use core::time::Duration;
use std::collections::VecDeque;
use std::net::Ipv4Addr;

/// The requested rate cannot be sustained by the tuple space: the arithmetic.
#[derive(Clone, Debug, PartialEq)]
pub struct TupleSpaceError {
    pub rate: f64,
    pub quarantine: Duration,
    pub addresses: usize,
    pub ports: usize,
}

impl fmt::Display for TupleSpaceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let needed = self.rate * self.quarantine.as_secs_f64();
        write!(
            f,
            "--rate {:.0}/s holds {:.0} tuples in TIME-WAIT ({:.0}/s x 2MSL {:.1} s), but {} source address(es) x {} ports = {} tuples; \
             lower --rate, add source addresses (--src a.b.c.d/n) or ports, or lower --msl-ms",
            self.rate,
            needed,
            self.rate,
            self.quarantine.as_secs_f64(),
            self.addresses,
            self.ports,
            self.addresses * self.ports
        )
    }
}

impl std::error::Error for TupleSpaceError {}

/// A FIFO of (address, port) pairs; one comes back usable only 2MSL after
/// its connection ended. Since release times only grow, the FIFO's head is
/// always the first to become free again.
#[derive(Clone, Debug)]
pub struct PortAllocator {
    addresses: Vec<Ipv4Addr>,
    free: VecDeque<(Instant, u16, u16)>,
    quarantine: Duration,
    ports: usize,
}

impl PortAllocator {
    /// Every port of `ports` (inclusive) on every address, free now;
    /// `quarantine` is 2MSL.
    pub fn new(addresses: Vec<Ipv4Addr>, ports: (u16, u16), quarantine: Duration) -> Self {
        let mut free = VecDeque::new();
        // Interleave addresses so consecutive connections spread over them.
        for port in ports.0..=ports.1 {
            for a in 0..addresses.len() {
                free.push_back((Instant::ZERO, a as u16, port));
            }
        }
        let ports = usize::from(ports.1 - ports.0) + 1;
        PortAllocator {
            addresses,
            free,
            quarantine,
            ports,
        }
    }

    /// Checks that `rate` connections per second can go on forever: each
    /// tuple is busy for 2MSL after its connection, so at most
    /// tuples / 2MSL per second.
    pub fn check_rate(&self, rate: f64) -> Result<(), TupleSpaceError> {
        let capacity =
            (self.addresses.len() * self.ports) as f64 / self.quarantine.as_secs_f64().max(1e-9);
        if rate > capacity {
            return Err(TupleSpaceError {
                rate,
                quarantine: self.quarantine,
                addresses: self.addresses.len(),
                ports: self.ports,
            });
        }
        Ok(())
    }

    /// A tuple free by `now`, if any.
    pub fn take(&mut self, now: Instant) -> Option<(Ipv4Addr, u16)> {
        let &(free_at, a, port) = self.free.front()?;
        if free_at > now {
            return None;
        }
        self.free.pop_front();
        Some((self.addresses[usize::from(a)], port))
    }

    /// Returns a tuple whose connection ended at `now`: usable again after 2MSL.
    pub fn give_back(&mut self, addr: Ipv4Addr, port: u16, now: Instant) {
        if let Some(a) = self.addresses.iter().position(|&x| x == addr) {
            self.free.push_back((now + self.quarantine, a as u16, port));
        }
    }

    /// Tuples usable right now or later.
    pub fn len(&self) -> usize {
        self.free.len()
    }

    /// True when every tuple is in use.
    pub fn is_empty(&self) -> bool {
        self.free.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alloc() -> PortAllocator {
        PortAllocator::new(
            vec![Ipv4Addr::new(10, 0, 0, 1), Ipv4Addr::new(10, 0, 0, 2)],
            (1000, 1001),
            Duration::from_secs(60),
        )
    }

    #[test]
    fn rfc9293_3_4_2_no_tuple_is_reused_within_2msl() {
        let mut a = alloc();
        let t0 = Instant::from_millis(1);
        let mut got = Vec::new();
        while let Some(t) = a.take(t0) {
            got.push(t);
        }
        assert_eq!(got.len(), 4);
        got.sort();
        got.dedup();
        assert_eq!(got.len(), 4, "a tuple was handed out twice");
        a.give_back(got[0].0, got[0].1, t0);
        assert_eq!(a.take(t0 + Duration::from_secs(59)), None);
        assert_eq!(a.take(t0 + Duration::from_secs(60)), Some(got[0]));
    }

    #[test]
    fn exhaustion_reports_the_arithmetic() {
        let a = alloc();
        assert!(a.check_rate(4.0 / 60.0).is_ok());
        let e = a.check_rate(1.0).unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains("60 tuples in TIME-WAIT"), "{msg}");
        assert!(
            msg.contains("2 source address(es) x 2 ports = 4 tuples"),
            "{msg}"
        );
    }
}
