//! Estimates with their 95 % intervals and the sample-size rule (see the module docs of
//! [`super`]): Wilson, Newcombe, t and Welch.

use super::*;

/// What a sample-size shortfall is counted in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SampleCount {
    /// Observations: visitors, buyers, or visits an offer was shown in.
    Observations,
    /// Successes of a proportion (buyers, for net revenue per visitor).
    Successes,
    /// Failures of a proportion.
    Failures,
}

/// A figure with its 95 % interval, or why there is none yet.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Estimate {
    /// Too little data for an interval worth showing; see the module docs for the rule.
    NotEnoughData {
        /// What is short (for a difference: the arm's shortfall first, else the control's).
        of: SampleCount,
        /// How many there are.
        n: u64,
        /// How many are needed.
        needed: u64,
    },
    /// Point estimate and 95 % interval, `low ≤ value ≤ high`.
    Value {
        /// Point estimate.
        value: f64,
        /// Lower bound.
        low: f64,
        /// Upper bound.
        high: f64,
    },
}

impl Estimate {
    /// The point estimate, if there is one.
    pub fn value(&self) -> Option<f64> {
        match self {
            Estimate::Value { value, .. } => Some(*value),
            Estimate::NotEnoughData { .. } => None,
        }
    }

    /// Whether the interval lies entirely above or below zero: for a difference, the arms differ.
    pub fn excludes_zero(&self) -> bool {
        matches!(self, Estimate::Value { low, high, .. } if *low > 0.0 || *high < 0.0)
    }

    /// An interval around `value`, widened to contain it despite float rounding and clamped to
    /// `[floor, ceiling]`.
    pub(super) fn interval(value: f64, low: f64, high: f64, floor: f64, ceiling: f64) -> Estimate {
        let value = value.clamp(floor, ceiling);
        Estimate::Value {
            value,
            low: low.clamp(floor, ceiling).min(value),
            high: high.clamp(floor, ceiling).max(value),
        }
    }

    pub(super) fn short(of: SampleCount, n: u64, needed: u64) -> Option<Estimate> {
        (n < needed).then_some(Estimate::NotEnoughData { of, n, needed })
    }
}

/// `successes` out of `trials`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Proportion {
    pub(super) successes: u64,
    pub(super) trials: u64,
}

impl Proportion {
    pub(super) fn shortfall(&self) -> Option<Estimate> {
        let failures = self.trials.saturating_sub(self.successes);
        Estimate::short(SampleCount::Observations, self.trials, MIN_OBSERVATIONS)
            .or_else(|| Estimate::short(SampleCount::Successes, self.successes, MIN_SUCCESSES))
            .or_else(|| Estimate::short(SampleCount::Failures, failures, MIN_FAILURES))
    }

    /// Wilson score interval: `(p̂ + z²/2n ± z √(p̂(1−p̂)/n + z²/4n²)) / (1 + z²/n)`.
    /// Needs `trials > 0` (the sample rule guarantees it).
    pub(super) fn wilson(&self) -> (f64, f64, f64) {
        let n = self.trials as f64;
        let p = self.successes as f64 / n;
        let z2 = Z_95 * Z_95;
        let denominator = 1.0 + z2 / n;
        let centre = (p + z2 / (2.0 * n)) / denominator;
        let half = Z_95 / denominator * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt();
        (p, centre - half, centre + half)
    }

    pub(super) fn estimate(&self) -> Estimate {
        if let Some(short) = self.shortfall() {
            return short;
        }
        let (p, low, high) = self.wilson();
        Estimate::interval(p, low, high, 0.0, 1.0)
    }

    /// `self − control` with Newcombe's hybrid score interval (method 10): the distances from
    /// each proportion to its own Wilson bounds, combined in quadrature.
    pub(super) fn difference(&self, control: &Proportion) -> Estimate {
        if let Some(short) = self.shortfall().or_else(|| control.shortfall()) {
            return short;
        }
        let (p1, low1, high1) = self.wilson();
        let (p2, low2, high2) = control.wilson();
        let difference = p1 - p2;
        let below = (p1 - low1).hypot(high2 - p2);
        let above = (high1 - p1).hypot(p2 - low2);
        Estimate::interval(
            difference,
            difference - below,
            difference + above,
            -1.0,
            1.0,
        )
    }
}

