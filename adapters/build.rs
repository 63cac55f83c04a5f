//! Rebuilds the crate when a migration changes (diesel embeds them at compile time).
// The migrations are embedded at compile time; rebuild when they change.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
    println!("cargo:rerun-if-changed=migrations-postgres");
}
