//! Why a frame did not parse.

use core::fmt;

/// A malformed or unsupported frame. Each is counted separately as a drop.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Error {
    /// Shorter than its headers say.
    Truncated,
    /// Not an IPv4 frame (the EtherType is something else).
    NotIpv4,
    /// Not a TCP packet (the IP protocol is something else).
    NotTcp,
    /// IP version is not 4.
    BadVersion,
    /// IHL below 5 words or beyond the total length (RFC 791 §3.1).
    BadHeaderLen,
    /// Total length smaller than the header.
    BadTotalLen,
    /// IPv4 header or TCP checksum wrong.
    BadChecksum,
    /// An IPv4 fragment: reassembly is not supported.
    Fragment,
    /// TCP data offset below 5 or beyond the segment (RFC 9293 §3.1).
    BadDataOffset,
    /// A TCP option with a bad length or running past the header.
    BadOption,
    /// A valid frame of a kind we do not handle (e.g. ARP for non-IPv4).
    Unsupported,
}

impl Error {
    /// Every variant, in the order of [`Error::index`].
    pub const ALL: [Error; 11] = [
        Error::Truncated,
        Error::NotIpv4,
        Error::NotTcp,
        Error::BadVersion,
        Error::BadHeaderLen,
        Error::BadTotalLen,
        Error::BadChecksum,
        Error::Fragment,
        Error::BadDataOffset,
        Error::BadOption,
        Error::Unsupported,
    ];

    /// Position in [`Error::ALL`], for per-reason counters.
    pub fn index(self) -> usize {
        self as usize
    }

    /// A snake_case name for statistics and JSON.
    pub fn name(self) -> &'static str {
        match self {
            Error::Truncated => "truncated",
            Error::NotIpv4 => "not_ipv4",
            Error::NotTcp => "not_tcp",
            Error::BadVersion => "bad_version",
            Error::BadHeaderLen => "bad_header_len",
            Error::BadTotalLen => "bad_total_len",
            Error::BadChecksum => "bad_checksum",
            Error::Fragment => "fragment",
            Error::BadDataOffset => "bad_data_offset",
            Error::BadOption => "bad_option",
            Error::Unsupported => "unsupported",
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Error::Truncated => "truncated frame",
            Error::NotIpv4 => "not an IPv4 frame",
            Error::NotTcp => "not a TCP packet",
            Error::BadVersion => "IP version is not 4",
            Error::BadHeaderLen => "bad IPv4 header length",
            Error::BadTotalLen => "bad IPv4 total length",
            Error::BadChecksum => "bad checksum",
            Error::Fragment => "IPv4 fragment",
            Error::BadDataOffset => "bad TCP data offset",
            Error::BadOption => "malformed TCP option",
            Error::Unsupported => "unsupported frame",
        })
    }
}

impl std::error::Error for Error {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_matches_position_in_all() {
        for (i, e) in Error::ALL.iter().enumerate() {
            assert_eq!(e.index(), i);
        }
    }
}
