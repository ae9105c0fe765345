//! The perpetual section of a snapshot: each perpetual market's spec and state, and every
//! account's positions. Open-order sums are not encoded; restoring the orders rebuilds them.

use rucksack_types::codec::{Reader, Writer};
use rucksack_types::{AccountId, FinePrice, MarketId, MarketKind, PerpPosition, Ticks, Timestamp};

use super::SnapshotError;
use crate::engine::Engine;
use crate::perp::{PerpHolding, PerpMarket};

/// A holding's open-order price ranges as kept: bids' and asks' (low, high).
pub(super) type KeptRanges = (AccountId, MarketId, [(i64, i64); 2]);

impl Engine {
    pub(super) fn encode_perps(&self, out: &mut Writer) {
        for market in &self.markets {
            let Some(perp) = &market.perp else {
                out.u8(0);
                continue;
            };
            out.u8(1);
            out.perp_spec(&perp.spec);
            out.i128(perp.fine_per_quote_unit);
            for price in [perp.index, perp.mark, perp.mean_mark] {
                optional_i128(out, price.map(|p| p.0));
            }
            optional_i128(out, perp.smoothed_premium);
            optional_i128(out, perp.last_sample.map(|t| i128::from(t.0)));
            optional_i128(out, perp.last_trade.map(|t| i128::from(t.0)));
            out.u64(perp.interval_end.0);
            out.i128(perp.premium_sum);
            out.u32(perp.premium_samples);
            out.i128(perp.cumulative_funding);
            out.i64(perp.open_interest);
            for value in [perp.settled, perp.fees_charged, perp.fees_collected, perp.forfeited] {
                out.i128(value);
            }
        }
        let holdings = || self.ledger.accounts.iter().flat_map(|a| a.perps.iter().map(move |h| (a.id, h)));
        out.u64(holdings().count() as u64);
        for (account, holding) in holdings() {
            out.u64(account.0);
            out.u16(holding.market.0);
            let p = &holding.position;
            out.i64(p.size);
            for value in [p.open_value, p.entry_value, p.realized_pnl, p.funding_index, p.cumulative_funding] {
                out.i128(value);
            }
            out.i64(p.unsettled_fees);
            out.i128(p.unsettled_funding);
            for side in [holding.bids, holding.asks] {
                out.i64(side.low);
                out.i64(side.high);
            }
        }
    }

    /// Puts back the kept price ranges of the accounts' open orders, after the orders rebuilt
    /// the sums.
    pub(super) fn restore_open_ranges(&mut self, ranges: &[KeptRanges]) {
        for &(account, market, [bids, asks]) in ranges {
            let Some(index) = self.ledger.find(account) else { continue };
            if let Some(holding) = self.ledger.account_mut(index).perps.iter_mut().find(|h| h.market == market) {
                (holding.bids.low, holding.bids.high) = bids;
                (holding.asks.low, holding.asks.high) = asks;
            }
        }
    }

    /// Reads the section; returns each holding's open-order price ranges, which the caller puts
    /// back once the orders are restored.
    pub(super) fn decode_perps(&mut self, r: &mut Reader<'_>) -> Result<Vec<KeptRanges>, SnapshotError> {
        for index in 0..self.markets.len() {
            match r.u8()? {
                0 => continue,
                1 => {}
                _ => return Err(SnapshotError::Inconsistent("market kind tag")),
            }
            let spec = r.perp_spec()?;
            let market = &self.markets[index];
            let mut perp = PerpMarket::new(&market.spec, spec, &market.scale)
                .ok_or(SnapshotError::Inconsistent("perpetual market settles inexactly"))?;
            if r.i128()? != perp.fine_per_quote_unit {
                return Err(SnapshotError::Inconsistent("perpetual market scale"));
            }
            perp.index = read_optional(r)?.map(FinePrice);
            perp.mark = read_optional(r)?.map(FinePrice);
            perp.mean_mark = read_optional(r)?.map(FinePrice);
            perp.smoothed_premium = read_optional(r)?;
            perp.last_sample = read_optional(r)?.map(|t| Timestamp(t as u64));
            perp.last_trade = read_optional(r)?.map(|t| Ticks(t as i64));
            perp.interval_end = Timestamp(r.u64()?);
            perp.premium_sum = r.i128()?;
            perp.premium_samples = r.u32()?;
            perp.cumulative_funding = r.i128()?;
            perp.open_interest = r.i64()?;
            perp.settled = r.i128()?;
            perp.fees_charged = r.i128()?;
            perp.fees_collected = r.i128()?;
            perp.forfeited = r.i128()?;
            let market = &mut self.markets[index];
            market.spec.kind = MarketKind::Perp(spec);
            market.perp = Some(perp);
        }
        let count = r.u64()?;
        let mut ranges = Vec::new();
        for _ in 0..count {
            let account = self
                .ledger
                .find(AccountId(r.u64()?))
                .ok_or(SnapshotError::Inconsistent("position of unknown account"))?;
            let market = MarketId(r.u16()?);
            if self.markets.get(usize::from(market.0)).is_none_or(|m| m.perp.is_none()) {
                return Err(SnapshotError::Inconsistent("position in a market that is not perpetual"));
            }
            let position = PerpPosition {
                size: r.i64()?,
                open_value: r.i128()?,
                entry_value: r.i128()?,
                realized_pnl: r.i128()?,
                funding_index: r.i128()?,
                cumulative_funding: r.i128()?,
                unsettled_fees: r.i64()?,
                unsettled_funding: r.i128()?,
            };
            let kept = [(r.i64()?, r.i64()?), (r.i64()?, r.i64()?)];
            let id = self.ledger.account(account).id;
            let perps = &mut self.ledger.account_mut(account).perps;
            if perps.last().is_some_and(|h| h.market >= market) {
                return Err(SnapshotError::Inconsistent("positions out of market order"));
            }
            perps.push(PerpHolding { market, position, ..PerpHolding::default() });
            ranges.push((id, market, kept));
        }
        Ok(ranges)
    }
}

fn optional_i128(out: &mut Writer, value: Option<i128>) {
    match value {
        Some(value) => {
            out.u8(1);
            out.i128(value);
        }
        None => out.u8(0),
    }
}

fn read_optional(r: &mut Reader<'_>) -> Result<Option<i128>, SnapshotError> {
    match r.u8()? {
        0 => Ok(None),
        1 => Ok(Some(r.i128()?)),
        _ => Err(SnapshotError::Inconsistent("optional tag")),
    }
}
