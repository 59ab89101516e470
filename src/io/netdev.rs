//! Interface facts and next-hop resolution, answered for the calling
//! thread's network namespace.
//!
//! Network namespaces are per thread, but sysfs shows the namespace of
//! whoever mounted it; so everything here goes through ioctls on a socket
//! (created in the thread's namespace) or `/proc/thread-self/net`, and sysfs
//! is only a fallback.

use std::net::{Ipv4Addr, UdpSocket};
use std::time::{Duration, Instant};

use super::sys::os;
use super::Error;
use crate::wire::MacAddr;

/// Index of `iface`; [`Error::NoSuchInterface`] if it is not there.
pub fn ifindex(iface: &str) -> Result<u32, Error> {
    os::if_nametoindex(iface)
}

/// Hardware address of `iface`.
pub fn mac_addr(iface: &str) -> Result<MacAddr, Error> {
    os::hwaddr(iface).map(MacAddr)
}

/// Primary IPv4 address of `iface`.
pub fn ipv4_addr(iface: &str) -> Result<Ipv4Addr, Error> {
    os::ipv4(iface)?.ok_or_else(|| Error::NoIpv4(iface.to_string()))
}

/// Every IPv4 address of `iface`, primary first (from `ip -4 -o addr`,
/// which runs in the calling thread's namespace).
pub fn ipv4_addrs(iface: &str) -> Result<Vec<Ipv4Addr>, Error> {
    os::if_nametoindex(iface)?;
    let out = std::process::Command::new("ip")
        .args(["-4", "-o", "addr", "show", "dev", iface])
        .output()
        .map_err(|e| Error::os("running `ip -4 -o addr`", e))?;
    if !out.status.success() {
        return Err(Error::Command {
            cmd: format!("ip -4 -o addr show dev {iface}"),
            msg: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        });
    }
    Ok(parse_ip_addr(&String::from_utf8_lossy(&out.stdout)))
}

/// The addresses in `ip -o addr` lines: the word after each `inet`.
fn parse_ip_addr(text: &str) -> Vec<Ipv4Addr> {
    text.lines()
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            words.find(|&w| w == "inet")?;
            words.next()?.split('/').next()?.parse().ok()
        })
        .collect()
}

/// Probes for each of `addrs` on `iface` (RFC 5227 §2.1.1) and returns those
/// another host answers for or probes for too. Abbreviated for a tool that
/// starts in a second rather than in RFC 5227's seven: two probes 100 ms
/// apart, then 200 ms of listening; a host on the link that has the
/// address answers within that.
pub fn probe_addresses(
    iface: &str,
    mac: MacAddr,
    addrs: &[Ipv4Addr],
) -> Result<Vec<Ipv4Addr>, Error> {
    if addrs.is_empty() {
        return Ok(Vec::new());
    }
    let fd = os::arp_socket(os::if_nametoindex(iface)?)?;
    let candidates: std::collections::HashSet<Ipv4Addr> = addrs.iter().copied().collect();
    let mut taken = std::collections::BTreeSet::new();
    let mut buf = vec![0u8; 2048];
    for round in 0..2 {
        for &a in addrs {
            os::packet_send(&fd, &super::arp::probe(mac, a))?;
        }
        let listen = Duration::from_millis(if round == 0 { 100 } else { 200 });
        let until = Instant::now() + listen;
        while let Some(left) = until.checked_duration_since(Instant::now()) {
            let wait = left.as_millis().max(1) as i32;
            if let Some(n) = os::packet_recv(&fd, &mut buf, wait)? {
                if let Some(a) = super::arp::conflict(&buf[..n], mac, &candidates) {
                    taken.insert(a);
                }
            }
        }
    }
    Ok(taken.into_iter().collect())
}

/// Number of RX queues of `iface`: each needs its own AF_XDP socket.
///
/// Asks the driver (ETHTOOL_GCHANNELS: rx-only plus combined channels); for
/// drivers without channel support, counts `/sys/class/net/IF/queues/rx-*`,
/// which is only right when sysfs belongs to the calling thread's namespace;
/// failing both, 1.
pub fn rx_queue_count(iface: &str) -> Result<u32, Error> {
    os::if_nametoindex(iface)?;
    if let Some((rx, combined)) = os::channels(iface)? {
        let n = rx + combined;
        if n > 0 {
            return Ok(n);
        }
    }
    let dir = format!("/sys/class/net/{iface}/queues");
    let n = match std::fs::read_dir(&dir) {
        Ok(entries) => entries
            .filter_map(Result::ok)
            .filter(|e| e.file_name().to_string_lossy().starts_with("rx-"))
            .count(),
        Err(_) => 0,
    };
    Ok(u32::try_from(n).unwrap_or(u32::MAX).max(1))
}

