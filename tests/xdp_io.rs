//! End-to-end tests of the AF_XDP data path over a veth testbed.
//!
//! Each test builds its own [`Testbed`] (uniquely named namespaces), so they
//! run in parallel. Code that must live in a namespace runs on a dedicated
//! thread that enters it first: namespaces are per thread.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use common::{parse_tcp, require_root_or_skip, rst_for_syn, TCP_SYN};
use synwave::io::testbed::{run_cmd, IFACE_A, IFACE_B, IP_A, IP_B};
use synwave::io::{
    netdev, netns, AttachMode, Error, Testbed, XdpMode, XdpProgram, XskConfig, XskSocket,
};

const WAIT: Duration = Duration::from_secs(5);

/// `ip -d link show sw0` in namespace A.
fn link_details(tb: &Testbed) -> String {
    tb.ip_a(&["-d", "link", "show", IFACE_A])
        .unwrap_or_else(|e| panic!("{e}"))
}

fn has_xdp(tb: &Testbed) -> bool {
    link_details(tb).contains("prog/xdp")
}

/// Spawns a thread in namespace `ns` running `f`.
fn spawn_in<T: Send + 'static>(
    ns: &str,
    f: impl FnOnce() -> T + Send + 'static,
) -> thread::JoinHandle<T> {
    let ns = ns.to_string();
    thread::spawn(move || {
        netns::enter(&ns).unwrap_or_else(|e| panic!("{e}"));
        f()
    })
}

#[test]
fn syn_reaches_af_xdp_and_our_rst_refuses_the_connection() {
    if !require_root_or_skip("syn_reaches_af_xdp_and_our_rst_refuses_the_connection") {
        return;
    }
    let tb = Testbed::up("swt-syn").unwrap_or_else(|e| panic!("{e}"));
    const PORT: u16 = 7001;
    let (ready_tx, ready_rx) = mpsc::channel::<Result<(), String>>();

    let engine = spawn_in(
        tb.ns_a(),
        move || -> Result<(common::TcpFrame, synwave::app::report::XdpCounters), String> {
            let setup = || -> Result<(XdpProgram, Vec<XskSocket>), Error> {
                let mut prog = XdpProgram::attach(IFACE_A, XdpMode::Auto)?;
                let mut socks = Vec::new();
                for q in 0..netdev::rx_queue_count(IFACE_A)? {
                    let s = XskSocket::open(IFACE_A, q, &XskConfig::default())?;
                    // veth has no zero-copy: Auto must have fallen back to copy mode.
                    assert!(!s.is_zero_copy());
                    prog.register_xsk(&s)?;
                    socks.push(s);
                }
                prog.add_listener(IP_A, PORT)?;
                Ok((prog, socks))
            };
            let (prog, mut socks) = match setup() {
                Ok(v) => v,
                Err(e) => {
                    let _ = ready_tx.send(Err(e.to_string()));
                    return Err(e.to_string());
                }
            };
            let _ = ready_tx.send(Ok(()));
            let deadline = Instant::now() + WAIT;
            while Instant::now() < deadline {
                for s in &mut socks {
                    let mut syn = None;
                    s.recv(|f| {
                        if let Some(t) = parse_tcp(f) {
                            if t.dport == PORT && t.flags & TCP_SYN != 0 {
                                syn = Some(t);
                            }
                        }
                    })
                    .map_err(|e| e.to_string())?;
                    if let Some(syn) = syn {
                        let rst = rst_for_syn(&syn);
                        let sent = s.send([rst.as_slice()]).map_err(|e| e.to_string())?;
                        if sent != 1 {
                            return Err("tx ring refused the RST".into());
                        }
                        // Give the peer time to process before the program goes.
                        thread::sleep(Duration::from_millis(200));
                        let counters = prog.counters().map_err(|e| e.to_string())?;
                        return Ok((syn, counters));
                    }
                    s.poll_readable(20).map_err(|e| e.to_string())?;
                }
            }
            Err("no SYN reached the AF_XDP socket".into())
        },
    );

    match ready_rx.recv_timeout(WAIT) {
        Ok(Ok(())) => {}
        Ok(Err(e)) => panic!("setup in {}: {e}", tb.ns_a()),
        Err(e) => panic!("engine thread never got ready: {e}"),
    }
    let peer = spawn_in(tb.ns_b(), move || {
        TcpStream::connect_timeout(&SocketAddr::from((IP_A, PORT)), WAIT)
    });
    let connect = peer.join().expect("peer thread panicked");
    let (syn, counters) = engine
        .join()
        .expect("engine thread panicked")
        .unwrap_or_else(|e| panic!("{e}"));

    match connect {
        Err(e) => assert_eq!(
            e.kind(),
            std::io::ErrorKind::ConnectionRefused,
            "connect failed, but not with ConnectionRefused: {e}"
        ),
        Ok(_) => panic!("connect succeeded: the kernel, not our RST, answered the SYN"),
    }
    assert_eq!(syn.ip_src, IP_B.octets());
    assert_eq!(syn.ip_dst, IP_A.octets());
    assert!(
        syn.csum_ok,
        "SYN checksum does not verify: is tx checksum offload off on {IFACE_B}?"
    );
    assert!(counters.redirected >= 1, "{counters:?}");
    assert_eq!(counters.no_xsk, 0, "{counters:?}");
}

