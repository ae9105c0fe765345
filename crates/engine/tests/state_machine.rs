//! The invariant state machine: random sequences of every command across several accounts and
//! markets. After every command all invariants hold; a refused command leaves the state
//! (everything but the sequence number) unchanged; a snapshot taken at any point restores to
//! the same state hash and continues identically.

use proptest::prelude::*;
use rucksack_engine::Engine;
use rucksack_testkit::Stamp;
use rucksack_testkit::fixtures::{self, BTC, BTC_USDC, SOL, SOL_USDC, USDC};
use rucksack_types::{
    AccountId, Amount, ApiKey, AssetId, CancelTarget, ClientId, Command, Lots, MarketId, MarketSize, NewOrder, OrderId,
    OrderSpec, Permissions, SelfTradePrevention, Side, Ticks, TimeInForce,
};

const ACCOUNTS: u64 = 4;
const MIDS: [i64; 2] = [14_300, 950_000];

#[derive(Clone, Debug)]
enum Op {
    Deposit { account: u64, asset: u16, amount: i64, tx: u64 },
    Withdraw { account: u64, asset: u16, amount: i64, tx: u64 },
    Limit { account: u64, market: u16, side: bool, offset: i64, lots: i64, tif: u8, stp: u8, client: Option<u32> },
    Market { account: u64, market: u16, side: bool, by_quote: bool, size: i64, fok: bool, stp: u8 },
    CancelId { account: u64, market: u16, order: u64 },
    CancelClient { account: u64, market: u16, client: u32 },
    CancelAll { account: u64, market: u16 },
    CreateAccount { key: u8 },
    Settings { account: u64, lend: bool, leverage: u16 },
}

fn op() -> impl Strategy<Value = Op> {
    let account = 1..=ACCOUNTS;
    prop_oneof![
        2 => (account.clone(), 0u16..3, 1i64..5_000_000_000, 0u64..40)
            .prop_map(|(account, asset, amount, tx)| Op::Deposit { account, asset, amount, tx }),
        1 => (account.clone(), 0u16..3, 1i64..5_000_000_000, 0u64..40)
            .prop_map(|(account, asset, amount, tx)| Op::Withdraw { account, asset, amount, tx }),
        8 => (account.clone(), 0u16..2, any::<bool>(), -12i64..12, 1i64..400, 0u8..4, 0u8..3, proptest::option::of(0u32..6))
            .prop_map(|(account, market, side, offset, lots, tif, stp, client)| Op::Limit { account, market, side, offset, lots, tif, stp, client }),
        3 => (account.clone(), 0u16..2, any::<bool>(), any::<bool>(), 1i64..3_000_000, any::<bool>(), 0u8..3)
            .prop_map(|(account, market, side, by_quote, size, fok, stp)| Op::Market { account, market, side, by_quote, size, fok, stp }),
        3 => (account.clone(), 0u16..2, 0u64..60).prop_map(|(account, market, order)| Op::CancelId { account, market, order }),
        2 => (account.clone(), 0u16..2, 0u32..6).prop_map(|(account, market, client)| Op::CancelClient { account, market, client }),
        1 => (account, 0u16..2).prop_map(|(account, market)| Op::CancelAll { account, market }),
        1 => (0u8..4).prop_map(|key| Op::CreateAccount { key }),
        1 => (1..=ACCOUNTS + 1, any::<bool>(), 0u16..120).prop_map(|(account, lend, leverage)| Op::Settings { account, lend, leverage }),
    ]
}

fn stp(tag: u8) -> SelfTradePrevention {
    [SelfTradePrevention::RejectTaker, SelfTradePrevention::RejectMaker, SelfTradePrevention::RejectBoth]
        [usize::from(tag % 3)]
}

fn side(bid: bool) -> Side {
    if bid { Side::Bid } else { Side::Ask }
}

