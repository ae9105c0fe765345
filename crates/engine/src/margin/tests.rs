//! A worked example of account health.

use rucksack_types::{AssetId, AssetSpec, FlatRegions, Fraction, Haircut, IndexPrice, MarginFunction, Symbol};

use super::*;

fn risk(asset: u16, haircut: Haircut, imf: (&str, &str), mmf: (&str, &str)) -> AssetRisk {
    let f = |text| Fraction::parse(text).unwrap();
    AssetRisk {
        asset: AssetId(asset),
        haircut,
        borrow_imf: MarginFunction { base: f(imf.0), factor: f(imf.1) },
        borrow_mmf: MarginFunction { base: f(mmf.0), factor: f(mmf.1) },
        lending: None,
        price_stale_after_micros: 0,
        max_price_update_multiplier: f("2"),
        min_price_update_multiplier: f("0.5"),
    }
}

#[test]
fn a_sol_holder_borrowing_usdc() {
    // 10 SOL at $150 (weight 0.9 at this size) and 1,000 USDC borrowed and spent, leverage 10.
    let sol = AssetSpec { id: AssetId(0), symbol: Symbol::new("SOL").unwrap(), decimals: 9 };
    let usdc = AssetSpec { id: AssetId(1), symbol: Symbol::new("USDC").unwrap(), decimals: 6 };
    let sol_risk = risk(
        0,
        Haircut::InverseSqrt { base: Fraction::parse("0.9").unwrap(), penalty: Fraction::parse("0.00001").unwrap() },
        ("0.2", "0.0002"),
        ("0.1", "0.0001"),
    );
    let usdc_risk = risk(1, Haircut::Identity, ("0.1", "0.00002"), ("0.05", "0.00001"));
    let sol_at_150 = Valuation {
        asset: &sol,
        risk: Some(&sol_risk),
        flat: FlatRegions::default(),
        price: Some(IndexPrice::parse("150").unwrap()),
        multiplier: Fraction::ONE,
    };
    let usdc_at_1 = Valuation {
        asset: &usdc,
        risk: Some(&usdc_risk),
        flat: FlatRegions::default(),
        price: Some(IndexPrice::parse("1").unwrap()),
        multiplier: Fraction::ONE,
    };
    let mut health = AccountHealth::default();
    let sol_holding = Holding {
        available: Amount(6_000_000_000),
        locked: Amount(1_000_000_000),
        lent: Amount(3_000_000_000),
        borrowed: Amount::ZERO,
    };
    let row = health.add(&sol_holding, &sol_at_150, 10);
    // Notional $1,500; 1.1 / (1 + 0.00001 * sqrt(1500)) = 1.0996 > 0.9, so the weight is 0.9.
    assert_eq!(row.notional, UsdValue(1_500_000_000));
    assert_eq!(row.collateral_value, UsdValue(1_350_000_000));
    let usdc_holding = Holding { borrowed: Amount(1_000_000_000), ..Holding::default() };
    health.add(&usdc_holding, &usdc_at_1, 10);
    // Liability $1,000; IMF max(0.1, 0.00002 * sqrt(1000) = 0.000632..., 1/10) = 0.1; MMF 0.05.
    assert_eq!(health.net_equity(), UsdValue(350_000_000));
    assert_eq!(health.initial_requirement, UsdValue(100_000_000));
    assert_eq!(health.maintenance_requirement, UsdValue(50_000_000));
    assert_eq!(health.margin_fraction(), Some(Fraction::parse("0.35").unwrap()));
    assert!(health.within_initial_margin() && !health.below_maintenance());
    // At leverage 2 the floor 1/2 makes the requirement $500, more than the equity.
    let mut tight = AccountHealth::default();
    tight.add(&sol_holding, &sol_at_150, 2);
    tight.add(&usdc_holding, &usdc_at_1, 2);
    assert_eq!(tight.initial_requirement, UsdValue(500_000_000));
    assert!(!tight.within_initial_margin());
}