#[test]
fn other_traffic_passes_to_the_kernel() {
    if !require_root_or_skip("other_traffic_passes_to_the_kernel") {
        return;
    }
    let tb = Testbed::up("swt-pass").unwrap_or_else(|e| panic!("{e}"));
    const STEERED: u16 = 7001;
    const KERNEL: u16 = 7002;
    let (ready_tx, ready_rx) = mpsc::channel::<Result<(), String>>();
    let (done_tx, done_rx) = mpsc::channel::<()>();

    let side_a = spawn_in(
        tb.ns_a(),
        move || -> Result<(Vec<u8>, synwave::app::report::XdpCounters), String> {
            let setup =
                || -> Result<(XdpProgram, XskSocket, TcpListener, std::net::UdpSocket), Error> {
                    let mut prog = XdpProgram::attach(IFACE_A, XdpMode::Auto)?;
                    let s = XskSocket::open(IFACE_A, 0, &XskConfig::default())?;
                    prog.register_xsk(&s)?;
                    prog.add_listener(IP_A, STEERED)?;
                    prog.set_client_ports(IP_A, 40000, 40999)?;
                    let l = TcpListener::bind((IP_A, KERNEL))
                        .map_err(|e| Error::Config(e.to_string()))?;
                    let u = std::net::UdpSocket::bind((IP_A, KERNEL))
                        .map_err(|e| Error::Config(e.to_string()))?;
                    Ok((prog, s, l, u))
                };
            let (prog, _sock, listener, udp) = match setup() {
                Ok(v) => v,
                Err(e) => {
                    let _ = ready_tx.send(Err(e.to_string()));
                    return Err(e.to_string());
                }
            };
            let _ = ready_tx.send(Ok(()));
            listener.set_nonblocking(true).map_err(|e| e.to_string())?;
            let deadline = Instant::now() + WAIT;
            let (mut conn, _) = loop {
                match listener.accept() {
                    Ok(c) => break c,
                    Err(e)
                        if e.kind() == std::io::ErrorKind::WouldBlock
                            && Instant::now() < deadline =>
                    {
                        thread::sleep(Duration::from_millis(10))
                    }
                    Err(e) => return Err(format!("accept: {e}")),
                }
            };
            conn.set_nonblocking(false).map_err(|e| e.to_string())?;
            conn.set_read_timeout(Some(WAIT))
                .map_err(|e| e.to_string())?;
            let mut buf = [0u8; 5];
            conn.read_exact(&mut buf)
                .map_err(|e| format!("read: {e}"))?;
            conn.write_all(&buf).map_err(|e| format!("write: {e}"))?;
            // Echo one UDP datagram, then keep the program attached until the
            // peer is done.
            udp.set_read_timeout(Some(WAIT))
                .map_err(|e| e.to_string())?;
            let mut dgram = [0u8; 16];
            let (n, from) = udp
                .recv_from(&mut dgram)
                .map_err(|e| format!("udp recv: {e}"))?;
            udp.send_to(&dgram[..n], from)
                .map_err(|e| format!("udp send: {e}"))?;
            let _ = done_rx.recv_timeout(WAIT);
            let counters = prog.counters().map_err(|e| e.to_string())?;
            Ok((buf.to_vec(), counters))
        },
    );

    match ready_rx.recv_timeout(WAIT) {
        Ok(Ok(())) => {}
        Ok(Err(e)) => panic!("setup in {}: {e}", tb.ns_a()),
        Err(e) => panic!("side A never got ready: {e}"),
    }
    let echoed = spawn_in(tb.ns_b(), move || -> Result<Vec<u8>, String> {
        let mut s = TcpStream::connect_timeout(&SocketAddr::from((IP_A, KERNEL)), WAIT)
            .map_err(|e| format!("connect to kernel listener: {e}"))?;
        s.set_read_timeout(Some(WAIT)).map_err(|e| e.to_string())?;
        s.write_all(b"hello").map_err(|e| e.to_string())?;
        let mut buf = [0u8; 5];
        s.read_exact(&mut buf)
            .map_err(|e| format!("read echo: {e}"))?;
        Ok(buf.to_vec())
    })
    .join()
    .expect("peer thread panicked")
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(echoed, b"hello");

    // ARP is not ours: with the program attached, flush B's neighbour table
    // and make B resolve A again.
    tb.ip_b(&["neigh", "flush", "dev", IFACE_B])
        .unwrap_or_else(|e| panic!("{e}"));
    let a_mac = Testbed::in_ns(tb.ns_b(), || netdev::resolve_neighbour(IP_A, IFACE_B))
        .and_then(|r| r)
        .unwrap_or_else(|e| panic!("ARP with XDP attached: {e}"));
    assert_ne!(a_mac.0, [0u8; 6]);
    // Neither is UDP.
    let udp_echo = Testbed::in_ns(tb.ns_b(), || -> std::io::Result<usize> {
        let s = std::net::UdpSocket::bind((IP_B, 0))?;
        s.set_read_timeout(Some(WAIT))?;
        s.send_to(b"ping", (IP_A, KERNEL))?;
        let mut buf = [0u8; 16];
        s.recv(&mut buf)
    })
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        udp_echo.unwrap_or_else(|e| panic!("UDP with XDP attached: {e}")),
        4
    );
    // Nor ICMP; `ping` is not installed everywhere, so this part is optional.
    match run_cmd(
        "ip",
        &[
            "netns",
            "exec",
            tb.ns_b(),
            "ping",
            "-c1",
            "-W2",
            &IP_A.to_string(),
        ],
    ) {
        Ok(_) => {}
        Err(e) if e.to_string().contains("No such file") => {
            eprintln!("note: `ping` not installed, ICMP check skipped")
        }
        Err(e) => panic!("ping A from B with XDP attached: {e}"),
    }
    let _ = done_tx.send(());

    let (got, counters) = side_a
        .join()
        .expect("side A panicked")
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(got, b"hello");
    assert_eq!(counters.redirected, 0, "{counters:?}");
    assert!(counters.passed > 0, "{counters:?}");
}

