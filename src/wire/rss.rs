//! Receive-side scaling: the Toeplitz hash of Microsoft's RSS
//! specification, which NICs compute over a frame's addresses and ports to
//! pick its receive queue through an indirection table.
//!
//! The input for TCP/IPv4 is the source address, the destination address,
//! the source port and the destination port, each in network byte order
//! (12 bytes); for each of its bits, most significant first, that is set,
//! the hash takes the XOR of the 32 key bits starting at that bit's
//! position. The key is therefore at least 4 bytes longer than the input
//! (40 bytes is the usual size). The hash is linear: the hash of an input
//! is the XOR of the hashes of its parts, each with zeros elsewhere, which
//! lets a tuple allocator hash a port range cheaply.

use std::net::SocketAddrV4;

/// The key of the specification's verification suite, and the default key
/// of many drivers.
pub const VERIFICATION_KEY: [u8; 40] = [
    0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2, 0x41, 0x67, 0x25, 0x3d, 0x43, 0xa3, 0x8f, 0xb0,
    0xd0, 0xca, 0x2b, 0xcb, 0xae, 0x7b, 0x30, 0xb4, 0x77, 0xcb, 0x2d, 0xa3, 0x80, 0x30, 0xf2, 0x0c,
    0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac, 0x01, 0xfa,
];

/// Bytes of the TCP/IPv4 input: two addresses and two ports.
pub const TCP4_INPUT_LEN: usize = 12;

/// The Toeplitz hash of `input` under `key`. Key bits past the end count
/// as zeros, so a key shorter than `input.len() + 4` bytes hashes as if
/// padded.
pub fn toeplitz(key: &[u8], input: &[u8]) -> u32 {
    let key_bit = |i: usize| key.get(i / 8).is_some_and(|b| b & (0x80 >> (i % 8)) != 0);
    // The 32 key bits starting at bit 0, then slid one bit at a time.
    let mut window: u32 = (0..32).fold(0, |w, i| w << 1 | u32::from(key_bit(i)));
    let mut hash = 0;
    for (n, byte) in input.iter().enumerate() {
        for bit in 0..8 {
            if byte & (0x80 >> bit) != 0 {
                hash ^= window;
            }
            window = window << 1 | u32::from(key_bit(n * 8 + bit + 32));
        }
    }
    hash
}

/// The TCP/IPv4 input of a frame sent from `src` to `dst`.
pub fn tcp4_input(src: SocketAddrV4, dst: SocketAddrV4) -> [u8; TCP4_INPUT_LEN] {
    let mut b = [0; TCP4_INPUT_LEN];
    b[0..4].copy_from_slice(&src.ip().octets());
    b[4..8].copy_from_slice(&dst.ip().octets());
    b[8..10].copy_from_slice(&src.port().to_be_bytes());
    b[10..12].copy_from_slice(&dst.port().to_be_bytes());
    b
}

/// The Toeplitz hash of a TCP/IPv4 frame from `src` to `dst`.
pub fn toeplitz_tcp4(key: &[u8], src: SocketAddrV4, dst: SocketAddrV4) -> u32 {
    toeplitz(key, &tcp4_input(src, dst))
}

/// A NIC's receive-side scaling as `ethtool -x` shows it: the Toeplitz
/// key and the indirection table, which maps the hash (modulo its length)
/// to a receive queue.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rss {
    pub key: Vec<u8>,
    pub table: Vec<u32>,
}

impl Rss {
    /// The queue a TCP/IPv4 frame from `src` to `dst` is received on.
    pub fn queue(&self, src: SocketAddrV4, dst: SocketAddrV4) -> u32 {
        self.queue_of_hash(toeplitz_tcp4(&self.key, src, dst))
    }

    /// The queue of a frame whose hash is `hash`; queue 0 without a table.
    pub fn queue_of_hash(&self, hash: u32) -> u32 {
        match self.table.len() {
            0 => 0,
            n => self.table[hash as usize % n],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn at(s: &str) -> SocketAddrV4 {
        s.parse().unwrap()
    }

    /// The specification's IPv4 vectors: destination, source, the hash of
    /// the addresses alone, and the hash with the TCP ports.
    const VECTORS: [(&str, &str, u32, u32); 5] = [
        (
            "161.142.100.80:1766",
            "66.9.149.187:2794",
            0x323e8fc2,
            0x51ccc178,
        ),
        (
            "65.69.140.83:4739",
            "199.92.111.2:14230",
            0xd718262a,
            0xc626b0ea,
        ),
        (
            "12.22.207.184:38024",
            "24.19.198.95:12898",
            0xd2d0a5de,
            0x5c2b394a,
        ),
        (
            "209.142.163.6:2217",
            "38.27.205.30:48228",
            0x82989176,
            0xafc7327f,
        ),
        (
            "202.188.127.2:1303",
            "153.39.163.191:44251",
            0x5d1809c5,
            0x10e828a2,
        ),
    ];

    #[test]
    fn microsoft_rss_verification_suite_ipv4_with_tcp_ports() {
        for (dst, src, _, with_tcp) in VECTORS {
            assert_eq!(
                toeplitz_tcp4(&VERIFICATION_KEY, at(src), at(dst)),
                with_tcp,
                "{src} -> {dst}"
            );
        }
    }

    #[test]
    fn microsoft_rss_verification_suite_ipv4_only() {
        for (dst, src, ip_only, _) in VECTORS {
            let input = &tcp4_input(at(src), at(dst))[..8];
            assert_eq!(
                toeplitz(&VERIFICATION_KEY, input),
                ip_only,
                "{src} -> {dst}"
            );
        }
    }

    #[test]
    fn the_indirection_table_picks_the_queue() {
        let rss = Rss {
            key: VERIFICATION_KEY.to_vec(),
            table: (0..128).map(|i| i % 4).collect(),
        };
        let (dst, src, _, hash) = VECTORS[0];
        assert_eq!(rss.queue(at(src), at(dst)), (hash % 128) % 4);
        assert_eq!(
            Rss {
                key: vec![],
                table: vec![]
            }
            .queue(at(src), at(dst)),
            0
        );
    }

    #[test]
    fn the_hash_of_a_tuple_is_the_xor_of_the_hashes_of_its_parts() {
        let (src, dst) = (at("10.0.0.1:80"), at("10.0.0.2:40000"));
        let zero = |a: SocketAddrV4, ip: bool, port: bool| {
            SocketAddrV4::new(
                if ip { *a.ip() } else { Ipv4Addr::UNSPECIFIED },
                if port { a.port() } else { 0 },
            )
        };
        let k = &VERIFICATION_KEY;
        let whole = toeplitz_tcp4(k, src, dst);
        let parts = toeplitz_tcp4(k, src, zero(dst, true, false))
            ^ toeplitz_tcp4(k, zero(src, false, false), zero(dst, false, true));
        assert_eq!(whole, parts);
    }
}
