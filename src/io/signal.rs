//! Ctrl-C (SIGINT) and SIGTERM as a stop flag.
//!
//! Loops poll the flag and return, so `Drop` guards (the XDP attachment, test
//! namespaces) run; killing the process outright would skip them. A hand-rolled
//! `sigaction` rather than the `ctrlc` crate: the handler only stores to a
//! static atomic (async-signal-safe), needs no helper thread or pipe, and
//! keeps the dependency tree small. SA_RESETHAND makes a second Ctrl-C kill
//! the process the usual way if a loop fails to notice the first.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Once;

use super::xsk::sys;
use super::Error;

static STOP: AtomicBool = AtomicBool::new(false);
static INSTALL: Once = Once::new();

extern "C" fn on_signal(_sig: libc::c_int) {
    STOP.store(true, Ordering::SeqCst);
}

/// Installs SIGINT/SIGTERM handlers (once per process) and returns the flag
/// they raise. Threads check it with `load(Ordering::Relaxed)`.
pub fn install_stop_flag() -> Result<&'static AtomicBool, Error> {
    let mut res = Ok(());
    INSTALL.call_once(|| {
        res = sys::on_signals(&[libc::SIGINT, libc::SIGTERM], on_signal);
    });
    res.map(|()| &STOP)
}

/// The flag, whether or not handlers are installed (raise it to stop loops
/// programmatically).
pub fn stop_flag() -> &'static AtomicBool {
    &STOP
}
