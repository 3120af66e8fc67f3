//! Scaling laws: the quality side of "N parameters trained on D tokens".
//!
//! A [`Fit`] turns parameters and training tokens into the loss a published fit predicts (nats
//! per token on the data that fit was measured on: losses of different fits are not
//! comparable). From it follow the compute-optimal allocation of a FLOP budget, what ten times
//! more compute buys, the tokens a model of a given size needs to reach a loss (the iso-loss
//! curve), and the model that minimises any lifetime objective along that curve (Sardana et al.
//! 2024 with FLOPs; the answer layer passes money from the training and serving engines).
//!
//! Training compute is the usual `6 N D` (Kaplan et al. 2020, section 2.1; Hoffmann et al. 2022
//! use the same to define their budgets). Every function is total: inputs are positive and
//! finite (the scenario layer checks), and no answer is NaN or infinite.

/// FLOPs per parameter per training token (forward 2, backward 4).
pub const TRAINING_FLOPS_PER_PARAMETER_TOKEN: f64 = 6.0;

/// FLOPs per parameter per inference token (a forward pass; Sardana et al. 2024, section 2).
pub const INFERENCE_FLOPS_PER_PARAMETER_TOKEN: f64 = 2.0;

/// The functional form of a fit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Law {
    /// `L = E + A / N^alpha + B / D^beta` (Hoffmann et al. 2022, Eq. 2 and its fit, Eq. 10).
    Additive {
        /// Irreducible loss.
        e: f64,
        /// Parameter coefficient.
        a: f64,
        /// Data coefficient.
        b: f64,
        /// Parameter exponent.
        alpha: f64,
        /// Data exponent.
        beta: f64,
    },
    /// `L = [(N_c / N)^(alpha_N / alpha_D) + D_c / D]^alpha_D` (Kaplan et al. 2020, Eq. 1.5);
    /// no irreducible term, `N` counts non-embedding parameters.
    Kaplan {
        /// Parameter scale.
        n_c: f64,
        /// Data scale.
        d_c: f64,
        /// Parameter exponent.
        alpha_n: f64,
        /// Data exponent.
        alpha_d: f64,
    },
}

/// The diminishing value of repeated tokens and of parameters beyond what the unique data
/// supports (Muennighoff et al. 2023, Eq. 5 and 6): both decay exponentially with these
/// "half-life"-like constants, measured in repetitions.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Repetition {
    /// `R_D*`: repetitions (epochs beyond the first) at which repeated data has lost 1 - 1/e of its value.
    pub r_d_star: f64,
    /// `R_N*`: the same for excess parameters.
    pub r_n_star: f64,
}

/// A published scaling-law fit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Fit {
    /// Loss as a function of parameters and tokens.
    pub law: Law,
    /// How repeated data counts, when the fit models it.
    pub repetition: Option<Repetition>,
}

/// Parameters and tokens, with the loss they reach.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Allocation {
    /// Parameters.
    pub parameters: f64,
    /// Training tokens.
    pub tokens: f64,
    /// Predicted loss.
    pub loss: f64,
}

impl Allocation {
    /// `6 N D`.
    pub fn training_flops(&self) -> f64 {
        training_flops(self.parameters, self.tokens)
    }

    /// Tokens per parameter.
    pub fn tokens_per_parameter(&self) -> f64 {
        self.tokens / self.parameters
    }
}

/// `6 N D`.
pub fn training_flops(parameters: f64, tokens: f64) -> f64 {
    TRAINING_FLOPS_PER_PARAMETER_TOKEN * parameters * tokens
}

/// The smallest and largest parameter counts the numeric searches consider: far outside any
/// fit's data, wide enough that no realistic optimum sits on an edge.
const SEARCH_PARAMETERS: (f64, f64) = (1e3, 1e16);

