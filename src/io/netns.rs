//! Per-thread network namespace switching.
//!
//! A network namespace is a property of the thread, not the process: after
//! [`enter`] only the calling thread sees the namespace's interfaces, routes
//! and neighbour table. Workers should therefore enter their namespace first
//! thing, in a thread dedicated to that namespace.

use std::fs::File;
use std::path::Path;

use super::sys::os;
use super::Error;

/// Where `ip netns add NAME` keeps the namespace handle.
pub const NETNS_RUN_DIR: &str = "/var/run/netns";

/// Moves the calling thread into the named network namespace (`ip netns`
/// naming); everything it creates afterwards (sockets, AF_XDP sockets, XDP
/// attachments) lives there.
pub fn enter(name: &str) -> Result<(), Error> {
    if name.is_empty() || name.contains('/') {
        return Err(Error::NoSuchNetns(name.to_string()));
    }
    let path = Path::new(NETNS_RUN_DIR).join(name);
    let f = File::open(&path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => Error::NoSuchNetns(name.to_string()),
        std::io::ErrorKind::PermissionDenied => {
            Error::PermissionDenied("opening a network namespace")
        }
        _ => Error::os(format!("opening {}", path.display()), e),
    })?;
    os::setns_net(&f, name)
}

/// Moves the calling thread back into the namespace of process 1's (the
/// host's) network stack; used by threads that visited a namespace.
pub fn enter_host() -> Result<(), Error> {
    let f = File::open("/proc/1/ns/net").map_err(|e| Error::os("opening /proc/1/ns/net", e))?;
    os::setns_net(&f, "host")
}

/// Whether the named namespace exists.
pub fn exists(name: &str) -> bool {
    !name.is_empty() && !name.contains('/') && Path::new(NETNS_RUN_DIR).join(name).exists()
}
