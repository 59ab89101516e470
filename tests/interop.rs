//! End-to-end interop tests: the `synwave` binary against the Linux TCP
//! stack, over a veth testbed.
//!
//! synwave runs in namespace A (`ip netns exec A synwave ...` on `sw0`), the
//! kernel peer in namespace B (`sw1`). Each test builds its own [`Testbed`]
//! and removes it on the way out, panicking or not. Every child process is
//! held by a [`Proc`] guard that SIGKILLs it on drop, and every wait has a
//! deadline. The tests take a file-wide lock: on a small machine, several of
//! them at once only make each other's timing worse.

mod common;

use std::fs;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::io::AsRawFd;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use common::{
    assert_no_xdp, assert_one_line_error, count, link_details, ns_cmd, one_line_error, parse_json,
    require_root_or_skip, run_to_end, s, Proc, Scratch, BIN, PROC_TIMEOUT,
};
use serde_json::Value;
use synwave::io::testbed::{run_cmd, IFACE_A, IFACE_B, IP_A, IP_B};
use synwave::io::{netns, Testbed};

/// MSL given to synwave: TIME-WAIT lasts 2 × 200 ms.
const MSL_MS: u64 = 200;
/// How long after the last connection everything must have drained:
/// 2 MSL plus a generous margin.
const AFTER_2MSL: Duration = Duration::from_millis(2 * MSL_MS + 600);
/// Per socket operation of the kernel peers.
const IO_TIMEOUT: Duration = Duration::from_secs(5);
/// For a whole `synwave connect` run (its own --timeout is shorter).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(90);
const CONNECT_TIMEOUT_ARG: &str = "60";

const REQUEST: &[u8] = b"GET / HTTP/1.0\r\nHost: 10.77.0.1\r\n\r\n";
const RESPONSE: &[u8] = b"HTTP/1.0 200 OK\r\nContent-Length: 12\r\n\r\nhello world\n";

/// Serializes the tests of this file (see the module docs).
fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|p| p.into_inner())
}

fn testbed(prefix: &str) -> Testbed {
    Testbed::up(prefix).unwrap_or_else(|e| panic!("testbed: {e}"))
}

// ---------------------------------------------------------------------------
// Scratch files and child processes
// ---------------------------------------------------------------------------

/// Starts `synwave serve --iface sw0 ARGS` in namespace A and waits until it
/// says it is serving (XDP attached, workers running).
fn start_serve(tb: &Testbed, scratch: &Scratch, tag: &str, args: &[&str]) -> Proc {
    let mut cmd = ns_cmd(tb.ns_a(), BIN);
    cmd.args(["serve", "--iface", IFACE_A]).args(args);
    let what = format!("synwave serve {}", args.join(" "));
    let mut p = Proc::spawn(&what, cmd, scratch, tag);
    p.wait_for_stderr("synwave: serving", PROC_TIMEOUT);
    p
}

/// Runs `synwave connect --iface sw0 ARGS --json` in namespace A to the end;
/// asserts exit 0 and returns the JSON summary.
fn run_connect(tb: &Testbed, scratch: &Scratch, tag: &str, args: &[&str]) -> Value {
    run_connect_exiting(tb, scratch, tag, args, 0)
}

/// Like [`run_connect`], expecting exit status `code` (3: every connection failed).
fn run_connect_exiting(
    tb: &Testbed,
    scratch: &Scratch,
    tag: &str,
    args: &[&str],
    code: i32,
) -> Value {
    let mut cmd = ns_cmd(tb.ns_a(), BIN);
    cmd.args(["connect", "--iface", IFACE_A]).args(args).args([
        "--timeout",
        CONNECT_TIMEOUT_ARG,
        "--json",
    ]);
    let what = format!("synwave connect {}", args.join(" "));
    let f = run_to_end(&what, cmd, scratch, tag, CONNECT_TIMEOUT);
    assert_eq!(f.status.code(), Some(code), "{what}: {}", f.describe());
    parse_json(&what, &f.stdout)
}

// ---------------------------------------------------------------------------
// JSON summaries
// ---------------------------------------------------------------------------

/// Asserts every `(key, expected)`, reporting all mismatches at once.
fn assert_counts(what: &str, v: &Value, expected: &[(&str, u64)]) {
    let bad: Vec<String> = expected
        .iter()
        .filter_map(|&(k, want)| {
            let got = v.get(k).and_then(Value::as_u64);
            (got != Some(want)).then(|| format!("{k}: expected {want}, got {got:?}"))
        })
        .collect();
    assert!(
        bad.is_empty(),
        "{what}: counters differ:\n  {}\nfull summary: {v}",
        bad.join("\n  ")
    );
}

// ---------------------------------------------------------------------------
// The kernel side: socket states, clients, servers
// ---------------------------------------------------------------------------

/// `ss -tan` lines (state first) in `ns` with local or peer port `port`.
fn ss_lines(ns: &str, port: u16) -> Vec<String> {
    let out = run_cmd("ip", &["netns", "exec", ns, "ss", "-tan"]).unwrap_or_else(|e| panic!("{e}"));
    let suffix = format!(":{port}");
    out.lines()
        .skip(1)
        .filter(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            f.len() >= 5 && (f[3].ends_with(&suffix) || f[4].ends_with(&suffix))
        })
        .map(str::to_string)
        .collect()
}

fn state_of(line: &str) -> &str {
    line.split_whitespace().next().unwrap_or("")
}

/// Waits (up to 3 s, for the last FIN/ACKs in flight) until every socket on
/// `port` in `ns` is in one of `allowed`; panics listing the others.
fn assert_ss_clean(ns: &str, port: u16, allowed: &[&str]) {
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        let bad: Vec<String> = ss_lines(ns, port)
            .into_iter()
            .filter(|l| !allowed.contains(&state_of(l)))
            .collect();
        if bad.is_empty() {
            return;
        }
        if Instant::now() >= deadline {
            panic!(
                "kernel sockets on port {port} in {ns} left in unexpected states \
                 (allowed: {allowed:?}); {} of them, first ones:\n{}",
                bad.len(),
                bad.iter().take(20).cloned().collect::<Vec<_>>().join("\n")
            );
        }
        thread::sleep(Duration::from_millis(50));
    }
}