impl Fit {
    /// The loss no amount of parameters or data removes (0 for Kaplan's form).
    pub fn irreducible_loss(&self) -> f64 {
        match self.law {
            Law::Additive { e, .. } => e,
            Law::Kaplan { .. } => 0.0,
        }
    }

    /// Loss of `parameters` trained on `tokens` unique tokens.
    pub fn loss(&self, parameters: f64, tokens: f64) -> f64 {
        match self.law {
            Law::Additive { e, a, b, alpha, beta } => e + a / parameters.powf(alpha) + b / tokens.powf(beta),
            Law::Kaplan { n_c, d_c, alpha_n, alpha_d } => {
                ((n_c / parameters).powf(alpha_n / alpha_d) + d_c / tokens).powf(alpha_d)
            }
        }
    }

    /// Loss of `parameters` trained on `tokens` drawn from `unique` unique tokens (repeated for
    /// `tokens / unique` epochs). Without a repetition law every token counts as new.
    pub fn loss_repeated(&self, parameters: f64, tokens: f64, unique: f64) -> f64 {
        match self.repetition {
            Some(r) if unique < tokens => {
                let (n, d) = self.effective(r, parameters, tokens, unique);
                self.loss(n, d)
            }
            _ => self.loss(parameters, tokens),
        }
    }

    /// Muennighoff et al. 2023, Eq. 5 and 6: the effective parameters `N'` and data `D'`.
    /// `U_N`, the parameters the unique data supports, is the compute-optimal model for a
    /// single epoch of `unique` tokens; parameters beyond it decay like repeated data.
    fn effective(&self, r: Repetition, parameters: f64, tokens: f64, unique: f64) -> (f64, f64) {
        let decay = |base: f64, repeats: f64, star: f64| base + base * star * (1.0 - (-repeats / star).exp());
        let r_d = (tokens / unique - 1.0).max(0.0);
        let d = decay(unique, r_d, r.r_d_star);
        let u_n = self.parameters_for_tokens(unique).min(parameters);
        let r_n = (parameters / u_n - 1.0).max(0.0);
        let n = decay(u_n, r_n, r.r_n_star);
        (n, d)
    }

    /// The compute-optimal model size whose optimal data is `tokens`: at a fixed `N D` the
    /// optimum has `N dL/dN = D dL/dD`, solved for `N`.
    fn parameters_for_tokens(&self, tokens: f64) -> f64 {
        match self.law {
            Law::Additive { a, b, alpha, beta, .. } => (alpha * a / (beta * b) * tokens.powf(beta)).powf(1.0 / alpha),
            Law::Kaplan { n_c, d_c, alpha_n, alpha_d } => {
                let p = alpha_n / alpha_d;
                n_c * (p * tokens / d_c).powf(1.0 / p)
            }
        }
    }

    /// The compute-optimal run for a model of `parameters`: the tokens at which it is the
    /// optimum of its own budget (`N dL/dN = D dL/dD`, solved for `D`).
    pub fn compute_optimal_for_parameters(&self, parameters: f64) -> Allocation {
        let tokens = match self.law {
            Law::Additive { a, b, alpha, beta, .. } => {
                (beta * b / (alpha * a) * parameters.powf(alpha)).powf(1.0 / beta)
            }
            Law::Kaplan { n_c, d_c, alpha_n, alpha_d } => {
                let p = alpha_n / alpha_d;
                d_c / (p * (n_c / parameters).powf(p))
            }
        };
        Allocation { parameters, tokens, loss: self.loss(parameters, tokens) }
    }

