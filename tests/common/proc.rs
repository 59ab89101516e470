//! Child processes: a guard that kills on drop, short runs to the end, and
//! the synwave subcommands as the veth tests start them in namespace A.

use serde_json::Value;
use std::fs;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};
use synwave::io::testbed::IFACE_A;
use synwave::io::Testbed;

use super::{parse_json, Scratch};

/// The synwave binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_synwave");
/// For a synwave process to come up, or to exit once asked to.
pub const PROC_TIMEOUT: Duration = Duration::from_secs(15);
/// For a whole `synwave connect` or `synwave load` run (connect's own
/// --timeout is shorter).
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(90);
const CONNECT_TIMEOUT_ARG: &str = "60";

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

/// Starts `synwave serve --iface sw0 ARGS` in namespace A and waits until it
/// says it is serving (XDP attached, workers running).
pub fn start_serve(tb: &Testbed, scratch: &Scratch, tag: &str, args: &[&str]) -> Proc {
    let mut cmd = ns_cmd(tb.ns_a(), BIN);
    cmd.args(["serve", "--iface", IFACE_A]).args(args);
    let what = format!("synwave serve {}", args.join(" "));
    let mut p = Proc::spawn(&what, cmd, scratch, tag);
    p.wait_for_stderr("synwave: serving", PROC_TIMEOUT);
    p
}

/// Runs `synwave connect --iface sw0 ARGS --json` in namespace A to the end;
/// asserts exit 0 and returns the JSON summary.
pub fn run_connect(tb: &Testbed, scratch: &Scratch, tag: &str, args: &[&str]) -> Value {
    run_connect_exiting(tb, scratch, tag, args, 0)
}

/// Like [`run_connect`], expecting exit status `code` (3: every connection failed).
pub fn run_connect_exiting(
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
