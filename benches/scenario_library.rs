//! Wall time of the whole built-in library on the emulated backend, as `irsa-lab run`
//! plays it (one scenario after another), and scenarios per second. Prints figures; asserts
//! nothing about time. Target: the whole library in under 5 s on 2 cores.
//!
//!     cargo bench --bench scenario_library

use std::time::Instant;

use irsa_lab::backend::emulated::EmulatedBackend;
use irsa_lab::runner::{Quiet, run_scenario};
use irsa_lab::scenario::library;

fn main() {
    let scenarios = library::load_all().expect("the built-in library is valid");
    let steps: usize = scenarios.iter().map(|s| s.scenario.steps.len()).sum();
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
    for pass in ["cold (keys generated)", "warm"] {
        let began = Instant::now();
        let mut failed = 0;
        for scenario in &scenarios {
            let report = runtime
                .block_on(run_scenario::<EmulatedBackend>(scenario, &mut Quiet))
                .expect("the emulated backend runs");
            if !report.passed() {
                failed += 1;
            }
        }
        let seconds = began.elapsed().as_secs_f64();
        println!(
            "library, {pass}: {} scenarios ({steps} steps) in {seconds:.2} s: {:.1} scenarios/s, {:.0} steps/s, {failed} failed (target: < 5 s)",
            scenarios.len(),
            scenarios.len() as f64 / seconds,
            steps as f64 / seconds
        );
    }
}
