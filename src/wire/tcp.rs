//! TCP segments (RFC 9293 §3.1) and the options of RFC 9293 §3.2 and RFC 7323.

use super::{checksum, Error, SeqNumber};
use core::fmt;
use core::num::NonZeroU8;
use core::ops::{BitOr, BitOrAssign};
use std::net::Ipv4Addr;

/// The control bits (RFC 9293 §3.1; ECE and CWR from RFC 3168).
#[derive(Copy, Clone, PartialEq, Eq, Default, Hash)]
pub struct TcpFlags(pub u8);

impl TcpFlags {
    pub const FIN: TcpFlags = TcpFlags(0x01);
    pub const SYN: TcpFlags = TcpFlags(0x02);
    pub const RST: TcpFlags = TcpFlags(0x04);
    pub const PSH: TcpFlags = TcpFlags(0x08);
    pub const ACK: TcpFlags = TcpFlags(0x10);
    pub const URG: TcpFlags = TcpFlags(0x20);
    pub const ECE: TcpFlags = TcpFlags(0x40);
    pub const CWR: TcpFlags = TcpFlags(0x80);

    /// True when every bit of `other` is set.
    #[inline]
    pub fn contains(self, other: TcpFlags) -> bool {
        self.0 & other.0 == other.0
    }
    #[inline]
    pub fn fin(self) -> bool {
        self.contains(Self::FIN)
    }
    #[inline]
    pub fn syn(self) -> bool {
        self.contains(Self::SYN)
    }
    #[inline]
    pub fn rst(self) -> bool {
        self.contains(Self::RST)
    }
    #[inline]
    pub fn psh(self) -> bool {
        self.contains(Self::PSH)
    }
    #[inline]
    pub fn ack(self) -> bool {
        self.contains(Self::ACK)
    }
    #[inline]
    pub fn urg(self) -> bool {
        self.contains(Self::URG)
    }
}

impl BitOr for TcpFlags {
    type Output = TcpFlags;
    #[inline]
    fn bitor(self, rhs: TcpFlags) -> TcpFlags {
        TcpFlags(self.0 | rhs.0)
    }
}

impl BitOrAssign for TcpFlags {
    #[inline]
    fn bitor_assign(&mut self, rhs: TcpFlags) {
        self.0 |= rhs.0;
    }
}

impl fmt::Debug for TcpFlags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const NAMES: [&str; 8] = ["FIN", "SYN", "RST", "PSH", "ACK", "URG", "ECE", "CWR"];
        let mut first = true;
        for (i, name) in NAMES.iter().enumerate() {
            if self.0 & (1 << i) != 0 {
                if !first {
                    f.write_str("|")?;
                }
                f.write_str(name)?;
                first = false;
            }
        }
        if first {
            f.write_str("-")?;
        }
        Ok(())
    }
}

/// The options synwave understands. Others are skipped by their length.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct TcpOptions {
    /// Maximum segment size (RFC 9293 §3.7.1), kind 2.
    pub mss: Option<u16>,
    /// Window scale shift (RFC 7323 §2), kind 3.
    pub window_scale: Option<u8>,
    /// SACK permitted (RFC 2018), kind 4.
    pub sack_permitted: bool,
    /// (TSval, TSecr) (RFC 7323 §3), kind 8.
    pub timestamps: Option<(u32, u32)>,
    /// SACK blocks (RFC 2018 §3), kind 5: never on a SYN.
    pub sack: SackBlocks,
}

/// Up to four SACK blocks (RFC 2018 §3): each the left edge (first
/// sequence number) and right edge (the one after the last) of a block of
/// data the receiver holds above its RCV.NXT. Four is all 40 bytes of
/// option space hold; three with timestamps.
// The blocks in an `Option` whose niche is the count: an empty list,
// nearly every segment's, is then its one count byte to write, not the
// 32 bytes of blocks besides, wherever options are built or copied.
#[derive(Copy, Clone, Default)]
pub struct SackBlocks(Option<Held>);

/// A list of at least one block; those past `len` mean nothing.
#[derive(Copy, Clone)]
struct Held {
    blocks: [(SeqNumber, SeqNumber); SackBlocks::MAX],
    len: NonZeroU8,
}

