//! A perpetual position's part of account health, as Backpack's margin model states it:
//!
//! ```text
//! unrealized PnL      = size × mark − open value              (funding and fees folded in)
//! exposure N          = |net exposure quantity| × mark
//! initial requirement = N × max(IMF(N), 1 / leverage limit),  IMF(N) = max(base, factor × √N)
//! maintenance         = N × MMF(N)
//! ```
//!
//! A short hedged by the base asset held in the account (a basis trade) is valued as a pair when
//! the market has basis terms: see [`Hedge`].
//!
//! The net exposure quantity is the worst case over the position's open orders: the position
//! as it is, with every open bid filled at its limit, or with every open ask filled at its
//! limit, whichever leaves the least equity free. A fill at a limit worse than the mark loses
//! the difference at once, and the taker fee is counted on every lot; both lower equity in
//! that scenario.

use rucksack_types::volatility::{scaled_fraction, scaled_weight};
use rucksack_types::{Amount, AssetSpec, BasisSpec, FinePrice, Fraction, IndexPrice, PerpSpec, Rounding, UsdValue};

use super::{AccountHealth, Holding, RiskInputs, Valuation};

/// What a side's open orders would do to a position if they all filled at their limits.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OpenSide {
    pub lots: i64,
    /// Σ lots × limit price, in fine units.
    pub value: i128,
    /// The most their fills could pay in fees (quote units): the taker fee per lot, rounded
    /// up, on every lot.
    pub fees: i64,
    /// Ticks no order of the side is below and none above. Kept as orders come (widened) and
    /// reset when the side empties, so it may be wider than the orders now there, never narrower.
    pub low: i64,
    pub high: i64,
}

impl OpenSide {
    /// `lots` at `price` (ticks), `fees` in all.
    pub fn at(price: i64, lots: i64, fees: i64) -> OpenSide {
        let value = FinePrice::from_ticks(rucksack_types::Ticks(price)).0 * i128::from(lots);
        OpenSide { lots, value, fees, low: price, high: price }
    }

    pub fn plus(self, other: OpenSide) -> OpenSide {
        let (low, high) = match (self.lots, other.lots) {
            (0, _) => (other.low, other.high),
            (_, 0) => (self.low, self.high),
            _ => (self.low.min(other.low), self.high.max(other.high)),
        };
        OpenSide {
            lots: self.lots + other.lots,
            value: self.value + other.value,
            fees: self.fees + other.fees,
            low,
            high,
        }
    }

    pub fn minus(self, other: OpenSide) -> OpenSide {
        let lots = self.lots - other.lots;
        let (low, high) = if lots == 0 { (0, 0) } else { (self.low, self.high) };
        OpenSide { lots, value: self.value - other.value, fees: self.fees - other.fees, low, high }
    }

    /// The same orders by their sums alone (the range aside).
    pub fn sums(&self) -> (i64, i128, i64) {
        (self.lots, self.value, self.fees)
    }
}

/// Everything a perpetual position is valued with besides the position.
#[derive(Clone, Copy, Debug)]
pub struct PerpValuation<'a> {
    pub spec: &'a PerpSpec,
    pub mark: FinePrice,
    /// Fine units per quote unit.
    pub fine_per_quote_unit: i128,
    /// The settlement (quote) asset and its index price; a dollar when it has none.
    pub quote: &'a AssetSpec,
    pub quote_price: Option<IndexPrice>,
    /// Notionals up to which the IMF and MMF functions are flat (their bases).
    pub flat: (UsdValue, UsdValue),
    /// The base asset the account holds, when the market credits hedged pairs.
    pub hedge: Option<Hedge<'a>>,
    /// The base asset's volatility multiplier of the market's fractions.
    pub multiplier: Fraction,
}

/// The spot leg a short position may be hedged by: the account's holding of the base asset.
#[derive(Clone, Copy, Debug)]
pub struct Hedge<'a> {
    pub basis: BasisSpec,
    pub spot: Holding,
    pub spot_valuation: Valuation<'a>,
    /// Whether the base's pool is within its throttle, so a lend of it can be redeemed to back
    /// the pair.
    pub lend_redeemable: bool,
    pub base_units_per_lot: i64,
    /// Worked out from the above by [`Hedge::of`]; `None` without a price or parameters.
    leg: Option<SpotLeg>,
}

/// The spot leg's units and value as the pair sees them, worked out once per valuation.
#[derive(Clone, Copy, Debug)]
struct SpotLeg {
    /// Units that can back a short: available, plus lent while redeemable, less borrowed.
    hedgeable: i128,
    /// Units held but for those open orders lock: their sale is already the spot part's worst
    /// case.
    held: i128,
    /// Their collateral value unpaired, micro-dollars.
    held_collateral: i128,
}

/// What a hedged pair changes: the spot leg's extra collateral value, and the requirements of
/// the short on its hedged and unhedged parts.
struct HedgedPair {
    extra_collateral: UsdValue,
    initial_requirement: UsdValue,
    maintenance_requirement: UsdValue,
}

