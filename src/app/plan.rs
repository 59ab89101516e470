//! Planning a run before anything is attached: source addresses, ports and
//! counts split across workers, request templates, the tuple-space check,
//! and what a finished run's counts say about its exit status. Pure: the
//! shell hands in what it learned from the system (the interface's
//! address) and acts on what comes back.

use super::http;
use super::load::{LoadClose, LoadOptions, ResponseEnd};
use super::tuples::{check_demand, Demand};
use crate::tcp::Config;
use crate::wire::rss::Rss;
use crate::wire::MacAddr;
use core::fmt;
use core::time::Duration;
use std::net::{Ipv4Addr, SocketAddrV4};

/// A run that cannot be planned, with the reason (one line, for the user).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlanError(pub String);

impl fmt::Display for PlanError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for PlanError {}

fn err<T>(msg: impl Into<String>) -> Result<T, PlanError> {
    Err(PlanError(msg.into()))
}

/// Source addresses at most: the size of the XDP program's address maps.
pub const MAX_SOURCES: usize = 4096;

/// Neighbours a Linux host keeps at most by default (gc_thresh3).
pub const LINUX_NEIGHBOURS: usize = 1024;

/// How a run ended, for the exit status (0, 3, or 128 + the signal).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Done,
    /// It went through but did not do what was asked: every connection
    /// failed, or more than the allowed share of them.
    Failed(String),
    /// A signal cut it short.
    Interrupted(i32),
}

/// Done, unless a signal cut the run short, or every connection failed, or
/// more than `max_error_rate` did.
pub fn judge(
    started: u64,
    failed: u64,
    max_error_rate: Option<f64>,
    signal: Option<i32>,
) -> Outcome {
    if let Some(sig) = signal {
        return Outcome::Interrupted(sig);
    }
    if started == 0 {
        return Outcome::Failed("no connection was started".into());
    }
    let rate = failed as f64 / started as f64;
    let too_many = match max_error_rate {
        Some(max) => rate > max,
        None => failed == started,
    };
    if too_many {
        Outcome::Failed(format!(
            "{failed} of {started} connections failed ({:.1}%)",
            100.0 * rate
        ))
    } else {
        Outcome::Done
    }
}

/// How many source ports each worker gets: the range split evenly; an error
/// when there are fewer ports than workers.
pub fn ports_per_worker(ports: (u16, u16), workers: u32) -> Result<u32, PlanError> {
    match (u32::from(ports.1) - u32::from(ports.0) + 1) / workers.max(1) {
        0 => err("fewer source ports than workers"),
        span => Ok(span),
    }
}

/// Worker `queue`'s slice of the source port range, `span` ports long.
pub fn port_slice(ports: (u16, u16), span: u32, queue: u32) -> (u16, u16) {
    let first = u32::from(ports.0) + queue * span;
    (first as u16, (first + span - 1) as u16)
}

/// Worker `queue`'s share of `total`: even, the remainder to the first ones.
pub fn share(total: u64, workers: u32, queue: u32) -> u64 {
    let workers = u64::from(workers.max(1));
    total / workers + u64::from(u64::from(queue) < total % workers)
}

/// A target must name a host and a port: port 0 is no service.
pub fn check_target(target: SocketAddrV4) -> Result<(), PlanError> {
    if target.port() == 0 || target.ip().is_unspecified() || target.ip().is_broadcast() {
        return err(format!(
            "--target {target}: give a host address and a nonzero port"
        ));
    }
    Ok(())
}

