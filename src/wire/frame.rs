//! Whole frames: Ethernet II carrying IPv4 carrying TCP, parsed and emitted in
//! one pass — the unit the engine and the AF_XDP rings trade in.

use super::{
    checksum, Error, EtherType, EthernetFrame, EthernetRepr, Ipv4Packet, Ipv4Repr, MacAddr,
    SeqNumber, TcpFlags, TcpOptions, TcpRepr, TcpSegment,
};
use std::net::Ipv4Addr;

/// A parsed TCP/IPv4/Ethernet frame; the TCP text borrows the frame.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct TcpFrame<'a> {
    pub eth: EthernetRepr,
    pub ip: Ipv4Repr,
    pub tcp: TcpRepr<'a>,
}

/// Room for the largest headers `emit_tcp_frame` writes, with slack for any options.
pub const TCP_FRAME_MAX_HEADER: usize = EthernetRepr::HEADER_LEN + Ipv4Repr::HEADER_LEN + 60;

/// Parses Ethernet II → IPv4 → TCP; the TCP segment is exactly the IPv4
/// payload (Ethernet padding is ignored).
#[inline]
pub fn parse_tcp_frame(frame: &[u8], verify_checksums: bool) -> Result<TcpFrame<'_>, Error> {
    match parse_plain(frame, verify_checksums) {
        Some(f) => Ok(f),
        None => parse_any(frame, verify_checksums),
    }
}

/// Ethernet, IPv4 and TCP headers without IP options: the frame nearly
/// every one is.
const PLAIN: usize = EthernetRepr::HEADER_LEN + Ipv4Repr::HEADER_LEN + 20;

/// Where the TCP header starts in a plain frame.
const TCP_AT: usize = EthernetRepr::HEADER_LEN + Ipv4Repr::HEADER_LEN;

/// The frame nearly every one is — IPv4 without options, not a fragment,
/// TCP, lengths consistent, checksums right, TCP options in one of the
/// layouts `TcpOptions::parse_aligned` reads — read from fixed offsets
/// after one length check. Anything else is None, and `parse_tcp_frame`
/// judges it (and names what is wrong), so both accept the same frames
/// alike. Inlined whole, for a receive path that handles the frame it
/// returns apart from what `parse_tcp_frame` returns: the fields then go
/// from the frame straight to where the caller keeps them, never through
/// a `Result` in memory (some 140 bytes written and read back a frame).
#[inline(always)]
pub(crate) fn parse_plain(frame: &[u8], verify_checksums: bool) -> Option<TcpFrame<'_>> {
    let (h, segment, options, text) = plain_headers(frame, verify_checksums)?;
    let options = TcpOptions::parse_aligned(options)?;
    Some(read_plain(h, segment.len(), options, text))
}

/// The addresses and ports (source, destination) where a plain frame has
/// them, read before the frame is parsed, or None for a frame too short
/// to hold them. For a frame [`parse_plain`] takes they are the ones it
/// reads; for any other they mean nothing.
#[inline(always)]
pub(crate) fn plain_endpoints(frame: &[u8]) -> Option<(Ipv4Addr, Ipv4Addr, u16, u16)> {
    let h: &[u8; TCP_AT + 4] = frame.get(..TCP_AT + 4)?.try_into().ok()?;
    Some((
        Ipv4Addr::new(h[26], h[27], h[28], h[29]),
        Ipv4Addr::new(h[30], h[31], h[32], h[33]),
        u16::from_be_bytes([h[TCP_AT], h[TCP_AT + 1]]),
        u16::from_be_bytes([h[TCP_AT + 2], h[TCP_AT + 3]]),
    ))
}

/// A plain frame's fixed headers, its TCP segment, and the segment's
/// option bytes and text.
type Plain<'a> = (&'a [u8; PLAIN], &'a [u8], &'a [u8], &'a [u8]);

