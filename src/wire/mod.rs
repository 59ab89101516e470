//! Wire formats: zero-copy views and parse/emit for Ethernet II, ARP, IPv4 and TCP.
