//! Execution segments (k6's idea): `load --segment i/N` runs the i-th of N
//! equal shares of one test, so that N machines together run the whole.
//! Rates, connection counts and concurrency are split so that the N shares
//! add up exactly to the whole (the remainders to the first segments); a
//! shared source range is split by address, never by port, so that no two
//! machines answer ARP for one address. Pure arithmetic: the shell hands in
//! the whole test and runs the share that comes back.

use super::load::{LoadClose, LoadOptions, ResponseEnd};
use super::plan::{share, PlanError};
use core::fmt;
use serde_json::{json, Value};
use std::hash::Hasher as _;
use std::net::Ipv4Addr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// One of `count` equal shares of a test, `index` counting from 0 (as
/// Kubernetes' `JOB_COMPLETION_INDEX` does).
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Segment {
    pub index: u32,
    pub count: u32,
}

impl Segment {
    /// The whole test: the one share of one.
    pub const WHOLE: Segment = Segment { index: 0, count: 1 };

    /// `i/N` with `0 <= i < N`.
    pub fn new(index: u32, count: u32) -> Result<Self, String> {
        if count == 0 || index >= count {
            return Err(format!(
                "segment {index}/{count}: expected i/N with 0 <= i < N (i counts from 0)"
            ));
        }
        Ok(Segment { index, count })
    }

    /// Parses `i/N`, e.g. `0/3`, `2/3`.
    pub fn parse(s: &str) -> Result<Self, String> {
        let bad = || format!("{s:?}: expected i/N with 0 <= i < N, e.g. 0/3");
        let (i, n) = s.trim().split_once('/').ok_or_else(bad)?;
        let i = i.trim().parse().map_err(|_| bad())?;
        let n = n.trim().parse().map_err(|_| bad())?;
        Segment::new(i, n)
    }

    /// This segment's share of a count: even, the remainder to the first
    /// segments.
    pub fn count_share(&self, total: u64) -> u64 {
        share(total, self.count, self.index)
    }

    /// This segment's share of a rate (connections per second), split as a
    /// count of millionths so that the shares add up exactly.
    pub fn rate_share(&self, rate: f64) -> f64 {
        self.count_share(rate_micros(rate)) as f64 / RATE_UNIT
    }

    /// Where this segment's addresses start in a list of `len`, and how
    /// many it gets: contiguous, disjoint, together the whole list.
    pub fn address_range(&self, len: usize) -> core::ops::Range<usize> {
        let len = len as u64;
        let start: u64 = (0..self.index).map(|i| share(len, self.count, i)).sum();
        let n = self.count_share(len);
        start as usize..(start + n) as usize
    }

    /// This segment's source addresses of a shared list.
    pub fn addresses(&self, all: &[Ipv4Addr]) -> Vec<Ipv4Addr> {
        all[self.address_range(all.len())].to_vec()
    }

    /// This segment's share of the whole load. With `shared_sources` the
    /// source addresses are the whole test's and are split by address;
    /// otherwise they are this machine's own and kept. Refused when a
    /// share would be empty: fewer addresses, connections or concurrency
    /// than segments.
    pub fn apply(
        &self,
        whole: &LoadOptions,
        shared_sources: bool,
    ) -> Result<LoadOptions, PlanError> {
        let n = u64::from(self.count);
        let too_few = |what: &str, v: u64| {
            PlanError(format!(
                "--segment {self}: {what} {v} cannot be split into {n} non-empty shares"
            ))
        };
        if let Some(c) = whole.connections.filter(|&c| c < n) {
            return Err(too_few("--connections", c));
        }
        if let Some(c) = whole.concurrency.filter(|&c| c < n) {
            return Err(too_few("--concurrency", c));
        }
        let addresses = if shared_sources {
            if (whole.addresses.len() as u64) < n {
                return Err(too_few("--src addresses", whole.addresses.len() as u64));
            }
            self.addresses(&whole.addresses)
        } else {
            whole.addresses.clone()
        };
        if let Some(r) = whole.rate.filter(|&r| self.rate_share(r) <= 0.0) {
            return Err(PlanError(format!(
                "--segment {self}: a rate of {r}/s leaves this segment nothing"
            )));
        }
        Ok(LoadOptions {
            addresses,
            rate: whole.rate.map(|r| self.rate_share(r)),
            stages: (whole.stages.iter())
                .map(|&(d, r)| (d, self.rate_share(r)))
                .collect(),
            concurrency: whole.concurrency.map(|c| self.count_share(c)),
            connections: whole.connections.map(|c| self.count_share(c)),
            ..whole.clone()
        })
    }
}

