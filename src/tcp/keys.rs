//! The secrets behind ISNs (RFC 6528), SYN cookies (RFC 4987) and timestamp
//! offsets (RFC 7323 §5.4): three independent keys, so that learning one
//! function's output says nothing about another's.

use super::isn::keyed_hash;
use super::FourTuple;

/// An engine's keys. The shell keeps them for the life of the boot (so that
/// ISNs and TSvals keep growing across runs, as the peer's TIME-WAIT and PAWS
/// expect) and readable by root only; the engine reads no randomness.
#[derive(Clone)]
pub struct Keys {
    /// Keys F of RFC 6528 §3.
    pub isn: [u8; 16],
    /// Keys the SYN-cookie MAC.
    pub syn_cookie: [u8; 16],
    /// Keys the per-address-pair TSval offset.
    pub timestamp: [u8; 16],
}

impl Keys {
    /// The offset added to our TSval clock towards one peer address: random
    /// per address pair (as Linux's `tcp_ts_off`), so TSvals reveal neither
    /// uptime nor how many other peers we talk to, yet the same for every
    /// port, so that one peer sees a single clock that only grows.
    pub fn ts_offset(&self, tuple: &FourTuple) -> u32 {
        let pair = FourTuple {
            local_port: 0,
            remote_port: 0,
            ..*tuple
        };
        keyed_hash(&self.timestamp, &pair, &[]) as u32
    }
}

/// Three keys spread from one secret, for tests and benches that drive an
/// engine with a fixed seed.
impl From<[u8; 16]> for Keys {
    fn from(seed: [u8; 16]) -> Self {
        Keys {
            isn: seed,
            syn_cookie: seed.map(|b| b ^ 0x5c),
            timestamp: seed.map(|b| b ^ 0x36),
        }
    }
}
