//! Reading scenario files: YAML → typed [`Scenario`], then the checks serde cannot make,
//! every error located by file, line, column and key path.

use std::path::Path;
use std::sync::LazyLock;

use regex::Regex;

use super::error::{ScenarioError, ScenarioErrors};
use super::locate::Locator;
use super::model::Scenario;
use super::validate;

/// A parsed, validated scenario and where it came from.
#[derive(Debug, Clone)]
pub struct LoadedScenario {
    /// The display name of its file (`scenarios/rotation.yaml`, or `builtin:rotation.yaml`).
    pub file: String,
    /// `name:`, else the file stem.
    pub name: String,
    pub scenario: Scenario,
}

/// serde_norway appends ` at line L column C`; we print the location in front instead.
static TRAILING_LOCATION: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\s+at line (\d+) column (\d+)$").expect("valid regex"));
/// Errors inside embedded Kubernetes objects carry their inner path as ``at `spec.x` ``.
static INNER_PATH: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^(invalid \w+): at `([^`]*)`: ").expect("valid regex"));

/// Parses and validates `text`, naming `file` in errors.
pub fn parse(file: &str, text: &str) -> Result<LoadedScenario, ScenarioErrors> {
    let locator = Locator::new(text);
    let deserializer = serde_norway::Deserializer::from_str(text);
    let scenario: Scenario = serde_path_to_error::deserialize(deserializer)
        .map_err(|error| ScenarioErrors(vec![serde_error(file, &locator, error)]))?;
    validate::check(&scenario).map_err(|problems| {
        ScenarioErrors(
            problems
                .into_iter()
                .map(|(path, message)| {
                    let at = locator.find(&path);
                    ScenarioError {
                        file: file.to_owned(),
                        line: at.map(|p| p.line),
                        column: at.map(|p| p.column),
                        path,
                        message,
                    }
                })
                .collect(),
        )
    })?;
    let name = scenario.name.clone().unwrap_or_else(|| {
        Path::new(file)
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| file.to_owned())
    });
    Ok(LoadedScenario {
        file: file.to_owned(),
        name,
        scenario,
    })
}

/// Reads `path` and parses it.
pub fn load(path: &Path) -> Result<LoadedScenario, ScenarioErrors> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|error| {
        ScenarioErrors(vec![ScenarioError {
            file: file.clone(),
            line: None,
            column: None,
            path: String::new(),
            message: format!("cannot read the file: {error}"),
        }])
    })?;
    parse(&file, &text)
}

fn serde_error(
    file: &str,
    locator: &Locator,
    error: serde_path_to_error::Error<serde_norway::Error>,
) -> ScenarioError {
    let mut path = error.path().to_string();
    if path == "." {
        path.clear();
    }
    let inner = error.into_inner();
    let mut message = inner.to_string();
    let mut line = inner.location().map(|l| l.line());
    let mut column = inner.location().map(|l| l.column());
    if let Some(found) = TRAILING_LOCATION.captures(&message) {
        line = line.or(found[1].parse().ok());
        column = column.or(found[2].parse().ok());
        message.truncate(found.get(0).map_or(message.len(), |m| m.start()));
    }
    // serde_norway puts its own (shorter) path in front of the message: drop it.
    if let Some((prefix, rest)) = message.split_once(": ")
        && !prefix.is_empty()
        && path.starts_with(prefix)
    {
        message = rest.to_owned();
    }
    if let Some(found) = INNER_PATH.captures(&message) {
        let inner_path = found[2].to_owned();
        let kind = found[1].to_owned();
        message = format!(
            "{kind}: {}",
            &message[found.get(0).map_or(0, |m| m.end())..]
        );
        if !inner_path.is_empty() && inner_path != "." {
            path = format!("{path}.{inner_path}");
            if let Some(at) = locator.find(&path) {
                line = Some(at.line);
                column = Some(at.column);
            }
        }
    }
    // Our index knows where each path is written; serde's own position is where its
    // parser happened to be (often the enclosing mapping).
    let exact = if message.starts_with("unknown field") {
        locator.find_key(&path)
    } else {
        locator.find(&path)
    };
    if let Some(at) = exact.filter(|_| !path.is_empty()) {
        line = Some(at.line);
        column = Some(at.column);
    }
    ScenarioError {
        file: file.to_owned(),
        line,
        column,
        path,
        message,
    }
}
