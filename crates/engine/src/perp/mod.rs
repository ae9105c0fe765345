//! Perpetual futures in the unified account: positions instead of balances, margin instead of
//! reservations, and money that moves only when PnL is realized.
//!
//! - `orders`: an order is cut if reduce-only, held to the price bands and to the margin rule
//!   (`margin`: each position at its worst over its open orders, [`crate::margin::perp`]).
//! - `trading`: a fill changes the two positions (see [`PerpPosition::fill`]) and folds each
//!   side's trading fee into its position; no balance moves. Open orders lock nothing.
//! - `clock`: every second the mark price is sampled (index plus the smoothed premium of the
//!   book's mid); at each interval end funding is paid through a cumulative index per lot,
//!   applied to a position the next time it is touched.
//! - `realization`: every few seconds each position's claim moves into the quote balance:
//!   losses first (from the available balance, then a redeemed lend, then a borrow), then the
//!   fees the house is owed, then profits, each only as far as the money collected allows.
//!
//! Per market the books balance exactly: sizes sum to zero, and the positions' open values sum
//! to what was settled out of them plus the fees charged into them (plus claims under one quote
//! unit forfeited when a flat position is closed), all in fine units. The cash collected and not
//! yet paid out is the settlement reserve, which the conservation check counts.

pub(crate) mod clock;
pub(crate) mod margin;
pub(crate) mod orders;
pub(crate) mod realization;
pub(crate) mod trading;

use rucksack_types::{FinePrice, MarketId, PerpPosition, PerpSpec, Ticks, Timestamp};

use crate::margin::RiskInputs;
use crate::margin::perp::{Hedge, OpenSide, PerpValuation};

/// A perpetual market's state beside its book.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PerpMarket {
    pub spec: PerpSpec,
    /// The market's base and quote assets.
    pub base: rucksack_types::AssetId,
    pub quote: rucksack_types::AssetId,
    /// Fine units per quote unit (exact, checked at listing).
    pub fine_per_quote_unit: i128,
    /// Base units in one lot.
    pub base_units_per_lot: i64,
    pub index: Option<FinePrice>,
    pub mark: Option<FinePrice>,
    /// The mark's five-minute average, which takers' mean-mark band is measured from.
    pub mean_mark: Option<FinePrice>,
    /// The one-minute average of the book's mid over the index, in fine units.
    pub smoothed_premium: Option<i128>,
    pub last_sample: Option<Timestamp>,
    pub last_trade: Option<Ticks>,
    /// The running interval: when it ends (zero before the first clock sample), and the sum and
    /// count of its premium samples.
    pub interval_end: Timestamp,
    pub premium_sum: i128,
    pub premium_samples: u32,
    /// The running sum of funding per lot, fine units.
    pub cumulative_funding: i128,
    /// Lots held long in all (equal to lots held short).
    pub open_interest: i64,
    /// Quote units moved out of positions into balances (negative: into positions from
    /// balances).
    pub settled: i128,
    /// Trading fees folded into positions, and how much of them the house has collected.
    pub fees_charged: i128,
    pub fees_collected: i128,
    /// Claims under one quote unit left by flat positions when they closed, fine units.
    pub forfeited: i128,
    /// Deficits of bankrupt positions no fund or position in profit could absorb, written off
    /// against the market, fine units.
    pub written_off: i128,
    /// Where the IMF and MMF functions are flat (derived from `spec`): no square root below.
    pub flat_imf: rucksack_types::UsdValue,
    pub flat_mmf: rucksack_types::UsdValue,
}

impl PerpMarket {
    pub fn new(
        market: &rucksack_types::MarketSpec,
        spec: PerpSpec,
        scale: &rucksack_types::MarketScale,
    ) -> Option<PerpMarket> {
        Some(PerpMarket {
            spec,
            base: market.base,
            quote: market.quote,
            fine_per_quote_unit: scale.fine_per_quote_unit()?,
            base_units_per_lot: scale.base_units_per_lot,
            index: None,
            mark: None,
            mean_mark: None,
            smoothed_premium: None,
            last_sample: None,
            last_trade: None,
            interval_end: Timestamp(0),
            premium_sum: 0,
            premium_samples: 0,
            cumulative_funding: 0,
            open_interest: 0,
            settled: 0,
            fees_charged: 0,
            fees_collected: 0,
            forfeited: 0,
            written_off: 0,
            flat_imf: spec.imf.flat_up_to(),
            flat_mmf: spec.mmf.flat_up_to(),
        })
    }

