//! IPv4 headers (RFC 791). Fragments are not reassembled: they are an error.

use super::{checksum, Error};
use std::net::Ipv4Addr;

mod field {
    use core::ops::Range;
    pub const VER_IHL: usize = 0;
    pub const LENGTH: Range<usize> = 2..4;
    pub const FLAGS_FRAG: Range<usize> = 6..8;
    pub const TTL: usize = 8;
    pub const PROTOCOL: usize = 9;
    pub const CHECKSUM: Range<usize> = 10..12;
    pub const SRC: Range<usize> = 12..16;
    pub const DST: Range<usize> = 16..20;
}

/// A view over an IPv4 packet whose header lengths have been checked.
#[derive(Debug, Clone)]
pub struct Ipv4Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Ipv4Packet<T> {
    /// Wraps without checking; accessors may panic on a short buffer.
    pub fn new_unchecked(buffer: T) -> Self {
        Ipv4Packet { buffer }
    }

    /// Wraps after checking version, IHL and total length against the buffer
    /// (RFC 791 §3.1), so that every accessor is in bounds.
    #[inline]
    pub fn new_checked(buffer: T) -> Result<Self, Error> {
        let b = buffer.as_ref();
        if b.len() < Ipv4Repr::HEADER_LEN {
            return Err(Error::Truncated);
        }
        if b[field::VER_IHL] >> 4 != 4 {
            return Err(Error::BadVersion);
        }
        let p = Ipv4Packet { buffer };
        let header_len = p.header_len();
        let total = usize::from(p.total_len());
        if header_len < Ipv4Repr::HEADER_LEN {
            return Err(Error::BadHeaderLen);
        }
        if total > p.buffer.as_ref().len() {
            return Err(Error::Truncated);
        }
        if total < header_len {
            return Err(if header_len > p.buffer.as_ref().len() {
                Error::BadHeaderLen
            } else {
                Error::BadTotalLen
            });
        }
        Ok(p)
    }

    #[inline]
    fn u16_at(&self, r: core::ops::Range<usize>) -> u16 {
        let b = &self.buffer.as_ref()[r];
        u16::from_be_bytes([b[0], b[1]])
    }

    /// Header length in bytes (IHL × 4).
    #[inline]
    pub fn header_len(&self) -> usize {
        usize::from(self.buffer.as_ref()[field::VER_IHL] & 0x0f) * 4
    }

    /// Total length field.
    #[inline]
    pub fn total_len(&self) -> u16 {
        self.u16_at(field::LENGTH)
    }

    /// More-fragments flag set, or a nonzero fragment offset.
    #[inline]
    pub fn is_fragment(&self) -> bool {
        self.u16_at(field::FLAGS_FRAG) & 0x3fff != 0
    }

    /// Time to live.
    #[inline]
    pub fn ttl(&self) -> u8 {
        self.buffer.as_ref()[field::TTL]
    }

    /// Protocol number of the payload.
    #[inline]
    pub fn protocol(&self) -> u8 {
        self.buffer.as_ref()[field::PROTOCOL]
    }

    /// Header checksum field.
    #[inline]
    pub fn checksum(&self) -> u16 {
        self.u16_at(field::CHECKSUM)
    }

    /// Source address.
    #[inline]
    pub fn src(&self) -> Ipv4Addr {
        let b = &self.buffer.as_ref()[field::SRC];
        Ipv4Addr::new(b[0], b[1], b[2], b[3])
    }

    /// Destination address.
    #[inline]
    pub fn dst(&self) -> Ipv4Addr {
        let b = &self.buffer.as_ref()[field::DST];
        Ipv4Addr::new(b[0], b[1], b[2], b[3])
    }

    /// True when the header, options included, sums to zero.
    #[inline]
    pub fn verify_checksum(&self) -> bool {
        checksum::fold(checksum::sum(&self.buffer.as_ref()[..self.header_len()])) == 0xffff
    }

    /// The payload: total length less the header; Ethernet padding excluded.
    #[inline]
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[self.header_len()..usize::from(self.total_len())]
    }
}

/// The IPv4 header fields synwave uses.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Ipv4Repr {
    pub src: Ipv4Addr,
    pub dst: Ipv4Addr,
    pub protocol: u8,
    pub ttl: u8,
    pub payload_len: usize,
}

impl Ipv4Repr {
    /// Length of a header without options, the only kind we emit.
    pub const HEADER_LEN: usize = 20;
    /// IP protocol number of TCP.
    pub const PROTO_TCP: u8 = 6;

    /// Reads a checked packet; fragments and bad checksums are errors.
    #[inline]
    pub fn parse<T: AsRef<[u8]>>(
        packet: &Ipv4Packet<T>,
        verify_checksum: bool,
    ) -> Result<Self, Error> {
        if verify_checksum && !packet.verify_checksum() {
            return Err(Error::BadChecksum);
        }
        if packet.is_fragment() {
            return Err(Error::Fragment);
        }
        Ok(Ipv4Repr {
            src: packet.src(),
            dst: packet.dst(),
            protocol: packet.protocol(),
            ttl: packet.ttl(),
            payload_len: usize::from(packet.total_len()) - packet.header_len(),
        })
    }

