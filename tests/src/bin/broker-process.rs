//! The broker's command line, built in this package too: Cargo hands integration tests
//! (`CARGO_BIN_EXE_…`) only their own package's binaries, and the restart test runs the
//! broker as a process it can kill.

fn main() -> std::process::ExitCode {
    nara_broker::cli::main()
}