fn ss_count(ns: &str, port: u16, state: &str) -> usize {
    ss_lines(ns, port)
        .iter()
        .filter(|l| state_of(l) == state)
        .count()
}

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum ClientClose {
    /// Read exactly the response, then close: the client sends the first FIN.
    First,
    /// Read to EOF (the server's FIN), then close.
    AfterEof,
}

/// One request/response cycle of a kernel client.
fn client_cycle(addr: SocketAddr, close: ClientClose) -> io::Result<()> {
    let mut s = TcpStream::connect_timeout(&addr, IO_TIMEOUT)?;
    s.set_read_timeout(Some(IO_TIMEOUT))?;
    s.set_write_timeout(Some(IO_TIMEOUT))?;
    s.write_all(REQUEST)?;
    let got = match close {
        ClientClose::First => {
            let mut buf = vec![0u8; RESPONSE.len()];
            s.read_exact(&mut buf)?;
            buf
        }
        ClientClose::AfterEof => {
            let mut buf = Vec::new();
            s.read_to_end(&mut buf)?;
            buf
        }
    };
    if got != RESPONSE {
        return Err(io::Error::other(format!(
            "response differs: got {:?}",
            String::from_utf8_lossy(&got)
        )));
    }
    Ok(())
}

/// Runs `total` cycles from `threads` kernel clients in `ns`; returns the
/// failures (count, first messages).
fn kernel_clients(
    ns: &str,
    addr: SocketAddr,
    threads: usize,
    total: usize,
    close: ClientClose,
) -> (usize, Vec<String>) {
    let deadline = Instant::now() + Duration::from_secs(120);
    let handles: Vec<JoinHandle<(usize, Vec<String>)>> = (0..threads)
        .map(|t| {
            let ns = ns.to_string();
            let n = total / threads + usize::from(t < total % threads);
            thread::spawn(move || {
                netns::enter(&ns).unwrap_or_else(|e| panic!("{e}"));
                let mut failed = 0;
                let mut msgs = Vec::new();
                for i in 0..n {
                    if Instant::now() >= deadline {
                        failed += n - i;
                        msgs.push(format!("client {t}: overall deadline hit at cycle {i}"));
                        break;
                    }
                    if let Err(e) = client_cycle(addr, close) {
                        failed += 1;
                        if msgs.len() < 5 {
                            msgs.push(format!("client {t} cycle {i}: {e}"));
                        }
                    }
                }
                (failed, msgs)
            })
        })
        .collect();
    let mut failed = 0;
    let mut msgs = Vec::new();
    for h in handles {
        let (f, m) = h.join().expect("client thread panicked");
        failed += f;
        msgs.extend(m);
    }
    (failed, msgs)
}

/// What the kernel server does with each connection.
#[derive(Clone)]
enum Behaviour {
    /// Read the request, write the response, read until EOF, close.
    Respond,
    /// Read the request, then close with SO_LINGER 0: an RST.
    Abort,
}

/// A kernel TCP server in namespace B, with `workers` accept loops.
struct KernelServer {
    stop: Arc<AtomicBool>,
    handles: Vec<JoinHandle<()>>,
    served: Arc<AtomicU64>,
    errors: Arc<Mutex<Vec<String>>>,
}

impl KernelServer {
    fn start(ns: &str, port: u16, behaviour: Behaviour, workers: usize) -> KernelServer {
        let ns = ns.to_string();
        let (tx, rx) = mpsc::channel();
        // Bind on a thread inside B; the accept loops only use the socket,
        // which works from any namespace.
        thread::spawn(move || {
            let r = netns::enter(&ns)
                .map_err(|e| e.to_string())
                .and_then(|()| {
                    TcpListener::bind((IP_B, port)).map_err(|e| format!("bind {IP_B}:{port}: {e}"))
                })
                .and_then(|l| {
                    l.set_nonblocking(true).map_err(|e| e.to_string())?;
                    Ok(l)
                });
            let _ = tx.send(r);
        });
        let listener = Arc::new(
            rx.recv_timeout(PROC_TIMEOUT)
                .expect("listener thread never answered")
                .unwrap_or_else(|e| panic!("kernel listener: {e}")),
        );
        let stop = Arc::new(AtomicBool::new(false));
        let served = Arc::new(AtomicU64::new(0));
        let errors = Arc::new(Mutex::new(Vec::new()));
        let handles = (0..workers)
            .map(|_| {
                let (listener, stop, served, errors, behaviour) = (
                    listener.clone(),
                    stop.clone(),
                    served.clone(),
                    errors.clone(),
                    behaviour.clone(),
                );
                thread::spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        match listener.accept() {
                            Ok((conn, peer)) => match serve_one(conn, &behaviour) {
                                Ok(()) => {
                                    served.fetch_add(1, Ordering::Relaxed);
                                }
                                Err(e) => {
                                    let mut errs = errors.lock().unwrap();
                                    if errs.len() < 10 {
                                        errs.push(format!("{peer}: {e}"));
                                    }
                                }
                            },
                            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                                thread::sleep(Duration::from_millis(1));
                            }
                            Err(e) => {
                                errors.lock().unwrap().push(format!("accept: {e}"));
                                thread::sleep(Duration::from_millis(10));
                            }
                        }
                    }
                })
            })
            .collect();
        KernelServer {
            stop,
            handles,
            served,
            errors,
        }
    }

    /// Stops the accept loops; returns (connections served, errors).
    fn finish(mut self) -> (u64, Vec<String>) {
        self.stop.store(true, Ordering::Relaxed);
        for h in self.handles.drain(..) {
            h.join().expect("kernel server thread panicked");
        }
        let errs = self.errors.lock().unwrap().clone();
        (self.served.load(Ordering::Relaxed), errs)
    }
}

impl Drop for KernelServer {
    fn drop(&mut self) {
        // On panic paths: stop the loops (bounded by IO_TIMEOUT) and let
        // the threads go.
        self.stop.store(true, Ordering::Relaxed);
    }
}

