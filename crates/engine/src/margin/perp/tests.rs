//! Worked examples of a perpetual position's margin on Backpack's SOL perp functions:
//! IMF = max(2%, 0.0001275 × √N), MMF = max(1.25%, 0.0000765 × √N), N in dollars.

use rucksack_types::{AssetId, PerpSpec, Symbol, Ticks};

use super::*;

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
    }
}

fn lots_worth(dollars: i64) -> i64 {
    // A lot is 0.01 SOL, $1 at a mark of $100.
    dollars
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
        for size in [lots_worth(dollars), -lots_worth(dollars)] {
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
    let bids = OpenSide { lots: 500, value: 500 * fine(10_100), fees: 500 };
    let asks = OpenSide { lots: 2_000, value: 2_000 * fine(9_900), fees: 2_000 };
    let now = valuation.health(1_000, 0, 50);
    let worst = valuation.worst_health(1_000, 0, bids, asks, 50);
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
