//! Worked examples of each risk formula, computed by hand.

use super::*;

fn f(text: &str) -> Fraction {
    Fraction::parse(text).unwrap()
}

fn usd(dollars: i128) -> UsdValue {
    UsdValue(dollars * USD_ONE)
}

/// A lendable asset's parameters: haircut 0.9 / 0.001, borrow IMF 0.2 / 0.0002, MMF 0.1 /
/// 0.0001, 10% at 80% utilization up to 100%.
pub(crate) fn sample(asset: AssetId) -> AssetRisk {
    AssetRisk {
        asset,
        haircut: Haircut::InverseSqrt { base: f("0.9"), penalty: f("0.001") },
        borrow_imf: MarginFunction { base: f("0.2"), factor: f("0.0002") },
        borrow_mmf: MarginFunction { base: f("0.1"), factor: f("0.0001") },
        lending: Some(LendingSpec {
            curve: RateCurve {
                rate_at_zero: f("0"),
                optimal_utilization: f("0.8"),
                rate_at_optimal: f("0.1"),
                max_rate: f("1"),
            },
            fee: f("0.1"),
            throttle_utilization: f("0.9"),
            max_utilization: f("0.95"),
        }),
        price_stale_after_micros: 60_000_000,
        max_price_update_multiplier: f("2"),
        min_price_update_multiplier: f("0.5"),
    }
}

#[test]
fn index_price_values_an_amount_in_micro_dollars() {
    // 2.5 SOL (9 decimals) at $150.25 = $375.625.
    let price = IndexPrice::parse("150.25").unwrap();
    assert_eq!(price.value(Amount(2_500_000_000), 9, Rounding::Down), UsdValue(375_625_000));
    // 1 unit of a 9-decimal asset at $150.25 is 0.00000015025 $: down to 0, up to 1 micro-dollar.
    assert_eq!(price.value(Amount(1), 9, Rounding::Down), UsdValue(0));
    assert_eq!(price.value(Amount(1), 9, Rounding::Up), UsdValue(1));
    // $375.625 buys exactly 2.5 SOL; one micro-dollar less buys fewer units.
    assert_eq!(price.quantity_for(UsdValue(375_625_000), 9, Rounding::Down), Ok(Amount(2_500_000_000)));
    assert_eq!(price.quantity_for(UsdValue(375_624_999), 9, Rounding::Down), Ok(Amount(2_499_999_993)));
    assert_eq!(IndexPrice::parse("0"), Err(DecimalError::NotPositive));
    assert!(IndexPrice::parse("0.0000000000001").is_err(), "finer than 10^-12 is refused, not rounded");
}

#[test]
fn inverse_sqrt_haircut_worked_examples() {
    // base 0.9, penalty 0.001:
    let haircut = Haircut::InverseSqrt { base: f("0.9"), penalty: f("0.001") };
    // $10,000: 1.1 / (1 + 0.001 * 100) = 1.0, capped at the base 0.9.
    assert_eq!(haircut.weight(usd(10_000)), f("0.9"));
    // $250,000: 1.1 / (1 + 0.001 * 500) = 1.1 / 1.5 = 0.7333..., rounded down at 12 places.
    assert_eq!(haircut.weight(usd(250_000)), Fraction(733_333_333_333));
    // $1,000,000: 1.1 / (1 + 0.001 * 1000) = 0.55.
    assert_eq!(haircut.weight(usd(1_000_000)), f("0.55"));
    assert_eq!(Haircut::Identity.weight(usd(1_000_000_000)), Fraction::ONE);
}

#[test]
fn sqrt_margin_function_worked_examples() {
    // base 2%, factor 0.0001: $10,000 -> max(0.02, 0.0001 * 100 = 0.01) = 0.02;
    // $1,000,000 -> max(0.02, 0.0001 * 1000 = 0.1) = 0.1.
    let imf = MarginFunction { base: f("0.02"), factor: f("0.0001") };
    assert_eq!(imf.fraction(usd(10_000)), f("0.02"));
    assert_eq!(imf.fraction(usd(1_000_000)), f("0.1"));
    // $2: sqrt(2) = 1.41421356237..., times 0.0001 rounds up to 0.000141421357 at 12 places.
    let steep = MarginFunction { base: f("0.0001"), factor: f("0.0001") };
    assert_eq!(steep.fraction(usd(2)), Fraction(141_421_357));
}

