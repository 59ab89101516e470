//! ARP (RFC 826) for the extra source addresses of a load generator, the
//! ones the kernel does not own. The XDP program hands their requests to
//! the worker's AF_XDP socket and the reply leaves on its transmit ring: a
//! copy-mode transmit reaches any peer, where an XDP_TX reply into a veth is
//! dropped unless that veth's peer has an XDP program or GRO on. Before an
//! address is claimed, it is probed for (RFC 5227 §2.1) so that synwave
//! never answers for an address another host has.

use crate::tcp::FrameBatch;
use crate::wire::{
    ArpOperation, ArpPacket, ArpRepr, EtherType, EthernetFrame, EthernetRepr, MacAddr,
};
use std::collections::{HashMap, HashSet};
use std::net::Ipv4Addr;

/// Ethernet header plus the ARP packet.
const FRAME_LEN: usize = EthernetRepr::HEADER_LEN + ArpRepr::BUFFER_LEN;

/// Answers ARP requests for a set of addresses, each with its MAC.
#[derive(Clone, Debug, Default)]
pub struct ArpResponder {
    addrs: HashMap<Ipv4Addr, MacAddr>,
}

impl ArpResponder {
    /// Answers for each address with its MAC.
    pub fn new(addrs: &[(Ipv4Addr, MacAddr)]) -> Self {
        ArpResponder {
            addrs: addrs.iter().copied().collect(),
        }
    }

    /// If `frame` is ARP, handles it — a request for one of our addresses
    /// gets its reply in `tx`, anything else is ignored — and returns true;
    /// returns false for every other frame.
    pub fn handle(&self, frame: &[u8], tx: &mut FrameBatch) -> bool {
        let Ok(eth) = EthernetFrame::new_checked(frame) else {
            return false;
        };
        if eth.ethertype() != EtherType::ARP {
            return false;
        }
        let Some(req) = ArpPacket::new_checked(eth.payload())
            .ok()
            .and_then(|p| ArpRepr::parse(&p).ok())
        else {
            return true;
        };
        let Some(&mac) = self.addrs.get(&req.target_ip) else {
            return true;
        };
        if req.operation != ArpOperation::Request {
            return true;
        }
        let reply = ArpRepr {
            operation: ArpOperation::Reply,
            source_hw: mac,
            source_ip: req.target_ip,
            target_hw: req.source_hw,
            target_ip: req.source_ip,
        };
        tx.push_with(FRAME_LEN, |buf| emit(buf, mac, req.source_hw, &reply));
        true
    }
}

/// Writes an Ethernet frame carrying `arp`; returns its length.
pub fn emit(buf: &mut [u8], src: MacAddr, dst: MacAddr, arp: &ArpRepr) -> usize {
    EthernetRepr {
        src,
        dst,
        ethertype: EtherType::ARP,
    }
    .emit(buf);
    EthernetRepr::HEADER_LEN + arp.emit(&mut buf[EthernetRepr::HEADER_LEN..])
}

/// An RFC 5227 §2.1.1 probe for `addr`: a broadcast request with our MAC
/// and sender address 0.0.0.0, so that no host's cache learns anything.
pub fn probe(mac: MacAddr, addr: Ipv4Addr) -> Vec<u8> {
    let mut buf = vec![0; FRAME_LEN];
    let arp = ArpRepr {
        operation: ArpOperation::Request,
        source_hw: mac,
        source_ip: Ipv4Addr::UNSPECIFIED,
        target_hw: MacAddr::default(),
        target_ip: addr,
    };
    let n = emit(&mut buf, mac, MacAddr::BROADCAST, &arp);
    buf.truncate(n);
    buf
}

/// RFC 5227 §2.1.1: the address a received ARP frame shows to be in use by
/// another host — as the sender of any ARP packet, or as the target of
/// another host's probe — if it is one of `candidates`.
pub fn conflict(frame: &[u8], mac: MacAddr, candidates: &HashSet<Ipv4Addr>) -> Option<Ipv4Addr> {
    let eth = EthernetFrame::new_checked(frame).ok()?;
    if eth.ethertype() != EtherType::ARP {
        return None;
    }
    let arp = ArpRepr::parse(&ArpPacket::new_checked(eth.payload()).ok()?).ok()?;
    if arp.source_hw == mac {
        return None; // our own probe, looped back
    }
    if candidates.contains(&arp.source_ip) {
        return Some(arp.source_ip);
    }
    let probing = arp.operation == ArpOperation::Request && arp.source_ip.is_unspecified();
    (probing && candidates.contains(&arp.target_ip)).then_some(arp.target_ip)
}