#[test]
fn netdev_facts_and_neighbour_resolution() {
    if !require_root_or_skip("netdev_facts_and_neighbour_resolution") {
        return;
    }
    let tb = Testbed::up("swt-nd").unwrap_or_else(|e| panic!("{e}"));
    let peer_mac = Testbed::in_ns(tb.ns_b(), || netdev::mac_addr(IFACE_B))
        .and_then(|r| r)
        .unwrap_or_else(|e| panic!("{e}"));
    let (ip, queues, mac_a, resolved, missing, unknown_if) = Testbed::in_ns(tb.ns_a(), || {
        (
            netdev::ipv4_addr(IFACE_A),
            netdev::rx_queue_count(IFACE_A),
            netdev::mac_addr(IFACE_A),
            netdev::resolve_neighbour(IP_B, IFACE_A),
            netdev::resolve_neighbour("10.77.0.99".parse().expect("ip"), IFACE_A),
            netdev::ifindex("nope0"),
        )
    })
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(ip.unwrap_or_else(|e| panic!("{e}")), IP_A);
    assert!(queues.unwrap_or_else(|e| panic!("{e}")) >= 1);
    let mac_a = mac_a.unwrap_or_else(|e| panic!("{e}"));
    assert!(link_details(&tb).contains(&mac_a.to_string()));
    assert_eq!(resolved.unwrap_or_else(|e| panic!("{e}")), peer_mac);
    assert_eq!(
        missing.err().map(|e| e.to_string()).as_deref(),
        Some("cannot resolve MAC of 10.77.0.99 on sw0")
    );
    assert_eq!(
        unknown_if.err().map(|e| e.to_string()).as_deref(),
        Some("interface nope0 does not exist")
    );
}

