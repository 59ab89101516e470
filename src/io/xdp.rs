//! Loading and attaching the XDP steering program (`bpf/synwave.bpf.c`).
//!
//! The program is attached through a BPF *link*, not the legacy netlink
//! attach: the kernel detaches a link when its last file descriptor closes, so
//! the interface is left as we found it when [`XdpProgram`] drops, when a
//! panic unwinds through it, and even when the process is SIGKILLed. A link
//! also refuses to replace a program someone else attached, which is how a
//! second synwave on the same interface is detected.

use std::mem::MaybeUninit;
use std::net::Ipv4Addr;
use std::os::fd::{AsFd as _, OwnedFd};

use libbpf_rs::libbpf_sys::{XDP_FLAGS_DRV_MODE, XDP_FLAGS_SKB_MODE};
use libbpf_rs::skel::{OpenSkel as _, SkelBuilder as _};
use libbpf_rs::{ErrorKind, MapCore as _, MapFlags, OpenObject, Xdp, XdpFlags};

use super::arp::ArpResponder;
use super::sys::os;
use super::sys::skel::{SynwaveSkel, SynwaveSkelBuilder};
use super::XskSocket;
use super::{one_line, Error};
use crate::app::report::XdpCounters;

/// Counter slots of the `counters` map; order matches the enum in the C file.
const SLOTS: usize = 5;

/// How the program ended up attached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttachMode {
    /// In the driver (native XDP).
    Native,
    /// In the generic, skb-based hook: the driver has no native XDP.
    Generic,
    /// Offloaded to the NIC.
    Offload,
}

/// Where to attach the program (`--xdp-mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum XdpMode {
    /// In the driver where it has native XDP, else in the generic hook
    /// (which [`XdpProgram::mode`] then says).
    #[default]
    Auto,
    /// In the driver, or fail.
    Native,
    /// In the generic, skb-based hook, whatever the driver has: slower,
    /// and copy-mode sockets only, but on any interface.
    Generic,
}

impl AttachMode {
    /// The mode's name in the summary and the JSON (`xdp_mode`).
    pub fn name(self) -> &'static str {
        match self {
            AttachMode::Native => "native",
            AttachMode::Generic => "generic",
            AttachMode::Offload => "offload",
        }
    }
}

/// The loaded XDP program, attached to one interface until dropped.
pub struct XdpProgram {
    // Declared first so it drops first: detach before the object goes away.
    link: Option<OwnedFd>,
    skel: SynwaveSkel<'static>,
    iface: String,
    ifindex: u32,
    prog_id: u32,
    mode: AttachMode,
    /// The addresses in `arp_map`, with the MAC each is answered with.
    arp_addrs: Vec<(Ipv4Addr, crate::wire::MacAddr)>,
}

impl std::fmt::Debug for XdpProgram {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("XdpProgram")
            .field("iface", &self.iface)
            .field("ifindex", &self.ifindex)
            .field("prog_id", &self.prog_id)
            .field("mode", &self.mode)
            .finish_non_exhaustive()
    }
}

fn bpf_err(op: &'static str, e: &libbpf_rs::Error) -> Error {
    if e.kind() == ErrorKind::PermissionDenied {
        return Error::PermissionDenied(op);
    }
    Error::Bpf {
        op,
        msg: one_line(e),
    }
}

/// libbpf prints its own multi-line diagnostics to stderr; our errors already
/// say what failed in one line. `SYNWAVE_DEBUG=1` brings libbpf's back (a
/// verifier log, say).
fn quiet_libbpf() {
    fn to_stderr(_level: libbpf_rs::PrintLevel, msg: String) {
        eprint!("libbpf: {msg}");
    }
    if std::env::var_os("SYNWAVE_DEBUG").is_some() {
        libbpf_rs::set_print(Some((libbpf_rs::PrintLevel::Debug, to_stderr)));
    } else {
        libbpf_rs::set_print(None);
    }
}

