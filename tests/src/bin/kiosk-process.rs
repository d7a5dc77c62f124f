//! The kiosk's command line, built in this package too, so that integration tests get its
//! path (`CARGO_BIN_EXE_kiosk-process`) and run it as the separate process it is in the field.

fn main() -> std::process::ExitCode {
    nara_kiosk::cli::main()
}
