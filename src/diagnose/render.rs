//! The human form of a [`Report`]: one line per check, its reason and fix indented
//! below; then the error's causes with their verdicts, and the most likely one.

use std::fmt::Write;

use super::check::{Group, Status};
use super::{Report, Verdict};

/// The report as text for a terminal.
pub fn human(report: &Report) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "irsa-lab diagnose: inputs {}; checked as of {}",
        report.inputs.join(", "),
        report.at_source
    );
    for (group, title) in [
        (Group::Sts, "STS AssumeRoleWithWebIdentity, in AWS's order"),
        (Group::Webhook, "The pod identity webhook, for this pod"),
    ] {
        let _ = writeln!(out, "\n{title}");
        for check in report.checks.0.iter().filter(|c| c.group == group) {
            // Passing checks take one line; the others their reason and fix below.
            if check.status == Status::Pass {
                let _ = writeln!(
                    out,
                    "  {:<8}{}: {}",
                    check.status.label(),
                    check.title,
                    check.reason
                );
                continue;
            }
            let _ = writeln!(out, "  {:<8}{}", check.status.label(), check.title);
            let _ = writeln!(out, "          {}", check.reason);
            if let Some(fix) = &check.fix {
                let _ = writeln!(out, "          fix: {fix}");
            }
        }
    }
    for error in &report.errors {
        let _ = writeln!(
            out,
            "\n{} {} ({})",
            if error.predicted {
                "No error text given; the first failing check makes the answer"
            } else {
                "The error you saw:"
            },
            error.code,
            error.id
        );
        for cause in &error.causes {
            let _ = writeln!(
                out,
                "  {:<10} {}: {}",
                cause.verdict.label(),
                cause.id,
                cause.title
            );
            let _ = writeln!(out, "             {}", cause.because);
        }
    }
    match &report.most_likely_cause {
        Some(cause) => {
            let _ = writeln!(
                out,
                "\nMost likely cause ({}): {}\n  {}\n  fix: {}",
                if cause.verdict == Verdict::Confirmed {
                    "confirmed by the inputs"
                } else {
                    "not ruled out; cannot be checked offline"
                },
                cause.id,
                cause.title,
                cause.fix
            );
        }
        None if report.errors.is_empty() => {
            let _ = writeln!(out, "\nNo check failed and no error text was given.");
        }
        None => {
            let _ = writeln!(
                out,
                "\nEvery known cause of this error is ruled out by the inputs."
            );
        }
    }
    let counts = |s: Status| report.checks.0.iter().filter(|c| c.status == s).count();
    let _ = writeln!(
        out,
        "\n{} passed, {} failed, {} warnings, {} unknown",
        counts(Status::Pass),
        counts(Status::Fail),
        counts(Status::Warn),
        counts(Status::Unknown)
    );
    out
}