impl XdpProgram {
    /// Loads the program and attaches it to `iface` (in the calling thread's
    /// network namespace) where `mode` says.
    ///
    /// Fails with [`Error::AlreadyAttached`] if any XDP program is already
    /// attached, leaving that program untouched, and with a one-line
    /// [`Error::Config`] when `mode` is native and the driver has no XDP.
    pub fn attach(iface: &str, mode: XdpMode) -> Result<Self, Error> {
        quiet_libbpf();
        let ifindex = os::if_nametoindex(iface)?;
        let ifindex_i32 = i32::try_from(ifindex)
            .map_err(|_| Error::Config(format!("ifindex {ifindex} of {iface} out of range")))?;

        // The skeleton borrows its object storage for its whole life and we
        // keep the skeleton for ours; leaking one pointer-sized box per load
        // is the price of doing that without `unsafe` self-references. The
        // object itself is still closed when the skeleton drops.
        let storage: &'static mut MaybeUninit<OpenObject> =
            Box::leak(Box::new(MaybeUninit::uninit()));
        let open = SynwaveSkelBuilder::default()
            .open(storage)
            .map_err(|e| bpf_err("opening the XDP program", &e))?;
        let skel = open
            .load()
            .map_err(|e| bpf_err("loading the XDP program", &e))?;

        let prog_fd = skel.progs.synwave_xdp.as_fd();
        let prog_id = libbpf_rs::Program::id_from_fd(prog_fd)
            .map_err(|e| bpf_err("reading the XDP program id", &e))?;
        let xdp = Xdp::new(prog_fd);
        let attached = |x: &Xdp<'_>| {
            x.query(ifindex_i32, XdpFlags::NONE)
                .map(|o| o.attach_mode != 0)
                .unwrap_or(false)
        };
        // Checked before attaching only to give the precise error; the link
        // attach below is what actually guarantees we never replace anything.
        if attached(&xdp) {
            return Err(Error::AlreadyAttached(iface.to_string()));
        }
        let flags = match mode {
            XdpMode::Auto => 0,
            XdpMode::Native => XDP_FLAGS_DRV_MODE,
            XdpMode::Generic => XDP_FLAGS_SKB_MODE,
        };
        let link = match os::xdp_link_create(prog_fd, ifindex, flags) {
            Ok(l) => l,
            Err(e) => {
                if attached(&xdp) {
                    return Err(Error::AlreadyAttached(iface.to_string()));
                }
                return Err(match e.raw_os_error() {
                    Some(libc::EPERM) => Error::PermissionDenied("attaching the XDP program"),
                    Some(libc::EOPNOTSUPP) if mode == XdpMode::Native => Error::Config(format!(
                        "{iface} has no native XDP (its driver lacks it); use --xdp-mode generic or auto"
                    )),
                    _ => Error::Bpf {
                        op: "attaching the XDP program",
                        msg: e.to_string(),
                    },
                });
            }
        };
        let q = xdp
            .query(ifindex_i32, XdpFlags::NONE)
            .map_err(|e| bpf_err("querying the attached XDP program", &e))?;
        let mode = if q.drv_prog_id == prog_id {
            AttachMode::Native
        } else if q.hw_prog_id == prog_id {
            AttachMode::Offload
        } else {
            AttachMode::Generic
        };
        Ok(XdpProgram {
            link: Some(link),
            skel,
            iface: iface.to_string(),
            ifindex,
            prog_id,
            mode,
            arp_addrs: Vec::new(),
        })
    }

    /// Steers TCP segments to `addr:port` (a listening socket) to AF_XDP.
    pub fn add_listener(&mut self, addr: Ipv4Addr, port: u16) -> Result<(), Error> {
        self.skel
            .maps
            .listen_map
            .update(&listen_key(addr, port), &[1u8], MapFlags::ANY)
            .map_err(|e| bpf_err("adding to listen_map", &e))
    }

    /// Stops steering `addr:port`; absent entries are not an error.
    pub fn remove_listener(&mut self, addr: Ipv4Addr, port: u16) -> Result<(), Error> {
        match self.skel.maps.listen_map.delete(&listen_key(addr, port)) {
            Err(e) if e.kind() != ErrorKind::NotFound => {
                Err(bpf_err("removing from listen_map", &e))
            }
            _ => Ok(()),
        }
    }

    /// Steers TCP segments to `addr` whose destination port is in `lo..=hi`:
    /// the source ports our outgoing connections use. One range per address.
    pub fn set_client_ports(&mut self, addr: Ipv4Addr, lo: u16, hi: u16) -> Result<(), Error> {
        if lo > hi {
            return Err(Error::Config(format!(
                "client port range {lo}..={hi} is empty"
            )));
        }
        let mut value = [0u8; 4];
        value[..2].copy_from_slice(&lo.to_ne_bytes());
        value[2..].copy_from_slice(&hi.to_ne_bytes());
        self.skel
            .maps
            .client_map
            .update(&addr.octets(), &value, MapFlags::ANY)
            .map_err(|e| bpf_err("adding to client_map", &e))
    }

    /// Stops steering client ports of `addr`; absent entries are not an error.
    pub fn remove_client_ports(&mut self, addr: Ipv4Addr) -> Result<(), Error> {
        match self.skel.maps.client_map.delete(&addr.octets()) {
            Err(e) if e.kind() != ErrorKind::NotFound => {
                Err(bpf_err("removing from client_map", &e))
            }
            _ => Ok(()),
        }
    }

    /// Answers ARP requests for `addr` with `mac`: for source addresses
    /// synwave uses that the kernel does not own. The workers answer them
    /// (see [`XdpProgram::arp_responder`]).
    pub fn answer_arp(&mut self, addr: Ipv4Addr, mac: crate::wire::MacAddr) -> Result<(), Error> {
        self.skel
            .maps
            .arp_map
            .update(&addr.octets(), &mac.0, MapFlags::ANY)
            .map_err(|e| bpf_err("adding to arp_map", &e))?;
        self.arp_addrs.push((addr, mac));
        Ok(())
    }

    /// What a worker needs to answer the ARP requests the program hands it.
    pub fn arp_responder(&self) -> ArpResponder {
        ArpResponder::new(&self.arp_addrs)
    }

    /// Registers `xsk` as the receiver of steered frames arriving on its queue.
    pub fn register_xsk(&mut self, xsk: &XskSocket) -> Result<(), Error> {
        self.register_fd(xsk.queue(), xsk.fd())
    }

    /// Registers an AF_XDP socket fd for `queue` (see [`register_xsk`](Self::register_xsk)).
    pub fn register_fd(&mut self, queue: u32, fd: i32) -> Result<(), Error> {
        self.skel
            .maps
            .xsks_map
            .update(&queue.to_ne_bytes(), &fd.to_ne_bytes(), MapFlags::ANY)
            .map_err(|e| bpf_err("registering the AF_XDP socket in xsks_map", &e))
    }

    /// Unregisters whatever socket serves `queue`; its frames are then passed
    /// to the kernel (and counted as `no_xsk`).
    pub fn unregister_queue(&mut self, queue: u32) -> Result<(), Error> {
        match self.skel.maps.xsks_map.delete(&queue.to_ne_bytes()) {
            Err(e) if e.kind() != ErrorKind::NotFound => Err(bpf_err("removing from xsks_map", &e)),
            _ => Ok(()),
        }
    }

    /// Reads the counters, summed over all CPUs.
    pub fn counters(&self) -> Result<XdpCounters, Error> {
        let mut sums = [0u64; SLOTS];
        for (slot, sum) in (0u32..).zip(sums.iter_mut()) {
            let per_cpu = self
                .skel
                .maps
                .counters
                .lookup_percpu(&slot.to_ne_bytes(), MapFlags::ANY)
                .map_err(|e| bpf_err("reading counters", &e))?
                .unwrap_or_default();
            for v in per_cpu {
                let bytes: [u8; 8] =
                    v.get(..8)
                        .and_then(|b| b.try_into().ok())
                        .ok_or_else(|| Error::Bpf {
                            op: "reading counters",
                            msg: format!("per-CPU value of {} bytes, expected 8", v.len()),
                        })?;
                *sum += u64::from_ne_bytes(bytes);
            }
        }
        Ok(XdpCounters {
            redirected: sums[0],
            passed: sums[1],
            no_xsk: sums[2],
            malformed: sums[3],
            arp_requests: sums[4],
        })
    }

    /// Interface the program is attached to.
    pub fn iface(&self) -> &str {
        &self.iface
    }

    /// Index of that interface (in the namespace it was attached from).
    pub fn ifindex(&self) -> u32 {
        self.ifindex
    }

    /// Kernel id of the loaded program (as `bpftool prog` / `ip link` show it).
    pub fn prog_id(&self) -> u32 {
        self.prog_id
    }

    /// Where the program is attached.
    pub fn mode(&self) -> AttachMode {
        self.mode
    }

    /// Detaches now, reporting failure instead of ignoring it as `Drop` must.
    pub fn detach(mut self) -> Result<(), Error> {
        match self.link.take() {
            Some(link) => os::xdp_link_detach(&link).map_err(|e| Error::Bpf {
                op: "detaching the XDP program",
                msg: e.to_string(),
            }),
            None => Ok(()),
        }
    }
}

impl Drop for XdpProgram {
    fn drop(&mut self) {
        // Closing the link fd detaches the program; detach() first makes the
        // detach explicit even if a forked child still holds a copy of the fd.
        if let Some(link) = self.link.take() {
            let _ = os::xdp_link_detach(&link);
        }
    }
}

fn listen_key(addr: Ipv4Addr, port: u16) -> [u8; 8] {
    let mut k = [0u8; 8];
    k[..4].copy_from_slice(&addr.octets());
    k[4..6].copy_from_slice(&port.to_be_bytes());
    k
}
