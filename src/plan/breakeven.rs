//! Self-hosting against a hosted API: what a million tokens costs each way, and the monthly
//! volume at which renting the devices becomes cheaper.
//!
//! Self-hosting is a fixed cost (devices rented around the clock, or an owned purchase and its
//! hosting) plus, when owning, a cost per token (electricity), with a capacity; an API is a price
//! per token. Below the break-even volume the API is cheaper; above it, self-hosting is, as long
//! as the volume fits the deployment's capacity and the self-hosted cost at full utilization is
//! below the API price.

pub use crate::engine::cost::HOURS_PER_MONTH;
use crate::engine::explain::{Explanation, Trace};

/// What self-hosting costs: a fixed amount per hour and an amount per output token served.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SelfHosted {
    /// Paid every hour whether or not tokens are served (rent; or purchase and hosting), USD.
    pub fixed_usd_per_hour: f64,
    /// Paid per output token served (electricity when owning; 0 when renting), USD.
    pub usd_per_output_token: f64,
}

/// An API's prices, USD per million tokens.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ApiPrice {
    /// Prompt tokens.
    pub usd_per_million_input_tokens: f64,
    /// Generated tokens.
    pub usd_per_million_output_tokens: f64,
}

/// The comparison for one deployment and workload.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    /// API cost of one request, USD.
    pub api_usd_per_request: f64,
    /// API cost per million output tokens, prompts included, USD.
    pub api_usd_per_million_output_tokens: f64,
    /// Self-hosted cost per million output tokens at the planned utilization, USD.
    pub self_hosted_usd_per_million_output_tokens: f64,
    /// Self-hosted cost per million output tokens with the devices fully used, USD.
    pub self_hosted_floor_usd_per_million_output_tokens: f64,
    /// Self-hosting's cost per month at the planned volume, USD.
    pub self_hosted_usd_per_month: f64,
    /// The part of it paid whatever the volume (rent; or purchase and hosting), USD per month.
    pub self_hosted_fixed_usd_per_month: f64,
    /// The part paid per token served (electricity when owning; 0 when renting), USD per
    /// million output tokens: cost per month = fixed + this x volume / 1e6, up to the capacity.
    pub self_hosted_marginal_usd_per_million_output_tokens: f64,
    /// Output tokens per month the deployment can serve.
    pub capacity_output_tokens_per_month: f64,
    /// Output tokens per month above which self-hosting is cheaper; `None` when it never is
    /// (the API is cheaper even with the devices fully used).
    pub break_even_output_tokens_per_month: Option<f64>,
    /// Whether self-hosting is cheaper at the planned volume.
    pub self_hosting_cheaper: bool,
    /// Prompt tokens per output token of the workload: the weight of the API's input price in
    /// its blended price per output token.
    pub input_tokens_per_output_token: f64,
    /// The rules behind the blended API price, the self-hosted price and the break-even
    /// (`breakeven.api_usd_per_million_output_tokens`, `breakeven.self_hosted_usd_per_million_output_tokens`,
    /// `breakeven.volume`; the last only when there is one).
    pub explain: Vec<Explanation>,
}

