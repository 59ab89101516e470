//! The 4-tuple that names a connection (RFC 9293 §3.3.1).

use core::fmt;
use core::hash::{Hash, Hasher};
use std::net::{Ipv4Addr, SocketAddrV4};

/// A connection's identity from this endpoint's side: the TCB table key.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct FourTuple {
    pub local_ip: Ipv4Addr,
    pub remote_ip: Ipv4Addr,
    pub local_port: u16,
    pub remote_port: u16,
}

impl FourTuple {
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

impl Hash for FourTuple {
    // Two integer writes instead of four field hashes: this key is hashed for
    // every frame, and the derive would feed the hasher byte arrays.
    #[inline]
    fn hash<H: Hasher>(&self, state: &mut H) {
        let ips =
            (u64::from(u32::from(self.local_ip)) << 32) | u64::from(u32::from(self.remote_ip));
        let ports = (u32::from(self.local_port) << 16) | u32::from(self.remote_port);
        state.write_u64(ips);
        state.write_u32(ports);
    }
}

impl fmt::Display for FourTuple {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} -> {}", self.local(), self.remote())
    }
}