/// Addresses as `a, b, c`, or `none`.
pub fn list(addrs: &[Ipv4Addr]) -> String {
    if addrs.is_empty() {
        return "none".into();
    }
    addrs
        .iter()
        .map(|a| a.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Unescapes \r \n \t \\ and fills in {host}.
pub fn template(s: &str, target: SocketAddrV4) -> Vec<u8> {
    let mut out = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('r') => out.push('\r'),
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    out.replace("{host}", &target.to_string()).into_bytes()
}

/// How a load's responses end: as `explicit` says (a `--response-*` flag),
/// otherwise where HTTP/1.x frames them when the request is an HTTP/1.x
/// request (its first line `METHOD SP target SP HTTP/1.x`, RFC 9112 §3),
/// otherwise at their first bytes.
pub fn response_end(explicit: Option<ResponseEnd>, request: Option<&[u8]>) -> ResponseEnd {
    explicit.unwrap_or_else(|| match request.and_then(http::request_line) {
        Some(line) => ResponseEnd::Http { head: line.head },
        None => ResponseEnd::FirstBytes,
    })
}

/// Parses `a.b.c.d` or `a.b.c.d/n` (n ≥ 20) into the host addresses of the
/// range; no spec means `own`, the interface's address.
pub fn source_addresses(spec: Option<&str>, own: Ipv4Addr) -> Result<Vec<Ipv4Addr>, PlanError> {
    let Some(spec) = spec else {
        return Ok(vec![own]);
    };
    let bad = || {
        PlanError(format!(
            "--src {spec:?}: expected an IPv4 address or a.b.c.d/n with n >= 20"
        ))
    };
    let (ip, len) = match spec.split_once('/') {
        Some((ip, len)) => (ip, len.parse::<u8>().map_err(|_| bad())?),
        None => (spec, 32),
    };
    let ip: Ipv4Addr = ip.parse().map_err(|_| bad())?;
    if !(20..=32).contains(&len) {
        return Err(bad());
    }
    if len >= 31 {
        return Ok(vec![ip]);
    }
    let mask = u32::MAX << (32 - len);
    let net = u32::from(ip) & mask;
    // Hosts only: not the network nor the broadcast address.
    Ok((net + 1..net | !mask).map(Ipv4Addr::from).collect())
}

/// The sources a load may use towards `target`: never the target's own
/// address, at most [`MAX_SOURCES`].
pub fn load_sources(
    spec: Option<&str>,
    own: Ipv4Addr,
    target: SocketAddrV4,
) -> Result<Vec<Ipv4Addr>, PlanError> {
    let mut addresses = source_addresses(spec, own)?;
    addresses.retain(|a| a != target.ip());
    if addresses.is_empty() {
        return err("--src leaves no source address besides the target's");
    }
    if addresses.len() > MAX_SOURCES {
        return err(format!(
            "--src: at most {MAX_SOURCES} source addresses (the XDP program's maps)"
        ));
    }
    Ok(addresses)
}

/// The load every worker shares before it is split: target and sources
/// given, defaults elsewhere (as the CLI's).
pub fn load_options(
    target: SocketAddrV4,
    addresses: Vec<Ipv4Addr>,
    ports: (u16, u16),
) -> LoadOptions {
    LoadOptions {
        target,
        next_hop: MacAddr::default(),
        addresses,
        ports,
        rate: None,
        ramp_up: Duration::ZERO,
        stages: Vec::new(),
        concurrency: None,
        connections: None,
        duration: None,
        warm_up: Duration::ZERO,
        request: None,
        requests_per_connection: 0,
        response: ResponseEnd::FirstBytes,
        close: LoadClose::Fin,
        response_timeout: Some(Duration::from_secs(5)),
        connect_timeout: Some(Duration::from_secs(5)),
        grace: Duration::from_secs(5),
        first_port: 0,
        home: None,
    }
}

/// Refuses a load the tuple space cannot carry, with the arithmetic: only
/// our own TIME-WAIT keeps a tuple from us, for the engine's reuse delay
/// (or 2MSL when strict).
pub fn check_tuples(whole: &LoadOptions, engine: &Config) -> Result<(), PlanError> {
    if let Some(rate) = whole.rate {
        if !(rate > 0.0 && rate.is_finite()) {
            return err("--rate must be a positive number");
        }
    }
    let rest = match (whole.close, engine.time_wait_reuse) {
        (LoadClose::Fin, Some(reuse)) => reuse,
        (LoadClose::Fin, None) => 2 * engine.msl,
        (LoadClose::Wait | LoadClose::Rst, _) => Duration::ZERO,
    };
    let demand = Demand {
        rate: whole.rate,
        duration: whole.duration,
        connections: whole.connections,
        concurrency: whole.concurrency,
        rest,
    };
    let ports = usize::from(whole.ports.1 - whole.ports.0) + 1;
    check_demand(&demand, whole.addresses.len(), ports).map_err(|e| PlanError(e.to_string()))
}

/// How long the workers may run at most, a safety net behind the load's
/// own end (duration, grace, per-connection timeouts).
pub fn safety_deadline(whole: &LoadOptions) -> Option<Duration> {
    whole
        .duration
        .map(|d| whole.warm_up + d + whole.grace + Duration::from_secs(5))
}

/// What a run needs steered to its workers and resolved before they start,
/// as the application declares it; `io::Runtime` programs the XDP maps and
/// the ARP answers from it, and looks up the next hop.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Steering {
    /// Where we accept connections.
    pub listeners: Vec<SocketAddrV4>,
    /// Source addresses whose `ports` are ours. Those the interface does not
    /// own are probed for (RFC 5227) and answered for in ARP.
    pub sources: Vec<Ipv4Addr>,
    /// Source ports per address, `lo..=hi`.
    pub ports: (u16, u16),
    /// Where connections go, whose next hop's MAC the workers need.
    pub target: Option<Ipv4Addr>,
}

/// What each worker learns as it starts, beyond its own options.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WorkerStart {
    /// The worker's queue (its index).
    pub queue: u32,
    /// The MAC of [`Steering::target`]'s next hop (zero without a target).
    pub next_hop: MacAddr,
    /// A random number drawn once per run: where never-used tuples start.
    pub seed: u32,
    /// The NIC's RSS, when it hashes TCP/IPv4 by Toeplitz over the 4-tuple
    /// (and the run has several workers): source ports are chosen by it.
    pub rss: Option<Rss>,
}