/// The checks of a plain frame but its options'.
#[inline(always)]
fn plain_headers(frame: &[u8], verify_checksums: bool) -> Option<Plain<'_>> {
    let h: &[u8; PLAIN] = frame.get(..PLAIN)?.try_into().ok()?;
    // EtherType IPv4; version 4 with a 20-byte header; TCP; neither MF
    // nor a fragment offset.
    if h[12..14] != [0x08, 0x00] || h[14] != 0x45 || h[23] != Ipv4Repr::PROTO_TCP {
        return None;
    }
    if u16::from_be_bytes([h[20], h[21]]) & 0x3fff != 0 {
        return None;
    }
    let ip_len = usize::from(u16::from_be_bytes([h[16], h[17]]));
    let segment = frame.get(TCP_AT..EthernetRepr::HEADER_LEN + ip_len)?;
    let tcp_header = usize::from(h[TCP_AT + 12] >> 4) * 4;
    if tcp_header < 20 || tcp_header > segment.len() {
        return None;
    }
    // Split at the header's end, then its options from its 20 bytes: the
    // option start is then known in bounds, where slicing the segment at
    // 20 first would test its length once more.
    let (header, text) = segment.split_at(tcp_header);
    let options = &header[20..];
    if verify_checksums {
        // The fixed headers' words in native order, which the
        // ones'-complement sum allows (RFC 1071 §2(B)): a right sum is
        // all ones in either order, so no word is swapped. 64-bit words,
        // end-around carried, add as their 16-bit words do (§2(C)).
        let word =
            |at: usize| u64::from(u32::from_ne_bytes([h[at], h[at + 1], h[at + 2], h[at + 3]]));
        let wide = |at: usize| {
            u64::from_ne_bytes([
                h[at],
                h[at + 1],
                h[at + 2],
                h[at + 3],
                h[at + 4],
                h[at + 5],
                h[at + 6],
                h[at + 7],
            ])
        };
        // The addresses are in both sums: the IP header's and the
        // pseudo-header's (RFC 9293 §3.1).
        let addrs = wide(26);
        let ip = checksum::add_word(checksum::add_word(addrs, wide(14)), word(22));
        // The pseudo-header's protocol and TCP length words, as they
        // would lie in memory; the IP payload is under 2^16 bytes.
        let proto_len = u64::from(u16::from_ne_bytes([0, Ipv4Repr::PROTO_TCP]))
            + u64::from(u16::from_ne_bytes((segment.len() as u16).to_be_bytes()));
        // The fixed TCP header from the words at hand, then options and
        // text, all in native order.
        let tcp = checksum::add_word(addrs, proto_len + word(TCP_AT + 16));
        let tcp = checksum::add_word(tcp, wide(TCP_AT));
        let tcp = checksum::add_word(tcp, wide(TCP_AT + 8));
        // The options of nearly every segment, timestamps alone or a
        // SYN's four, summed at a length known here: straight-line code,
        // no loop.
        let tcp = if let Ok(o) = <&[u8; 12]>::try_from(options) {
            checksum::add_native(tcp, o)
        } else if let Ok(o) = <&[u8; 20]>::try_from(options) {
            checksum::add_native(tcp, o)
        } else {
            checksum::add_native(tcp, options)
        };
        let tcp = if text.is_empty() {
            tcp
        } else {
            checksum::add_native(tcp, text)
        };
        if !checksum::both_fold_to_all_ones(ip, tcp) {
            return None;
        }
    }
    Some((h, segment, options, text))
}

/// A plain frame's fields, from fixed offsets.
#[inline(always)]
fn read_plain<'a>(
    h: &[u8; PLAIN],
    segment_len: usize,
    options: TcpOptions,
    text: &'a [u8],
) -> TcpFrame<'a> {
    let be16 = |at: usize| u16::from_be_bytes([h[TCP_AT + at], h[TCP_AT + at + 1]]);
    let be32 = |at: usize| {
        u32::from_be_bytes([
            h[TCP_AT + at],
            h[TCP_AT + at + 1],
            h[TCP_AT + at + 2],
            h[TCP_AT + at + 3],
        ])
    };
    // Copied as six bytes, not gathered byte by byte: LLVM then moves
    // them as the copy's two words rather than shifting one 48-bit value.
    let mac = |at: usize| {
        let mut m = [0; 6];
        m.copy_from_slice(&h[at..at + 6]);
        MacAddr(m)
    };
    TcpFrame {
        eth: EthernetRepr {
            dst: mac(0),
            src: mac(6),
            ethertype: EtherType::IPV4,
        },
        ip: Ipv4Repr {
            src: Ipv4Addr::new(h[26], h[27], h[28], h[29]),
            dst: Ipv4Addr::new(h[30], h[31], h[32], h[33]),
            protocol: Ipv4Repr::PROTO_TCP,
            ttl: h[22],
            payload_len: segment_len,
        },
        tcp: TcpRepr {
            src_port: be16(0),
            dst_port: be16(2),
            seq: SeqNumber(be32(4)),
            ack: SeqNumber(be32(8)),
            flags: TcpFlags(h[TCP_AT + 13]),
            window: be16(14),
            urgent: be16(18),
            options,
            payload: text,
        },
    }
}