impl PartialEq for SackBlocks {
    fn eq(&self, other: &Self) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl Eq for SackBlocks {}

impl fmt::Debug for SackBlocks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.as_slice()).finish()
    }
}

impl SackBlocks {
    /// Blocks that fit in a header at all.
    pub const MAX: usize = 4;

    /// Adds a block; one beyond [`SackBlocks::MAX`] is ignored.
    #[inline]
    pub fn push(&mut self, left: SeqNumber, right: SeqNumber) {
        match &mut self.0 {
            None => {
                self.0 = Some(Held {
                    blocks: [(left, right); Self::MAX],
                    len: NonZeroU8::MIN,
                })
            }
            Some(h) => {
                if let Some(slot) = h.blocks.get_mut(usize::from(h.len.get())) {
                    *slot = (left, right);
                    h.len = h.len.saturating_add(1);
                }
            }
        }
    }

    /// The blocks, first the one reported first.
    #[inline]
    pub fn as_slice(&self) -> &[(SeqNumber, SeqNumber)] {
        match &self.0 {
            Some(h) => &h.blocks[..usize::from(h.len.get())],
            None => &[],
        }
    }

    #[inline]
    pub fn len(&self) -> usize {
        self.0.as_ref().map_or(0, |h| usize::from(h.len.get()))
    }

    #[inline]
    pub fn is_empty(&self) -> bool {
        self.0.is_none()
    }

    /// Keeps the first `n` blocks.
    #[inline]
    pub fn truncate(&mut self, n: usize) {
        if let Some(h) = &mut self.0 {
            match NonZeroU8::new(h.len.get().min(u8::try_from(n).unwrap_or(u8::MAX))) {
                Some(len) => h.len = len,
                None => self.0 = None,
            }
        }
    }

    /// Bytes the option takes, aligned by two NOPs as Linux lays it out.
    #[inline]
    fn emitted_len(&self) -> usize {
        if self.is_empty() {
            0
        } else {
            4 + 8 * self.len()
        }
    }
}

mod kind {
    pub const EOL: u8 = 0;
    pub const NOP: u8 = 1;
    pub const MSS: u8 = 2;
    pub const WS: u8 = 3;
    pub const SACK_PERMITTED: u8 = 4;
    pub const SACK: u8 = 5;
    pub const TIMESTAMPS: u8 = 8;
}

impl TcpOptions {
    /// Parses the option bytes of a header (RFC 9293 §3.2): EOL ends the
    /// list, NOP is one byte, everything else is kind-length-value.
    #[inline]
    pub fn parse(bytes: &[u8]) -> Result<Self, Error> {
        match Self::parse_aligned(bytes) {
            Some(o) => Ok(o),
            None => Self::parse_list(bytes),
        }
    }

    /// `parse` for the layouts nearly every segment has, read at fixed
    /// offsets, and None for any other (for `parse_list` to walk): no
    /// options at all; timestamps alone, laid out NOP NOP TS as RFC 7323 Appendix
    /// A recommends and as Linux and we send them (read at once, as
    /// Linux's tcp_parse_aligned_timestamp does); or a SYN's MSS,
    /// SACK-permitted with timestamps, NOP and window scale, as Linux and
    /// we lay it out. Each is told by its length and one or two compares
    /// of its kind and length bytes, which leave no byte of it unread
    /// but the values. The options come out as scalars built in one
    /// place, so that inlined, they go straight to where the caller keeps
    /// them.
    #[inline(always)]
    pub(crate) fn parse_aligned(bytes: &[u8]) -> Option<Self> {
        let (timestamps, syn) = if bytes.is_empty() {
            (None, None)
        } else if let Ok(&[k0, k1, k2, k3, a, b, c, d, e, f, g, h]) = <&[u8; 12]>::try_from(bytes) {
            if u32::from_be_bytes([k0, k1, k2, k3]) != Self::NOP_NOP_TS {
                return None;
            }
            let ts = (
                u32::from_be_bytes([a, b, c, d]),
                u32::from_be_bytes([e, f, g, h]),
            );
            (Some(ts), None)
        } else if let Ok(
            &[k0, k1, m0, m1, k4, k5, k6, k7, a, b, c, d, e, f, g, h, k16, k17, k18, ws],
        ) = <&[u8; 20]>::try_from(bytes)
        {
            let head = u64::from_be_bytes([k0, k1, m0, m1, k4, k5, k6, k7]);
            let tail = u32::from_be_bytes([k16, k17, k18, ws]);
            if head & Self::SYN_HEAD_MASK != Self::SYN_HEAD || tail & !0xff != Self::SYN_TAIL {
                return None;
            }
            let ts = (
                u32::from_be_bytes([a, b, c, d]),
                u32::from_be_bytes([e, f, g, h]),
            );
            (Some(ts), Some((u16::from_be_bytes([m0, m1]), ws)))
        } else {
            return None;
        };
        Some(TcpOptions {
            mss: syn.map(|(mss, _)| mss),
            window_scale: syn.map(|(_, ws)| ws),
            sack_permitted: syn.is_some(),
            timestamps,
            sack: SackBlocks::default(),
        })
    }

