//! Ethernet/IPv4/TCP frames as the AF_XDP tests read and write them raw.

/// Internet checksum (RFC 1071) over `chunks`, concatenated.
pub fn inet_checksum(chunks: &[&[u8]]) -> u16 {
    let mut sum: u32 = 0;
    let mut odd: Option<u8> = None;
    for c in chunks {
        for &b in *c {
            match odd.take() {
                Some(hi) => sum += u32::from(u16::from_be_bytes([hi, b])),
                None => odd = Some(b),
            }
        }
    }
    if let Some(hi) = odd {
        sum += u32::from(u16::from_be_bytes([hi, 0]));
    }
    while sum >> 16 != 0 {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// The fields of a TCP/IPv4 Ethernet frame the tests care about.
#[derive(Debug, Clone, Copy)]
pub struct TcpFrame {
    pub eth_dst: [u8; 6],
    pub eth_src: [u8; 6],
    pub ip_src: [u8; 4],
    pub ip_dst: [u8; 4],
    pub sport: u16,
    pub dport: u16,
    pub seq: u32,
    pub flags: u8,
    /// Whether the TCP checksum verifies.
    pub csum_ok: bool,
}

/// Parses an Ethernet/IPv4/TCP frame; `None` for anything else or truncated.
pub fn parse_tcp(f: &[u8]) -> Option<TcpFrame> {
    if f.len() < 14 + 20 || f[12..14] != [0x08, 0x00] {
        return None;
    }
    let ip = &f[14..];
    let ihl = usize::from(ip[0] & 0x0f) * 4;
    let total = usize::from(u16::from_be_bytes([ip[2], ip[3]]));
    if ip[0] >> 4 != 4 || ip[9] != 6 || ihl < 20 || total < ihl + 20 || ip.len() < total {
        return None;
    }
    let tcp = &ip[ihl..total];
    let pseudo = pseudo_header(&ip[12..16], &ip[16..20], tcp.len());
    Some(TcpFrame {
        eth_dst: f[0..6].try_into().ok()?,
        eth_src: f[6..12].try_into().ok()?,
        ip_src: ip[12..16].try_into().ok()?,
        ip_dst: ip[16..20].try_into().ok()?,
        sport: u16::from_be_bytes([tcp[0], tcp[1]]),
        dport: u16::from_be_bytes([tcp[2], tcp[3]]),
        seq: u32::from_be_bytes([tcp[4], tcp[5], tcp[6], tcp[7]]),
        flags: tcp[13],
        csum_ok: inet_checksum(&[&pseudo, tcp]) == 0,
    })
}

fn pseudo_header(src: &[u8], dst: &[u8], tcp_len: usize) -> [u8; 12] {
    let mut p = [0u8; 12];
    p[0..4].copy_from_slice(src);
    p[4..8].copy_from_slice(dst);
    p[9] = 6;
    p[10..12].copy_from_slice(&(tcp_len as u16).to_be_bytes());
    p
}

pub const TCP_FIN: u8 = 0x01;
pub const TCP_SYN: u8 = 0x02;
pub const TCP_RST: u8 = 0x04;
pub const TCP_ACK: u8 = 0x10;

/// Builds the RST|ACK (seq 0, ack = SYN seq + 1) that refuses `syn`, with
/// correct IPv4 and TCP checksums.
pub fn rst_for_syn(syn: &TcpFrame) -> Vec<u8> {
    let mut f = vec![0u8; 14 + 20 + 20];
    f[0..6].copy_from_slice(&syn.eth_src);
    f[6..12].copy_from_slice(&syn.eth_dst);
    f[12..14].copy_from_slice(&[0x08, 0x00]);
    {
        let ip = &mut f[14..34];
        ip[0] = 0x45;
        ip[2..4].copy_from_slice(&40u16.to_be_bytes());
        ip[6..8].copy_from_slice(&0x4000u16.to_be_bytes()); // DF
        ip[8] = 64;
        ip[9] = 6;
        ip[12..16].copy_from_slice(&syn.ip_dst);
        ip[16..20].copy_from_slice(&syn.ip_src);
        let c = inet_checksum(&[ip]);
        ip[10..12].copy_from_slice(&c.to_be_bytes());
    }
    {
        let tcp = &mut f[34..54];
        tcp[0..2].copy_from_slice(&syn.dport.to_be_bytes());
        tcp[2..4].copy_from_slice(&syn.sport.to_be_bytes());
        // seq 0 (bytes 4..8 already zero)
        tcp[8..12].copy_from_slice(&syn.seq.wrapping_add(1).to_be_bytes());
        tcp[12] = 5 << 4;
        tcp[13] = TCP_RST | TCP_ACK;
        let pseudo = pseudo_header(&syn.ip_dst, &syn.ip_src, 20);
        let c = inet_checksum(&[&pseudo, tcp]);
        tcp[16..18].copy_from_slice(&c.to_be_bytes());
    }
    f
}