/// A load split across workers: each gets a slice of the port range and its
/// share of rate, concurrency and count.
#[derive(Clone, Debug)]
pub struct LoadPlan {
    pub whole: LoadOptions,
    workers: u32,
    span: u32,
}

impl LoadPlan {
    /// Refuses a load the tuple space cannot carry (see [`check_tuples`]) or
    /// one with fewer source ports than workers.
    pub fn new(whole: LoadOptions, workers: u32, engine: &Config) -> Result<Self, PlanError> {
        check_tuples(&whole, engine)?;
        let workers = workers.max(1);
        let span = ports_per_worker(whole.ports, workers)?;
        Ok(LoadPlan {
            whole,
            workers,
            span,
        })
    }

    /// The addresses, ports and target the load needs steered.
    pub fn steering(&self) -> Steering {
        Steering {
            listeners: Vec::new(),
            sources: self.whole.addresses.clone(),
            ports: self.whole.ports,
            target: Some(*self.whole.target.ip()),
        }
    }

    /// Worker `w.queue`'s share of the load: its slice of the port range,
    /// or with the NIC's RSS known, the tuples of the whole range whose
    /// replies come back to its queue.
    pub fn worker(&self, w: &WorkerStart) -> LoadOptions {
        let workers = self.workers;
        let whole = &self.whole;
        let (ports, home) = match &w.rss {
            Some(rss) => (whole.ports, Some((rss.clone(), w.queue))),
            None => (port_slice(whole.ports, self.span, w.queue), None),
        };
        LoadOptions {
            next_hop: w.next_hop,
            ports,
            home,
            rate: whole.rate.map(|r| r / f64::from(workers)),
            stages: (whole.stages.iter())
                .map(|&(d, r)| (d, r / f64::from(workers)))
                .collect(),
            concurrency: whole.concurrency.map(|c| c.div_ceil(u64::from(workers))),
            connections: whole.connections.map(|n| share(n, workers, w.queue)),
            first_port: w.seed,
            ..whole.clone()
        }
    }

    /// How long the workers may run at most (see [`safety_deadline`]).
    pub fn deadline(&self) -> Option<Duration> {
        safety_deadline(&self.whole)
    }
}

/// The address to listen on: `listen`, or with 0.0.0.0 the interface's
/// first address; refused when the port is 0 or the interface does not own
/// the address (no peer could reach it).
pub fn listen_address(
    listen: SocketAddrV4,
    iface: &str,
    own: &[Ipv4Addr],
) -> Result<SocketAddrV4, PlanError> {
    if listen.port() == 0 {
        return err(format!("--listen {listen}: give a nonzero port"));
    }
    if listen.ip().is_unspecified() {
        return match own.first() {
            Some(ip) => Ok(SocketAddrV4::new(*ip, listen.port())),
            None => err(format!("interface {iface} has no IPv4 address")),
        };
    }
    if !own.contains(listen.ip()) {
        return err(format!(
            "--listen {listen}: {} is not an address of {iface} (it has {}); no peer could reach it",
            listen.ip(),
            list(own)
        ));
    }
    Ok(listen)
}

