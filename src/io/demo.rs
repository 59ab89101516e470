//! The demo's testbed: synwave, wrk and kernel sockets in namespace A,
//! nginx in namespace B, both kernels tuned for connection rate as an expert
//! tunes them. Everything it starts is stopped and removed on drop, on
//! every path out.

use super::runtime::{self, RuntimeOptions};
use super::testbed::{run_cmd, Testbed, IFACE_A, IP_A, IP_B};
use super::Error;
use crate::app::demo::{Bed, WrkRun};
use crate::app::kernel;
use crate::app::plan::LoadPlan;
use crate::app::report::{self, Summary};
use crate::app::LoadOptions;
use crate::tcp::Config;
use hdrhistogram::Histogram;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

/// nginx's port.
const PORT: u16 = 80;

/// The client side's sysctls: TIME-WAIT reuse for outgoing connections and
/// the widest ephemeral range, so that wrk is not held back by its own
/// TIME-WAIT sockets.
const CLIENT_SYSCTLS: [(&str, &str); 2] = [
    ("net.ipv4.tcp_tw_reuse", "1"),
    ("net.ipv4.ip_local_port_range", "1024 65535"),
];

/// The server side's: accept queues long enough for the SYN rate.
const SERVER_SYSCTLS: [(&str, &str); 2] = [
    ("net.core.somaxconn", "65535"),
    ("net.ipv4.tcp_max_syn_backlog", "65535"),
];

/// The demo's testbed, up.
pub struct DemoBed {
    bed: Testbed,
    dir: PathBuf,
    conf: PathBuf,
    nginx: Option<Child>,
    workers: usize,
    stop: &'static AtomicBool,
}

