//! The engine's secrets (ISN, SYN-cookie and timestamp keys), kept for the
//! life of the boot in a root-only file under /run (a tmpfs, gone at
//! reboot). With one key for the boot, the ISN clock and TSvals of a tuple
//! keep growing across runs, so a peer still holding that tuple in
//! TIME-WAIT from the last run accepts the next run's SYN (RFC 6191) —
//! a fresh key per run would make both look random to it.

use super::Error;
use crate::tcp::Keys;
use std::io::{Read, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

/// Where the keys live.
pub const KEYS_DIR: &str = "/run/synwave";
const KEYS_FILE: &str = "/run/synwave/keys";
const LEN: usize = 48;

/// The keys of this boot, made on first use: 48 bytes from the kernel's
/// random pool, written once with mode 0600 in a 0700 directory. Several
/// synwave processes starting at once agree on one file: each writes its
/// own candidate and links it into place; the first link wins.
pub fn boot_keys() -> Result<Keys, Error> {
    let denied = |err: std::io::Error, op: &str| match err.kind() {
        std::io::ErrorKind::PermissionDenied => {
            Error::PermissionDenied("keeping the engine's keys under /run/synwave")
        }
        _ => Error::os(format!("{op} {KEYS_FILE}"), err),
    };
    match std::fs::create_dir(KEYS_DIR) {
        Ok(()) => std::fs::set_permissions(KEYS_DIR, std::fs::Permissions::from_mode(0o700))
            .map_err(|e| denied(e, "securing"))?,
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(denied(e, "creating the directory of")),
    }
    if !Path::new(KEYS_FILE).exists() {
        let tmp = format!("{KEYS_FILE}.{}", std::process::id());
        let bytes: [u8; LEN] = random_bytes()?;
        let written = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)
            .and_then(|mut f| f.write_all(&bytes).and_then(|()| f.sync_all()));
        if let Err(e) = written {
            let _ = std::fs::remove_file(&tmp);
            return Err(denied(e, "writing"));
        }
        // Fails when another process linked its keys first: theirs stand.
        let _ = std::fs::hard_link(&tmp, KEYS_FILE);
        let _ = std::fs::remove_file(&tmp);
    }
    let mut f = std::fs::File::open(KEYS_FILE).map_err(|e| denied(e, "opening"))?;
    let meta = f.metadata().map_err(|e| denied(e, "inspecting"))?;
    if meta.mode() & 0o077 != 0 || meta.uid() != 0 {
        return Err(Error::Config(format!(
            "{KEYS_FILE} is readable by others or not owned by root: its keys may be known; remove it and run again"
        )));
    }
    let mut bytes = [0u8; LEN];
    f.read_exact(&mut bytes)
        .map_err(|e| Error::os(format!("reading {KEYS_FILE}"), e))?;
    let key = |i: usize| {
        let mut k = [0u8; 16];
        k.copy_from_slice(&bytes[i * 16..i * 16 + 16]);
        k
    };
    Ok(Keys {
        isn: key(0),
        syn_cookie: key(1),
        timestamp: key(2),
    })
}

/// `N` bytes from the kernel's random pool.
fn random_bytes<const N: usize>() -> Result<[u8; N], Error> {
    let mut b = [0u8; N];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut b))
        .map_err(|e| Error::os("reading /dev/urandom", e))?;
    Ok(b)
}

/// A random number from the kernel's pool (e.g. where a run's source ports begin).
pub fn random_u32() -> Result<u32, Error> {
    random_bytes().map(u32::from_le_bytes)
}
