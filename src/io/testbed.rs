//! A veth testbed between two throw-away network namespaces.
//!
//! Namespace A holds synwave's side (`sw0`, 10.77.0.1/24), namespace B the
//! kernel peer (`sw1`, 10.77.0.2/24). Each [`Testbed`] gets uniquely named
//! namespaces, and the veth pair is created directly inside them, so tests
//! running in parallel never collide and the host namespace is never touched.
//! `Drop` deletes both namespaces, which also destroys the veth pair and any
//! XDP program still attached to it. `deploy/testbed.sh` is the shell
//! equivalent with fixed names, for manual runs.

use std::net::Ipv4Addr;
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

use super::{netns, Error};

/// synwave's interface, in namespace A.
pub const IFACE_A: &str = "sw0";
/// The kernel peer's interface, in namespace B.
pub const IFACE_B: &str = "sw1";
/// Address of [`IFACE_A`]. 10.77/16 is unlikely to collide with a lab LAN,
/// and inside private namespaces a collision would not matter anyway.
pub const IP_A: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 1);
/// Address of [`IFACE_B`].
pub const IP_B: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 2);
const PREFIX_LEN: u8 = 24;

static SEQ: AtomicU32 = AtomicU32::new(0);

/// Guard owning two namespaces joined by a veth pair; removes them on drop.
#[derive(Debug)]
pub struct Testbed {
    ns_a: String,
    ns_b: String,
    /// Receive and transmit queues on each end of the veth pair.
    queues: u32,
    created: Vec<String>,
}

/// Runs a command, mapping failure to a one-line [`Error::Command`].
pub fn run_cmd(prog: &str, args: &[&str]) -> Result<String, Error> {
    let cmdline = || format!("{prog} {}", args.join(" "));
    let out = Command::new(prog)
        .args(args)
        .output()
        .map_err(|e| Error::Command {
            cmd: cmdline(),
            msg: e.to_string(),
        })?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let msg = stderr.split_whitespace().collect::<Vec<_>>().join(" ");
        return Err(Error::Command {
            cmd: cmdline(),
            msg: if msg.is_empty() {
                out.status.to_string()
            } else {
                msg
            },
        });
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

impl Testbed {
    /// Creates namespaces `PREFIX-PID-N-a` / `-b` and the veth pair, with
    /// addresses, links up, and checksum offload off (see below).
    pub fn up(name_prefix: &str) -> Result<Self, Error> {
        Self::up_with_queues(name_prefix, 1)
    }

    /// Like [`Testbed::up`], with `queues` receive and transmit queues on
    /// each end (`numrxqueues`/`numtxqueues`): the kernel peer picks its
    /// transmit queue per socket by its hash, so replies arrive on any of
    /// synwave's queues, as a NIC's RSS spreads them.
    pub fn up_with_queues(name_prefix: &str, queues: u32) -> Result<Self, Error> {
        let (ns_a, ns_b) = loop {
            let n = SEQ.fetch_add(1, Ordering::Relaxed);
            let base = format!("{name_prefix}-{}-{n}", std::process::id());
            let (a, b) = (format!("{base}-a"), format!("{base}-b"));
            if !netns::exists(&a) && !netns::exists(&b) {
                break (a, b);
            }
        };
        let mut tb = Testbed {
            ns_a,
            ns_b,
            queues: queues.max(1),
            created: Vec::new(),
        };
        // On error, `tb` drops here and removes whatever was created.
        tb.setup()?;
        Ok(tb)
    }

    fn setup(&mut self) -> Result<(), Error> {
        for ns in [self.ns_a.clone(), self.ns_b.clone()] {
            run_cmd("ip", &["netns", "add", &ns])?;
            self.created.push(ns);
        }
        let (a, b) = (self.ns_a.as_str(), self.ns_b.as_str());
        // Created directly inside the namespaces: nothing named sw0/sw1 ever
        // exists in the host namespace, even transiently.
        let q = self.queues.to_string();
        let queues = ["numrxqueues", &q, "numtxqueues", &q];
        let mut args = vec!["link", "add", IFACE_A, "netns", a];
        args.extend(queues);
        args.extend(["type", "veth", "peer", "name", IFACE_B, "netns", b]);
        args.extend(queues);
        run_cmd("ip", &args)?;
        for (ns, ifc, ip) in [(a, IFACE_A, IP_A), (b, IFACE_B, IP_B)] {
            run_cmd(
                "ip",
                &[
                    "-n",
                    ns,
                    "addr",
                    "add",
                    &format!("{ip}/{PREFIX_LEN}"),
                    "dev",
                    ifc,
                ],
            )?;
            run_cmd("ip", &["-n", ns, "link", "set", "lo", "up"])?;
            // The kernel hands veth frames over with CHECKSUM_PARTIAL (the
            // checksum left for "hardware" to finish); AF_XDP sees the raw
            // bytes, so the kernel must compute checksums in software.
            run_cmd(
                "ip",
                &["netns", "exec", ns, "ethtool", "-K", ifc, "tx", "off"],
            )?;
            run_cmd("ip", &["-n", ns, "link", "set", ifc, "up"])?;
        }
        // The peer's veth is left as a user's is: GRO off, no XDP program.
        // Nothing synwave needs (ARP replies included) goes by XDP_TX, which
        // veth would drop into such a peer.
        Ok(())
    }

    /// Queues on each end of the veth pair.
    pub fn queues(&self) -> u32 {
        self.queues
    }

    /// synwave's namespace.
    pub fn ns_a(&self) -> &str {
        &self.ns_a
    }

    /// The kernel peer's namespace.
    pub fn ns_b(&self) -> &str {
        &self.ns_b
    }

    /// Runs `f` on a new thread inside namespace `ns` and returns its result;
    /// the thread is discarded afterwards so no other code runs in `ns` by
    /// accident.
    pub fn in_ns<T: Send + 'static>(
        ns: &str,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, Error> {
        let ns = ns.to_string();
        let h = std::thread::spawn(move || netns::enter(&ns).map(|()| f()));
        match h.join() {
            Ok(r) => r,
            Err(p) => std::panic::resume_unwind(p),
        }
    }

    /// Runs `ip ARGS...` inside namespace A.
    pub fn ip_a(&self, args: &[&str]) -> Result<String, Error> {
        let mut v = vec!["-n", self.ns_a.as_str()];
        v.extend_from_slice(args);
        run_cmd("ip", &v)
    }

    /// Runs `ip ARGS...` inside namespace B.
    pub fn ip_b(&self, args: &[&str]) -> Result<String, Error> {
        let mut v = vec!["-n", self.ns_b.as_str()];
        v.extend_from_slice(args);
        run_cmd("ip", &v)
    }
}

impl Drop for Testbed {
    fn drop(&mut self) {
        // Deleting a namespace destroys its veth end, which takes the peer
        // and any attached XDP program with it.
        for ns in self.created.drain(..).rev() {
            let _ = run_cmd("ip", &["netns", "del", &ns]);
        }
    }
}