    /// The allocation of `flops` (= 6 N D) with the least loss.
    pub fn compute_optimal(&self, flops: f64) -> Allocation {
        match self.law {
            Law::Additive { a, b, alpha, beta, .. } => {
                // Hoffmann et al. 2022, Eq. 4: N = G (C/6)^a, D = G^-1 (C/6)^b,
                // G = (alpha A / (beta B))^(1 / (alpha + beta)), a = beta / (alpha + beta).
                let g = (alpha * a / (beta * b)).powf(1.0 / (alpha + beta));
                let half = flops / TRAINING_FLOPS_PER_PARAMETER_TOKEN;
                let parameters = g * half.powf(beta / (alpha + beta));
                let tokens = half.powf(alpha / (alpha + beta)) / g;
                Allocation { parameters, tokens, loss: self.loss(parameters, tokens) }
            }
            Law::Kaplan { n_c, d_c, alpha_n, alpha_d } => {
                // The same condition on Eq. 1.5: p (N_c / N)^p = D_c / D with p = alpha_N /
                // alpha_D, and N D = C / 6.
                let p = alpha_n / alpha_d;
                let half = flops / TRAINING_FLOPS_PER_PARAMETER_TOKEN;
                let parameters = (half * p * n_c.powf(p) / d_c).powf(1.0 / (1.0 + p));
                let tokens = half / parameters;
                Allocation { parameters, tokens, loss: self.loss(parameters, tokens) }
            }
        }
    }

    /// The least loss a model of `parameters` reaches with unlimited data.
    pub fn loss_floor(&self, parameters: f64) -> f64 {
        match self.law {
            Law::Additive { e, a, alpha, .. } => e + a / parameters.powf(alpha),
            Law::Kaplan { n_c, alpha_n, .. } => (n_c / parameters).powf(alpha_n),
        }
    }

    /// The smallest model that can reach `loss` at all (with unlimited data); `None` when the
    /// loss is at or below the irreducible loss.
    pub fn smallest_model_for(&self, loss: f64) -> Option<f64> {
        if loss.is_nan() || loss <= self.irreducible_loss() {
            return None;
        }
        let n = match self.law {
            Law::Additive { e, a, alpha, .. } => (a / (loss - e)).powf(1.0 / alpha),
            Law::Kaplan { n_c, alpha_n, .. } => n_c / loss.powf(1.0 / alpha_n),
        };
        n.is_finite().then_some(n)
    }

    /// Unique training tokens a model of `parameters` needs to reach `loss`; `None` when the
    /// model cannot reach it (its loss floor is at or above `loss`).
    pub fn tokens_for_loss(&self, parameters: f64, loss: f64) -> Option<f64> {
        let tokens = match self.law {
            Law::Additive { e, a, b, alpha, beta } => {
                let left = loss - e - a / parameters.powf(alpha);
                (left > 0.0).then(|| (b / left).powf(1.0 / beta))?
            }
            Law::Kaplan { n_c, d_c, alpha_n, alpha_d } => {
                let left = loss.powf(1.0 / alpha_d) - (n_c / parameters).powf(alpha_n / alpha_d);
                (left > 0.0).then(|| d_c / left)?
            }
        };
        tokens.is_finite().then_some(tokens)
    }

    /// The compute-optimal allocation that reaches `loss` (the least `6 N D` on the iso-loss
    /// curve); `None` when the loss is unreachable.
    pub fn compute_optimal_for_loss(&self, loss: f64) -> Option<Allocation> {
        match self.law {
            Law::Additive { e, a, b, alpha, beta } if loss > e => {
                // At the optimum alpha A / N^alpha = beta B / D^beta, so the reducible loss
                // splits in the ratio beta : alpha between the two terms.
                let parameters = (a * (1.0 + alpha / beta) / (loss - e)).powf(1.0 / alpha);
                let tokens = (b * (1.0 + beta / alpha) / (loss - e)).powf(1.0 / beta);
                (parameters.is_finite() && tokens.is_finite()).then_some(Allocation { parameters, tokens, loss })
            }
            _ => self.cheapest_on_iso_loss(loss, training_flops),
        }
    }