#[test]
fn drop_detaches_also_when_unwinding() {
    if !require_root_or_skip("drop_detaches_also_when_unwinding") {
        return;
    }
    let tb = Testbed::up("swt-drop").unwrap_or_else(|e| panic!("{e}"));
    assert!(!has_xdp(&tb), "fresh testbed already has XDP");

    let (tx, rx) = mpsc::channel::<()>();
    let (back_tx, back_rx) = mpsc::channel::<()>();
    let h = spawn_in(tb.ns_a(), move || -> Result<(), String> {
        let prog = XdpProgram::attach(IFACE_A, XdpMode::Auto).map_err(|e| e.to_string())?;
        if prog.mode() != AttachMode::Native {
            return Err(format!(
                "expected native XDP on veth, got {:?}",
                prog.mode()
            ));
        }
        let _ = back_tx.send(());
        let _ = rx.recv_timeout(WAIT);
        drop(prog);
        Ok(())
    });
    back_rx.recv_timeout(WAIT).expect("attach did not happen");
    assert!(has_xdp(&tb), "program not attached: {}", link_details(&tb));
    let _ = tx.send(());
    h.join()
        .expect("thread panicked")
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        !has_xdp(&tb),
        "Drop left XDP attached: {}",
        link_details(&tb)
    );

    // A panic unwinding through the owner must detach as well.
    let ns = tb.ns_a().to_string();
    let r = thread::spawn(move || {
        netns::enter(&ns).unwrap_or_else(|e| panic!("{e}"));
        let _prog = XdpProgram::attach(IFACE_A, XdpMode::Auto).unwrap_or_else(|e| panic!("{e}"));
        panic!("deliberate panic with the program attached");
    })
    .join();
    assert!(r.is_err(), "the thread was supposed to panic");
    assert!(
        !has_xdp(&tb),
        "unwinding left XDP attached: {}",
        link_details(&tb)
    );
}

#[test]
fn second_attach_fails_and_leaves_the_first_intact() {
    if !require_root_or_skip("second_attach_fails_and_leaves_the_first_intact") {
        return;
    }
    let tb = Testbed::up("swt-twice").unwrap_or_else(|e| panic!("{e}"));
    let (first_id, second, counters, missing_prog, missing_xsk) =
        Testbed::in_ns(tb.ns_a(), move || {
            let first =
                XdpProgram::attach(IFACE_A, XdpMode::Auto).unwrap_or_else(|e| panic!("{e}"));
            let second = XdpProgram::attach(IFACE_A, XdpMode::Auto).map(|p| p.prog_id());
            let counters = first.counters();
            let missing_prog = XdpProgram::attach("nope0", XdpMode::Auto).map(|p| p.prog_id());
            let missing_xsk = XskSocket::open("nope0", 0, &XskConfig::default()).map(|s| s.fd());
            // Keep `first` alive while the caller inspects the link below by
            // returning its id; inspection happens after, so re-check here.
            (first.prog_id(), second, counters, missing_prog, missing_xsk)
        })
        .unwrap_or_else(|e| panic!("{e}"));
    let err = second.expect_err("second attach succeeded");
    assert!(matches!(err, Error::AlreadyAttached(_)), "{err:?}");
    let msg = err.to_string();
    assert_eq!(
        msg,
        "another XDP program (maybe another synwave) is attached to sw0"
    );
    assert!(!msg.contains('\n'));
    assert!(first_id > 0);
    counters.unwrap_or_else(|e| panic!("first program unusable after the failed attach: {e}"));
    assert_eq!(
        missing_prog.err().map(|e| e.to_string()).as_deref(),
        Some("interface nope0 does not exist")
    );
    assert_eq!(
        missing_xsk.err().map(|e| e.to_string()).as_deref(),
        Some("interface nope0 does not exist")
    );
    assert!(!has_xdp(&tb), "left attached: {}", link_details(&tb));
    assert!(matches!(
        netns::enter("synwave-no-such-ns"),
        Err(Error::NoSuchNetns(_))
    ));
}