/// Parses a duration as people type it: a number with a unit (`10s`,
/// `500ms`, `250us`, `2m`, `1h`) or a bare number of seconds (`2.5`).
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let (value, unit) = number_and_unit(s, "a duration (e.g. 10s, 500ms, 2.5)")?;
    let scale = match unit {
        "" | "s" => 1.0,
        "ms" => 1e-3,
        "us" | "µs" => 1e-6,
        "ns" => 1e-9,
        "m" | "min" => 60.0,
        "h" => 3600.0,
        other => {
            return Err(format!(
                "unknown unit {other:?} (use ns, us, ms, s, m or h)"
            ))
        }
    };
    Duration::try_from_secs_f64(value * scale).map_err(|_| format!("{s:?} is out of range"))
}

/// A non-negative decimal number and the unit that follows it, as typed:
/// `2.5ms` is (2.5, "ms"); `what` names the kind of value in the error.
fn number_and_unit<'a>(s: &'a str, what: &str) -> Result<(f64, &'a str), String> {
    let t = s.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let value = num.parse().map_err(|_| format!("{s:?} is not {what}"))?;
    Ok((value, unit.trim()))
}

/// Like [`parse_duration`], but zero is refused too: a run of no time does
/// nothing.
pub fn parse_positive_duration(s: &str) -> Result<Duration, String> {
    match parse_duration(s)? {
        d if d.is_zero() => Err("must be more than 0 seconds".into()),
        d => Ok(d),
    }
}

/// Parses `--stages`: `DURATION:RATE` pairs separated by commas, e.g.
/// `10s:1000,30s:50000,10s:0` (ramp to 1000/s over 10 s, to 50000/s over
/// the next 30 s, down to 0 over the last 10 s).
pub fn parse_stages(s: &str) -> Result<Vec<(Duration, f64)>, String> {
    let stages = s
        .split(',')
        .map(|stage| {
            let (d, r) = stage
                .split_once(':')
                .ok_or_else(|| format!("{stage:?}: expected DURATION:RATE, e.g. 10s:1000"))?;
            let rate: f64 = r
                .trim()
                .parse()
                .map_err(|_| format!("{r:?} is not a rate"))?;
            if !(rate >= 0.0 && rate.is_finite()) {
                return Err(format!(
                    "{r:?}: a rate is a number of connections per second, 0 or more"
                ));
            }
            Ok((parse_duration(d)?, rate))
        })
        .collect::<Result<Vec<_>, String>>()?;
    if stages.iter().all(|s| s.1 == 0.0) || stages.iter().all(|s| s.0.is_zero()) {
        return Err("the stages never open a connection".into());
    }
    Ok(stages)
}

/// Parses a size as people type it: a number with a unit, decimal (`kB`,
/// `KB`, `MB`, `GB`) or binary (`KiB`, `MiB`, `GiB`), or a bare number of
/// `bare` bytes (1 for a byte count, 1 MiB where the flag has always been
/// in megabytes).
pub fn parse_size(s: &str, bare: u64) -> Result<u64, String> {
    let (v, unit) = number_and_unit(s, "a size (e.g. 64KiB, 1MB, 4096)")?;
    let scale = match unit {
        "" => bare as f64,
        "B" => 1.0,
        "kB" | "KB" | "k" | "K" => 1e3,
        "MB" | "M" => 1e6,
        "GB" | "G" => 1e9,
        "KiB" => 1024.0,
        "MiB" => 1024.0 * 1024.0,
        "GiB" => 1024.0 * 1024.0 * 1024.0,
        other => {
            return Err(format!(
                "unknown unit {other:?} (use B, kB, MB, GB, KiB, MiB or GiB)"
            ))
        }
    };
    let bytes = (v * scale).round();
    if bytes.is_finite() && bytes <= u64::MAX as f64 {
        Ok(bytes as u64)
    } else {
        Err(format!("{s:?} is out of range"))
    }
}

/// `parse_size` for a byte count: bare numbers are bytes.
pub fn parse_bytes(s: &str) -> Result<usize, String> {
    parse_size(s, 1).and_then(|b| usize::try_from(b).map_err(|_| format!("{s:?} is out of range")))
}

