//! The state machine's operations: what a random step can do, and the command it becomes.

use proptest::prelude::*;
use rucksack_engine::Engine;
use rucksack_testkit::fixtures::{self, USDC};
use rucksack_types::{
    AccountId, Amount, ApiKey, AssetId, BorrowLendAction, CancelTarget, ClientId, Command, IndexPrice, Lots,
    MarginFlags, MarketId, MarketSize, NewOrder, OrderId, OrderSpec, Permissions, SelfTradePrevention, Side, Ticks,
    TimeInForce,
};

pub(super) const ACCOUNTS: u64 = 4;
/// Markets 0 and 1 are spot, 2 and 3 the perpetuals on the same assets.
const MARKETS: u16 = 4;
const MIDS: [i64; 4] = [14_300, 950_000, 14_300, 950_000];

#[derive(Clone, Debug)]
pub(super) enum Op {
    Deposit {
        account: u64,
        asset: u16,
        amount: i64,
        tx: u64,
    },
    Withdraw {
        account: u64,
        asset: u16,
        amount: i64,
        tx: u64,
        margin: u8,
    },
    Limit {
        account: u64,
        market: u16,
        side: bool,
        offset: i64,
        lots: i64,
        tif: u8,
        stp: u8,
        client: Option<u32>,
        margin: u8,
        reduce: bool,
    },
    Market {
        account: u64,
        market: u16,
        side: bool,
        by_quote: bool,
        size: i64,
        fok: bool,
        stp: u8,
        margin: u8,
        reduce: bool,
    },
    CancelId {
        account: u64,
        market: u16,
        order: u64,
    },
    CancelClient {
        account: u64,
        market: u16,
        client: u32,
    },
    CancelAll {
        account: u64,
        market: u16,
    },
    CreateAccount {
        key: u8,
    },
    Settings {
        account: u64,
        lend: bool,
        repay: bool,
        leverage: u16,
    },
    Pool {
        account: u64,
        asset: u16,
        action: u8,
        amount: i64,
    },
    Price {
        asset: u16,
        percent: i64,
    },
    Tick {
        minutes: u64,
    },
    MarkClock {
        seconds: u64,
    },
    Realize,
    TriggerOrder {
        account: u64,
        market: u16,
        side: bool,
        offset: i64,
        lots: i64,
        by: u8,
        limit: bool,
    },
    WithExits {
        account: u64,
        market: u16,
        side: bool,
        offset: i64,
        lots: i64,
        exit_offset: i64,
        by: u8,
    },
    /// A gap in one index update: the price halves or doubles (the most one update may move it).
    Shock {
        asset: u16,
        up: bool,
    },
    /// A resting order on a perpetual market some tenths of a percent from its mark.
    Quote {
        account: u64,
        market: u16,
        side: bool,
        permille: i64,
        lots: i64,
    },
    /// A small move from the price it has now, in tenths of a percent.
    Nudge {
        asset: u16,
        permille: i64,
    },
    Liquidate,
    /// Volatility tiers on (1.5x from 1% hourly volatility, 3x from 5%; a unit a minute) or off.
    Volatility {
        on: bool,
    },
    Backstop {
        account: u64,
        capacity: i64,
    },
    FundInsurance {
        account: u64,
        amount: i64,
    },
}

