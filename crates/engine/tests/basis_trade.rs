//! The basis trade's capital efficiency, measured on the engine: a $1,000,000 basis position
//! (8,000 SOL held, 8,000 SOL short in the perpetual, at $125) under rucksack's hedged-pair
//! margin and under plain unified margin (the spot at its haircut, the short at its size-scaled
//! IMF: the Backpack and FTX model), and what a ±30% move does to each.
//!
//! "Equity required" is what the trader must keep in: the position is opened with $2,000,000 of
//! USDC, then the most USDC the margin rule lets the account withdraw (borrowing USDC as needed)
//! is found by bisection; the equity left is the least the position can be held with. The table
//! this prints is kept in docs/margin.md:
//! `cargo test -p rucksack-engine --test basis_trade -- --nocapture`.

use rucksack_engine::Engine;
use rucksack_testkit::Stamp;
use rucksack_testkit::fixtures::{self, SOL, SOL_USDC, SOL_USDC_PERP, USDC};
use rucksack_types::{
    AccountId, Amount, BorrowLendAction, Command, Lots, MarginFlags, MarketKind, NewOrder, OrderSpec,
    SelfTradePrevention, SettingsChange, Side, Ticks, TimeInForce, UsdValue,
};

const TRADER: u64 = 1;
const SELLER: u64 = 2;
const BUYER: u64 = 3;
const LENDER: u64 = 4;
/// 8,000 SOL in lots of 0.01.
const LOTS: i64 = 800_000;
const PRICE: i64 = 12_500;

fn order(account: u64, market: rucksack_types::MarketId, side: Side, time_in_force: TimeInForce) -> Command {
    Command::PlaceOrder(NewOrder {
        account: AccountId(account),
        market,
        side,
        client_id: None,
        self_trade_prevention: SelfTradePrevention::RejectTaker,
        spec: OrderSpec::Limit { price: Ticks(PRICE), quantity: Lots(LOTS), time_in_force },
        margin: MarginFlags::NONE,
        reduce_only: false,
        trigger: None,
    })
}

/// The trader holding the basis position, with $2,000,000 of USDC deposited, on a venue whose
/// SOL perpetual credits hedged pairs (or not).
fn opened(hedged: bool) -> (Engine, Stamp) {
    let mut engine = Engine::new();
    let mut stamp = Stamp::default();
    let mut perp = fixtures::sol_perp();
    if let (false, MarketKind::Perp(spec)) = (hedged, &mut perp.kind) {
        spec.basis = None;
    }
    let mut commands = fixtures::listings();
    commands.extend(fixtures::risk_settings());
    commands.push(Command::ListMarket(perp));
    commands.push(Command::SetIndexPrice { asset: SOL, price: fixtures::index_price("125") });
    commands.push(Command::UpdateMarkPrices);
    commands.push(fixtures::deposit(LENDER, USDC, 100_000_000_000_000, 1));
    commands.push(Command::BorrowLend {
        account: AccountId(LENDER),
        asset: USDC,
        action: BorrowLendAction::Lend,
        amount: Amount(100_000_000_000_000),
    });
    commands.push(fixtures::deposit(TRADER, USDC, 2_000_000_000_000, 2));
    commands.push(fixtures::deposit(SELLER, SOL, 8_000_000_000_000, 3));
    commands.push(fixtures::deposit(BUYER, USDC, 1_000_000_000_000, 4));
    commands.push(Command::UpdateAccountSettings {
        account: AccountId(TRADER),
        change: SettingsChange { leverage_limit: Some(100), ..Default::default() },
    });
    // The spot leg, then the perpetual leg, both as takers.
    commands.push(order(SELLER, SOL_USDC, Side::Ask, TimeInForce::Gtc));
    commands.push(order(TRADER, SOL_USDC, Side::Bid, TimeInForce::Ioc));
    commands.push(order(BUYER, SOL_USDC_PERP, Side::Bid, TimeInForce::Gtc));
    commands.push(order(TRADER, SOL_USDC_PERP, Side::Ask, TimeInForce::Ioc));
    for command in commands {
        engine.apply(&stamp.next(command)).unwrap_or_else(|r| panic!("{command:?}: {r}"));
    }
    assert_eq!(engine.perp_position(AccountId(TRADER), SOL_USDC_PERP).size, -LOTS);
    assert_eq!(engine.balance(AccountId(TRADER), SOL).available.0, 8_000_000_000_000);
    (engine, stamp)
}