/// What a NIC's RSS means for port steering: the key and table when the
/// NIC hashes TCP/IPv4 by Toeplitz over addresses and both ports, as
/// `wire::rss` computes it; otherwise, in one line, why replies cannot be
/// steered home by choosing source ports (and so are handed to their
/// owner).
pub fn rss(iface: &str) -> Result<Result<crate::wire::rss::Rss, String>, Error> {
    // <linux/ethtool.h>: ETH_RSS_HASH_TOP, RXH_IP_SRC | RXH_IP_DST |
    // RXH_L4_B_0_1 | RXH_L4_B_2_3.
    const TOEPLITZ: u8 = 1 << 0;
    const FOUR_TUPLE: u64 = 0xf0;
    let Some(c) = os::rss(iface)? else {
        return Ok(Err(format!(
            "{iface} has no RSS (ETHTOOL_GRSSH unsupported)"
        )));
    };
    if c.hfunc & TOEPLITZ == 0 {
        return Ok(Err(format!(
            "{iface} hashes with RSS function {:#x}, not Toeplitz",
            c.hfunc
        )));
    }
    match c.tcp4_fields {
        Some(f) if f & FOUR_TUPLE == FOUR_TUPLE => {}
        Some(f) => {
            return Ok(Err(format!(
                "{iface} hashes TCP/IPv4 on fields {f:#x}, not both addresses and ports                  (ethtool -N {iface} rx-flow-hash tcp4 sdfn)"
            )))
        }
        None => {
            return Ok(Err(format!(
                "{iface} does not say which TCP/IPv4 fields it hashes (ETHTOOL_GRXFH)"
            )))
        }
    }
    if c.key.is_empty() || c.table.is_empty() {
        return Ok(Err(format!(
            "{iface} reports no RSS key or indirection table"
        )));
    }
    Ok(Ok(crate::wire::rss::Rss {
        key: c.key,
        table: c.table,
    }))
}

/// Looks `ip` up in the kernel's neighbour table for `iface`, without
/// triggering resolution. Incomplete entries (all-zero MAC) count as absent.
pub fn lookup_neighbour(ip: Ipv4Addr, iface: &str) -> Result<Option<MacAddr>, Error> {
    // thread-self, not self: the ARP table is per namespace and the namespace
    // is per thread.
    let table = std::fs::read_to_string("/proc/thread-self/net/arp")
        .map_err(|e| Error::os("reading /proc/thread-self/net/arp", e))?;
    Ok(parse_arp_table(&table, ip, iface))
}

/// Parses `/proc/net/arp` ("IP address HW type Flags HW address Mask Device").
fn parse_arp_table(table: &str, ip: Ipv4Addr, iface: &str) -> Option<MacAddr> {
    const ATF_COM: u32 = 0x2; // entry complete
    table.lines().skip(1).find_map(|line| {
        let cols: Vec<&str> = line.split_whitespace().collect();
        let [addr, _hwtype, flags, hw, _mask, dev] = cols.as_slice() else {
            return None;
        };
        let flags = u32::from_str_radix(flags.trim_start_matches("0x"), 16).ok()?;
        if *dev != iface || addr.parse::<Ipv4Addr>().ok()? != ip || flags & ATF_COM == 0 {
            return None;
        }
        let mac: MacAddr = hw.parse().ok()?;
        (mac != MacAddr::default()).then_some(mac)
    })
}

/// The next hop towards `dst` out of `iface`: the gateway of the most
/// specific route through `iface` that covers `dst`, or `dst` itself when it
/// is on-link (or no route says otherwise). Read from the calling thread's
/// namespace (`/proc/thread-self/net/route`).
pub fn next_hop(dst: Ipv4Addr, iface: &str) -> Result<Ipv4Addr, Error> {
    let table = std::fs::read_to_string("/proc/thread-self/net/route")
        .map_err(|e| Error::os("reading /proc/thread-self/net/route", e))?;
    Ok(parse_route_table(&table, dst, iface).unwrap_or(dst))
}

/// Parses `/proc/net/route` (Iface Destination Gateway Flags RefCnt Use
/// Metric Mask ...; addresses as host-order hex of network-order bytes).
fn parse_route_table(table: &str, dst: Ipv4Addr, iface: &str) -> Option<Ipv4Addr> {
    let hex = |s: &str| {
        u32::from_str_radix(s, 16)
            .ok()
            .map(|v| Ipv4Addr::from(v.swap_bytes()))
    };
    let mut best: Option<(u32, Ipv4Addr)> = None;
    for line in table.lines().skip(1) {
        let cols: Vec<&str> = line.split_whitespace().collect();
        let [dev, dest, gw, _flags, _ref, _use, _metric, mask, ..] = cols.as_slice() else {
            continue;
        };
        let (Some(dest), Some(gw), Some(mask)) = (hex(dest), hex(gw), hex(mask)) else {
            continue;
        };
        let m = u32::from(mask);
        if *dev != iface || u32::from(dst) & m != u32::from(dest) & m {
            continue;
        }
        if best.is_none_or(|(bm, _)| m.count_ones() > bm) {
            best = Some((m.count_ones(), if gw.is_unspecified() { dst } else { gw }));
        }
    }
    best.map(|(_, hop)| hop)
}