/// A sample of `n` values (of which at most `contributors` are not zero) given by their exact sum
/// and sum of squares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Moments {
    pub(super) n: u64,
    pub(super) sum: i128,
    pub(super) squares: u128,
    pub(super) contributors: u64,
}

impl Moments {
    pub(super) fn shortfall(&self) -> Option<Estimate> {
        Estimate::short(SampleCount::Observations, self.n, MIN_OBSERVATIONS)
            .or_else(|| Estimate::short(SampleCount::Successes, self.contributors, MIN_SUCCESSES))
    }

    /// Needs `n > 0`.
    pub(super) fn mean(&self) -> f64 {
        self.sum as f64 / self.n as f64
    }

    /// Unbiased sample variance `(nQ − S²) / (n(n − 1))`, exact in integers when it fits. Needs
    /// `n ≥ 2`.
    pub(super) fn variance(&self) -> f64 {
        let n = self.n as f64;
        let magnitude = self.sum.unsigned_abs();
        let exact = u128::from(self.n)
            .checked_mul(self.squares)
            .zip(magnitude.checked_mul(magnitude))
            .map(|(n_squares, sum_squared)| n_squares.saturating_sub(sum_squared));
        match exact {
            Some(numerator) => numerator as f64 / (n * (n - 1.0)),
            None => {
                let mean = self.mean();
                ((self.squares as f64 - n * mean * mean) / (n - 1.0)).max(0.0)
            }
        }
    }

    /// Variance of the mean.
    pub(super) fn standard_error_squared(&self) -> f64 {
        self.variance() / self.n as f64
    }

    pub(super) fn estimate(&self) -> Estimate {
        if let Some(short) = self.shortfall() {
            return short;
        }
        let mean = self.mean();
        let half = t_quantile_975((self.n - 1) as f64) * self.standard_error_squared().sqrt();
        Estimate::interval(mean, mean - half, mean + half, f64::MIN, f64::MAX)
    }

    /// `self − control` with Welch's interval: unequal variances, Welch–Satterthwaite degrees of
    /// freedom.
    pub(super) fn difference(&self, control: &Moments) -> Estimate {
        if let Some(short) = self.shortfall().or_else(|| control.shortfall()) {
            return short;
        }
        let difference = self.mean() - control.mean();
        let a = self.standard_error_squared();
        let b = control.standard_error_squared();
        let spread = a + b;
        if spread <= 0.0 {
            // Every value equal within both arms: the difference is known exactly.
            return Estimate::interval(difference, difference, difference, f64::MIN, f64::MAX);
        }
        let degrees =
            spread * spread / (a * a / (self.n - 1) as f64 + b * b / (control.n - 1) as f64);
        let half = t_quantile_975(degrees) * spread.sqrt();
        Estimate::interval(
            difference,
            difference - half,
            difference + half,
            f64::MIN,
            f64::MAX,
        )
    }
}

/// The 97.5 % quantile of Student's t with `degrees` of freedom, by the Cornish–Fisher expansion
/// around the normal quantile (Abramowitz & Stegun 26.7.5): within 1e-5 of the exact value at 10
/// degrees of freedom and 1e-7 from 29 on, where the sample rule keeps them. Infinite degrees (a
/// denominator that underflowed) give the normal quantile.
pub(super) fn t_quantile_975(degrees: f64) -> f64 {
    let x = Z_95;
    if !degrees.is_finite() {
        return x;
    }
    let (x2, x3) = (x * x, x * x * x);
    let (x5, x7, x9) = (x3 * x2, x3 * x2 * x2, x3 * x3 * x3);
    let g1 = (x3 + x) / 4.0;
    let g2 = (5.0 * x5 + 16.0 * x3 + 3.0 * x) / 96.0;
    let g3 = (3.0 * x7 + 19.0 * x5 + 17.0 * x3 - 15.0 * x) / 384.0;
    let g4 = (79.0 * x9 + 776.0 * x7 + 1482.0 * x5 - 1920.0 * x3 - 945.0 * x) / 92_160.0;
    let v = degrees;
    x + g1 / v + g2 / (v * v) + g3 / (v * v * v) + g4 / (v * v * v * v)
}
