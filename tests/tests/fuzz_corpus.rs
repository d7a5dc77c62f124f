//! Replays every fuzz seed and every crash the fuzzer once found through the same checks the
//! fuzz targets run, on stable Rust: a fixed crash stays fixed even where `cargo fuzz` does
//! not run. Also keeps the target list, the target files and the seed folders in step.

use nara_fuzz_checks::TARGETS;
use std::path::{Path, PathBuf};

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz")
}

fn files_in(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .map(|e| e.expect("readable folder").path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

#[test]
fn every_seed_and_every_past_crash_passes_its_check() {
    let mut replayed = 0;
    for (name, check) in TARGETS {
        for folder in ["seeds", "regressions"] {
            for file in files_in(&fuzz_dir().join(folder).join(name)) {
                let data = std::fs::read(&file).expect("readable input");
                let outcome = std::panic::catch_unwind(|| check(&data));
                assert!(
                    outcome.is_ok(),
                    "{name}: {} fails its check",
                    file.display()
                );
                replayed += 1;
            }
        }
    }
    assert!(
        replayed >= 60,
        "only {replayed} inputs replayed; seeds missing?"
    );
}

#[test]
fn each_target_has_a_fuzz_binary_and_seeds() {
    let manifest = std::fs::read_to_string(fuzz_dir().join("Cargo.toml")).expect("fuzz/Cargo.toml");
    for (name, _) in TARGETS {
        let binary = fuzz_dir().join("fuzz_targets").join(format!("{name}.rs"));
        let source = std::fs::read_to_string(&binary)
            .unwrap_or_else(|_| panic!("{} is missing", binary.display()));
        assert!(
            source.contains(&format!("nara_fuzz_checks::{name}(")),
            "{} does not call its check",
            binary.display()
        );
        assert!(
            manifest.contains(&format!("name = \"{name}\"")),
            "fuzz/Cargo.toml lists no [[bin]] {name}"
        );
        assert!(
            !files_in(&fuzz_dir().join("seeds").join(name)).is_empty(),
            "fuzz/seeds/{name} is empty"
        );
    }
}
