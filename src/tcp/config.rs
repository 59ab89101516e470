//! Engine configuration, checked once before anything runs.

use core::fmt;
use core::time::Duration;

/// Tunables of one engine. Defaults follow Linux where the RFCs leave a choice.
#[derive(Clone, Debug)]
pub struct Config {
    /// MSS we announce: the MTU less 40 bytes of IPv4 and TCP header (RFC 9293 §3.7.1).
    pub mss: u16,
    /// Receive window we offer. The engine hands data to the application as it
    /// arrives, so the window never closes.
    pub rcv_wnd: u32,
    /// Window scale we offer (RFC 7323 §2); 0 disables the option.
    pub window_scale: u8,
    /// Offer and accept timestamps (RFC 7323 §3), which enable PAWS and
    /// TIME-WAIT reuse by timestamp (RFC 6191).
    pub timestamps: bool,
    /// Maximum segment lifetime; TIME-WAIT lasts 2×MSL (RFC 9293 §3.4.2).
    /// Linux uses 60 s for TIME-WAIT, hence 30 s.
    pub msl: Duration,
    /// RTO before any RTT sample (RFC 6298 §2.1).
    pub rto_initial: Duration,
    /// Lower bound of the RTO. RFC 6298 §2.4 suggests 1 s; Linux and most
    /// stacks use 200 ms, and a load generator on a LAN needs the same.
    pub rto_min: Duration,
    /// Upper bound of the RTO after backoff (RFC 6298 §2.5 allows ≥ 60 s).
    pub rto_max: Duration,
    /// Retransmissions of SYN or SYN-ACK before the attempt fails. 7 (with
    /// a 1 s initial RTO, doubling) gives up after 255 s: RFC 9293 §3.8.3
    /// R2 asks at least 3 minutes for a SYN, and Linux's 6 gives up after
    /// 127 s. A load generator that wants to fail faster sets fewer, or
    /// bounds its connects itself with a connect timeout that aborts them.
    pub syn_retries: u8,
    /// Retransmissions of data or FIN before the connection fails.
    pub max_retries: u8,
    /// An active open may take over a tuple we hold in TIME-WAIT this long
    /// after it entered TIME-WAIT, when the old connection used timestamps
    /// (Linux `tcp_tw_reuse`: 1 s; PAWS then keeps old duplicates out).
    /// `None` keeps the full 2MSL.
    pub time_wait_reuse: Option<Duration>,
    /// How long a peer may hold its window shut while it answers our
    /// zero-window probes (RFC 9293 §3.8.6.1 says to probe such a peer
    /// indefinitely; RFC 6429 allows a limit, which a server facing hostile
    /// clients needs so that none pins a TCB and its send buffer forever).
    /// Counted from the first probe. 120 s is Linux's TCP_RTO_MAX, the time
    /// its RTO handler lets a window-shrinking peer stay silent.
    pub persist_timeout: Duration,
    /// How long FIN-WAIT-2 waits for the peer's FIN (Linux `tcp_fin_timeout`)
    /// after the last data from the peer: a half-close still receiving is
    /// never cut.
    pub fin_wait2_timeout: Duration,
    /// Challenge ACKs sent per second at most by the whole engine (RFC 5961
    /// §7). Off (`u32::MAX`) by default, as in Linux since 6.0: a global
    /// budget is shared by all connections, so an off-path attacker can
    /// count it down and learn whether a spoofed segment into another
    /// connection was in-window (CVE-2016-5696). `oow_ack_interval` limits
    /// each connection instead.
    pub challenge_ack_limit: u32,
    /// One challenge ACK or ACK to an out-of-window or PAWS-rejected segment
    /// per connection (or TIME-WAIT record) per interval at most (Linux
    /// `tcp_invalid_ratelimit`, 500 ms); zero disables it. Per connection,
    /// so what one peer sees says nothing of another's connection.
    pub oow_ack_interval: Duration,
    /// Full TCBs at most; SYNs and connects beyond are refused and counted.
    pub max_tcbs: usize,
    /// Half-open passive connections (SYN-RECEIVED) at most, per listener of
    /// each worker; beyond, SYNs get SYN cookies or, with those off, are dropped.
    pub syn_backlog: usize,
    /// Answer SYNs with SYN cookies (RFC 4987 §3.6) once the backlog is full.
    pub syn_cookies: bool,
    /// TIME-WAIT records at most; entering one beyond recycles the oldest.
    pub max_time_wait: usize,
    /// Bytes the application may queue per connection.
    pub send_buffer: usize,
    /// Verify IPv4 and TCP checksums of received frames.
    pub verify_checksums: bool,
    /// RFC 1337: ignore RST in TIME-WAIT (protection from TIME-WAIT
    /// assassination). Off by default, like Linux.
    pub rfc1337: bool,
    /// Send a tail loss probe (RFC 8985 §7) two smoothed RTTs after the
    /// last segment while nothing is acknowledged, so that a lost last
    /// segment is repaired by duplicate-ACK recovery long before the RTO.
    pub tail_loss_probe: bool,
    /// How long the ACK of in-order text may wait for a segment of ours
    /// to carry it (RFC 9293 §3.8.6.3, RFC 1122 4.2.3.2: under 0.5 s; RFC
    /// 5681 §4.2). A second full-sized segment, text beyond or into a gap,
    /// and a FIN are ACKed at once whatever this says. 40 ms is Linux's
    /// floor (`TCP_DELACK_MIN`); zero ACKs every turn's text at once.
    pub delayed_ack: Duration,
    /// Offer and accept selective acknowledgments (RFC 2018). A SYN-ACK
    /// sent as a SYN cookie offers them only beside timestamps, whose
    /// TSval remembers that the peer did (as Linux does).
    pub sack: bool,
    /// Bytes of out-of-order text one connection may hold above RCV.NXT,
    /// rounded up to a power of two (RFC 9293 §3.10.7.4 seventh); beyond,
    /// segments are dropped and counted (`ooo_dropped`).
    pub reassembly_buffer: usize,
    /// Bytes of out-of-order queues the whole engine may hold: at most
    /// `reassembly_total / reassembly_buffer` connections keep text beyond
    /// a gap at once, the others drop it as before. 0 disables the queue.
    pub reassembly_total: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            mss: 1460,
            rcv_wnd: 256 * 1024,
            window_scale: 7,
            timestamps: true,
            msl: Duration::from_secs(30),
            rto_initial: Duration::from_secs(1),
            rto_min: Duration::from_millis(200),
            rto_max: Duration::from_secs(120),
            syn_retries: 7,
            max_retries: 15,
            time_wait_reuse: Some(Duration::from_secs(1)),
            persist_timeout: Duration::from_secs(120),
            fin_wait2_timeout: Duration::from_secs(60),
            challenge_ack_limit: u32::MAX,
            oow_ack_interval: Duration::from_millis(500),
            max_tcbs: 1 << 20,
            syn_backlog: 4096,
            syn_cookies: true,
            max_time_wait: 1 << 20,
            send_buffer: 1 << 20,
            verify_checksums: true,
            rfc1337: false,
            tail_loss_probe: true,
            delayed_ack: Duration::from_millis(40),
            sack: true,
            reassembly_buffer: 256 * 1024,
            reassembly_total: 64 << 20,
        }
    }
}

