//! Scenario files: the format ([`model`], [`steps`], [`expect`], [`kube`]), loading with
//! `file:line:column` errors ([`load`]), the generated JSON Schema ([`schema`]) and the
//! built-in library embedded in the binary ([`library`]).

pub mod duration;
pub mod error;
pub mod expect;
pub mod kube;
pub mod library;
pub mod limits;
pub mod load;
pub mod locate;
pub mod model;
pub mod reference;
pub mod schema;
pub mod steps;
pub mod validate;

pub use duration::HumanDuration;
pub use error::{ScenarioError, ScenarioErrors};
pub use expect::Expect;
pub use kube::KubeObject;
pub use load::{LoadedScenario, load, parse};
pub use model::Scenario;
pub use steps::Step;

/// The first line of every scenario file, so editors complete and check it.
pub const SCHEMA_LINE: &str = "# yaml-language-server: $schema=schema.json";