    /// How an account's positions in this market are valued now, its holding of the base asset
    /// as the spot leg of a hedged pair: `None` before the market's first mark price.
    pub fn valuation<'a>(
        &'a self,
        inputs: &RiskInputs<'a>,
        balances: &[crate::ledger::Balance],
        positions: &[crate::lending::PoolPosition],
    ) -> Option<PerpValuation<'a>> {
        let (base, quote) = (usize::from(self.base.0), usize::from(self.quote.0));
        Some(PerpValuation {
            spec: &self.spec,
            mark: self.mark?,
            fine_per_quote_unit: self.fine_per_quote_unit,
            quote: inputs.assets.get(quote)?,
            quote_price: inputs.prices.get(quote).copied().flatten().map(|p| p.price),
            flat: (self.flat_imf, self.flat_mmf),
            hedge: Hedge::of(
                self.spec.basis,
                inputs,
                base,
                balances.get(base).copied().unwrap_or_default(),
                positions.get(base).copied().unwrap_or_default(),
                self.base_units_per_lot,
            ),
            multiplier: inputs.multiplier(base),
        })
    }

    /// When the funding interval running at `now` ends: the kept end, or (once that has passed
    /// and before the next sample pays it) the end of the interval `now` falls in.
    pub fn next_funding(&self, now: Timestamp) -> Timestamp {
        if self.interval_end > now { self.interval_end } else { self.spec.interval_end(now) }
    }

    /// Fine units of this market as quote units, rounded toward zero, for display.
    pub fn quote_units(&self, fine: i128) -> rucksack_types::Amount {
        let units = fine / self.fine_per_quote_unit;
        rucksack_types::Amount(units.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64)
    }

    /// The interval's funding rate if it ended now.
    pub fn funding_estimate(&self) -> rucksack_types::Fraction {
        let mean = if self.premium_samples == 0 { 0 } else { self.premium_sum / i128::from(self.premium_samples) };
        rucksack_types::perp::funding_rate(
            rucksack_types::Fraction(mean as i64),
            self.spec.interest_per_interval(),
            self.spec.funding_rate_lower,
            self.spec.funding_rate_upper,
        )
    }
}

/// An account's position in one perpetual market and its open orders there.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PerpHolding {
    pub market: MarketId,
    pub position: PerpPosition,
    pub bids: OpenSide,
    pub asks: OpenSide,
    /// How many of the open orders are reduce-only (so fitting them costs nothing without).
    pub reduce_only_orders: u32,
}

impl PerpHolding {
    /// Funding owed since the position last had funding applied, fine units (negative: due to
    /// it).
    pub fn pending_funding(&self, cumulative: i128) -> i128 {
        i128::from(self.position.size).saturating_mul(cumulative - self.position.funding_index)
    }

    /// What the position is owed at `mark` with pending funding applied.
    pub fn claim(&self, mark: FinePrice, cumulative: i128) -> i128 {
        self.position.claim(mark).unwrap_or(i128::MIN / 4).saturating_sub(self.pending_funding(cumulative))
    }

    /// Nothing left: no size, no orders, nothing owed either way.
    pub fn is_empty(&self) -> bool {
        self.position.size == 0 && self.position.open_value == 0 && self.bids.lots == 0 && self.asks.lots == 0
    }
}

impl crate::Engine {
    /// A perpetual market's state; `None` for a spot or unknown market.
    pub fn perp_market(&self, market: MarketId) -> Option<&PerpMarket> {
        self.markets.get(usize::from(market.0)).and_then(|m| m.perp.as_ref())
    }

    /// An account's perpetual holdings, in market order (none for an unknown account).
    pub fn perp_holdings(&self, account: rucksack_types::AccountId) -> &[PerpHolding] {
        self.ledger.find(account).map_or(&[], |index| &self.ledger.account(index).perps)
    }

    /// An account's position in a perpetual market (flat if it has none).
    pub fn perp_position(&self, account: rucksack_types::AccountId, market: MarketId) -> PerpPosition {
        self.perp_holdings(account).iter().find(|h| h.market == market).map(|h| h.position).unwrap_or_default()
    }
}