impl<'a> Hedge<'a> {
    /// The spot leg of a market with basis terms `basis` on base asset `base`, from an
    /// account's balance and pool position in it.
    pub fn of(
        basis: Option<BasisSpec>,
        inputs: &RiskInputs<'a>,
        base: usize,
        balance: crate::ledger::Balance,
        position: crate::lending::PoolPosition,
        base_units_per_lot: i64,
    ) -> Option<Hedge<'a>> {
        let basis = basis?;
        let throttle =
            inputs.specs.get(base).copied().flatten().and_then(|s| s.lending).map(|l| l.throttle_utilization);
        let pool = inputs.pools.get(base).copied().unwrap_or_default();
        let mut hedge = Hedge {
            basis,
            spot: inputs.holding(base, balance, position),
            spot_valuation: inputs.valuation(base),
            lend_redeemable: throttle.is_some_and(|t| pool.utilization() <= t),
            base_units_per_lot,
            leg: None,
        };
        hedge.leg = hedge.spot_leg();
        Some(hedge)
    }

    /// A spot leg held as `spot`, valued at `spot_valuation`, backing a short.
    pub fn new(
        basis: BasisSpec,
        spot: Holding,
        spot_valuation: Valuation<'a>,
        lend_redeemable: bool,
        base_units_per_lot: i64,
    ) -> Hedge<'a> {
        let mut hedge = Hedge { basis, spot, spot_valuation, lend_redeemable, base_units_per_lot, leg: None };
        hedge.leg = hedge.spot_leg();
        hedge
    }

    fn spot_leg(&self) -> Option<SpotLeg> {
        self.spot_valuation.risk?;
        self.spot_valuation.price?;
        let spot = &self.spot;
        let lent = if self.lend_redeemable { i128::from(spot.lent.0) } else { 0 };
        let held = i128::from(spot.available.0) + i128::from(spot.lent.0);
        Some(SpotLeg {
            hedgeable: i128::from(spot.available.0) + lent - i128::from(spot.borrowed.0),
            held,
            held_collateral: self.spot_collateral(held),
        })
    }

    /// The value of `units` of the base at its index, rounded down.
    fn spot_value(&self, units: i128) -> UsdValue {
        let price = self.spot_valuation.price.unwrap_or_default();
        let units = Amount(units.clamp(0, i128::from(i64::MAX)) as i64);
        price.value(units, self.spot_valuation.asset.decimals, Rounding::Down)
    }

    /// The collateral value of `units` of the base at its own haircut, micro-dollars.
    fn spot_collateral(&self, units: i128) -> i128 {
        let Some(risk) = self.spot_valuation.risk else { return 0 };
        let notional = self.spot_value(units);
        let weight = risk.haircut.weight_in(notional, &self.spot_valuation.flat);
        scaled_weight(weight, self.spot_valuation.multiplier).of(notional.0, Rounding::Down).unwrap_or(0)
    }

    /// For a short of `short_units` base units worth `notional` at the mark: `None` without a
    /// hedge. Units locked by open spot orders are left out, and so is a lend while its pool is
    /// throttled.
    fn pair(
        &self,
        short_units: i128,
        notional: UsdValue,
        perp: &PerpValuation<'_>,
        floor: Fraction,
    ) -> Option<HedgedPair> {
        let leg = self.leg?;
        let hedged = leg.hedgeable.min(short_units);
        if hedged <= 0 || short_units <= 0 {
            return None;
        }
        let multiplier = perp.multiplier;
        let weight = scaled_weight(Fraction(Fraction::ONE.0 - self.basis.haircut.0), multiplier);
        let paired =
            weight.of(self.spot_value(hedged).0, Rounding::Down).unwrap_or(0) + self.spot_collateral(leg.held - hedged);
        let extra_collateral = UsdValue((paired - leg.held_collateral).max(0));
        // The short's hedged part at the basis fractions, the rest by the market's functions.
        let hedged_notional =
            UsdValue(rucksack_types::money::mul_div(notional.0, hedged, short_units, Rounding::Up).ok()?);
        let rest = UsdValue(notional.0 - hedged_notional.0);
        let of = |f: Fraction, n: UsdValue| f.of(n.0, Rounding::Up).unwrap_or(i128::MAX / 4);
        let (rest_imf, rest_mmf) = perp.fractions(rest);
        let (basis_imf, basis_mmf) =
            (scaled_fraction(self.basis.imf, multiplier), scaled_fraction(self.basis.mmf, multiplier));
        let initial = of(basis_imf.max(floor), hedged_notional) + of(rest_imf.max(floor), rest);
        let maintenance = of(basis_mmf, hedged_notional) + of(rest_mmf, rest);
        Some(HedgedPair {
            extra_collateral,
            initial_requirement: UsdValue(initial),
            maintenance_requirement: UsdValue(maintenance),
        })
    }
}

