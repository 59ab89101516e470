//! Any bytes into every wire parser: none may panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::net::Ipv4Addr;
use synwave::wire::{self, ArpPacket, ArpRepr, TcpOptions, TcpRepr, TcpSegment};

fuzz_target!(|data: &[u8]| {
    let _ = wire::parse_tcp_frame(data, true);
    let _ = wire::parse_tcp_frame(data, false);
    if let Ok(p) = ArpPacket::new_checked(data) {
        let _ = ArpRepr::parse(&p);
    }
    if let Ok(s) = TcpSegment::new_checked(data) {
        let _ = TcpRepr::parse(&s, Ipv4Addr::LOCALHOST, Ipv4Addr::LOCALHOST, false);
    }
    let _ = TcpOptions::parse(data);
});
