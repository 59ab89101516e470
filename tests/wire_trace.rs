//! One `synwave connect` to a kernel listener, captured with tcpdump on the
//! kernel's side of the veth: the handshake's and the teardown's sequence
//! and acknowledgment numbers checked segment by segment.
//!
//! synwave in namespace A on `sw0`, the kernel in namespace B on `sw1`; each
//! test starts with [`common::Bed`] (see `tests/common` for the harness).

mod common;

use std::thread;
use std::time::Duration;

use common::{
    assert_counts, describe, ns_cmd, read_pcap, run_connect, s, segments, Bed, Behaviour,
    KernelServer, Proc, Seg, KERNEL_PORT, MSL_MS, PROC_TIMEOUT, REQUEST, RESPONSE,
};
use synwave::io::testbed::{IFACE_B, IP_B};

#[test]
fn handshake_and_teardown_seq_ack_arithmetic() {
    let Some(bed) = Bed::new("handshake_and_teardown_seq_ack_arithmetic", "swi-seq") else {
        return;
    };
    let (tb, scratch) = (&bed.tb, &bed.scratch);
    let request = scratch.write("request", REQUEST);
    let pcap = scratch.path("capture.pcap");
    let server = KernelServer::start(tb.ns_b(), KERNEL_PORT, Behaviour::Respond, 1);

    let mut dump_cmd = ns_cmd(tb.ns_b(), "tcpdump");
    let port = KERNEL_PORT.to_string();
    // --immediate-mode: hand each packet over at once; otherwise packets
    // still sitting in the capture ring's current block (up to a second)
    // are lost when SIGINT ends tcpdump. -Z root: write the file without
    // dropping to the tcpdump user.
    dump_cmd.args([
        "-i",
        IFACE_B,
        "-n",
        "-s",
        "0",
        "-U",
        "--immediate-mode",
        "-Z",
        "root",
        "-w",
        s(&pcap),
        "tcp",
        "port",
        &port,
    ]);
    let mut dump = Proc::spawn("tcpdump", dump_cmd, scratch, "tcpdump");
    dump.wait_for_stderr("listening on", PROC_TIMEOUT);

    let target = format!("{IP_B}:{KERNEL_PORT}");
    let msl = MSL_MS.to_string();
    let v = run_connect(
        tb,
        scratch,
        "connect",
        &[
            "--target",
            &target,
            "--count",
            "1",
            "--request",
            s(&request),
            "--msl-ms",
            &msl,
            "--drain",
        ],
    );
    assert_counts(
        "synwave connect",
        &v,
        &[
            ("connected", 1),
            ("closed", 1),
            ("reset", 0),
            ("timed_out", 0),
        ],
    );
    thread::sleep(Duration::from_millis(100));
    dump.signal(libc::SIGINT);
    let st = dump.wait_or_panic(PROC_TIMEOUT);
    assert!(st.success(), "tcpdump: {st}\n{}", dump.stderr());
    let (served, errors) = server.finish();
    assert!(errors.is_empty(), "kernel server errors: {errors:?}");
    assert_eq!(served, 1);

    let segs: Vec<Seg> = segments(&read_pcap(&pcap), KERNEL_PORT);
    let trace = describe(&segs);
    let find = |pred: &dyn Fn(&Seg) -> bool, what: &str| -> usize {
        segs.iter()
            .position(pred)
            .unwrap_or_else(|| panic!("no {what} in the capture:\n{trace}"))
    };

    assert!(!segs.iter().any(|g| g.rst), "RST on the wire:\n{trace}");

    // SYN: seq = x.
    let i_syn = find(&|g| g.ours && g.syn && !g.ack_set, "SYN from synwave");
    let x = segs[i_syn].seq;
    // SYN-ACK: seq = y, ack = x + 1.
    let i_synack = find(
        &|g| !g.ours && g.syn && g.ack_set,
        "SYN-ACK from the kernel",
    );
    assert!(i_synack > i_syn, "SYN-ACK before SYN:\n{trace}");
    let y = segs[i_synack].seq;
    assert_eq!(
        segs[i_synack].ack,
        x.wrapping_add(1),
        "SYN-ACK ack != x+1:\n{trace}"
    );
    // Third segment: seq = x + 1, ack = y + 1.
    let third = segs[i_synack + 1..]
        .iter()
        .find(|g| g.ours)
        .unwrap_or_else(|| panic!("no third segment:\n{trace}"));
    assert!(third.ack_set && !third.syn, "third segment flags:\n{trace}");
    assert_eq!(
        third.seq,
        x.wrapping_add(1),
        "third segment seq != x+1:\n{trace}"
    );
    assert_eq!(
        third.ack,
        y.wrapping_add(1),
        "third segment ack != y+1:\n{trace}"
    );

    // The request and the response, whole and in order.
    let sent: Vec<u8> = segs
        .iter()
        .filter(|g| g.ours)
        .flat_map(|g| g.payload.clone())
        .collect();
    let got: Vec<u8> = segs
        .iter()
        .filter(|g| !g.ours)
        .flat_map(|g| g.payload.clone())
        .collect();
    assert_eq!(sent, REQUEST, "request bytes on the wire:\n{trace}");
    assert_eq!(got, RESPONSE, "response bytes on the wire:\n{trace}");

    // synwave's FIN sits right after its request: u = x + 1 + len(request),
    // and the kernel acknowledges it with u + 1.
    let i_fin = find(&|g| g.ours && g.fin, "FIN from synwave");
    let fin = &segs[i_fin];
    let u = fin.seq.wrapping_add(fin.payload.len() as u32);
    assert_eq!(
        u,
        x.wrapping_add(1).wrapping_add(REQUEST.len() as u32),
        "synwave's FIN is not right after its request:\n{trace}"
    );
    find(
        &|g| !g.ours && g.ack_set && g.ack == u.wrapping_add(1),
        "kernel ACK of synwave's FIN (ack = u+1)",
    );
    // The kernel's FIN: w = y + 1 + len(response), acknowledged with w + 1.
    let i_kfin = find(&|g| !g.ours && g.fin, "FIN from the kernel");
    let kfin = &segs[i_kfin];
    let w = kfin.seq.wrapping_add(kfin.payload.len() as u32);
    assert_eq!(
        w,
        y.wrapping_add(1).wrapping_add(RESPONSE.len() as u32),
        "kernel's FIN is not right after its response:\n{trace}"
    );
    let i_last = find(
        &|g| g.ours && g.ack_set && g.ack == w.wrapping_add(1),
        "synwave's ACK of the kernel's FIN (ack = w+1)",
    );
    assert!(
        i_last > i_kfin,
        "FIN acknowledged before it was sent:\n{trace}"
    );
    // Nothing from synwave ever claims more than the kernel sent.
    for g in segs.iter().filter(|g| g.ours && g.ack_set) {
        let beyond = g.ack.wrapping_sub(w.wrapping_add(1)) as i32;
        assert!(
            beyond <= 0,
            "synwave acknowledged beyond the kernel's FIN:\n{trace}"
        );
    }
}
