//! The committed schema and reference are what the types generate (no hand-kept drift).
//! Regenerate both with `IRSA_LAB_WRITE_DOCS=1 cargo test --test scenario_docs`.

use std::path::Path;

fn check(relative: &str, generated: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(relative);
    if std::env::var_os("IRSA_LAB_WRITE_DOCS").is_some() {
        std::fs::write(&path, generated).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "{relative} is out of date with the scenario types: run `IRSA_LAB_WRITE_DOCS=1 cargo test --test scenario_docs` and commit it"
    );
}

#[test]
fn schema_json_matches_the_types() {
    check("scenarios/schema.json", &irsa_lab::scenario::schema::json());
}

#[test]
fn reference_matches_the_schema() {
    check(
        "docs/scenario-reference.md",
        &irsa_lab::scenario::reference::markdown(),
    );
}
