//! Thin safe wrappers over the libc calls the I/O layer needs: interface
//! ioctls, `if_nametoindex`, `setns`, an AF_PACKET socket for ARP probes,
//! `clock_gettime` (boot time, the thread's CPU time), `sigaction`.
//!
//! Each wrapper takes and returns plain Rust values and maps errno to
//! [`Error`]; the `unsafe` stays inside.

use std::ffi::CString;
use std::fs::File;
use std::net::Ipv4Addr;
use std::os::fd::{AsRawFd as _, FromRawFd as _, OwnedFd};

use crate::io::Error;

/// Index of `name` in the calling thread's network namespace.
pub(crate) fn if_nametoindex(name: &str) -> Result<u32, Error> {
    let c = CString::new(name)
        .map_err(|_| Error::Config(format!("interface name {name:?} contains a NUL byte")))?;
    // SAFETY: `c` is a valid NUL-terminated string that outlives the call.
    let idx = unsafe { libc::if_nametoindex(c.as_ptr()) };
    if idx == 0 {
        let err = std::io::Error::last_os_error();
        return match err.raw_os_error() {
            Some(libc::ENODEV) | Some(libc::ENXIO) => Err(Error::NoSuchInterface(name.into())),
            _ => Err(Error::os(format!("if_nametoindex({name})"), err)),
        };
    }
    Ok(idx)
}

fn ctl_socket() -> Result<OwnedFd, Error> {
    // SAFETY: plain socket(2) with constant arguments.
    let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return Err(Error::last_os("socket(AF_INET) for ioctl"));
    }
    // SAFETY: `fd` was just returned by socket(2) and is owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

fn ifreq_for(name: &str) -> Result<libc::ifreq, Error> {
    if name.is_empty() || name.len() >= libc::IFNAMSIZ || name.as_bytes().contains(&0) {
        return Err(Error::NoSuchInterface(name.into()));
    }
    // SAFETY: ifreq is plain old data; all-zero is a valid value.
    let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
    for (dst, &src) in req.ifr_name.iter_mut().zip(name.as_bytes()) {
        *dst = src as libc::c_char;
    }
    Ok(req)
}

/// Runs an interface ioctl on a throw-away socket; returns the errno.
fn if_ioctl(req_code: libc::c_ulong, req: &mut libc::ifreq) -> Result<(), i32> {
    let sock = ctl_socket().map_err(|_| libc::EIO)?;
    // SAFETY: `req` is a valid, exclusively borrowed ifreq whose name is
    // NUL-terminated (zeroed, name shorter than IFNAMSIZ); the request
    // codes used read into it or, for SIOCETHTOOL, through
    // `ifru_data`, which the caller points at a live buffer.
    let rc = unsafe { libc::ioctl(sock.as_raw_fd(), req_code as _, req as *mut libc::ifreq) };
    if rc < 0 {
        return Err(std::io::Error::last_os_error()
            .raw_os_error()
            .unwrap_or(libc::EIO));
    }
    Ok(())
}

fn ioctl_err(name: &str, what: &str, errno: i32) -> Error {
    if errno == libc::ENODEV {
        Error::NoSuchInterface(name.into())
    } else {
        Error::os(
            format!("{what} on {name}"),
            std::io::Error::from_raw_os_error(errno),
        )
    }
}

/// Hardware address of `name` (SIOCGIFHWADDR).
pub(crate) fn hwaddr(name: &str) -> Result<[u8; 6], Error> {
    let mut req = ifreq_for(name)?;
    if_ioctl(libc::SIOCGIFHWADDR, &mut req).map_err(|e| ioctl_err(name, "SIOCGIFHWADDR", e))?;
    // SAFETY: SIOCGIFHWADDR succeeded, so the kernel filled `ifru_hwaddr`.
    let sa = unsafe { req.ifr_ifru.ifru_hwaddr };
    let mut mac = [0u8; 6];
    for (m, &b) in mac.iter_mut().zip(sa.sa_data.iter()) {
        *m = b as u8;
    }
    Ok(mac)
}