    /// NOP, NOP, then the timestamps' kind and length (RFC 7323 Appendix A).
    const NOP_NOP_TS: u32 = u32::from_be_bytes([kind::NOP, kind::NOP, kind::TIMESTAMPS, 10]);

    /// A SYN's first eight option bytes, the MSS value masked out: MSS and
    /// its length, SACK-permitted and its, the timestamps' kind and length.
    const SYN_HEAD: u64 = u64::from_be_bytes([
        kind::MSS,
        4,
        0,
        0,
        kind::SACK_PERMITTED,
        2,
        kind::TIMESTAMPS,
        10,
    ]);
    const SYN_HEAD_MASK: u64 = 0xffff_0000_ffff_ffff;

    /// A SYN's last four option bytes, the shift masked out: NOP, window
    /// scale and its length.
    const SYN_TAIL: u32 = u32::from_be_bytes([kind::NOP, kind::WS, 3, 0]);

    /// The general walk of `parse`.
    fn parse_list(mut bytes: &[u8]) -> Result<Self, Error> {
        let mut o = TcpOptions::default();
        while let [k, rest @ ..] = bytes {
            match *k {
                kind::EOL => break,
                kind::NOP => {
                    bytes = rest;
                    continue;
                }
                _ => {}
            }
            let len = usize::from(*rest.first().ok_or(Error::BadOption)?);
            if len < 2 || len > bytes.len() {
                return Err(Error::BadOption);
            }
            let value = &bytes[2..len];
            match (*k, value) {
                (kind::MSS, &[a, b]) => o.mss = Some(u16::from_be_bytes([a, b])),
                (kind::WS, &[s]) => o.window_scale = Some(s),
                (kind::SACK_PERMITTED, &[]) => o.sack_permitted = true,
                // RFC 2018 §3: 8 bytes a block. A malformed list is
                // ignored, not fatal: SACK is advisory (§8), and the rest
                // of the segment is still good.
                (kind::SACK, v) if !v.is_empty() && v.len() % 8 == 0 => {
                    o.sack = SackBlocks::default();
                    for b in v.chunks_exact(8) {
                        o.sack.push(
                            SeqNumber(u32::from_be_bytes([b[0], b[1], b[2], b[3]])),
                            SeqNumber(u32::from_be_bytes([b[4], b[5], b[6], b[7]])),
                        );
                    }
                }
                (kind::TIMESTAMPS, &[a, b, c, d, e, f, g, h]) => {
                    o.timestamps = Some((
                        u32::from_be_bytes([a, b, c, d]),
                        u32::from_be_bytes([e, f, g, h]),
                    ))
                }
                (kind::MSS | kind::WS | kind::SACK_PERMITTED | kind::TIMESTAMPS, _) => {
                    return Err(Error::BadOption)
                }
                _ => {}
            }
            bytes = &bytes[len..];
        }
        Ok(o)
    }

    /// Bytes `emit` writes, a multiple of 4.
    #[inline]
    pub fn len(&self) -> usize {
        let mut n = 0;
        if self.mss.is_some() {
            n += 4;
        }
        if self.timestamps.is_some() {
            n += 12;
        } else if self.sack_permitted {
            n += 4;
        }
        if self.window_scale.is_some() {
            n += 4;
        }
        n + self.sack.emitted_len()
    }

