use super::*;
use crate::decimal::Sign;

fn f(text: &str) -> Fraction {
    let negative = text.starts_with('-');
    let value = Fraction::parse(text.trim_start_matches('-')).expect("fraction");
    if negative { Fraction(-value.0) } else { value }
}

fn hourly() -> PerpSpec {
    PerpSpec {
        imf: MarginFunction { base: f("0.02"), factor: f("0.0001275") },
        mmf: MarginFunction { base: f("0.0125"), factor: f("0.0000765") },
        funding_interval_micros: 3_600_000_000,
        funding_rate_upper: f("0.01"),
        funding_rate_lower: f("-0.01"),
        open_interest_limit: Lots(1_000_000),
        mark_band: f("0.05"),
        basis: Some(BasisSpec { haircut: f("0.01"), imf: f("0.015"), mmf: f("0.01") }),
        bands: PriceBands::OPEN,
    }
}

#[test]
fn hourly_interest_part_is_the_published_quiet_rate() {
    // 0.03% a day over 24 hours: 0.00125% an hour, Backpack's quiet-market fundingRate.
    assert_eq!(hourly().interest_per_interval(), f("0.0000125"));
}

#[test]
fn funding_rate_worked_examples() {
    let (interest, lower, upper) = (f("0.0000125"), f("-0.01"), f("0.01"));
    // Quiet market: no premium, the interest part is the rate.
    assert_eq!(funding_rate(Fraction::ZERO, interest, lower, upper), f("0.0000125"));
    // Mean premium 0.03%: interest - mean = -0.0002875 is inside ±0.05%, so the rate is the
    // interest part again.
    assert_eq!(funding_rate(f("0.0003"), interest, lower, upper), f("0.0000125"));
    // Mean premium 0.2%: the pull is capped at -0.05%, so 0.2% - 0.05% = 0.15%.
    assert_eq!(funding_rate(f("0.002"), interest, lower, upper), f("0.0015"));
    // Mean discount 0.4%: the pull is capped at +0.05%: -0.4% + 0.05% = -0.35%.
    assert_eq!(funding_rate(f("-0.004"), interest, lower, upper), f("-0.0035"));
    // A premium of 3% is bounded by the market's 1% cap.
    assert_eq!(funding_rate(f("0.03"), interest, lower, upper), f("0.01"));
    assert_eq!(funding_rate(f("-0.03"), interest, lower, upper), f("-0.01"));
}

#[test]
fn interval_ends_on_the_hour() {
    let spec = hourly();
    assert_eq!(spec.interval_end(Timestamp(0)), Timestamp(3_600_000_000));
    assert_eq!(spec.interval_end(Timestamp(3_599_999_999)), Timestamp(3_600_000_000));
    assert_eq!(spec.interval_end(Timestamp(3_600_000_000)), Timestamp(7_200_000_000));
}

#[test]
fn spec_validation() {
    assert_eq!(hourly().validate(), Ok(()));
    let mut spec = hourly();
    spec.funding_interval_micros = 7_000_000_000;
    assert_eq!(spec.validate(), Err(PerpSpecError::InvalidFundingInterval));
    let mut spec = hourly();
    spec.mmf.base = f("0.03");
    assert_eq!(spec.validate(), Err(PerpSpecError::InvalidMarginFunction));
    let mut spec = hourly();
    spec.funding_rate_lower = f("0.001");
    assert_eq!(spec.validate(), Err(PerpSpecError::InvalidFundingBounds));
    let mut spec = hourly();
    spec.mark_band = Fraction::ONE;
    assert_eq!(spec.validate(), Err(PerpSpecError::InvalidLimits));
    let mut spec = hourly();
    spec.basis = Some(BasisSpec { haircut: f("0.01"), imf: f("0.03"), mmf: f("0.01") });
    assert_eq!(spec.validate(), Err(PerpSpecError::InvalidBasis), "a basis IMF above the market's base");
}

fn price(text: &str) -> FinePrice {
    // On a market with tick 0.01: "150.25" is 15025 ticks.
    let tick = Decimal::parse("0.01", Sign::Unsigned).expect("tick");
    FinePrice::from_index(IndexPrice::parse(text).expect("price"), tick).expect("fine")
}

