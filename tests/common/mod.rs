//! Shared helpers for the privileged integration tests.
#![allow(dead_code)]

use serde_json::Value;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};
use synwave::io::testbed::{run_cmd, IFACE_A, IP_B};
use synwave::io::Testbed;

/// The synwave binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_synwave");
/// For a synwave process to come up, or to exit once asked to.
pub const PROC_TIMEOUT: Duration = Duration::from_secs(15);

/// Whether the process runs with effective uid 0 (read from procfs so the
/// tests need no `unsafe`).
fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(2).map(|e| e == "0"))
        })
        .unwrap_or(false)
}

fn tool_works(prog: &str, arg: &str) -> bool {
    Command::new(prog)
        .arg(arg)
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

/// Returns the reason these tests cannot run here, if any.
fn missing_prerequisite() -> Option<String> {
    if !is_root() {
        return Some("needs root (netns, veth, XDP, AF_XDP)".into());
    }
    for (prog, arg) in [("ip", "-V"), ("ethtool", "--version")] {
        if !tool_works(prog, arg) {
            return Some(format!("needs `{prog}` in PATH"));
        }
    }
    if !tool_works("ip", "netns") {
        return Some("`ip netns` does not work here".into());
    }
    None
}

/// Returns true when the test may run. Without root/netns it panics under CI
/// (env `CI` set: a CI that cannot run these tests is misconfigured, and a
/// silent skip would hide that) and otherwise prints why it skips.
pub fn require_root_or_skip(test: &str) -> bool {
    match missing_prerequisite() {
        None => true,
        Some(reason) if std::env::var_os("CI").is_some() => {
            panic!("{test}: {reason} (CI is set, so this is a failure, not a skip)")
        }
        Some(reason) => {
            eprintln!("SKIP {test}: {reason}");
            false
        }
    }
}

/// Internet checksum (RFC 1071) over `chunks`, concatenated.
pub fn inet_checksum(chunks: &[&[u8]]) -> u16 {
    let mut sum: u32 = 0;
    let mut odd: Option<u8> = None;
    for c in chunks {
        for &b in *c {
            match odd.take() {
                Some(hi) => sum += u32::from(u16::from_be_bytes([hi, b])),
                None => odd = Some(b),
            }
        }
    }
    if let Some(hi) = odd {
        sum += u32::from(u16::from_be_bytes([hi, 0]));
    }
    while sum >> 16 != 0 {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// The fields of a TCP/IPv4 Ethernet frame the tests care about.
#[derive(Debug, Clone, Copy)]
pub struct TcpFrame {
    pub eth_dst: [u8; 6],
    pub eth_src: [u8; 6],
    pub ip_src: [u8; 4],
    pub ip_dst: [u8; 4],
    pub sport: u16,
    pub dport: u16,
    pub seq: u32,
    pub flags: u8,
    /// Whether the TCP checksum verifies.
    pub csum_ok: bool,
}

/// Parses an Ethernet/IPv4/TCP frame; `None` for anything else or truncated.
pub fn parse_tcp(f: &[u8]) -> Option<TcpFrame> {
    if f.len() < 14 + 20 || f[12..14] != [0x08, 0x00] {
        return None;
    }
    let ip = &f[14..];
    let ihl = usize::from(ip[0] & 0x0f) * 4;
    let total = usize::from(u16::from_be_bytes([ip[2], ip[3]]));
    if ip[0] >> 4 != 4 || ip[9] != 6 || ihl < 20 || total < ihl + 20 || ip.len() < total {
        return None;
    }
    let tcp = &ip[ihl..total];
    let pseudo = pseudo_header(&ip[12..16], &ip[16..20], tcp.len());
    Some(TcpFrame {
        eth_dst: f[0..6].try_into().ok()?,
        eth_src: f[6..12].try_into().ok()?,
        ip_src: ip[12..16].try_into().ok()?,
        ip_dst: ip[16..20].try_into().ok()?,
        sport: u16::from_be_bytes([tcp[0], tcp[1]]),
        dport: u16::from_be_bytes([tcp[2], tcp[3]]),
        seq: u32::from_be_bytes([tcp[4], tcp[5], tcp[6], tcp[7]]),
        flags: tcp[13],
        csum_ok: inet_checksum(&[&pseudo, tcp]) == 0,
    })
}

fn pseudo_header(src: &[u8], dst: &[u8], tcp_len: usize) -> [u8; 12] {
    let mut p = [0u8; 12];
    p[0..4].copy_from_slice(src);
    p[4..8].copy_from_slice(dst);
    p[9] = 6;
    p[10..12].copy_from_slice(&(tcp_len as u16).to_be_bytes());
    p
}

pub const TCP_FIN: u8 = 0x01;
pub const TCP_SYN: u8 = 0x02;
pub const TCP_RST: u8 = 0x04;
pub const TCP_ACK: u8 = 0x10;

/// Builds the RST|ACK (seq 0, ack = SYN seq + 1) that refuses `syn`, with
/// correct IPv4 and TCP checksums.
pub fn rst_for_syn(syn: &TcpFrame) -> Vec<u8> {
    let mut f = vec![0u8; 14 + 20 + 20];
    f[0..6].copy_from_slice(&syn.eth_src);
    f[6..12].copy_from_slice(&syn.eth_dst);
    f[12..14].copy_from_slice(&[0x08, 0x00]);
    {
        let ip = &mut f[14..34];
        ip[0] = 0x45;
        ip[2..4].copy_from_slice(&40u16.to_be_bytes());
        ip[6..8].copy_from_slice(&0x4000u16.to_be_bytes()); // DF
        ip[8] = 64;
        ip[9] = 6;
        ip[12..16].copy_from_slice(&syn.ip_dst);
        ip[16..20].copy_from_slice(&syn.ip_src);
        let c = inet_checksum(&[ip]);
        ip[10..12].copy_from_slice(&c.to_be_bytes());
    }
    {
        let tcp = &mut f[34..54];
        tcp[0..2].copy_from_slice(&syn.dport.to_be_bytes());
        tcp[2..4].copy_from_slice(&syn.sport.to_be_bytes());
        // seq 0 (bytes 4..8 already zero)
        tcp[8..12].copy_from_slice(&syn.seq.wrapping_add(1).to_be_bytes());
        tcp[12] = 5 << 4;
        tcp[13] = TCP_RST | TCP_ACK;
        let pseudo = pseudo_header(&syn.ip_dst, &syn.ip_src, 20);
        let c = inet_checksum(&[&pseudo, tcp]);
        tcp[16..18].copy_from_slice(&c.to_be_bytes());
    }
    f
}

/// A private temporary directory, removed on drop.
pub struct Scratch(pub PathBuf);

impl Scratch {
    pub fn new(tag: &str) -> Self {
        static N: AtomicU64 = AtomicU64::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let dir =
            std::env::temp_dir().join(format!("synwave-interop-{}-{tag}-{n}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("mkdir {}: {e}", dir.display()));
        Scratch(dir)
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }

    pub fn write(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let p = self.path(name);
        fs::write(&p, bytes).unwrap_or_else(|e| panic!("write {}: {e}", p.display()));
        p
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

pub fn s(p: &Path) -> &str {
    p.to_str().expect("non-UTF-8 path")
}

/// A child process whose stdout and stderr go to files; SIGKILLed on drop if
/// still running, so no failure path leaves it behind.
pub struct Proc {
    what: String,
    child: Child,
    stdout: PathBuf,
    stderr: PathBuf,
    status: Option<ExitStatus>,
}

impl Proc {
    pub fn spawn(what: &str, mut cmd: Command, scratch: &Scratch, tag: &str) -> Proc {
        let stdout = scratch.path(&format!("{tag}.stdout"));
        let stderr = scratch.path(&format!("{tag}.stderr"));
        let out = fs::File::create(&stdout).expect("create stdout file");
        let err = fs::File::create(&stderr).expect("create stderr file");
        cmd.stdin(Stdio::null()).stdout(out).stderr(err);
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("spawning {what}: {e}"));
        Proc {
            what: what.to_string(),
            child,
            stdout,
            stderr,
            status: None,
        }
    }

    pub fn stdout(&self) -> String {
        fs::read_to_string(&self.stdout).unwrap_or_default()
    }

    pub fn stderr(&self) -> String {
        fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    pub fn try_wait(&mut self) -> Option<ExitStatus> {
        if self.status.is_none() {
            self.status = self.child.try_wait().expect("try_wait");
        }
        self.status
    }

    /// Waits up to `limit` for the process to exit.
    pub fn wait_timeout(&mut self, limit: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(st) = self.try_wait() {
                return Some(st);
            }
            if Instant::now() >= deadline {
                return None;
            }
            thread::sleep(Duration::from_millis(10));
        }
    }

    /// Waits for exit, panicking (and so killing it) after `limit`.
    pub fn wait_or_panic(&mut self, limit: Duration) -> ExitStatus {
        match self.wait_timeout(limit) {
            Some(st) => st,
            None => panic!(
                "{} still running after {limit:?}\n--- stdout:\n{}\n--- stderr:\n{}",
                self.what,
                self.stdout(),
                self.stderr()
            ),
        }
    }

    pub fn signal(&self, sig: i32) {
        // `ip netns exec` execs its command, so this pid is the program itself.
        let pid = self.child.id() as libc::pid_t;
        // SAFETY: plain kill(2) on our own child, which has not been reaped
        // (we only reap through try_wait, and check `status` first).
        if self.status.is_none() {
            unsafe {
                libc::kill(pid, sig);
            }
        }
    }

    /// Waits until stderr contains `needle`; panics if the process exits
    /// first or `limit` passes.
    pub fn wait_for_stderr(&mut self, needle: &str, limit: Duration) {
        let deadline = Instant::now() + limit;
        loop {
            if self.stderr().contains(needle) {
                return;
            }
            if let Some(st) = self.try_wait() {
                panic!(
                    "{} exited ({st}) before printing {needle:?}\n--- stdout:\n{}\n--- stderr:\n{}",
                    self.what,
                    self.stdout(),
                    self.stderr()
                );
            }
            if Instant::now() >= deadline {
                panic!(
                    "{} did not print {needle:?} within {limit:?}\n--- stderr:\n{}",
                    self.what,
                    self.stderr()
                );
            }
            thread::sleep(Duration::from_millis(10));
        }
    }

    /// Sends SIGINT and waits for a clean exit; returns stdout.
    pub fn interrupt_and_collect(&mut self) -> String {
        self.signal(libc::SIGINT);
        let st = self.wait_or_panic(PROC_TIMEOUT);
        assert!(
            st.success(),
            "{} exited with {st} after SIGINT\n--- stdout:\n{}\n--- stderr:\n{}",
            self.what,
            self.stdout(),
            self.stderr()
        );
        self.stdout()
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if self.try_wait().is_none() {
            let _ = self.child.kill(); // SIGKILL
            let _ = self.child.wait();
        }
    }
}

/// `ip netns exec NS PROG`, to be completed with arguments.
pub fn ns_cmd(ns: &str, prog: &str) -> Command {
    let mut c = Command::new("ip");
    c.args(["netns", "exec", ns, prog]);
    c
}

/// Finished run of a short-lived command.
pub struct Finished {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl Finished {
    pub fn describe(&self) -> String {
        format!(
            "exit {}\n--- stdout:\n{}\n--- stderr:\n{}",
            self.status, self.stdout, self.stderr
        )
    }
}

/// Runs `cmd` to completion within `limit` (killed and panicking otherwise).
pub fn run_to_end(
    what: &str,
    cmd: Command,
    scratch: &Scratch,
    tag: &str,
    limit: Duration,
) -> Finished {
    let mut p = Proc::spawn(what, cmd, scratch, tag);
    let status = p.wait_or_panic(limit);
    Finished {
        status,
        stdout: p.stdout(),
        stderr: p.stderr(),
    }
}

/// The JSON object synwave printed with --json (its last `{...}` line).
pub fn parse_json(what: &str, stdout: &str) -> Value {
    let line = stdout
        .lines()
        .rev()
        .find(|l| l.trim_start().starts_with('{'))
        .unwrap_or_else(|| panic!("{what}: no JSON object on stdout:\n{stdout}"));
    let v: Value =
        serde_json::from_str(line).unwrap_or_else(|e| panic!("{what}: bad JSON ({e}):\n{line}"));
    assert!(v.is_object(), "{what}: JSON is not an object: {line}");
    v
}

pub fn count(v: &Value, key: &str) -> u64 {
    v.get(key)
        .and_then(Value::as_u64)
        .unwrap_or_else(|| panic!("key {key:?} missing or not a count in {v}"))
}

/// `ip -d link show sw0` in namespace A: shows an attached XDP program.
pub fn link_details(tb: &Testbed) -> String {
    tb.ip_a(&["-d", "link", "show", IFACE_A])
        .unwrap_or_else(|e| panic!("{e}"))
}

pub fn assert_no_xdp(tb: &Testbed, when: &str) {
    let d = link_details(tb);
    assert!(
        !d.contains("xdp"),
        "{when}: an XDP program is still attached to {IFACE_A}:\n{d}"
    );
}

/// Asserts a failed run: nonzero exit, stderr exactly one line starting with
/// `synwave: error:`. Returns that line.
pub fn assert_one_line_error(what: &str, f: &Finished) -> String {
    one_line_error(what, f).unwrap_or_else(|e| panic!("{e}"))
}

/// Checks a failed run: nonzero exit, stderr exactly one line starting with
/// `synwave: error:`; returns that line, or what is wrong.
pub fn one_line_error(what: &str, f: &Finished) -> Result<String, String> {
    if f.status.success() {
        return Err(format!("{what}: expected failure, {}", f.describe()));
    }
    let lines: Vec<&str> = f.stderr.lines().collect();
    if lines.len() == 1 && lines[0].starts_with("synwave: error:") {
        Ok(lines[0].to_string())
    } else {
        Err(format!(
            "{what}: expected exactly one stderr line `synwave: error: ...`, got {} line(s); {}",
            lines.len(),
            f.describe()
        ))
    }
}

/// nginx in namespace B on 10.77.0.2:80, as an expert runs it for
/// connection rate (reuseport, a long backlog, two workers); stopped on drop.
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
             location / {{ return 200 \"ok\"; }} }} }}\n"
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

/// Puts back the engine keys a test moved aside, root-only as synwave keeps them.
pub fn restore_keys(path: &Path, bytes: &[u8]) {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let _ = fs::remove_file(path);
    if let Ok(mut f) = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
    {
        let _ = f.write_all(bytes);
    }
}
