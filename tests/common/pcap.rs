//! Captures read back: the frames of a pcap file, and the TCP segments of
//! one connection between synwave and the kernel.

use std::fs;
use std::path::Path;
use synwave::io::testbed::{IP_A, IP_B};

/// Frames of a classic pcap file (either byte order of timestamps is fine:
/// microsecond 0xa1b2c3d4 or nanosecond 0xa1b23c4d magic, little-endian).
pub fn read_pcap(path: &Path) -> Vec<Vec<u8>> {
    read_pcap_records(path)
        .into_iter()
        .map(|(_, f)| f)
        .collect()
}

/// The records of a classic pcap file, as in [`read_pcap`]: each frame with
/// its timestamp in nanoseconds since the Unix epoch.
pub fn read_pcap_records(path: &Path) -> Vec<(u64, Vec<u8>)> {
    let d = fs::read(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    assert!(d.len() >= 24, "pcap shorter than its global header");
    let le32 = |o: usize| u32::from_le_bytes(d[o..o + 4].try_into().unwrap());
    let magic = le32(0);
    assert!(
        magic == 0xa1b2_c3d4 || magic == 0xa1b2_3c4d,
        "not a little-endian pcap: magic {magic:#x}"
    );
    let per_tick = if magic == 0xa1b2_3c4d { 1 } else { 1_000 };
    assert_eq!(le32(20), 1, "link type is not Ethernet");
    let mut records = Vec::new();
    let mut off = 24;
    while off + 16 <= d.len() {
        let ts = u64::from(le32(off)) * 1_000_000_000 + u64::from(le32(off + 4)) * per_tick;
        let incl = le32(off + 8) as usize;
        let orig = le32(off + 12) as usize;
        off += 16;
        assert!(off + incl <= d.len(), "truncated pcap record");
        assert_eq!(incl, orig, "frame truncated by the snap length");
        records.push((ts, d[off..off + incl].to_vec()));
        off += incl;
    }
    records
}

/// A captured segment, from synwave (`ours`) or from the kernel.
#[derive(Debug)]
pub struct Seg {
    pub ours: bool,
    pub seq: u32,
    pub ack: u32,
    pub syn: bool,
    pub ack_set: bool,
    pub fin: bool,
    pub rst: bool,
    pub payload: Vec<u8>,
}

impl Seg {
    /// The segment `t` carries, from synwave when `ours`.
    pub fn new(t: &synwave::wire::TcpFrame<'_>, ours: bool) -> Seg {
        Seg {
            ours,
            seq: t.tcp.seq.0,
            ack: t.tcp.ack.0,
            syn: t.tcp.flags.syn(),
            ack_set: t.tcp.flags.ack(),
            fin: t.tcp.flags.fin(),
            rst: t.tcp.flags.rst(),
            payload: t.tcp.payload.to_vec(),
        }
    }
}

pub fn describe(segs: &[Seg]) -> String {
    segs.iter()
        .map(|g| {
            format!(
                "{} {}{}{}{} seq={} ack={} len={}",
                if g.ours {
                    "synwave->kernel"
                } else {
                    "kernel->synwave"
                },
                if g.syn { "S" } else { "" },
                if g.fin { "F" } else { "" },
                if g.rst { "R" } else { "" },
                if g.ack_set { "." } else { "" },
                g.seq,
                g.ack,
                g.payload.len()
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The segments in `frames` between synwave (10.77.0.1) and the kernel's
/// `port` on 10.77.0.2, either way, in capture order; anything else is left out.
pub fn segments(frames: &[Vec<u8>], port: u16) -> Vec<Seg> {
    frames
        .iter()
        .filter_map(|f| {
            let t = synwave::wire::parse_tcp_frame(f, false).ok()?;
            let ours = t.ip.src == IP_A && t.tcp.dst_port == port;
            let theirs = t.ip.src == IP_B && t.tcp.src_port == port;
            (ours || theirs).then(|| Seg::new(&t, ours))
        })
        .collect()
}
