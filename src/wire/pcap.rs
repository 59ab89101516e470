//! The classic pcap file format, as libpcap writes it and tcpdump and
//! Wireshark read it: a 24-byte global header, then for each frame a
//! 16-byte record header followed by the frame's bytes.
//!
//! synwave writes nanosecond timestamps (magic `0xa1b23c4d`), version 2.4,
//! snap length 65535, link type 1 (Ethernet), every field little-endian: a
//! reader tells the byte order from how the magic reads.

/// The magic of a pcap file whose record timestamps are seconds and
/// nanoseconds (`0xa1b2c3d4` would mean microseconds).
pub const MAGIC_NANOS: u32 = 0xa1b2_3c4d;
/// The file format version: 2.4, the only one in use.
pub const VERSION: (u16, u16) = (2, 4);
/// The largest frame kept whole; longer frames are cut to it.
pub const SNAPLEN: u32 = 65_535;
/// LINKTYPE_ETHERNET: every record is an Ethernet II frame.
pub const LINKTYPE_ETHERNET: u32 = 1;
/// Length of the global header.
pub const GLOBAL_HEADER_LEN: usize = 24;
/// Length of each record's header.
pub const RECORD_HEADER_LEN: usize = 16;

/// The file's global header: magic, version, time zone offset 0, timestamp
/// accuracy 0, snap length, link type.
pub fn global_header() -> [u8; GLOBAL_HEADER_LEN] {
    let mut h = [0u8; GLOBAL_HEADER_LEN];
    h[0..4].copy_from_slice(&MAGIC_NANOS.to_le_bytes());
    h[4..6].copy_from_slice(&VERSION.0.to_le_bytes());
    h[6..8].copy_from_slice(&VERSION.1.to_le_bytes());
    // thiszone (8..12) and sigfigs (12..16) stay zero.
    h[16..20].copy_from_slice(&SNAPLEN.to_le_bytes());
    h[20..24].copy_from_slice(&LINKTYPE_ETHERNET.to_le_bytes());
    h
}

/// The header of the record of a `len`-byte frame seen `unix_nanos`
/// nanoseconds after the Unix epoch: seconds, nanoseconds, the bytes kept
/// (at most [`SNAPLEN`]) and the frame's length.
pub fn record_header(unix_nanos: u64, len: usize) -> [u8; RECORD_HEADER_LEN] {
    let secs = (unix_nanos / 1_000_000_000) as u32;
    let nanos = (unix_nanos % 1_000_000_000) as u32;
    let orig = u32::try_from(len).unwrap_or(u32::MAX);
    let mut h = [0u8; RECORD_HEADER_LEN];
    h[0..4].copy_from_slice(&secs.to_le_bytes());
    h[4..8].copy_from_slice(&nanos.to_le_bytes());
    h[8..12].copy_from_slice(&orig.min(SNAPLEN).to_le_bytes());
    h[12..16].copy_from_slice(&orig.to_le_bytes());
    h
}

/// Appends the record of `frame`, seen `unix_nanos` after the epoch, to
/// `out`: its header and the frame, cut to [`SNAPLEN`].
pub fn push_record(out: &mut Vec<u8>, unix_nanos: u64, frame: &[u8]) {
    out.extend_from_slice(&record_header(unix_nanos, frame.len()));
    out.extend_from_slice(&frame[..frame.len().min(SNAPLEN as usize)]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn global_header_is_nanosecond_pcap_2_4_on_ethernet() {
        assert_eq!(
            global_header(),
            [
                0x4d, 0x3c, 0xb2, 0xa1, // magic, nanosecond timestamps
                2, 0, 4, 0, // version 2.4
                0, 0, 0, 0, // thiszone
                0, 0, 0, 0, // sigfigs
                0xff, 0xff, 0, 0, // snaplen 65535
                1, 0, 0, 0, // LINKTYPE_ETHERNET
            ]
        );
    }

    #[test]
    fn record_splits_the_timestamp_and_gives_both_lengths() {
        let mut out = Vec::new();
        push_record(&mut out, 1_700_000_000_123_456_789, &[0xaa, 0xbb, 0xcc]);
        let sec = 1_700_000_000u32.to_le_bytes();
        let nsec = 123_456_789u32.to_le_bytes();
        let mut want = Vec::new();
        want.extend_from_slice(&sec);
        want.extend_from_slice(&nsec);
        want.extend_from_slice(&3u32.to_le_bytes());
        want.extend_from_slice(&3u32.to_le_bytes());
        want.extend_from_slice(&[0xaa, 0xbb, 0xcc]);
        assert_eq!(out, want);
    }

    #[test]
    fn a_frame_longer_than_the_snap_length_is_cut_and_says_so() {
        let frame = vec![7u8; SNAPLEN as usize + 10];
        let mut out = Vec::new();
        push_record(&mut out, 5, &frame);
        assert_eq!(out.len(), RECORD_HEADER_LEN + SNAPLEN as usize);
        assert_eq!(out[8..12], SNAPLEN.to_le_bytes());
        assert_eq!(out[12..16], (SNAPLEN + 10).to_le_bytes());
    }
}
