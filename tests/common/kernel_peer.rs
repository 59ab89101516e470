//! The Linux stack as synwave's peer in namespace B: kernel clients, a
//! kernel test server, nginx.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::io::AsRawFd;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};
use synwave::io::testbed::{run_cmd, IP_B};
use synwave::io::{netns, Testbed};

use super::{ns_cmd, s, Proc, Scratch, PROC_TIMEOUT};

/// The request the kernel server expects, whole, on every connection.
pub const REQUEST: &[u8] = b"GET / HTTP/1.0\r\nHost: 10.77.0.1\r\n\r\n";
/// The response the kernel clients expect, whole.
pub const RESPONSE: &[u8] = b"HTTP/1.0 200 OK\r\nContent-Length: 12\r\n\r\nhello world\n";
/// Per socket operation of the kernel peers.
pub const IO_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ClientClose {
    /// Read exactly the response, then close: the client sends the first FIN.
    First,
    /// Read to EOF (the server's FIN), then close.
    AfterEof,
}

/// One request/response cycle of a kernel client.
pub fn client_cycle(addr: SocketAddr, close: ClientClose) -> io::Result<()> {
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
pub fn kernel_clients(
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
pub enum Behaviour {
    /// Read the request, write the response, read until EOF, close.
    Respond,
    /// Read the request, then close with SO_LINGER 0: an RST.
    Abort,
}

/// A kernel TCP server in namespace B, with `workers` accept loops.
pub struct KernelServer {
    stop: Arc<AtomicBool>,
    handles: Vec<JoinHandle<()>>,
    served: Arc<AtomicU64>,
    errors: Arc<Mutex<Vec<String>>>,
}

impl KernelServer {
    pub fn start(ns: &str, port: u16, behaviour: Behaviour, workers: usize) -> KernelServer {
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
    pub fn finish(mut self) -> (u64, Vec<String>) {
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

pub fn serve_one(mut conn: TcpStream, behaviour: &Behaviour) -> io::Result<()> {
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

/// Times `n` sequential kernel-client cycles in `ns` from the start of
/// connect to the first response byte; returns them sorted, or the first error.
pub fn first_byte_latencies(ns: &str, addr: SocketAddr, n: usize) -> Result<Vec<Duration>, String> {
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

/// nginx in namespace B on 10.77.0.2:80, as an expert runs it for
/// connection rate (reuseport, a long backlog, two workers); stopped on drop.
/// `/` answers 200 `ok` with a Content-Length, `/missing` 404 (its error
/// page, with a Content-Length), `/chunked` 200 in the chunked coding (the
/// sub filter drops the length, so HTTP/1.1 gets chunks).
pub struct Nginx {
    proc: Proc,
    _scratch: Scratch,
}

impl Nginx {
    pub fn start(tb: &Testbed) -> Nginx {
        let scratch = Scratch::new("nginx");
        let dir = scratch.0.display().to_string();
        let conf = format!(
            "worker_processes 2;\npid {dir}/nginx.pid;\nerror_log {dir}/error.log;\ndaemon off;\n\
             events {{ worker_connections 65536; }}\n\
             http {{ access_log off; server {{ listen {IP_B}:80 reuseport backlog=65535; \
             location / {{ return 200 \"ok\"; }} \
             location /missing {{ return 404; }} \
             location /chunked {{ sub_filter_types *; sub_filter \"ok\" \"ok\"; \
             return 200 \"chunked ok\"; }} }} }}\n"
        );
        let path = scratch.write("nginx.conf", conf.as_bytes());
        let mut cmd = ns_cmd(tb.ns_b(), "nginx");
        cmd.args(["-c", s(&path)]);
        let proc = Proc::spawn("nginx", cmd, &scratch, "nginx");
        let deadline = Instant::now() + PROC_TIMEOUT;
        while !run_cmd("ip", &["netns", "exec", tb.ns_b(), "ss", "-ltn"])
            .unwrap_or_default()
            .contains(&format!("{IP_B}:80"))
        {
            assert!(
                Instant::now() < deadline,
                "nginx did not start: {}",
                proc.stderr()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Nginx {
            proc,
            _scratch: scratch,
        }
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        // SIGTERM: the master stops its workers (a SIGKILL would orphan them).
        self.proc.signal(libc::SIGTERM);
        let _ = self.proc.wait_timeout(PROC_TIMEOUT);
    }
}
