//! The binary encoding of commands in the journal, and the primitive reader and writer the
//! engine's snapshots use too.
//!
//! Little-endian, fixed width, a one-byte tag before each enum. The format is versioned by the
//! journal's segment header; a change here needs a new version there. Decoding never panics:
//! bad bytes are a [`CodecError`].

mod perp;
mod risk;
pub use risk::{borrow_lend_from, borrow_lend_tag};

use crate::command::{
    CancelScope, CancelTarget, Command, MarginFlags, MarketSize, NewOrder, OrderSpec, SettingsChange,
};
use crate::decimal::Decimal;
use crate::ids::{AccountId, ApiKey, AssetId, ClientId, MarketId, OrderId, Permissions, Timestamp, TxId};
use crate::money::{Amount, Lots, Ticks};
use crate::order::{SelfTradePrevention, Side, TimeInForce};
use crate::spec::{AssetSpec, MarketSpec};
use crate::symbol::Symbol;

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CodecError {
    #[error("record ends early")]
    Truncated,
    #[error("unknown {what} tag {tag}")]
    UnknownTag { what: &'static str, tag: u8 },
    #[error("invalid {0}")]
    Invalid(&'static str),
    #[error("{0} trailing bytes")]
    Trailing(usize),
}

/// Appends primitives to a reusable buffer.
#[derive(Default)]
pub struct Writer {
    pub bytes: Vec<u8>,
}

impl Writer {
    pub fn with_capacity(capacity: usize) -> Writer {
        Writer { bytes: Vec::with_capacity(capacity) }
    }
    pub fn u8(&mut self, v: u8) {
        self.bytes.push(v);
    }
    pub fn u16(&mut self, v: u16) {
        self.bytes.extend_from_slice(&v.to_le_bytes());
    }
    pub fn u32(&mut self, v: u32) {
        self.bytes.extend_from_slice(&v.to_le_bytes());
    }
    pub fn u64(&mut self, v: u64) {
        self.bytes.extend_from_slice(&v.to_le_bytes());
    }
    pub fn i32(&mut self, v: i32) {
        self.bytes.extend_from_slice(&v.to_le_bytes());
    }
    pub fn i64(&mut self, v: i64) {
        self.bytes.extend_from_slice(&v.to_le_bytes());
    }
    pub fn i128(&mut self, v: i128) {
        self.bytes.extend_from_slice(&v.to_le_bytes());
    }
    pub fn bytes(&mut self, v: &[u8]) {
        self.bytes.extend_from_slice(v);
    }
    pub fn symbol(&mut self, v: &Symbol) {
        let text = v.as_str().as_bytes();
        self.u8(text.len() as u8);
        self.bytes(text);
    }
    pub fn decimal(&mut self, v: Decimal) {
        self.i128(v.mantissa());
        self.u8(v.scale() as u8);
    }
    pub fn asset_spec(&mut self, asset: &AssetSpec) {
        self.u16(asset.id.0);
        self.symbol(&asset.symbol);
        self.u8(asset.decimals);
    }
    pub fn market_spec(&mut self, market: &MarketSpec) {
        self.u16(market.id.0);
        self.symbol(&market.symbol);
        self.u16(market.base.0);
        self.u16(market.quote.0);
        self.decimal(market.tick_size);
        self.decimal(market.step_size);
        self.i64(market.min_price.0);
        self.i64(market.max_price.0);
        self.i64(market.min_quantity.0);
        self.i64(market.max_quantity.0);
        self.i32(market.maker_fee_bps);
        self.i32(market.taker_fee_bps);
    }
}

/// Reads primitives from a byte slice.
pub struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    pub fn new(bytes: &'a [u8]) -> Reader<'a> {
        Reader { bytes }
    }
    pub fn remaining(&self) -> usize {
        self.bytes.len()
    }
    pub fn finish(&self) -> Result<(), CodecError> {
        match self.bytes.len() {
            0 => Ok(()),
            n => Err(CodecError::Trailing(n)),
        }
    }
    pub fn take<const N: usize>(&mut self) -> Result<[u8; N], CodecError> {
        let (head, tail) = self.bytes.split_first_chunk::<N>().ok_or(CodecError::Truncated)?;
        self.bytes = tail;
        Ok(*head)
    }
    pub fn slice(&mut self, len: usize) -> Result<&'a [u8], CodecError> {
        if self.bytes.len() < len {
            return Err(CodecError::Truncated);
        }
        let (head, tail) = self.bytes.split_at(len);
        self.bytes = tail;
        Ok(head)
    }
    pub fn u8(&mut self) -> Result<u8, CodecError> {
        Ok(self.take::<1>()?[0])
    }
    pub fn u16(&mut self) -> Result<u16, CodecError> {
        Ok(u16::from_le_bytes(self.take()?))
    }
    pub fn u32(&mut self) -> Result<u32, CodecError> {
        Ok(u32::from_le_bytes(self.take()?))
    }
    pub fn u64(&mut self) -> Result<u64, CodecError> {
        Ok(u64::from_le_bytes(self.take()?))
    }
    pub fn i32(&mut self) -> Result<i32, CodecError> {
        Ok(i32::from_le_bytes(self.take()?))
    }
    pub fn i64(&mut self) -> Result<i64, CodecError> {
        Ok(i64::from_le_bytes(self.take()?))
    }
    pub fn i128(&mut self) -> Result<i128, CodecError> {
        Ok(i128::from_le_bytes(self.take()?))
    }
    pub fn symbol(&mut self) -> Result<Symbol, CodecError> {
        let len = usize::from(self.u8()?);
        let text = std::str::from_utf8(self.slice(len)?).map_err(|_| CodecError::Invalid("symbol"))?;
        Symbol::new(text).map_err(|_| CodecError::Invalid("symbol"))
    }
    pub fn decimal(&mut self) -> Result<Decimal, CodecError> {
        let mantissa = self.i128()?;
        let scale = u32::from(self.u8()?);
        Decimal::new(mantissa, scale).map_err(|_| CodecError::Invalid("decimal"))
    }
    pub fn asset_spec(&mut self) -> Result<AssetSpec, CodecError> {
        Ok(AssetSpec { id: AssetId(self.u16()?), symbol: self.symbol()?, decimals: self.u8()? })
    }
    pub fn market_spec(&mut self) -> Result<MarketSpec, CodecError> {
        Ok(MarketSpec {
            id: MarketId(self.u16()?),
            symbol: self.symbol()?,
            base: AssetId(self.u16()?),
            quote: AssetId(self.u16()?),
            tick_size: self.decimal()?,
            step_size: self.decimal()?,
            min_price: Ticks(self.i64()?),
            max_price: Ticks(self.i64()?),
            min_quantity: Lots(self.i64()?),
            max_quantity: Lots(self.i64()?),
            maker_fee_bps: self.i32()?,
            taker_fee_bps: self.i32()?,
            kind: crate::perp::MarketKind::Spot,
        })
    }
}

/// Encodes a command and the time the sequencer stamped on it (the sequence number lives in the
/// journal frame).
pub fn encode_command(time: Timestamp, command: &Command, out: &mut Writer) {
    out.u64(time.0);
    match command {
        Command::ListAsset(asset) => {
            out.u8(0);
            out.asset_spec(asset);
        }
        // Spot markets keep their first encoding (1); perpetual markets add their spec (16).
        Command::ListMarket(market) => {
            out.u8(if market.kind.perp().is_some() { 16 } else { 1 });
            out.market_spec(market);
            if let Some(perp) = market.kind.perp() {
                out.perp_spec(perp);
            }
        }
        Command::Deposit { account, asset, amount, tx } => {
            out.u8(2);
            transfer(out, *account, *asset, *amount, *tx);
        }
        // Without margin flags, withdrawals and orders keep their first encodings (3 and 4).
        Command::Withdraw { account, asset, amount, tx, margin } => {
            out.u8(if *margin == MarginFlags::NONE { 3 } else { 15 });
            transfer(out, *account, *asset, *amount, *tx);
            if *margin != MarginFlags::NONE {
                out.u8(margin.to_byte());
            }
        }
        // Orders without flags keep their first encoding (4); flags follow in one byte (14):
        // the margin flags and, in bit 3, reduce-only.
        Command::PlaceOrder(order) => {
            let flags =
                order.margin.to_byte() | u8::from(order.reduce_only) << 3 | u8::from(order.trigger.is_some()) << 4;
            out.u8(if flags == 0 { 4 } else { 14 });
            new_order(out, order);
            if flags != 0 {
                out.u8(flags);
            }
            if let Some(trigger) = order.trigger {
                out.i64(trigger.price.0);
                out.u8(trigger_by_tag(trigger.by));
            }
        }
        Command::CancelOrder { account, market, target } => {
            out.u8(5);
            out.u64(account.0);
            out.u16(market.0);
            match target {
                CancelTarget::Order(id) => {
                    out.u8(0);
                    out.u64(id.0);
                }
                CancelTarget::Client(id) => {
                    out.u8(1);
                    out.u64(u64::from(id.0));
                }
            }
        }
        Command::PlaceOrderWithExits { order, take_profit, stop_loss } => {
            out.u8(20);
            let mut inner = Writer::with_capacity(96);
            encode_command(Timestamp(0), &Command::PlaceOrder(*order), &mut inner);
            out.u32(inner.bytes.len() as u32);
            out.bytes(&inner.bytes);
            for exit in [take_profit, stop_loss] {
                match exit {
                    None => out.u8(0),
                    Some(exit) => {
                        out.u8(1);
                        out.i64(exit.trigger.price.0);
                        out.u8(trigger_by_tag(exit.trigger.by));
                        match exit.limit {
                            None => out.u8(0),
                            Some(price) => {
                                out.u8(1);
                                out.i64(price.0);
                            }
                        }
                    }
                }
            }
        }
        // Cancelling everything keeps its first encoding (6); a scoped cancel adds its scope (19).
        Command::CancelAll { account, market, scope } => {
            out.u8(if *scope == CancelScope::All { 6 } else { 19 });
            out.u64(account.0);
            out.u16(market.0);
            match scope {
                CancelScope::All => {}
                CancelScope::Resting => out.u8(1),
                CancelScope::Triggers => out.u8(2),
            }
        }
        Command::CreateAccount { key, permissions } => {
            out.u8(7);
            out.bytes(&key.0);
            out.u8(permissions.bits());
        }
        Command::UpdateAccountSettings { account, change } => {
            out.u8(9);
            out.u64(account.0);
            for flag in
                [change.auto_borrow_settlements, change.auto_lend, change.auto_realize_pnl, change.auto_repay_borrows]
            {
                out.u8(match flag {
                    None => 0,
                    Some(false) => 1,
                    Some(true) => 2,
                });
            }
            match change.leverage_limit {
                Some(leverage) => {
                    out.u8(1);
                    out.u16(leverage);
                }
                None => out.u8(0),
            }
        }
        Command::AddApiKey { account, key, permissions } => {
            out.u8(8);
            out.u64(account.0);
            out.bytes(&key.0);
            out.u8(permissions.bits());
        }
        Command::SetAssetRisk(risk) => {
            out.u8(10);
            out.asset_risk(risk);
        }
        Command::SetIndexPrice { asset, price } => {
            out.u8(11);
            out.u16(asset.0);
            out.i64(price.0);
        }
        Command::BorrowLend { account, asset, action, amount } => {
            out.u8(12);
            out.u64(account.0);
            out.u16(asset.0);
            out.u8(borrow_lend_tag(*action));
            out.i64(amount.0);
        }
        Command::AccrueInterest => out.u8(13),
        Command::UpdateMarkPrices => out.u8(17),
        Command::RealizePnl => out.u8(18),
        Command::SetLiquidationSpec(spec) => {
            out.u8(22);
            for fraction in spec.fractions() {
                out.i64(fraction.0);
            }
        }
        Command::Liquidate => out.u8(23),
        Command::SetVolatilitySpec(spec) => {
            out.u8(26);
            match spec {
                None => out.u8(0),
                Some(spec) => {
                    out.u8(1);
                    out.u64(spec.window_micros);
                    out.u64(spec.ramp_micros);
                    for tier in spec.tiers {
                        out.i64(tier.threshold.0);
                        out.i64(tier.multiplier.0);
                    }
                }
            }
        }
        Command::FundInsurance { account, asset, amount } => {
            out.u8(25);
            out.u64(account.0);
            out.u16(asset.0);
            out.i64(amount.0);
        }
        Command::SetBackstopProvider { account, capacity } => {
            out.u8(24);
            out.u64(account.0);
            out.i64(capacity.0);
        }
    }
}

fn transfer(out: &mut Writer, account: AccountId, asset: AssetId, amount: Amount, tx: TxId) {
    out.u64(account.0);
    out.u16(asset.0);
    out.i64(amount.0);
    out.bytes(&tx.0);
}

fn new_order(out: &mut Writer, order: &NewOrder) {
    out.u64(order.account.0);
    out.u16(order.market.0);
    out.u8(side_tag(order.side));
    match order.client_id {
        Some(id) => {
            out.u8(1);
            out.u32(id.0);
        }
        None => out.u8(0),
    }
    out.u8(stp_tag(order.self_trade_prevention));
    match order.spec {
        OrderSpec::Limit { price, quantity, time_in_force } => {
            out.u8(0);
            out.i64(price.0);
            out.i64(quantity.0);
            out.u8(tif_tag(time_in_force));
        }
        OrderSpec::Market { size, time_in_force } => {
            match size {
                MarketSize::Base(lots) => {
                    out.u8(1);
                    out.i64(lots.0);
                }
                MarketSize::Quote(amount) => {
                    out.u8(2);
                    out.i64(amount.0);
                }
            }
            out.u8(tif_tag(time_in_force));
        }
    }
}

/// Decodes what [`encode_command`] wrote.
pub fn decode_command(bytes: &[u8]) -> Result<(Timestamp, Command), CodecError> {
    let mut r = Reader::new(bytes);
    let time = Timestamp(r.u64()?);
    let command = match r.u8()? {
        0 => Command::ListAsset(r.asset_spec()?),
        1 => Command::ListMarket(r.market_spec()?),
        16 => {
            let mut market = r.market_spec()?;
            market.kind = crate::perp::MarketKind::Perp(r.perp_spec()?);
            Command::ListMarket(market)
        }
        2 => {
            let (account, asset, amount, tx) = read_transfer(&mut r)?;
            Command::Deposit { account, asset, amount, tx }
        }
        tag @ (3 | 15) => {
            let (account, asset, amount, tx) = read_transfer(&mut r)?;
            let margin = if tag == 15 { read_margin(&mut r)? } else { MarginFlags::NONE };
            Command::Withdraw { account, asset, amount, tx, margin }
        }
        tag @ (4 | 14) => {
            let mut order = read_new_order(&mut r)?;
            if tag == 14 {
                let flags = r.u8()?;
                if flags == 0 || flags >= 32 {
                    return Err(CodecError::Invalid("order flags"));
                }
                order.margin = MarginFlags::from_byte(flags & 7).ok_or(CodecError::Invalid("order flags"))?;
                order.reduce_only = flags & 8 != 0;
                if flags & 16 != 0 {
                    order.trigger =
                        Some(crate::order::Trigger { price: Ticks(r.i64()?), by: trigger_by_from(r.u8()?)? });
                }
            }
            Command::PlaceOrder(order)
        }
        5 => {
            let account = AccountId(r.u64()?);
            let market = MarketId(r.u16()?);
            let target = match r.u8()? {
                0 => CancelTarget::Order(OrderId(r.u64()?)),
                1 => CancelTarget::Client(ClientId(
                    u32::try_from(r.u64()?).map_err(|_| CodecError::Invalid("client id"))?,
                )),
                tag => {
                    return Err(CodecError::UnknownTag { what: "cancel target", tag });
                }
            };
            Command::CancelOrder { account, market, target }
        }
        20 => {
            let len = r.u32()? as usize;
            let (_, inner) = decode_command(r.slice(len)?)?;
            let Command::PlaceOrder(order) = inner else { return Err(CodecError::Invalid("order with exits")) };
            let mut exit = || -> Result<Option<crate::order::Exit>, CodecError> {
                Ok(match r.u8()? {
                    0 => None,
                    1 => Some(crate::order::Exit {
                        trigger: crate::order::Trigger { price: Ticks(r.i64()?), by: trigger_by_from(r.u8()?)? },
                        limit: match r.u8()? {
                            0 => None,
                            1 => Some(Ticks(r.i64()?)),
                            tag => return Err(CodecError::UnknownTag { what: "exit limit", tag }),
                        },
                    }),
                    tag => return Err(CodecError::UnknownTag { what: "exit", tag }),
                })
            };
            let (take_profit, stop_loss) = (exit()?, exit()?);
            Command::PlaceOrderWithExits { order, take_profit, stop_loss }
        }
        tag @ (6 | 19) => {
            let (account, market) = (AccountId(r.u64()?), MarketId(r.u16()?));
            let scope = match (tag, if tag == 19 { r.u8()? } else { 0 }) {
                (6, _) => CancelScope::All,
                (_, 1) => CancelScope::Resting,
                (_, 2) => CancelScope::Triggers,
                (_, tag) => return Err(CodecError::UnknownTag { what: "cancel scope", tag }),
            };
            Command::CancelAll { account, market, scope }
        }
        7 => Command::CreateAccount {
            key: ApiKey(r.take()?),
            permissions: Permissions::from_bits(r.u8()?).ok_or(CodecError::Invalid("permissions"))?,
        },
        9 => {
            let account = AccountId(r.u64()?);
            let mut flag = || -> Result<Option<bool>, CodecError> {
                match r.u8()? {
                    0 => Ok(None),
                    1 => Ok(Some(false)),
                    2 => Ok(Some(true)),
                    tag => Err(CodecError::UnknownTag { what: "setting", tag }),
                }
            };
            let (auto_borrow_settlements, auto_lend, auto_realize_pnl, auto_repay_borrows) =
                (flag()?, flag()?, flag()?, flag()?);
            let leverage_limit = match r.u8()? {
                0 => None,
                1 => Some(r.u16()?),
                tag => return Err(CodecError::UnknownTag { what: "leverage", tag }),
            };
            Command::UpdateAccountSettings {
                account,
                change: SettingsChange {
                    auto_borrow_settlements,
                    auto_lend,
                    auto_realize_pnl,
                    auto_repay_borrows,
                    leverage_limit,
                },
            }
        }
        8 => Command::AddApiKey {
            account: AccountId(r.u64()?),
            key: ApiKey(r.take()?),
            permissions: Permissions::from_bits(r.u8()?).ok_or(CodecError::Invalid("permissions"))?,
        },
        10 => Command::SetAssetRisk(r.asset_risk()?),
        11 => Command::SetIndexPrice { asset: AssetId(r.u16()?), price: crate::risk::IndexPrice(r.i64()?) },
        12 => Command::BorrowLend {
            account: AccountId(r.u64()?),
            asset: AssetId(r.u16()?),
            action: borrow_lend_from(r.u8()?)?,
            amount: Amount(r.i64()?),
        },
        13 => Command::AccrueInterest,
        17 => Command::UpdateMarkPrices,
        18 => Command::RealizePnl,
        22 => {
            let mut fractions = [crate::risk::Fraction::ZERO; 6];
            for fraction in &mut fractions {
                *fraction = crate::risk::Fraction(r.i64()?);
            }
            Command::SetLiquidationSpec(crate::liquidation::LiquidationSpec::from_fractions(fractions))
        }
        23 => Command::Liquidate,
        26 => Command::SetVolatilitySpec(match r.u8()? {
            0 => None,
            1 => {
                let (window_micros, ramp_micros) = (r.u64()?, r.u64()?);
                let mut tiers = [crate::volatility::VolatilityTier::default(); crate::volatility::TIERS];
                for tier in &mut tiers {
                    tier.threshold = crate::risk::Fraction(r.i64()?);
                    tier.multiplier = crate::risk::Fraction(r.i64()?);
                }
                Some(crate::volatility::VolatilitySpec { window_micros, ramp_micros, tiers })
            }
            tag => return Err(CodecError::UnknownTag { what: "volatility spec", tag }),
        }),
        25 => {
            Command::FundInsurance { account: AccountId(r.u64()?), asset: AssetId(r.u16()?), amount: Amount(r.i64()?) }
        }
        24 => Command::SetBackstopProvider { account: AccountId(r.u64()?), capacity: Amount(r.i64()?) },
        tag => return Err(CodecError::UnknownTag { what: "command", tag }),
    };
    r.finish()?;
    Ok((time, command))
}

fn read_margin(r: &mut Reader<'_>) -> Result<MarginFlags, CodecError> {
    MarginFlags::from_byte(r.u8()?).filter(|m| *m != MarginFlags::NONE).ok_or(CodecError::Invalid("margin flags"))
}

fn read_transfer(r: &mut Reader<'_>) -> Result<(AccountId, AssetId, Amount, TxId), CodecError> {
    Ok((AccountId(r.u64()?), AssetId(r.u16()?), Amount(r.i64()?), TxId(r.take()?)))
}

fn read_new_order(r: &mut Reader<'_>) -> Result<NewOrder, CodecError> {
    let account = AccountId(r.u64()?);
    let market = MarketId(r.u16()?);
    let side = side_from(r.u8()?)?;
    let client_id = match r.u8()? {
        0 => None,
        1 => Some(ClientId(r.u32()?)),
        tag => return Err(CodecError::UnknownTag { what: "client id", tag }),
    };
    let self_trade_prevention = stp_from(r.u8()?)?;
    let spec = match r.u8()? {
        0 => OrderSpec::Limit { price: Ticks(r.i64()?), quantity: Lots(r.i64()?), time_in_force: tif_from(r.u8()?)? },
        1 => OrderSpec::Market { size: MarketSize::Base(Lots(r.i64()?)), time_in_force: tif_from(r.u8()?)? },
        2 => OrderSpec::Market { size: MarketSize::Quote(Amount(r.i64()?)), time_in_force: tif_from(r.u8()?)? },
        tag => {
            return Err(CodecError::UnknownTag { what: "order spec", tag });
        }
    };
    Ok(NewOrder {
        account,
        market,
        side,
        client_id,
        self_trade_prevention,
        spec,
        margin: MarginFlags::NONE,
        reduce_only: false,
        trigger: None,
    })
}

pub fn trigger_by_tag(by: crate::order::TriggerBy) -> u8 {
    match by {
        crate::order::TriggerBy::LastPrice => 0,
        crate::order::TriggerBy::MarkPrice => 1,
        crate::order::TriggerBy::IndexPrice => 2,
    }
}

pub fn trigger_by_from(tag: u8) -> Result<crate::order::TriggerBy, CodecError> {
    match tag {
        0 => Ok(crate::order::TriggerBy::LastPrice),
        1 => Ok(crate::order::TriggerBy::MarkPrice),
        2 => Ok(crate::order::TriggerBy::IndexPrice),
        tag => Err(CodecError::UnknownTag { what: "trigger by", tag }),
    }
}

pub fn side_tag(side: Side) -> u8 {
    match side {
        Side::Bid => 0,
        Side::Ask => 1,
    }
}

pub fn side_from(tag: u8) -> Result<Side, CodecError> {
    match tag {
        0 => Ok(Side::Bid),
        1 => Ok(Side::Ask),
        tag => Err(CodecError::UnknownTag { what: "side", tag }),
    }
}

pub fn stp_tag(stp: SelfTradePrevention) -> u8 {
    match stp {
        SelfTradePrevention::RejectTaker => 0,
        SelfTradePrevention::RejectMaker => 1,
        SelfTradePrevention::RejectBoth => 2,
    }
}

pub fn stp_from(tag: u8) -> Result<SelfTradePrevention, CodecError> {
    match tag {
        0 => Ok(SelfTradePrevention::RejectTaker),
        1 => Ok(SelfTradePrevention::RejectMaker),
        2 => Ok(SelfTradePrevention::RejectBoth),
        tag => Err(CodecError::UnknownTag { what: "self-trade prevention", tag }),
    }
}

pub fn tif_tag(tif: TimeInForce) -> u8 {
    match tif {
        TimeInForce::Gtc => 0,
        TimeInForce::PostOnly => 1,
        TimeInForce::Ioc => 2,
        TimeInForce::Fok => 3,
    }
}

pub fn tif_from(tag: u8) -> Result<TimeInForce, CodecError> {
    match tag {
        0 => Ok(TimeInForce::Gtc),
        1 => Ok(TimeInForce::PostOnly),
        2 => Ok(TimeInForce::Ioc),
        3 => Ok(TimeInForce::Fok),
        tag => Err(CodecError::UnknownTag { what: "time in force", tag }),
    }
}

#[cfg(test)]
mod tests;
