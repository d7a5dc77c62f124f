//! `kiosk enrol` once, then `kiosk run`; see [`nara_kiosk::cli`].

fn main() -> std::process::ExitCode {
    nara_kiosk::cli::main()
}
