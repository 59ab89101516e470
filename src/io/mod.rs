//! AF_XDP data path: the XDP steering program, AF_XDP sockets, and the
//! netdev/netns plumbing around them.
//!
//! Layout: [`xdp`] loads and attaches `bpf/synwave.bpf.c`; `sys` is the
//! only module allowed `unsafe`: the AF_XDP socket ([`XskSocket`]) and its
//! ring logic, the libbpf skeleton and the libc wrappers; [`netdev`] answers
//! "what is this interface" and "what MAC is the next hop"; [`netns`] moves
//! the calling thread into a named network namespace; [`signal`] turns
//! Ctrl-C into a flag so loops stop and `Drop` guards run; [`handoff`]
//! carries a frame that arrived at the wrong worker to its owner; [`keys`] keeps
//! the engine's secrets for the life of the boot; [`testbed`] builds
//! veth pairs between throw-away namespaces for tests; [`control`] is the
//! HTTP control and metrics port beside the data path.

use std::fmt;
use std::net::Ipv4Addr;

pub mod arp;
pub mod control;
pub mod demo;
pub mod handoff;
pub mod keys;
pub mod netdev;
pub mod netns;
pub mod results;
pub mod runtime;
pub mod signal;
mod sys;
pub mod testbed;
pub mod worker;
pub mod xdp;

pub use sys::{Frames, HugePageAlloc, XskConfig, XskMode, XskSocket, XskStats};
pub use testbed::Testbed;
pub use xdp::{AttachMode, XdpMode, XdpProgram};

/// Whether the process runs with effective uid 0, which XDP, AF_XDP and
/// network namespaces need (read from procfs: no `unsafe` outside `sys`).
pub fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(2).map(|uid| uid == "0"))
        })
        .unwrap_or(false)
}

/// Everything that can go wrong in the I/O layer.
///
/// Every variant displays as a single line meant for an operator: what failed,
/// on which interface, and (where known) what to do about it.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The named interface is not present in the calling thread's namespace.
    NoSuchInterface(String),
    /// An XDP program is already attached to the interface.
    AlreadyAttached(String),
    /// The kernel refused an operation for lack of privileges.
    PermissionDenied(&'static str),
    /// Loading the BPF object or touching one of its maps failed.
    Bpf {
        /// What we were doing.
        op: &'static str,
        /// libbpf's explanation, flattened to one line.
        msg: String,
    },
    /// Creating or binding the AF_XDP socket failed.
    Xsk {
        /// Interface the socket was bound to.
        iface: String,
        /// Queue the socket was bound to.
        queue: u32,
        /// The underlying reason, flattened to one line.
        msg: String,
    },
    /// A system call failed.
    Os {
        /// What we were doing.
        op: String,
        /// The errno, as std reports it.
        err: std::io::Error,
    },
    /// The interface has no IPv4 address.
    NoIpv4(String),
    /// The next hop's MAC address is not in the neighbour table, even after
    /// prodding the kernel to resolve it.
    NeighbourUnresolved {
        /// Address that was to be resolved.
        ip: Ipv4Addr,
        /// Interface it should be reachable on.
        iface: String,
    },
    /// The named network namespace does not exist.
    NoSuchNetns(String),
    /// A frame handed to [`XskSocket::send`] does not fit a UMEM frame.
    FrameTooLarge {
        /// Length of the offending frame.
        len: usize,
        /// Largest frame the UMEM can hold.
        max: usize,
    },
    /// A configuration value is unusable.
    Config(String),
    /// An external command (`ip`, `ethtool`) failed.
    Command {
        /// The command line, for copy-paste.
        cmd: String,
        /// Its stderr (or exit status), flattened to one line.
        msg: String,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::NoSuchInterface(i) => write!(f, "interface {i} does not exist"),
            Error::AlreadyAttached(i) => write!(
                f,
                "another XDP program (maybe another synwave) is attached to {i}"
            ),
            Error::PermissionDenied(op) => write!(
                f,
                "permission denied: {op} needs root (CAP_NET_ADMIN, CAP_BPF, CAP_NET_RAW)"
            ),
            Error::Bpf { op, msg } => write!(f, "{op}: {msg}"),
            Error::Xsk { iface, queue, msg } => {
                write!(
                    f,
                    "cannot open AF_XDP socket on {iface} queue {queue}: {msg}"
                )
            }
            Error::Os { op, err } => write!(f, "{op}: {err}"),
            Error::NoIpv4(i) => write!(f, "interface {i} has no IPv4 address"),
            Error::NeighbourUnresolved { ip, iface } => {
                write!(f, "cannot resolve MAC of {ip} on {iface}")
            }
            Error::NoSuchNetns(n) => write!(f, "network namespace {n} does not exist"),
            Error::FrameTooLarge { len, max } => {
                write!(
                    f,
                    "frame of {len} bytes exceeds the UMEM frame capacity of {max} bytes"
                )
            }
            Error::Config(m) => write!(f, "invalid configuration: {m}"),
            Error::Command { cmd, msg } => write!(f, "`{cmd}` failed: {msg}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Os { err, .. } => Some(err),
            _ => None,
        }
    }
}

/// Flattens a possibly multi-line error chain into one line, because the
/// operator-facing contract of [`Error`] is one line per failure.
pub(crate) fn one_line(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(cause) = src {
        let c = cause.to_string();
        if !s.contains(&c) {
            s.push_str(": ");
            s.push_str(&c);
        }
        src = cause.source();
    }
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A plan the user's flags made impossible is a configuration error.
impl From<crate::app::plan::PlanError> for Error {
    fn from(e: crate::app::plan::PlanError) -> Self {
        Error::Config(e.0)
    }
}

impl Error {
    /// Wraps the calling thread's last OS error.
    pub(crate) fn last_os(op: impl Into<String>) -> Self {
        Error::Os {
            op: op.into(),
            err: std::io::Error::last_os_error(),
        }
    }

    /// Wraps a std I/O error with what we were doing.
    pub(crate) fn os(op: impl Into<String>, err: std::io::Error) -> Self {
        Error::Os { op: op.into(), err }
    }
}
