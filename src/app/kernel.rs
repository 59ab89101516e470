//! The Linux kernel stack as a peer and as a yardstick: a threaded server
//! and a threaded client on ordinary sockets, doing the same request/response
//! cycle as synwave, so that both can be measured in the same run.

use hdrhistogram::Histogram;
use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddrV4, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// A kernel-socket server: per connection it reads the request, writes the
/// response, reads until the client's FIN and closes (so the client holds
/// TIME-WAIT, as with `synwave serve --close wait-client`).
pub struct KernelServer {
    stop: Arc<AtomicBool>,
    addr: SocketAddrV4,
    threads: Vec<JoinHandle<()>>,
    served: Arc<AtomicU64>,
}

impl KernelServer {
    /// Listens on `addr` with `threads` accepting threads, in the calling
    /// thread's network namespace.
    pub fn start(addr: SocketAddrV4, response: Vec<u8>, threads: usize) -> std::io::Result<Self> {
        let listener = TcpListener::bind(addr)?;
        let stop = Arc::new(AtomicBool::new(false));
        let served = Arc::new(AtomicU64::new(0));
        let response = Arc::new(response);
        let threads = (0..threads.max(1))
            .map(|_| {
                let listener = listener.try_clone()?;
                let (stop, served, response) = (stop.clone(), served.clone(), response.clone());
                Ok(std::thread::spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        let Ok((conn, _)) = listener.accept() else {
                            continue;
                        };
                        if serve_one(conn, &response).is_ok() {
                            served.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }))
            })
            .collect::<std::io::Result<Vec<_>>>()?;
        Ok(KernelServer {
            stop,
            addr,
            threads,
            served,
        })
    }

    /// Connections served to completion so far.
    pub fn served(&self) -> u64 {
        self.served.load(Ordering::Relaxed)
    }

    /// Serves until `duration` has passed or `stop` is raised; returns the
    /// connections served to completion.
    pub fn serve_for(self, duration: Duration, stop: &AtomicBool) -> u64 {
        let start = Instant::now();
        while start.elapsed() < duration && !stop.load(Ordering::Relaxed) {
            std::thread::sleep(Duration::from_millis(50));
        }
        let served = self.served();
        self.stop();
        served
    }

    /// Stops accepting: each thread, blocked in accept(2) so that it costs
    /// nothing while idle, is woken by a connection. Call it from the
    /// listener's namespace. A thread that cannot be woken (its namespace is
    /// gone) is left behind rather than waited for; it ends with the process.
    pub fn stop(self) {
        self.stop.store(true, Ordering::Relaxed);
        let woken = self.threads.iter().all(|_| {
            TcpStream::connect_timeout(&self.addr.into(), Duration::from_millis(200)).is_ok()
        });
        if woken {
            for t in self.threads {
                let _ = t.join();
            }
        }
    }
}

fn serve_one(mut conn: TcpStream, response: &[u8]) -> std::io::Result<()> {
    conn.set_read_timeout(Some(Duration::from_secs(5)))?;
    let mut buf = [0u8; 2048];
    if conn.read(&mut buf)? == 0 {
        return Ok(());
    }
    conn.write_all(response)?;
    while conn.read(&mut buf)? > 0 {}
    Ok(())
}

/// What a kernel-socket load run did.
#[derive(Clone, Debug, Default)]
pub struct KernelLoad {
    pub completed: u64,
    pub failed: u64,
    pub elapsed: Duration,
    /// `connect()` latencies in nanoseconds, one per completed connection.
    pub connect_ns: Vec<u64>,
}

impl KernelLoad {
    /// Completed connections per second.
    pub fn rate(&self) -> f64 {
        self.completed as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// `kernel-load`'s result: one JSON object, or one line of text.
    pub fn report(&self, as_json: bool) -> String {
        if as_json {
            serde_json::json!({"command": "kernel-load", "completed": self.completed,
                "failed": self.failed, "elapsed_s": self.elapsed.as_secs_f64(),
                "conn_per_s": self.rate()})
            .to_string()
        } else {
            format!(
                "kernel-load: {} completed, {} failed, {:.0} conn/s",
                self.completed,
                self.failed,
                self.rate()
            )
        }
    }
}

/// `count` connect / request / response / close cycles to `target` on
/// `threads` threads of blocking sockets, closing client-first after the
/// response — the same cycle `synwave connect --request` runs.
pub fn kernel_load(
    target: SocketAddrV4,
    request: &[u8],
    response_len: usize,
    count: u64,
    threads: usize,
) -> KernelLoad {
    let next = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let handles: Vec<_> = (0..threads.max(1))
        .map(|_| {
            let (next, request) = (next.clone(), request.to_vec());
            std::thread::spawn(move || {
                let mut r = KernelLoad::default();
                while next.fetch_add(1, Ordering::Relaxed) < count {
                    let t0 = Instant::now();
                    match TcpStream::connect_timeout(&target.into(), Duration::from_secs(5)) {
                        Ok(s) => {
                            r.connect_ns.push(t0.elapsed().as_nanos() as u64);
                            match exchange(s, &request, response_len) {
                                Ok(()) => r.completed += 1,
                                Err(_) => r.failed += 1,
                            }
                        }
                        Err(_) => r.failed += 1,
                    }
                }
                r
            })
        })
        .collect();
    let mut total = KernelLoad::default();
    for h in handles {
        if let Ok(r) = h.join() {
            total.completed += r.completed;
            total.failed += r.failed;
            total.connect_ns.extend(r.connect_ns);
        }
    }
    total.elapsed = start.elapsed();
    total
}

fn exchange(mut s: TcpStream, request: &[u8], response_len: usize) -> std::io::Result<()> {
    s.set_read_timeout(Some(Duration::from_secs(5)))?;
    s.write_all(request)?;
    let mut got = 0;
    let mut buf = [0u8; 2048];
    while got < response_len.max(1) {
        let n = s.read(&mut buf)?;
        if n == 0 {
            break;
        }
        got += n;
    }
    s.shutdown(Shutdown::Both)
}

/// The kernel's connect() at the same rate, timed from each intended start
/// exactly as synwave's handshakes are.
pub fn kernel_connect_latency(target: SocketAddrV4, rate: f64, count: u64) -> Histogram<u64> {
    let mut h = Histogram::<u64>::new_with_bounds(1, 100_000_000, 3).expect("constant bounds");
    let start = std::time::Instant::now();
    for k in 0..count {
        let intended = start + Duration::from_secs_f64(k as f64 / rate);
        // Sleep most of the way and spin the rest, as synwave's worker does,
        // so that timer slack is not charged to the kernel's handshake.
        if let Some(wait) = intended.checked_duration_since(std::time::Instant::now()) {
            std::thread::sleep(wait.saturating_sub(Duration::from_micros(200)));
        }
        while std::time::Instant::now() < intended {
            std::hint::spin_loop();
        }
        if std::net::TcpStream::connect_timeout(&target.into(), Duration::from_secs(5)).is_ok() {
            h.saturating_record((intended.elapsed().as_micros() as u64).max(1));
        }
    }
    h
}