    /// True when no option is set.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The bytes `emit` writes for timestamps alone: NOP NOP TS
    /// (RFC 7323 Appendix A).
    #[inline]
    pub fn ts_bytes(ts_val: u32, ts_ecr: u32) -> [u8; 12] {
        let [a, b, c, d] = ts_val.to_be_bytes();
        let [e, f, g, h] = ts_ecr.to_be_bytes();
        [
            kind::NOP,
            kind::NOP,
            kind::TIMESTAMPS,
            10,
            a,
            b,
            c,
            d,
            e,
            f,
            g,
            h,
        ]
    }

    /// The bytes `emit` writes for a SYN with MSS, SACK-permitted,
    /// timestamps and window scale.
    #[inline]
    pub fn syn_bytes(mss: u16, ts_val: u32, ts_ecr: u32, window_scale: u8) -> [u8; 20] {
        let [m0, m1] = mss.to_be_bytes();
        let [a, b, c, d] = ts_val.to_be_bytes();
        let [e, f, g, h] = ts_ecr.to_be_bytes();
        [
            kind::MSS,
            4,
            m0,
            m1,
            kind::SACK_PERMITTED,
            2,
            kind::TIMESTAMPS,
            10,
            a,
            b,
            c,
            d,
            e,
            f,
            g,
            h,
            kind::NOP,
            kind::WS,
            3,
            window_scale,
        ]
    }

    /// Writes the options, each 4-byte aligned as Linux lays them out: MSS;
    /// SACK-permitted with timestamps (or NOPs in its place); NOP and window
    /// scale. Returns the bytes written.
    #[inline]
    pub fn emit(&self, buf: &mut [u8]) -> usize {
        let mut at = 0;
        if let Some(mss) = self.mss {
            buf[at..at + 2].copy_from_slice(&[kind::MSS, 4]);
            buf[at + 2..at + 4].copy_from_slice(&mss.to_be_bytes());
            at += 4;
        }
        if let Some((tsval, tsecr)) = self.timestamps {
            if self.sack_permitted {
                buf[at..at + 2].copy_from_slice(&[kind::SACK_PERMITTED, 2]);
            } else {
                buf[at..at + 2].copy_from_slice(&[kind::NOP, kind::NOP]);
            }
            buf[at + 2..at + 4].copy_from_slice(&[kind::TIMESTAMPS, 10]);
            buf[at + 4..at + 8].copy_from_slice(&tsval.to_be_bytes());
            buf[at + 8..at + 12].copy_from_slice(&tsecr.to_be_bytes());
            at += 12;
        } else if self.sack_permitted {
            buf[at..at + 4].copy_from_slice(&[kind::NOP, kind::NOP, kind::SACK_PERMITTED, 2]);
            at += 4;
        }
        if let Some(ws) = self.window_scale {
            buf[at..at + 4].copy_from_slice(&[kind::NOP, kind::WS, 3, ws]);
            at += 4;
        }
        if !self.sack.is_empty() {
            let len = self.sack.emitted_len();
            buf[at..at + 4].copy_from_slice(&[kind::NOP, kind::NOP, kind::SACK, len as u8 - 2]);
            at += 4;
            for (left, right) in self.sack.as_slice() {
                buf[at..at + 4].copy_from_slice(&left.0.to_be_bytes());
                buf[at + 4..at + 8].copy_from_slice(&right.0.to_be_bytes());
                at += 8;
            }
        }
        at
    }
}

mod field {
    use core::ops::Range;
    pub const SRC_PORT: Range<usize> = 0..2;
    pub const DST_PORT: Range<usize> = 2..4;
    pub const SEQ: Range<usize> = 4..8;
    pub const ACK: Range<usize> = 8..12;
    pub const OFFSET: usize = 12;
    pub const FLAGS: usize = 13;
    pub const WINDOW: Range<usize> = 14..16;
    pub const CHECKSUM: Range<usize> = 16..18;
    pub const URGENT: Range<usize> = 18..20;
}

