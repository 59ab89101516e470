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

/// The frame nearly every one is — IPv4 without options, not a fragment,
/// TCP, lengths consistent, checksums right — read from fixed offsets
/// after one length check. Anything else is None, and `parse_any` judges
/// it (and names what is wrong), so both accept the same frames alike.
#[inline]
fn parse_plain(frame: &[u8], verify_checksums: bool) -> Option<TcpFrame<'_>> {
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
    let tcp_at = EthernetRepr::HEADER_LEN + Ipv4Repr::HEADER_LEN;
    let segment = frame.get(tcp_at..EthernetRepr::HEADER_LEN + ip_len)?;
    let tcp_header = usize::from(h[tcp_at + 12] >> 4) * 4;
    if tcp_header < 20 || tcp_header > segment.len() {
        return None;
    }
    let src = Ipv4Addr::new(h[26], h[27], h[28], h[29]);
    let dst = Ipv4Addr::new(h[30], h[31], h[32], h[33]);
    if verify_checksums {
        // The IP header's five 32-bit words, summed in native order as
        // `checksum::sum` does; a right header sums to all ones.
        let word =
            |at: usize| u64::from(u32::from_ne_bytes([h[at], h[at + 1], h[at + 2], h[at + 3]]));
        let ip = word(14) + word(18) + word(22) + word(26) + word(30);
        let ip = (ip >> 32) + (ip & 0xffff_ffff);
        let ip = ((ip >> 32) + (ip & 0xffff_ffff)) as u32;
        // The IP payload is under 2^16 bytes, so the length fits.
        let pseudo = checksum::pseudo_header(src, dst, 6, segment.len() as u16);
        let tcp = pseudo + checksum::sum(segment);
        if checksum::fold(ip) != 0xffff || checksum::fold(tcp) != 0xffff {
            return None;
        }
    }
    let be16 = |at: usize| u16::from_be_bytes([h[tcp_at + at], h[tcp_at + at + 1]]);
    let be32 = |at: usize| {
        let b = &h[tcp_at + at..tcp_at + at + 4];
        u32::from_be_bytes([b[0], b[1], b[2], b[3]])
    };
    Some(TcpFrame {
        eth: EthernetRepr {
            dst: MacAddr([h[0], h[1], h[2], h[3], h[4], h[5]]),
            src: MacAddr([h[6], h[7], h[8], h[9], h[10], h[11]]),
            ethertype: EtherType::IPV4,
        },
        ip: Ipv4Repr {
            src,
            dst,
            protocol: Ipv4Repr::PROTO_TCP,
            ttl: h[22],
            payload_len: segment.len(),
        },
        tcp: TcpRepr {
            src_port: be16(0),
            dst_port: be16(2),
            seq: SeqNumber(be32(4)),
            ack: SeqNumber(be32(8)),
            flags: TcpFlags(h[tcp_at + 13]),
            window: be16(14),
            urgent: be16(18),
            options: TcpOptions::parse(&segment[20..tcp_header]).ok()?,
            payload: &segment[tcp_header..],
        },
    })
}

/// `parse_tcp_frame` for any frame, step by step.
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
            ts in proptest::prelude::any::<bool>(),
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
                options: TcpOptions {
                    timestamps: ts.then_some((5, 6)),
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
    }
}
