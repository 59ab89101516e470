//! SYN cookies (RFC 4987 §3.6): when the half-open table is full, the
//! SYN-ACK's sequence number carries the connection's state, so a SYN flood
//! costs no memory and the returning ACK can still open the connection.

use super::isn::keyed_hash;
use super::{FourTuple, Instant};
use crate::wire::SeqNumber;

/// MSS values a cookie can carry in its 3 bits, rounded down to: the common
/// ones (RFC 4987 §3.6 suggests a small table). 64 is the floor the engine
/// puts under any peer MSS (as for a SYN that gets a TCB), so that a peer
/// announcing less than 536 is never sent more than it asked for.
const MSS_TABLE: [u16; 8] = [64, 536, 1200, 1220, 1360, 1400, 1440, 1460];

/// A cookie's time counter advances every 64 s; one is valid in its epoch
/// and the next, so for 64–128 s, as Linux's are.
const EPOCH_SECS: u64 = 64;

/// Makes and checks cookies with a per-process key.
#[derive(Clone)]
pub struct SynCookies {
    key: [u8; 16],
}

impl SynCookies {
    /// `key` must be secret and random; derive it apart from the ISN key.
    pub fn new(key: [u8; 16]) -> Self {
        SynCookies { key }
    }

    /// The full epoch counter; a cookie carries only its low 5 bits.
    fn epoch(now: Instant) -> u32 {
        (now.as_millis() / 1000 / EPOCH_SECS) as u32
    }

    /// 24 bits of keyed hash over the 4-tuple, the peer's ISN, the full
    /// epoch counter and the MSS index: forging a cookie or changing its MSS
    /// takes the key, and a replay stops working after an epoch — for good,
    /// since the 5 bits on the wire repeat every 32 epochs but the counter
    /// under the MAC does not.
    fn mac(&self, tuple: &FourTuple, peer_isn: SeqNumber, epoch: u32, idx: u32) -> u32 {
        (keyed_hash(&self.key, tuple, &[peer_isn.0, epoch, idx]) as u32) & 0x00ff_ffff
    }

    /// The ISS for a SYN-ACK answering a SYN with sequence number
    /// `peer_isn` and MSS option `peer_mss`: 5 bits of time, 3 bits of MSS
    /// index (the largest table MSS not above the peer's), 24 bits of MAC.
    pub fn encode(
        &self,
        tuple: &FourTuple,
        peer_isn: SeqNumber,
        peer_mss: u16,
        now: Instant,
    ) -> SeqNumber {
        let epoch = Self::epoch(now);
        let idx = MSS_TABLE.iter().rposition(|&m| m <= peer_mss).unwrap_or(0) as u32;
        SeqNumber(((epoch & 0x1f) << 27) | (idx << 24) | self.mac(tuple, peer_isn, epoch, idx))
    }

