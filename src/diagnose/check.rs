//! One check's outcome: what was checked, pass / fail / warn / unknown, why, and the fix.

use serde::Serialize;

/// The outcome of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Status {
    Pass,
    Fail,
    /// Accepted by AWS, but fragile or suspicious.
    Warn,
    /// The input it needs was not given, or it cannot be checked offline.
    Unknown,
}

impl Status {
    pub fn label(self) -> &'static str {
        match self {
            Status::Pass => "PASS",
            Status::Fail => "FAIL",
            Status::Warn => "WARN",
            Status::Unknown => "UNKNOWN",
        }
    }
}

/// Which part of the chain a check belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Group {
    /// AssumeRoleWithWebIdentity, in AWS's order.
    Sts,
    /// The pod identity webhook's decisions and the pod it produces.
    Webhook,
}

/// One check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Check {
    /// Stable id (`sts.kid`, `webhook.audience`), for tools and tests.
    pub id: &'static str,
    pub group: Group,
    pub title: &'static str,
    pub status: Status,
    pub reason: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

impl Check {
    /// Starts a check; finish it with `.pass(..)`, `.fail(..)`, `.warn(..)` or `.unknown(..)`.
    pub fn named(id: &'static str, group: Group, title: &'static str) -> CheckBuilder {
        CheckBuilder { id, group, title }
    }
}

/// `Check::named(..).pass(reason)` and friends.
#[derive(Debug, Clone, Copy)]
pub struct CheckBuilder {
    id: &'static str,
    group: Group,
    title: &'static str,
}

impl CheckBuilder {
    fn make(self, status: Status, reason: impl Into<String>, fix: Option<String>) -> Check {
        Check {
            id: self.id,
            group: self.group,
            title: self.title,
            status,
            reason: reason.into(),
            fix,
        }
    }
    pub fn pass(self, reason: impl Into<String>) -> Check {
        self.make(Status::Pass, reason, None)
    }
    pub fn fail(self, reason: impl Into<String>, fix: impl Into<String>) -> Check {
        self.make(Status::Fail, reason, Some(fix.into()))
    }
    pub fn warn(self, reason: impl Into<String>, fix: impl Into<String>) -> Check {
        self.make(Status::Warn, reason, Some(fix.into()))
    }
    pub fn unknown(self, reason: impl Into<String>) -> Check {
        self.make(Status::Unknown, reason, None)
    }
}

/// The checks made so far, looked up by id.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(transparent)]
pub struct Checks(pub Vec<Check>);

impl Checks {
    pub fn push(&mut self, check: Check) {
        self.0.push(check);
    }

    pub fn get(&self, id: &str) -> Option<&Check> {
        self.0.iter().find(|c| c.id == id)
    }

    pub fn status(&self, id: &str) -> Status {
        self.get(id).map_or(Status::Unknown, |c| c.status)
    }

    pub fn failed(&self, id: &str) -> bool {
        self.status(id) == Status::Fail
    }

    pub fn passed(&self, id: &str) -> bool {
        self.status(id) == Status::Pass
    }

    pub fn reason(&self, id: &str) -> String {
        self.get(id).map(|c| c.reason.clone()).unwrap_or_default()
    }
}