    /// The allocation on the iso-loss curve of `loss` that minimises `objective(parameters,
    /// tokens)`. The curve runs from the smallest model that can reach the loss (needing
    /// unbounded data) to ever larger models needing ever less data; the objective may come
    /// from engines (money) and need not be smooth, so the search samples the curve on a log grid
    /// and refines around the best sample by golden section.
    pub fn cheapest_on_iso_loss(&self, loss: f64, mut objective: impl FnMut(f64, f64) -> f64) -> Option<Allocation> {
        let smallest = self.smallest_model_for(loss)?;
        let lo = (smallest * 1.0001).ln().max(SEARCH_PARAMETERS.0.ln());
        let hi = (smallest * 1e6).ln().min(SEARCH_PARAMETERS.1.ln()).max(lo + 1e-6);
        let cost = |ln_n: f64| {
            let n = ln_n.exp();
            self.tokens_for_loss(n, loss).map_or(f64::INFINITY, |d| objective(n, d))
        };
        let ln_n = grid_then_golden(lo, hi, cost)?;
        let parameters = ln_n.exp();
        let tokens = self.tokens_for_loss(parameters, loss)?;
        Some(Allocation { parameters, tokens, loss: self.loss(parameters, tokens) })
    }

    /// The allocation of `flops` with the least loss when the data holds only `unique` tokens
    /// (Muennighoff et al. 2023, Section 5: repeat, or grow the model, whichever loses less).
    /// Without a repetition law, or with enough unique data, it is [`Fit::compute_optimal`].
    pub fn compute_optimal_repeated(&self, flops: f64, unique: f64) -> Allocation {
        let free = self.compute_optimal(flops);
        if self.repetition.is_none() || free.tokens <= unique {
            return free;
        }
        let half = flops / TRAINING_FLOPS_PER_PARAMETER_TOKEN;
        let lo = SEARCH_PARAMETERS.0.ln().min(half.ln() - 1.0);
        let hi = half.ln();
        let loss_at = |ln_n: f64| self.loss_repeated(ln_n.exp(), half / ln_n.exp(), unique);
        let Some(ln_n) = grid_then_golden(lo, hi, loss_at) else { return free };
        let parameters = ln_n.exp();
        let tokens = half / parameters;
        Allocation { parameters, tokens, loss: self.loss_repeated(parameters, tokens, unique) }
    }
}

/// The minimiser of `f` on `[lo, hi]`: the best of a 48-step grid, refined by golden section
/// between its neighbours (so an objective from engines, not quite unimodal, still lands on its
/// best sample or better). `None` when `f` is never finite.
fn grid_then_golden(lo: f64, hi: f64, mut f: impl FnMut(f64) -> f64) -> Option<f64> {
    const GRID: usize = 48;
    let mut cost = |x: f64| {
        let c = f(x);
        if c.is_finite() { c } else { f64::MAX }
    };
    let step = (hi - lo) / GRID as f64;
    let mut best = (lo, f64::MAX);
    for i in 0..=GRID {
        let x = lo + step * i as f64;
        let c = cost(x);
        if c < best.1 {
            best = (x, c);
        }
    }
    if best.1 == f64::MAX {
        return None;
    }
    let x = golden_min((best.0 - step).max(lo), (best.0 + step).min(hi), &mut cost);
    Some(if cost(x) <= best.1 { x } else { best.0 })
}

