//! `synwave load --pcap FILE --pcap-connections N` against nginx (and
//! `connect`, which shares the flags): the file parses (tcpdump reads it,
//! and so does `common::read_pcap_records`), and it holds exactly N
//! connections, each whole from its three-way handshake (RFC 9293 §3.5)
//! on, and no frame of any other connection.
//!
//! synwave in namespace A on `sw0`, nginx in namespace B on `sw1`; each
//! test starts with [`common::Bed`] (see `tests/common` for the harness).

mod common;

use std::collections::BTreeMap;
use std::process::Command;
use std::time::{Duration, SystemTime};

use common::{
    count, describe, ns_cmd, parse_json, read_pcap_records, run_to_end, s, Bed, Nginx, Seg, BIN,
};
use synwave::io::testbed::{IFACE_A, IP_A, IP_B};

/// One captured segment of a connection to nginx's port 80.
fn unix_nanos() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
}

/// Runs `synwave ARGS --pcap FILE --pcap-connections N` in namespace A
/// against nginx and reads the capture back, checking what any capture
/// must be: tcpdump reads it, one line per record; it is whole; synwave
/// says what it wrote; every record is a TCP frame between synwave and
/// nginx:80 stamped with wall-clock time during the run, in time order;
/// exactly `n` distinct 4-tuples; and each of those connections starts
/// with its three-way handshake and holds no other. Returns the segments
/// by our port, and synwave's JSON summary.
fn sample(
    bed: &Bed,
    tag: &str,
    args: &[&str],
    n: usize,
) -> (BTreeMap<u16, Vec<Seg>>, serde_json::Value) {
    let (tb, scratch) = (&bed.tb, &bed.scratch);
    let file = scratch.path(&format!("{tag}.pcap"));
    let n_arg = n.to_string();
    let before = unix_nanos();
    let mut cmd = ns_cmd(tb.ns_a(), BIN);
    cmd.args(args)
        .args(["--iface", IFACE_A, "--target", "10.77.0.2:80"])
        .args(["--pcap", s(&file), "--pcap-connections", &n_arg, "--json"]);
    let what = format!("synwave {} --pcap", args.join(" "));
    let f = run_to_end(&what, cmd, scratch, tag, Duration::from_secs(60));
    let after = unix_nanos();
    assert_eq!(f.status.code(), Some(0), "{what}: {}", f.describe());
    let v = parse_json(&what, &f.stdout);

    let dump = Command::new("tcpdump")
        .args(["-r", s(&file), "-nn"])
        .output()
        .expect("run tcpdump");
    let text = String::from_utf8_lossy(&dump.stdout);
    assert!(
        dump.status.success(),
        "tcpdump -r: {}\n{text}",
        String::from_utf8_lossy(&dump.stderr)
    );
    let records = read_pcap_records(&file);
    let size = std::fs::metadata(&file).unwrap().len() as usize;
    let parsed: usize = 24 + records.iter().map(|(_, r)| 16 + r.len()).sum::<usize>();
    assert_eq!(size, parsed, "{what}: bytes after the last record");
    assert_eq!(text.lines().count(), records.len(), "tcpdump -r:\n{text}");
    assert!(
        f.stderr.contains(&format!(
            "wrote {} frame(s) of {n} connection(s) to {}",
            records.len(),
            s(&file)
        )),
        "{what}: {}",
        f.describe()
    );

    let mut conns: BTreeMap<u16, Vec<Seg>> = BTreeMap::new();
    let mut last = 0;
    for (at, frame) in &records {
        assert!(
            (before..=after).contains(at),
            "{what}: timestamp {at} outside the run [{before}, {after}]"
        );
        assert!(*at >= last, "{what}: records out of time order");
        last = *at;
        let t = synwave::wire::parse_tcp_frame(frame, true).expect("a TCP/IPv4 frame");
        let ours = t.ip.src == IP_A && t.ip.dst == IP_B && t.tcp.dst_port == 80;
        let theirs = t.ip.src == IP_B && t.ip.dst == IP_A && t.tcp.src_port == 80;
        assert!(ours || theirs, "{what}: a frame of neither side: {t:?}");
        let port = if ours { t.tcp.src_port } else { t.tcp.dst_port };
        conns.entry(port).or_default().push(Seg::new(&t, ours));
    }
    assert_eq!(
        conns.len(),
        n,
        "{what}: distinct 4-tuples in the capture: {:?}",
        conns.keys()
    );

    for (port, segs) in &conns {
        let d = describe(segs);
        assert!(segs.len() >= 3, "port {port}: no whole handshake:\n{d}");
        // RFC 9293 §3.5: SYN seq=x; SYN-ACK seq=y ack=x+1; ACK seq=x+1
        // ack=y+1 (it may carry the request: synwave sends its ACKs with
        // the turn's data).
        let (syn, syn_ack, ack) = (&segs[0], &segs[1], &segs[2]);
        assert!(
            syn.ours && syn.syn && !syn.ack_set,
            "port {port}: first is not our SYN:\n{d}"
        );
        let x = syn.seq;
        assert!(
            !syn_ack.ours && syn_ack.syn && syn_ack.ack_set && syn_ack.ack == x.wrapping_add(1),
            "port {port}: second is not nginx's SYN-ACK of x+1:\n{d}"
        );
        let y = syn_ack.seq;
        assert!(
            ack.ours
                && !ack.syn
                && ack.ack_set
                && ack.seq == x.wrapping_add(1)
                && ack.ack == y.wrapping_add(1),
            "port {port}: third is not our ACK seq=x+1 ack=y+1:\n{d}"
        );
        // One connection per tuple: no SYN (another connection) or RST
        // after the handshake.
        assert!(
            segs[3..].iter().all(|g| !g.syn && !g.rst),
            "port {port}: a SYN or RST after the handshake:\n{d}"
        );
        // Closed by us first (FIN), as both commands do by default.
        assert!(
            segs.iter().any(|g| g.ours && g.fin),
            "port {port}: no FIN of ours:\n{d}"
        );
    }
    (conns, v)
}