/// Compares a deployment costing `hosted`, able to serve `capacity_output_tokens_per_s`,
/// planned to serve `served_output_tokens_per_s`, with an API, for requests of
/// `input_tokens` / `output_tokens`. Returns `None` without output tokens or capacity.
pub fn compare(
    price: ApiPrice,
    input_tokens: u64,
    output_tokens: u64,
    hosted: SelfHosted,
    capacity_output_tokens_per_s: f64,
    served_output_tokens_per_s: f64,
) -> Option<Comparison> {
    if output_tokens == 0 || capacity_output_tokens_per_s <= 0.0 || served_output_tokens_per_s <= 0.0 {
        return None;
    }
    let (n_in, n_out) = (input_tokens as f64, output_tokens as f64);
    let mut trace = Trace::new(true);
    let ratio = n_in / n_out;
    let api_usd_per_request =
        (n_in * price.usd_per_million_input_tokens + n_out * price.usd_per_million_output_tokens) / 1e6;
    let api_per_output_token = api_usd_per_request / n_out;
    let SelfHosted { fixed_usd_per_hour, usd_per_output_token } = hosted;
    let per_million = |tokens_per_s: f64| (fixed_usd_per_hour / (tokens_per_s * 3600.0) + usd_per_output_token) * 1e6;
    let fixed_month = fixed_usd_per_hour * HOURS_PER_MONTH;
    let capacity_month = capacity_output_tokens_per_s * 3600.0 * HOURS_PER_MONTH;
    let floor = per_million(capacity_output_tokens_per_s);
    // fixed + V x per-token = V x API price, for V tokens a month.
    let margin = api_per_output_token - usd_per_output_token;
    let break_even = (margin > 0.0).then(|| fixed_month / margin).filter(|volume| *volume <= capacity_month);
    let served_month = served_output_tokens_per_s * 3600.0 * HOURS_PER_MONTH;
    let monthly = fixed_month + served_month * usd_per_output_token;
    // A vanishing served rate (found by fuzzing: 2.2e-308 requests/s) overflows the cost per
    // token; such a workload has no meaningful comparison.
    if !per_million(served_output_tokens_per_s).is_finite() || !floor.is_finite() {
        return None;
    }
    trace.record(
        "breakeven.api_usd_per_million_output_tokens",
        "API price per million output tokens with the prompts folded in: output price + input price x prompt tokens per output token (the workload's input_tokens / output_tokens)",
        &[
            ("usd_per_million_input_tokens", price.usd_per_million_input_tokens),
            ("usd_per_million_output_tokens", price.usd_per_million_output_tokens),
            ("input_tokens", n_in),
            ("output_tokens", n_out),
            ("input_tokens_per_output_token", ratio),
        ],
        api_per_output_token * 1e6,
        "USD per million output tokens",
    );
    trace.record(
        "breakeven.self_hosted_usd_per_million_output_tokens",
        "self-hosted price per million output tokens at the planned volume: (fixed USD per hour / output tokens served per hour + USD per output token served) x 1e6; fixed is rent, or purchase / life / use + hosting; per token is electricity when owning",
        &[
            ("fixed_usd_per_hour", fixed_usd_per_hour),
            ("served_output_tokens_per_s", served_output_tokens_per_s),
            ("usd_per_million_output_tokens_served", usd_per_output_token * 1e6),
            ("capacity_output_tokens_per_s", capacity_output_tokens_per_s),
        ],
        per_million(served_output_tokens_per_s),
        "USD per million output tokens",
    );
    if let Some(volume) = break_even {
        trace.record(
            "breakeven.volume",
            "break-even volume: the monthly output tokens where the fixed cost plus the per-token cost equals the API's: fixed USD per month / (API USD per output token - self-hosted USD per output token served); self-hosting is cheaper above it, up to the capacity",
            &[
                ("fixed_usd_per_month", fixed_month),
                ("hours_per_month", HOURS_PER_MONTH),
                ("api_usd_per_million_output_tokens", api_per_output_token * 1e6),
                ("self_hosted_usd_per_million_output_tokens_served", usd_per_output_token * 1e6),
                ("capacity_output_tokens_per_month", capacity_month),
            ],
            volume,
            "output tokens per month",
        );
    }
    let (_, explain) = trace.finish();
    Some(Comparison {
        api_usd_per_request,
        api_usd_per_million_output_tokens: api_per_output_token * 1e6,
        self_hosted_usd_per_million_output_tokens: per_million(served_output_tokens_per_s),
        self_hosted_floor_usd_per_million_output_tokens: floor,
        self_hosted_usd_per_month: monthly,
        self_hosted_fixed_usd_per_month: fixed_month,
        self_hosted_marginal_usd_per_million_output_tokens: usd_per_output_token * 1e6,
        capacity_output_tokens_per_month: capacity_month,
        break_even_output_tokens_per_month: break_even,
        self_hosting_cheaper: break_even.is_some_and(|v| served_month >= v),
        input_tokens_per_output_token: ratio,
        explain,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn break_even_is_fixed_cost_over_api_price_per_token() {
        // $10/h of devices, 1000 output tokens/s capacity, an API at $1 in / $2 out per million,
        // requests of 1000 in / 1000 out: $3 per million output tokens from the API.
        let price = ApiPrice { usd_per_million_input_tokens: 1.0, usd_per_million_output_tokens: 2.0 };
        let c = compare(price, 1000, 1000, rented(10.0), 1000.0, 500.0).unwrap();
        assert!((c.api_usd_per_million_output_tokens - 3.0).abs() < 1e-9);
        let expected = 10.0 * HOURS_PER_MONTH / 3e-6;
        assert!((c.break_even_output_tokens_per_month.unwrap() - expected).abs() / expected < 1e-9);
        // Break-even is 2.44e9 tokens a month; serving 500/s is 1.31e9, below it (the API is
        // cheaper), and serving 1000/s is 2.63e9, above it.
        assert!(!c.self_hosting_cheaper);
        let busy = compare(price, 1000, 1000, rented(10.0), 1000.0, 1000.0).unwrap();
        assert!(busy.self_hosting_cheaper);
    }

    #[test]
    fn no_break_even_when_the_api_beats_a_full_deployment() {
        let price = ApiPrice { usd_per_million_input_tokens: 0.1, usd_per_million_output_tokens: 0.2 };
        let c = compare(price, 100, 100, rented(10.0), 1000.0, 1000.0).unwrap();
        assert!(c.break_even_output_tokens_per_month.is_none());
        assert!(!c.self_hosting_cheaper);
    }

    #[test]
    fn owning_adds_energy_per_token_to_the_break_even() {
        // $0.5/h fixed, $1 per million output tokens of electricity, against $3 per million:
        // break-even where 365.25 + V x 1e-6 = V x 3e-6, V = 365.25 / 2e-6 = 1.826e8 a month.
        let price = ApiPrice { usd_per_million_input_tokens: 1.0, usd_per_million_output_tokens: 2.0 };
        let hosted = SelfHosted { fixed_usd_per_hour: 0.5, usd_per_output_token: 1e-6 };
        let c = compare(price, 1000, 1000, hosted, 1000.0, 100.0).unwrap();
        let expected = 0.5 * HOURS_PER_MONTH / 2e-6;
        assert!((c.break_even_output_tokens_per_month.unwrap() - expected).abs() / expected < 1e-9);
        // At 100 tokens/s: 2.63e8 tokens a month, so $365.25 + $263 of electricity.
        let served = 100.0 * 3600.0 * HOURS_PER_MONTH;
        assert!((c.self_hosted_usd_per_month - (0.5 * HOURS_PER_MONTH + served * 1e-6)).abs() < 1e-6);
        // The two parts a cost-per-volume curve is drawn from give back the month and the
        // break-even: fixed + marginal x V = API x V at V = break-even.
        assert!((c.self_hosted_fixed_usd_per_month - 0.5 * HOURS_PER_MONTH).abs() < 1e-9);
        assert!((c.self_hosted_marginal_usd_per_million_output_tokens - 1.0).abs() < 1e-9);
        let month =
            c.self_hosted_fixed_usd_per_month + c.self_hosted_marginal_usd_per_million_output_tokens * served / 1e6;
        assert!((month - c.self_hosted_usd_per_month).abs() < 1e-6);
        assert!(c.self_hosting_cheaper);
        // Electricity dearer than the API: never cheaper.
        let dear = SelfHosted { usd_per_output_token: 4e-6, ..hosted };
        assert!(compare(price, 1000, 1000, dear, 1000.0, 100.0).unwrap().break_even_output_tokens_per_month.is_none());
    }

    #[test]
    fn each_headline_figure_has_its_rule_with_the_value_reported() {
        // Prompts folded in at 5 prompt tokens per output token: $2 + 5 x $1 = $7 per million.
        let price = ApiPrice { usd_per_million_input_tokens: 1.0, usd_per_million_output_tokens: 2.0 };
        let c = compare(price, 1000, 200, rented(1.0), 1000.0, 500.0).unwrap();
        assert!((c.input_tokens_per_output_token - 5.0).abs() < 1e-12);
        let rule = |name: &str| c.explain.iter().find(|e| e.rule == name).unwrap_or_else(|| panic!("{name}"));
        let api = rule("breakeven.api_usd_per_million_output_tokens");
        assert!((api.value - 7.0).abs() < 1e-9);
        assert!((api.value - c.api_usd_per_million_output_tokens).abs() < 1e-12);
        assert!(api.inputs.contains(&("input_tokens_per_output_token", 5.0)));
        let hosted = rule("breakeven.self_hosted_usd_per_million_output_tokens");
        assert_eq!(hosted.value, c.self_hosted_usd_per_million_output_tokens);
        assert_eq!(rule("breakeven.volume").value, c.break_even_output_tokens_per_month.unwrap());
        // No break-even, no rule for it.
        let cheap = ApiPrice { usd_per_million_input_tokens: 0.0, usd_per_million_output_tokens: 1e-6 };
        let never = compare(cheap, 1000, 200, rented(1.0), 1000.0, 500.0).unwrap();
        assert!(never.break_even_output_tokens_per_month.is_none());
        assert!(never.explain.iter().all(|e| e.rule != "breakeven.volume"));
    }

    fn rented(usd_per_hour: f64) -> SelfHosted {
        SelfHosted { fixed_usd_per_hour: usd_per_hour, usd_per_output_token: 0.0 }
    }
}
