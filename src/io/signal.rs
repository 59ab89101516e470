//! Ctrl-C (SIGINT) and SIGTERM as a stop flag.
//!
//! Loops poll the flag and return, so `Drop` guards (the XDP attachment, test
//! namespaces) run; killing the process outright would skip them. A hand-rolled
//! `sigaction` rather than the `ctrlc` crate: the handler only stores to a
//! static atomic (async-signal-safe), needs no helper thread or pipe, and
//! keeps the dependency tree small. SA_RESETHAND makes a second Ctrl-C kill
//! the process the usual way if a loop fails to notice the first.

use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::Once;

use super::sys::os;
use super::Error;

static STOP: AtomicBool = AtomicBool::new(false);
static RECEIVED: AtomicI32 = AtomicI32::new(0);
static INSTALL: Once = Once::new();

extern "C" fn on_signal(sig: libc::c_int) {
    RECEIVED.store(sig, Ordering::SeqCst);
    STOP.store(true, Ordering::SeqCst);
}

/// Installs SIGINT/SIGTERM handlers (once per process) and returns the flag
/// they raise. Threads check it with `load(Ordering::Relaxed)`.
pub fn install_stop_flag() -> Result<&'static AtomicBool, Error> {
    let mut res = Ok(());
    INSTALL.call_once(|| {
        res = os::on_signals(&[libc::SIGINT, libc::SIGTERM], on_signal);
    });
    res.map(|()| &STOP)
}

/// The flag, whether or not handlers are installed (raise it to stop loops
/// programmatically).
pub fn stop_flag() -> &'static AtomicBool {
    &STOP
}

/// The signal that raised the flag (SIGINT or SIGTERM), if one did: a run
/// it cut short reports itself as interrupted and exits 128 + its number.
pub fn received() -> Option<i32> {
    match RECEIVED.load(Ordering::SeqCst) {
        0 => None,
        sig => Some(sig),
    }
}
