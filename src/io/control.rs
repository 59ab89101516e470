//! The control and metrics port (`load --metrics ADDR`): a small HTTP/1.0
//! server on a plain kernel socket beside the data path, one thread, for
//! Prometheus and for the starter of a run on many machines.
//!
//! | request | answer |
//! |---|---|
//! | `GET /metrics` | the latest counters in Prometheus text format |
//! | `GET /ready` | 200 once the agent is prepared (XDP attached, next hop resolved, maps filled) and from then on; 503 before |
//! | `POST /start` | releases an agent waiting at its [`StartGate`]: 200, or 503 while it is not ready yet |
//!
//! The barrier (k6-operator's pattern): every agent prepares, then waits;
//! `synwave start` ([`start_agents`]) polls every agent's `/ready` and,
//! once all are, posts `/start` to all of them at once. A result is kept
//! up after the run ([`ControlPort::linger`]) so that the last scrape sees
//! the final counts.

use super::Error;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant, SystemTime};

/// Where an agent is in its run, as `/ready` tells it.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Phase {
    /// Attaching, resolving, filling tables: not ready.
    Preparing,
    /// Prepared, waiting for `POST /start`.
    Ready,
    /// Released (or never held back): the load is running.
    Running,
    /// The run is over; the final counters are being served.
    Finished,
}

impl Phase {
    fn word(self) -> &'static str {
        match self {
            Phase::Preparing => "preparing",
            Phase::Ready => "ready",
            Phase::Running => "running",
            Phase::Finished => "finished",
        }
    }
}

struct State {
    phase: Phase,
    metrics: String,
    /// Whether a scrape has returned the final counters.
    final_scraped: bool,
}

struct Shared {
    state: Mutex<State>,
    changed: Condvar,
    /// Said after the phase by `/ready`: which share of the test this is.
    label: String,
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The control port of one run: what `/metrics` serves, and the barrier
/// `/ready` and `/start` drive. Cloning shares it.
#[derive(Clone)]
pub struct ControlPort {
    shared: Arc<Shared>,
    addr: SocketAddr,
}

impl std::fmt::Debug for ControlPort {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ControlPort")
            .field("addr", &self.addr)
            .finish()
    }
}

/// How long one request may take to arrive: a stuck client must not hold
/// the port from Prometheus or the starter.
const REQUEST_TIMEOUT: Duration = Duration::from_millis(500);