/// Primary IPv4 address of `name` (SIOCGIFADDR); `None` if it has none.
pub(crate) fn ipv4(name: &str) -> Result<Option<Ipv4Addr>, Error> {
    let mut req = ifreq_for(name)?;
    match if_ioctl(libc::SIOCGIFADDR, &mut req) {
        Ok(()) => {}
        Err(libc::EADDRNOTAVAIL) => return Ok(None),
        Err(e) => return Err(ioctl_err(name, "SIOCGIFADDR", e)),
    }
    // SAFETY: SIOCGIFADDR succeeded, so `ifru_addr` holds a sockaddr_in.
    let sa = unsafe { req.ifr_ifru.ifru_addr };
    // sockaddr_in: family (2), port (2), then the address.
    let b = |i: usize| sa.sa_data[i] as u8;
    Ok(Some(Ipv4Addr::new(b(2), b(3), b(4), b(5))))
}

/// `struct ethtool_channels` from <linux/ethtool.h>.
#[repr(C)]
#[derive(Default)]
struct EthtoolChannels {
    cmd: u32,
    max_rx: u32,
    max_tx: u32,
    max_other: u32,
    max_combined: u32,
    rx_count: u32,
    tx_count: u32,
    other_count: u32,
    combined_count: u32,
}
const ETHTOOL_GCHANNELS: u32 = 0x3c;

/// Current (rx-only, combined) channel counts via ETHTOOL_GCHANNELS;
/// `None` when the driver does not implement it.
pub(crate) fn channels(name: &str) -> Result<Option<(u32, u32)>, Error> {
    let mut req = ifreq_for(name)?;
    let mut ch = EthtoolChannels {
        cmd: ETHTOOL_GCHANNELS,
        ..Default::default()
    };
    req.ifr_ifru.ifru_data = (&mut ch as *mut EthtoolChannels).cast();
    match if_ioctl(libc::SIOCETHTOOL, &mut req) {
        Ok(()) => Ok(Some((ch.rx_count, ch.combined_count))),
        Err(libc::EOPNOTSUPP) => Ok(None),
        Err(e) => Err(ioctl_err(name, "ETHTOOL_GCHANNELS", e)),
    }
}

const ETHTOOL_GRSSH: u32 = 0x46;
const ETHTOOL_GRXFH: u32 = 0x29;
/// `struct ethtool_rxfh` up to its flexible `rss_config[]`.
const RXFH_HEADER: usize = 24;
/// `flow_type` of TCP over IPv4 (<linux/ethtool.h> TCP_V4_FLOW).
const TCP_V4_FLOW: u32 = 0x01;

/// A NIC's RSS as the driver reports it: the hash functions it uses
/// (`ETH_RSS_HASH_*` bits: 1 Toeplitz, 2 XOR, 4 CRC32), the key, the
/// indirection table, and the fields it hashes for TCP/IPv4 (`RXH_*` bits).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct RssConfig {
    pub hfunc: u8,
    pub key: Vec<u8>,
    pub table: Vec<u32>,
    pub tcp4_fields: Option<u64>,
}