/// A view over a TCP segment whose data offset has been checked.
#[derive(Debug, Clone)]
pub struct TcpSegment<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> TcpSegment<T> {
    /// Header length without options.
    pub const MIN_HEADER_LEN: usize = 20;

    /// Wraps without checking; accessors may panic on a short buffer.
    pub fn new_unchecked(buffer: T) -> Self {
        TcpSegment { buffer }
    }

    /// Wraps after checking the fixed header fits and the data offset is
    /// within 5 words and the segment (RFC 9293 §3.1).
    #[inline]
    pub fn new_checked(buffer: T) -> Result<Self, Error> {
        let len = buffer.as_ref().len();
        if len < Self::MIN_HEADER_LEN {
            return Err(Error::Truncated);
        }
        let s = TcpSegment { buffer };
        let h = s.header_len();
        if h < Self::MIN_HEADER_LEN || h > len {
            return Err(Error::BadDataOffset);
        }
        Ok(s)
    }

    #[inline]
    fn u16_at(&self, r: core::ops::Range<usize>) -> u16 {
        let b = &self.buffer.as_ref()[r];
        u16::from_be_bytes([b[0], b[1]])
    }

    #[inline]
    fn u32_at(&self, r: core::ops::Range<usize>) -> u32 {
        let b = &self.buffer.as_ref()[r];
        u32::from_be_bytes([b[0], b[1], b[2], b[3]])
    }

    #[inline]
    pub fn src_port(&self) -> u16 {
        self.u16_at(field::SRC_PORT)
    }
    #[inline]
    pub fn dst_port(&self) -> u16 {
        self.u16_at(field::DST_PORT)
    }
    #[inline]
    pub fn seq_number(&self) -> SeqNumber {
        SeqNumber(self.u32_at(field::SEQ))
    }
    #[inline]
    pub fn ack_number(&self) -> SeqNumber {
        SeqNumber(self.u32_at(field::ACK))
    }
    /// Data offset in 32-bit words.
    #[inline]
    pub fn data_offset(&self) -> u8 {
        self.buffer.as_ref()[field::OFFSET] >> 4
    }
    /// Header length in bytes, options included.
    #[inline]
    pub fn header_len(&self) -> usize {
        usize::from(self.data_offset()) * 4
    }
    #[inline]
    pub fn flags(&self) -> TcpFlags {
        TcpFlags(self.buffer.as_ref()[field::FLAGS])
    }
    #[inline]
    pub fn window_len(&self) -> u16 {
        self.u16_at(field::WINDOW)
    }
    #[inline]
    pub fn checksum(&self) -> u16 {
        self.u16_at(field::CHECKSUM)
    }
    #[inline]
    pub fn urgent_at(&self) -> u16 {
        self.u16_at(field::URGENT)
    }
    /// The option bytes.
    #[inline]
    pub fn options(&self) -> &[u8] {
        &self.buffer.as_ref()[Self::MIN_HEADER_LEN..self.header_len()]
    }
    /// The segment text.
    #[inline]
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[self.header_len()..]
    }

    /// True when the checksum over pseudo-header and segment is right.
    #[inline]
    pub fn verify_checksum(&self, src: Ipv4Addr, dst: Ipv4Addr) -> bool {
        let b = self.buffer.as_ref();
        let Ok(len) = u16::try_from(b.len()) else {
            return false;
        };
        let s = checksum::pseudo_header(src, dst, 6, len) + checksum::sum(b);
        checksum::fold(s) == 0xffff
    }
}

/// A TCP segment as plain data, its text borrowed.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct TcpRepr<'a> {
    pub src_port: u16,
    pub dst_port: u16,
    pub seq: SeqNumber,
    pub ack: SeqNumber,
    pub flags: TcpFlags,
    pub window: u16,
    pub urgent: u16,
    pub options: TcpOptions,
    pub payload: &'a [u8],
}