/// `parse_tcp_frame` for any frame, step by step. Out of line: the
/// frames it sees are rare, and the plain path stays small.
#[cold]
#[inline(never)]
fn parse_any(frame: &[u8], verify_checksums: bool) -> Result<TcpFrame<'_>, Error> {
    let eth = EthernetFrame::new_checked(frame)?;
    let eth_repr = EthernetRepr::parse(&eth)?;
    if eth_repr.ethertype != EtherType::IPV4 {
        return Err(Error::NotIpv4);
    }
    let ip = Ipv4Packet::new_checked(&frame[EthernetRepr::HEADER_LEN..])?;
    let ip_repr = Ipv4Repr::parse(&ip, verify_checksums)?;
    if ip_repr.protocol != Ipv4Repr::PROTO_TCP {
        return Err(Error::NotTcp);
    }
    let start = EthernetRepr::HEADER_LEN + ip.header_len();
    let segment = &frame[start..start + ip_repr.payload_len];
    let tcp = TcpSegment::new_checked(segment)?;
    let tcp_repr = TcpRepr::parse(&tcp, ip_repr.src, ip_repr.dst, verify_checksums)?;
    Ok(TcpFrame {
        eth: eth_repr,
        ip: ip_repr,
        tcp: tcp_repr,
    })
}

/// Writes a whole frame — Ethernet, IPv4 (TTL 64) and TCP, both checksums
/// computed — and returns its length. No padding to 60 bytes: AF_XDP and
/// veth do not need it. `buf` must hold `TCP_FRAME_MAX_HEADER + payload`.
#[inline]
pub fn emit_tcp_frame(
    buf: &mut [u8],
    src_mac: MacAddr,
    dst_mac: MacAddr,
    src_ip: Ipv4Addr,
    dst_ip: Ipv4Addr,
    tcp: &TcpRepr,
) -> usize {
    EthernetRepr {
        src: src_mac,
        dst: dst_mac,
        ethertype: EtherType::IPV4,
    }
    .emit(buf);
    let ip_at = EthernetRepr::HEADER_LEN;
    let tcp_at = ip_at + Ipv4Repr::HEADER_LEN;
    let tcp_len = tcp.emit(&mut buf[tcp_at..], src_ip, dst_ip);
    Ipv4Repr {
        src: src_ip,
        dst: dst_ip,
        protocol: Ipv4Repr::PROTO_TCP,
        ttl: 64,
        payload_len: tcp_len,
    }
    .emit(&mut buf[ip_at..]);
    tcp_at + tcp_len
}

/// A segment whose options are laid out already, `OPT` bytes (a multiple
/// of 4), and whose urgent pointer is zero: what nearly every segment we
/// send is — timestamps alone after the handshake, the full set of MSS,
/// SACK-permitted, timestamps and window scale on a SYN.
/// `emit_fixed_frame` writes it.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct FixedSegment<'a, const OPT: usize> {
    pub src_port: u16,
    pub dst_port: u16,
    pub seq: SeqNumber,
    pub ack: SeqNumber,
    pub flags: TcpFlags,
    pub window: u16,
    /// The option bytes as they go on the wire (`TcpOptions::ts_bytes`,
    /// `TcpOptions::syn_bytes`).
    pub options: [u8; OPT],
    pub payload: &'a [u8],
}

impl<const OPT: usize> FixedSegment<'_, OPT> {
    /// Bytes of the whole frame `emit_fixed_frame` writes.
    #[inline]
    pub fn frame_len(&self) -> usize {
        Self::len_with(self.payload.len())
    }

    /// Bytes of the frame of such a segment with `text_len` bytes of text.
    #[inline]
    pub const fn len_with(text_len: usize) -> usize {
        PLAIN + OPT + text_len
    }
}

