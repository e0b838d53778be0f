//! Helpers the plan tests share.

use apim_engine::plan::{self, Plan};
use apim_engine::service::ServiceDefinition;
use apim_engine::services::{Services, TestHandles, VirtualClock};

/// `s` compiled on test services (virtual clock at its default start, randomness seeded with
/// `seed`); a compile diagnostic fails the test with every diagnostic printed.
pub fn compiled(s: &ServiceDefinition, seed: u64) -> (Plan, Services, TestHandles) {
    let (services, handles) = Services::for_tests(VirtualClock::at_default_start(), seed);
    let plan = match plan::compile(s, &services) {
        Ok(p) => p,
        Err(d) => panic!(
            "{}",
            d.iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
                .join("\n")
        ),
    };
    (plan, services, handles)
}