#[cfg(test)]
mod tests {
    use super::*;

    const US: MacAddr = MacAddr([2, 0, 0, 0, 0, 1]);
    const PEER: MacAddr = MacAddr([2, 0, 0, 0, 0, 2]);
    const OURS: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 100);
    const PEER_IP: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 2);

    fn request(target: Ipv4Addr) -> Vec<u8> {
        let mut buf = vec![0; FRAME_LEN];
        let arp = ArpRepr {
            operation: ArpOperation::Request,
            source_hw: PEER,
            source_ip: PEER_IP,
            target_hw: MacAddr::default(),
            target_ip: target,
        };
        emit(&mut buf, PEER, MacAddr::BROADCAST, &arp);
        buf
    }

    fn parse(frame: &[u8]) -> (EthernetRepr, ArpRepr) {
        let eth = EthernetFrame::new_checked(frame).unwrap();
        let arp = ArpRepr::parse(&ArpPacket::new_checked(eth.payload()).unwrap()).unwrap();
        (EthernetRepr::parse(&eth).unwrap(), arp)
    }

    #[test]
    fn rfc826_request_for_our_address_gets_a_unicast_reply() {
        let r = ArpResponder::new(&[(OURS, US)]);
        let mut tx = FrameBatch::new();
        assert!(r.handle(&request(OURS), &mut tx));
        let frames: Vec<&[u8]> = tx.iter().collect();
        assert_eq!(frames.len(), 1);
        let (eth, arp) = parse(frames[0]);
        assert_eq!((eth.src, eth.dst), (US, PEER));
        assert_eq!(arp.operation, ArpOperation::Reply);
        assert_eq!((arp.source_hw, arp.source_ip), (US, OURS));
        assert_eq!((arp.target_hw, arp.target_ip), (PEER, PEER_IP));
    }

    #[test]
    fn rfc826_other_arp_is_taken_but_not_answered_and_tcp_is_left_alone() {
        let r = ArpResponder::new(&[(OURS, US)]);
        let mut tx = FrameBatch::new();
        assert!(r.handle(&request(Ipv4Addr::new(10, 77, 0, 9)), &mut tx));
        assert!(r.handle(&request(OURS)[..20], &mut tx) || tx.is_empty());
        assert!(tx.is_empty());
        let mut ip = request(OURS);
        ip[12..14].copy_from_slice(&0x0800u16.to_be_bytes());
        assert!(!r.handle(&ip, &mut tx));
        assert!(!r.handle(&[0u8; 5], &mut tx));
    }

    #[test]
    fn rfc5227_2_1_1_probe_and_conflicts() {
        let p = probe(US, OURS);
        let (eth, arp) = parse(&p);
        assert_eq!(eth.dst, MacAddr::BROADCAST);
        assert_eq!(
            (arp.source_ip, arp.target_ip),
            (Ipv4Addr::UNSPECIFIED, OURS)
        );
        let cands: HashSet<Ipv4Addr> = [OURS].into();
        // Our own probe seen again is no conflict.
        assert_eq!(conflict(&p, US, &cands), None);
        // Someone else's probe for the same address is.
        assert_eq!(conflict(&probe(PEER, OURS), US, &cands), Some(OURS));
        // A host using the address (any ARP from it) is.
        let mut buf = vec![0; FRAME_LEN];
        let reply = ArpRepr {
            operation: ArpOperation::Reply,
            source_hw: PEER,
            source_ip: OURS,
            target_hw: US,
            target_ip: Ipv4Addr::UNSPECIFIED,
        };
        emit(&mut buf, PEER, US, &reply);
        assert_eq!(conflict(&buf, US, &cands), Some(OURS));
        assert_eq!(conflict(&request(PEER_IP), US, &cands), None);
    }
}
