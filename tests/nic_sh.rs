//! `deploy/nic.sh`, the preparation of a real NIC: against a fake NIC (a
//! stand-in `ethtool` that shows a canned state and logs every call, no
//! root needed) its `--dry-run` prints exactly the commands that differ —
//! queues (`ethtool -L`), Toeplitz and an even table (`-X`), addresses and
//! ports hashed (`-N rx-flow-hash tcp4 sdfn`), offloads, MTU, IRQ
//! affinity, the masked ntuple rules that match synwave's port slices —
//! and runs none; a NIC already so prepared gets no command. On a 2-queue
//! veth (root), a real run leaves nothing for a second run to do.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{Bed, Scratch};

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/nic.sh");

/// A fake NIC `eth9`: its ethtool, sysfs entry and IRQs, in `dir`.
struct FakeNic {
    dir: PathBuf,
}

/// What the fake NIC shows.
struct State {
    combined: u32,
    hfunc_toeplitz: bool,
    table_queues: u32,
    hashes_ports: bool,
    offloads_on: bool,
    mtu: u32,
    irq_cpus: [&'static str; 2],
}

impl FakeNic {
    fn new(scratch: &Scratch, s: &State) -> Self {
        let dir = scratch.path("fake");
        fs::create_dir_all(dir.join("net/eth9")).expect("fake sysfs");
        fs::write(dir.join("net/eth9/mtu"), s.mtu.to_string()).expect("mtu");
        let channels = format!(
            "Channel parameters for eth9:\nPre-set maximums:\nRX:\t\tn/a\nTX:\t\tn/a\nOther:\t\t1\nCombined:\t8\n\
             Current hardware settings:\nRX:\t\tn/a\nTX:\t\tn/a\nOther:\t\t1\nCombined:\t{}\n",
            s.combined
        );
        let row = |start: u32| {
            let cells: Vec<String> = (start..start + 8)
                .map(|j| format!("{:>5}", j % s.table_queues))
                .collect();
            format!("{start:>5}:{}\n", cells.join(" "))
        };
        let on = |b: bool| if b { "on" } else { "off" };
        let rss = format!(
            "RX flow hash indirection table for eth9 with 8 RX ring(s):\n{}{}RSS hash key:\n\
             6d:5a:56:da:25:5b:0e:c2:41:67:25:3d:43:a3:8f:b0:d0:ca:2b:cb:ae:7b:30:b4:77:cb:2d:a3:80:30:f2:0c:6a:42:b7:3b:be:ac:01:fa\n\
             RSS hash function:\n    toeplitz: {}\n    xor: {}\n    crc32: off\n",
            row(0),
            row(8),
            on(s.hfunc_toeplitz),
            on(!s.hfunc_toeplitz)
        );
        let fields = if s.hashes_ports {
            "TCP over IPV4 flows use these fields for computing Hash flow key:\nIP SA\nIP DA\nL4 bytes 0 & 1 [TCP/UDP src port]\nL4 bytes 2 & 3 [TCP/UDP dst port]\n"
        } else {
            "TCP over IPV4 flows use these fields for computing Hash flow key:\nIP SA\nIP DA\n"
        };
        let o = on(s.offloads_on);
        let features = format!(
            "Features for eth9:\nlarge-receive-offload: {o}\ngeneric-receive-offload: {o}\nrx-vlan-offload: {o}\n\
             ntuple-filters: off\nrx-gro-hw: off [fixed]\n"
        );
        for (name, text) in [
            ("l", channels.as_str()),
            ("x", &rss),
            ("n", fields),
            ("k", &features),
        ] {
            fs::write(dir.join(format!("show-{name}")), text).expect("state");
        }
        let ethtool = dir.join("ethtool");
        fs::write(
            &ethtool,
            format!(
                "#!/bin/sh\necho \"$*\" >>{log}\ncase \"$1 $3\" in\n\
                 '-l '|'-x '|'-k ') cat {d}/show-${{1#-}} ;;\n'-n rx-flow-hash') cat {d}/show-n ;;\nesac\n",
                log = dir.join("log").display(),
                d = dir.display()
            ),
        )
        .expect("fake ethtool");
        Command::new("chmod")
            .args(["+x", &ethtool.display().to_string()])
            .status()
            .expect("chmod");
        fs::write(
            dir.join("interrupts"),
            "           CPU0       CPU1\n 44:   1   2   PCI-MSI  eth90-TxRx-0\n 45:   10   20   PCI-MSI  eth9-TxRx-0\n 46:   10   20   PCI-MSI  eth9-TxRx-1\n 47:   1   2   PCI-MSI  other-0\n",
        )
        .expect("interrupts");
        for (irq, cpus) in [45, 46].iter().zip(s.irq_cpus) {
            let d = dir.join(format!("irq/{irq}"));
            fs::create_dir_all(&d).expect("irq dir");
            fs::write(d.join("smp_affinity_list"), cpus).expect("affinity");
        }
        FakeNic { dir }
    }

