//! Exponential backoff with jitter, as pure functions (the caller supplies
//! the randomness, so tests are exact).

use std::time::Duration;

/// The share of each wait that is randomised: ±20 %, as the Java client.
pub(crate) const JITTER: f64 = 0.2;

/// The wait before try number `failures + 1`, after `failures` failures in
/// a row: `base · 2^(failures-1)`, capped at `max`, then scaled by a factor
/// in `[1 - JITTER, 1 + JITTER]` chosen by `random` (in `[0, 1)`), and
/// never above `max`. Zero failures means no wait.
/// With a 100 ms base and a 1 s cap (and `random` 0.5, no jitter): 100 ms
/// after the first failure, 400 ms after the third, 1 s from the fifth.
pub(crate) fn backoff(base: Duration, max: Duration, failures: u32, random: f64) -> Duration {
    if failures == 0 || base.is_zero() {
        return Duration::ZERO;
    }
    let exponent = (failures - 1).min(31);
    let raw = base.saturating_mul(1u32 << exponent).min(max);
    let random = if random.is_finite() {
        random.clamp(0.0, 1.0)
    } else {
        0.5
    };
    let factor = 1.0 - JITTER + 2.0 * JITTER * random;
    raw.mul_f64(factor).min(max)
}

/// [`backoff`] with randomness from `fastrand`.
pub(crate) fn backoff_with_jitter(base: Duration, max: Duration, failures: u32) -> Duration {
    backoff(base, max, failures, fastrand::f64())
}

#[cfg(test)]
mod tests {
    use super::*;

    const B: Duration = Duration::from_millis(50);
    const M: Duration = Duration::from_millis(1000);

    #[test]
    fn doubles_up_to_the_cap() {
        let waits: Vec<u128> = (0..8).map(|n| backoff(B, M, n, 0.5).as_millis()).collect();
        assert_eq!(waits, vec![0, 50, 100, 200, 400, 800, 1000, 1000]);
    }

    #[test]
    fn jitter_bounds() {
        assert_eq!(backoff(B, M, 2, 0.0), Duration::from_millis(80));
        assert_eq!(backoff(B, M, 2, 1.0), Duration::from_millis(120));
        // Never above the cap, even with upward jitter.
        assert_eq!(backoff(B, M, 10, 1.0), M);
        assert_eq!(backoff(B, M, 10, 0.0), Duration::from_millis(800));
        // Nonsense randomness is tamed.
        assert_eq!(backoff(B, M, 1, f64::NAN), B);
        assert_eq!(backoff(B, M, 1, 7.0), Duration::from_millis(60));
    }

    #[test]
    fn huge_failure_counts_do_not_overflow() {
        assert_eq!(
            backoff(Duration::from_secs(3600), Duration::MAX, u32::MAX, 0.5),
            Duration::from_secs(3600).saturating_mul(1 << 31)
        );
        assert_eq!(backoff(Duration::ZERO, M, 5, 0.5), Duration::ZERO);
    }

    #[test]
    fn random_jitter_stays_in_range() {
        for n in 1..20 {
            let w = backoff_with_jitter(B, M, n);
            let nominal = backoff(B, M, n, 0.5);
            assert!(
                w <= M && w.as_secs_f64() >= nominal.as_secs_f64() * (1.0 - JITTER) - 1e-9,
                "{n}: {w:?}"
            );
        }
    }
}