impl<'a> TcpRepr<'a> {
    /// Reads a checked segment carried from `src` to `dst`.
    #[inline]
    pub fn parse(
        seg: &TcpSegment<&'a [u8]>,
        src: Ipv4Addr,
        dst: Ipv4Addr,
        verify_checksum: bool,
    ) -> Result<Self, Error> {
        if verify_checksum && !seg.verify_checksum(src, dst) {
            return Err(Error::BadChecksum);
        }
        let buffer: &'a [u8] = seg.buffer;
        let header_len = seg.header_len();
        Ok(TcpRepr {
            src_port: seg.src_port(),
            dst_port: seg.dst_port(),
            seq: seg.seq_number(),
            ack: seg.ack_number(),
            flags: seg.flags(),
            window: seg.window_len(),
            urgent: seg.urgent_at(),
            options: TcpOptions::parse(seg.options())?,
            payload: &buffer[header_len..],
        })
    }

    /// Header length with the options `emit` writes.
    #[inline]
    pub fn header_len(&self) -> usize {
        20 + self.options.len()
    }

    /// Header plus text.
    #[inline]
    pub fn buffer_len(&self) -> usize {
        self.header_len() + self.payload.len()
    }

    /// SEG.LEN (RFC 9293 §3.4): text plus one for SYN and one for FIN.
    #[inline]
    pub fn seg_len(&self) -> u32 {
        self.payload.len() as u32 + u32::from(self.flags.syn()) + u32::from(self.flags.fin())
    }

    /// Writes header, options, text and checksum; returns `buffer_len()`.
    ///
    /// # Panics
    /// If `buf` is shorter than `buffer_len()` — the caller sizes it; this is
    /// never wire input.
    #[inline]
    pub fn emit(&self, buf: &mut [u8], src: Ipv4Addr, dst: Ipv4Addr) -> usize {
        let header_len = self.header_len();
        let total = header_len + self.payload.len();
        let b = &mut buf[..total];
        // The fixed header is built in place of fixed size, then copied
        // whole: one bounds check rather than one per field.
        let mut h = [0u8; 20];
        h[field::SRC_PORT].copy_from_slice(&self.src_port.to_be_bytes());
        h[field::DST_PORT].copy_from_slice(&self.dst_port.to_be_bytes());
        h[field::SEQ].copy_from_slice(&self.seq.0.to_be_bytes());
        h[field::ACK].copy_from_slice(&self.ack.0.to_be_bytes());
        h[field::OFFSET] = ((header_len / 4) as u8) << 4;
        h[field::FLAGS] = self.flags.0;
        h[field::WINDOW].copy_from_slice(&self.window.to_be_bytes());
        h[field::URGENT].copy_from_slice(&self.urgent.to_be_bytes());
        b[..20].copy_from_slice(&h);
        let (options, text) = b[20..].split_at_mut(header_len - 20);
        self.options.emit(options);
        text.copy_from_slice(self.payload);
        let s = checksum::pseudo_header(src, dst, 6, total as u16) + checksum::sum(b);
        b[field::CHECKSUM].copy_from_slice(&checksum::finish(s).to_be_bytes());
        total
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A Linux SYN from 10.0.0.1:41684 to 10.0.0.2:80: MSS 1460,
    /// SACK-permitted, timestamps, NOP, window scale 7. Its checksum 0x38fa
    /// was computed independently of this crate (RFC 1071, by hand in Python).
    const LINUX_SYN: [u8; 40] = [
        0xa2, 0xd4, 0x00, 0x50, 0x6e, 0xe1, 0xa3, 0xb1, 0x00, 0x00, 0x00, 0x00, 0xa0, 0x02, 0xfa,
        0xf0, 0x38, 0xfa, 0x00, 0x00, 0x02, 0x04, 0x05, 0xb4, 0x04, 0x02, 0x08, 0x0a, 0x00, 0x1f,
        0x4a, 0x3c, 0x00, 0x00, 0x00, 0x00, 0x01, 0x03, 0x03, 0x07,
    ];
    const SRC: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
    const DST: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);