#[test]
fn kinked_rate_curve_worked_examples() {
    // 0% at U=0, 10% at the 80% optimum, 100% at U=1.
    let curve = RateCurve {
        rate_at_zero: Fraction::ZERO,
        optimal_utilization: f("0.8"),
        rate_at_optimal: f("0.1"),
        max_rate: f("1"),
    };
    assert_eq!(curve.borrow_rate(f("0")), f("0"));
    assert_eq!(curve.borrow_rate(f("0.4")), f("0.05"));
    assert_eq!(curve.borrow_rate(f("0.8")), f("0.1"));
    // 0.1 + 0.9 * (0.9 - 0.8) / 0.2 = 0.55
    assert_eq!(curve.borrow_rate(f("0.9")), f("0.55"));
    assert_eq!(curve.borrow_rate(f("1")), f("1"));
    assert_eq!(curve.borrow_rate(f("1.5")), f("1"), "utilization is clamped to 100%");
    // U = 1/3 (rounded down to 0.333333333333): 0.1 * 0.333333333333 / 0.8 = 0.04166666666662..., up.
    assert_eq!(curve.borrow_rate(Fraction(333_333_333_333)), Fraction(41_666_666_667));
}

#[test]
fn curves_are_monotone() {
    let curve = RateCurve {
        rate_at_zero: f("0.01"),
        optimal_utilization: f("0.7"),
        rate_at_optimal: f("0.08"),
        max_rate: f("2"),
    };
    let haircut = Haircut::InverseSqrt { base: f("0.95"), penalty: f("0.0005") };
    let imf = MarginFunction { base: f("0.1"), factor: f("0.0002") };
    let mut last = (Fraction::ZERO, Fraction::ONE, Fraction::ZERO);
    for step in 0..=1000i64 {
        let u = Fraction(step * Fraction::ONE.0 / 1000);
        let notional = usd(i128::from(step) * i128::from(step) * 997);
        let now = (curve.borrow_rate(u), haircut.weight(notional), imf.fraction(notional));
        assert!(now.0 >= last.0 && now.1 <= last.1 && now.2 >= last.2, "step {step}: {now:?} after {last:?}");
        last = now;
    }
}

#[test]
fn validation_refuses_inconsistent_parameters() {
    let good = sample(AssetId(1));
    assert_eq!(good.validate(), Ok(()));
    let mut bad = good;
    bad.borrow_mmf.base = f("0.3");
    assert_eq!(bad.validate(), Err(RiskSpecError::InvalidMarginFunction));
    let mut bad = good;
    bad.lending.as_mut().unwrap().curve.rate_at_optimal = f("2");
    assert_eq!(bad.validate(), Err(RiskSpecError::InvalidRateCurve));
    let mut bad = good;
    bad.lending.as_mut().unwrap().throttle_utilization = f("0.99");
    assert_eq!(bad.validate(), Err(RiskSpecError::InvalidPool));
    let mut bad = good;
    bad.min_price_update_multiplier = Fraction::ZERO;
    assert_eq!(bad.validate(), Err(RiskSpecError::InvalidPriceBand));
}

#[test]
fn flat_regions_shortcut_the_functions_exactly() {
    let risk = sample(AssetId(3));
    let flat = risk.flat_regions();
    // base 0.9, penalty 0.001: flat while 1.1 / (1 + 0.001 sqrt(N)) >= 0.9, i.e. N up to about
    // $49,383; IMF 0.2 / 0.0002 flat up to $1,000,000; MMF 0.1 / 0.0001 likewise.
    assert!((UsdValue(49_382 * USD_ONE)..UsdValue(49_384 * USD_ONE)).contains(&flat.haircut), "{flat:?}");
    assert!((UsdValue(999_999 * USD_ONE)..=UsdValue(1_000_000 * USD_ONE)).contains(&flat.imf), "{flat:?}");
    let mut n = 1i128;
    while n < 1i128 << 90 {
        for probe in
            [n - 1, n, n + 1, flat.haircut.0 - 1, flat.haircut.0, flat.haircut.0 + 1, flat.imf.0, flat.imf.0 + 1]
        {
            let notional = UsdValue(probe.max(0));
            assert_eq!(risk.haircut.weight_in(notional, &flat), risk.haircut.weight(notional));
            assert_eq!(risk.borrow_imf.fraction_in(notional, flat.imf), risk.borrow_imf.fraction(notional));
            assert_eq!(risk.borrow_mmf.fraction_in(notional, flat.mmf), risk.borrow_mmf.fraction(notional));
        }
        n = n * 3 / 2 + 1;
    }
}