/// `parse_size` for a memory limit: bare numbers are MiB.
pub fn parse_memory(s: &str) -> Result<usize, String> {
    parse_size(s, 1 << 20)
        .and_then(|b| usize::try_from(b).map_err(|_| format!("{s:?} is out of range")))
}

/// The mean rate over `stages`, each ramping linearly from the rate before
/// it (0 at first): what a run of them targets on average.
pub fn mean_rate(stages: &[(Duration, f64)]) -> f64 {
    let (mut prev, mut count, mut time) = (0.0, 0.0, 0.0);
    for &(d, r) in stages {
        count += (prev + r) / 2.0 * d.as_secs_f64();
        time += d.as_secs_f64();
        prev = r;
    }
    count / time.max(1e-9)
}

/// Parses a fraction as `0.001` or as a percentage, `0.1%`; within 0..=1.
pub fn parse_fraction(s: &str) -> Result<f64, String> {
    let (num, scale) = match s.trim().strip_suffix('%') {
        Some(n) => (n, 0.01),
        None => (s.trim(), 1.0),
    };
    let v = num
        .trim()
        .parse::<f64>()
        .map_err(|_| format!("{s:?} is not a fraction (e.g. 0.001 or 0.1%)"))?
        * scale;
    if (0.0..=1.0).contains(&v) {
        Ok(v)
    } else {
        Err(format!("{s:?} is not within 0..=1 (0%..=100%)"))
    }
}