    /// Writes a 20-byte header with DF set and ID 0 (RFC 6864 §4.1: an
    /// atomic datagram needs no unique ID), checksum included. Returns 20.
    #[inline]
    pub fn emit(&self, buf: &mut [u8]) -> usize {
        let total = (Self::HEADER_LEN + self.payload_len) as u16;
        let (src, dst) = (self.src.octets(), self.dst.octets());
        let [t0, t1] = total.to_be_bytes();
        let mut h = [
            0x45,
            0,
            t0,
            t1,
            0,
            0,
            0x40,
            0,
            self.ttl,
            self.protocol,
            0,
            0,
            src[0],
            src[1],
            src[2],
            src[3],
            dst[0],
            dst[1],
            dst[2],
            dst[3],
        ];
        // The sum of the header's words from the fields themselves, rather
        // than read back: version/IHL, length, DF, TTL/protocol, addresses.
        let (s, d) = (u32::from(self.src), u32::from(self.dst));
        let sum = 0x4500
            + u32::from(total)
            + 0x4000
            + (u32::from(self.ttl) << 8 | u32::from(self.protocol))
            + (s >> 16)
            + (s & 0xffff)
            + (d >> 16)
            + (d & 0xffff);
        h[field::CHECKSUM].copy_from_slice(&checksum::finish(sum).to_be_bytes());
        buf[..Self::HEADER_LEN].copy_from_slice(&h);
        Self::HEADER_LEN
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header() -> Vec<u8> {
        let repr = Ipv4Repr {
            src: Ipv4Addr::new(10, 0, 0, 1),
            dst: Ipv4Addr::new(10, 0, 0, 2),
            protocol: 6,
            ttl: 64,
            payload_len: 4,
        };
        let mut buf = vec![0u8; 24];
        repr.emit(&mut buf);
        buf
    }

    #[test]
    fn rfc791_emit_parse_round_trip_with_checksum() {
        let buf = header();
        let p = Ipv4Packet::new_checked(&buf[..]).unwrap();
        assert!(p.verify_checksum());
        let r = Ipv4Repr::parse(&p, true).unwrap();
        assert_eq!((r.ttl, r.protocol, r.payload_len), (64, 6, 4));
    }

    #[test]
    fn rfc791_padding_after_total_length_is_ignored() {
        let mut buf = header();
        buf.extend_from_slice(&[0; 20]);
        let p = Ipv4Packet::new_checked(&buf[..]).unwrap();
        assert_eq!(p.payload().len(), 4);
    }

    #[test]
    fn rfc791_malformed_headers_are_errors() {
        let good = header();
        let mut b = good.clone();
        b[0] = 0x65;
        assert_eq!(
            Ipv4Packet::new_checked(&b[..]).unwrap_err(),
            Error::BadVersion
        );
        let mut b = good.clone();
        b[0] = 0x44;
        assert_eq!(
            Ipv4Packet::new_checked(&b[..]).unwrap_err(),
            Error::BadHeaderLen
        );
        let mut b = good.clone();
        b[0] = 0x4f;
        assert_eq!(
            Ipv4Packet::new_checked(&b[..]).unwrap_err(),
            Error::BadHeaderLen
        );
        let mut b = good.clone();
        b[2..4].copy_from_slice(&10u16.to_be_bytes());
        assert_eq!(
            Ipv4Packet::new_checked(&b[..]).unwrap_err(),
            Error::BadTotalLen
        );
        let mut b = good.clone();
        b[2..4].copy_from_slice(&100u16.to_be_bytes());
        assert_eq!(
            Ipv4Packet::new_checked(&b[..]).unwrap_err(),
            Error::Truncated
        );
        assert_eq!(
            Ipv4Packet::new_checked(&good[..19]).unwrap_err(),
            Error::Truncated
        );
        let mut b = good.clone();
        b[8] = 1;
        let p = Ipv4Packet::new_checked(&b[..]).unwrap();
        assert_eq!(Ipv4Repr::parse(&p, true).unwrap_err(), Error::BadChecksum);
    }

    #[test]
    fn rfc791_fragments_are_rejected() {
        for flags in [0x2000u16, 0x0001, 0x4001] {
            let mut b = header();
            let old = u16::from_be_bytes([b[6], b[7]]);
            b[6..8].copy_from_slice(&flags.to_be_bytes());
            let c = u16::from_be_bytes([b[10], b[11]]);
            b[10..12].copy_from_slice(&checksum::update(c, old, flags).to_be_bytes());
            let p = Ipv4Packet::new_checked(&b[..]).unwrap();
            assert_eq!(
                Ipv4Repr::parse(&p, true).unwrap_err(),
                Error::Fragment,
                "flags {flags:#x}"
            );
        }
    }
}