pub(super) fn op() -> impl Strategy<Value = Op> {
    let account = 1..=ACCOUNTS;
    prop_oneof![
        2 => (account.clone(), 0u16..3, 1i64..5_000_000_000, 0u64..40)
            .prop_map(|(account, asset, amount, tx)| Op::Deposit { account, asset, amount, tx }),
        1 => (account.clone(), 0u16..3, 1i64..5_000_000_000, 0u64..40, margin_flags())
            .prop_map(|(account, asset, amount, tx, margin)| Op::Withdraw { account, asset, amount, tx, margin }),
        10 => (account.clone(), 0u16..MARKETS, any::<bool>(), -12i64..12, 1i64..400, 0u8..4, 0u8..3, proptest::option::of(0u32..6), margin_flags(), reduce_only())
            .prop_map(|(account, market, side, offset, lots, tif, stp, client, margin, reduce)| Op::Limit { account, market, side, offset, lots, tif, stp, client, margin, reduce }),
        4 => (account.clone(), 0u16..MARKETS, any::<bool>(), any::<bool>(), 1i64..3_000_000, any::<bool>(), 0u8..3, margin_flags(), reduce_only())
            .prop_map(|(account, market, side, by_quote, size, fok, stp, margin, reduce)| Op::Market { account, market, side, by_quote, size, fok, stp, margin, reduce }),
        3 => (account.clone(), 0u16..MARKETS, 0u64..60).prop_map(|(account, market, order)| Op::CancelId { account, market, order }),
        2 => (account.clone(), 0u16..MARKETS, 0u32..6).prop_map(|(account, market, client)| Op::CancelClient { account, market, client }),
        1 => (account, 0u16..MARKETS).prop_map(|(account, market)| Op::CancelAll { account, market }),
        1 => (0u8..4).prop_map(|key| Op::CreateAccount { key }),
        1 => (1..=ACCOUNTS + 1, any::<bool>(), any::<bool>(), 0u16..120).prop_map(|(account, lend, repay, leverage)| Op::Settings { account, lend, repay, leverage }),
        8 => (1..=ACCOUNTS, 0u16..3, 0u8..4, 1i64..20_000_000_000)
            .prop_map(|(account, asset, action, amount)| Op::Pool { account, asset, action, amount }),
        2 => (0u16..3, -60i64..120).prop_map(|(asset, percent)| Op::Price { asset, percent }),
        2 => (1u64..200).prop_map(|minutes| Op::Tick { minutes }),
        3 => prop_oneof![6 => 1u64..30, 1 => 3_000u64..4_000].prop_map(|seconds| Op::MarkClock { seconds }),
        2 => Just(Op::Realize),
        3 => (1..=ACCOUNTS, 0u16..MARKETS, any::<bool>(), -30i64..30, 1i64..300, 0u8..3, any::<bool>())
            .prop_map(|(account, market, side, offset, lots, by, limit)| Op::TriggerOrder { account, market, side, offset, lots, by, limit }),
        2 => (1..=ACCOUNTS, 0u16..MARKETS, any::<bool>(), -12i64..12, 1i64..300, 1i64..40, 0u8..3)
            .prop_map(|(account, market, side, offset, lots, exit_offset, by)| Op::WithExits { account, market, side, offset, lots, exit_offset, by }),
        1 => (0u16..3, any::<bool>()).prop_map(|(asset, up)| Op::Shock { asset, up }),
        4 => Just(Op::Liquidate),
        1 => (1..=ACCOUNTS, 0i64..5_000_000_000).prop_map(|(account, capacity)| Op::Backstop { account, capacity }),
        1 => (1..=ACCOUNTS, 1i64..500_000_000).prop_map(|(account, amount)| Op::FundInsurance { account, amount }),
    ]
}

fn trigger_by(tag: u8) -> rucksack_types::TriggerBy {
    use rucksack_types::TriggerBy;
    [TriggerBy::LastPrice, TriggerBy::MarkPrice, TriggerBy::IndexPrice][usize::from(tag % 3)]
}

/// Reduce-only one order in four (refused on spot markets).
fn reduce_only() -> impl Strategy<Value = bool> {
    prop_oneof![3 => Just(false), 1 => Just(true)]
}

/// Spot-margin flags: none half the time, else any combination.
fn margin_flags() -> impl Strategy<Value = u8> {
    prop_oneof![1 => Just(0u8), 1 => 1u8..8]
}

fn margin(bits: u8) -> MarginFlags {
    MarginFlags::from_byte(bits).unwrap_or_default()
}

fn stp(tag: u8) -> SelfTradePrevention {
    [SelfTradePrevention::RejectTaker, SelfTradePrevention::RejectMaker, SelfTradePrevention::RejectBoth]
        [usize::from(tag % 3)]
}

fn side(bid: bool) -> Side {
    if bid { Side::Bid } else { Side::Ask }
}

/// The command an op stands for in `engine`'s state (a shock moves the price it has now).
/// A plain good-till-cancelled limit order, no margin, no trigger.
pub(super) fn resting_limit(account: AccountId, market: MarketId, side: Side, lots: Lots, price: Ticks) -> NewOrder {
    NewOrder {
        account,
        market,
        side,
        client_id: None,
        self_trade_prevention: SelfTradePrevention::RejectTaker,
        spec: OrderSpec::Limit { price, quantity: lots, time_in_force: TimeInForce::Gtc },
        margin: MarginFlags::NONE,
        reduce_only: false,
        trigger: None,
    }
}

