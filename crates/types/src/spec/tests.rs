use super::*;

fn asset(id: u16, symbol: &str, decimals: u8) -> AssetSpec {
    AssetSpec { id: AssetId(id), symbol: Symbol::new(symbol).unwrap(), decimals }
}

fn market(tick: &str, step: &str) -> MarketSpec {
    MarketSpec {
        id: MarketId(0),
        symbol: Symbol::new("SOL_USDC").unwrap(),
        base: AssetId(0),
        quote: AssetId(1),
        tick_size: Decimal::parse(tick, crate::decimal::Sign::Unsigned).unwrap(),
        step_size: Decimal::parse(step, crate::decimal::Sign::Unsigned).unwrap(),
        min_price: Ticks(1),
        max_price: Ticks(100_000_000),
        min_quantity: Lots(1),
        max_quantity: Lots(10_000_000),
        maker_fee_bps: 2,
        taker_fee_bps: 5,
        kind: crate::perp::MarketKind::Spot,
    }
}

#[test]
fn derives_an_exact_integer_scale() {
    let scale = market("0.01", "0.01").scale(&asset(0, "SOL", 9), &asset(1, "USDC", 6)).unwrap();
    assert_eq!(scale.base_units_per_lot, 10_000_000);
    assert_eq!((scale.quote_num, scale.quote_den), (100, 1));
    // 143.27 USDC * 2.5 SOL = 358.175 USDC
    assert_eq!(scale.quote_amount(Ticks(14327), Lots(250), Rounding::Up), Ok(Amount(358_175_000)));
}

#[test]
fn keeps_fractional_tick_lot_values_as_a_ratio() {
    // 0.05 * 0.00003 * 10^6 = 1.5 quote units per tick-lot
    let scale = market("0.05", "0.00003").scale(&asset(0, "BTC", 8), &asset(1, "USDC", 6)).unwrap();
    assert_eq!((scale.quote_num, scale.quote_den), (15, 10));
    assert_eq!(scale.quote_amount(Ticks(1), Lots(1), Rounding::Down), Ok(Amount(1)));
    assert_eq!(scale.quote_amount(Ticks(1), Lots(1), Rounding::Up), Ok(Amount(2)));
}

#[test]
fn fees_round_in_the_requested_direction() {
    let scale = market("0.01", "0.01").scale(&asset(0, "SOL", 9), &asset(1, "USDC", 6)).unwrap();
    // notional 1 tick * 1 lot = 100 units; 5 bps = 0.05 units
    assert_eq!(scale.fee(Ticks(1), Lots(1), 5, Rounding::Up), Ok(Amount(1)));
    assert_eq!(scale.fee(Ticks(1), Lots(1), 5, Rounding::Down), Ok(Amount(0)));
    assert_eq!(scale.fee(Ticks(1), Lots(1), -5, Rounding::Up), Ok(Amount(0)));
    assert_eq!(scale.fee(Ticks(1), Lots(1), -5, Rounding::Down), Ok(Amount(-1)));
    assert_eq!(scale.lots_within(Ticks(3), Amount(1000)), Lots(3));
}

#[test]
fn refuses_markets_that_cannot_be_settled_exactly() {
    let (sol, usdc) = (asset(0, "SOL", 9), asset(1, "USDC", 6));
    assert_eq!(market("0.01", "0.0000000001").scale(&sol, &usdc), Err(SpecError::StepFinerThanAsset));
    assert_eq!(market("0.00000001", "1").scale(&sol, &usdc), Err(SpecError::TickLotBelowQuoteUnit));
    assert_eq!(market("0", "1").scale(&sol, &usdc), Err(SpecError::NonPositiveIncrement));
    assert_eq!(market("0.01", "0.01").scale(&sol, &sol), Err(SpecError::SameAsset));
    let mut rebate_too_large = market("0.01", "0.01");
    rebate_too_large.maker_fee_bps = -6;
    assert_eq!(rebate_too_large.scale(&sol, &usdc), Err(SpecError::InvalidFees));
    let mut bounds = market("0.01", "0.01");
    bounds.min_quantity = Lots(0);
    assert_eq!(bounds.scale(&sol, &usdc), Err(SpecError::InvalidBounds));
}

#[test]
fn refuses_markets_whose_largest_order_overflows() {
    let mut huge = market("0.01", "0.01");
    huge.max_quantity = Lots(1_000_000_000);
    assert_eq!(huge.scale(&asset(0, "SOL", 9), &asset(1, "USDC", 6)), Err(SpecError::Overflow));
}
