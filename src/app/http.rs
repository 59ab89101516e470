//! HTTP/1.x response framing: where a response ends on the connection and
//! what its status was, so the load generator can count responses without
//! `--response-delimiter`. Pure and I/O-free: bytes go in as TCP delivers
//! them, split anywhere, and [`Progress`] comes out. [`request_line`] says
//! whether a request is HTTP/1.x at all, and so whether its responses can
//! be framed this way.
//!
//! Only what framing needs is interpreted (RFC 9112 §6.3): the status line,
//! `Content-Length` and `Transfer-Encoding`, and the chunked coding's
//! structure (§7.1). Bodies are skipped, never buffered; only a line that
//! straddles two inputs is kept, and the header section, a chunk-size line
//! and the trailer section are each held to [`MAX_SECTION`] bytes.
//!
//! No dependency: `httparse` covers the header section and a chunk-size
//! line, but wants the section whole in one buffer, parsed again from its
//! start after each partial read, and leaves framing the body, most of the
//! work here, to the caller.

/// The most bytes a header section (status line included), a chunk-size
/// line (extensions included) or a trailer section may take. RFC 9112 sets
/// no limit and leaves it to the recipient (§2.3 of RFC 9110, "Length
/// Requirements"); 64 KiB is far above what servers send, and bounds what
/// one connection can make us hold.
pub const MAX_SECTION: usize = 64 * 1024;

/// What a call to [`ResponseParser::feed`] or
/// [`ResponseParser::peer_closed`] found.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Progress {
    /// The response is not complete; every byte given so far was taken.
    NeedMore,
    /// The final response is complete. Its first `consumed` bytes of this
    /// input belonged to it (and to any 1xx responses before it); the rest
    /// is the start of the next, pipelined, response. From
    /// [`ResponseParser::peer_closed`], `consumed` is 0.
    Done { status: u16, consumed: usize },
    /// The response cannot be framed: RFC 9112 asks the client to close the
    /// connection (§6.3 rule 5, §6.1). Every later call answers the same
    /// until [`ResponseParser::reset`].
    Invalid(Malformed),
}

/// Why a response could not be framed.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Malformed {
    /// Not `HTTP/1.x NNN[ reason]` with NNN in 100..=599 (RFC 9112 §4).
    StatusLine,
    /// A field line without a colon, with a bad name, or folded where
    /// folding can't be taken in (RFC 9112 §5, §5.2).
    FieldLine,
    /// A header section, chunk-size line or trailer section over
    /// [`MAX_SECTION`].
    TooLarge,
    /// Content-Length not a decimal number, or several different ones,
    /// without Transfer-Encoding (RFC 9112 §6.3 rule 5).
    ContentLength,
    /// Transfer-Encoding without a well-formed final coding, or in an
    /// HTTP/1.0 response (RFC 9112 §6.1).
    TransferEncoding,
    /// A chunk-size line that is not hex digits then extensions, or a size
    /// over 2⁶⁴ − 1 (RFC 9112 §7.1).
    ChunkSize,
    /// Chunk data not followed by CRLF (RFC 9112 §7.1).
    ChunkData,
    /// The server closed the connection before the response was complete
    /// (RFC 9112 §8).
    Truncated,
}

impl Malformed {
    /// A short stable name, for counters and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Malformed::StatusLine => "status_line",
            Malformed::FieldLine => "field_line",
            Malformed::TooLarge => "too_large",
            Malformed::ContentLength => "content_length",
            Malformed::TransferEncoding => "transfer_encoding",
            Malformed::ChunkSize => "chunk_size",
            Malformed::ChunkData => "chunk_data",
            Malformed::Truncated => "truncated",
        }
    }
}

impl core::fmt::Display for Malformed {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The class of a status code, its first digit (RFC 9110 §15).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum StatusClass {
    Informational,
    Success,
    Redirect,
    ClientError,
    ServerError,
}

impl StatusClass {
    /// The class of `status`; `None` outside 100..=599, which RFC 9110 §15
    /// calls invalid (the parser never reports such a status).
    pub fn of(status: u16) -> Option<StatusClass> {
        match status {
            100..=199 => Some(StatusClass::Informational),
            200..=299 => Some(StatusClass::Success),
            300..=399 => Some(StatusClass::Redirect),
            400..=499 => Some(StatusClass::ClientError),
            500..=599 => Some(StatusClass::ServerError),
            _ => None,
        }
    }

    /// Whether a response of this class counts as a completed request: 2xx
    /// and 3xx, as wrk counts everything else as "Non-2xx or 3xx responses".
    pub fn is_completed(self) -> bool {
        matches!(self, StatusClass::Success | StatusClass::Redirect)
    }
}

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum State {
    StatusLine,
    Header,
    Body(u64),
    ChunkSize,
    ChunkData(u64),
    /// After chunk data, before its CRLF; `cr` once the CR is in.
    ChunkDataEnd {
        cr: bool,
    },
    Trailer,
    UntilClose,
    Failed(Malformed),
}

/// Content-Length as seen so far in this header section.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Length {
    Absent,
    Value(u64),
    Invalid,
}

/// The final transfer coding as seen so far in this header section.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Coding {
    Absent,
    /// Only empty list elements so far: present, but no coding yet.
    Empty,
    Chunked,
    Other,
    Invalid,
}

/// The field line before this one, for obs-fold (RFC 9112 §5.2).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Previous {
    None,
    Framing,
    Other,
}

/// Frames one HTTP/1.x response after another on a connection.
///
/// Feed it what arrives with [`feed`](Self::feed); at [`Progress::Done`] it
/// is ready for the next response (to the same kind of request; see
/// [`reset`](Self::reset)), and the bytes after `consumed` belong to it.
#[derive(Clone, Debug)]
pub struct ResponseParser {
    state: State,
    head: bool,
    status: u16,
    http10: bool,
    length: Length,
    coding: Coding,
    previous: Previous,
    /// Bytes of the current header section, chunk-size line or trailer
    /// section so far, held to [`MAX_SECTION`].
    section: usize,
    /// The start of a line whose end hasn't arrived yet.
    pending: Vec<u8>,
}

impl ResponseParser {
    /// A parser for the response to a request; `head_request` when it was a
    /// HEAD, whose response has no body whatever its header fields say
    /// (RFC 9112 §6.3 rule 1).
    pub fn new(head_request: bool) -> Self {
        ResponseParser {
            state: State::StatusLine,
            head: head_request,
            status: 0,
            http10: false,
            length: Length::Absent,
            coding: Coding::Absent,
            previous: Previous::None,
            section: 0,
            pending: Vec::new(),
        }
    }