/// The minimiser of a unimodal `f` on `[lo, hi]` by golden-section search.
fn golden_min(mut lo: f64, mut hi: f64, mut f: impl FnMut(f64) -> f64) -> f64 {
    const INV_PHI: f64 = 0.618_033_988_749_894_8;
    let mut x1 = hi - INV_PHI * (hi - lo);
    let mut x2 = lo + INV_PHI * (hi - lo);
    let (mut f1, mut f2) = (f(x1), f(x2));
    for _ in 0..120 {
        if hi - lo < 1e-10 {
            break;
        }
        if f1 <= f2 {
            hi = x2;
            x2 = x1;
            f2 = f1;
            x1 = hi - INV_PHI * (hi - lo);
            f1 = f(x1);
        } else {
            lo = x1;
            x1 = x2;
            f1 = f2;
            x2 = lo + INV_PHI * (hi - lo);
            f2 = f(x2);
        }
    }
    0.5 * (lo + hi)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hoffmann et al. 2022, Eq. 10 as printed.
    const CHINCHILLA: Fit =
        Fit { law: Law::Additive { e: 1.69, a: 406.4, b: 410.7, alpha: 0.34, beta: 0.28 }, repetition: None };

    const KAPLAN: Fit =
        Fit { law: Law::Kaplan { n_c: 6.4e13, d_c: 1.8e13, alpha_n: 0.076, alpha_d: 0.103 }, repetition: None };

    fn close(a: f64, b: f64, rel: f64) -> bool {
        (a - b).abs() <= rel * b.abs().max(1e-300)
    }

    #[test]
    fn chinchilla_loss_is_the_printed_formula() {
        let l = CHINCHILLA.loss(70e9, 1.4e12);
        let by_hand = 1.69 + 406.4 / 70e9_f64.powf(0.34) + 410.7 / 1.4e12_f64.powf(0.28);
        assert!(close(l, by_hand, 1e-12));
        assert!((1.93..1.95).contains(&l), "{l}");
    }

    #[test]
    fn compute_optimal_is_the_minimum_on_the_iso_flop_line() {
        for fit in [CHINCHILLA, KAPLAN] {
            for c in [1e20, 5.76e23, 1e26] {
                let opt = fit.compute_optimal(c);
                assert!(close(opt.training_flops(), c, 1e-9), "{opt:?}");
                for k in [0.8, 1.25] {
                    let n = opt.parameters * k;
                    assert!(fit.loss(n, c / 6.0 / n) > opt.loss, "{fit:?} {c} {k}");
                }
            }
        }
    }

    #[test]
    fn the_optimum_for_a_size_is_the_optimum_of_its_budget() {
        for fit in [CHINCHILLA, KAPLAN] {
            let run = fit.compute_optimal_for_parameters(13e9);
            let opt = fit.compute_optimal(run.training_flops());
            assert!(close(opt.parameters, 13e9, 1e-9) && close(opt.tokens, run.tokens, 1e-9), "{run:?} {opt:?}");
            assert!(close(fit.parameters_for_tokens(run.tokens), 13e9, 1e-9));
        }
    }

    #[test]
    fn iso_loss_inverts_the_loss() {
        for fit in [CHINCHILLA, KAPLAN] {
            let l = fit.loss(7e9, 2e12);
            let d = fit.tokens_for_loss(7e9, l).unwrap();
            assert!(close(d, 2e12, 1e-9), "{d}");
            assert!(fit.tokens_for_loss(1e6, l).is_none());
            assert!(fit.smallest_model_for(fit.irreducible_loss()).is_none());
        }
    }

    #[test]
    fn compute_optimal_for_a_loss_agrees_with_the_closed_form() {
        let opt = CHINCHILLA.compute_optimal(1e23);
        let by_loss = CHINCHILLA.compute_optimal_for_loss(opt.loss).unwrap();
        assert!(close(by_loss.parameters, opt.parameters, 1e-4), "{by_loss:?} {opt:?}");
        assert!(close(by_loss.tokens, opt.tokens, 1e-4));
    }

    #[test]
    fn repetition_never_helps_and_one_epoch_is_new_data() {
        let fit = Fit { repetition: Some(Repetition { r_d_star: 15.4, r_n_star: 5.3 }), ..CHINCHILLA };
        assert_eq!(fit.loss_repeated(1e9, 1e11, 1e11), fit.loss(1e9, 1e11));
        let mut last = fit.loss(1e9, 1e10);
        for epochs in [2.0, 4.0, 16.0, 64.0] {
            let l = fit.loss_repeated(1e9, 1e10 * epochs, 1e10);
            assert!(l < last && l >= fit.loss(1e9, 1e10 * epochs), "{epochs}: {l}");
            last = l;
        }
    }
}