fn command(op: &Op) -> Command {
    match *op {
        Op::Deposit { account, asset, amount, tx } => Command::Deposit {
            account: AccountId(account),
            asset: AssetId(asset),
            amount: Amount(amount),
            tx: fixtures::tx(tx),
        },
        Op::Withdraw { account, asset, amount, tx } => Command::Withdraw {
            account: AccountId(account),
            asset: AssetId(asset),
            amount: Amount(amount),
            tx: fixtures::tx(tx),
        },
        Op::Limit { account, market, side: bid, offset, lots, tif, stp: s, client } => {
            let time_in_force =
                [TimeInForce::Gtc, TimeInForce::PostOnly, TimeInForce::Ioc, TimeInForce::Fok][usize::from(tif)];
            let scale = if market == 0 { 1 } else { 100 };
            Command::PlaceOrder(NewOrder {
                account: AccountId(account),
                market: MarketId(market),
                side: side(bid),
                client_id: client.map(ClientId),
                self_trade_prevention: stp(s),
                spec: OrderSpec::Limit {
                    price: Ticks(MIDS[usize::from(market)] + offset),
                    quantity: Lots(lots * scale),
                    time_in_force,
                },
            })
        }
        Op::Market { account, market, side: bid, by_quote, size, fok, stp: s } => {
            let size =
                if by_quote { MarketSize::Quote(Amount(size * 100)) } else { MarketSize::Base(Lots(size / 1_000 + 1)) };
            let time_in_force = if fok { TimeInForce::Fok } else { TimeInForce::Ioc };
            Command::PlaceOrder(NewOrder {
                account: AccountId(account),
                market: MarketId(market),
                side: side(bid),
                client_id: None,
                self_trade_prevention: stp(s),
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
        Op::Settings { account, lend, leverage } => Command::UpdateAccountSettings {
            account: AccountId(account),
            change: rucksack_types::SettingsChange {
                auto_lend: Some(lend),
                leverage_limit: Some(leverage),
                ..Default::default()
            },
        },
        Op::CreateAccount { key } => Command::CreateAccount { key: ApiKey([key; 32]), permissions: Permissions::ALL },
        Op::CancelAll { account, market } => {
            Command::CancelAll { account: AccountId(account), market: MarketId(market) }
        }
    }
}

fn venue() -> (Engine, Stamp) {
    let mut engine = Engine::new();
    let mut stamp = Stamp::default();
    let mut setup = fixtures::listings();
    for account in 1..=ACCOUNTS {
        setup.push(fixtures::deposit(account, SOL, 20_000_000_000, 1_000 + account));
        setup.push(fixtures::deposit(account, USDC, 3_000_000_000, 2_000 + account));
        setup.push(fixtures::deposit(account, BTC, 50_000_000, 3_000 + account));
    }
    for command in setup {
        engine.apply(&stamp.next(command)).expect("setup");
    }
    (engine, stamp)
}

/// The two ways the API reads a book agree: each level of `depth_top` is what `level_quantity`
/// says of its price, and a price between levels holds nothing.
fn depth_reads_agree(engine: &Engine) -> Result<(), TestCaseError> {
    for market in [SOL_USDC, BTC_USDC] {
        for side in [Side::Bid, Side::Ask] {
            for (price, quantity) in engine.depth_top(market, side, usize::MAX) {
                prop_assert_eq!(
                    engine.level_quantity(market, side, price),
                    quantity,
                    "{:?} {:?} at {}",
                    market,
                    side,
                    price
                );
                let between = Ticks(price.0 + 1);
                if !engine.depth_top(market, side, usize::MAX).iter().any(|(p, _)| *p == between) {
                    prop_assert_eq!(engine.level_quantity(market, side, between), Lots::ZERO);
                }
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 192, ..ProptestConfig::default() })]

    #[test]
    fn invariants_hold_after_every_command(ops in proptest::collection::vec(op(), 1..160)) {
        let (mut engine, mut stamp) = venue();
        engine.set_invariant_checks(false);
        for (step, op) in ops.iter().enumerate() {
            let before = engine.content_hash();
            let sequenced = stamp.next(command(op));
            let refused = engine.apply(&sequenced).is_err();
            if let Err(violation) = engine.check() {
                return Err(TestCaseError::fail(format!("step {step} {op:?}: {violation}")));
            }
            if refused {
                prop_assert_eq!(engine.content_hash(), before, "refused {:?} changed the state", op);
            }
            depth_reads_agree(&engine)?;
            if step % 40 == 39 {
                let restored = Engine::decode_snapshot(&engine.encode_snapshot()).expect("snapshot decodes");
                prop_assert_eq!(restored.state_hash(), engine.state_hash());
                restored.check().map_err(|v| TestCaseError::fail(format!("restored: {v}")))?;
            }
        }
    }

    #[test]
    fn a_restored_snapshot_continues_exactly_like_the_original(
        ops in proptest::collection::vec(op(), 2..120),
        cut in 0usize..120,
    ) {
        let (mut original, mut stamp) = venue();
        let cut = cut % ops.len();
        for op in &ops[..cut] {
            let _ = original.apply(&stamp.next(command(op)));
        }
        let mut restored = Engine::decode_snapshot(&original.encode_snapshot()).expect("snapshot decodes");
        for op in &ops[cut..] {
            let sequenced = stamp.next(command(op));
            let a = original.apply(&sequenced).map(<[_]>::to_vec);
            let b = restored.apply(&sequenced).map(<[_]>::to_vec);
            prop_assert_eq!(a, b);
        }
        prop_assert_eq!(original.state_hash(), restored.state_hash());
    }
}
