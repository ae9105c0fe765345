//! The canonical encoding of the whole engine state. It is both the snapshot format and the
//! input of the state hash, so two engines hash equal exactly when everything observable about
//! them is equal: sequence, clock, assets, markets, every resting order in book order, every
//! balance, the house accounts, custody totals, the sets of seen transaction ids, and the risk
//! state (parameters, index prices, pools and pool positions), perpetual markets and positions,
//! trigger orders, and the liquidation state (parameters, insurance fund, accounts in
//! liquidation, backstop providers).
//!
//! Internal layout (arena slots, level slots, hash-map capacity) is not encoded; a restored
//! engine rebuilds it, and nothing that depends on it can change a result.

use rucksack_types::codec::{self, CodecError, Reader, Writer};
use rucksack_types::{
    AccountId, AccountSettings, Amount, ApiKey, AssetId, ClientId, IndexPrice, Lots, MarketId, OrderId, Permissions,
    Seq, Side, Ticks, Timestamp, TxId,
};

use crate::book::Book;
use crate::book::arena::{NIL, RestingOrder};
use crate::engine::{Engine, Market};
use crate::ledger::{Balance, Custody};
use crate::lending::PoolPosition;
use crate::margin::PricePoint;

mod liquidation;
mod perp;
mod triggers;

const MAGIC: &[u8; 8] = b"RKSNAP04";
/// The format before liquidation existed: read as an engine with default liquidation
/// parameters and an empty insurance fund.
const MAGIC_V3: &[u8; 8] = b"RKSNAP03";
/// The format before perpetual markets existed: read as an engine without them.
const MAGIC_V2: &[u8; 8] = b"RKSNAP02";
/// The format before the risk state existed: read as an engine without risk parameters.
const MAGIC_V1: &[u8; 8] = b"RKSNAP01";
/// Magic, sequence number and clock.
const HEADER_LEN: usize = 8 + 8 + 8;

