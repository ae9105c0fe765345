//! Worked examples of a perpetual position's margin on Backpack's SOL perp functions:
//! IMF = max(2%, 0.0001275 × √N), MMF = max(1.25%, 0.0000765 × √N), N in dollars.

use rucksack_types::{AssetId, PerpSpec, Symbol, Ticks};

use super::*;
use crate::margin::{Holding, Valuation};

fn f(text: &str) -> Fraction {
    Fraction::parse(text).unwrap()
}

fn sol_perp() -> PerpSpec {
    *rucksack_testkit::fixtures::sol_perp().kind.perp().expect("a perpetual")
}

fn usdc() -> AssetSpec {
    AssetSpec { id: AssetId(1), symbol: Symbol::new("USDC").unwrap(), decimals: 6 }
}

/// Tick 0.01 and step 0.01 against a 6-decimal quote: one tick-lot is 100 quote units, so a
/// quote unit is 10^10 fine units. The mark is $100.
fn at_100<'a>(spec: &'a PerpSpec, quote: &'a AssetSpec) -> PerpValuation<'a> {
    PerpValuation {
        spec,
        mark: FinePrice::from_ticks(Ticks(10_000)),
        fine_per_quote_unit: 10_000_000_000,
        quote,
        quote_price: Some(IndexPrice::parse("1").unwrap()),
        flat: (spec.imf.flat_up_to(), spec.mmf.flat_up_to()),
        hedge: None,
        multiplier: Fraction::ONE,
    }
}

#[test]
fn imf_and_mmf_at_several_sizes() {
    let (spec, quote) = (sol_perp(), usdc());
    let valuation = at_100(&spec, &quote);
    // (notional $, IMF, MMF, initial µ$, maintenance µ$), hand-computed:
    // $10k:  0.0001275 × 100 = 1.275% < 2% and 0.765% < 1.25%: the bases.
    // $100k: 0.0001275 × 316.227766… = 4.0319040168%, 0.0000765 × 316.227766… = 2.4191424101%
    //        (fractions rounded up at 10^-12, requirements up at a micro-dollar).
    // $1M:   0.0001275 × 1000 = 12.75%, 0.0000765 × 1000 = 7.65%.
    let cases = [
        (10_000, f("0.02"), f("0.0125"), 200_000_000, 125_000_000),
        (100_000, Fraction(40_319_040_168), Fraction(24_191_424_101), 4_031_904_017, 2_419_142_411),
        (1_000_000, f("0.1275"), f("0.0765"), 127_500_000_000, 76_500_000_000),
    ];
    for (dollars, imf, mmf, initial, maintenance) in cases {
        let notional = UsdValue(i128::from(dollars) * 1_000_000);
        assert_eq!(spec.imf.fraction(notional), imf, "IMF at ${dollars}");
        assert_eq!(spec.mmf.fraction(notional), mmf, "MMF at ${dollars}");
        // A lot is 0.01 SOL, $1 at a mark of $100.
        for size in [dollars, -dollars] {
            let health = valuation.health(size, 0, 100);
            assert_eq!(health.exposure, notional);
            assert_eq!(health.initial_requirement, UsdValue(initial), "initial at ${dollars}");
            assert_eq!(health.maintenance_requirement, UsdValue(maintenance), "maintenance at ${dollars}");
            assert!(health.initial_requirement >= health.maintenance_requirement);
        }
    }
}

#[test]
fn the_leverage_limit_raises_the_base() {
    let (spec, quote) = (sol_perp(), usdc());
    // $10k at 10x: max(2%, 10%) = 10% = $1,000.
    let health = at_100(&spec, &quote).health(10_000, 0, 10);
    assert_eq!(health.initial_requirement, UsdValue(1_000_000_000));
    assert_eq!(health.maintenance_requirement, UsdValue(125_000_000));
}

#[test]
fn unrealized_pnl_rounds_toward_the_house() {
    let (spec, quote) = (sol_perp(), usdc());
    let valuation = at_100(&spec, &quote);
    // Owed 1.5 quote units: counts 1. Owing 1.5: counts 2.
    assert_eq!(valuation.health(0, 15_000_000_000, 10).unrealized_pnl, UsdValue(1));
    assert_eq!(valuation.health(0, -15_000_000_000, 10).unrealized_pnl, UsdValue(-2));
}