pub(super) fn command_at(engine: &Engine, op: &Op) -> Command {
    if let Op::Shock { asset, up } = *op {
        let now = engine.risk_state().prices[usize::from(asset)].map_or(1_000_000_000_000, |p| p.price.0);
        let price = if up { now.saturating_mul(2) } else { (now / 2).max(1) };
        return Command::SetIndexPrice { asset: AssetId(asset), price: IndexPrice(price) };
    }
    if let Op::Nudge { asset, permille } = *op {
        let now = engine.risk_state().prices[usize::from(asset)].map_or(1_000_000_000_000, |p| p.price.0);
        let price = (now / 1_000).saturating_mul(1_000 + permille).max(1);
        return Command::SetIndexPrice { asset: AssetId(asset), price: IndexPrice(price) };
    }
    if let Op::Quote { account, market, side: bid, permille, lots } = *op {
        let market = MarketId(2 + market % 2);
        let mark =
            engine.perp_market(market).and_then(|p| p.mark).map_or(0, |m| m.0 / rucksack_types::perp::FINE_PER_TICK);
        let price = (mark as i64 / 1_000).saturating_mul(1_000 + permille).max(1);
        return Command::PlaceOrder(resting_limit(AccountId(account), market, side(bid), Lots(lots), Ticks(price)));
    }
    command(op)
}