#[test]
fn first_program_survives_a_failed_second_attach() {
    if !require_root_or_skip("first_program_survives_a_failed_second_attach") {
        return;
    }
    let tb = Testbed::up("swt-keep").unwrap_or_else(|e| panic!("{e}"));
    let (tx, rx) = mpsc::channel::<u32>();
    let (go_tx, go_rx) = mpsc::channel::<()>();
    let h = spawn_in(tb.ns_a(), move || {
        let first = XdpProgram::attach(IFACE_A, XdpMode::Auto).unwrap_or_else(|e| panic!("{e}"));
        let second = XdpProgram::attach(IFACE_A, XdpMode::Auto);
        assert!(matches!(second, Err(Error::AlreadyAttached(_))));
        drop(second);
        let _ = tx.send(first.prog_id());
        let _ = go_rx.recv_timeout(WAIT);
    });
    let id = rx.recv_timeout(WAIT).expect("attach thread died");
    let details = link_details(&tb);
    assert!(
        details.contains(&format!("id {id}")),
        "first program (id {id}) not attached after the failed second attach: {details}"
    );
    let _ = go_tx.send(());
    h.join().expect("attach thread panicked");
    assert!(!has_xdp(&tb));
}

#[test]
fn each_xdp_mode_attaches_where_it_says_and_detaches_on_drop() {
    if !require_root_or_skip("each_xdp_mode_attaches_where_it_says_and_detaches_on_drop") {
        return;
    }
    let tb = Testbed::up("swt-mode").unwrap_or_else(|e| panic!("{e}"));
    for (mode, expected, shown) in [
        (XdpMode::Native, AttachMode::Native, "xdp "),
        (XdpMode::Generic, AttachMode::Generic, "xdpgeneric"),
        (XdpMode::Auto, AttachMode::Native, "xdp "),
    ] {
        let (tx, rx) = mpsc::channel::<()>();
        let (back_tx, back_rx) = mpsc::channel::<AttachMode>();
        let h = spawn_in(tb.ns_a(), move || -> Result<(), String> {
            let prog = XdpProgram::attach(IFACE_A, mode).map_err(|e| e.to_string())?;
            let _ = back_tx.send(prog.mode());
            let _ = rx.recv_timeout(WAIT);
            Ok(())
        });
        let got = back_rx.recv_timeout(WAIT).expect("attach did not happen");
        assert_eq!(got, expected, "{mode:?}");
        // `ip` names the hook: `xdp` for the driver's, `xdpgeneric` for skb.
        let d = link_details(&tb);
        assert!(d.contains(shown), "{mode:?}: {d}");
        let _ = tx.send(());
        h.join()
            .expect("thread panicked")
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(
            !has_xdp(&tb),
            "{mode:?} left XDP attached: {}",
            link_details(&tb)
        );
    }
}

/// An ACK-only segment from A's `port` to B's `dport` whose sequence number
/// is `seq`, with both checksums.
fn numbered_segment(
    mac_a: synwave::wire::MacAddr,
    mac_b: synwave::wire::MacAddr,
    port: u16,
    dport: u16,
    seq: u32,
) -> Vec<u8> {
    use synwave::wire::{emit_tcp_frame, SeqNumber, TcpFlags, TcpRepr, TCP_FRAME_MAX_HEADER};
    let mut buf = vec![0u8; TCP_FRAME_MAX_HEADER];
    let tcp = TcpRepr {
        src_port: port,
        dst_port: dport,
        seq: SeqNumber(seq),
        ack: SeqNumber(1),
        flags: TcpFlags::ACK,
        window: 65535,
        urgent: 0,
        options: Default::default(),
        payload: &[],
    };
    let n = emit_tcp_frame(&mut buf, mac_a, mac_b, IP_A, IP_B, &tcp);
    buf.truncate(n);
    buf
}

