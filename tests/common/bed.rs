//! The prologue of every veth test: the root check, the per-binary serial
//! lock, a testbed and a scratch directory.

use std::fs;
use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use synwave::io::Testbed;

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

/// Serializes the tests of one test binary that take it: on a small
/// machine, several of them at once only make each other's timing worse.
/// (Cargo runs test binaries one after another, so one lock per binary
/// serializes them all.)
pub fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|p| p.into_inner())
}

/// A private temporary directory, removed on drop.
pub struct Scratch(pub PathBuf);

impl Scratch {
    pub fn new(tag: &str) -> Self {
        static N: AtomicU64 = AtomicU64::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let dir =
            std::env::temp_dir().join(format!("synwave-test-{}-{tag}-{n}", std::process::id()));
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

/// What a veth test holds from its first line to its last: the serial lock,
/// its own [`Testbed`] (removed on drop, panicking or not) and a scratch
/// directory. Fields drop in order: the scratch directory, then the
/// testbed, then the lock, so the next test starts on a clean machine.
pub struct Bed {
    /// The test's files and its child processes' output.
    pub scratch: Scratch,
    /// Namespaces A (synwave, `sw0`) and B (the kernel peer, `sw1`).
    pub tb: Testbed,
    _serial: MutexGuard<'static, ()>,
}

impl Bed {
    /// The fixture for the test `test`, on namespaces named from `prefix`
    /// (unique across the test files, so a leftover names its test); `None`
    /// when the test skips (see [`require_root_or_skip`]: under `CI` it
    /// fails instead).
    pub fn new(test: &str, prefix: &str) -> Option<Bed> {
        Self::with_queues(test, prefix, 1)
    }

    /// Like [`Bed::new`], the veth pair with `queues` queues on each end.
    pub fn with_queues(test: &str, prefix: &str, queues: u32) -> Option<Bed> {
        if !require_root_or_skip(test) {
            return None;
        }
        let serial = serial();
        let tb = Testbed::up_with_queues(prefix, queues).unwrap_or_else(|e| panic!("testbed: {e}"));
        Some(Bed {
            scratch: Scratch::new(test),
            tb,
            _serial: serial,
        })
    }
}
