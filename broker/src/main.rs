//! The `broker` binary; the command line lives in `nara_broker::cli`.

fn main() -> std::process::ExitCode {
    nara_broker::cli::main()
}
