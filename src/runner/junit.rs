//! JUnit XML for CI systems: one `<testsuite>` per run, one `<testcase>` per scenario,
//! a `<failure>` listing each step that missed its expectation.

use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};

use super::ScenarioReport;

/// The document for `reports`, run on `backend`.
pub fn render(reports: &[ScenarioReport], backend: &str) -> String {
    let mut writer = Writer::new_with_indent(Vec::new(), b' ', 2);
    let failures = reports.iter().filter(|r| !r.passed()).count();
    let total: f64 = reports.iter().map(|r| r.elapsed.as_secs_f64()).sum();
    let _ = writer.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)));
    let mut suites = BytesStart::new("testsuites");
    suites.push_attribute(("name", "irsa-lab"));
    suites.push_attribute(("tests", reports.len().to_string().as_str()));
    suites.push_attribute(("failures", failures.to_string().as_str()));
    suites.push_attribute(("time", format!("{total:.3}").as_str()));
    let _ = writer.write_event(Event::Start(suites));
    let mut suite = BytesStart::new("testsuite");
    suite.push_attribute(("name", format!("scenarios ({backend})").as_str()));
    suite.push_attribute(("tests", reports.len().to_string().as_str()));
    suite.push_attribute(("failures", failures.to_string().as_str()));
    suite.push_attribute(("errors", "0"));
    suite.push_attribute(("skipped", "0"));
    suite.push_attribute(("time", format!("{total:.3}").as_str()));
    let _ = writer.write_event(Event::Start(suite));
    for report in reports {
        let mut case = BytesStart::new("testcase");
        case.push_attribute(("name", report.name.as_str()));
        case.push_attribute(("classname", format!("irsa-lab.{backend}").as_str()));
        case.push_attribute(("file", report.file.as_str()));
        case.push_attribute((
            "time",
            format!("{:.3}", report.elapsed.as_secs_f64()).as_str(),
        ));
        let _ = writer.write_event(Event::Start(case));
        let failed: Vec<_> = report.steps.iter().filter(|s| !s.passed()).collect();
        if let Some(first) = failed.first() {
            let mut failure = BytesStart::new("failure");
            let message = format!(
                "step {} ({}): {}",
                first.index + 1,
                first.title,
                first.mismatches.join("; ")
            );
            failure.push_attribute(("message", message.as_str()));
            failure.push_attribute(("type", "ExpectationMismatch"));
            let _ = writer.write_event(Event::Start(failure));
            let mut body = String::new();
            for step in &failed {
                body.push_str(&format!(
                    "step {}: {}\n  seen: {}\n",
                    step.index + 1,
                    step.title,
                    step.outcome
                ));
                for mismatch in &step.mismatches {
                    body.push_str(&format!("  {mismatch}\n"));
                }
            }
            let _ = writer.write_event(Event::Text(BytesText::new(&body)));
            let _ = writer.write_event(Event::End(BytesEnd::new("failure")));
        }
        let mut out = String::new();
        for step in &report.steps {
            out.push_str(&format!(
                "{} {}. {}: {}\n",
                if step.passed() { "ok  " } else { "FAIL" },
                step.index + 1,
                step.title,
                step.outcome
            ));
        }
        let _ = writer.write_event(Event::Start(BytesStart::new("system-out")));
        let _ = writer.write_event(Event::Text(BytesText::new(&out)));
        let _ = writer.write_event(Event::End(BytesEnd::new("system-out")));
        let _ = writer.write_event(Event::End(BytesEnd::new("testcase")));
    }
    let _ = writer.write_event(Event::End(BytesEnd::new("testsuite")));
    let _ = writer.write_event(Event::End(BytesEnd::new("testsuites")));
    let mut text = String::from_utf8(writer.into_inner()).unwrap_or_default();
    text.push('\n');
    text
}
