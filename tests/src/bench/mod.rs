//! The benchmark harnesses behind `tests/bench` (DESIGN.md: one entry point, one closing line
//! per figure). Benchmarks print figures; they never pass or fail a test run.

pub mod routing;

/// The closing lines: `NAME.FIGURE ours=<v><unit> peer=<v><unit> ratio=<ours/peer>`, or
/// `target=` where no peer exists.
#[derive(Debug, Default)]
pub struct Figures {
    lines: Vec<String>,
}

impl Figures {
    pub fn against_peer(&mut self, name: &str, ours: f64, peer: f64, unit: &str) {
        self.lines.push(format!(
            "{name} ours={}{unit} peer={}{unit} ratio={:.2}",
            round(ours),
            round(peer),
            ours / peer
        ));
    }

    pub fn against_target(&mut self, name: &str, ours: f64, target: f64, unit: &str) {
        self.lines.push(format!(
            "{name} ours={}{unit} target={}{unit}",
            round(ours),
            round(target)
        ));
    }

    pub fn print(&self) {
        for line in &self.lines {
            println!("{line}");
        }
    }
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