impl PerpValuation<'_> {
    fn usd(&self, fine: i128, rounding: Rounding) -> UsdValue {
        let quote = rucksack_types::money::div_round(fine, self.fine_per_quote_unit, rounding).unwrap_or(0);
        let quote = Amount(quote.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64);
        let one_dollar = IndexPrice(1_000_000_000_000);
        self.quote_price.unwrap_or(one_dollar).value(quote, self.quote.decimals, rounding)
    }

    /// The health of a position of `size` lots owed `claim` fine units.
    pub fn health(&self, size: i64, claim: i128, leverage_limit: u16) -> AccountHealth {
        self.health_with_floor(size, claim, leverage_floor(leverage_limit))
    }

    fn health_with_floor(&self, size: i64, claim: i128, leverage_floor: Fraction) -> AccountHealth {
        let pnl = self.usd(claim, Rounding::Down);
        let notional = self.usd(i128::from(size).saturating_abs().saturating_mul(self.mark.0), Rounding::Up);
        let short_units = if size < 0 {
            self.hedge.map_or(0, |h| i128::from(size).abs() * i128::from(h.base_units_per_lot))
        } else {
            0
        };
        if let Some(pair) = self.hedge.and_then(|h| h.pair(short_units, notional, self, leverage_floor)) {
            return AccountHealth {
                unrealized_pnl: pnl,
                exposure: notional,
                collateral_value: pair.extra_collateral,
                initial_requirement: pair.initial_requirement,
                maintenance_requirement: pair.maintenance_requirement,
                ..AccountHealth::default()
            };
        }
        let (imf, mmf) = self.fractions(notional);
        let imf = imf.max(leverage_floor);
        AccountHealth {
            unrealized_pnl: pnl,
            exposure: notional,
            initial_requirement: UsdValue(imf.of(notional.0, Rounding::Up).unwrap_or(i128::MAX / 4)),
            maintenance_requirement: UsdValue(mmf.of(notional.0, Rounding::Up).unwrap_or(i128::MAX / 4)),
            ..AccountHealth::default()
        }
    }

    /// The market's IMF and MMF at `notional`, scaled by the volatility multiplier: their bases
    /// in their flat regions, else from one square root.
    fn fractions(&self, notional: UsdValue) -> (Fraction, Fraction) {
        let (flat_imf, flat_mmf) = (notional <= self.flat.0, notional <= self.flat.1);
        let (imf, mmf) = if flat_imf && flat_mmf {
            (self.spec.imf.base, self.spec.mmf.base)
        } else {
            let root = rucksack_types::SquareRoot::of(notional);
            let imf = if flat_imf { self.spec.imf.base } else { self.spec.imf.fraction_at(root) };
            let mmf = if flat_mmf { self.spec.mmf.base } else { self.spec.mmf.fraction_at(root) };
            (imf, mmf)
        };
        (scaled_fraction(imf, self.multiplier), scaled_fraction(mmf, self.multiplier))
    }

    /// The worst of the position as it is (`size` lots owed `claim`), with all `bids` filled, and
    /// with all `asks` filled.
    ///
    /// Along one side's fills equity is concave while the position keeps its sign, so its ends
    /// bound it. A side that would carry the position through zero also passes the flat point,
    /// where a hedged pair's credit ends: `to_flat` bounds what that side's lots up to flat cost
    /// (their value and fees), and the flat point is valued too.
    pub fn worst_health(
        &self,
        size: i64,
        claim: i128,
        sides: [OpenSide; 2],
        to_flat: [Option<OpenSide>; 2],
        leverage_limit: u16,
    ) -> AccountHealth {
        let floor = leverage_floor(leverage_limit);
        let mut worst = self.health_with_floor(size, claim, floor);
        let [bids, asks] = sides;
        let mut cases = vec![(bids, 1i64), (asks, -1i64)];
        cases.extend(to_flat[0].map(|flat| (flat, 1)));
        cases.extend(to_flat[1].map(|flat| (flat, -1)));
        for (side, sign) in cases {
            if side.lots == 0 {
                continue;
            }
            let lots = side.lots * sign;
            let fee_fine = i128::from(side.fees).saturating_mul(self.fine_per_quote_unit);
            // Bought lots cost their value, sold ones fetch it; both pay their fees.
            let filled_claim = claim
                .saturating_add(i128::from(lots).saturating_mul(self.mark.0))
                .saturating_sub(side.value.saturating_mul(i128::from(sign)))
                .saturating_sub(fee_fine);
            let filled = self.health_with_floor(size.saturating_add(lots), filled_claim, floor);
            if filled.free_equity() < worst.free_equity() {
                worst = filled;
            }
        }
        worst
    }
}

/// `1 / leverage limit`, rounded up: the least IMF an account's limit allows.
fn leverage_floor(leverage_limit: u16) -> Fraction {
    Fraction::ratio(1, i128::from(leverage_limit.max(1)), Rounding::Up).unwrap_or(Fraction::ONE)
}

#[cfg(test)]
mod tests;