impl DemoBed {
    /// Builds the testbed, tunes both kernels and starts nginx; `stop` ends
    /// synwave's runs early.
    pub fn up(stop: &'static AtomicBool) -> Result<Self, Error> {
        if !super::is_root() {
            return Err(Error::PermissionDenied(
                "the demo's network namespaces and XDP program",
            ));
        }
        for prog in ["nginx", "wrk"] {
            if run_cmd("sh", &["-c", &format!("command -v {prog}")]).is_err() {
                return Err(Error::Config(format!(
                    "the demo compares against nginx and wrk, and {prog} is not installed \
                     (Debian packages nginx-light and wrk; deploy/setup.sh installs them)"
                )));
            }
        }
        let bed = Testbed::up("swdemo")?;
        let dir = std::env::temp_dir().join(format!("synwave-demo-{}", std::process::id()));
        std::fs::create_dir_all(&dir)
            .map_err(|e| Error::os(format!("creating {}", dir.display()), e))?;
        let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
        let conf = dir.join("nginx.conf");
        let mut me = DemoBed {
            bed,
            conf: conf.clone(),
            dir,
            nginx: None,
            workers,
            stop,
        };
        for (ns, sysctls) in [
            (me.bed.ns_a(), CLIENT_SYSCTLS),
            (me.bed.ns_b(), SERVER_SYSCTLS),
        ] {
            for (k, v) in sysctls {
                run_cmd(
                    "ip",
                    &["netns", "exec", ns, "sysctl", "-qw", &format!("{k}={v}")],
                )?;
            }
        }
        let dir = me.dir.display().to_string();
        let text = format!(
            "worker_processes {workers};\npid {dir}/nginx.pid;\nerror_log {dir}/error.log;\n\
             daemon off;\nevents {{ worker_connections 65536; }}\n\
             http {{ access_log off; server {{ listen {IP_B}:{PORT} reuseport backlog=65535; \
             location / {{ return 200 \"ok\"; }} }} }}\n"
        );
        std::fs::write(&conf, text)
            .map_err(|e| Error::os(format!("writing {}", conf.display()), e))?;
        let child = Command::new("ip")
            .args(["netns", "exec", me.bed.ns_b(), "nginx", "-c"])
            .arg(&conf)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| Error::os("starting nginx", e))?;
        me.nginx = Some(child);
        me.wait_listening()?;
        Ok(me)
    }

    /// Waits until nginx accepts on its port, or says why not.
    fn wait_listening(&mut self) -> Result<(), Error> {
        let deadline = Instant::now() + Duration::from_secs(10);
        let want = format!("{IP_B}:{PORT}");
        loop {
            let ss = run_cmd("ip", &["netns", "exec", self.bed.ns_b(), "ss", "-ltn"])?;
            if ss.contains(&want) {
                return Ok(());
            }
            let exited = self
                .nginx
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten());
            if exited.is_some() || Instant::now() > deadline {
                let log = std::fs::read_to_string(self.dir.join("error.log")).unwrap_or_default();
                return Err(Error::Command {
                    cmd: format!("nginx -c {}", self.conf.display()),
                    msg: format!("did not start listening on {want}: {}", log.trim()),
                });
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for DemoBed {
    fn drop(&mut self) {
        if let Some(mut nginx) = self.nginx.take() {
            // The master stops its workers; killing it alone would not.
            let conf = self.conf.display().to_string();
            let _ = run_cmd(
                "ip",
                &[
                    "netns",
                    "exec",
                    self.bed.ns_b(),
                    "nginx",
                    "-c",
                    &conf,
                    "-s",
                    "stop",
                ],
            );
            let deadline = Instant::now() + Duration::from_secs(5);
            while nginx.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = nginx.kill();
            let _ = nginx.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Bed for DemoBed {
    type Error = Error;

    fn target(&self) -> SocketAddrV4 {
        SocketAddrV4::new(IP_B, PORT)
    }

    fn source(&self) -> Ipv4Addr {
        IP_A
    }

    fn settings(&self) -> Vec<String> {
        let show = |ns: &str, sysctls: [(&str, &str); 2]| {
            sysctls
                .iter()
                .map(|(k, _)| {
                    let v = run_cmd("ip", &["netns", "exec", ns, "sysctl", "-n", k])
                        .unwrap_or_default();
                    format!("{k}={}", v.split_whitespace().collect::<Vec<_>>().join(" "))
                })
                .collect::<Vec<_>>()
                .join(", ")
        };
        vec![
            format!(
                "client kernel (wrk): {}",
                show(self.bed.ns_a(), CLIENT_SYSCTLS)
            ),
            format!(
                "server kernel (nginx): {}",
                show(self.bed.ns_b(), SERVER_SYSCTLS)
            ),
            format!(
                "nginx: {} worker processes, reuseport, backlog 65535, access_log off; \
                 synwave: default flags",
                self.workers
            ),
        ]
    }

    fn synwave(&mut self, load: LoadOptions) -> Result<Summary, Error> {
        let stop = self.stop;
        Testbed::in_ns(self.bed.ns_a(), move || {
            let mut opts = RuntimeOptions::new(IFACE_A, 1, Config::default(), 4096);
            let plan = LoadPlan::new(load, opts.workers, &opts.engine)?;
            opts.duration = plan.deadline().or(Some(Duration::from_secs(120)));
            let mut live = report::Live::default();
            let sum = runtime::run_load(&opts, &plan, stop, |s| live.tick(s));
            live.end();
            sum
        })?
    }

    fn kernel_latency(&mut self, rate: f64, count: u64) -> Result<Histogram<u64>, Error> {
        let target = self.target();
        Testbed::in_ns(self.bed.ns_a(), move || {
            kernel::kernel_connect_latency(target, rate, count)
        })
    }

    fn wrk(&mut self, threads: u32, connections: u64, duration: Duration) -> Result<WrkRun, Error> {
        let secs = duration.as_secs().max(1).to_string();
        let url = format!("http://{}/", self.target());
        let (t, c, d) = (
            format!("-t{threads}"),
            format!("-c{connections}"),
            format!("-d{secs}s"),
        );
        let args = [t.as_str(), &c, &d, "-H", "Connection: close", &url];
        let out = run_cmd(
            "ip",
            &[&["netns", "exec", self.bed.ns_a(), "wrk"], &args[..]].concat(),
        )?;
        let command = format!(
            "wrk {}",
            args.map(|a| if a.contains(' ') {
                format!("'{a}'")
            } else {
                a.to_string()
            })
            .join(" ")
        );
        WrkRun::parse(command.clone(), &out).ok_or_else(|| Error::Command {
            cmd: command,
            msg: format!(
                "unexpected output: {}",
                out.split_whitespace().collect::<Vec<_>>().join(" ")
            ),
        })
    }
}