/// Frames the engine writes in place, into UMEM TX frames lent to its
/// batch (`XskSocket::tx_batch`), reach the wire byte for byte and in
/// order; several times more of them than the socket has TX frames, so
/// every frame is lent again after its completion, and some rounds larger
/// than what is lent, so the overflow is copied. B is an AF_XDP socket too,
/// which sees each frame as sent.
#[test]
fn frames_written_in_lent_umem_frames_go_out_intact_and_the_frames_come_back() {
    if !require_root_or_skip(
        "frames_written_in_lent_umem_frames_go_out_intact_and_the_frames_come_back",
    ) {
        return;
    }
    let tb = Testbed::up("swt-lent").unwrap_or_else(|e| panic!("{e}"));
    const PORT_B: u16 = 7009;
    const PORT_A: u16 = 40_000;
    // A small UMEM: 128 TX frames, 64 of them lent (the rest the reserve).
    let cfg = XskConfig {
        frame_count: 256,
        ring_size: 128,
        ..XskConfig::default()
    };
    let rounds: Vec<usize> = (0..200).map(|i| [1, 64, 17, 100][i % 4]).collect();
    let total: usize = rounds.iter().sum();
    let mac_b = Testbed::in_ns(tb.ns_b(), || netdev::mac_addr(IFACE_B))
        .and_then(|r| r)
        .unwrap_or_else(|e| panic!("{e}"));
    let (ready_tx, ready_rx) = mpsc::channel::<Result<(), String>>();
    let (got_tx, got_rx) = mpsc::channel::<usize>();
    let receiver = spawn_in(tb.ns_b(), move || -> Result<Vec<Vec<u8>>, String> {
        let setup = || -> Result<(XdpProgram, XskSocket), Error> {
            let mut prog = XdpProgram::attach(IFACE_B, XdpMode::Auto)?;
            let s = XskSocket::open(IFACE_B, 0, &cfg)?;
            prog.register_xsk(&s)?;
            prog.add_listener(IP_B, PORT_B)?;
            Ok((prog, s))
        };
        let (_prog, mut s) = setup().map_err(|e| e.to_string())?;
        let _ = ready_tx.send(Ok(()));
        let mut got = Vec::new();
        let deadline = Instant::now() + 4 * WAIT;
        while got.len() < total && Instant::now() < deadline {
            let before = got.len();
            s.recv(|f| got.push(f.to_vec()))
                .map_err(|e| e.to_string())?;
            if got.len() > before {
                let _ = got_tx.send(got.len());
            } else {
                s.poll_readable(10).map_err(|e| e.to_string())?;
            }
        }
        Ok(got)
    });
    ready_rx
        .recv_timeout(WAIT)
        .expect("receiver came up")
        .unwrap_or_else(|e| panic!("{e}"));
    let sender = spawn_in(tb.ns_a(), move || -> Result<Vec<Vec<u8>>, String> {
        let mut s = XskSocket::open(IFACE_A, 0, &cfg).map_err(|e| e.to_string())?;
        let mac_a = netdev::mac_addr(IFACE_A).map_err(|e| e.to_string())?;
        let mut batch = s.tx_batch();
        let mut sent = Vec::new();
        for n in rounds {
            for _ in 0..n {
                let f = numbered_segment(mac_a, mac_b, PORT_A, PORT_B, sent.len() as u32);
                batch.push_with(f.len(), |buf| {
                    buf.copy_from_slice(&f);
                    f.len()
                });
                sent.push(f);
            }
            let mut went = Vec::new();
            let dropped = s
                .transmit(&mut batch, |f| went.push(f.to_vec()))
                .map_err(|e| e.to_string())?;
            assert_eq!(dropped, 0);
            assert!(batch.is_empty(), "transmit empties the batch");
            assert_eq!(went, sent[sent.len() - n..], "what `sent` saw");
            // Round by round, so that B's rings never overflow. In copy
            // mode a wakeup sends 32 frames at most: poll(2) wakes it again.
            let deadline = Instant::now() + WAIT;
            let mut arrived = 0;
            while arrived < sent.len() {
                if Instant::now() > deadline {
                    return Err(format!("B has {arrived} of {} frames", sent.len()));
                }
                s.poll_readable(1).map_err(|e| e.to_string())?;
                arrived = got_rx.try_iter().last().unwrap_or(arrived);
            }
        }
        // Every completion reaped, and lent again by a transmit of nothing:
        // the reserve is free, and the batch has every other TX frame.
        s.recv(|_| ()).map_err(|e| e.to_string())?;
        let dropped = s.transmit(&mut batch, |_| ()).map_err(|e| e.to_string())?;
        assert_eq!(dropped, 0);
        assert_eq!(s.tx_frames_free(), 64, "{s:?}");
        for _ in 0..65 {
            batch.push(&sent[0]);
        }
        assert_eq!(batch.slotted().0, 64, "every lent frame came back");
        Ok(sent)
    });
    let sent = sender
        .join()
        .expect("sender panicked")
        .unwrap_or_else(|e| panic!("{e}"));
    let got = receiver
        .join()
        .expect("receiver panicked")
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(got.len(), sent.len());
    for (i, (g, s)) in got.iter().zip(&sent).enumerate() {
        assert_eq!(g, s, "frame {i} arrived changed");
    }
}

