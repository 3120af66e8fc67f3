//! Defaults of mixture-of-experts serving at scale, from `data/serving/moe.toml` (each figure
//! with its source): the hottest expert rank's load over the mean rank's where a request does
//! not give `moe.hottest_expert_load`.

use std::sync::OnceLock;

use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Defaults {
    hottest_expert_load: f64,
    #[allow(dead_code)]
    hottest_expert_load_source: String,
    hottest_expert_load_without_eplb: f64,
    #[allow(dead_code)]
    hottest_expert_load_without_eplb_source: String,
}

fn defaults() -> &'static Defaults {
    static DEFAULTS: OnceLock<Defaults> = OnceLock::new();
    DEFAULTS.get_or_init(|| {
        toml::from_str(include_str!("../../data/serving/moe.toml"))
            .expect("data/serving/moe.toml parses (a unit test keeps it so)")
    })
}

/// The hottest expert-parallel rank's routed tokens over the mean rank's with a load balancer
/// (EPLB), measured: the default of `moe.hottest_expert_load`.
pub fn hottest_expert_load() -> f64 {
    defaults().hottest_expert_load
}

/// The same measured without a load balancer (stated in the assumption, not the default).
pub fn hottest_expert_load_without_eplb() -> f64 {
    defaults().hottest_expert_load_without_eplb
}

#[cfg(test)]
mod tests {
    /// The file parses and its figures are loads (at least the mean), the balanced one lower.
    #[test]
    fn the_defaults_parse_and_are_loads() {
        let (with, without) = (super::hottest_expert_load(), super::hottest_expert_load_without_eplb());
        assert!((1.0..without).contains(&with), "{with} {without}");
        assert_eq!(with, 1.109);
    }
}