fn serve_one(mut conn: TcpStream, behaviour: &Behaviour) -> io::Result<()> {
    conn.set_nonblocking(false)?;
    conn.set_read_timeout(Some(IO_TIMEOUT))?;
    conn.set_write_timeout(Some(IO_TIMEOUT))?;
    let mut req = vec![0u8; REQUEST.len()];
    conn.read_exact(&mut req)?;
    if req != REQUEST {
        return Err(io::Error::other(format!(
            "request differs: {:?}",
            String::from_utf8_lossy(&req)
        )));
    }
    match behaviour {
        Behaviour::Respond => {
            conn.write_all(RESPONSE)?;
            let mut rest = Vec::new();
            conn.read_to_end(&mut rest)?;
            if !rest.is_empty() {
                return Err(io::Error::other(format!(
                    "{} unexpected bytes after the request",
                    rest.len()
                )));
            }
            Ok(())
        }
        Behaviour::Abort => {
            let linger = libc::linger {
                l_onoff: 1,
                l_linger: 0,
            };
            // SAFETY: setsockopt on a valid, open socket with a correctly
            // sized `linger`.
            let rc = unsafe {
                libc::setsockopt(
                    conn.as_raw_fd(),
                    libc::SOL_SOCKET,
                    libc::SO_LINGER,
                    (&linger as *const libc::linger).cast(),
                    std::mem::size_of::<libc::linger>() as libc::socklen_t,
                )
            };
            if rc != 0 {
                return Err(io::Error::last_os_error());
            }
            drop(conn); // close with linger 0: RST
            Ok(())
        }
    }
}

// ---------------------------------------------------------------------------
// XDP attachment and error lines
// ---------------------------------------------------------------------------

/// Panics with every problem found, if any.
fn assert_no_problems(problems: &[String]) {
    assert!(
        problems.is_empty(),
        "{} problem(s):\n\n{}",
        problems.len(),
        problems.join("\n\n")
    );
}

// ---------------------------------------------------------------------------
// 1. synwave serve, kernel clients
// ---------------------------------------------------------------------------

const SERVE_PORT: u16 = 8080;
const CYCLES: usize = 2000;
const CLIENT_THREADS: usize = 4;

fn serve_kernel_clients(name: &str, close: &str, client: ClientClose) {
    if !require_root_or_skip(name) {
        return;
    }
    let _serial = serial();
    let tb = testbed("swi-srv");
    let scratch = Scratch::new(name);
    let response = scratch.write("response", RESPONSE);
    let msl = MSL_MS.to_string();
    let listen = format!("{IP_A}:{SERVE_PORT}");
    let mut serve = start_serve(
        &tb,
        &scratch,
        "serve",
        &[
            "--listen",
            &listen,
            "--response",
            s(&response),
            "--close",
            close,
            "--msl-ms",
            &msl,
            "--json",
        ],
    );

    let t0 = Instant::now();
    let (failed, msgs) = kernel_clients(
        tb.ns_b(),
        SocketAddr::from((IP_A, SERVE_PORT)),
        CLIENT_THREADS,
        CYCLES,
        client,
    );
    let took = t0.elapsed();
    assert!(
        failed == 0,
        "{failed} of {CYCLES} kernel client cycles failed (in {took:?}):\n{}\n--- serve stderr:\n{}",
        msgs.join("\n"),
        serve.stderr()
    );

    // The kernel clients' sockets must all have finished their closing
    // handshake; only the active closer's TIME-WAIT may remain.
    match client {
        ClientClose::First => {
            assert_ss_clean(tb.ns_b(), SERVE_PORT, &["TIME-WAIT"]);
            let tw = ss_count(tb.ns_b(), SERVE_PORT, "TIME-WAIT");
            assert_eq!(
                tw, CYCLES,
                "client-first: every kernel client should hold TIME-WAIT"
            );
        }
        // The kernel is the passive closer: no TIME-WAIT, nothing at all.
        ClientClose::AfterEof => assert_ss_clean(tb.ns_b(), SERVE_PORT, &[]),
    }

    thread::sleep(AFTER_2MSL);
    let out = serve.interrupt_and_collect();
    let v = parse_json("synwave serve", &out);
    let n = CYCLES as u64;
    assert_counts(
        "synwave serve",
        &v,
        &[
            ("accepted", n),
            ("closed", n),
            ("requests", n),
            ("responses", n),
            ("reset", 0),
            ("timed_out", 0),
            ("tcbs_left", 0),
            ("time_wait_left", 0),
        ],
    );
    assert!(v["engine"].is_object(), "no engine object: {v}");
    assert!(v["xdp"].is_object(), "no xdp object: {v}");
    assert!(
        v["xdp"]["redirected"].as_u64().unwrap_or(0) >= 4 * n,
        "fewer frames redirected than the handshakes alone need: {v}"
    );
    assert_no_xdp(&tb, "after serve exited");
}

#[test]
fn serve_accepts_kernel_clients_client_first_close() {
    serve_kernel_clients(
        "serve_accepts_kernel_clients_client_first_close",
        "wait-client",
        ClientClose::First,
    );
}

#[test]
fn serve_accepts_kernel_clients_server_first_close() {
    serve_kernel_clients(
        "serve_accepts_kernel_clients_server_first_close",
        "server-first",
        ClientClose::AfterEof,
    );
}

// ---------------------------------------------------------------------------
// 2. synwave connect, kernel listener
// ---------------------------------------------------------------------------

const KERNEL_PORT: u16 = 9090;

#[test]
fn connect_to_kernel_listener() {
    if !require_root_or_skip("connect_to_kernel_listener") {
        return;
    }
    let _serial = serial();
    let tb = testbed("swi-con");
    let scratch = Scratch::new("connect");
    let request = scratch.write("request", REQUEST);
    let server = KernelServer::start(tb.ns_b(), KERNEL_PORT, Behaviour::Respond, 4);

    let target = format!("{IP_B}:{KERNEL_PORT}");
    let msl = MSL_MS.to_string();
    let count = CYCLES.to_string();
    let v = run_connect(
        &tb,
        &scratch,
        "connect",
        &[
            "--target",
            &target,
            "--count",
            &count,
            "--concurrency",
            "64",
            "--request",
            s(&request),
            "--msl-ms",
            &msl,
            "--drain",
        ],
    );
    let n = CYCLES as u64;
    assert_counts(
        "synwave connect",
        &v,
        &[
            ("opened", n),
            ("connected", n),
            ("closed", n),
            ("refused", 0),
            ("reset", 0),
            ("timed_out", 0),
            ("bytes_received", n * RESPONSE.len() as u64),
            ("tcbs_left", 0),
            ("time_wait_left", 0),
        ],
    );
    // synwave closed first: the kernel went CLOSE-WAIT → LAST-ACK → CLOSED
    // and holds nothing, TIME-WAIT included.
    assert_ss_clean(tb.ns_b(), KERNEL_PORT, &["LISTEN"]);
    let (served, errors) = server.finish();
    assert!(errors.is_empty(), "kernel server errors: {errors:?}");
    assert_eq!(
        served, n,
        "kernel server completed {served} of {n} connections"
    );
    assert_no_xdp(&tb, "after connect exited");
}