/// A configuration that cannot work, with the reason.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError(pub String);

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid configuration: {}", self.0)
    }
}

impl std::error::Error for ConfigError {}

impl Config {
    /// Checks every field's range so that errors surface before anything is attached.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let err = |s: &str| Err(ConfigError(s.to_string()));
        if !(88..=9000).contains(&self.mss) {
            return err("mss must be within 88..=9000");
        }
        if self.window_scale > 14 {
            return err("window scale must be at most 14 (RFC 7323 §2.3)");
        }
        if self.rcv_wnd == 0 || self.rcv_wnd > (65535u32 << self.window_scale) {
            return err("receive window must be nonzero and fit 65535 << window_scale");
        }
        if self.msl.is_zero() {
            return err("msl must be nonzero");
        }
        if self.rto_min.is_zero() || self.rto_min > self.rto_max {
            return err("rto_min must be nonzero and at most rto_max");
        }
        if self.rto_initial < self.rto_min || self.rto_initial > self.rto_max {
            return err("rto_initial must lie within rto_min..=rto_max");
        }
        if self.persist_timeout.is_zero() {
            return err("persist_timeout must be nonzero");
        }
        if self.max_tcbs == 0 || self.max_tcbs > (1 << 30) {
            return err("max_tcbs must be within 1..=2^30");
        }
        if self.syn_backlog == 0 {
            return err("syn_backlog must be at least 1");
        }
        if self.delayed_ack >= Duration::from_millis(500) {
            return err("delayed_ack must be under 500 ms (RFC 9293 §3.8.6.3)");
        }
        if self.reassembly_buffer == 0 || self.reassembly_buffer > (1 << 30) {
            return err("reassembly_buffer must be within 1..=2^30");
        }
        if self.max_time_wait == 0 || self.max_time_wait > (1 << 30) {
            return err("max_time_wait must be within 1..=2^30");
        }
        Ok(())
    }

    /// The window field we put in non-SYN segments (RFC 7323 §2.3).
    pub(crate) fn window_field(&self, rcv_wscale: u8) -> u16 {
        (self.rcv_wnd >> rcv_wscale).min(65535) as u16
    }

    /// The receive window a non-SYN segment of ours advertises, in bytes:
    /// what the peer may send and so all we may accept (without window
    /// scaling, 65535 however large `rcv_wnd` is).
    pub(crate) fn advertised_window(&self, rcv_wscale: u8) -> u32 {
        u32::from(self.window_field(rcv_wscale)) << rcv_wscale
    }

    /// The window of our SYN or SYN-ACK, never scaled (RFC 7323 §2.2).
    pub(crate) fn syn_window(&self) -> u16 {
        self.rcv_wnd.min(65535) as u16
    }
}
