//! Wire formats: zero-copy views and parse/emit for Ethernet II (IEEE 802.3),
//! ARP (RFC 826), IPv4 (RFC 791) and TCP (RFC 9293, RFC 7323 options);
//! and [`pcap`], the capture file format frames are written out in.
//!
//! Each format has a view over bytes (`Xxx<T: AsRef<[u8]>>`, validated once by
//! `new_checked`, then cheap accessors) and a plain-data `XxxRepr` with
//! `parse` and `emit`. Parsing never panics: every malformed input is an
//! [`Error`].

pub mod arp;
pub mod checksum;
pub mod ethernet;
pub mod ipv4;
pub mod pcap;
pub mod rss;
pub mod tcp;

mod error;
mod frame;
mod seq;

pub use arp::{ArpOperation, ArpPacket, ArpRepr};
pub use error::Error;
pub use ethernet::{EtherType, EthernetFrame, EthernetRepr, MacAddr};
pub use frame::{
    emit_fixed_frame, emit_fixed_header, emit_fixed_text, emit_tcp_frame, parse_tcp_frame,
    FixedSegment, TcpFrame, TCP_FRAME_MAX_HEADER,
};
pub(crate) use frame::{parse_plain, plain_endpoints};
pub use ipv4::{Ipv4Packet, Ipv4Repr};
pub use seq::SeqNumber;
pub use tcp::{SackBlocks, TcpFlags, TcpOptions, TcpRepr, TcpSegment};