impl ControlPort {
    /// Binds `addr` (an error here is reported before any load starts) and
    /// serves from a background thread for the life of the process;
    /// `label` (e.g. `segment 1/3`) follows the phase in `/ready`'s answer.
    pub fn start(addr: SocketAddr, label: &str) -> Result<Self, Error> {
        let listener =
            TcpListener::bind(addr).map_err(|e| Error::os(format!("--metrics {addr}"), e))?;
        let addr = listener
            .local_addr()
            .map_err(|e| Error::os(format!("--metrics {addr}"), e))?;
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                phase: Phase::Preparing,
                metrics: String::new(),
                final_scraped: false,
            }),
            changed: Condvar::new(),
            label: label.to_string(),
        });
        let serving = shared.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                match conn {
                    Ok(conn) => answer(&serving, conn),
                    // Out of descriptors (EMFILE) and the like: wait for
                    // some to close instead of spinning on the error.
                    Err(_) => std::thread::sleep(Duration::from_millis(10)),
                }
            }
        });
        Ok(ControlPort { shared, addr })
    }

    /// The address actually bound.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Replaces what `/metrics` returns.
    pub fn set(&self, text: String) {
        self.shared.lock().metrics = text;
    }

    /// Marks the load as running without a barrier (`/ready` answers 200).
    pub fn running(&self) {
        let mut s = self.shared.lock();
        if s.phase == Phase::Preparing {
            s.phase = Phase::Running;
        }
    }

    /// Marks the agent ready and blocks until `POST /start` (or `stop`).
    fn wait_for_start(&self, stop: &AtomicBool) {
        let mut s = self.shared.lock();
        if s.phase == Phase::Preparing {
            s.phase = Phase::Ready;
        }
        while s.phase == Phase::Ready && !stop.load(Ordering::Relaxed) {
            s = (self.shared.changed)
                .wait_timeout(s, Duration::from_millis(20))
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
    }

    /// Serves `final_metrics` after the run until a scrape has returned
    /// them, `linger` has passed or `stop` is raised, whichever is first:
    /// a scraper whose interval ends after the run still gets the final
    /// counts. Returns whether they were scraped.
    pub fn linger(&self, final_metrics: String, linger: Duration, stop: &AtomicBool) -> bool {
        let deadline = Instant::now() + linger;
        let mut s = self.shared.lock();
        s.metrics = final_metrics;
        s.phase = Phase::Finished;
        s.final_scraped = false;
        while !s.final_scraped && !stop.load(Ordering::Relaxed) {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            s = (self.shared.changed)
                .wait_timeout(s, left.min(Duration::from_millis(50)))
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
        s.final_scraped
    }
}

/// Reads one request and answers it; any failure just drops the connection.
/// One thread serves every request, so each gets `REQUEST_TIMEOUT` in all:
/// a client sending a byte at a time cannot hold `/start` up for longer.
fn answer(shared: &Shared, mut conn: TcpStream) {
    let _ = conn.set_write_timeout(Some(REQUEST_TIMEOUT));
    let Some((method, path)) = read_request(&mut conn) else {
        return;
    };
    let (status, content_type, body) = respond(shared, &method, &path);
    let reply = format!(
        "HTTP/1.0 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = conn.write_all(reply.as_bytes());
}

/// The method and path of the request on `conn`, once its head is in.
fn read_request(conn: &mut TcpStream) -> Option<(String, String)> {
    let deadline = Instant::now() + REQUEST_TIMEOUT;
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 8192 {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return None;
        }
        conn.set_read_timeout(Some(left)).ok()?;
        let n = conn.read(&mut buf).ok().filter(|&n| n > 0)?;
        head.extend_from_slice(&buf[..n]);
    }
    let head = String::from_utf8_lossy(&head);
    let mut words = head.lines().next()?.split_whitespace();
    let method = words.next()?.to_string();
    // A query string does not change the answer.
    let path = words.next()?.split('?').next()?.to_string();
    Some((method, path))
}

const TEXT: &str = "text/plain; charset=utf-8";

fn respond(shared: &Shared, method: &str, path: &str) -> (&'static str, &'static str, String) {
    let mut s = shared.lock();
    let said = |phase: Phase| format!("{} {}\n", phase.word(), shared.label);
    match (method, path) {
        ("GET", "/metrics") => {
            if s.phase == Phase::Finished {
                s.final_scraped = true;
                shared.changed.notify_all();
            }
            ("200 OK", "text/plain; version=0.0.4", s.metrics.clone())
        }
        ("GET", "/ready") => match s.phase {
            Phase::Preparing => ("503 Service Unavailable", TEXT, said(s.phase)),
            phase => ("200 OK", TEXT, said(phase)),
        },
        ("POST", "/start") => match s.phase {
            Phase::Preparing => ("503 Service Unavailable", TEXT, said(s.phase)),
            Phase::Ready => {
                s.phase = Phase::Running;
                shared.changed.notify_all();
                ("200 OK", TEXT, said(Phase::Running))
            }
            // Not held at the barrier: a starter must not count it as
            // released with the others.
            phase => ("409 Conflict", TEXT, said(phase)),
        },
        (_, "/metrics" | "/ready" | "/start") => (
            "405 Method Not Allowed",
            TEXT,
            "method not allowed\n".into(),
        ),
        _ => (
            "404 Not Found",
            TEXT,
            "GET /metrics, GET /ready, POST /start\n".into(),
        ),
    }
}

/// When the workers of a run may start: at once, at a wall-clock time
/// (`--start-at`), or when the control port is posted `/start`
/// (`--wait-for-start`). The runtime waits here after everything is
/// prepared, just before its clock starts.
#[derive(Clone, Debug, Default)]
pub enum StartGate {
    #[default]
    Now,
    At(SystemTime),
    Signal(ControlPort),
}

impl StartGate {
    /// Blocks until the start is due, or `stop` is raised (the run then
    /// ends at once, as an interrupted one).
    pub fn wait(&self, stop: &AtomicBool) {
        match self {
            StartGate::Now => {}
            StartGate::Signal(port) => port.wait_for_start(stop),
            StartGate::At(at) => {
                while !stop.load(Ordering::Relaxed) {
                    match at.duration_since(SystemTime::now()) {
                        Ok(left) if !left.is_zero() => {
                            std::thread::sleep(left.min(Duration::from_millis(20)))
                        }
                        _ => break,
                    }
                }
            }
        }
    }
}

/// One HTTP/1.0 request to an agent's control port: the status code and body.
fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    timeout: Duration,
) -> Result<(u16, String), String> {
    let mut conn = TcpStream::connect_timeout(&addr, timeout).map_err(|e| e.to_string())?;
    let _ = conn.set_read_timeout(Some(timeout));
    let _ = conn.set_write_timeout(Some(timeout));
    // One write: a peer may answer what its first read holds.
    let head = format!("{method} {path} HTTP/1.0\r\nHost: {addr}\r\nContent-Length: 0\r\n\r\n");
    conn.write_all(head.as_bytes()).map_err(|e| e.to_string())?;
    let mut reply = Vec::new();
    conn.read_to_end(&mut reply).map_err(|e| e.to_string())?;
    let reply = String::from_utf8_lossy(&reply);
    let status = reply
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| "not an HTTP answer".to_string())?;
    let body = reply.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    Ok((status, body.trim().to_string()))
}