#[test]
fn fine_prices_convert_exactly() {
    let tick = Decimal::parse("0.01", Sign::Unsigned).expect("tick");
    assert_eq!(price("150.25"), FinePrice::from_ticks(Ticks(15025)));
    assert_eq!(price("150.255").0, 15025 * FINE_PER_TICK + FINE_PER_TICK / 2);
    assert_eq!(price("150.255").to_decimal_string(tick), "150.255");
    assert_eq!(FinePrice::from_ticks(Ticks(15000)).to_decimal_string(tick), "150");
    assert_eq!(price("151.5").premium_over(price("150")), Some(f("0.01")));
}

#[test]
fn mark_price_fallbacks() {
    let band = f("0.05");
    let book = BookPrices { best_bid: Some(price("99")), best_ask: Some(price("103")), last: Some(price("100")) };
    // 1. Index plus the smoothed premium.
    let premium = price("1.5").0;
    assert_eq!(mark_price(Some(price("100")), Some(premium), band, book), Some(price("101.5")));
    // ... bounded to index ± 5%.
    assert_eq!(mark_price(Some(price("100")), Some(price("9")).map(|p| p.0), band, book), Some(price("105")));
    assert_eq!(mark_price(Some(price("100")), Some(-price("9").0), band, book), Some(price("95")));
    // 2. The index while there is no premium yet.
    assert_eq!(mark_price(Some(price("100")), None, band, book), Some(price("100")));
    // 3. No index: the median of bid, ask and last.
    assert_eq!(mark_price(None, Some(premium), band, book), Some(price("100")));
    // 4. No last trade: the mid.
    let no_last = BookPrices { last: None, ..book };
    assert_eq!(mark_price(None, None, band, no_last), Some(price("101")));
    // 5. One-sided book: the last trade.
    let one_sided = BookPrices { best_ask: None, ..book };
    assert_eq!(mark_price(None, None, band, one_sided), Some(price("100")));
    // Nothing at all: no mark.
    assert_eq!(mark_price(None, None, band, BookPrices::default()), None);
}

#[test]
fn premium_average_weights_samples_by_elapsed_time() {
    assert_eq!(smoothed_premium(None, 600, 1_000_000), 600);
    // One second of a one-minute window: 1/60 of the way to the sample.
    assert_eq!(smoothed_premium(Some(0), 600, 1_000_000), 10);
    // A whole window (or more) replaces the average.
    assert_eq!(smoothed_premium(Some(0), 600, 120_000_000), 600);
}

fn ticks(t: i64) -> Ticks {
    Ticks(t)
}

#[test]
fn position_pnl_on_partial_close_and_flip() {
    let fine = |t: i128| t * FINE_PER_TICK;
    let mut position = PerpPosition::default();
    // Buy 10 at 100, buy 10 at 110: long 20 at an average of 105.
    position.fill(10, ticks(100)).expect("fill");
    position.fill(10, ticks(110)).expect("fill");
    assert_eq!(position.size, 20);
    assert_eq!(position.entry_price(), Some(FinePrice(fine(105))));
    assert_eq!(position.open_value, fine(2100));
    // Sell 5 at 120: realizes 5 * (120 - 105) = 75; 15 remain at 105.
    position.fill(-5, ticks(120)).expect("fill");
    assert_eq!(position.realized_pnl, fine(75));
    assert_eq!(position.entry_price(), Some(FinePrice(fine(105))));
    // Sell 25 at 100: closes 15 (15 * -5 = -75 realized) and opens short 10 at 100.
    position.fill(-25, ticks(100)).expect("fill");
    assert_eq!(position.size, -10);
    assert_eq!(position.realized_pnl, 0);
    assert_eq!(position.entry_price(), Some(FinePrice(fine(100))));
    // The claim at a mark of 90: bought 20 for 2100, sold 30 for 3100, short 10 worth -900.
    assert_eq!(position.claim(FinePrice(fine(90))), Some(fine(-900 - (2100 - 600 - 2500))));
    // Buy 4 at 80: a short closing at a profit of 4 * 20 = 80.
    position.fill(4, ticks(80)).expect("fill");
    assert_eq!(position.realized_pnl, fine(80));
    assert_eq!(position.entry_price(), Some(FinePrice(fine(100))));
    // Buy 6 at 100: flat, no entry left.
    position.fill(6, ticks(100)).expect("fill");
    assert!(position.is_flat());
    assert_eq!(position.entry_value, 0);
    assert_eq!(position.entry_price(), None);
}