    #[test]
    fn rfc9293_3_1_linux_syn_parses_with_all_options() {
        let seg = TcpSegment::new_checked(&LINUX_SYN[..]).unwrap();
        assert!(seg.verify_checksum(SRC, DST));
        let r = TcpRepr::parse(&seg, SRC, DST, true).unwrap();
        assert_eq!((r.src_port, r.dst_port), (41684, 80));
        assert_eq!(r.seq, SeqNumber(0x6ee1_a3b1));
        assert_eq!(r.flags, TcpFlags::SYN);
        assert_eq!(r.window, 64240);
        assert_eq!(
            r.options,
            TcpOptions {
                mss: Some(1460),
                window_scale: Some(7),
                sack_permitted: true,
                timestamps: Some((0x001f_4a3c, 0)),
                ..Default::default()
            }
        );
        assert_eq!(r.seg_len(), 1);
        // Emitting it again gives Linux's bytes, checksum included.
        let mut out = [0u8; 40];
        assert_eq!(r.emit(&mut out, SRC, DST), 40);
        assert_eq!(out, LINUX_SYN);
    }

    #[test]
    fn rfc9293_3_1_data_offset_below_5_or_past_the_end_is_rejected() {
        let mut b = LINUX_SYN.to_vec();
        b[12] = 0x40;
        assert_eq!(
            TcpSegment::new_checked(&b[..]).unwrap_err(),
            Error::BadDataOffset
        );
        b[12] = 0xf0;
        assert_eq!(
            TcpSegment::new_checked(&b[..]).unwrap_err(),
            Error::BadDataOffset
        );
        assert_eq!(
            TcpSegment::new_checked(&b[..19]).unwrap_err(),
            Error::Truncated
        );
    }

    #[test]
    fn rfc9293_3_1_bad_checksum_is_rejected() {
        let mut b = LINUX_SYN.to_vec();
        b[30] ^= 1;
        let seg = TcpSegment::new_checked(&b[..]).unwrap();
        assert_eq!(
            TcpRepr::parse(&seg, SRC, DST, true).unwrap_err(),
            Error::BadChecksum
        );
        assert!(TcpRepr::parse(&seg, SRC, DST, false).is_ok());
    }

    #[test]
    fn rfc9293_3_2_option_length_zero_one_or_past_header_is_rejected() {
        assert_eq!(
            TcpOptions::parse(&[2, 0, 0, 0]).unwrap_err(),
            Error::BadOption
        );
        assert_eq!(
            TcpOptions::parse(&[30, 1, 0, 0]).unwrap_err(),
            Error::BadOption
        );
        assert_eq!(
            TcpOptions::parse(&[30, 9, 0, 0]).unwrap_err(),
            Error::BadOption
        );
        assert_eq!(TcpOptions::parse(&[2]).unwrap_err(), Error::BadOption);
        // A known option with the wrong length.
        assert_eq!(
            TcpOptions::parse(&[2, 3, 5, 1]).unwrap_err(),
            Error::BadOption
        );
    }

    #[test]
    fn rfc9293_3_2_unknown_options_are_skipped_and_eol_ends_the_list() {
        let o = TcpOptions::parse(&[30, 4, 9, 9, 1, 3, 3, 2, 0, 2, 4, 5]).unwrap();
        assert_eq!(o.window_scale, Some(2));
        assert_eq!(o.mss, None, "parsed past EOL");
    }

    #[test]
    fn rfc7323_options_round_trip_in_every_combination() {
        for mask in 0..16u8 {
            let o = TcpOptions {
                mss: (mask & 1 != 0).then_some(1200),
                window_scale: (mask & 2 != 0).then_some(9),
                sack_permitted: mask & 4 != 0,
                timestamps: (mask & 8 != 0).then_some((1, 2)),
                sack: SackBlocks::default(),
            };
            let mut buf = [0u8; 40];
            let n = o.emit(&mut buf);
            assert_eq!(n, o.len());
            assert_eq!(n % 4, 0);
            assert_eq!(TcpOptions::parse(&buf[..n]).unwrap(), o);
        }
    }

    #[test]
    fn rfc2018_3_sack_blocks_round_trip_with_timestamps() {
        for n in 1..=3u32 {
            let mut o = TcpOptions {
                timestamps: Some((7, 8)),
                ..TcpOptions::default()
            };
            for i in 0..n {
                o.sack.push(SeqNumber(1000 * i), SeqNumber(1000 * i + 500));
            }
            let mut buf = [0u8; 40];
            let len = o.emit(&mut buf);
            assert_eq!(len, o.len());
            assert_eq!(len, 12 + 4 + 8 * n as usize);
            assert_eq!(TcpOptions::parse(&buf[..len]).unwrap(), o);
        }
    }