#[test]
fn open_orders_count_at_their_worst() {
    let (spec, quote) = (sol_perp(), usdc());
    let valuation = at_100(&spec, &quote);
    // Long 10 SOL (1,000 lots). Open bids: 500 lots at $101 (above the mark: each fill loses
    // $0.01 a lot, $5 in all) paying up to 1 unit of fee a lot; an open ask of 2,000 lots at $99.
    let fine = |ticks: i128| ticks * rucksack_types::perp::FINE_PER_TICK;
    let bids = OpenSide::at(10_100, 500, 500);
    let asks = OpenSide::at(9_900, 2_000, 2_000);
    let now = valuation.health(1_000, 0, 50);
    let worst = valuation.worst_health(1_000, 0, [bids, asks], [None, None], 50);
    // A lot at $1 from the mark is 100 tick-lots.
    let all_bids = valuation.health(1_500, -fine(500 * 100) - 500 * 10_000_000_000, 50);
    let all_asks = valuation.health(-1_000, -fine(2_000 * 100) - 2_000 * 10_000_000_000, 50);
    assert!(worst.free_equity() <= now.free_equity());
    assert_eq!(worst, [all_bids, all_asks].into_iter().min_by_key(|h| h.free_equity()).unwrap());
    // Filling the bids: $1,500 of exposure at 2% = $30 and a $5.0005 loss. Filling the asks
    // (short 10): $1,000 at 2% = $20 and a $20.002 loss, the worse.
    assert_eq!(all_bids.exposure, UsdValue(1_500_000_000));
    assert_eq!(all_bids.unrealized_pnl, UsdValue(-5_000_500));
    assert_eq!((all_asks.exposure, all_asks.unrealized_pnl), (UsdValue(1_000_000_000), UsdValue(-20_002_000)));
    assert_eq!(worst, all_asks);
}

#[test]
fn a_hedged_pair_counts_its_spot_at_the_basis_haircut_and_its_short_at_the_basis_imf() {
    let mut spec = sol_perp();
    let quote = usdc();
    let sol = AssetSpec { id: AssetId(0), symbol: Symbol::new("SOL").unwrap(), decimals: 9 };
    let sol_risk = rucksack_testkit::fixtures::asset_risk(rucksack_testkit::fixtures::SOL);
    let spot_valuation = Valuation {
        asset: &sol,
        risk: Some(&sol_risk),
        flat: Default::default(),
        price: Some(IndexPrice::parse("100").unwrap()),
        multiplier: Fraction::ONE,
    };
    // 100 SOL held ($10,000 at $100) against a short of 150 SOL ($15,000) at leverage 100.
    let spot = Holding { available: Amount(100_000_000_000), ..Holding::default() };
    let basis = spec.basis.expect("the fixture credits hedged pairs");
    let hedge = Hedge::new(basis, spot, spot_valuation, true, 10_000_000);
    let hedged = PerpValuation { hedge: Some(hedge), ..at_100(&spec, &quote) }.health(-15_000, 0, 100);
    // Spot: the 100 paired SOL count at 99% ($9,900) instead of their 90% haircut ($9,000).
    assert_eq!(hedged.collateral_value, UsdValue(900_000_000));
    // Short: $10,000 hedged at 1.5% and $5,000 unhedged at max(2%, 0.0001275·√5000 = 0.9%) = 2%:
    // $150 + $100 = $250 initial, $100 + $62.50 = $162.50 maintenance.
    assert_eq!(hedged.initial_requirement, UsdValue(250_000_000));
    assert_eq!(hedged.maintenance_requirement, UsdValue(162_500_000));
    assert_eq!(hedged.exposure, UsdValue(15_000_000_000));
    // Without basis terms: no extra collateral, 2% and 1.25% on all $15,000.
    spec.basis = None;
    let plain = at_100(&spec, &quote).health(-15_000, 0, 100);
    assert_eq!(
        (plain.collateral_value, plain.initial_requirement, plain.maintenance_requirement),
        (UsdValue(0), UsdValue(300_000_000), UsdValue(187_500_000))
    );
    // A long gets no credit from spot held, and a lend counts only while its pool is redeemable.
    let long = PerpValuation { hedge: Some(hedge), ..at_100(&sol_perp(), &quote) }.health(15_000, 0, 100);
    assert_eq!(long.collateral_value, UsdValue(0));
    let lent = Hedge::new(
        basis,
        Holding { lent: Amount(100_000_000_000), ..Holding::default() },
        spot_valuation,
        false,
        10_000_000,
    );
    let throttled = PerpValuation { hedge: Some(lent), ..at_100(&sol_perp(), &quote) }.health(-15_000, 0, 100);
    assert_eq!(throttled.collateral_value, UsdValue(0));
    assert_eq!(throttled.initial_requirement, UsdValue(300_000_000));
}

#[test]
fn a_volatility_multiplier_scales_the_market_fractions() {
    let (spec, quote) = (sol_perp(), usdc());
    let calm = at_100(&spec, &quote).health(1_000, 0, 100);
    let two = Fraction(2 * Fraction::ONE.0);
    let tight = PerpValuation { multiplier: two, ..at_100(&spec, &quote) }.health(1_000, 0, 100);
    // $1,000 of notional in the flat regions: 2% and 1.25% become 4% and 2.5%.
    assert_eq!((calm.initial_requirement.0, calm.maintenance_requirement.0), (20_000_000, 12_500_000));
    assert_eq!((tight.initial_requirement.0, tight.maintenance_requirement.0), (40_000_000, 25_000_000));
}