/// An agent as `synwave start` found it.
#[derive(Clone, Debug)]
pub struct Agent {
    pub addr: SocketAddr,
    /// Its `/ready` answer, e.g. `ready segment 1/3`.
    pub said: String,
}

/// Which agents `synwave start` releases, and when it gives up.
#[derive(Clone, Debug)]
pub struct StartOptions {
    /// `HOST:PORT` of each agent's control port.
    pub agents: Vec<String>,
    /// With a count, each name stands for every address it resolves to
    /// (a headless Service's name resolves to its pods), and this many
    /// distinct agents must be ready; without, each name is one agent.
    pub count: Option<u64>,
    /// How long the agents get to become ready.
    pub timeout: Duration,
    /// How often `/ready` is asked.
    pub poll: Duration,
}

/// The agents `opts` names, as addresses, and why any of them cannot be
/// reached yet.
fn resolve(opts: &StartOptions) -> (Vec<SocketAddr>, Vec<String>) {
    let mut addrs: Vec<SocketAddr> = Vec::new();
    let mut problems = Vec::new();
    for name in &opts.agents {
        match name.to_socket_addrs() {
            Ok(found) => {
                let found: Vec<SocketAddr> = found.collect();
                let take = if opts.count.is_some() { found.len() } else { 1 };
                if found.is_empty() {
                    problems.push(format!("{name}: resolves to no address"));
                }
                for a in found.into_iter().take(take) {
                    if !addrs.contains(&a) {
                        addrs.push(a);
                    }
                }
            }
            Err(e) => problems.push(format!("{name}: {e}")),
        }
    }
    (addrs, problems)
}

