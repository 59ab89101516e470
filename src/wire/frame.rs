//! Whole frames: Ethernet II carrying IPv4 carrying TCP, parsed and emitted in
//! one pass — the unit the engine and the AF_XDP rings trade in.

use super::{
    Error, EtherType, EthernetFrame, EthernetRepr, Ipv4Packet, Ipv4Repr, MacAddr, TcpRepr,
    TcpSegment,
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
}