    /// `nic.sh ARGS` against the fake NIC: its stdout, and the calls the
    /// fake ethtool got.
    fn run(&self, args: &[&str]) -> (String, Vec<String>) {
        let out = Command::new("bash")
            .arg(SCRIPT)
            .args(args)
            .env("ETHTOOL", self.dir.join("ethtool"))
            .env("SYS_CLASS_NET", self.dir.join("net"))
            .env("PROC_INTERRUPTS", self.dir.join("interrupts"))
            .env("PROC_IRQ", self.dir.join("irq"))
            .env("NPROC", "4")
            .output()
            .expect("running nic.sh");
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "nic.sh {args:?}: {}\n{stdout}{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        let log = fs::read_to_string(self.dir.join("log")).unwrap_or_default();
        (stdout, log.lines().map(String::from).collect())
    }
}

/// The commands a run printed (its `+ ` lines), with the fake's path and
/// the IRQ folder shortened.
fn commands(stdout: &str, dir: &Path) -> Vec<String> {
    let d = dir.display().to_string();
    stdout
        .lines()
        .filter_map(|l| l.strip_prefix("+ "))
        .map(|l| {
            l.replace(&format!("{d}/ethtool"), "ethtool")
                .replace(&d, "FAKE")
        })
        .collect()
}

#[test]
fn dry_run_on_an_unprepared_nic_prints_every_step_that_differs_and_runs_none() {
    let scratch = Scratch::new("nic_sh_dry_run");
    let nic = FakeNic::new(
        &scratch,
        &State {
            combined: 8,
            hfunc_toeplitz: false,
            table_queues: 8,
            hashes_ports: false,
            offloads_on: true,
            mtu: 9000,
            irq_cpus: ["0-3", "0-3"],
        },
    );
    let (out, calls) = nic.run(&["--dry-run", "--ntuple-ports", "32768-65535", "eth9", "2"]);
    let expected = [
        "ethtool -L eth9 combined 2",
        "ethtool -X eth9 hfunc toeplitz equal 2",
        "ethtool -N eth9 rx-flow-hash tcp4 sdfn",
        "ethtool -K eth9 lro off",
        "ethtool -K eth9 gro off",
        "ethtool -K eth9 rxvlan off",
        "ip link set dev eth9 mtu 1500",
        "echo 0 > FAKE/irq/45/smp_affinity_list",
        "echo 1 > FAKE/irq/46/smp_affinity_list",
        "ethtool -K eth9 ntuple on",
        "ethtool -N eth9 delete 1000 (if present)",
        // Replies to ports 32768-49151 (worker 0's slice) on queue 0, to
        // 49152-65535 on queue 1: the mask marks the bits to ignore.
        "ethtool -N eth9 flow-type tcp4 dst-port 32768 m 16383 action 0 loc 1000",
        "ethtool -N eth9 delete 1001 (if present)",
        "ethtool -N eth9 flow-type tcp4 dst-port 49152 m 16383 action 1 loc 1001",
    ];
    assert_eq!(commands(&out, &nic.dir), expected, "{out}");
    // A dry run only reads.
    for call in &calls {
        let read = call.starts_with("-l ")
            || call.starts_with("-x ")
            || call.starts_with("-k ")
            || call.starts_with("-n eth9 rx-flow-hash");
        assert!(read, "a dry run changed something: ethtool {call}");
    }
    for irq in [45, 46] {
        let list = nic.dir.join(format!("irq/{irq}/smp_affinity_list"));
        assert_eq!(fs::read_to_string(list).unwrap_or_default(), "0-3");
    }
    assert!(out.contains("--ports 32768-65535 --workers 2"), "{out}");
}

#[test]
fn a_prepared_nic_gets_no_command() {
    let scratch = Scratch::new("nic_sh_prepared");
    let nic = FakeNic::new(
        &scratch,
        &State {
            combined: 2,
            hfunc_toeplitz: true,
            table_queues: 2,
            hashes_ports: true,
            offloads_on: false,
            mtu: 1500,
            irq_cpus: ["0", "1"],
        },
    );
    let (out, _) = nic.run(&["--dry-run", "eth9", "2"]);
    assert_eq!(commands(&out, &nic.dir), Vec::<String>::new(), "{out}");
    assert!(out.contains("already 2 combined queues"), "{out}");
    assert!(
        out.contains("already Toeplitz over an even table of 16 entries"),
        "{out}"
    );
}

#[test]
fn ntuple_ports_that_do_not_split_into_aligned_blocks_are_refused() {
    let scratch = Scratch::new("nic_sh_ntuple_refused");
    let nic = FakeNic::new(
        &scratch,
        &State {
            combined: 2,
            hfunc_toeplitz: true,
            table_queues: 2,
            hashes_ports: true,
            offloads_on: false,
            mtu: 1500,
            irq_cpus: ["0", "1"],
        },
    );
    let out = Command::new("bash")
        .arg(SCRIPT)
        .args(["--dry-run", "--ntuple-ports", "10000-30000", "eth9", "2"])
        .env("ETHTOOL", nic.dir.join("ethtool"))
        .env("SYS_CLASS_NET", nic.dir.join("net"))
        .env("PROC_INTERRUPTS", nic.dir.join("interrupts"))
        .env("PROC_IRQ", nic.dir.join("irq"))
        .output()
        .expect("running nic.sh");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("power-of-two blocks"), "{err}");
}