/// Polls every agent's `/ready` until all are (and, with a count, that
/// many), then posts `/start` to all at once; `on_wait` hears how many are
/// ready at each poll. Fails with one line naming the agents not ready
/// when the timeout passes, or any agent that refused to start.
pub fn start_agents(
    opts: &StartOptions,
    stop: &AtomicBool,
    mut on_wait: impl FnMut(usize, usize),
) -> Result<Vec<Agent>, String> {
    let deadline = Instant::now() + opts.timeout;
    let ask = Duration::from_secs(1).min(opts.poll.max(Duration::from_millis(100)));
    let mut last_seen = (0, 0);
    let ready = loop {
        let (addrs, mut problems) = resolve(opts);
        let mut ready = Vec::new();
        for &addr in &addrs {
            match request(addr, "GET", "/ready", ask) {
                // 200 also while running (a readiness probe's answer), but
                // only an agent held at the barrier can start with the rest.
                Ok((200, said)) if said.starts_with(Phase::Ready.word()) => {
                    ready.push(Agent { addr, said })
                }
                Ok((code, said)) => problems.push(format!("{addr}: {code} {said}")),
                Err(e) => problems.push(format!("{addr}: {e}")),
            }
        }
        // Without a count, each name is one agent: two names for one agent
        // are one.
        let want = opts.count.map_or(addrs.len(), |n| n as usize);
        if problems.is_empty() && ready.len() >= want {
            break ready;
        }
        if (ready.len(), want) != last_seen {
            last_seen = (ready.len(), want);
            on_wait(ready.len(), want);
        }
        if stop.load(Ordering::Relaxed) {
            return Err("interrupted before every agent was ready; none started".into());
        }
        if Instant::now() >= deadline {
            if problems.is_empty() {
                problems.push(format!("only {} agent(s) found", addrs.len()));
            }
            return Err(format!(
                "{} of {want} agent(s) ready after {:?}; none started: {}",
                ready.len(),
                opts.timeout,
                problems.join("; ")
            ));
        }
        std::thread::sleep(opts.poll);
    };
    // All at once, so that they start within a round trip of each other.
    let posts: Vec<_> = (ready.iter())
        .map(|a| {
            let addr = a.addr;
            std::thread::spawn(move || request(addr, "POST", "/start", Duration::from_secs(5)))
        })
        .collect();
    let mut refused = Vec::new();
    for (agent, post) in ready.iter().zip(posts) {
        match post.join() {
            Ok(Ok((200, _))) => {}
            Ok(Ok((code, said))) => refused.push(format!("{}: {code} {said}", agent.addr)),
            Ok(Err(e)) => refused.push(format!("{}: {e}", agent.addr)),
            Err(_) => refused.push(format!("{}: the request thread panicked", agent.addr)),
        }
    }
    if !refused.is_empty() {
        return Err(format!(
            "{} of {} agent(s) did not start: {}",
            refused.len(),
            ready.len(),
            refused.join("; ")
        ));
    }
    Ok(ready)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn port(label: &str) -> ControlPort {
        ControlPort::start("127.0.0.1:0".parse().unwrap(), label).unwrap()
    }

    fn get(p: &ControlPort, path: &str) -> (u16, String) {
        request(p.addr(), "GET", path, Duration::from_secs(2)).unwrap()
    }

    #[test]
    fn ready_is_503_until_prepared_and_start_releases_the_gate() {
        let p = port("segment 1/3");
        assert_eq!(get(&p, "/ready"), (503, "preparing segment 1/3".into()));
        let post = request(p.addr(), "POST", "/start", Duration::from_secs(2)).unwrap();
        assert_eq!(post.0, 503, "a start before ready is refused");
        let stop = AtomicBool::new(false);
        let gate = StartGate::Signal(p.clone());
        let waiting = std::thread::spawn(move || {
            let t = Instant::now();
            gate.wait(&stop);
            t.elapsed()
        });
        let deadline = Instant::now() + Duration::from_secs(5);
        while get(&p, "/ready").0 != 200 {
            assert!(Instant::now() < deadline, "never ready");
            std::thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(get(&p, "/ready").1, "ready segment 1/3");
        std::thread::sleep(Duration::from_millis(100));
        assert!(!waiting.is_finished(), "the gate opened without a start");
        let opts = StartOptions {
            agents: vec![p.addr().to_string()],
            count: None,
            timeout: Duration::from_secs(5),
            poll: Duration::from_millis(10),
        };
        let started = start_agents(&opts, &AtomicBool::new(false), |_, _| {}).unwrap();
        assert_eq!(started.len(), 1);
        assert!(waiting.join().unwrap() >= Duration::from_millis(100));
        assert_eq!(get(&p, "/ready"), (200, "running segment 1/3".into()));
        // Released already: a second start is refused, and a starter does
        // not count a running agent as one it released.
        let again = request(p.addr(), "POST", "/start", Duration::from_secs(2)).unwrap();
        assert_eq!(again, (409, "running segment 1/3".into()));
        let late = StartOptions {
            timeout: Duration::from_millis(100),
            ..opts
        };
        let e = start_agents(&late, &AtomicBool::new(false), |_, _| {}).unwrap_err();
        assert!(e.starts_with("0 of 1 agent(s) ready"), "{e}");
    }

    #[test]
    fn a_client_sending_a_byte_at_a_time_holds_the_port_one_request_timeout_at_most() {
        let p = port("");
        let mut slow = TcpStream::connect(p.addr()).unwrap();
        let trickle = std::thread::spawn(move || {
            for _ in 0..20 {
                if slow.write_all(b"G").is_err() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        });
        std::thread::sleep(Duration::from_millis(50));
        let t = Instant::now();
        assert_eq!(get(&p, "/ready").0, 503);
        assert!(t.elapsed() < REQUEST_TIMEOUT * 3, "{:?}", t.elapsed());
        trickle.join().unwrap();
    }

    #[test]
    fn metrics_are_served_and_the_final_scrape_ends_the_linger() {
        let p = port("");
        p.running();
        p.set("a_total 1\n".into());
        assert_eq!(get(&p, "/metrics"), (200, "a_total 1".into()));
        assert_eq!(get(&p, "/nothing").0, 404);
        assert_eq!(
            request(p.addr(), "POST", "/metrics", Duration::from_secs(2))
                .unwrap()
                .0,
            405
        );
        let scraper = p.clone();
        let scrape = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(50));
            get(&scraper, "/metrics")
        });
        let t = Instant::now();
        let stop = AtomicBool::new(false);
        assert!(p.linger("a_total 2\n".into(), Duration::from_secs(20), &stop));
        assert!(t.elapsed() < Duration::from_secs(10));
        assert_eq!(scrape.join().unwrap(), (200, "a_total 2".into()));
        // Nobody scrapes: the linger ends by its time.
        assert!(!p.linger("a_total 3\n".into(), Duration::from_millis(50), &stop));
    }

    #[test]
    fn the_starter_fails_in_one_line_naming_an_agent_that_never_became_ready() {
        let ready = port("segment 0/2");
        let never = port("segment 1/2");
        let opts = StartOptions {
            agents: vec![ready.addr().to_string(), never.addr().to_string()],
            count: None,
            timeout: Duration::from_millis(300),
            poll: Duration::from_millis(20),
        };
        let stop = Arc::new(AtomicBool::new(false));
        let (gate, held) = (StartGate::Signal(ready.clone()), stop.clone());
        let waiting = std::thread::spawn(move || gate.wait(&held));
        while get(&ready, "/ready").0 != 200 {
            std::thread::sleep(Duration::from_millis(5));
        }
        let e = start_agents(&opts, &AtomicBool::new(false), |_, _| {}).unwrap_err();
        assert!(e.starts_with("1 of 2 agent(s) ready after"), "{e}");
        assert!(
            e.contains(&format!("{}: 503 preparing segment 1/2", never.addr())),
            "{e}"
        );
        assert!(!e.contains('\n'));
        // The ready one was not started without the other.
        assert_eq!(get(&ready, "/ready").1, "ready segment 0/2");
        stop.store(true, Ordering::Relaxed);
        waiting.join().unwrap();
        let counted = StartOptions {
            agents: vec![ready.addr().to_string()],
            count: Some(2),
            ..opts
        };
        let e = start_agents(&counted, &AtomicBool::new(false), |_, _| {}).unwrap_err();
        assert!(
            e.contains("1 of 2 agent(s) ready") && e.contains("only 1 agent(s) found"),
            "{e}"
        );
    }

    #[test]
    fn a_start_time_gate_waits_for_its_time() {
        let at = SystemTime::now() + Duration::from_millis(150);
        let t = Instant::now();
        StartGate::At(at).wait(&AtomicBool::new(false));
        assert!(SystemTime::now() >= at);
        assert!(t.elapsed() < Duration::from_secs(2));
        let past = SystemTime::now() - Duration::from_secs(5);
        StartGate::At(past).wait(&AtomicBool::new(false));
    }
}
