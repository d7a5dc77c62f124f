//! Writing the desk's generated TypeScript files and checking them: the protocol's and the
//! broker's REST types are made the same way, by a test that fails when the checked-in file
//! differs from what the Rust types generate and rewrites it under `NARA_BLESS=1`.

use std::path::Path;

/// A `.ts` module: `header` (comments, imports), then one `export` per declaration.
pub fn module(header: &str, declarations: &[String]) -> String {
    let mut out = String::from(header);
    for declaration in declarations {
        out.push_str("export ");
        out.push_str(declaration);
        out.push_str("\n\n");
    }
    out.truncate(out.trim_end().len());
    out.push('\n');
    out
}

/// Fails, naming `bless` (the command that rewrites it), when `path` is not `generated`.
pub fn check_or_bless(path: &Path, generated: &str, bless: &str) {
    if std::env::var_os("NARA_BLESS").is_some() {
        std::fs::write(path, generated).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    }
    let checked_in = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        checked_in == generated,
        "{} is stale: {bless}",
        path.display()
    );
}
