//! The 4-tuple that names a connection (RFC 9293 §3.3.1).

use core::fmt;
use core::hash::{Hash, Hasher};
use std::net::{Ipv4Addr, SocketAddrV4};

/// A connection's identity from this endpoint's side: the TCB table key.
/// In C layout, the addresses in the first 8 bytes and the ports in the
/// next 4, so that `eq` compares two words.
#[derive(Copy, Clone, Debug, Eq)]
#[repr(C)]
pub struct FourTuple {
    pub local_ip: Ipv4Addr,
    pub remote_ip: Ipv4Addr,
    pub local_port: u16,
    pub remote_port: u16,
}

impl FourTuple {
    /// All zeros: no connection's, for slots not yet filled.
    pub const UNSPECIFIED: FourTuple = FourTuple {
        local_ip: Ipv4Addr::UNSPECIFIED,
        remote_ip: Ipv4Addr::UNSPECIFIED,
        local_port: 0,
        remote_port: 0,
    };

    /// The tuple of `local` talking to `remote`.
    pub fn new(local: SocketAddrV4, remote: SocketAddrV4) -> Self {
        FourTuple {
            local_ip: *local.ip(),
            remote_ip: *remote.ip(),
            local_port: local.port(),
            remote_port: remote.port(),
        }
    }

    /// This endpoint's address.
    pub fn local(&self) -> SocketAddrV4 {
        SocketAddrV4::new(self.local_ip, self.local_port)
    }

    /// The peer's address.
    pub fn remote(&self) -> SocketAddrV4 {
        SocketAddrV4::new(self.remote_ip, self.remote_port)
    }
}

impl FourTuple {
    /// The addresses and the ports, each as one word in native order.
    #[inline(always)]
    fn words(&self) -> (u64, u32) {
        let [a, b, c, d] = self.local_ip.octets();
        let [e, f, g, h] = self.remote_ip.octets();
        let ips = u64::from_ne_bytes([a, b, c, d, e, f, g, h]);
        let ports = u32::from(self.local_port) | u32::from(self.remote_port) << 16;
        (ips, ports)
    }
}

impl PartialEq for FourTuple {
    // Two compares instead of four, for the table's probe of every frame.
    #[inline]
    fn eq(&self, other: &Self) -> bool {
        self.words() == other.words()
    }
}

impl Hash for FourTuple {
    // Two integer writes instead of four field hashes: this key is hashed for
    // every frame, and the derive would feed the hasher byte arrays. The
    // words `eq` compares, in native order: the table's hasher is seeded
    // at random, so no value depends on the order.
    #[inline]
    fn hash<H: Hasher>(&self, state: &mut H) {
        let (ips, ports) = self.words();
        state.write_u64(ips);
        state.write_u32(ports);
    }
}

impl fmt::Display for FourTuple {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} -> {}", self.local(), self.remote())
    }
}