/// Frames sent out of sw0 so far, as namespace A's kernel counts them.
fn tx_packets(tb: &Testbed) -> u64 {
    let out = tb
        .ip_a(&["-j", "-s", "link", "show", IFACE_A])
        .unwrap_or_else(|e| panic!("{e}"));
    let links: serde_json::Value =
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    links[0]["stats64"]["tx"]["packets"]
        .as_u64()
        .unwrap_or_else(|| panic!("no tx packets in {out}"))
}

/// A copy-mode socket's one wakeup sends the whole batch, not the kernel's
/// default 32 frames a sendto(2) (`XDP_MAX_TX_SKB_BUDGET`, Linux 6.17+):
/// no frame of a long batch waits on the ring for a later wakeup.
#[test]
fn copy_mode_sends_a_batch_longer_than_32_in_one_wakeup() {
    if !require_root_or_skip("copy_mode_sends_a_batch_longer_than_32_in_one_wakeup") {
        return;
    }
    let tb = Testbed::up("swt-budget").unwrap_or_else(|e| panic!("{e}"));
    // sw0's own IPv6 traffic (router solicitations, MLD reports) would
    // count beside the test's frames: the link carries these alone.
    let v6_off = format!("net.ipv6.conf.{IFACE_A}.disable_ipv6=1");
    run_cmd(
        "ip",
        &["netns", "exec", tb.ns_a(), "sysctl", "-qw", &v6_off],
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let mac_b = Testbed::in_ns(tb.ns_b(), || netdev::mac_addr(IFACE_B))
        .and_then(|r| r)
        .unwrap_or_else(|e| panic!("{e}"));
    const FRAMES: u64 = 200;
    let (ready_tx, ready_rx) = mpsc::channel();
    let (go_tx, go_rx) = mpsc::channel::<()>();
    let h = spawn_in(tb.ns_a(), move || -> Result<(), String> {
        let mut xsk =
            XskSocket::open(IFACE_A, 0, &XskConfig::default()).map_err(|e| e.to_string())?;
        let mac_a = netdev::mac_addr(IFACE_A).map_err(|e| e.to_string())?;
        // Ethernet frames of a local experimental EtherType (IEEE 802 0x88b5):
        // B's kernel counts and drops them.
        let mut frame = [0u8; 60];
        frame[..6].copy_from_slice(&mac_b.0);
        frame[6..12].copy_from_slice(&mac_a.0);
        frame[12..14].copy_from_slice(&0x88b5u16.to_be_bytes());
        let _ = ready_tx.send(());
        let _ = go_rx.recv_timeout(WAIT);
        let mut batch = xsk.tx_batch();
        for _ in 0..FRAMES {
            batch.push(&frame);
        }
        let dropped = xsk
            .transmit(&mut batch, |_| ())
            .map_err(|e| e.to_string())?;
        if dropped != 0 {
            return Err(format!("{dropped} of {FRAMES} frames found no room"));
        }
        // The socket stays open and untouched while the caller counts.
        thread::sleep(Duration::from_millis(500));
        Ok(())
    });
    ready_rx
        .recv_timeout(WAIT)
        .expect("the socket did not open");
    let before = tx_packets(&tb);
    let _ = go_tx.send(());
    let deadline = Instant::now() + Duration::from_millis(400);
    let mut sent = 0;
    while Instant::now() < deadline && sent < FRAMES {
        thread::sleep(Duration::from_millis(20));
        sent = tx_packets(&tb) - before;
    }
    h.join()
        .expect("thread panicked")
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(sent, FRAMES, "frames out of sw0 after one transmit");
}