// ---------------------------------------------------------------------------
// 3. RSTs
// ---------------------------------------------------------------------------

#[test]
fn connect_to_closed_port_is_refused() {
    if !require_root_or_skip("connect_to_closed_port_is_refused") {
        return;
    }
    let _serial = serial();
    let tb = testbed("swi-ref");
    let scratch = Scratch::new("refused");
    let target = format!("{IP_B}:9999");
    let msl = MSL_MS.to_string();
    let v = run_connect_exiting(
        &tb,
        &scratch,
        "connect",
        &[
            "--target",
            &target,
            "--count",
            "50",
            "--concurrency",
            "16",
            "--msl-ms",
            &msl,
            "--drain",
        ],
        3,
    );
    assert_counts(
        "synwave connect (closed port)",
        &v,
        &[
            ("opened", 50),
            ("refused", 50),
            ("connected", 0),
            ("reset", 0),
            ("timed_out", 0),
            ("closed", 0),
            ("tcbs_left", 0),
            ("time_wait_left", 0),
        ],
    );
    assert_no_xdp(&tb, "after connect exited");
}

#[test]
fn kernel_abort_resets_our_connection() {
    if !require_root_or_skip("kernel_abort_resets_our_connection") {
        return;
    }
    let _serial = serial();
    let tb = testbed("swi-rst");
    let scratch = Scratch::new("abort");
    let request = scratch.write("request", REQUEST);
    let server = KernelServer::start(tb.ns_b(), KERNEL_PORT, Behaviour::Abort, 2);
    let target = format!("{IP_B}:{KERNEL_PORT}");
    let msl = MSL_MS.to_string();
    let v = run_connect_exiting(
        &tb,
        &scratch,
        "connect",
        &[
            "--target",
            &target,
            "--count",
            "50",
            "--concurrency",
            "16",
            "--request",
            s(&request),
            "--msl-ms",
            &msl,
            "--drain",
        ],
        3,
    );
    assert_counts(
        "synwave connect (kernel aborts)",
        &v,
        &[
            ("opened", 50),
            ("connected", 50),
            ("reset", 50),
            ("refused", 0),
            ("timed_out", 0),
            ("closed", 0),
            ("bytes_received", 0),
            ("tcbs_left", 0),
            ("time_wait_left", 0),
        ],
    );
    let (served, errors) = server.finish();
    assert!(errors.is_empty(), "kernel server errors: {errors:?}");
    assert_eq!(served, 50);
    assert_ss_clean(tb.ns_b(), KERNEL_PORT, &[]);
}

// ---------------------------------------------------------------------------
// 4. Sequence arithmetic on the wire
// ---------------------------------------------------------------------------