    /// Start over at a response to a new request, forgetting any error and
    /// any partial response, and keeping the line buffer for reuse.
    pub fn reset(&mut self, head_request: bool) {
        self.head = head_request;
        self.pending.clear();
        self.start();
    }

    /// Take the next bytes of the connection.
    pub fn feed(&mut self, input: &[u8]) -> Progress {
        let mut pos = 0;
        loop {
            let rest = &input[pos..];
            match self.state {
                State::Failed(why) => return Progress::Invalid(why),
                _ if rest.is_empty() => return Progress::NeedMore,
                State::Body(remaining) => {
                    let n = take(remaining, rest.len());
                    pos += n;
                    if remaining == n as u64 {
                        return self.done(pos);
                    }
                    self.state = State::Body(remaining - n as u64);
                }
                State::ChunkData(remaining) => {
                    let n = take(remaining, rest.len());
                    pos += n;
                    self.state = if remaining == n as u64 {
                        State::ChunkDataEnd { cr: false }
                    } else {
                        State::ChunkData(remaining - n as u64)
                    };
                }
                State::ChunkDataEnd { cr } => {
                    pos += 1;
                    self.state = match (cr, rest[0]) {
                        (false, b'\r') => State::ChunkDataEnd { cr: true },
                        // A bare LF ends the line too (RFC 9112 §2.2).
                        (_, b'\n') => {
                            self.section = 0;
                            State::ChunkSize
                        }
                        _ => State::Failed(Malformed::ChunkData),
                    };
                }
                State::UntilClose => return Progress::NeedMore,
                State::StatusLine | State::Header | State::ChunkSize | State::Trailer => {
                    let Some(lf) = rest.iter().position(|&b| b == b'\n') else {
                        if self.section + rest.len() > MAX_SECTION {
                            return self.fail(Malformed::TooLarge);
                        }
                        self.section += rest.len();
                        self.pending.extend_from_slice(rest);
                        return Progress::NeedMore;
                    };
                    if self.section + lf + 1 > MAX_SECTION {
                        return self.fail(Malformed::TooLarge);
                    }
                    self.section += lf + 1;
                    pos += lf + 1;
                    let ended = if self.pending.is_empty() {
                        self.line(&rest[..lf])
                    } else {
                        let mut line = core::mem::take(&mut self.pending);
                        line.extend_from_slice(&rest[..lf]);
                        let ended = self.line(&line);
                        line.clear();
                        self.pending = line;
                        ended
                    };
                    match ended {
                        Ok(true) => return self.done(pos),
                        Ok(false) => {}
                        Err(why) => return self.fail(why),
                    }
                }
            }
        }
    }

    /// The server closed its side (FIN): the end of a response framed by
    /// the connection (RFC 9112 §6.3 rule 8), otherwise a truncated one
    /// (RFC 9112 §8).
    pub fn peer_closed(&mut self) -> Progress {
        match self.state {
            State::UntilClose => self.done(0),
            State::Failed(why) => Progress::Invalid(why),
            _ => self.fail(Malformed::Truncated),
        }
    }

    /// Forget the last response's header fields: the next line is a status
    /// line.
    fn start(&mut self) {
        self.state = State::StatusLine;
        self.status = 0;
        self.http10 = false;
        self.length = Length::Absent;
        self.coding = Coding::Absent;
        self.previous = Previous::None;
        self.section = 0;
    }

    fn done(&mut self, consumed: usize) -> Progress {
        let status = self.status;
        // One long line shouldn't pin its buffer to the connection for
        // good; the common short ones keep theirs.
        if self.pending.capacity() > 4096 {
            self.pending = Vec::new();
        }
        self.start();
        Progress::Done { status, consumed }
    }

    fn fail(&mut self, why: Malformed) -> Progress {
        self.state = State::Failed(why);
        self.pending = Vec::new();
        Progress::Invalid(why)
    }

    /// One line, without its LF; true when it ended the response.
    fn line(&mut self, line: &[u8]) -> Result<bool, Malformed> {
        // CRLF ends a line; a bare LF is taken too (RFC 9112 §2.2).
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        match self.state {
            State::StatusLine => {
                (self.status, self.http10) = status_line(line)?;
                self.state = State::Header;
                Ok(false)
            }
            State::Header if line.is_empty() => self.end_of_header(),
            State::Header => {
                self.field_line(line)?;
                Ok(false)
            }
            State::ChunkSize => {
                let size = chunk_size(line)?;
                self.section = 0;
                self.state = if size == 0 {
                    State::Trailer
                } else {
                    State::ChunkData(size)
                };
                Ok(false)
            }
            State::Trailer if line.is_empty() => Ok(true),
            State::Trailer => {
                // Trailer fields are never framing (RFC 9112 §7.1.2); a
                // folded one is as harmless as any other.
                if !matches!(line[0], b' ' | b'\t') {
                    field_name(line)?;
                }
                Ok(false)
            }
            _ => unreachable!("only line states read lines"),
        }
    }

    /// A header field line (RFC 9112 §5), interpreting only the framing
    /// fields.
    fn field_line(&mut self, line: &[u8]) -> Result<(), Malformed> {
        if matches!(line[0], b' ' | b'\t') {
            // obs-fold (RFC 9112 §5.2) continues the field before it: a
            // user agent may replace it with SP, which changes nothing for
            // a field we don't read, but would change a framing field's
            // value, and right after the status line there is nothing to
            // continue.
            return match self.previous {
                Previous::Other => Ok(()),
                Previous::None | Previous::Framing => Err(Malformed::FieldLine),
            };
        }
        let (name, value) = field_name(line)?;
        let value = trim_ows(value);
        if name.eq_ignore_ascii_case(b"content-length") {
            self.length = content_length(self.length, value);
            self.previous = Previous::Framing;
        } else if name.eq_ignore_ascii_case(b"transfer-encoding") {
            self.coding = transfer_encoding(self.coding, value);
            self.previous = Previous::Framing;
        } else {
            self.previous = Previous::Other;
        }
        Ok(())
    }

