//! The JSON Schema of scenario files, generated from the types (and their doc comments),
//! committed as `scenarios/schema.json` and checked for drift by a test.

use schemars::generate::SchemaSettings;

use super::model::Scenario;

/// The schema as pretty JSON, with a trailing newline.
pub fn json() -> String {
    let generator = SchemaSettings::draft07().into_generator();
    let schema = generator.into_root_schema_for::<Scenario>();
    let mut text = serde_json::to_string_pretty(&schema).expect("a schema serialises");
    text.push('\n');
    text
}