/// Runs SIOCETHTOOL with `ifru_data` pointing at `buf`.
fn ethtool(name: &str, buf: &mut [u8]) -> Result<(), i32> {
    let mut req = ifreq_for(name).map_err(|_| libc::ENODEV)?;
    req.ifr_ifru.ifru_data = buf.as_mut_ptr().cast();
    if_ioctl(libc::SIOCETHTOOL, &mut req)
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_ne_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// The RSS key, hash function and indirection table (ETHTOOL_GRSSH) and
/// the TCP/IPv4 hashed fields (ETHTOOL_GRXFH) of `name`; `None` when the
/// driver has no RSS to report (veth).
pub(crate) fn rss(name: &str) -> Result<Option<RssConfig>, Error> {
    let unsupported = |e: i32| e == libc::EOPNOTSUPP || e == libc::EINVAL;
    // First ask for the sizes, then for the table and the key.
    let mut head = [0u8; RXFH_HEADER];
    head[0..4].copy_from_slice(&ETHTOOL_GRSSH.to_ne_bytes());
    match ethtool(name, &mut head) {
        Ok(()) => {}
        Err(e) if unsupported(e) => return Ok(None),
        Err(e) => return Err(ioctl_err(name, "ETHTOOL_GRSSH", e)),
    }
    let (indir, key) = (u32_at(&head, 8) as usize, u32_at(&head, 12) as usize);
    let mut buf = vec![0u8; RXFH_HEADER + indir * 4 + key];
    buf[0..4].copy_from_slice(&ETHTOOL_GRSSH.to_ne_bytes());
    buf[8..12].copy_from_slice(&(indir as u32).to_ne_bytes());
    buf[12..16].copy_from_slice(&(key as u32).to_ne_bytes());
    match ethtool(name, &mut buf) {
        Ok(()) => {}
        Err(e) if unsupported(e) => return Ok(None),
        Err(e) => return Err(ioctl_err(name, "ETHTOOL_GRSSH", e)),
    }
    let table = (0..indir)
        .map(|i| u32_at(&buf, RXFH_HEADER + 4 * i))
        .collect();
    let key = buf[RXFH_HEADER + indir * 4..].to_vec();
    // The original `struct ethtool_rxnfc`: cmd, flow_type, data.
    let mut rxnfc = [0u8; 16];
    rxnfc[0..4].copy_from_slice(&ETHTOOL_GRXFH.to_ne_bytes());
    rxnfc[4..8].copy_from_slice(&TCP_V4_FLOW.to_ne_bytes());
    let tcp4_fields = match ethtool(name, &mut rxnfc) {
        Ok(()) => Some(u64::from_ne_bytes(
            rxnfc[8..16].try_into().unwrap_or_default(),
        )),
        Err(_) => None,
    };
    Ok(Some(RssConfig {
        hfunc: buf[16],
        key,
        table,
        tcp4_fields,
    }))
}

/// Moves the calling thread into the network namespace `ns` refers to.
pub(crate) fn setns_net(ns: &File, what: &str) -> Result<(), Error> {
    // SAFETY: setns(2) only reads the descriptor, which `ns` keeps open
    // for the duration of the call; it affects only the calling thread.
    let rc = unsafe { libc::setns(ns.as_raw_fd(), libc::CLONE_NEWNET) };
    if rc < 0 {
        let err = std::io::Error::last_os_error();
        if err.raw_os_error() == Some(libc::EPERM) {
            return Err(Error::PermissionDenied("entering a network namespace"));
        }
        return Err(Error::os(format!("setns({what})"), err));
    }
    Ok(())
}

/// A raw AF_PACKET socket for ARP frames on interface `ifindex`,
/// non-blocking: for RFC 5227 probes before the XDP program is attached.
pub(crate) fn arp_socket(ifindex: u32) -> Result<OwnedFd, Error> {
    let proto = (libc::ETH_P_ARP as u16).to_be();
    // SAFETY: plain socket(2) call; the result is checked below.
    let fd = unsafe {
        libc::socket(
            libc::AF_PACKET,
            libc::SOCK_RAW | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
            i32::from(proto),
        )
    };
    if fd < 0 {
        let err = std::io::Error::last_os_error();
        if err.raw_os_error() == Some(libc::EPERM) {
            return Err(Error::PermissionDenied(
                "probing source addresses (AF_PACKET)",
            ));
        }
        return Err(Error::os("socket(AF_PACKET)", err));
    }
    // SAFETY: `fd` is a fresh descriptor that nothing else owns.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    // SAFETY: sockaddr_ll is plain old data; all-zero is a valid value.
    let mut sll: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
    sll.sll_family = libc::AF_PACKET as u16;
    sll.sll_protocol = proto;
    sll.sll_ifindex = ifindex as i32;
    // SAFETY: `sll` is a valid sockaddr_ll and the length matches it.
    let rc = unsafe {
        libc::bind(
            fd.as_raw_fd(),
            (&sll as *const libc::sockaddr_ll).cast(),
            std::mem::size_of::<libc::sockaddr_ll>() as u32,
        )
    };
    if rc < 0 {
        return Err(Error::last_os("binding the AF_PACKET socket"));
    }
    Ok(fd)
}

/// Sends one whole Ethernet frame on a bound AF_PACKET socket.
pub(crate) fn packet_send(fd: &OwnedFd, frame: &[u8]) -> Result<(), Error> {
    // SAFETY: `frame` is a valid buffer of `frame.len()` bytes.
    let n = unsafe { libc::send(fd.as_raw_fd(), frame.as_ptr().cast(), frame.len(), 0) };
    if n < 0 {
        return Err(Error::last_os("sending an ARP probe"));
    }
    Ok(())
}

/// Receives one frame into `buf`, waiting up to `timeout_ms`; `None`
/// when none came.
pub(crate) fn packet_recv(
    fd: &OwnedFd,
    buf: &mut [u8],
    timeout_ms: i32,
) -> Result<Option<usize>, Error> {
    let mut pfd = libc::pollfd {
        fd: fd.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: `pfd` is one valid pollfd.
    let rc = unsafe { libc::poll(&mut pfd, 1, timeout_ms) };
    if rc < 0 {
        let err = std::io::Error::last_os_error();
        if err.kind() == std::io::ErrorKind::Interrupted {
            return Ok(None);
        }
        return Err(Error::os("poll on the AF_PACKET socket", err));
    }
    if rc == 0 {
        return Ok(None);
    }
    // SAFETY: `buf` is a valid writable buffer of `buf.len()` bytes.
    let n = unsafe { libc::recv(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0) };
    if n < 0 {
        let err = std::io::Error::last_os_error();
        if err.kind() == std::io::ErrorKind::WouldBlock {
            return Ok(None);
        }
        return Err(Error::os("receiving on the AF_PACKET socket", err));
    }
    Ok(Some(n as usize))
}

/// Time since boot, suspend included (CLOCK_BOOTTIME): a clock that
/// only grows for as long as the host is up, across processes.
pub(crate) fn boottime() -> Result<std::time::Duration, Error> {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec owned by us.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_BOOTTIME, &mut ts) };
    if rc < 0 {
        return Err(Error::last_os("clock_gettime(CLOCK_BOOTTIME)"));
    }
    Ok(std::time::Duration::new(
        ts.tv_sec as u64,
        ts.tv_nsec as u32,
    ))
}