/// `emit_tcp_frame` for a [`FixedSegment`], byte for byte, written at fixed
/// offsets, both checksums summed from the fields as 32-bit words rather
/// than read back from the header (the zero bytes — checksums, urgent
/// pointer, IP ID — add nothing). The words are summed as they lie on
/// the wire, read in native order, which the ones'-complement sum allows
/// (RFC 1071 §2(B)): each field is swapped once, for the header, and the
/// addresses, in wire order already, not at all.
///
/// # Panics
/// If `buf` is shorter than `seg.frame_len()`, or the text would not fit
/// an IPv4 packet — the caller sizes both; neither is wire input.
// Inlined always, as its halves are: its fields then come from where the
// caller keeps them, never through a `FixedSegment` in memory.
#[inline(always)]
pub fn emit_fixed_frame<const OPT: usize>(
    buf: &mut [u8],
    src_mac: &MacAddr,
    dst_mac: &MacAddr,
    src_ip: Ipv4Addr,
    dst_ip: Ipv4Addr,
    seg: &FixedSegment<OPT>,
) -> usize {
    let text_sum = emit_fixed_text::<OPT>(buf, seg.payload);
    emit_fixed_header(buf, src_mac, dst_mac, src_ip, dst_ip, seg, text_sum)
}

/// `emit_fixed_frame`'s first half: copies `text` to where it goes in the
/// frame of a segment with `OPT` bytes of options, and returns its sum
/// for [`emit_fixed_header`]. Apart, so that a caller can copy the text
/// before it reads the header's fields: nothing else is then live across
/// the copy's call, to be kept on the stack around it.
///
/// # Panics
/// If `buf` is shorter than the frame: the caller sizes it.
#[inline(always)]
pub fn emit_fixed_text<const OPT: usize>(buf: &mut [u8], text: &[u8]) -> u64 {
    // The text copied and summed under one test: two would have the
    // compiler split the writer in two.
    if text.is_empty() {
        return 0;
    }
    let at = PLAIN + OPT;
    let Some(place) = buf.get_mut(at..at + text.len()) else {
        panic!("emit_fixed_text: the caller sizes buf to the frame");
    };
    place.copy_from_slice(text);
    // At an even offset of the segment: the TCP header is whole words.
    checksum::add_native(0, text)
}

