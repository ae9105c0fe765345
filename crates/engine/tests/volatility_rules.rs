//! Dynamic risk parameters through the engine: SOL's volatility from its index updates tightens
//! its margin fractions gradually, so a crowd near maintenance is liquidated over minutes, not
//! in one tick; and calm relaxes them the same way.

mod common;

use common::Harness;
use common::perp::{gtc, take};
use rucksack_testkit::fixtures::{SOL, USDC};
use rucksack_types::volatility::{VolatilitySpec, VolatilityTier};
use rucksack_types::{AccountId, Command, Fraction, IndexPrice, Side};

const ONE: i64 = Fraction::ONE.0;
/// The most a multiplier moves in one tick: a 1/600 a second, over the tick's second and the
/// three milliseconds of its commands.
const STEP: i64 = ONE / 600 * 1_004 / 1_000;

/// Hourly volatility of 2% or more doubles SOL's fractions; the multiplier moves a whole unit
/// in ten minutes at most; the estimate averages over ten minutes.
fn tiers() -> Command {
    let tier = VolatilityTier { threshold: Fraction(ONE / 50), multiplier: Fraction(2 * ONE) };
    Command::SetVolatilitySpec(Some(VolatilitySpec {
        window_micros: 600_000_000,
        ramp_micros: 600_000_000,
        tiers: [tier, VolatilityTier::default(), VolatilityTier::default(), VolatilityTier::default()],
    }))
}

/// A second passes and SOL's index is `price` dollars (in hundredths).
fn tick(h: &mut Harness, cents: i64) {
    h.stamp.advance(1_000_000);
    h.ok(Command::SetIndexPrice { asset: SOL, price: IndexPrice(cents * 10_000_000_000) });
    h.ok(Command::UpdateMarkPrices);
    h.ok(Command::Liquidate);
}

#[test]
fn volatility_tightens_margin_gradually_and_calm_relaxes_it() {
    let mut h = Harness::with_perps();
    h.ok(tiers());
    // Ten traders long 10 SOL at $143 with $40 to $58 of equity (a leverage limit of 50),
    // against account 2; SOL then settles at $141.80, leaving their margin fractions between
    // 1.9% and 3.2%, above the 1.25% maintenance fraction.
    let traders: Vec<u64> = (5..15).collect();
    for (k, &trader) in traders.iter().enumerate() {
        h.deposit(trader, USDC, 40_000_000 + 2_000_000 * k as i64);
        let leverage = rucksack_types::SettingsChange { leverage_limit: Some(50), ..Default::default() };
        h.ok(Command::UpdateAccountSettings { account: AccountId(trader), change: leverage });
        h.ok(gtc(2, Side::Ask, 14_300, 1_000));
        h.ok(take(trader, Side::Bid, 1_000));
    }
    tick(&mut h, 14_180);
    assert!(h.engine.liquidatable_accounts().is_empty(), "everyone starts healthy");

    // SOL swings 0.1% every second (6% hourly volatility): the multiplier climbs, a 1/600 a
    // second at most, and the traders reach their tighter maintenance one after another.
    let mut last = h.engine.volatility(SOL).multiplier;
    let mut entered: Vec<(u64, usize)> = Vec::new();
    for second in 0..900 {
        tick(&mut h, if second % 2 == 0 { 14_194 } else { 14_180 });
        let multiplier = h.engine.volatility(SOL).multiplier;
        assert!(multiplier.0 - last.0 <= STEP, "second {second}: {last:?} -> {multiplier:?}");
        last = multiplier;
        for &trader in &traders {
            if h.engine.is_liquidating(AccountId(trader)) && !entered.iter().any(|(t, _)| *t == trader) {
                entered.push((trader, second));
            }
        }
    }
    assert_eq!(last, Fraction(2 * ONE), "the tier's multiplier is reached");
    // At twice the maintenance fraction (2.5%) the five thinnest are in liquidation, the
    // thinnest first, each about a minute after the last: never a crowd in one tick.
    let order: Vec<u64> = entered.iter().map(|(t, _)| *t).collect();
    assert_eq!(order, [5, 6, 7, 8, 9], "{entered:?}");
    assert!(entered[0].1 > 60, "nobody is liquidated by the first ticks of volatility: {entered:?}");
    assert!(entered.windows(2).all(|w| w[1].1 >= w[0].1 + 20), "{entered:?}");

    // Calm: the estimate decays and the multiplier steps back down the same way.
    let mut previous = last;
    for _ in 0..3_600 {
        tick(&mut h, 14_180);
        let multiplier = h.engine.volatility(SOL).multiplier;
        assert!(previous.0 - multiplier.0 <= STEP);
        previous = multiplier;
    }
    assert_eq!(previous, Fraction::ONE);
}

#[test]
fn invalid_tiers_are_refused_and_removing_them_restores_static_parameters() {
    let mut h = Harness::with_perps();
    let descending = [
        VolatilityTier { threshold: Fraction(ONE / 10), multiplier: Fraction(2 * ONE) },
        VolatilityTier { threshold: Fraction(ONE / 20), multiplier: Fraction(3 * ONE) },
        VolatilityTier::default(),
        VolatilityTier::default(),
    ];
    let bad = VolatilitySpec { window_micros: 600_000_000, ramp_micros: 600_000_000, tiers: descending };
    assert!(h.apply(Command::SetVolatilitySpec(Some(bad))).is_err());
    h.ok(tiers());
    for second in 0..120 {
        tick(&mut h, if second % 2 == 0 { 14_443 } else { 14_300 });
    }
    assert!(h.engine.volatility(SOL).multiplier > Fraction::ONE);
    h.ok(Command::SetVolatilitySpec(None));
    assert_eq!(h.engine.volatility(SOL).multiplier, Fraction::ONE);
}