    #[test]
    fn rfc2018_3_a_list_holds_four_blocks_and_truncates_to_empty() {
        let mut s = SackBlocks::default();
        for i in 0..5u32 {
            s.push(SeqNumber(10 * i), SeqNumber(10 * i + 5));
        }
        assert_eq!(s.len(), SackBlocks::MAX, "a fifth block is ignored");
        assert_eq!(s.as_slice()[3], (SeqNumber(30), SeqNumber(35)));
        s.truncate(256);
        assert_eq!(s.len(), SackBlocks::MAX, "a count past 255 is no wrap to 0");
        s.truncate(2);
        assert_eq!(s.as_slice()[1], (SeqNumber(10), SeqNumber(15)));
        assert_eq!(s.len(), 2);
        s.truncate(0);
        assert!(s.is_empty());
        assert_eq!(s, SackBlocks::default());
        s.push(SeqNumber(7), SeqNumber(9));
        assert_eq!(s.as_slice(), &[(SeqNumber(7), SeqNumber(9))]);
    }

    #[test]
    fn rfc2018_3_a_malformed_sack_option_is_ignored() {
        let o = TcpOptions::parse(&[5, 7, 0, 0, 0, 0, 0, 1, 1]).unwrap();
        assert!(o.sack.is_empty());
    }

    #[test]
    fn flags_print_by_name() {
        assert_eq!(format!("{:?}", TcpFlags::SYN | TcpFlags::ACK), "SYN|ACK");
        assert_eq!(format!("{:?}", TcpFlags::default()), "-");
    }

    proptest::proptest! {
        /// RFC 9293 §3.2, RFC 7323 Appendix A: the two layouts read at
        /// once (timestamps alone; a SYN's MSS, SACK-permitted,
        /// timestamps and window scale) come out as the general walk
        /// reads them, as does every other set of options emitted.
        #[test]
        fn fixed_layouts_parse_as_the_walk_does(
            mss in proptest::option::of(proptest::prelude::any::<u16>()),
            ws in proptest::option::of(0u8..15),
            sack_permitted in proptest::prelude::any::<bool>(),
            ts in proptest::option::of(proptest::prelude::any::<(u32, u32)>()),
        ) {
            let o = TcpOptions { mss, window_scale: ws, sack_permitted, timestamps: ts, ..TcpOptions::default() };
            let mut buf = [0u8; 40];
            let len = o.emit(&mut buf);
            let walked = TcpOptions::parse_list(&buf[..len]);
            proptest::prop_assert_eq!(TcpOptions::parse(&buf[..len]), walked);
            proptest::prop_assert_eq!(walked, Ok(o));
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(3000))]

        /// RFC 9293 §3.2: the fixed-offset read takes only option bytes
        /// the walk reads alike, for any bytes: the two layouts it knows
        /// with any values, then any byte of them changed, the list cut or
        /// lengthened, and bytes at random.
        #[test]
        fn aligned_parse_agrees_with_the_walk_on_any_bytes(
            layout in 0u8..3,
            values in proptest::prelude::any::<(u16, u32, u32, u8)>(),
            random in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..40),
            changes in proptest::collection::vec((0usize..40, proptest::prelude::any::<u8>()), 0..3),
            len in proptest::option::of(0usize..40),
        ) {
            let (mss, ts_val, ts_ecr, ws) = values;
            let mut bytes = match layout {
                0 => TcpOptions::ts_bytes(ts_val, ts_ecr).to_vec(),
                1 => TcpOptions::syn_bytes(mss, ts_val, ts_ecr, ws).to_vec(),
                _ => random.clone(),
            };
            if let Some(len) = len {
                bytes.resize(len, kind::NOP);
            }
            if !bytes.is_empty() {
                for &(at, value) in &changes {
                    let n = bytes.len();
                    bytes[at % n] = value;
                }
            }
            let walked = TcpOptions::parse_list(&bytes);
            if let Some(o) = TcpOptions::parse_aligned(&bytes) {
                proptest::prop_assert_eq!(Ok(o), walked);
            }
            proptest::prop_assert_eq!(TcpOptions::parse(&bytes), walked);
        }
    }
}
