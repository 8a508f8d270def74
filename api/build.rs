// Embedded migrations are compiled in: rebuild when a migration changes.
fn main() {
    println!("cargo:rerun-if-changed=../migrations");
    println!("cargo:rerun-if-changed=../openapi.yaml");
}