/// MAC address of next hop `ip` on `iface`: from the neighbour table, or, if
/// missing, after prodding the kernel to resolve it (one UDP datagram to the
/// discard port makes it ARP), retrying for up to about a second.
pub fn resolve_neighbour(ip: Ipv4Addr, iface: &str) -> Result<MacAddr, Error> {
    os::if_nametoindex(iface)?;
    if let Some(mac) = lookup_neighbour(ip, iface)? {
        return Ok(mac);
    }
    let deadline = Instant::now() + Duration::from_secs(1);
    let mut next_prod = Instant::now();
    loop {
        if Instant::now() >= next_prod {
            prod_kernel(ip, iface);
            next_prod = Instant::now() + Duration::from_millis(250);
        }
        std::thread::sleep(Duration::from_millis(10));
        if let Some(mac) = lookup_neighbour(ip, iface)? {
            return Ok(mac);
        }
        if Instant::now() >= deadline {
            return Err(Error::NeighbourUnresolved {
                ip,
                iface: iface.to_string(),
            });
        }
    }
}

/// Makes the kernel ARP for `ip` by sending it one datagram. Failures are
/// ignored: the caller's table lookup is what decides success.
fn prod_kernel(ip: Ipv4Addr, iface: &str) {
    let src = os::ipv4(iface)
        .ok()
        .flatten()
        .unwrap_or(Ipv4Addr::UNSPECIFIED);
    if let Ok(sock) = UdpSocket::bind((src, 0)) {
        // Port 9 (discard): harmless if someone is listening, and an ICMP
        // port unreachable back is fine too; we only want the ARP.
        let _ = sock.send_to(b"synwave-arp", (ip, 9));
    }
}

#[cfg(test)]
mod route_tests {
    use super::*;

    const TABLE: &str =
        "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT
sw0\t00000000\t01014E0A\t0003\t0\t0\t0\t00000000\t0\t0\t0
sw0\t00014E0A\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0
";

    #[test]
    fn on_link_destination_is_its_own_next_hop_and_others_go_via_the_gateway() {
        let on_link = Ipv4Addr::new(10, 78, 1, 7);
        assert_eq!(parse_route_table(TABLE, on_link, "sw0"), Some(on_link));
        assert_eq!(
            parse_route_table(TABLE, Ipv4Addr::new(10, 78, 2, 2), "sw0"),
            Some(Ipv4Addr::new(10, 78, 1, 1))
        );
        assert_eq!(parse_route_table(TABLE, on_link, "other"), None);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TABLE: &str =
        "IP address       HW type     Flags       HW address            Mask     Device
10.77.0.2        0x1         0x2         aa:bb:cc:dd:ee:0f     *        sw0
10.77.0.3        0x1         0x0         00:00:00:00:00:00     *        sw0
10.77.0.4        0x1         0x2         aa:bb:cc:dd:ee:01     *        eth9
";

    #[test]
    fn arp_table_complete_entry() {
        let mac = parse_arp_table(TABLE, Ipv4Addr::new(10, 77, 0, 2), "sw0");
        assert_eq!(mac, Some(MacAddr([0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0x0f])));
    }

    #[test]
    fn arp_table_incomplete_and_other_device_are_absent() {
        assert_eq!(
            parse_arp_table(TABLE, Ipv4Addr::new(10, 77, 0, 3), "sw0"),
            None
        );
        assert_eq!(
            parse_arp_table(TABLE, Ipv4Addr::new(10, 77, 0, 4), "sw0"),
            None
        );
        assert_eq!(
            parse_arp_table("garbage", Ipv4Addr::new(10, 77, 0, 2), "sw0"),
            None
        );
    }

    #[test]
    fn ip_addr_lines_give_every_address() {
        let text = "2: sw0    inet 10.77.0.1/24 scope global sw0\\       valid_lft forever\n\
                    2: sw0    inet 10.77.0.9/32 scope global sw0\\       valid_lft forever\n";
        assert_eq!(
            parse_ip_addr(text),
            vec![Ipv4Addr::new(10, 77, 0, 1), Ipv4Addr::new(10, 77, 0, 9)]
        );
        assert!(parse_ip_addr("garbage inet").is_empty());
    }

    #[test]
    fn mac_round_trip_and_rejects_garbage() {
        let m: MacAddr = "02:00:5e:10:00:01".parse().expect("valid mac");
        assert_eq!(m.to_string(), "02:00:5e:10:00:01");
        assert!("02:00:5e:10:00".parse::<MacAddr>().is_err());
        assert!("02:00:5e:10:00:01:02".parse::<MacAddr>().is_err());
        assert!("zz:00:5e:10:00:01".parse::<MacAddr>().is_err());
    }
}