fn withdraw(amount: i64) -> Command {
    Command::Withdraw {
        account: AccountId(TRADER),
        asset: USDC,
        amount: Amount(amount),
        tx: fixtures::tx(99),
        margin: MarginFlags { auto_borrow: true, ..MarginFlags::NONE },
    }
}

/// The position held with the least equity: after the largest USDC withdrawal the margin rule
/// allows (to a cent).
fn at_least_equity(hedged: bool) -> (Engine, Stamp) {
    let (engine, stamp) = opened(hedged);
    let (mut allowed, mut refused) = (0i64, 2_000_000_000_000i64);
    while refused - allowed > 10_000 {
        let middle = allowed + (refused - allowed) / 2;
        let mut trial = engine.clone();
        let mut later = stamp.clone();
        if trial.apply(&later.next(withdraw(middle))).is_ok() { allowed = middle } else { refused = middle }
    }
    let (mut engine, mut stamp) = (engine, stamp);
    engine.apply(&stamp.next(withdraw(allowed))).expect("the largest withdrawal");
    (engine, stamp)
}

/// The account's health after SOL moves by `percent` (index and mark).
fn after_move(engine: &Engine, stamp: &Stamp, percent: i64) -> rucksack_engine::margin::AccountHealth {
    let (mut engine, mut stamp) = (engine.clone(), stamp.clone());
    let price = fixtures::index_price("125").0 / 100 * (100 + percent);
    engine
        .apply(&stamp.next(Command::SetIndexPrice { asset: SOL, price: rucksack_types::IndexPrice(price) }))
        .expect("price");
    engine.apply(&stamp.next(Command::UpdateMarkPrices)).expect("mark");
    engine.margin_health(AccountId(TRADER))
}

type Health = rucksack_engine::margin::AccountHealth;

fn dollars(value: UsdValue) -> String {
    let cents = value.0 / 10_000;
    let sign = if cents < 0 { "-" } else { "" };
    let whole = (cents.abs() / 100).to_string();
    let mut grouped = String::new();
    for (i, digit) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    format!("{sign}${grouped}")
}

#[test]
fn hedged_pairs_need_the_least_equity_and_lose_the_least_margin() {
    let mut rows = Vec::new();
    for (model, hedged) in [("rucksack hedged pair", true), ("plain unified margin", false)] {
        let (engine, stamp) = at_least_equity(hedged);
        let health = engine.margin_health(AccountId(TRADER));
        assert!(health.within_initial_margin(), "{model}: {health:?}");
        let up = after_move(&engine, &stamp, 30);
        let down = after_move(&engine, &stamp, -30);
        rows.push((model, health, up, down));
    }
    println!(
        "| model | equity required | leverage on $1M | free equity after +30% | after -30% | above maintenance after +30% / -30% |"
    );
    println!("|---|---|---|---|---|---|");
    for (model, health, up, down) in &rows {
        // $1,000,000 over the equity, in tenths.
        let tenths = 10_000_000_000_000 / health.net_equity().0.max(1);
        println!(
            "| {model} | {} | {}.{}x | {} | {} | {} / {} |",
            dollars(health.net_equity()),
            tenths / 10,
            tenths % 10,
            dollars(up.free_equity()),
            dollars(down.free_equity()),
            if up.below_maintenance() { "no" } else { "yes" },
            if down.below_maintenance() { "no" } else { "yes" },
        );
    }
    let (hedged, plain) = (&rows[0], &rows[1]);
    assert!(hedged.1.net_equity() < plain.1.net_equity(), "the hedged pair needs less equity");
    // Both start with no free equity; the worse of the two moves costs the hedged pair only its
    // basis haircut's share of the move and its requirements' growth.
    let worst_loss = |row: &(&str, Health, Health, Health)| -row.2.free_equity().0.min(row.3.free_equity().0);
    assert!(worst_loss(hedged) < worst_loss(plain), "hedged {} vs plain {}", worst_loss(hedged), worst_loss(plain));
    assert!(!hedged.2.below_maintenance() && !hedged.3.below_maintenance(), "the pair survives ±30%");
}
