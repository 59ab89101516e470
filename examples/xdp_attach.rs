//! Attach synwave's XDP program to an interface, steer one listening port to
//! AF_XDP sockets (one per RX queue), count frames, and detach on Ctrl-C.
//!
//! `ip netns exec synwave-a cargo run --example xdp_attach -- sw0 10.77.0.1 7001`

use std::net::Ipv4Addr;
use std::process::ExitCode;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use synwave::io::{netdev, signal, Error, XdpMode, XdpProgram, XskConfig, XskSocket};

fn run(iface: &str, addr: Ipv4Addr, port: u16) -> Result<(), Error> {
    let stop = signal::install_stop_flag()?;
    let mut prog = XdpProgram::attach(iface, XdpMode::Auto)?;
    let mut socks = Vec::new();
    for q in 0..netdev::rx_queue_count(iface)? {
        let s = XskSocket::open(iface, q, &XskConfig::default())?;
        prog.register_xsk(&s)?;
        socks.push(s);
    }
    prog.add_listener(addr, port)?;
    eprintln!(
        "attached to {iface} ({:?}, prog id {}), {} queue(s), zero-copy: {}; Ctrl-C to stop",
        prog.mode(),
        prog.prog_id(),
        socks.len(),
        socks.iter().all(|s| s.is_zero_copy())
    );
    let mut frames = 0usize;
    let mut last = Instant::now();
    while !stop.load(Ordering::Relaxed) {
        for s in &mut socks {
            let n = s.recv(|_| {})?;
            frames += n;
            if n == 0 {
                s.poll_readable(100)?;
            }
        }
        if last.elapsed() >= Duration::from_secs(1) {
            eprintln!("{:?} frames={frames}", prog.counters()?);
            last = Instant::now();
        }
    }
    eprintln!("stopping; detaching from {iface}");
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [iface, addr, port] = args.as_slice() else {
        eprintln!("usage: xdp_attach IFACE ADDR PORT");
        return ExitCode::from(2);
    };
    let (Ok(addr), Ok(port)) = (addr.parse::<Ipv4Addr>(), port.parse::<u16>()) else {
        eprintln!("error: bad address or port");
        return ExitCode::from(2);
    };
    match run(iface, addr, port) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
