//! Which experts a batch touches.

/// Expected number of distinct experts used in one MoE layer when `tokens` tokens each pick
/// `k` of `experts` experts: `E x (1 - (1 - k/E)^T)`.
///
/// Assumes routing is uniform and independent across tokens (balanced routers are trained
/// towards uniform load; correlated tokens touch fewer experts, so this errs towards more
/// traffic). At batch 1 it is `k`; for large batches it approaches `E`.
pub fn expected_distinct_experts(experts: u64, k: u64, tokens: f64) -> f64 {
    let (e, k) = (experts.max(1) as f64, k.min(experts).max(1) as f64);
    let miss = (1.0 - k / e).powf(tokens.max(1.0));
    (e * (1.0 - miss)).clamp(k.min(e), e)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_token_touches_k_and_many_touch_all() {
        assert!((expected_distinct_experts(8, 2, 1.0) - 2.0).abs() < 1e-9);
        assert!((expected_distinct_experts(128, 8, 10_000.0) - 128.0).abs() < 1e-6);
        let mid = expected_distinct_experts(128, 8, 16.0);
        assert!(mid > 8.0 && mid < 128.0, "{mid}");
    }
}