/// A count that must be at least 1.
pub fn at_least_one(n: u64, what: &str) -> Result<u64, PlanError> {
    match n {
        0 => err(format!("{what} must be at least 1")),
        n => Ok(n),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: SocketAddrV4 = SocketAddrV4::new(Ipv4Addr::new(10, 77, 0, 2), 80);

    #[test]
    fn templates_unescape_and_fill_in_the_host() {
        assert_eq!(
            template("GET / HTTP/1.1\\r\\nHost: {host}\\r\\n\\r\\n", T),
            b"GET / HTTP/1.1\r\nHost: 10.77.0.2:80\r\n\r\n".to_vec()
        );
        assert_eq!(template("a\\tb\\\\c\\", T), b"a\tb\\c\\".to_vec());
    }

    #[test]
    fn an_http1_request_gets_http_framing_unless_a_flag_says_otherwise_rfc9112_3() {
        let get = template("GET /missing HTTP/1.1\\r\\nHost: {host}\\r\\n\\r\\n", T);
        let head = b"HEAD / HTTP/1.0\r\n\r\n".as_slice();
        assert_eq!(
            response_end(None, Some(&get)),
            ResponseEnd::Http { head: false }
        );
        assert_eq!(
            response_end(None, Some(head)),
            ResponseEnd::Http { head: true }
        );
        // Not HTTP/1.x, or no request at all: today's rule.
        for request in [Some(&b"hello\n"[..]), Some(b"GET / HTTP/1.1"), None] {
            assert_eq!(response_end(None, request), ResponseEnd::FirstBytes);
        }
        // A flag wins.
        for explicit in [
            ResponseEnd::Bytes(40),
            ResponseEnd::Delimiter(b"ok".to_vec()),
            ResponseEnd::PeerFin,
        ] {
            assert_eq!(response_end(Some(explicit.clone()), Some(&get)), explicit);
        }
    }

    #[test]
    fn sources_are_the_hosts_of_a_range_and_never_the_target() {
        let own = Ipv4Addr::new(10, 77, 0, 1);
        assert_eq!(source_addresses(None, own), Ok(vec![own]));
        let r = load_sources(Some("10.77.0.0/29"), own, T).unwrap();
        assert_eq!(r.len(), 5, "6 hosts less the target: {r:?}");
        assert!(!r.contains(T.ip()));
        assert!(source_addresses(Some("10.77.0.0/19"), own).is_err());
        assert!(source_addresses(Some("nonsense"), own).is_err());
        assert_eq!(
            load_sources(Some("10.77.0.0/20"), own, T).unwrap().len(),
            4093
        );
    }

    #[test]
    fn durations_take_units_and_bare_seconds() {
        let ms = Duration::from_millis;
        assert_eq!(parse_duration("10s"), Ok(ms(10_000)));
        assert_eq!(parse_duration("500ms"), Ok(ms(500)));
        assert_eq!(parse_duration("2.5"), Ok(ms(2500)));
        assert_eq!(parse_duration("250us"), Ok(Duration::from_micros(250)));
        assert_eq!(parse_duration("2m"), Ok(ms(120_000)));
        assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
        for bad in ["", "s", "-1", "10x", "1e3", "1.2.3s", "nan"] {
            assert!(parse_duration(bad).is_err(), "{bad:?}");
        }
        assert!(parse_positive_duration("0s")
            .unwrap_err()
            .contains("more than 0"));
    }

    #[test]
    fn stages_and_fractions_parse_as_people_type_them() {
        let s = Duration::from_secs;
        assert_eq!(
            parse_stages("10s:1000,30s:50000,10s:0"),
            Ok(vec![(s(10), 1000.0), (s(30), 50000.0), (s(10), 0.0)])
        );
        for bad in ["", "10s", "10s:x", "x:10", "10s:-1", "10s:0", "0s:100"] {
            assert!(parse_stages(bad).is_err(), "{bad:?}");
        }
        let st = parse_stages("1s:1000,1s:1000,1s:0").unwrap();
        assert!((mean_rate(&st) - 2000.0 / 3.0).abs() < 1e-6);
        assert_eq!(parse_fraction("0.1%"), Ok(0.001));
        assert_eq!(parse_bytes("40"), Ok(40));
        assert_eq!(parse_bytes("64KiB"), Ok(65_536));
        assert_eq!(parse_bytes("1MB"), Ok(1_000_000));
        assert_eq!(parse_bytes("1.5kB"), Ok(1_500));
        assert_eq!(parse_memory("1024"), Ok(1 << 30));
        assert_eq!(parse_memory("2GiB"), Ok(2 << 30));
        for bad in ["", "MB", "1XB", "-1", "1e3"] {
            assert!(parse_bytes(bad).is_err(), "{bad:?}");
        }
        assert_eq!(parse_fraction("0.25"), Ok(0.25));
        for bad in ["150%", "1.5", "-0.1", "x%"] {
            assert!(parse_fraction(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn shares_add_up_to_the_whole() {
        for (total, workers) in [(10u64, 3u32), (2, 4), (0, 2), (7, 1)] {
            let sum: u64 = (0..workers).map(|q| share(total, workers, q)).sum();
            assert_eq!(sum, total);
        }
        assert_eq!(ports_per_worker((10, 19), 3), Ok(3));
        assert_eq!(port_slice((10, 19), 3, 2), (16, 18));
        assert!(ports_per_worker((10, 10), 2).is_err());
    }

    #[test]
    fn with_the_nics_rss_each_worker_takes_the_whole_port_range_kept_to_its_queue() {
        let whole = load_options(T, vec![Ipv4Addr::new(10, 77, 0, 1)], (10_000, 10_999));
        let plan = LoadPlan::new(whole, 2, &Config::default()).unwrap();
        let start = |queue, rss| WorkerStart {
            queue,
            next_hop: MacAddr::default(),
            seed: 0,
            rss,
        };
        let sliced = plan.worker(&start(1, None));
        assert_eq!((sliced.ports, sliced.home), ((10_500, 10_999), None));
        let rss = Rss {
            key: crate::wire::rss::VERIFICATION_KEY.to_vec(),
            table: vec![0, 1],
        };
        let homed = plan.worker(&start(1, Some(rss.clone())));
        assert_eq!(
            (homed.ports, homed.home),
            ((10_000, 10_999), Some((rss, 1)))
        );
    }

    #[test]
    fn the_verdict_follows_the_counts_and_signals() {
        assert_eq!(judge(10, 0, None, None), Outcome::Done);
        assert_eq!(judge(10, 9, None, None), Outcome::Done);
        assert!(matches!(judge(10, 10, None, None), Outcome::Failed(_)));
        assert!(matches!(judge(10, 2, Some(0.1), None), Outcome::Failed(_)));
        assert_eq!(judge(10, 10, Some(1.0), None), Outcome::Done);
        assert!(matches!(judge(0, 0, None, None), Outcome::Failed(_)));
        assert_eq!(judge(10, 0, None, Some(2)), Outcome::Interrupted(2));
        assert!(check_target(SocketAddrV4::new(*T.ip(), 0)).is_err());
        assert!(check_target(T).is_ok());
    }
}