#[test]
fn on_a_two_queue_veth_a_second_run_has_nothing_left_to_do() {
    let Some(bed) = Bed::with_queues(
        "on_a_two_queue_veth_a_second_run_has_nothing_left_to_do",
        "swi-nic",
        2,
    ) else {
        return;
    };
    let tb = &bed.tb;
    let nic = |args: &[&str]| {
        let out = Command::new("ip")
            .args(["netns", "exec", tb.ns_a(), "bash", SCRIPT])
            .args(args)
            .output()
            .expect("running nic.sh");
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "{args:?}: {stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        stdout
    };
    let iface = synwave::io::testbed::IFACE_A;
    // One queue fewer than the veth has: that is a command.
    let dry = nic(&["--dry-run", iface, "1"]);
    let cmds = commands(&dry, Path::new("/nonexistent"));
    assert!(
        cmds.contains(&format!("ethtool -L {iface} rx 1 tx 1")),
        "{dry}"
    );
    assert!(dry.contains("no readable RSS"), "{dry}");
    // A real run for two workers, then a dry run: nothing left.
    nic(&[iface, "2"]);
    let again = nic(&["--dry-run", iface, "2"]);
    assert_eq!(
        commands(&again, Path::new("/nonexistent")),
        Vec::<String>::new(),
        "{again}"
    );
    assert!(again.contains("already 2 rx and tx queues"), "{again}");
}