/// CPU time the calling thread has used so far (CLOCK_THREAD_CPUTIME_ID):
/// the time it ran, spinning included, not the time it slept or waited
/// for a core.
pub(crate) fn thread_cpu_time() -> Result<std::time::Duration, Error> {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec owned by us.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    if rc < 0 {
        return Err(Error::last_os("clock_gettime(CLOCK_THREAD_CPUTIME_ID)"));
    }
    Ok(std::time::Duration::new(
        ts.tv_sec as u64,
        ts.tv_nsec as u32,
    ))
}

/// Installs `handler` for `signals` with SA_RESETHAND, so a second
/// signal gets the default action (kills a stuck process).
pub(crate) fn on_signals(
    signals: &[libc::c_int],
    handler: extern "C" fn(libc::c_int),
) -> Result<(), Error> {
    for &sig in signals {
        // SAFETY: sigaction is plain old data; all-zero is a valid value.
        let mut act: libc::sigaction = unsafe { std::mem::zeroed() };
        act.sa_sigaction = handler as usize;
        act.sa_flags = libc::SA_RESETHAND | libc::SA_RESTART;
        // SAFETY: `act.sa_mask` is a valid sigset_t owned by us.
        unsafe { libc::sigemptyset(&mut act.sa_mask) };
        // SAFETY: `act` is fully initialised and `handler` is an
        // `extern "C" fn(c_int)` that the caller guarantees only performs
        // async-signal-safe work; the old action is not requested.
        let rc = unsafe { libc::sigaction(sig, &act, std::ptr::null_mut()) };
        if rc < 0 {
            return Err(Error::last_os(format!("sigaction({sig})")));
        }
    }
    Ok(())
}

