//! ARP for IPv4 over Ethernet (RFC 826).

use super::{Error, MacAddr};
use std::net::Ipv4Addr;

/// Request or reply; other opcodes are [`Error::Unsupported`].
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ArpOperation {
    Request,
    Reply,
}

mod field {
    use core::ops::Range;
    pub const HTYPE: Range<usize> = 0..2;
    pub const PTYPE: Range<usize> = 2..4;
    pub const HLEN: usize = 4;
    pub const PLEN: usize = 5;
    pub const OPER: Range<usize> = 6..8;
    pub const SHA: Range<usize> = 8..14;
    pub const SPA: Range<usize> = 14..18;
    pub const THA: Range<usize> = 18..24;
    pub const TPA: Range<usize> = 24..28;
}

/// A view over an ARP packet at least 28 bytes long.
#[derive(Debug, Clone)]
pub struct ArpPacket<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> ArpPacket<T> {
    /// Wraps without checking; accessors may panic on a short buffer.
    pub fn new_unchecked(buffer: T) -> Self {
        ArpPacket { buffer }
    }

    /// Wraps after checking the Ethernet/IPv4 packet fits.
    pub fn new_checked(buffer: T) -> Result<Self, Error> {
        if buffer.as_ref().len() < ArpRepr::BUFFER_LEN {
            return Err(Error::Truncated);
        }
        Ok(ArpPacket { buffer })
    }

    fn u16_at(&self, r: core::ops::Range<usize>) -> u16 {
        let b = &self.buffer.as_ref()[r];
        u16::from_be_bytes([b[0], b[1]])
    }

    fn mac(&self, r: core::ops::Range<usize>) -> MacAddr {
        let mut m = [0; 6];
        m.copy_from_slice(&self.buffer.as_ref()[r]);
        MacAddr(m)
    }

    fn ip(&self, r: core::ops::Range<usize>) -> Ipv4Addr {
        let b = &self.buffer.as_ref()[r];
        Ipv4Addr::new(b[0], b[1], b[2], b[3])
    }
}

/// An Ethernet/IPv4 ARP packet as plain data.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct ArpRepr {
    pub operation: ArpOperation,
    pub source_hw: MacAddr,
    pub source_ip: Ipv4Addr,
    pub target_hw: MacAddr,
    pub target_ip: Ipv4Addr,
}

impl ArpRepr {
    /// Length of an Ethernet/IPv4 ARP packet.
    pub const BUFFER_LEN: usize = 28;

    /// Reads a checked packet; other hardware or protocol types are unsupported.
    pub fn parse<T: AsRef<[u8]>>(p: &ArpPacket<T>) -> Result<Self, Error> {
        let b = p.buffer.as_ref();
        if p.u16_at(field::HTYPE) != 1
            || p.u16_at(field::PTYPE) != 0x0800
            || b[field::HLEN] != 6
            || b[field::PLEN] != 4
        {
            return Err(Error::Unsupported);
        }
        let operation = match p.u16_at(field::OPER) {
            1 => ArpOperation::Request,
            2 => ArpOperation::Reply,
            _ => return Err(Error::Unsupported),
        };
        Ok(ArpRepr {
            operation,
            source_hw: p.mac(field::SHA),
            source_ip: p.ip(field::SPA),
            target_hw: p.mac(field::THA),
            target_ip: p.ip(field::TPA),
        })
    }

    /// Writes the 28-byte packet; returns 28.
    pub fn emit(&self, buf: &mut [u8]) -> usize {
        let b = &mut buf[..Self::BUFFER_LEN];
        b[field::HTYPE].copy_from_slice(&1u16.to_be_bytes());
        b[field::PTYPE].copy_from_slice(&0x0800u16.to_be_bytes());
        b[field::HLEN] = 6;
        b[field::PLEN] = 4;
        let op: u16 = match self.operation {
            ArpOperation::Request => 1,
            ArpOperation::Reply => 2,
        };
        b[field::OPER].copy_from_slice(&op.to_be_bytes());
        b[field::SHA].copy_from_slice(&self.source_hw.0);
        b[field::SPA].copy_from_slice(&self.source_ip.octets());
        b[field::THA].copy_from_slice(&self.target_hw.0);
        b[field::TPA].copy_from_slice(&self.target_ip.octets());
        Self::BUFFER_LEN
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc826_request_round_trips() {
        let r = ArpRepr {
            operation: ArpOperation::Request,
            source_hw: MacAddr([2, 0, 0, 0, 0, 1]),
            source_ip: Ipv4Addr::new(10, 0, 0, 1),
            target_hw: MacAddr([0; 6]),
            target_ip: Ipv4Addr::new(10, 0, 0, 2),
        };
        let mut buf = [0u8; 28];
        r.emit(&mut buf);
        assert_eq!(
            ArpRepr::parse(&ArpPacket::new_checked(&buf[..]).unwrap()).unwrap(),
            r
        );
    }

    #[test]
    fn rfc826_other_hardware_or_opcode_is_unsupported() {
        let mut buf = [0u8; 28];
        ArpRepr {
            operation: ArpOperation::Reply,
            source_hw: MacAddr([1; 6]),
            source_ip: Ipv4Addr::LOCALHOST,
            target_hw: MacAddr([2; 6]),
            target_ip: Ipv4Addr::LOCALHOST,
        }
        .emit(&mut buf);
        let mut b = buf;
        b[1] = 6;
        assert_eq!(
            ArpRepr::parse(&ArpPacket::new_checked(&b[..]).unwrap()).unwrap_err(),
            Error::Unsupported
        );
        let mut b = buf;
        b[7] = 3;
        assert_eq!(
            ArpRepr::parse(&ArpPacket::new_checked(&b[..]).unwrap()).unwrap_err(),
            Error::Unsupported
        );
        assert_eq!(
            ArpPacket::new_checked(&buf[..27]).unwrap_err(),
            Error::Truncated
        );
    }
}