#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    #[error("not a rucksack snapshot")]
    BadMagic,
    #[error("snapshot is malformed: {0}")]
    Codec(#[from] CodecError),
    #[error("snapshot is inconsistent: {0}")]
    Inconsistent(&'static str),
}

impl Engine {
    /// The canonical encoding of the state; see the module docs.
    pub fn encode_snapshot(&self) -> Vec<u8> {
        let mut out = Writer::with_capacity(4096 + self.orders.live() * 96);
        out.bytes(MAGIC);
        out.u64(self.last_seq.0);
        out.u64(self.time.0);
        out.u64(self.next_order_id);
        out.u32(self.assets.len() as u32);
        for asset in &self.assets {
            out.asset_spec(asset);
        }
        out.u32(self.markets.len() as u32);
        for market in &self.markets {
            out.market_spec(&market.spec);
            out.u64(market.book.next_trade_id);
            out.u64(market.book.update_id);
            for side in [Side::Bid, Side::Ask] {
                out.u32(market.book.ladder(side).len() as u32);
                let mut count = 0u64;
                market.book.for_each_order(&self.orders, side, |_| count += 1);
                out.u64(count);
                market.book.for_each_order(&self.orders, side, |handle| {
                    let order = self.orders.get(handle);
                    encode_order(&mut out, order, self.ledger.account(order.account).id);
                });
            }
        }
        out.u32(self.ledger.accounts.len() as u32);
        for account in &self.ledger.accounts {
            out.u64(account.id.0);
            for balance in &account.balances {
                out.i64(balance.available.0);
                out.i64(balance.locked.0);
            }
            let s = account.settings;
            for flag in [s.auto_borrow_settlements, s.auto_lend, s.auto_realize_pnl, s.auto_repay_borrows] {
                out.u8(u8::from(flag));
            }
            out.u16(s.leverage_limit);
        }
        for asset in 0..self.assets.len() {
            out.i64(self.ledger.fees[asset].0);
            out.i64(self.ledger.dust[asset].0);
            out.i128(self.ledger.custody[asset].deposited);
            out.i128(self.ledger.custody[asset].withdrawn);
        }
        for set in [&self.ledger.deposits_seen, &self.ledger.withdrawals_seen] {
            out.u64(set.len() as u64);
            for tx in set {
                out.bytes(&tx.0);
            }
        }
        out.u64(self.ledger.api_keys.len() as u64);
        for (key, (account, permissions)) in &self.ledger.api_keys {
            out.bytes(&key.0);
            out.u64(account.0);
            out.u8(permissions.bits());
        }
        self.encode_risk(&mut out);
        self.encode_perps(&mut out);
        self.encode_triggers(&mut out);
        self.encode_liquidation(&mut out);
        out.bytes
    }

    /// Risk parameters, index prices, pools and every account's pool positions.
    fn encode_risk(&self, out: &mut Writer) {
        out.u64(self.risk.charged_hour);
        for asset in 0..self.assets.len() {
            match &self.risk.specs[asset] {
                Some(spec) => {
                    out.u8(1);
                    out.asset_risk(spec);
                }
                None => out.u8(0),
            }
            match self.risk.prices[asset] {
                Some(point) => {
                    out.u8(1);
                    out.i64(point.price.0);
                    out.u64(point.updated.0);
                }
                None => out.u8(0),
            }
            let pool = &self.risk.pools[asset];
            for amount in [pool.lent, pool.borrowed, pool.fee_claim, pool.dust_claim] {
                out.i64(amount.0);
            }
            out.i128(pool.lend_shares);
            out.i128(pool.borrow_shares);
        }
        let positions = || {
            self.ledger.accounts.iter().flat_map(|account| {
                account
                    .positions
                    .iter()
                    .enumerate()
                    .filter(|(_, p)| **p != PoolPosition::None)
                    .map(|(a, p)| (account.id, a, *p))
            })
        };
        out.u64(positions().count() as u64);
        for (account, asset, position) in positions() {
            out.u64(account.0);
            out.u16(asset as u16);
            match position {
                PoolPosition::Lend(shares) => {
                    out.u8(0);
                    out.i128(shares);
                }
                PoolPosition::Borrow(shares) => {
                    out.u8(1);
                    out.i128(shares);
                }
                PoolPosition::None => {}
            }
        }
    }

    fn decode_risk(&mut self, r: &mut Reader<'_>) -> Result<(), SnapshotError> {
        self.risk.charged_hour = r.u64()?;
        for asset in 0..self.assets.len() {
            let spec = match r.u8()? {
                0 => None,
                1 => Some(r.asset_risk()?),
                _ => return Err(SnapshotError::Inconsistent("risk tag")),
            };
            self.risk.set_spec(asset, spec);
            self.risk.prices[asset] = match r.u8()? {
                0 => None,
                1 => Some(PricePoint { price: IndexPrice(r.i64()?), updated: Timestamp(r.u64()?) }),
                _ => return Err(SnapshotError::Inconsistent("price tag")),
            };
            let pool = &mut self.risk.pools[asset];
            pool.lent = Amount(r.i64()?);
            pool.borrowed = Amount(r.i64()?);
            pool.fee_claim = Amount(r.i64()?);
            pool.dust_claim = Amount(r.i64()?);
            pool.lend_shares = r.i128()?;
            pool.borrow_shares = r.i128()?;
        }
        let count = r.u64()?;
        for _ in 0..count {
            let account = self
                .ledger
                .find(AccountId(r.u64()?))
                .ok_or(SnapshotError::Inconsistent("position of unknown account"))?;
            let asset = usize::from(r.u16()?);
            if asset >= self.assets.len() {
                return Err(SnapshotError::Inconsistent("position of unknown asset"));
            }
            self.ledger.account_mut(account).positions[asset] = match r.u8()? {
                0 => PoolPosition::Lend(r.i128()?),
                1 => PoolPosition::Borrow(r.i128()?),
                _ => return Err(SnapshotError::Inconsistent("position tag")),
            };
        }
        Ok(())
    }

    /// BLAKE3 of [`Engine::encode_snapshot`]: equal for two engines exactly when their whole
    /// state, sequence number included, is equal.
    pub fn state_hash(&self) -> [u8; 32] {
        *blake3::hash(&self.encode_snapshot()).as_bytes()
    }

    /// BLAKE3 of the state without the sequence number and clock. A refused command consumes
    /// a sequence number but must leave this unchanged.
    pub fn content_hash(&self) -> [u8; 32] {
        *blake3::hash(&self.encode_snapshot()[HEADER_LEN..]).as_bytes()
    }

    /// Rebuilds an engine from [`Engine::encode_snapshot`] output.
    pub fn decode_snapshot(bytes: &[u8]) -> Result<Engine, SnapshotError> {
        let mut r = Reader::new(bytes);
        let version = match &r.take::<8>()? {
            magic if magic == MAGIC => 4,
            magic if magic == MAGIC_V3 => 3,
            magic if magic == MAGIC_V2 => 2,
            magic if magic == MAGIC_V1 => 1,
            _ => return Err(SnapshotError::BadMagic),
        };
        let mut engine = Engine::new();
        engine.last_seq = Seq(r.u64()?);
        engine.time = Timestamp(r.u64()?);
        engine.next_order_id = r.u64()?;
        let asset_count = r.u32()?;
        for _ in 0..asset_count {
            let spec = r.asset_spec()?;
            if usize::from(spec.id.0) != engine.assets.len() {
                return Err(SnapshotError::Inconsistent("asset ids are not dense"));
            }
            engine.assets.push(spec);
            engine.ledger.add_asset();
            engine.risk.add_asset();
        }
        // Orders refer to accounts, which come later: hold them until the ledger is read.
        let mut orders: Vec<(AccountId, RestingOrder)> = Vec::new();
        let mut update_ids = Vec::new();
        let market_count = r.u32()?;
        for _ in 0..market_count {
            let spec = r.market_spec()?;
            let base =
                engine.assets.get(usize::from(spec.base.0)).ok_or(SnapshotError::Inconsistent("unknown asset"))?;
            let quote =
                engine.assets.get(usize::from(spec.quote.0)).ok_or(SnapshotError::Inconsistent("unknown asset"))?;
            let scale = spec.scale(base, quote).map_err(|_| SnapshotError::Inconsistent("invalid market"))?;
            if usize::from(spec.id.0) != engine.markets.len() {
                return Err(SnapshotError::Inconsistent("market ids are not dense"));
            }
            let mut book = Book::default();
            book.next_trade_id = r.u64()?;
            let update_id = r.u64()?;
            engine.markets.push(Market { spec, scale, book, perp: None, last_price: None });
            update_ids.push(update_id);
            for side in [Side::Bid, Side::Ask] {
                let _levels = r.u32()?;
                let count = r.u64()?;
                for _ in 0..count {
                    let (account, order) = decode_order(&mut r, spec.id, side, version)?;
                    orders.push((account, order));
                }
            }
        }
        let account_count = r.u32()?;
        for _ in 0..account_count {
            let id = AccountId(r.u64()?);
            let index = engine.ledger.find_or_open(id);
            for asset in 0..asset_count {
                let balance = Balance { available: Amount(r.i64()?), locked: Amount(r.i64()?) };
                *engine.ledger.balance_mut(index, AssetId(asset as u16)) = balance;
            }
            let mut flag = || -> Result<bool, SnapshotError> {
                match r.u8()? {
                    0 => Ok(false),
                    1 => Ok(true),
                    _ => Err(SnapshotError::Inconsistent("setting flag")),
                }
            };
            let (auto_borrow_settlements, auto_lend, auto_realize_pnl, auto_repay_borrows) =
                (flag()?, flag()?, flag()?, flag()?);
            engine.ledger.account_mut(index).settings = AccountSettings {
                auto_borrow_settlements,
                auto_lend,
                auto_realize_pnl,
                auto_repay_borrows,
                leverage_limit: r.u16()?,
            };
        }
        for asset in 0..asset_count as usize {
            engine.ledger.fees[asset] = Amount(r.i64()?);
            engine.ledger.dust[asset] = Amount(r.i64()?);
            engine.ledger.custody[asset] = Custody { deposited: r.i128()?, withdrawn: r.i128()? };
        }
        for seen in [&mut engine.ledger.deposits_seen, &mut engine.ledger.withdrawals_seen] {
            let count = r.u64()?;
            for _ in 0..count {
                seen.insert(TxId(r.take()?));
            }
        }
        let keys = r.u64()?;
        for _ in 0..keys {
            let key = ApiKey(r.take()?);
            let account = AccountId(r.u64()?);
            let permissions = Permissions::from_bits(r.u8()?).ok_or(SnapshotError::Inconsistent("permissions"))?;
            if engine.ledger.find(account).is_none() {
                return Err(SnapshotError::Inconsistent("API key of unknown account"));
            }
            engine.ledger.api_keys.insert(key, (account, permissions));
        }
        if version >= 2 {
            engine.decode_risk(&mut r)?;
        }
        let mut ranges = Vec::new();
        if version >= 3 {
            ranges = engine.decode_perps(&mut r)?;
            engine.decode_triggers(&mut r)?;
        }
        if version >= 4 {
            engine.decode_liquidation(&mut r)?;
        }
        // The risk engine's index is not encoded: the first sweep values every account.
        engine.liquidation.watch.everyone = true;
        r.finish()?;
        // Books in the order they were encoded (price-time priority); account lists by order
        // id, which is the order they had.
        let mut handles = Vec::with_capacity(orders.len());
        for (account, mut order) in orders {
            order.account =
                engine.ledger.find(account).ok_or(SnapshotError::Inconsistent("order of unknown account"))?;
            let market_index = usize::from(order.market.0);
            order.reserved_per_lot = engine
                .reservation(market_index, order.side, order.price, Lots(1))
                .map_err(|_| SnapshotError::Inconsistent("order price"))?;
            let id = order.id;
            let handle = engine.orders.insert(order);
            engine.markets[market_index].book.push(&mut engine.orders, handle);
            handles.push((id, handle));
        }
        // Rebuilding the books bumped their update ids; restore the journaled values.
        for (market, update_id) in engine.markets.iter_mut().zip(update_ids) {
            market.book.update_id = update_id;
        }
        handles.sort_unstable_by_key(|(id, _)| *id);
        for (_, handle) in handles {
            engine.remember_resting(handle);
        }
        // The open-order price ranges as they were kept (they may be wider than the orders).
        engine.restore_open_ranges(&ranges);
        Ok(engine)
    }
}

fn encode_order(out: &mut Writer, order: &RestingOrder, account: AccountId) {
    out.u64(order.id.0);
    out.u64(account.0);
    out.u8(codec::tif_tag(order.time_in_force));
    out.u8(codec::stp_tag(order.self_trade_prevention));
    match order.client_id {
        Some(id) => {
            out.u8(1);
            out.u32(id.0);
        }
        None => out.u8(0),
    }
    out.i64(order.price.0);
    out.i64(order.quantity.0);
    out.i64(order.remaining.0);
    out.i64(order.executed_quote.0);
    out.u64(order.created_at.0);
    out.u8(u8::from(order.reduce_only));
}

/// An order as [`encode_order`] wrote it; before the third format there is no reduce-only flag.
fn decode_order(
    r: &mut Reader<'_>,
    market: MarketId,
    side: Side,
    version: u8,
) -> Result<(AccountId, RestingOrder), SnapshotError> {
    let id = OrderId(r.u64()?);
    let account = AccountId(r.u64()?);
    let time_in_force = codec::tif_from(r.u8()?)?;
    let self_trade_prevention = codec::stp_from(r.u8()?)?;
    let client_id = match r.u8()? {
        0 => None,
        1 => Some(ClientId(r.u32()?)),
        _ => return Err(SnapshotError::Inconsistent("client id tag")),
    };
    let mut order = RestingOrder {
        id,
        account: 0,
        market,
        side,
        time_in_force,
        self_trade_prevention,
        client_id,
        price: Ticks(r.i64()?),
        quantity: Lots(r.i64()?),
        remaining: Lots(r.i64()?),
        executed_quote: Amount(r.i64()?),
        created_at: Timestamp(r.u64()?),
        reserved_per_lot: Amount::ZERO,
        counted: std::cell::Cell::new(false),
        reduce_only: false,
        level: 0,
        prev: NIL,
        next: NIL,
        account_prev: NIL,
        account_next: NIL,
    };
    if version >= 3 {
        order.reduce_only = match r.u8()? {
            0 => false,
            1 => true,
            _ => return Err(SnapshotError::Inconsistent("reduce-only flag")),
        };
    }
    if !order.remaining.is_positive() || order.remaining > order.quantity {
        return Err(SnapshotError::Inconsistent("order quantity"));
    }
    Ok((account, order))
}

#[cfg(test)]
mod tests {
    use rucksack_testkit::Stamp;
    use rucksack_testkit::fixtures;

    use super::*;

    /// Snapshots written before the risk state, before perpetuals and before liquidation existed
    /// restore as the same engine without them.
    #[test]
    fn earlier_format_snapshots_still_restore() {
        let mut engine = Engine::new();
        let mut stamp = Stamp::default();
        for command in fixtures::listings() {
            engine.apply(&stamp.next(command)).expect("listing");
        }
        engine.apply(&stamp.next(fixtures::deposit(1, fixtures::USDC, 5_000, 1))).expect("deposit");
        let current = engine.encode_snapshot();
        // The risk section of an engine without risk state: the charged hour, per asset two
        // absent tags, four amounts and two share totals, and an empty position list.
        let risk_section = 8 + engine.assets.len() * (1 + 1 + 4 * 8 + 2 * 16) + 8;
        // The perpetual and trigger sections of an engine without either: a spot tag per market
        // and an empty position list; no last price per market and an empty trigger list.
        let perp_section = 2 * (engine.markets.len() + 8);
        // The risk-engine section of an engine with the default parameters, an empty fund, no
        // one in liquidation, no backstop provider, no volatility tiers and calm assets.
        let liquidation_section = 6 * 8 + engine.assets.len() * 8 + 8 + 8 + 1 + engine.assets.len() * (16 + 8);
        let current = current[..current.len() - liquidation_section].to_vec();
        let third_format = {
            let mut bytes = current.clone();
            bytes[..8].copy_from_slice(MAGIC_V3);
            bytes
        };
        let restored = Engine::decode_snapshot(&third_format).expect("third format decodes");
        assert_eq!(restored.state_hash(), engine.state_hash());
        let second_format = {
            let mut bytes = current[..current.len() - perp_section].to_vec();
            bytes[..8].copy_from_slice(MAGIC_V2);
            bytes
        };
        let restored = Engine::decode_snapshot(&second_format).expect("second format decodes");
        assert_eq!(restored.state_hash(), engine.state_hash());
        let mut first_format = current[..current.len() - perp_section - risk_section].to_vec();
        first_format[..8].copy_from_slice(MAGIC_V1);
        let restored = Engine::decode_snapshot(&first_format).expect("first format decodes");
        assert_eq!(restored.state_hash(), engine.state_hash());
        assert!(matches!(Engine::decode_snapshot(b"RKSNAP99"), Err(SnapshotError::BadMagic)));
    }
}