impl fmt::Display for Segment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// What a segment runs, for a line on stderr: e.g. `segment 1/3: rate
/// 333.333/s, concurrency 85, 84 source address(es)`.
pub fn describe(seg: Segment, share: &LoadOptions) -> String {
    let mut s = format!("segment {seg}:");
    if let Some(r) = share.rate {
        s.push_str(&format!(" rate {r}/s,"));
    }
    if let Some(c) = share.concurrency {
        s.push_str(&format!(" concurrency {c},"));
    }
    if let Some(c) = share.connections {
        s.push_str(&format!(" connections {c},"));
    }
    s + &format!(" {} source address(es)", share.addresses.len())
}

/// Rates split in millionths of a connection per second.
const RATE_UNIT: f64 = 1e6;

fn rate_micros(rate: f64) -> u64 {
    (rate * RATE_UNIT).round().max(0.0) as u64
}

/// A stable hash of bytes (SipHash-2-4, key zero), in hex: the request in
/// a result's test options, enough to tell two tests apart.
pub fn bytes_hash(bytes: &[u8]) -> String {
    let mut h = siphasher::sip::SipHasher24::new();
    h.write(bytes);
    format!("{:016x}", h.finish())
}

/// The options that define a test, as the JSON result's `test` object:
/// results merge only when theirs are equal. `whole` is the whole test
/// (before [`Segment::apply`]); `src` the shared `--src` range, if any
/// (without one each machine brings its own address, which is no part of
/// the test).
pub fn test_options(whole: &LoadOptions, src: Option<&str>) -> Value {
    let secs = |d: core::time::Duration| d.as_secs_f64();
    let response = match &whole.response {
        ResponseEnd::FirstBytes => "first_bytes".to_string(),
        ResponseEnd::Bytes(n) => format!("bytes:{n}"),
        ResponseEnd::Delimiter(d) => format!("delimiter:{}", bytes_hash(d)),
        ResponseEnd::PeerFin => "peer_fin".into(),
        ResponseEnd::Http { head: false } => "http".into(),
        ResponseEnd::Http { head: true } => "http_head".into(),
    };
    json!({
        "target": whole.target.to_string(),
        "src": src,
        "ports": format!("{}-{}", whole.ports.0, whole.ports.1),
        "rate": whole.rate,
        "ramp_up_s": secs(whole.ramp_up),
        "stages": whole.stages.iter().map(|&(d, r)| json!([secs(d), r])).collect::<Vec<_>>(),
        "concurrency": whole.concurrency,
        "connections": whole.connections,
        "duration_s": whole.duration.map(secs),
        "warm_up_s": secs(whole.warm_up),
        "request_hash": whole.request.as_deref().map(bytes_hash),
        "request_bytes": whole.request.as_ref().map(Vec::len),
        "requests_per_connection": whole.requests_per_connection,
        "response": response,
        "close": match whole.close {
            LoadClose::Fin => "fin",
            LoadClose::Wait => "wait",
            LoadClose::Rst => "rst",
        },
        "response_timeout_s": whole.response_timeout.map(secs),
        "connect_timeout_s": whole.connect_timeout.map(secs),
        "grace_s": secs(whole.grace),
    })
}