    /// Checks the cookie an ACK returns (SEG.ACK − 1, with SEG.SEQ − 1 the
    /// peer's ISN); the MSS it carried if it is ours and fresh.
    pub fn decode(
        &self,
        tuple: &FourTuple,
        peer_isn: SeqNumber,
        cookie: SeqNumber,
        now: Instant,
    ) -> Option<u16> {
        let low = cookie.0 >> 27;
        let idx = (cookie.0 >> 24) & 0x7;
        let current = Self::epoch(now);
        // The epoch it was made in, this one or the last: the only two
        // whose low bits can match.
        let epoch = [current, current.wrapping_sub(1)]
            .into_iter()
            .find(|e| e & 0x1f == low)?;
        if cookie.0 & 0x00ff_ffff != self.mac(tuple, peer_isn, epoch, idx) {
            return None;
        }
        Some(MSS_TABLE[idx as usize])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn tuple(port: u16) -> FourTuple {
        FourTuple {
            local_ip: Ipv4Addr::new(10, 0, 0, 1),
            remote_ip: Ipv4Addr::new(10, 0, 0, 2),
            local_port: 80,
            remote_port: port,
        }
    }

    #[test]
    fn rfc4987_3_6_cookie_round_trips_with_its_mss() {
        let c = SynCookies::new([3; 16]);
        let now = Instant::from_millis(1_000_000);
        for (mss, want) in [
            (1460, 1460),
            (1500, 1460),
            (1300, 1220),
            (100, 64),
            (536, 536),
        ] {
            let cookie = c.encode(&tuple(5), SeqNumber(77), mss, now);
            assert_eq!(c.decode(&tuple(5), SeqNumber(77), cookie, now), Some(want));
        }
    }

    #[test]
    fn rfc4987_3_6_forged_or_misdirected_cookie_is_rejected() {
        let c = SynCookies::new([3; 16]);
        let now = Instant::from_millis(1_000_000);
        let cookie = c.encode(&tuple(5), SeqNumber(77), 1460, now);
        assert_eq!(
            c.decode(&tuple(6), SeqNumber(77), cookie, now),
            None,
            "other tuple"
        );
        assert_eq!(
            c.decode(&tuple(5), SeqNumber(78), cookie, now),
            None,
            "other ISN"
        );
        assert_eq!(
            c.decode(&tuple(5), SeqNumber(77), cookie + 1, now),
            None,
            "altered cookie"
        );
        assert_eq!(
            SynCookies::new([4; 16]).decode(&tuple(5), SeqNumber(77), cookie, now),
            None,
            "other key"
        );
    }

    #[test]
    fn rfc4987_3_6_cookie_is_not_valid_again_32_epochs_later() {
        let c = SynCookies::new([3; 16]);
        let t0 = Instant::from_millis(64_000 * 10);
        let cookie = c.encode(&tuple(5), SeqNumber(1), 1460, t0);
        for laps in 1..4u64 {
            let later = t0 + core::time::Duration::from_secs(laps * 32 * EPOCH_SECS);
            assert_eq!(
                c.decode(&tuple(5), SeqNumber(1), cookie, later),
                None,
                "a cookie came back to life {laps} × 32 epochs later"
            );
        }
    }

    #[test]
    fn rfc4987_3_6_cookie_mss_index_is_covered_by_the_mac() {
        let c = SynCookies::new([3; 16]);
        let now = Instant::from_millis(1_000_000);
        let cookie = c.encode(&tuple(5), SeqNumber(77), 536, now);
        for idx in 1..8u32 {
            let forged = SeqNumber(cookie.0 ^ (idx << 24));
            assert_eq!(
                c.decode(&tuple(5), SeqNumber(77), forged, now),
                None,
                "MSS index changed without the key"
            );
        }
    }

    #[test]
    fn rfc4987_3_6_small_peer_mss_is_never_rounded_up() {
        let c = SynCookies::new([3; 16]);
        let now = Instant::from_millis(1_000_000);
        for mss in [64u16, 100, 300, 535] {
            let cookie = c.encode(&tuple(5), SeqNumber(77), mss, now);
            let got = c.decode(&tuple(5), SeqNumber(77), cookie, now).unwrap();
            assert!(got <= mss, "peer MSS {mss} rounded up to {got}");
        }
    }

    #[test]
    fn rfc4987_3_6_replayed_cookie_expires_after_two_epochs() {
        let c = SynCookies::new([3; 16]);
        let t0 = Instant::from_millis(64_000 * 10);
        let cookie = c.encode(&tuple(5), SeqNumber(1), 1460, t0);
        assert!(c
            .decode(
                &tuple(5),
                SeqNumber(1),
                cookie,
                t0 + core::time::Duration::from_secs(64)
            )
            .is_some());
        assert!(c
            .decode(
                &tuple(5),
                SeqNumber(1),
                cookie,
                t0 + core::time::Duration::from_secs(128)
            )
            .is_none());
    }
}
