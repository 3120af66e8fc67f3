//! The search both calibrations share: golden-section search of one constant at a time on the
//! log of its bounds (the constants act multiplicatively on times), coordinate descent over
//! them.

/// Golden-section iterations per constant: the bracket shrinks by 0.618 each, so 16 take a
/// 50x range (ln 50 = 3.9) to 2e-3 in the log (0.2%), below any measurement's noise.
const ITERATIONS: usize = 16;

/// The minimum of `f` on `[min, max]` (both positive), searched on the log scale.
pub fn golden(min: f64, max: f64, mut f: impl FnMut(f64) -> f64) -> f64 {
    let (mut a, mut b) = (min.ln(), max.ln());
    let ratio = (5f64.sqrt() - 1.0) / 2.0;
    let (mut c, mut d) = (b - ratio * (b - a), a + ratio * (b - a));
    let (mut fc, mut fd) = (f(c.exp()), f(d.exp()));
    for _ in 0..ITERATIONS {
        if fc < fd {
            b = d;
            d = c;
            fd = fc;
            c = b - ratio * (b - a);
            fc = f(c.exp());
        } else {
            a = c;
            c = d;
            fc = fd;
            d = a + ratio * (b - a);
            fd = f(d.exp());
        }
    }
    ((a + b) / 2.0).exp()
}

/// Coordinate descent from `start` (each value within its `bounds`): `rounds` passes, each
/// minimising `cost` over one constant with the others held. A pass keeps a constant's old value
/// when the search does not improve on it (the golden section never evaluates the bracket's
/// interior points exactly at the start).
pub fn descend(start: &[f64], bounds: &[(f64, f64)], rounds: usize, mut cost: impl FnMut(&[f64]) -> f64) -> Vec<f64> {
    let mut x = start.to_vec();
    let mut best = cost(&x);
    for _ in 0..rounds {
        for i in 0..x.len() {
            let (lo, hi) = bounds[i];
            let mut trial = x.clone();
            let v = golden(lo, hi, |v| {
                trial[i] = v;
                cost(&trial)
            });
            trial[i] = v;
            let c = cost(&trial);
            if c < best {
                best = c;
                x = trial;
            }
        }
    }
    x
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn golden_finds_the_minimum_of_a_log_parabola() {
        // (ln x - ln 0.3)^2 on [0.02, 1]: the minimum is 0.3.
        let x = golden(0.02, 1.0, |x| (x.ln() - 0.3f64.ln()).powi(2));
        assert!((x - 0.3).abs() < 1e-3, "{x}");
        // At a bound when the minimum lies beyond it.
        assert!((golden(0.02, 1.0, |x| -x) - 1.0).abs() < 1e-3);
    }

    #[test]
    fn descent_settles_separable_constants_and_never_worsens() {
        let cost = |x: &[f64]| (x[0].ln() - 0.5f64.ln()).powi(2) + (x[1].ln() - 40f64.ln()).powi(2);
        let x = descend(&[0.9, 5.0], &[(0.02, 1.0), (1.0, 1000.0)], 2, cost);
        assert!((x[0] - 0.5).abs() < 1e-3 && (x[1] - 40.0).abs() < 0.05, "{x:?}");
        // Already at the minimum: it stays.
        let at = descend(&[0.5, 40.0], &[(0.02, 1.0), (1.0, 1000.0)], 1, cost);
        assert!(cost(&at) <= cost(&[0.5, 40.0]));
    }
}