/// Frames of a classic pcap file (either byte order of timestamps is fine:
/// microsecond 0xa1b2c3d4 or nanosecond 0xa1b23c4d magic, little-endian).
fn read_pcap(path: &Path) -> Vec<Vec<u8>> {
    let d = fs::read(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    assert!(d.len() >= 24, "pcap shorter than its global header");
    let le32 = |o: usize| u32::from_le_bytes(d[o..o + 4].try_into().unwrap());
    let magic = le32(0);
    assert!(
        magic == 0xa1b2_c3d4 || magic == 0xa1b2_3c4d,
        "not a little-endian pcap: magic {magic:#x}"
    );
    assert_eq!(le32(20), 1, "link type is not Ethernet");
    let mut frames = Vec::new();
    let mut off = 24;
    while off + 16 <= d.len() {
        let incl = le32(off + 8) as usize;
        let orig = le32(off + 12) as usize;
        off += 16;
        assert!(off + incl <= d.len(), "truncated pcap record");
        assert_eq!(incl, orig, "frame truncated by the snap length");
        frames.push(d[off..off + incl].to_vec());
        off += incl;
    }
    frames
}

/// A captured segment, from synwave (`ours`) or from the kernel.
#[derive(Debug)]
struct Seg {
    ours: bool,
    seq: u32,
    ack: u32,
    syn: bool,
    ack_set: bool,
    fin: bool,
    rst: bool,
    payload: Vec<u8>,
}

fn describe(segs: &[Seg]) -> String {
    segs.iter()
        .map(|g| {
            format!(
                "{} {}{}{}{} seq={} ack={} len={}",
                if g.ours {
                    "synwave->kernel"
                } else {
                    "kernel->synwave"
                },
                if g.syn { "S" } else { "" },
                if g.fin { "F" } else { "" },
                if g.rst { "R" } else { "" },
                if g.ack_set { "." } else { "" },
                g.seq,
                g.ack,
                g.payload.len()
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn handshake_and_teardown_seq_ack_arithmetic() {
    if !require_root_or_skip("handshake_and_teardown_seq_ack_arithmetic") {
        return;
    }
    let _serial = serial();
    let tb = testbed("swi-seq");
    let scratch = Scratch::new("seq");
    let request = scratch.write("request", REQUEST);
    let pcap = scratch.path("capture.pcap");
    let server = KernelServer::start(tb.ns_b(), KERNEL_PORT, Behaviour::Respond, 1);

    let mut dump_cmd = ns_cmd(tb.ns_b(), "tcpdump");
    let port = KERNEL_PORT.to_string();
    // --immediate-mode: hand each packet over at once; otherwise packets
    // still sitting in the capture ring's current block (up to a second)
    // are lost when SIGINT ends tcpdump. -Z root: write the file without
    // dropping to the tcpdump user.
    dump_cmd.args([
        "-i",
        IFACE_B,
        "-n",
        "-s",
        "0",
        "-U",
        "--immediate-mode",
        "-Z",
        "root",
        "-w",
        s(&pcap),
        "tcp",
        "port",
        &port,
    ]);
    let mut dump = Proc::spawn("tcpdump", dump_cmd, &scratch, "tcpdump");
    dump.wait_for_stderr("listening on", PROC_TIMEOUT);

    let target = format!("{IP_B}:{KERNEL_PORT}");
    let msl = MSL_MS.to_string();
    let v = run_connect(
        &tb,
        &scratch,
        "connect",
        &[
            "--target",
            &target,
            "--count",
            "1",
            "--request",
            s(&request),
            "--msl-ms",
            &msl,
            "--drain",
        ],
    );
    assert_counts(
        "synwave connect",
        &v,
        &[
            ("connected", 1),
            ("closed", 1),
            ("reset", 0),
            ("timed_out", 0),
        ],
    );
    thread::sleep(Duration::from_millis(100));
    dump.signal(libc::SIGINT);
    let st = dump.wait_or_panic(PROC_TIMEOUT);
    assert!(st.success(), "tcpdump: {st}\n{}", dump.stderr());
    let (served, errors) = server.finish();
    assert!(errors.is_empty(), "kernel server errors: {errors:?}");
    assert_eq!(served, 1);

    let segs: Vec<Seg> = read_pcap(&pcap)
        .iter()
        .filter_map(|f| {
            let t = synwave::wire::parse_tcp_frame(f, false).ok()?;
            let ours = t.ip.src == IP_A && t.tcp.dst_port == KERNEL_PORT;
            let theirs = t.ip.src == IP_B && t.tcp.src_port == KERNEL_PORT;
            (ours || theirs).then(|| Seg {
                ours,
                seq: t.tcp.seq.0,
                ack: t.tcp.ack.0,
                syn: t.tcp.flags.syn(),
                ack_set: t.tcp.flags.ack(),
                fin: t.tcp.flags.fin(),
                rst: t.tcp.flags.rst(),
                payload: t.tcp.payload.to_vec(),
            })
        })
        .collect();
    let trace = describe(&segs);
    let find = |pred: &dyn Fn(&Seg) -> bool, what: &str| -> usize {
        segs.iter()
            .position(pred)
            .unwrap_or_else(|| panic!("no {what} in the capture:\n{trace}"))
    };

    assert!(!segs.iter().any(|g| g.rst), "RST on the wire:\n{trace}");

    // SYN: seq = x.
    let i_syn = find(&|g| g.ours && g.syn && !g.ack_set, "SYN from synwave");
    let x = segs[i_syn].seq;
    // SYN-ACK: seq = y, ack = x + 1.
    let i_synack = find(
        &|g| !g.ours && g.syn && g.ack_set,
        "SYN-ACK from the kernel",
    );
    assert!(i_synack > i_syn, "SYN-ACK before SYN:\n{trace}");
    let y = segs[i_synack].seq;
    assert_eq!(
        segs[i_synack].ack,
        x.wrapping_add(1),
        "SYN-ACK ack != x+1:\n{trace}"
    );
    // Third segment: seq = x + 1, ack = y + 1.
    let third = segs[i_synack + 1..]
        .iter()
        .find(|g| g.ours)
        .unwrap_or_else(|| panic!("no third segment:\n{trace}"));
    assert!(third.ack_set && !third.syn, "third segment flags:\n{trace}");
    assert_eq!(
        third.seq,
        x.wrapping_add(1),
        "third segment seq != x+1:\n{trace}"
    );
    assert_eq!(
        third.ack,
        y.wrapping_add(1),
        "third segment ack != y+1:\n{trace}"
    );

    // The request and the response, whole and in order.
    let sent: Vec<u8> = segs
        .iter()
        .filter(|g| g.ours)
        .flat_map(|g| g.payload.clone())
        .collect();
    let got: Vec<u8> = segs
        .iter()
        .filter(|g| !g.ours)
        .flat_map(|g| g.payload.clone())
        .collect();
    assert_eq!(sent, REQUEST, "request bytes on the wire:\n{trace}");
    assert_eq!(got, RESPONSE, "response bytes on the wire:\n{trace}");

    // synwave's FIN sits right after its request: u = x + 1 + len(request),
    // and the kernel acknowledges it with u + 1.
    let i_fin = find(&|g| g.ours && g.fin, "FIN from synwave");
    let fin = &segs[i_fin];
    let u = fin.seq.wrapping_add(fin.payload.len() as u32);
    assert_eq!(
        u,
        x.wrapping_add(1).wrapping_add(REQUEST.len() as u32),
        "synwave's FIN is not right after its request:\n{trace}"
    );
    find(
        &|g| !g.ours && g.ack_set && g.ack == u.wrapping_add(1),
        "kernel ACK of synwave's FIN (ack = u+1)",
    );
    // The kernel's FIN: w = y + 1 + len(response), acknowledged with w + 1.
    let i_kfin = find(&|g| !g.ours && g.fin, "FIN from the kernel");
    let kfin = &segs[i_kfin];
    let w = kfin.seq.wrapping_add(kfin.payload.len() as u32);
    assert_eq!(
        w,
        y.wrapping_add(1).wrapping_add(RESPONSE.len() as u32),
        "kernel's FIN is not right after its response:\n{trace}"
    );
    let i_last = find(
        &|g| g.ours && g.ack_set && g.ack == w.wrapping_add(1),
        "synwave's ACK of the kernel's FIN (ack = w+1)",
    );
    assert!(
        i_last > i_kfin,
        "FIN acknowledged before it was sent:\n{trace}"
    );
    // Nothing from synwave ever claims more than the kernel sent.
    for g in segs.iter().filter(|g| g.ours && g.ack_set) {
        let beyond = g.ack.wrapping_sub(w.wrapping_add(1)) as i32;
        assert!(
            beyond <= 0,
            "synwave acknowledged beyond the kernel's FIN:\n{trace}"
        );
    }
}

// ---------------------------------------------------------------------------
// 5. Error paths
// ---------------------------------------------------------------------------

#[test]
fn second_instance_on_same_interface_fails_cleanly() {
    if !require_root_or_skip("second_instance_on_same_interface_fails_cleanly") {
        return;
    }
    let _serial = serial();
    let tb = testbed("swi-two");
    let scratch = Scratch::new("two");
    let response = scratch.write("response", RESPONSE);
    let listen = format!("{IP_A}:{SERVE_PORT}");
    let mut first = start_serve(
        &tb,
        &scratch,
        "first",
        &["--listen", &listen, "--response", s(&response), "--json"],
    );

    let mut cmd = ns_cmd(tb.ns_a(), BIN);
    let listen2 = format!("{IP_A}:8081");
    cmd.args(["serve", "--iface", IFACE_A, "--listen", &listen2]);
    let second = run_to_end(
        "second synwave serve",
        cmd,
        &scratch,
        "second",
        PROC_TIMEOUT,
    );
    assert_one_line_error("second synwave serve on the same interface", &second);
    assert!(
        link_details(&tb).contains("prog/xdp"),
        "the failed second instance took the first one's XDP program away:\n{}",
        link_details(&tb)
    );

    // The first instance still works.
    let client = {
        let ns = tb.ns_b().to_string();
        thread::spawn(move || {
            netns::enter(&ns).unwrap_or_else(|e| panic!("{e}"));
            client_cycle(SocketAddr::from((IP_A, SERVE_PORT)), ClientClose::AfterEof)
        })
    };
    let r = client.join().expect("client thread panicked");
    assert!(
        r.is_ok(),
        "kernel client could not use the first instance after the second failed: {r:?}\n{}",
        first.stderr()
    );

    let out = first.interrupt_and_collect();
    let v = parse_json("first synwave serve", &out);
    assert_eq!(count(&v, "accepted"), 1, "{v}");
    assert_no_xdp(&tb, "after the first instance exited");
}

#[test]
fn missing_interface_is_one_line_error() {
    if !require_root_or_skip("missing_interface_is_one_line_error") {
        return;
    }
    let _serial = serial();
    let tb = testbed("swi-nif");
    let scratch = Scratch::new("nif");
    let listen = format!("{IP_A}:{SERVE_PORT}");
    let target = format!("{IP_B}:{KERNEL_PORT}");
    for (tag, args) in [
        (
            "serve",
            vec!["serve", "--iface", "nope0", "--listen", &listen],
        ),
        (
            "connect",
            vec!["connect", "--iface", "nope0", "--target", &target],
        ),
    ] {
        let mut cmd = ns_cmd(tb.ns_a(), BIN);
        cmd.args(&args);
        let what = format!("synwave {}", args.join(" "));
        let f = run_to_end(&what, cmd, &scratch, tag, PROC_TIMEOUT);
        let line = assert_one_line_error(&what, &f);
        assert!(
            line.contains("nope0"),
            "{what}: error does not name the interface: {line}"
        );
        assert!(
            f.stdout.is_empty(),
            "{what}: wrote to stdout: {}",
            f.describe()
        );
    }
    assert_no_xdp(&tb, "after the failed runs");
}

#[test]
fn no_privileges_is_one_line_error() {
    if !require_root_or_skip("no_privileges_is_one_line_error") {
        return;
    }
    let _serial = serial();
    let tb = testbed("swi-nop");
    let scratch = Scratch::new("nop");
    let mut problems = Vec::new();
    let listen = format!("{IP_A}:{SERVE_PORT}");
    let target = format!("{IP_B}:{KERNEL_PORT}");
    for (tag, args) in [
        (
            "serve",
            vec!["serve", "--iface", IFACE_A, "--listen", &listen],
        ),
        (
            "connect",
            vec!["connect", "--iface", IFACE_A, "--target", &target],
        ),
    ] {
        // Enter A as root, then drop to nobody: setuid away from 0 clears
        // every capability.
        let mut cmd = ns_cmd(tb.ns_a(), "setpriv");
        cmd.args(["--reuid=65534", "--regid=65534", "--clear-groups", BIN])
            .args(&args);
        let what = format!("synwave {} (as nobody)", args.join(" "));
        let f = run_to_end(&what, cmd, &scratch, tag, PROC_TIMEOUT);
        problems.extend(one_line_error(&what, &f).err());
        assert_no_xdp(&tb, &what);
    }
    assert_no_problems(&problems);
}

#[test]
fn bad_arguments_are_one_line_errors() {
    if !require_root_or_skip("bad_arguments_are_one_line_errors") {
        return;
    }
    let _serial = serial();
    let tb = testbed("swi-arg");
    let scratch = Scratch::new("arg");
    let mut problems = Vec::new();
    for (tag, args) in [
        (
            "bad-addr",
            vec!["serve", "--iface", IFACE_A, "--listen", "nope"],
        ),
        ("missing", vec!["serve", "--iface", IFACE_A]),
        (
            "bad-close",
            vec![
                "serve",
                "--iface",
                IFACE_A,
                "--listen",
                "10.77.0.1:8080",
                "--close",
                "never",
            ],
        ),
        (
            "bad-count",
            vec![
                "connect",
                "--iface",
                IFACE_A,
                "--target",
                "10.77.0.2:9090",
                "--count",
                "-3",
            ],
        ),
    ] {
        let mut cmd = ns_cmd(tb.ns_a(), BIN);
        cmd.args(&args);
        let what = format!("synwave {}", args.join(" "));
        let f = run_to_end(&what, cmd, &scratch, tag, PROC_TIMEOUT);
        problems.extend(one_line_error(&what, &f).err());
    }
    assert_no_xdp(&tb, "after bad arguments");
    assert_no_problems(&problems);
}

// ---------------------------------------------------------------------------
// 5. synwave load against the kernel
// ---------------------------------------------------------------------------

const LOAD_PORT: u16 = 9191;

/// Runs `synwave load --iface sw0 ARGS --json` in namespace A to the end.
fn run_load(tb: &Testbed, scratch: &Scratch, tag: &str, args: &[&str]) -> Value {
    run_load_exiting(tb, scratch, tag, args, 0)
}

/// Like [`run_load`], expecting exit status `code` (3: the run failed).
fn run_load_exiting(tb: &Testbed, scratch: &Scratch, tag: &str, args: &[&str], code: i32) -> Value {
    let mut cmd = ns_cmd(tb.ns_a(), BIN);
    cmd.args(["load", "--iface", IFACE_A])
        .args(args)
        .arg("--json");
    let what = format!("synwave load {}", args.join(" "));
    let f = run_to_end(&what, cmd, scratch, tag, CONNECT_TIMEOUT);
    assert_eq!(f.status.code(), Some(code), "{what}: {}", f.describe());
    parse_json(&what, &f.stdout)
}

/// started = completed + every error class, as issue #4 asks of every run.
fn assert_reconciled(what: &str, v: &Value) -> u64 {
    let errors: u64 = [
        "refused",
        "reset",
        "connect_timeout",
        "syn_timeout",
        "response_timeout",
        "retries_exhausted",
        "unfinished",
    ]
    .iter()
    .map(|k| {
        v["errors"][*k]
            .as_u64()
            .unwrap_or_else(|| panic!("{what}: errors.{k} missing in {v}"))
    })
    .sum();
    assert_eq!(
        count(v, "started"),
        count(v, "completed") + errors,
        "{what}: counts do not reconcile: {v}"
    );
    errors
}

#[test]
fn load_at_a_rate_against_kernel_server_reconciles_and_holds_the_rate() {
    if !require_root_or_skip("load_at_a_rate_against_kernel_server_reconciles_and_holds_the_rate") {
        return;
    }
    let _serial = serial();
    let tb = testbed("swi-load");
    let scratch = Scratch::new("load");
    let request = scratch.write("request", REQUEST);
    let server = KernelServer::start(tb.ns_b(), LOAD_PORT, Behaviour::Respond, 4);
    let target = format!("{IP_B}:{LOAD_PORT}");
    let resp_len = RESPONSE.len().to_string();
    let msl = MSL_MS.to_string();
    let v = run_load(
        &tb,
        &scratch,
        "load-rate",
        &[
            "--target",
            &target,
            "--rate",
            "2000",
            "--duration",
            "2",
            "--warm-up",
            "0.5",
            "--request-file",
            s(&request),
            "--response-bytes",
            &resp_len,
            "--msl-ms",
            &msl,
        ],
    );
    let errors = assert_reconciled("load --rate", &v);
    assert_eq!(errors, 0, "errors against a healthy kernel server: {v}");
    let started = count(&v, "started");
    // 2 s at 2000/s after the warm-up: the open-loop schedule is exact, so
    // only the edges can differ.
    assert!(
        (3960..=4040).contains(&started),
        "started {started}, expected about 4000: {v}"
    );
    let achieved = v["rate"]["achieved"].as_f64().unwrap();
    assert!(
        (achieved - 2000.0).abs() / 2000.0 < 0.03,
        "achieved rate {achieved}: {v}"
    );
    assert!(
        count(&v, "warm_up") > 900,
        "warm-up connections were counted: {v}"
    );
    assert_eq!(v["latency_us"]["connect"]["count"].as_u64(), Some(started));
    assert_eq!(count(&v, "responses"), started);
    assert!(!v["histograms"]["lifecycle"]
        .as_str()
        .unwrap_or("")
        .is_empty());
    let (_, errs) = server.finish();
    assert!(errs.is_empty(), "kernel server errors: {errs:?}");
    assert_no_xdp(&tb, "after load exited");
}

#[test]
fn load_closed_loop_with_rst_close() {
    if !require_root_or_skip("load_closed_loop_with_rst_close") {
        return;
    }
    let _serial = serial();
    let tb = testbed("swi-lcl");
    let scratch = Scratch::new("loadcl");
    let server = KernelServer::start(tb.ns_b(), LOAD_PORT, Behaviour::Respond, 4);
    let target = format!("{IP_B}:{LOAD_PORT}");
    let v = run_load(
        &tb,
        &scratch,
        "load-closed",
        &[
            "--target",
            &target,
            "--concurrency",
            "32",
            "--connections",
            "1000",
            "--close",
            "rst",
            "--request",
            "GET / HTTP/1.0\\r\\nHost: 10.77.0.1\\r\\n\\r\\n",
            "--response-delimiter",
            "world\\n",
        ],
    );
    assert_eq!(assert_reconciled("load --concurrency", &v), 0, "{v}");
    assert_eq!(count(&v, "started"), 1000, "{v}");
    assert_eq!(count(&v, "completed"), 1000, "{v}");
    // RST leaves no TIME-WAIT anywhere.
    assert_eq!(count(&v, "time_wait_left"), 0, "{v}");
    drop(server);
    assert_no_xdp(&tb, "after load exited");
}

#[test]
fn load_rate_beyond_the_tuple_space_is_refused_with_the_arithmetic() {
    if !require_root_or_skip("load_rate_beyond_the_tuple_space_is_refused_with_the_arithmetic") {
        return;
    }
    let _serial = serial();
    let tb = testbed("swi-ltu");
    let scratch = Scratch::new("loadtu");
    let target = format!("{IP_B}:{LOAD_PORT}");
    let mut cmd = ns_cmd(tb.ns_a(), BIN);
    cmd.args([
        "load",
        "--iface",
        IFACE_A,
        "--target",
        &target,
        "--rate",
        "100000",
        "--ports",
        "10000-10999",
    ]);
    let f = run_to_end(
        "load beyond tuple space",
        cmd,
        &scratch,
        "tuples",
        PROC_TIMEOUT,
    );
    let line = assert_one_line_error("load beyond tuple space", &f);
    // 100,000/s for the default 10 s, each tuple resting the 1 s reuse delay.
    assert!(
        line.contains("needs 100000 source tuples at once"),
        "{line}"
    );
    assert!(
        line.contains("1 source address(es) x 1000 ports = 1000 tuples"),
        "{line}"
    );
    assert_no_xdp(&tb, "after the refused load");
}

#[test]
fn load_counts_a_silent_server_as_response_timeouts() {
    if !require_root_or_skip("load_counts_a_silent_server_as_response_timeouts") {
        return;
    }
    let _serial = serial();
    let tb = testbed("swi-lrt");
    let scratch = Scratch::new("loadrt");
    // The kernel server waits for the whole REQUEST; half of it gets no answer.
    let server = KernelServer::start(tb.ns_b(), LOAD_PORT, Behaviour::Respond, 4);
    let target = format!("{IP_B}:{LOAD_PORT}");
    let v = run_load_exiting(
        &tb,
        &scratch,
        "load-silent",
        &[
            "--target",
            &target,
            "--concurrency",
            "20",
            "--connections",
            "20",
            "--request",
            "GET / HTTP/1.0",
            "--response-timeout",
            "0.5",
        ],
        3,
    );
    assert_reconciled("load against a silent server", &v);
    assert_eq!(v["errors"]["response_timeout"].as_u64(), Some(20), "{v}");
    assert_eq!(count(&v, "completed"), 0, "{v}");
    drop(server);
    assert_no_xdp(&tb, "after load exited");
}

// ---------------------------------------------------------------------------
// 6. A SYN flood from spoofed sources (RFC 4987)
// ---------------------------------------------------------------------------

/// Sends spoofed SYNs to `dst` on `iface` of namespace `ns` through an
/// AF_PACKET socket, as fast as one thread can, until `stop`; returns how many.
fn syn_flood(
    ns: &str,
    iface: &str,
    dst_mac: [u8; 6],
    dst: SocketAddr,
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
        while !stop.load(Ordering::Relaxed) {
            n = n.wrapping_add(1);
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

#[test]
fn syn_flood_from_spoofed_sources_does_not_stop_legitimate_clients() {
    if !require_root_or_skip("syn_flood_from_spoofed_sources_does_not_stop_legitimate_clients") {
        return;
    }
    let _serial = serial();
    let tb = testbed("swi-syn");
    let scratch = Scratch::new("synflood");
    let response = scratch.write("response", RESPONSE);
    let listen = format!("{IP_A}:{SERVE_PORT}");
    let mut serve = start_serve(
        &tb,
        &scratch,
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
    let mac_text = tb
        .ip_a(&["-o", "link", "show", IFACE_A])
        .unwrap_or_else(|e| panic!("{e}"));
    let mac: synwave::wire::MacAddr = mac_text
        .split_whitespace()
        .skip_while(|w| *w != "link/ether")
        .nth(1)
        .and_then(|m| m.parse().ok())
        .unwrap_or_else(|| panic!("no MAC in {mac_text}"));
    let stop = Arc::new(AtomicBool::new(false));
    let flood = syn_flood(
        tb.ns_b(),
        IFACE_B,
        mac.0,
        SocketAddr::from((IP_A, SERVE_PORT)),
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
    assert_no_xdp(&tb, "after serve exited");
}

/// Times `n` sequential kernel-client cycles in `ns` from the start of
/// connect to the first response byte; returns them sorted, or the first error.
fn first_byte_latencies(ns: &str, addr: SocketAddr, n: usize) -> Result<Vec<Duration>, String> {
    let ns = ns.to_string();
    thread::spawn(move || {
        netns::enter(&ns).map_err(|e| e.to_string())?;
        let mut v = Vec::with_capacity(n);
        for i in 0..n {
            let t0 = Instant::now();
            let mut cycle = || -> io::Result<()> {
                let mut s = TcpStream::connect_timeout(&addr, IO_TIMEOUT)?;
                s.set_read_timeout(Some(IO_TIMEOUT))?;
                s.write_all(REQUEST)?;
                let mut first = [0u8; 1];
                s.read_exact(&mut first)?;
                v.push(t0.elapsed());
                let mut rest = vec![0u8; RESPONSE.len() - 1];
                s.read_exact(&mut rest)?;
                Ok(())
            };
            cycle().map_err(|e| format!("cycle {i}: {e}"))?;
        }
        v.sort();
        Ok(v)
    })
    .join()
    .expect("latency thread panicked")
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
    if !require_root_or_skip("syn_flood_keeps_first_byte_latency_of_legitimate_clients") {
        return;
    }
    let _serial = serial();
    let tb = testbed("swi-fbl");
    let scratch = Scratch::new("synflood-latency");
    let response = scratch.write("response", RESPONSE);
    let listen = format!("{IP_A}:{SERVE_PORT}");
    let mut serve = start_serve(
        &tb,
        &scratch,
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
    let mac_text = tb
        .ip_a(&["-o", "link", "show", IFACE_A])
        .unwrap_or_else(|e| panic!("{e}"));
    let mac: synwave::wire::MacAddr = mac_text
        .split_whitespace()
        .skip_while(|w| *w != "link/ether")
        .nth(1)
        .and_then(|m| m.parse().ok())
        .unwrap_or_else(|| panic!("no MAC in {mac_text}"));
    let stop = Arc::new(AtomicBool::new(false));
    let flood = syn_flood(tb.ns_b(), IFACE_B, mac.0, addr, stop.clone());
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
    assert!(
        under <= bound,
        "first-byte p99 {under:?} under the flood, bound {bound:?} (no flood: {base:?})"
    );
    assert_no_xdp(&tb, "after serve exited");
}

#[test]
fn bad_configuration_is_refused_before_anything_is_attached() {
    if !require_root_or_skip("bad_configuration_is_refused_before_anything_is_attached") {
        return;
    }
    let _serial = serial();
    let tb = testbed("swi-cfg");
    let scratch = Scratch::new("badcfg");
    let listen = format!("{IP_A}:{SERVE_PORT}");
    for (args, needle) in [
        (vec!["--max-tcbs", "100000000"], "exceed the memory limit"),
        (
            vec!["--umem-frames", "1048576", "--memory-per-worker", "64"],
            "MB of UMEM",
        ),
        (vec!["--syn-backlog", "0"], "syn_backlog"),
        (vec!["--msl-ms", "0"], "msl"),
        (vec!["--workers", "4"], "receive queue"),
    ] {
        let mut cmd = ns_cmd(tb.ns_a(), BIN);
        cmd.args(["serve", "--iface", IFACE_A, "--listen", &listen])
            .args(&args);
        let what = format!("serve {}", args.join(" "));
        let f = run_to_end(&what, cmd, &scratch, "cfg", PROC_TIMEOUT);
        let line = assert_one_line_error(&what, &f);
        assert!(line.contains(needle), "{what}: {line}");
        assert_no_xdp(&tb, &what);
    }
}