/// `--start-at`: when every segment starts, the same on each machine
/// (their clocks kept in step by NTP or PTP), as an RFC 3339 date-time
/// (`2026-12-01T15:00:00Z`, `2026-12-01T16:00:00.250+01:00`; a space for
/// the `T` is fine) or as Unix seconds (`1796137200`, `1796137200.25`).
pub fn parse_start_at(s: &str) -> Result<SystemTime, String> {
    let s = s.trim();
    let bad = || {
        format!(
            "{s:?}: expected an RFC 3339 time (2026-12-01T15:00:00Z, with an offset or Z) or Unix seconds"
        )
    };
    if let Ok(secs) = s.parse::<f64>() {
        return Duration::try_from_secs_f64(secs)
            .map(|d| UNIX_EPOCH + d)
            .map_err(|_| bad());
    }
    rfc3339_nanos(s)
        .map(|ns| UNIX_EPOCH + Duration::from_nanos(ns))
        .ok_or_else(bad)
}

/// Nanoseconds since the Unix epoch of an RFC 3339 `date-time` (§5.6):
/// `full-date "T" full-time`, the offset required; leap seconds (`:60`)
/// are refused, as a start time has no use for them.
fn rfc3339_nanos(s: &str) -> Option<u64> {
    let num = |t: &str| -> Option<i64> {
        t.bytes()
            .all(|b| b.is_ascii_digit())
            .then(|| t.parse().ok())
            .flatten()
    };
    let (date, time) = s.split_once(['T', 't', ' '])?;
    let mut d = date.splitn(3, '-');
    let (y, m, day) = (d.next()?, d.next()?, d.next()?);
    if y.len() != 4 || m.len() != 2 || day.len() != 2 {
        return None;
    }
    let (y, m, day) = (num(y)?, num(m)?, num(day)?);
    let (clock, offset) = match time.find(['Z', 'z', '+', '-']) {
        Some(at) => time.split_at(at),
        None => return None,
    };
    let offset_s = match offset {
        "Z" | "z" => 0,
        o => {
            let sign = if o.starts_with('-') { -1 } else { 1 };
            let (h, mi) = o[1..].split_once(':')?;
            if h.len() != 2 || mi.len() != 2 || num(h)? > 23 || num(mi)? > 59 {
                return None;
            }
            sign * (num(h)? * 3600 + num(mi)? * 60)
        }
    };
    let (hms, frac) = clock.split_once('.').unwrap_or((clock, ""));
    let mut t = hms.splitn(3, ':');
    let (h, mi, sec) = (t.next()?, t.next()?, t.next()?);
    if h.len() != 2 || mi.len() != 2 || sec.len() != 2 || (clock.contains('.') && frac.is_empty()) {
        return None;
    }
    let (h, mi, sec) = (num(h)?, num(mi)?, num(sec)?);
    let days_in = [
        31,
        28 + i64::from(leap(y)),
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    if !(1..=12).contains(&m) || day < 1 || day > days_in[(m - 1) as usize] {
        return None;
    }
    if h > 23 || mi > 59 || sec > 59 {
        return None;
    }
    // Digits past the ninth are dropped, but must still be digits.
    if !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let nanos: i64 = match frac.len() {
        0 => 0,
        n => num(&frac[..n.min(9)])? * 10i64.pow(9 - n.min(9) as u32),
    };
    let secs = days_from_civil(y, m, day) * 86_400 + h * 3600 + mi * 60 + sec - offset_s;
    u64::try_from(secs)
        .ok()?
        .checked_mul(1_000_000_000)?
        .checked_add(nanos as u64)
}

fn leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

/// Days from 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's
/// `days_from_civil`).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::plan::load_options;
    use proptest::prelude::*;
    use std::net::SocketAddrV4;

    fn segments(n: u32) -> impl Iterator<Item = Segment> {
        (0..n).map(move |i| Segment::new(i, n).unwrap())
    }

    fn whole(addresses: usize) -> LoadOptions {
        let target = SocketAddrV4::new(Ipv4Addr::new(10, 1, 0, 1), 80);
        let addrs = (0..addresses as u32)
            .map(|i| Ipv4Addr::from(0x0a02_0000 + i))
            .collect();
        load_options(target, addrs, (10_000, 30_000))
    }

    #[test]
    fn segments_parse_as_i_over_n_from_zero() {
        assert_eq!(Segment::parse("0/3"), Ok(Segment { index: 0, count: 3 }));
        assert_eq!(Segment::parse(" 2/3 "), Ok(Segment { index: 2, count: 3 }));
        for bad in ["3/3", "0/0", "1", "a/3", "-1/3", "1/3/4", ""] {
            assert!(Segment::parse(bad).is_err(), "{bad:?}");
        }
        assert_eq!(Segment::WHOLE.to_string(), "0/1");
    }

    #[test]
    fn remainders_go_to_the_first_segments() {
        let shares: Vec<u64> = segments(3).map(|s| s.count_share(10)).collect();
        assert_eq!(shares, [4, 3, 3]);
        let rates: Vec<f64> = segments(4).map(|s| s.rate_share(10.0)).collect();
        assert_eq!(rates, [2.5, 2.5, 2.5, 2.5]);
        let ranges: Vec<_> = segments(3).map(|s| s.address_range(7)).collect();
        assert_eq!(ranges, [0..3, 3..5, 5..7]);
    }

    #[test]
    fn a_share_that_would_be_empty_is_refused() {
        let s = Segment::new(2, 3).unwrap();
        let mut w = whole(2);
        assert!(s
            .apply(&w, true)
            .unwrap_err()
            .0
            .contains("--src addresses 2"));
        assert_eq!(s.apply(&w, false).unwrap().addresses, w.addresses);
        w.concurrency = Some(2);
        assert!(s
            .apply(&w, false)
            .unwrap_err()
            .0
            .contains("--concurrency 2"));
        w.concurrency = None;
        w.connections = Some(1);
        assert!(s.apply(&w, false).is_err());
    }

    #[test]
    fn the_test_options_ignore_the_segment_but_not_the_test() {
        let mut a = whole(3);
        a.rate = Some(1000.0);
        a.request = Some(b"GET / HTTP/1.1\r\n\r\n".to_vec());
        let t = test_options(&a, Some("10.2.0.0/24"));
        assert_eq!(t["rate"], json!(1000.0));
        assert_eq!(t["close"], json!("fin"));
        let seg = Segment::new(1, 3).unwrap().apply(&a, true).unwrap();
        assert_ne!(seg.rate, a.rate);
        let mut b = a.clone();
        b.request = Some(b"GET /x HTTP/1.1\r\n\r\n".to_vec());
        assert_ne!(test_options(&b, Some("10.2.0.0/24")), t);
        b.request = a.request.clone();
        b.duration = Some(Duration::from_secs(11));
        assert_ne!(test_options(&b, Some("10.2.0.0/24")), t);
    }

    proptest! {
        #[test]
        fn n_shares_add_up_to_the_whole(
            n in 1u32..64,
            count in 0u64..1_000_000_000,
            rate in 0.0f64..10_000_000.0,
            addresses in 1usize..4096,
        ) {
            let total: u64 = segments(n).map(|s| s.count_share(count)).sum();
            prop_assert_eq!(total, count);
            // Rates add up exactly in millionths.
            let micros: u64 = segments(n).map(|s| rate_micros(s.rate_share(rate))).sum();
            prop_assert_eq!(micros, rate_micros(rate));
            let rates: f64 = segments(n).map(|s| s.rate_share(rate)).sum();
            prop_assert!((rates - rate).abs() <= 1e-6 * n as f64 + rate * 1e-12);
            // Shares differ by one at most.
            let shares: Vec<u64> = segments(n).map(|s| s.count_share(count)).collect();
            prop_assert!(shares.iter().max().unwrap() - shares.iter().min().unwrap() <= 1);
            // Address ranges: contiguous, disjoint, the whole list.
            let mut next = 0;
            for s in segments(n) {
                let r = s.address_range(addresses);
                prop_assert_eq!(r.start, next);
                next = r.end;
            }
            prop_assert_eq!(next, addresses);
        }

        #[test]
        fn applied_segments_add_up_and_never_share_an_address(
            n in 1u32..16,
            extra in 0usize..200,
            concurrency in 0u64..10_000,
            connections in 0u64..1_000_000,
            rate in 1.0f64..1_000_000.0,
            stage in 1.0f64..1_000_000.0,
        ) {
            let mut w = whole(n as usize + extra);
            w.rate = Some(rate);
            w.stages = vec![(Duration::from_secs(1), stage), (Duration::from_secs(2), 0.0)];
            w.concurrency = Some(concurrency + u64::from(n));
            w.connections = Some(connections + u64::from(n));
            let parts: Vec<LoadOptions> =
                segments(n).map(|s| s.apply(&w, true).unwrap()).collect();
            let sum = |f: &dyn Fn(&LoadOptions) -> u64| parts.iter().map(f).sum::<u64>();
            prop_assert_eq!(Some(sum(&|p| p.concurrency.unwrap())), w.concurrency);
            prop_assert_eq!(Some(sum(&|p| p.connections.unwrap())), w.connections);
            prop_assert_eq!(sum(&|p| rate_micros(p.rate.unwrap())), rate_micros(rate));
            prop_assert_eq!(sum(&|p| rate_micros(p.stages[0].1)), rate_micros(stage));
            let mut seen = std::collections::HashSet::new();
            for p in &parts {
                prop_assert!(!p.addresses.is_empty());
                prop_assert_eq!(p.stages[1].0, Duration::from_secs(2));
                prop_assert_eq!(p.duration, w.duration);
                for a in &p.addresses {
                    prop_assert!(seen.insert(*a), "{} in two segments", a);
                }
            }
            prop_assert_eq!(seen.len(), w.addresses.len());
        }
    }

    /// RFC 3339 §5.6 date-times (and §5.8's examples) and Unix seconds.
    #[test]
    fn start_times_parse_as_rfc_3339_or_unix_seconds() {
        let ns = |s: &str| {
            parse_start_at(s)
                .unwrap()
                .duration_since(UNIX_EPOCH)
                .unwrap()
                .as_nanos()
        };
        assert_eq!(ns("1970-01-01T00:00:00Z"), 0);
        // RFC 3339 §5.8: the same instant, in UTC and at an offset.
        assert_eq!(ns("1985-04-12T23:20:50.52Z"), 482_196_050_520_000_000);
        assert_eq!(ns("1996-12-19T16:39:57-08:00"), 851_042_397_000_000_000);
        assert_eq!(ns("1996-12-20T00:39:57Z"), 851_042_397_000_000_000);
        assert_eq!(
            ns("2026-12-01 15:00:00.000000001+00:00"),
            1_796_137_200_000_000_001
        );
        assert_eq!(ns("2000-02-29T00:00:00Z"), 951_782_400_000_000_000);
        assert_eq!(ns("1764601200"), 1_764_601_200_000_000_000);
        assert_eq!(ns("1764601200.25"), 1_764_601_200_250_000_000);
        for bad in [
            "2026-12-01T15:00:00.12345678éZ",
            "2026-12-01T15:00:00.1234567890abcZ",
            "2026-12-01T15:00:00",
            "2026-13-01T15:00:00Z",
            "2026-02-29T15:00:00Z",
            "2026-12-01T24:00:00Z",
            "2016-12-31T23:59:60Z",
            "2026-12-01T15:00Z",
            "2026-12-01T15:00:00.Z",
            "2026-12-01T15:00:00+1:00",
            "26-12-01T15:00:00Z",
            "tomorrow",
            "-5",
            "",
        ] {
            let e = parse_start_at(bad).unwrap_err();
            assert!(e.contains("RFC 3339"), "{bad}: {e}");
        }
    }
}
