//! The servers under benchmark as processes: pinned to a core, measured from /proc, killed
//! when dropped.

use anyhow::{anyhow, bail, Context, Result};
use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// A server process, killed when dropped.
pub struct Server {
    pub child: Child,
    pub port: u16,
    /// The data directory the server runs on, deleted after it.
    pub data: Option<tempfile::TempDir>,
}

impl Server {
    /// The server's pid (`taskset` execs the program, so it is the child itself).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn resident_bytes(&self) -> Result<f64> {
        resident_bytes(self.pid())
    }

    pub fn cpu_seconds(&self) -> Result<f64> {
        cpu_seconds(self.pid())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A port free for both UDP and TCP right now.
pub fn free_port() -> Result<u16> {
    for _ in 0..32 {
        let udp = UdpSocket::bind("127.0.0.1:0")?;
        let port = udp.local_addr()?.port();
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return Ok(port);
        }
    }
    bail!("no port free for both UDP and TCP")
}

/// `program` under `taskset -c core`.
pub fn pinned(core: u32, program: &str) -> Command {
    let mut command = Command::new("taskset");
    command.args(["-c", &core.to_string(), program]);
    command
}

/// Pins this process, every thread of it, to `core`: the load generator's side.
pub fn pin_self(core: u32) -> Result<()> {
    let status = Command::new("taskset")
        .args(["-a", "-p", "-c", &core.to_string()])
        .arg(std::process::id().to_string())
        .stdout(Stdio::null())
        .status()
        .context("cannot run taskset")?;
    if !status.success() {
        bail!("taskset could not pin the load generator to core {core}");
    }
    Ok(())
}

/// Process CPU time (user + system) in seconds, from /proc/PID/stat.
pub fn cpu_seconds(pid: u32) -> Result<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    let after_name = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest)
        .ok_or_else(|| anyhow!("odd /proc/{pid}/stat"))?;
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // Fields 14 and 15 of stat (utime, stime), counted after the ")" from field 3.
    let ticks: f64 = fields[11].parse::<f64>()? + fields[12].parse::<f64>()?;
    Ok(ticks / 100.0)
}

/// CPU seconds of `root` and every process descended from it (a browser and its renderer,
/// GPU and utility processes). Processes that end between the reads are not counted.
pub fn tree_cpu_seconds(root: u32) -> Result<f64> {
    let mut parents = Vec::new();
    for entry in std::fs::read_dir("/proc")? {
        let Some(pid) = entry?
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        let parent = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(1))
            .and_then(|p| p.parse::<u32>().ok());
        if let Some(parent) = parent {
            parents.push((pid, parent));
        }
    }
    let mut tree = vec![root];
    let mut grew = true;
    while grew {
        grew = false;
        for &(pid, parent) in &parents {
            if tree.contains(&parent) && !tree.contains(&pid) {
                tree.push(pid);
                grew = true;
            }
        }
    }
    Ok(tree.iter().filter_map(|&pid| cpu_seconds(pid).ok()).sum())
}

pub fn resident_bytes(pid: u32) -> Result<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let kb = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse::<f64>().ok())
        .ok_or_else(|| anyhow!("no VmRSS for {pid}"))?;
    Ok(kb * 1024.0)
}

/// The broker built next to this benchmark binary by `tests/bench`.
pub fn broker_binary() -> Result<PathBuf> {
    sibling_binary("broker-process")
}

/// A binary of this package built next to the benchmark binary by `tests/bench`.
pub fn sibling_binary(name: &str) -> Result<PathBuf> {
    let here = std::env::current_exe()?;
    let binary = here.with_file_name(name);
    if binary.exists() {
        Ok(binary)
    } else {
        bail!("{} is missing; tests/bench builds it", binary.display())
    }
}

/// `broker serve` on `data_dir`, pinned to `core`, with `env` on top of a clean environment
/// (the broker refuses `NARA_` variables it does not know).
pub fn broker_command(
    broker: &Path,
    core: u32,
    data_dir: &Path,
    env: &[(&str, String)],
) -> Command {
    let mut command = pinned(core, &broker.to_string_lossy());
    for (name, _) in std::env::vars() {
        if name.starts_with("NARA_") {
            command.env_remove(name);
        }
    }
    command
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data_dir)
        .env("NARA_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    for (name, value) in env {
        command.env(name, value);
    }
    command
}

/// What the broker printed before READY: where it listens and its certificate.
pub struct BrokerReady {
    pub addr: SocketAddr,
    pub cert_path: PathBuf,
}

/// Waits for the broker's READY line, then keeps its stdout drained.
pub fn wait_for_broker(child: &mut Child) -> Result<BrokerReady> {
    let stdout = child.stdout.take().ok_or_else(|| anyhow!("no stdout"))?;
    let mut lines = BufReader::new(stdout).lines();
    let mut addr = None;
    let mut cert_path = None;
    loop {
        match lines.next() {
            Some(Ok(line)) if line == "READY" => break,
            Some(Ok(line)) => {
                if let Some(rest) = line.strip_prefix("Nära broker listening on https://") {
                    addr = rest.trim().parse::<SocketAddr>().ok();
                }
                if let Some(rest) = line.strip_prefix("TLS certificate ") {
                    cert_path = rest.split(" — ").next().map(PathBuf::from);
                }
            }
            _ => bail!("the broker exited before READY"),
        }
    }
    std::thread::spawn(move || for _ in lines {});
    Ok(BrokerReady {
        addr: addr.ok_or_else(|| anyhow!("the broker printed no address"))?,
        cert_path: cert_path.ok_or_else(|| anyhow!("the broker printed no certificate"))?,
    })
}