#[test]
fn pcap_holds_exactly_the_first_connections_from_their_handshakes() {
    let Some(bed) = Bed::new(
        "pcap_holds_exactly_the_first_connections_from_their_handshakes",
        "swi-pcap",
    ) else {
        return;
    };
    let _nginx = Nginx::start(&bed.tb);
    let (conns, v) = sample(
        &bed,
        "load",
        &[
            "load",
            "--connections",
            "50",
            "--concurrency",
            "8",
            "--request",
            "GET / HTTP/1.1\\r\\nHost: {host}\\r\\n\\r\\n",
        ],
        5,
    );
    assert_eq!(count(&v, "completed"), 50, "{v}");
    // And the rest of each: the request, nginx's 200, nginx's FIN.
    for (port, segs) in &conns {
        let d = describe(segs);
        assert!(
            segs.iter()
                .any(|g| g.ours && g.payload.starts_with(b"GET / HTTP/1.1\r\n")),
            "port {port}: no request:\n{d}"
        );
        assert!(
            segs.iter()
                .any(|g| !g.ours && g.payload.starts_with(b"HTTP/1.1 200")),
            "port {port}: no response:\n{d}"
        );
        assert!(
            segs.iter().any(|g| !g.ours && g.fin),
            "port {port}: no FIN from nginx:\n{d}"
        );
    }
}

#[test]
fn connect_pcap_holds_its_first_handshakes() {
    let Some(bed) = Bed::new("connect_pcap_holds_its_first_handshakes", "swi-pcc") else {
        return;
    };
    let _nginx = Nginx::start(&bed.tb);
    let (_, v) = sample(
        &bed,
        "connect",
        &["connect", "--count", "20", "--concurrency", "4"],
        3,
    );
    assert_eq!(count(&v, "opened"), 20, "{v}");
}

#[test]
fn pcap_connections_without_pcap_is_refused() {
    let out = Command::new(BIN)
        .args([
            "load",
            "--iface",
            IFACE_A,
            "--target",
            "10.77.0.2:80",
            "--concurrency",
            "1",
            "--pcap-connections",
            "3",
        ])
        .output()
        .expect("run synwave");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--pcap <FILE>"), "{err}");
}
