//! The built-in library: every `scenarios/*.yaml`, embedded at build time (see build.rs),
//! so `irsa-lab run` works from the binary alone.

use super::error::ScenarioErrors;
use super::load::{LoadedScenario, parse};

include!(concat!(env!("OUT_DIR"), "/library.rs"));

/// `(file name, text)` of every built-in scenario, sorted by name.
pub fn files() -> &'static [(&'static str, &'static str)] {
    LIBRARY
}

/// Every built-in scenario, parsed.
pub fn load_all() -> Result<Vec<LoadedScenario>, ScenarioErrors> {
    files()
        .iter()
        .map(|(name, text)| parse(&format!("scenarios/{name}"), text))
        .collect()
}
