//! A kiosk behind a network link of its own, for the fault tests: a network namespace for the
//! kiosk, joined to this one by `impaired-link` (delay and loss, as `tc netem` would give on
//! kernels that have it), whose kiosk end can be taken down and up like a pulled cable.
//!
//! Needs root (namespaces, TUN devices). Addresses come from the process id, so tests running
//! side by side in separate processes do not collide.

use anyhow::{anyhow, bail, Context, Result};
use std::net::Ipv4Addr;
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};

static LINKS: AtomicU32 = AtomicU32::new(0);

/// A network namespace and the impaired link that joins it to this one.
pub struct KioskNetwork {
    pub namespace: String,
    /// This side's address, where the broker and the officers' browsers are.
    pub near: Ipv4Addr,
    /// The kiosk's address inside the namespace.
    pub far: Ipv4Addr,
    near_device: String,
    far_device: String,
    link: Child,
    control: ChildStdin,
    answers: std::io::BufReader<std::process::ChildStdout>,
}

fn run(program: &str, args: &[&str]) -> Result<()> {
    let output = Command::new(program)
        .args(args)
        .output()
        .with_context(|| format!("cannot run {program} (Debian package iproute2)"))?;
    if !output.status.success() {
        bail!(
            "`{program} {}` failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(())
}

impl KioskNetwork {
    /// Makes the namespace and the link (`impaired_link` is the binary of that name), with
    /// neither delay nor loss to begin with.
    pub fn create(impaired_link: &Path) -> Result<KioskNetwork> {
        let pid = std::process::id();
        let n = LINKS.fetch_add(1, Ordering::Relaxed);
        if n >= 60 {
            bail!("too many kiosk networks in one test process");
        }
        let namespace = format!("nara-{pid}-{n}");
        let near_device = format!("nn{pid}x{n}");
        let far_device = format!("nf{pid}x{n}");
        let [_, _, b, c] = pid.to_be_bytes();
        let near = Ipv4Addr::new(10, b, c, (4 * n + 1) as u8);
        let far = Ipv4Addr::new(10, b, c, (4 * n + 2) as u8);

        run("ip", &["netns", "add", &namespace])?;
        let mut link = Command::new(impaired_link)
            .args([&near_device, &far_device])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .with_context(|| format!("cannot run {}", impaired_link.display()))?;
        let control = link.stdin.take().ok_or_else(|| anyhow!("no stdin"))?;
        let stdout = link.stdout.take().ok_or_else(|| anyhow!("no stdout"))?;
        let mut network = KioskNetwork {
            namespace,
            near,
            far,
            near_device: near_device.clone(),
            far_device,
            link,
            control,
            answers: std::io::BufReader::new(stdout),
        };
        if network.answer()? != "READY" {
            bail!("impaired-link did not start (is this root?)");
        }
        let ns = network.namespace.clone();
        let (near_s, far_s) = (near.to_string(), far.to_string());
        let far_dev = network.far_device.clone();
        run("ip", &["link", "set", &far_dev, "netns", &ns])?;
        run("ip", &["-n", &ns, "link", "set", "lo", "up"])?;
        run(
            "ip",
            &[
                "-n", &ns, "addr", "add", &far_s, "peer", &near_s, "dev", &far_dev,
            ],
        )?;
        run("ip", &["-n", &ns, "link", "set", &far_dev, "up"])?;
        run(
            "ip",
            &["addr", "add", &near_s, "peer", &far_s, "dev", &near_device],
        )?;
        run("ip", &["link", "set", &near_device, "up"])?;
        // A kiosk has a default route, as it would behind a real router.
        network.default_route()?;
        Ok(network)
    }

    fn answer(&mut self) -> Result<String> {
        let mut line = String::new();
        std::io::BufRead::read_line(&mut self.answers, &mut line)?;
        Ok(line.trim().to_string())
    }

    /// Tells the link something and waits until it holds.
    fn tell(&mut self, command: &str) -> Result<()> {
        use std::io::Write;
        writeln!(self.control, "{command}")?;
        self.control.flush()?;
        match self.answer()?.as_str() {
            "OK" => Ok(()),
            other => bail!("impaired-link answered {other:?} to {command:?}"),
        }
    }

    /// Delay each way, in milliseconds, and the share of packets lost each way, in percent.
    pub fn impair(&mut self, delay_ms: u32, loss_percent: f64) -> Result<()> {
        self.tell(&format!("delay {delay_ms}"))?;
        self.tell(&format!("loss {loss_percent}"))
    }

    /// Limits the link to `mbit` Mbit/s each way (`tc`'s token bucket, which these kernels
    /// have), queueing up to 200 ms as a broadband router would.
    pub fn shape(&self, mbit: u32) -> Result<()> {
        let rate = format!("{mbit}mbit");
        let tbf = ["tbf", "rate", &rate, "burst", "32kb", "latency", "200ms"];
        let near = [
            &["qdisc", "replace", "dev", &self.near_device, "root"][..],
            &tbf,
        ]
        .concat();
        run("tc", &near)?;
        let ns = &self.namespace;
        let far = [
            &[
                "-n",
                ns,
                "qdisc",
                "replace",
                "dev",
                &self.far_device,
                "root",
            ][..],
            &tbf,
        ]
        .concat();
        run("tc", &far)
    }

    /// Lets no UDP across the link either way (a firewall that passes only TCP), or all again.
    pub fn block_udp(&mut self, blocked: bool) -> Result<()> {
        self.tell(if blocked { "udp blocked" } else { "udp open" })
    }

    /// Lets nothing out of the namespace but TCP to `port` on this side, and its answers in (an
    /// agency's firewall, whose only way out is its HTTP proxy); `None` lets all through again.
    pub fn only_tcp_to(&mut self, port: Option<u16>) -> Result<()> {
        match port {
            Some(port) => self.tell(&format!("tcp-only {port}")),
            None => self.tell("tcp-only any"),
        }
    }

    /// Takes the kiosk's network device down (a pulled cable, as the kiosk sees it) or up,
    /// with its default route back as DHCP would bring it.
    pub fn kiosk_link(&self, up: bool) -> Result<()> {
        let state = if up { "up" } else { "down" };
        let ns = &self.namespace;
        run("ip", &["-n", ns, "link", "set", &self.far_device, state])?;
        if up {
            self.default_route()?;
        }
        Ok(())
    }

    /// Takes the kiosk's default route away: it reaches this side's address and no other.
    pub fn remove_default_route(&self) -> Result<()> {
        run("ip", &["-n", &self.namespace, "route", "del", "default"])
    }

    fn default_route(&self) -> Result<()> {
        let ns = &self.namespace;
        run(
            "ip",
            &[
                "-n",
                ns,
                "route",
                "replace",
                "default",
                "dev",
                &self.far_device,
            ],
        )
    }

    /// The command prefix that runs a program inside the namespace.
    pub fn exec(&self) -> Vec<String> {
        ["ip", "netns", "exec", &self.namespace]
            .map(String::from)
            .to_vec()
    }
}

impl Drop for KioskNetwork {
    fn drop(&mut self) {
        // The devices go with the link process; the namespace must be deleted.
        let _ = self.link.kill();
        let _ = self.link.wait();
        let _ = run("ip", &["netns", "del", &self.namespace]);
    }
}