/// `emit_fixed_frame`'s second half: the headers of `seg`, whose text
/// [`emit_fixed_text`] has copied already and summed to `text_sum`.
/// Returns the frame's length.
///
/// # Panics
/// As `emit_fixed_frame`.
#[inline(always)]
pub fn emit_fixed_header<const OPT: usize>(
    buf: &mut [u8],
    src_mac: &MacAddr,
    dst_mac: &MacAddr,
    src_ip: Ipv4Addr,
    dst_ip: Ipv4Addr,
    seg: &FixedSegment<OPT>,
    text_sum: u64,
) -> usize {
    const {
        assert!(
            OPT % 4 == 0 && OPT <= 40,
            "TCP options are whole words, 40 bytes at most"
        )
    };
    let Some((h, rest)) = buf.split_first_chunk_mut::<PLAIN>() else {
        panic!("emit_fixed_header: the caller sizes buf to seg.frame_len()");
    };
    let Some((options, _)) = rest.split_first_chunk_mut::<OPT>() else {
        panic!("emit_fixed_header: the caller sizes buf to seg.frame_len()");
    };
    *options = seg.options;
    let text_len = seg.payload.len();
    let tcp_header = 20 + OPT as u32;
    let tcp_len = tcp_header + text_len as u32;
    let ip_len = Ipv4Repr::HEADER_LEN as u32 + tcp_len;
    assert!(
        ip_len <= 0xffff,
        "emit_fixed_header: text past an IPv4 packet"
    );
    // Version 4, IHL 5; ID 0 and DF (RFC 6864 §4.1); TTL 64, TCP.
    const IP_WORD0: u32 = 0x4500_0000;
    const IP_WORD1: u32 = 0x0000_4000;
    const IP_WORD2: u32 = 0x4006_0000;
    let ip_word0 = (IP_WORD0 | ip_len).to_be_bytes();
    let (s, d) = (src_ip.octets(), dst_ip.octets());
    let ports = (u32::from(seg.src_port) << 16 | u32::from(seg.dst_port)).to_be_bytes();
    let seq = seg.seq.0.to_be_bytes();
    let ack = seg.ack.0.to_be_bytes();
    // The data offset in words, then the flags and the window.
    let off_flags_window =
        (((tcp_header / 4) << 28) | u32::from(seg.flags.0) << 16 | u32::from(seg.window))
            .to_be_bytes();
    let word = |w: [u8; 4]| u64::from(u32::from_ne_bytes(w));
    // The addresses are in both sums: the IP header's and the
    // pseudo-header's (RFC 9293 §3.1).
    let addrs = word(s) + word(d);
    let ip_sum =
        addrs + word(ip_word0) + word(IP_WORD1.to_be_bytes()) + word(IP_WORD2.to_be_bytes());
    let mut tcp_sum = addrs
        + word((u32::from(Ipv4Repr::PROTO_TCP) << 16 | tcp_len).to_be_bytes())
        + word(ports)
        + word(seq)
        + word(ack)
        + word(off_flags_window);
    for w in seg.options.chunks_exact(4) {
        tcp_sum += word([w[0], w[1], w[2], w[3]]);
    }
    tcp_sum = checksum::add_word(tcp_sum, text_sum);
    let ip_check = !checksum::fold64(ip_sum);
    let tcp_check = !checksum::fold64(tcp_sum);

    h[0..6].copy_from_slice(&dst_mac.0);
    h[6..12].copy_from_slice(&src_mac.0);
    h[12..14].copy_from_slice(&EtherType::IPV4.0.to_be_bytes());
    h[14..18].copy_from_slice(&ip_word0);
    h[18..22].copy_from_slice(&IP_WORD1.to_be_bytes());
    h[22..24].copy_from_slice(&((IP_WORD2 >> 16) as u16).to_be_bytes());
    h[24..26].copy_from_slice(&ip_check.to_ne_bytes());
    h[26..30].copy_from_slice(&s);
    h[30..34].copy_from_slice(&d);
    h[34..38].copy_from_slice(&ports);
    h[38..42].copy_from_slice(&seq);
    h[42..46].copy_from_slice(&ack);
    h[46..50].copy_from_slice(&off_flags_window);
    h[50..52].copy_from_slice(&tcp_check.to_ne_bytes());
    h[52..54].copy_from_slice(&[0, 0]); // urgent pointer
    seg.frame_len()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::{SeqNumber, TcpFlags, TcpOptions};

    #[test]
    fn frame_round_trips_and_checks_types() {
        let repr = TcpRepr {
            src_port: 1234,
            dst_port: 80,
            seq: SeqNumber(1),
            ack: SeqNumber(2),
            flags: TcpFlags::ACK | TcpFlags::PSH,
            window: 1000,
            urgent: 0,
            options: TcpOptions::default(),
            payload: b"hello",
        };
        let mut buf = [0u8; 200];
        let (a, b) = (Ipv4Addr::new(10, 0, 0, 1), Ipv4Addr::new(10, 0, 0, 2));
        let n = emit_tcp_frame(&mut buf, MacAddr([1; 6]), MacAddr([2; 6]), a, b, &repr);
        assert_eq!(n, 14 + 20 + 20 + 5);
        let f = parse_tcp_frame(&buf[..n], true).unwrap();
        assert_eq!(f.tcp, repr);
        assert_eq!((f.ip.src, f.ip.dst, f.eth.dst), (a, b, MacAddr([2; 6])));
        // Ethernet padding after the IP packet is not TCP text.
        let f = parse_tcp_frame(&buf[..n + 7], true).unwrap();
        assert_eq!(f.tcp.payload, b"hello");

        let mut arp = buf;
        arp[12..14].copy_from_slice(&0x0806u16.to_be_bytes());
        assert_eq!(
            parse_tcp_frame(&arp[..n], true).unwrap_err(),
            Error::NotIpv4
        );
        let mut udp = buf;
        udp[23] = 17;
        assert_eq!(
            parse_tcp_frame(&udp[..n], false).unwrap_err(),
            Error::NotTcp
        );
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(3000))]

        /// The fixed-offset parse takes only frames the step-by-step one
        /// takes, and reads them alike (RFC 791, RFC 9293 §3.1): valid
        /// frames with text and options, then bits flipped in the headers
        /// and the frame cut anywhere.
        #[test]
        fn plain_parse_agrees_with_the_general_one(
            payload in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..40),
            layout in 0u8..3,
            flips in proptest::collection::vec((0usize..64, 0u8..8), 0..3),
            cut in proptest::option::of(proptest::prelude::any::<usize>()),
            verify in proptest::prelude::any::<bool>(),
        ) {
            let repr = TcpRepr {
                src_port: 1234,
                dst_port: 80,
                seq: SeqNumber(7),
                ack: SeqNumber(9),
                flags: TcpFlags::ACK,
                window: 1000,
                urgent: 0,
                // None, timestamps alone, or a SYN's four.
                options: TcpOptions {
                    timestamps: (layout > 0).then_some((5, 6)),
                    mss: (layout > 1).then_some(1460),
                    window_scale: (layout > 1).then_some(7),
                    sack_permitted: layout > 1,
                    ..TcpOptions::default()
                },
                payload: &payload,
            };
            let mut buf = [0u8; 200];
            let (a, b) = (Ipv4Addr::new(10, 0, 0, 1), Ipv4Addr::new(10, 0, 0, 2));
            let n = emit_tcp_frame(&mut buf, MacAddr([1; 6]), MacAddr([2; 6]), a, b, &repr);
            // Single bits: each header field's every edge is a bit away.
            for (at, bit) in flips {
                buf[at % n] ^= 1 << bit;
            }
            // Whole, with padding after it, or cut anywhere.
            let frame = &buf[..cut.map_or(n + 4, |c| c % (n + 8))];
            if let Some(plain) = parse_plain(frame, verify) {
                proptest::prop_assert_eq!(Ok(plain), parse_any(frame, verify));
            }
        }

        /// The fixed-offset writer lays out a segment byte for byte as the
        /// general one does (RFC 791, RFC 9293 §3.1, RFC 7323 Appendix A),
        /// both checksums included, for any fields and text: with
        /// timestamps alone, and a SYN's four options.
        #[test]
        fn fixed_writer_agrees_with_the_general_one(
            macs in proptest::prelude::any::<([u8; 6], [u8; 6])>(),
            ips in proptest::prelude::any::<(u32, u32)>(),
            ports in proptest::prelude::any::<(u16, u16)>(),
            seq_ack in proptest::prelude::any::<(u32, u32)>(),
            flags in proptest::prelude::any::<u8>(),
            window in proptest::prelude::any::<u16>(),
            ts in proptest::prelude::any::<(u32, u32)>(),
            syn in proptest::option::of(proptest::prelude::any::<(u16, u8)>()),
            payload in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..100),
        ) {
            let options = match syn {
                None => TcpOptions { timestamps: Some(ts), ..TcpOptions::default() },
                Some((mss, ws)) => TcpOptions {
                    mss: Some(mss),
                    window_scale: Some(ws),
                    sack_permitted: true,
                    timestamps: Some(ts),
                    ..TcpOptions::default()
                },
            };
            let repr = TcpRepr {
                src_port: ports.0,
                dst_port: ports.1,
                seq: SeqNumber(seq_ack.0),
                ack: SeqNumber(seq_ack.1),
                flags: TcpFlags(flags),
                window,
                urgent: 0,
                options,
                payload: &payload,
            };
            let (a, b) = (Ipv4Addr::from(ips.0), Ipv4Addr::from(ips.1));
            let (m, n) = (MacAddr(macs.0), MacAddr(macs.1));
            // Scratch full of ones, so that a byte the writer leaves
            // unwritten shows.
            let mut general = [0xffu8; TCP_FRAME_MAX_HEADER + 100];
            let len = emit_tcp_frame(&mut general, m, n, a, b, &repr);
            let mut fast = [0xffu8; TCP_FRAME_MAX_HEADER + 100];
            let fast_len = match syn {
                None => emit_fixed_frame(&mut fast, &m, &n, a, b, &FixedSegment {
                    src_port: ports.0,
                    dst_port: ports.1,
                    seq: repr.seq,
                    ack: repr.ack,
                    flags: repr.flags,
                    window,
                    options: TcpOptions::ts_bytes(ts.0, ts.1),
                    payload: &payload,
                }),
                Some((mss, ws)) => emit_fixed_frame(&mut fast, &m, &n, a, b, &FixedSegment {
                    src_port: ports.0,
                    dst_port: ports.1,
                    seq: repr.seq,
                    ack: repr.ack,
                    flags: repr.flags,
                    window,
                    options: TcpOptions::syn_bytes(mss, ts.0, ts.1, ws),
                    payload: &payload,
                }),
            };
            proptest::prop_assert_eq!(&fast[..fast_len], &general[..len]);
        }
    }
}