/// Attaches the XDP program `prog` to interface `ifindex` through a BPF
/// link (`BPF_LINK_CREATE`), with the mode `flags` (`XDP_FLAGS_DRV_MODE`,
/// `XDP_FLAGS_SKB_MODE`, or 0 for the kernel's choice: the driver's hook if
/// it has one). libbpf's own link attach takes no flags, so it cannot ask
/// for the generic hook. The kernel detaches the program when the returned
/// descriptor's last copy closes. The raw errno is kept for the caller to
/// tell "no such mode" from "already attached".
pub(crate) fn xdp_link_create(
    prog: std::os::fd::BorrowedFd<'_>,
    ifindex: u32,
    flags: u32,
) -> Result<OwnedFd, std::io::Error> {
    let ifindex =
        i32::try_from(ifindex).map_err(|_| std::io::Error::from_raw_os_error(libc::EINVAL))?;
    // SAFETY: the options are plain old data; all-zero (no iterator info,
    // no target BTF) is what an XDP link takes, besides its size and flags.
    let mut opts: libbpf_rs::libbpf_sys::bpf_link_create_opts = unsafe { std::mem::zeroed() };
    opts.sz = std::mem::size_of_val(&opts) as _;
    opts.flags = flags;
    // SAFETY: `prog` is a live program descriptor for the whole call, and
    // `opts` a valid, initialised options struct that outlives it.
    let fd = unsafe {
        libbpf_rs::libbpf_sys::bpf_link_create(
            prog.as_raw_fd(),
            ifindex,
            libbpf_rs::libbpf_sys::BPF_XDP,
            &opts,
        )
    };
    if fd < 0 {
        return Err(std::io::Error::from_raw_os_error(-fd));
    }
    // SAFETY: `fd` is a fresh descriptor the kernel just returned to us;
    // nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Detaches the program of the XDP link `link` now (`BPF_LINK_DETACH`),
/// even while another copy of the descriptor (a forked child's) is open.
pub(crate) fn xdp_link_detach(link: &OwnedFd) -> Result<(), std::io::Error> {
    // SAFETY: `link` is a live link descriptor for the whole call.
    let rc = unsafe { libbpf_rs::libbpf_sys::bpf_link_detach(link.as_raw_fd()) };
    if rc < 0 {
        return Err(std::io::Error::from_raw_os_error(-rc));
    }
    Ok(())
}

/// A fresh eventfd, non-blocking: how a worker asleep in poll(2) is woken
/// when another hands it frames.
pub(crate) fn eventfd() -> Result<OwnedFd, Error> {
    // SAFETY: plain eventfd(2) call; the result is checked below.
    let fd = unsafe { libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) };
    if fd < 0 {
        return Err(Error::last_os("creating an eventfd"));
    }
    // SAFETY: `fd` is a fresh descriptor the kernel just returned to us.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Makes the eventfd `fd` readable. Best effort: the counter saturates
/// only after 2^64 - 2 unread signals, and a reader that misses one still
/// wakes on its poll timeout.
pub(crate) fn eventfd_signal(fd: &OwnedFd) {
    let one: u64 = 1;
    // SAFETY: writes the 8 bytes of `one`, which outlives the call.
    let _ = unsafe { libc::write(fd.as_raw_fd(), (&one as *const u64).cast(), 8) };
}

/// Makes the eventfd `fd` unreadable again (reads its counter to zero).
pub(crate) fn eventfd_clear(fd: &OwnedFd) {
    let mut n: u64 = 0;
    // SAFETY: reads at most 8 bytes into `n`, which outlives the call; the
    // fd is non-blocking, so an unsignalled one returns EAGAIN at once.
    let _ = unsafe { libc::read(fd.as_raw_fd(), (&mut n as *mut u64).cast(), 8) };
}

/// Blocks in poll(2) until `a` or `b` is readable or `timeout_ms` passes;
/// a signal ends it early, so that stop flags get checked.
pub(crate) fn poll_either(
    a: std::os::fd::BorrowedFd<'_>,
    b: std::os::fd::BorrowedFd<'_>,
    timeout_ms: i32,
) -> Result<(), Error> {
    let mut fds = [a, b].map(|fd| libc::pollfd {
        fd: fd.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    });
    // SAFETY: `fds` is a valid array of two pollfds for the whole call,
    // and both descriptors are borrowed live for it.
    let rc = unsafe { libc::poll(fds.as_mut_ptr(), 2, timeout_ms) };
    if rc < 0 {
        let err = std::io::Error::last_os_error();
        if err.kind() != std::io::ErrorKind::Interrupted {
            return Err(Error::os(
                "poll on the AF_XDP socket and the hand-off eventfd",
                err,
            ));
        }
    }
    Ok(())
}

/// Asks the kernel to busy-poll the device queue behind socket `fd` when
/// the worker calls into it, instead of taking interrupts (Linux 5.11+:
/// SO_PREFER_BUSY_POLL, SO_BUSY_POLL for `usecs`, SO_BUSY_POLL_BUDGET
/// frames a poll). Fails as the kernel does: an old kernel (ENOPROTOOPT)
/// or a budget above net.core.busy_poll's without CAP_NET_ADMIN (EPERM).
pub(crate) fn prefer_busy_poll(fd: i32, usecs: u32, budget: u32) -> Result<(), Error> {
    for (name, opt, value) in [
        ("SO_PREFER_BUSY_POLL", libc::SO_PREFER_BUSY_POLL, 1),
        ("SO_BUSY_POLL", libc::SO_BUSY_POLL, usecs as i32),
        (
            "SO_BUSY_POLL_BUDGET",
            libc::SO_BUSY_POLL_BUDGET,
            budget as i32,
        ),
    ] {
        // SAFETY: setsockopt(2) reads one c_int from a valid pointer with
        // its exact length; `fd` is the caller's open socket.
        let rc = unsafe {
            libc::setsockopt(
                fd,
                libc::SOL_SOCKET,
                opt,
                (&value as *const i32).cast(),
                size_of::<i32>() as libc::socklen_t,
            )
        };
        if rc != 0 {
            let err = std::io::Error::last_os_error();
            // Preferring busy polling defers the queue's interrupts to the
            // poller: a socket that will not be polled must not keep it.
            let off = 0i32;
            // SAFETY: as above, with the same valid c_int.
            unsafe {
                libc::setsockopt(
                    fd,
                    libc::SOL_SOCKET,
                    libc::SO_PREFER_BUSY_POLL,
                    (&off as *const i32).cast(),
                    size_of::<i32>() as libc::socklen_t,
                )
            };
            return Err(Error::os(name, err));
        }
    }
    Ok(())
}

/// `XDP_MAX_TX_SKB_BUDGET` (Linux 6.17+ `<linux/if_xdp.h>`; not yet in
/// the libc crate).
const XDP_MAX_TX_SKB_BUDGET: libc::c_int = 9;
/// The frames a copy-mode sendto(2) sends unless told otherwise, and the
/// least `XDP_MAX_TX_SKB_BUDGET` takes (the kernel's `TX_BATCH_SIZE`).
const XDP_DEFAULT_TX_BUDGET: u32 = 32;

/// Lets one wakeup of copy-mode AF_XDP socket `fd` transmit up to `budget`
/// frames instead of the kernel's 32 (`XDP_MAX_TX_SKB_BUDGET`): a batch
/// longer than 32 then leaves in one sendto(2) rather than waiting, beyond
/// the 32nd frame, for the next wakeup. A kernel without the option
/// (ENOPROTOOPT) keeps its 32, as before it; one with it takes 32 up to
/// the tx ring's size. A `budget` of 32 or less leaves the kernel's.
pub(crate) fn xsk_tx_budget(fd: i32, budget: u32) -> Result<(), Error> {
    if budget <= XDP_DEFAULT_TX_BUDGET {
        return Ok(());
    }
    // SAFETY: setsockopt(2) reads one u32 from a valid pointer with its
    // exact length, as the option asks; `fd` is the caller's open socket.
    let rc = unsafe {
        libc::setsockopt(
            fd,
            libc::SOL_XDP,
            XDP_MAX_TX_SKB_BUDGET,
            (&budget as *const u32).cast(),
            size_of::<u32>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        return Ok(());
    }
    let err = std::io::Error::last_os_error();
    match err.raw_os_error() {
        Some(libc::ENOPROTOOPT) => Ok(()),
        _ => Err(Error::os("XDP_MAX_TX_SKB_BUDGET", err)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    #[test]
    fn thread_cpu_time_counts_running_not_sleeping() {
        let t0 = thread_cpu_time().unwrap();
        std::thread::sleep(Duration::from_millis(50));
        let slept = thread_cpu_time().unwrap() - t0;
        assert!(slept < Duration::from_millis(10), "sleeping used {slept:?}");
        // Spin until 10 ms of CPU time went by: it does, well before the
        // wall-clock bound even on a shared core.
        let wall = Instant::now();
        while thread_cpu_time().unwrap() - t0 < slept + Duration::from_millis(10) {
            assert!(
                wall.elapsed() < Duration::from_secs(10),
                "CPU time stood still"
            );
        }
        // Another thread's spinning is not ours.
        let before = thread_cpu_time().unwrap();
        std::thread::spawn(|| {
            let t = Instant::now();
            while t.elapsed() < Duration::from_millis(30) {}
        })
        .join()
        .unwrap();
        assert!(thread_cpu_time().unwrap() - before < Duration::from_millis(10));
    }
}