fn command(op: &Op) -> Command {
    match *op {
        Op::Deposit { account, asset, amount, tx } => Command::Deposit {
            account: AccountId(account),
            asset: AssetId(asset),
            amount: Amount(amount),
            tx: fixtures::tx(tx),
        },
        Op::Withdraw { account, asset, amount, tx, margin: bits } => Command::Withdraw {
            account: AccountId(account),
            asset: AssetId(asset),
            amount: Amount(amount),
            tx: fixtures::tx(tx),
            margin: margin(bits),
        },
        Op::Limit { account, market, side: bid, offset, lots, tif, stp: s, client, margin: bits, reduce } => {
            let time_in_force =
                [TimeInForce::Gtc, TimeInForce::PostOnly, TimeInForce::Ioc, TimeInForce::Fok][usize::from(tif)];
            let scale = if market % 2 == 0 { 1 } else { 100 };
            Command::PlaceOrder(NewOrder {
                account: AccountId(account),
                market: MarketId(market),
                side: side(bid),
                client_id: client.map(ClientId),
                self_trade_prevention: stp(s),
                margin: margin(bits),
                reduce_only: reduce,
                trigger: None,
                spec: OrderSpec::Limit {
                    price: Ticks(MIDS[usize::from(market)] + offset),
                    quantity: Lots(lots * scale),
                    time_in_force,
                },
            })
        }
        Op::Market { account, market, side: bid, by_quote, size, fok, stp: s, margin: bits, reduce } => {
            let size =
                if by_quote { MarketSize::Quote(Amount(size * 100)) } else { MarketSize::Base(Lots(size / 1_000 + 1)) };
            let time_in_force = if fok { TimeInForce::Fok } else { TimeInForce::Ioc };
            Command::PlaceOrder(NewOrder {
                account: AccountId(account),
                market: MarketId(market),
                side: side(bid),
                client_id: None,
                self_trade_prevention: stp(s),
                margin: margin(bits),
                reduce_only: reduce,
                trigger: None,
                spec: OrderSpec::Market { size, time_in_force },
            })
        }
        Op::CancelId { account, market, order } => Command::CancelOrder {
            account: AccountId(account),
            market: MarketId(market),
            target: CancelTarget::Order(OrderId(order)),
        },
        Op::CancelClient { account, market, client } => Command::CancelOrder {
            account: AccountId(account),
            market: MarketId(market),
            target: CancelTarget::Client(ClientId(client)),
        },
        Op::Settings { account, lend, repay, leverage } => Command::UpdateAccountSettings {
            account: AccountId(account),
            change: rucksack_types::SettingsChange {
                auto_lend: Some(lend),
                auto_repay_borrows: Some(repay),
                auto_borrow_settlements: Some(lend != repay),
                leverage_limit: Some(leverage),
                ..Default::default()
            },
        },
        Op::CreateAccount { key } => Command::CreateAccount { key: ApiKey([key; 32]), permissions: Permissions::ALL },
        Op::CancelAll { account, market } => Command::CancelAll {
            account: AccountId(account),
            market: MarketId(market),
            scope: rucksack_types::CancelScope::All,
        },
        Op::Pool { account, asset, action, amount } => Command::BorrowLend {
            account: AccountId(account),
            asset: AssetId(asset),
            action: [
                BorrowLendAction::Lend,
                BorrowLendAction::Redeem,
                BorrowLendAction::Borrow,
                BorrowLendAction::Repay,
            ][usize::from(action)],
            amount: Amount(amount / [1, 1_000, 100][usize::from(asset)]),
        },
        Op::Price { asset, percent } => {
            let start = [143, 1, 95_000][usize::from(asset)] * 1_000_000_000_000i64;
            Command::SetIndexPrice { asset: AssetId(asset), price: IndexPrice(start / 100 * (100 + percent)) }
        }
        Op::Quote { .. } | Op::Shock { .. } | Op::Nudge { .. } => {
            unreachable!("priced from the engine's state: see command_at")
        }
        Op::Liquidate => Command::Liquidate,
        Op::Volatility { on } => Command::SetVolatilitySpec(on.then(|| {
            use rucksack_types::volatility::{VolatilitySpec, VolatilityTier};
            let tier = |percent: i64, tenths: i64| VolatilityTier {
                threshold: rucksack_types::Fraction(percent * rucksack_types::Fraction::ONE.0 / 100),
                multiplier: rucksack_types::Fraction(tenths * rucksack_types::Fraction::ONE.0 / 10),
            };
            VolatilitySpec {
                window_micros: 60_000_000,
                ramp_micros: 60_000_000,
                tiers: [tier(1, 15), tier(5, 30), VolatilityTier::default(), VolatilityTier::default()],
            }
        })),
        Op::Backstop { account, capacity } => {
            Command::SetBackstopProvider { account: AccountId(account), capacity: Amount(capacity) }
        }
        Op::FundInsurance { account, amount } => {
            Command::FundInsurance { account: AccountId(account), asset: USDC, amount: Amount(amount) }
        }
        Op::Tick { .. } => Command::AccrueInterest,
        Op::MarkClock { .. } => Command::UpdateMarkPrices,
        Op::Realize => Command::RealizePnl,
        Op::WithExits { account, market, side: bid, offset, lots, exit_offset, by } => {
            let Command::PlaceOrder(order) = command(&Op::Limit {
                account,
                market,
                side: bid,
                offset,
                lots,
                tif: 0,
                stp: 0,
                client: None,
                margin: 0,
                reduce: false,
            }) else {
                unreachable!("a limit order")
            };
            let by = trigger_by(by);
            let mid = MIDS[usize::from(market)];
            // A take-profit beyond the order's price and a stop-loss before it.
            let (profit, loss) =
                if bid { (mid + exit_offset, mid - exit_offset) } else { (mid - exit_offset, mid + exit_offset) };
            let exit = |price| rucksack_types::Exit {
                trigger: rucksack_types::Trigger { price: Ticks(price), by },
                limit: None,
            };
            Command::PlaceOrderWithExits { order, take_profit: Some(exit(profit)), stop_loss: Some(exit(loss)) }
        }
        Op::TriggerOrder { account, market, side: bid, offset, lots, by, limit } => {
            let scale = if market % 2 == 0 { 1 } else { 100 };
            let price = Ticks(MIDS[usize::from(market)] + offset);
            let quantity = Lots(lots * scale);
            let spec = if limit {
                OrderSpec::Limit { price, quantity, time_in_force: TimeInForce::Gtc }
            } else {
                OrderSpec::Market { size: MarketSize::Base(quantity), time_in_force: TimeInForce::Ioc }
            };
            let by = trigger_by(by);
            Command::PlaceOrder(NewOrder {
                account: AccountId(account),
                market: MarketId(market),
                side: side(bid),
                client_id: None,
                self_trade_prevention: SelfTradePrevention::RejectTaker,
                spec,
                margin: MarginFlags::NONE,
                reduce_only: false,
                trigger: Some(rucksack_types::Trigger { price, by }),
            })
        }
    }
}

/// How far the clock moves before an op.
pub(super) fn elapsed_micros(op: &Op) -> u64 {
    match op {
        Op::Tick { minutes } => minutes * 60_000_000,
        Op::MarkClock { seconds } => seconds * 1_000_000,
        _ => 0,
    }
}

/// Whether an op is a user's action, as opposed to prices, time and settlement.
pub(super) fn is_user_action(op: &Op) -> bool {
    !matches!(
        op,
        Op::Price { .. }
            | Op::Shock { .. }
            | Op::Nudge { .. }
            | Op::Volatility { .. }
            | Op::Tick { .. }
            | Op::MarkClock { .. }
            | Op::Realize
            | Op::Liquidate
    )
}