    /// The empty line after the header fields: where the body starts, and
    /// how it ends (RFC 9112 §6.3); true when the response ends with it.
    fn end_of_header(&mut self) -> Result<bool, Malformed> {
        // Rule 1: 1xx, 204, 304 and any response to HEAD end here. A 1xx
        // other than 101 is interim and the final response follows (RFC
        // 9110 §15.2); 101 hands the connection to another protocol, so
        // nothing HTTP follows, and we never ask for it.
        if (100..200).contains(&self.status) && self.status != 101 {
            self.start();
            return Ok(false);
        }
        if self.head || matches!(self.status, 101 | 204 | 304) {
            return Ok(true);
        }
        // Rule 2 (a 2xx to CONNECT) doesn't arise: we never send CONNECT.
        if self.coding != Coding::Absent {
            // Rule 3: Transfer-Encoding overrides Content-Length, invalid
            // or not. An HTTP/1.0 response can't carry it (§6.1).
            if self.http10 {
                return Err(Malformed::TransferEncoding);
            }
            self.state = match self.coding {
                Coding::Chunked => {
                    self.section = 0;
                    State::ChunkSize
                }
                // Rule 4: chunked isn't the final coding.
                Coding::Other => State::UntilClose,
                _ => return Err(Malformed::TransferEncoding),
            };
            return Ok(false);
        }
        match self.length {
            // Rule 5.
            Length::Invalid => Err(Malformed::ContentLength),
            // Rule 6.
            Length::Value(0) => Ok(true),
            Length::Value(n) => {
                self.state = State::Body(n);
                Ok(false)
            }
            // Rule 8.
            Length::Absent => {
                self.state = State::UntilClose;
                Ok(false)
            }
        }
    }
}

/// How much of `available` input bytes a body with `remaining` bytes left
/// takes.
fn take(remaining: u64, available: usize) -> usize {
    usize::try_from(remaining).map_or(available, |r| r.min(available))
}

/// `HTTP/1.x SP 3DIGIT [SP reason-phrase]` (RFC 9112 §4): the status and
/// whether the version is 1.0. The reason phrase is ignored, as §4 asks, and
/// may be missing with its SP, as some servers send it.
fn status_line(line: &[u8]) -> Result<(u16, bool), Malformed> {
    let [b'H', b'T', b'T', b'P', b'/', b'1', b'.', minor, b' ', d0, d1, d2, rest @ ..] = line
    else {
        return Err(Malformed::StatusLine);
    };
    if !minor.is_ascii_digit()
        || ![d0, d1, d2].iter().all(|d| d.is_ascii_digit())
        || rest.first().is_some_and(|&b| b != b' ')
    {
        return Err(Malformed::StatusLine);
    }
    let status = [d0, d1, d2]
        .iter()
        .fold(0u16, |n, &d| n * 10 + u16::from(d - b'0'));
    if !(100..=599).contains(&status) {
        return Err(Malformed::StatusLine);
    }
    Ok((status, *minor == b'0'))
}

/// A field line's name and raw value (RFC 9112 §5.1). Whitespace between
/// the name and the colon is dropped, as §5.1 has a proxy do for responses.
fn field_name(line: &[u8]) -> Result<(&[u8], &[u8]), Malformed> {
    let colon = line
        .iter()
        .position(|&b| b == b':')
        .ok_or(Malformed::FieldLine)?;
    let mut name = &line[..colon];
    while let [rest @ .., b' ' | b'\t'] = name {
        name = rest;
    }
    if name.is_empty() || !name.iter().all(|&b| is_tchar(b)) {
        return Err(Malformed::FieldLine);
    }
    Ok((name, &line[colon + 1..]))
}

/// Content-Length after one more field line (RFC 9110 §8.6): a decimal
/// number, or a list of the same one repeated, which a recipient may take
/// as that number; the same across field lines for the same reason.
fn content_length(seen: Length, value: &[u8]) -> Length {
    let mut length = seen;
    let mut any = false;
    for element in value.split(|&b| b == b',') {
        let element = trim_ows(element);
        if element.is_empty() {
            continue;
        }
        any = true;
        let Some(n) = decimal(element) else {
            return Length::Invalid;
        };
        length = match length {
            Length::Absent => Length::Value(n),
            Length::Value(m) if m == n => length,
            _ => return Length::Invalid,
        };
    }
    if any {
        length
    } else {
        Length::Invalid
    }
}

/// `1*DIGIT` as a u64; `None` when it isn't or overflows.
fn decimal(digits: &[u8]) -> Option<u64> {
    digits.iter().try_fold(0u64, |n, &d| {
        if !d.is_ascii_digit() {
            return None;
        }
        n.checked_mul(10)?.checked_add(u64::from(d - b'0'))
    })
}

/// The final transfer coding after one more Transfer-Encoding field line
/// (RFC 9112 §6.1): the last element of the list all its lines make
/// together, whose name is a token, case-insensitive, and whose parameters
/// may hold quoted commas.
fn transfer_encoding(seen: Coding, value: &[u8]) -> Coding {
    if seen == Coding::Invalid {
        return seen;
    }
    let mut last: Option<&[u8]> = None;
    let mut start = 0;
    let mut quoted = false;
    let mut escaped = false;
    for (i, &b) in value.iter().enumerate() {
        if quoted {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => quoted = false,
                _ => {}
            }
        } else if b == b'"' {
            quoted = true;
        } else if b == b',' {
            let element = trim_ows(&value[start..i]);
            if !element.is_empty() {
                last = Some(element);
            }
            start = i + 1;
        }
    }
    if quoted {
        return Coding::Invalid;
    }
    let element = trim_ows(&value[start..]);
    if !element.is_empty() {
        last = Some(element);
    }
    let Some(element) = last else {
        // RFC 9110 §5.6.1: empty elements don't count, but the field is
        // there.
        return if seen == Coding::Absent {
            Coding::Empty
        } else {
            seen
        };
    };
    let name = element.split(|&b| b == b';').next().unwrap_or(element);
    let name = trim_ows(name);
    if name.is_empty() || !name.iter().all(|&b| is_tchar(b)) {
        Coding::Invalid
    } else if name.eq_ignore_ascii_case(b"chunked") {
        Coding::Chunked
    } else {
        Coding::Other
    }
}

/// `chunk-size [ chunk-ext ]` (RFC 9112 §7.1): the size; extensions are
/// ignored, as §7.1.1 lets a recipient do with ones it doesn't understand.
fn chunk_size(line: &[u8]) -> Result<u64, Malformed> {
    let digits = line.iter().take_while(|b| b.is_ascii_hexdigit()).count();
    if digits == 0 {
        return Err(Malformed::ChunkSize);
    }
    let size = line[..digits].iter().try_fold(0u64, |n, &d| {
        let d = (d as char).to_digit(16)?;
        n.checked_mul(16)?.checked_add(u64::from(d))
    });
    // BWS before the first ';' (RFC 9112 §7.1.1); trailing whitespace
    // without an extension is taken too, as common clients do.
    let rest = trim_ows(&line[digits..]);
    match size {
        Some(size) if rest.is_empty() || rest[0] == b';' => Ok(size),
        _ => Err(Malformed::ChunkSize),
    }
}

