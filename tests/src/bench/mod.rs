//! The benchmark harnesses behind `tests/bench` (DESIGN.md: one entry point, one closing line
//! per figure). Benchmarks print figures; they never pass or fail a test run.

pub mod calls;
pub mod documents;
pub mod process;
pub mod routing;
pub mod routing_day;
pub mod signalling;
pub mod turn;

/// A figure both sides have: its closing-line name, how to read it from a round, its unit.
pub type Compared<R> = (&'static str, fn(&R) -> f64, &'static str);

/// The closing lines: `NAME.FIGURE ours=<v><unit> peer=<v><unit> ratio=<ours/peer>`, with
/// `target=≤<r>` or `target=≥<r>` after the ratio where the issue sets one, or
/// `NAME.FIGURE ours=<v><unit> target=<v><unit>` where no peer exists.
#[derive(Debug, Default)]
pub struct Figures {
    lines: Vec<String>,
}

/// What the ratio of ours to the peer's figure should come to.
#[derive(Debug, Clone, Copy)]
pub enum RatioTarget {
    AtMost(f64),
    AtLeast(f64),
}

impl std::fmt::Display for RatioTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // `{:?}` keeps the decimal point of a whole number (1.0, not 1) and all of 0.25.
        match self {
            RatioTarget::AtMost(ratio) => write!(f, "≤{ratio:?}"),
            RatioTarget::AtLeast(ratio) => write!(f, "≥{ratio:?}"),
        }
    }
}

impl Figures {
    pub fn against_peer(&mut self, name: &str, ours: f64, peer: f64, unit: &str) {
        self.lines.push(peer_line(name, ours, peer, unit));
    }

    /// As `against_peer`, followed by the ratio the figure should reach.
    pub fn against_peer_and_target(
        &mut self,
        name: &str,
        ours: f64,
        peer: f64,
        unit: &str,
        target: RatioTarget,
    ) {
        let line = peer_line(name, ours, peer, unit);
        self.lines.push(format!("{line} target={target}"));
    }

    /// `name` over several rounds of each side: the median of `figure` for each, and the ratio.
    pub fn median_against_peer<R>(
        &mut self,
        name: &str,
        ours: &[R],
        peer: &[R],
        figure: fn(&R) -> f64,
        unit: &str,
    ) {
        let median_of = |rounds: &[R]| median(rounds.iter().map(figure).collect());
        self.against_peer(name, median_of(ours), median_of(peer), unit);
    }

    pub fn against_target(&mut self, name: &str, ours: f64, target: f64, unit: &str) {
        self.lines.push(format!(
            "{name} ours={}{unit} target={}{unit}",
            round(ours),
            round(target)
        ));
    }

    /// A figure the issue sets no target for and no peer has: printed so that it can be
    /// followed from run to run.
    pub fn measured(&mut self, name: &str, ours: f64, unit: &str) {
        self.lines
            .push(format!("{name} ours={}{unit}", round(ours)));
    }

    pub fn print(&self) {
        for line in &self.lines {
            println!("{line}");
        }
    }
}

fn peer_line(name: &str, ours: f64, peer: f64, unit: &str) -> String {
    // Two zeros (no loss on either side) are equal, not a division by zero.
    let ratio = if peer != 0.0 {
        format!("{:.2}", ours / peer)
    } else if ours == 0.0 {
        "1.00".to_string()
    } else {
        "inf".to_string()
    };
    format!(
        "{name} ours={}{unit} peer={}{unit} ratio={ratio}",
        round(ours),
        round(peer),
    )
}

/// Three significant figures are all a noisy machine supports.
fn round(value: f64) -> String {
    if value >= 100.0 {
        format!("{value:.0}")
    } else if value >= 10.0 {
        format!("{value:.1}")
    } else {
        format!("{value:.3}")
    }
}

/// The runtime a benchmark harness drives its processes from: two threads, as the machine has.
pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?)
}

/// The median of several rounds: what a noisy machine can quote.
pub fn median(mut values: Vec<f64>) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    if values.len() % 2 == 1 {
        values[mid]
    } else {
        (values[mid - 1] + values[mid]) / 2.0
    }
}