/// Without leading and trailing SP and HTAB (OWS, RFC 9110 §5.6.3).
fn trim_ows(mut s: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = s {
        s = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = s {
        s = rest;
    }
    s
}

/// What a request's first line says about the responses to it, when it is
/// an HTTP/1.x request line.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct RequestLine {
    /// The method is HEAD: its responses have no body (RFC 9112 §6.3 rule 1).
    pub head: bool,
}

/// The request line at the start of `request`, when it is one of HTTP/1.x:
/// `method SP request-target SP HTTP/1.x` (RFC 9112 §3), the method a token
/// (compared case-sensitively, RFC 9110 §9.1), the target visible ASCII, and
/// the line ended by CRLF, or a bare LF as §2.2 lets a server take it.
/// `None` for anything else: another protocol, HTTP/2's preface, or a line
/// that never ends, which no server would answer as HTTP.
pub fn request_line(request: &[u8]) -> Option<RequestLine> {
    let lf = request.iter().position(|&b| b == b'\n')?;
    let line = &request[..lf];
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let mut parts = line.split(|&b| b == b' ');
    let (method, target, version) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some()
        || method.is_empty()
        || !method.iter().all(|&b| is_tchar(b))
        || target.is_empty()
        || !target.iter().all(|b| b.is_ascii_graphic())
    {
        return None;
    }
    match version {
        [b'H', b'T', b'T', b'P', b'/', b'1', b'.', minor] if minor.is_ascii_digit() => {
            Some(RequestLine {
                head: method == b"HEAD",
            })
        }
        _ => None,
    }
}

/// A token character (RFC 9110 §5.6.2).
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// What a response came to, with `Done`'s end as an offset into all
    /// the bytes fed rather than into the last input.
    #[derive(Copy, Clone, Debug, PartialEq, Eq)]
    enum Outcome {
        Done(u16, usize),
        NeedMore,
        Invalid(Malformed),
    }

    /// Feed `bytes` cut at `cuts` (sorted, within bounds) and stop at the
    /// first answer other than NeedMore.
    fn feed_cut(p: &mut ResponseParser, bytes: &[u8], cuts: &[usize]) -> Outcome {
        let mut start = 0;
        for &end in cuts.iter().chain([bytes.len()].iter()) {
            match p.feed(&bytes[start..end]) {
                Progress::NeedMore => {}
                Progress::Done { status, consumed } => {
                    assert!(consumed > 0 && consumed <= end - start);
                    return Outcome::Done(status, start + consumed);
                }
                Progress::Invalid(why) => return Outcome::Invalid(why),
            }
            start = end;
        }
        Outcome::NeedMore
    }

    /// The outcome of `bytes` as a response to a HEAD request (`head`) or
    /// not, checked to be the same whole, cut anywhere in two, and a byte
    /// at a time.
    fn outcome(head: bool, bytes: &[u8]) -> Outcome {
        let whole = feed_cut(&mut ResponseParser::new(head), bytes, &[]);
        for cut in 0..=bytes.len() {
            let got = feed_cut(&mut ResponseParser::new(head), bytes, &[cut]);
            assert_eq!(got, whole, "cut at {cut}");
        }
        let all: Vec<usize> = (0..=bytes.len()).collect();
        let got = feed_cut(&mut ResponseParser::new(head), bytes, &all);
        assert_eq!(got, whole, "a byte at a time");
        whole
    }

    fn get(bytes: &[u8]) -> Outcome {
        outcome(false, bytes)
    }

    /// The outcome of a response the server then closes the connection on.
    fn then_closed(bytes: &[u8]) -> Outcome {
        let mut p = ResponseParser::new(false);
        match feed_cut(&mut p, bytes, &[]) {
            Outcome::NeedMore => {}
            other => return other,
        }
        match p.peer_closed() {
            Progress::Done { status, consumed } => Outcome::Done(status, consumed),
            Progress::NeedMore => Outcome::NeedMore,
            Progress::Invalid(why) => Outcome::Invalid(why),
        }
    }

    fn done(status: u16, bytes: &[u8]) -> Outcome {
        Outcome::Done(status, bytes.len())
    }

    #[test]
    fn http1_request_lines_are_recognized_rfc9112_3() {
        let get = Some(RequestLine { head: false });
        let head = Some(RequestLine { head: true });
        for (request, want) in [
            (&b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"[..], get),
            (b"GET /missing?a=1 HTTP/1.0\r\n\r\n", get),
            (b"POST /form HTTP/1.1\r\nContent-Length: 0\r\n\r\n", get),
            // A bare LF ends the line too (RFC 9112 §2.2).
            (b"GET / HTTP/1.1\nHost: x\n\n", get),
            (b"HEAD / HTTP/1.1\r\nHost: x\r\n\r\n", head),
            // Methods are case-sensitive (RFC 9110 §9.1): not a HEAD.
            (b"head / HTTP/1.1\r\n\r\n", get),
            (b"OPTIONS * HTTP/1.1\r\n\r\n", get),
        ] {
            assert_eq!(request_line(request), want, "{}", request.escape_ascii());
        }
        for request in [
            &b""[..],
            b"hello\r\n",
            b"GET / HTTP/1.1",
            b"GET / HTTP/2.0\r\n\r\n",
            b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
            b"GET / HTTP/1.1 \r\n\r\n",
            b"GET  / HTTP/1.1\r\n\r\n",
            b"GET / http/1.1\r\n\r\n",
            b"GET / HTTP/1.x\r\n\r\n",
            b"GET /a\tb HTTP/1.1\r\n\r\n",
            b"G(T / HTTP/1.1\r\n\r\n",
            b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\n",
        ] {
            assert_eq!(request_line(request), None, "{}", request.escape_ascii());
        }
    }

    #[test]
    fn content_length_body_rfc9112_6_3_rule_6() {
        let r = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nServer: x\r\n\r\nhello";
        assert_eq!(get(r), done(200, r));
        // What follows is the next response's, not this one's.
        let mut two = r.to_vec();
        two.extend_from_slice(b"HTTP/1.1 404 Not Found\r\n");
        assert_eq!(get(&two), done(200, r));
        assert_eq!(get(&r[..r.len() - 1]), Outcome::NeedMore);
    }

    #[test]
    fn content_length_zero_ends_at_the_empty_line_rfc9112_6_3_rule_6() {
        let r = b"HTTP/1.1 500 Oops\r\nContent-Length: 0\r\n\r\n";
        assert_eq!(get(r), done(500, r));
    }

    #[test]
    fn content_length_repeated_with_one_value_rfc9110_8_6() {
        let r = b"HTTP/1.1 200 OK\r\nContent-Length: 3, 3\r\nContent-Length: 03\r\n\r\nabc";
        assert_eq!(get(r), done(200, r));
    }

    #[test]
    fn content_length_conflicting_or_invalid_rfc9112_6_3_rule_5() {
        for cl in [
            "Content-Length: 3\r\nContent-Length: 4",
            "Content-Length: 3, 4",
            "Content-Length: ",
            "Content-Length: ,",
            "Content-Length: abc",
            "Content-Length: -1",
            "Content-Length: +3",
            "Content-Length: 3 3",
            "Content-Length: 0x10",
            "Content-Length: 18446744073709551616",
        ] {
            let r = format!("HTTP/1.1 200 OK\r\n{cl}\r\n\r\nabc");
            assert_eq!(
                get(r.as_bytes()),
                Outcome::Invalid(Malformed::ContentLength),
                "{cl}"
            );
        }
        // The largest value is valid; its body just never ends here.
        let r = b"HTTP/1.1 200 OK\r\nContent-Length: 18446744073709551615\r\n\r\nabc";
        assert_eq!(get(r), Outcome::NeedMore);
    }

    #[test]
    fn chunked_with_extensions_and_trailers_rfc9112_7_1() {
        let r = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\
            5;a=b;c=\"d;e\\\"f\"\r\nhello\r\n\
            1A ; x\r\nabcdefghijklmnopqrstuvwxyz\r\n\
            009\r\n0\r\n\r\nabcd\r\n\
            0;last\r\nX-Trailer: 1\r\nExpires: never\r\n\r\n";
        assert_eq!(get(r), done(200, r));
        assert_eq!(get(&r[..r.len() - 2]), Outcome::NeedMore);
    }

    #[test]
    fn chunked_without_trailers_rfc9112_7_1() {
        let r = b"HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n";
        assert_eq!(get(r), done(201, r));
    }

    #[test]
    fn chunked_overrides_content_length_rfc9112_6_3_rule_3() {
        for cl in ["Content-Length: 100", "Content-Length: nonsense"] {
            let r = format!(
                "HTTP/1.1 200 OK\r\n{cl}\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n"
            );
            assert_eq!(get(r.as_bytes()), done(200, r.as_bytes()), "{cl}");
        }
    }

    #[test]
    fn final_transfer_coding_decides_rfc9112_6_1_and_6_3_rule_4() {
        let chunked = b"2\r\nhi\r\n0\r\n\r\n";
        for te in [
            "Transfer-Encoding: gzip, chunked",
            "Transfer-Encoding: gzip\r\nTransfer-Encoding: CHUNKED",
            "Transfer-Encoding: ,chunked,, ",
            "Transfer-Encoding:\r\nTransfer-Encoding: chunked",
            "Transfer-Encoding: x;p=\"a,b\", chunked ; q=1",
        ] {
            let mut r = format!("HTTP/1.1 200 OK\r\n{te}\r\n\r\n").into_bytes();
            r.extend_from_slice(chunked);
            assert_eq!(get(&r), done(200, &r), "{te}");
        }
        // Chunked not last: the body runs to the close (rule 4).
        for te in [
            "Transfer-Encoding: chunked, gzip",
            "Transfer-Encoding: chunked\r\nTransfer-Encoding: gzip",
            "Transfer-Encoding: gzip;p=\"a,chunked\"",
        ] {
            let mut r = format!("HTTP/1.1 200 OK\r\n{te}\r\n\r\n").into_bytes();
            r.extend_from_slice(chunked);
            assert_eq!(get(&r), Outcome::NeedMore, "{te}");
            assert_eq!(then_closed(&r), Outcome::Done(200, 0), "{te}");
        }
        for te in [
            "Transfer-Encoding:",
            "Transfer-Encoding: , ,",
            "Transfer-Encoding: chunked gzip",
            "Transfer-Encoding: ;p",
            "Transfer-Encoding: x;p=\"unterminated",
            "Transfer-Encoding: ch(unked\r\nTransfer-Encoding: chunked",
        ] {
            let r = format!("HTTP/1.1 200 OK\r\n{te}\r\nContent-Length: 0\r\n\r\n");
            assert_eq!(
                get(r.as_bytes()),
                Outcome::Invalid(Malformed::TransferEncoding),
                "{te}"
            );
        }
    }

    #[test]
    fn transfer_encoding_in_http_1_0_is_invalid_rfc9112_6_1() {
        let r = b"HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 2\r\n\r\nhi";
        assert_eq!(get(r), Outcome::Invalid(Malformed::TransferEncoding));
    }

    #[test]
    fn continue_then_ok_rfc9112_6_3_rule_1() {
        let r = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi";
        assert_eq!(get(r), done(200, r));
        assert_eq!(get(b"HTTP/1.1 100 Continue\r\n\r\n"), Outcome::NeedMore);
    }

    #[test]
    fn several_interim_responses_with_fields_rfc9110_15_2() {
        // A 1xx's Content-Length and Transfer-Encoding frame nothing.
        let r = b"HTTP/1.1 102 Processing\r\nContent-Length: 10\r\n\r\n\
            HTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\n\
            Transfer-Encoding: chunked\r\n\r\n\
            HTTP/1.1 199 Whatever\r\n\r\n\
            HTTP/1.1 302 Found\r\nLocation: /\r\nContent-Length: 0\r\n\r\n";
        assert_eq!(get(r), done(302, r));
    }

    #[test]
    fn switching_protocols_ends_the_exchange_rfc9110_15_2_2() {
        let r = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n";
        let mut more = r.to_vec();
        more.extend_from_slice(b"\x81\x00");
        assert_eq!(get(&more), done(101, r));
    }

    #[test]
    fn no_content_and_not_modified_have_no_body_rfc9112_6_3_rule_1() {
        for status in [204, 304] {
            let r = format!(
                "HTTP/1.1 {status} X\r\nContent-Length: 10\r\nTransfer-Encoding: chunked\r\n\r\n"
            );
            let mut more = r.clone().into_bytes();
            more.extend_from_slice(b"HTTP/1.1 200 OK\r\n");
            assert_eq!(get(&more), done(status, r.as_bytes()));
        }
    }

    #[test]
    fn response_to_head_has_no_body_rfc9112_6_3_rule_1() {
        for framing in [
            "Content-Length: 1000",
            "Transfer-Encoding: chunked",
            "Content-Length: bogus",
            "Connection: close",
        ] {
            let r = format!("HTTP/1.1 200 OK\r\n{framing}\r\n\r\n");
            assert_eq!(outcome(true, r.as_bytes()), done(200, r.as_bytes()));
            assert_ne!(get(r.as_bytes()), done(200, r.as_bytes()));
        }
    }

    #[test]
    fn body_to_the_close_rfc9112_6_3_rule_8() {
        for r in [
            &b"HTTP/1.0 200 OK\r\nServer: old\r\n\r\nall of this is body"[..],
            b"HTTP/1.1 503 Busy\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nx",
        ] {
            assert_eq!(get(r), Outcome::NeedMore);
            let status = if r.starts_with(b"HTTP/1.1 503") {
                503
            } else {
                200
            };
            assert_eq!(then_closed(r), Outcome::Done(status, 0));
        }
    }

    #[test]
    fn close_before_the_end_is_truncated_rfc9112_8() {
        for r in [
            &b""[..],
            b"HTTP/1.1 2",
            b"HTTP/1.1 200 OK\r\nContent-Le",
            b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhell",
            b"HTTP/1.1 100 Continue\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX: 1\r\n",
        ] {
            assert_eq!(
                then_closed(r),
                Outcome::Invalid(Malformed::Truncated),
                "{:?}",
                String::from_utf8_lossy(r)
            );
        }
    }

    #[test]
    fn field_names_are_case_insensitive_rfc9110_5_1() {
        let r = b"HTTP/1.1 200 OK\r\ncOnTeNt-LeNgTh: 2\r\n\r\nhi";
        assert_eq!(get(r), done(200, r));
        let r = b"HTTP/1.1 200 OK\r\nTRANSFER-ENCODING: Chunked\r\n\r\n0\r\n\r\n";
        assert_eq!(get(r), done(200, r));
    }

    #[test]
    fn bare_lf_ends_lines_rfc9112_2_2() {
        let r = b"HTTP/1.1 100 Continue\n\nHTTP/1.1 200 OK\nTransfer-Encoding: chunked\n\n\
            2\nhi\n0\nT: 1\n\n";
        assert_eq!(get(r), done(200, r));
        let r = b"HTTP/1.1 200 OK\r\nContent-Length: 2\n\r\nhi";
        assert_eq!(get(r), done(200, r));
    }

    #[test]
    fn whitespace_before_the_colon_is_dropped_rfc9112_5_1() {
        let r = b"HTTP/1.1 200 OK\r\nContent-Length \t: 2\r\n\r\nhi";
        assert_eq!(get(r), done(200, r));
    }

    #[test]
    fn obs_fold_rfc9112_5_2() {
        let r = b"HTTP/1.1 200 OK\r\nX-Long: a\r\n b\r\n\tc\r\nContent-Length: 2\r\n\r\nhi";
        assert_eq!(get(r), done(200, r));
        for bad in [
            &b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n 2\r\n\r\nhi"[..],
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip,\r\n chunked\r\n\r\n",
            b"HTTP/1.1 200 OK\r\n X: 1\r\nContent-Length: 0\r\n\r\n",
        ] {
            assert_eq!(get(bad), Outcome::Invalid(Malformed::FieldLine));
        }
    }

    #[test]
    fn malformed_status_lines_rfc9112_4() {
        for line in [
            "HTTP/2 200 OK",
            "HTTP/2.0 200 OK",
            "http/1.1 200 OK",
            "HTTP/1.1 20",
            "HTTP/1.1 2000",
            "HTTP/1.1 20x OK",
            "HTTP/1.1  200 OK",
            "HTTP/1.1 200\tOK",
            "HTTP/1.1 099 Low",
            "HTTP/1.1 600 High",
            "HTTP/1.1 000 Zero",
            "HTTP/1.x 200 OK",
            " HTTP/1.1 200 OK",
            "",
            "SSH-2.0-OpenSSH",
        ] {
            let r = format!("{line}\r\nContent-Length: 0\r\n\r\n");
            assert_eq!(
                get(r.as_bytes()),
                Outcome::Invalid(Malformed::StatusLine),
                "{line:?}"
            );
        }
        // No reason phrase, even without its SP, is taken.
        for line in ["HTTP/1.1 200 ", "HTTP/1.1 200", "HTTP/1.9 200 OK"] {
            let r = format!("{line}\r\nContent-Length: 0\r\n\r\n");
            assert_eq!(get(r.as_bytes()), done(200, r.as_bytes()), "{line:?}");
        }
    }

    #[test]
    fn malformed_field_lines_rfc9112_5_1() {
        for field in [
            "No colon here",
            ": empty name",
            "Bad(name): 1",
            "Bad name: 1",
        ] {
            let r = format!("HTTP/1.1 200 OK\r\n{field}\r\nContent-Length: 0\r\n\r\n");
            assert_eq!(
                get(r.as_bytes()),
                Outcome::Invalid(Malformed::FieldLine),
                "{field}"
            );
        }
        let r = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nbad trailer\r\n\r\n";
        assert_eq!(get(r), Outcome::Invalid(Malformed::FieldLine));
    }

    #[test]
    fn malformed_chunks_rfc9112_7_1() {
        let head = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
        for (chunks, why) in [
            ("xyz\r\n", Malformed::ChunkSize),
            ("\r\n", Malformed::ChunkSize),
            (";ext\r\n", Malformed::ChunkSize),
            (" 5\r\nhello\r\n", Malformed::ChunkSize),
            ("5 5\r\nhello\r\n", Malformed::ChunkSize),
            ("-5\r\nhello\r\n", Malformed::ChunkSize),
            ("10000000000000000\r\n", Malformed::ChunkSize),
            ("5\r\nhelloX\r\n", Malformed::ChunkData),
            ("5\r\nhello\r\r\n", Malformed::ChunkData),
            ("5\r\nhello\r\n0\r\n\r\r\n", Malformed::FieldLine),
        ] {
            let r = format!("{head}{chunks}0\r\n\r\n");
            assert_eq!(get(r.as_bytes()), Outcome::Invalid(why), "{chunks:?}");
        }
        // The largest size is valid; its data just never ends here.
        let r = format!("{head}ffffffffffffffff\r\nabc");
        assert_eq!(get(r.as_bytes()), Outcome::NeedMore);
    }

    /// A response whose header section is `len` bytes, with a body of "hi".
    fn header_section_of(len: usize) -> Vec<u8> {
        let start = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX: ";
        let mut r = start.to_vec();
        r.resize(len - 4, b'a');
        r.extend_from_slice(b"\r\n\r\nhi");
        r
    }

    #[test]
    fn header_section_is_bounded() {
        let r = header_section_of(MAX_SECTION);
        assert_eq!(
            feed_cut(&mut ResponseParser::new(false), &r, &[]),
            done(200, &r)
        );
        let r = header_section_of(MAX_SECTION + 1);
        assert_eq!(
            feed_cut(&mut ResponseParser::new(false), &r, &[]),
            Outcome::Invalid(Malformed::TooLarge)
        );
        // Trickled in, the partial line never outgrows the bound either.
        let mut p = ResponseParser::new(false);
        let mut r = b"HTTP/1.1 200 OK\r\nX: ".to_vec();
        r.resize(MAX_SECTION * 2, b'a');
        let mut last = Progress::NeedMore;
        for piece in r.chunks(1000) {
            last = p.feed(piece);
            assert!(p.pending.len() <= MAX_SECTION);
            if last != Progress::NeedMore {
                break;
            }
        }
        assert_eq!(last, Progress::Invalid(Malformed::TooLarge));
        assert_eq!(p.pending.capacity(), 0);
    }

    #[test]
    fn chunk_size_line_and_trailers_are_bounded() {
        let head = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
        let mut r = head.to_vec();
        r.extend_from_slice(b"1;");
        r.resize(head.len() + MAX_SECTION + 10, b'e');
        r.extend_from_slice(b"\r\nx\r\n0\r\n\r\n");
        assert_eq!(bounded(&r), Outcome::Invalid(Malformed::TooLarge));
        let mut r = head.to_vec();
        r.extend_from_slice(b"0\r\n");
        while r.len() < head.len() + MAX_SECTION + 10 {
            r.extend_from_slice(b"T: 1\r\n");
        }
        r.extend_from_slice(b"\r\n");
        assert_eq!(bounded(&r), Outcome::Invalid(Malformed::TooLarge));
    }

    /// Like [`outcome`] for a GET, for inputs too long to cut everywhere.
    fn bounded(bytes: &[u8]) -> Outcome {
        let whole = feed_cut(&mut ResponseParser::new(false), bytes, &[]);
        let cuts: Vec<usize> = (0..bytes.len()).step_by(997).collect();
        assert_eq!(
            feed_cut(&mut ResponseParser::new(false), bytes, &cuts),
            whole
        );
        whole
    }

    #[test]
    fn invalid_is_sticky_until_reset() {
        let mut p = ResponseParser::new(false);
        let bad = Progress::Invalid(Malformed::StatusLine);
        assert_eq!(p.feed(b"NOPE\r\n"), bad);
        assert_eq!(p.feed(b"HTTP/1.1 200 OK\r\n\r\n"), bad);
        assert_eq!(p.peer_closed(), bad);
        p.reset(true);
        assert_eq!(
            p.feed(b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n"),
            Progress::Done {
                status: 200,
                consumed: 38
            }
        );
    }

    #[test]
    fn pipelined_responses_follow_one_another_rfc9112_9_3_2() {
        let responses: [&[u8]; 4] = [
            b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc",
            b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 404 No\r\nContent-Length: 0\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nz\r\n0\r\n\r\n",
            b"HTTP/1.1 304 Not Modified\r\nContent-Length: 3\r\n\r\n",
        ];
        let all = responses.concat();
        let mut p = ResponseParser::new(false);
        let mut at = 0;
        for (r, status) in responses.iter().zip([200, 404, 200, 304]) {
            assert_eq!(
                p.feed(&all[at..]),
                Progress::Done {
                    status,
                    consumed: r.len()
                }
            );
            at += r.len();
        }
        assert_eq!(p.feed(&all[at..]), Progress::NeedMore);
    }

    #[test]
    fn status_classes_rfc9110_15() {
        let classes =
            [99, 100, 199, 200, 299, 300, 399, 400, 499, 500, 599, 600].map(StatusClass::of);
        use StatusClass::*;
        assert_eq!(
            classes,
            [
                None,
                Some(Informational),
                Some(Informational),
                Some(Success),
                Some(Success),
                Some(Redirect),
                Some(Redirect),
                Some(ClientError),
                Some(ClientError),
                Some(ServerError),
                Some(ServerError),
                None,
            ]
        );
        let completed: Vec<bool> = [Informational, Success, Redirect, ClientError, ServerError]
            .map(StatusClass::is_completed)
            .to_vec();
        assert_eq!(completed, [false, true, true, false, false]);
    }

    /// A generated valid response and the request it answers.
    #[derive(Clone)]
    struct Generated {
        bytes: Vec<u8>,
        head: bool,
        status: u16,
        /// Its body runs to the close.
        close: bool,
    }

    impl core::fmt::Debug for Generated {
        fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
            f.debug_struct("Generated")
                .field("bytes", &self.bytes.escape_ascii().to_string())
                .field("head", &self.head)
                .field("status", &self.status)
                .field("close", &self.close)
                .finish()
        }
    }

    /// What a generated response is made of.
    #[derive(Clone, Debug)]
    struct Spec {
        interim: Vec<u16>,
        status: u16,
        /// 0: Content-Length, 1: chunked, 2: no body, 3: to the close.
        framing: u8,
        body: Vec<u8>,
        /// Where chunks end, as indices into the body.
        chunk_ends: Vec<prop::sample::Index>,
        bare_lf: bool,
        extensions: bool,
        trailers: bool,
        http10: bool,
        /// Picks the field names' case, and which kind of no body.
        variant: u8,
    }

    /// Lines of a response being written, ending in CRLF or bare LF.
    struct Writer {
        bytes: Vec<u8>,
        eol: &'static [u8],
    }

    impl Writer {
        fn line(&mut self, s: impl AsRef<[u8]>) {
            self.bytes.extend_from_slice(s.as_ref());
            self.bytes.extend_from_slice(self.eol);
        }
    }

    fn build(spec: Spec) -> Generated {
        let Spec {
            interim,
            mut status,
            framing,
            body,
            chunk_ends,
            bare_lf,
            extensions,
            trailers,
            http10,
            variant,
        } = spec;
        let mut head = false;
        if framing == 2 {
            match variant % 3 {
                0 => status = 204,
                1 => status = 304,
                _ => head = true,
            }
        }
        let name = |n: &str| -> String {
            match variant % 4 {
                0 => n.to_string(),
                1 => n.to_ascii_lowercase(),
                2 => n.to_ascii_uppercase(),
                _ => n
                    .chars()
                    .enumerate()
                    .map(|(i, c)| match i % 2 {
                        0 => c.to_ascii_uppercase(),
                        _ => c.to_ascii_lowercase(),
                    })
                    .collect(),
            }
        };
        let mut w = Writer {
            bytes: Vec::new(),
            eol: if bare_lf { b"\n" } else { b"\r\n" },
        };
        for s in interim {
            w.line(format!("HTTP/1.1 {s} Interim"));
            w.line("");
        }
        let version = if http10 && framing != 1 { "1.0" } else { "1.1" };
        w.line(format!("HTTP/{version} {status} Reason"));
        w.line("Server: synwave-test");
        match framing {
            0 => w.line(format!("{}: {}", name("Content-Length"), body.len())),
            1 => {
                // Overridden by the chunked coding (RFC 9112 §6.3 rule 3).
                w.line(format!("{}: 999", name("Content-Length")));
                w.line(format!("{}: chunked", name("Transfer-Encoding")));
            }
            2 => w.line(format!("{}: 123", name("Content-Length"))),
            _ => {}
        }
        w.line("");
        match framing {
            0 | 3 => w.bytes.extend_from_slice(&body),
            1 => {
                let mut ends: Vec<usize> = chunk_ends
                    .iter()
                    .map(|i| i.index(body.len() + 1))
                    .chain([body.len()])
                    .collect();
                ends.sort_unstable();
                ends.dedup();
                let mut at = 0;
                for end in ends.into_iter().filter(|&e| e > 0) {
                    let ext = if extensions { ";a=\"1;2\\\"\";b" } else { "" };
                    w.line(format!("{:X}{ext}", end - at));
                    w.line(&body[at..end]);
                    at = end;
                }
                w.line("0");
                if trailers {
                    w.line("X-Checksum: 1");
                }
                w.line("");
            }
            _ => {}
        }
        Generated {
            bytes: w.bytes,
            head,
            status,
            close: framing == 3,
        }
    }

    /// Any valid response (one that runs to the close only when
    /// `may_close`): interim responses first, framing by Content-Length,
    /// chunked (with extensions and trailers or not), none or the close,
    /// body bytes of any value, field names in any case, CRLF or bare LF.
    fn response(may_close: bool) -> impl Strategy<Value = Generated> {
        (
            (
                prop::collection::vec(prop::sample::select(vec![100u16, 102, 103]), 0..3),
                prop_oneof![200u16..204, 205u16..304, 305u16..600],
                0..if may_close { 4u8 } else { 3 },
                prop::collection::vec(any::<u8>(), 0..300),
                prop::collection::vec(any::<prop::sample::Index>(), 0..6),
            ),
            any::<(bool, bool, bool, bool, u8)>(),
        )
            .prop_map(
                |(
                    (interim, status, framing, body, chunk_ends),
                    (bare_lf, extensions, trailers, http10, variant),
                )| Spec {
                    interim,
                    status,
                    framing,
                    body,
                    chunk_ends,
                    bare_lf,
                    extensions,
                    trailers,
                    http10,
                    variant,
                },
            )
            .prop_map(build)
    }

    /// Sorted cut points into `len` bytes, `len` last.
    fn cut_points(cuts: &[prop::sample::Index], len: usize) -> Vec<usize> {
        let mut cuts: Vec<usize> = cuts.iter().map(|i| i.index(len + 1)).collect();
        cuts.push(len);
        cuts.sort_unstable();
        cuts
    }

    /// Bytes that reach deep into the parser more often than uniform ones:
    /// pieces of valid responses, glued at random, with random bytes too.
    fn junk() -> impl Strategy<Value = Vec<u8>> {
        let piece = prop_oneof![
            prop::sample::select(vec![
                &b"HTTP/1.1 200 OK\r\n"[..],
                b"HTTP/1.0 100 Continue\r\n",
                b"HTTP/1.1 204 \r\n",
                b"Content-Length: 3\r\n",
                b"Content-Length: 99999999999999999999\r\n",
                b"Transfer-Encoding: chunked\r\n",
                b"Transfer-Encoding: gzip;q=\"\r\n",
                b"\r\n",
                b"\n",
                b"\r",
                b" folded\r\n",
                b"5;x\r\n",
                b"0\r\n",
                b"fffffffffffffffff\r\n",
                b"hello",
            ])
            .prop_map(<[u8]>::to_vec),
            prop::collection::vec(any::<u8>(), 1..8),
        ];
        prop::collection::vec(piece, 0..30).prop_map(|v| v.concat())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        /// Any valid response, cut anywhere, is Done with its status exactly
        /// at its end (RFC 9112 §6.3), and the pipelined response after it
        /// (RFC 9112 §9.3.2) parses from the bytes it left.
        #[test]
        fn valid_responses_cut_anywhere_end_at_their_end(
            first in response(false),
            second in response(true),
            cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..12),
        ) {
            let all = [first.bytes.as_slice(), second.bytes.as_slice()].concat();
            let mut p = ResponseParser::new(first.head);
            let mut expect = vec![
                (first.status, first.bytes.len()),
                (second.status, all.len()),
            ]
            .into_iter();
            let mut next = expect.next();
            let mut start = 0;
            for end in cut_points(&cuts, all.len()) {
                let mut at = start;
                loop {
                    match p.feed(&all[at..end]) {
                        Progress::NeedMore => break,
                        Progress::Done { status, consumed } => {
                            prop_assert_eq!(Some((status, at + consumed)), next);
                            at += consumed;
                            next = expect.next();
                            p.reset(second.head);
                        }
                        Progress::Invalid(why) => prop_assert!(false, "invalid: {}", why),
                    }
                }
                start = end;
            }
            if second.close {
                prop_assert_eq!(
                    p.peer_closed(),
                    Progress::Done { status: second.status, consumed: 0 }
                );
                next = expect.next();
            }
            prop_assert_eq!(next, None);
        }

        /// Whatever arrives, cut however, the parser answers without
        /// panicking, never claims more than it was given, holds no more
        /// than the bound, and stays Invalid once it is.
        #[test]
        fn arbitrary_bytes_never_panic(
            bytes in junk(),
            cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..12),
            head: bool,
        ) {
            let mut p = ResponseParser::new(head);
            let mut failed = None;
            let mut start = 0;
            for end in cut_points(&cuts, bytes.len()) {
                let mut at = start;
                loop {
                    let got = p.feed(&bytes[at..end]);
                    prop_assert!(p.pending.len() <= MAX_SECTION);
                    if let Some(why) = failed {
                        prop_assert_eq!(got, Progress::Invalid(why));
                    }
                    match got {
                        Progress::Done { consumed, .. } => {
                            prop_assert!(consumed > 0 && consumed <= end - at);
                            at += consumed;
                        }
                        Progress::Invalid(why) => {
                            failed = Some(why);
                            break;
                        }
                        Progress::NeedMore => break,
                    }
                }
                start = end;
            }
            let _ = p.peer_closed();
        }
    }
}
