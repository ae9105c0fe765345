//! Reservations, settlement, fees, rebates, dust, cancels and transfers, to the unit.

mod common;

use common::*;
use rucksack_testkit::fixtures::{self, BTC, BTC_USDC, SOL, SOL_USDC, USDC};
use rucksack_types::decimal::Sign;
use rucksack_types::{
    AccountId, Amount, CancelTarget, ClientId, Command, Decimal, Event, Lots, MarketId, MarketSpec, OrderStatus,
    Reject, Side, Symbol, Ticks,
};

const USDC_START: i64 = 100_000_000_000;
const SOL_START: i64 = 1_000_000_000_000;

fn place(h: &mut Harness, new: rucksack_types::NewOrder) -> Vec<Event> {
    h.ok(Command::PlaceOrder(new))
}

fn trades(events: &[Event]) -> Vec<rucksack_types::Trade> {
    events.iter().filter_map(|e| if let Event::Trade(t) = e { Some(*t) } else { None }).collect()
}

#[test]
fn a_bid_reserves_its_cost_plus_the_taker_fee_it_could_pay() {
    let mut h = Harness::new();
    place(&mut h, gtc(2, Side::Bid, 14500, 10));
    // 10 lots * (1,450,000 cost + 725 fee)
    assert_eq!(h.balance(2, USDC), (USDC_START - 14_507_250, 14_507_250));
}

#[test]
fn an_ask_reserves_its_base_quantity() {
    let mut h = Harness::new();
    place(&mut h, gtc(2, Side::Ask, 14500, 10));
    assert_eq!(h.balance(2, SOL), (SOL_START - 100_000_000, 100_000_000));
}

#[test]
fn a_buy_filled_below_its_limit_releases_the_difference() {
    let mut h = Harness::new();
    place(&mut h, gtc(1, Side::Ask, 14400, 10));
    place(&mut h, gtc(2, Side::Bid, 14500, 10));
    // Paid 14,400,000 plus a 5 bps taker fee of 7,200; nothing stays locked.
    assert_eq!(h.balance(2, USDC), (USDC_START - 14_407_200, 0));
    assert_eq!(h.balance(2, SOL), (SOL_START + 100_000_000, 0));
    // The maker sold 0.1 SOL and paid a 2 bps maker fee of 2,880.
    assert_eq!(h.balance(1, USDC), (USDC_START + 14_400_000 - 2_880, 0));
    assert_eq!(h.balance(1, SOL), (SOL_START - 100_000_000, 0));
    assert_eq!(h.engine.fee_balance(USDC), Amount(7_200 + 2_880));
}

#[test]
fn fees_round_up_for_the_house() {
    let mut h = Harness::new();
    place(&mut h, gtc(1, Side::Ask, 14401, 1));
    let events = place(&mut h, market(2, Side::Bid, 1));
    let trade = trades(&events)[0];
    // Notional 1,440,100: 5 bps = 720.05 -> 721, 2 bps = 288.02 -> 289.
    assert_eq!((trade.taker_fee, trade.maker_fee), (Amount(721), Amount(289)));
    assert_eq!(h.engine.fee_balance(USDC), Amount(1_010));
}

#[test]
fn maker_rebates_round_down_and_come_out_of_the_fee_account() {
    let mut h = Harness::new();
    h.deposit(1, BTC, 100_000_000);
    let ask = rucksack_types::NewOrder { market: BTC_USDC, ..gtc(1, Side::Ask, 950_001, 1) };
    place(&mut h, ask);
    let bid = rucksack_types::NewOrder { market: BTC_USDC, ..market(2, Side::Bid, 1) };
    let trade = trades(&place(&mut h, bid))[0];
    // Notional 950,001 units: taker 4 bps = 380.0004 -> 381; maker -1 bp = -95.0001 -> rebate 95.
    assert_eq!((trade.taker_fee, trade.maker_fee), (Amount(381), Amount(-95)));
    assert_eq!(h.balance(1, USDC), (USDC_START + 950_001 + 95, 0));
    assert_eq!(h.engine.fee_balance(USDC), Amount(286));
}

#[test]
fn rounding_residue_goes_to_the_dust_account() {
    let mut h = Harness::new();
    // One tick (0.05) times one lot (0.00003 BTC) is worth 1.5 micro-USDC.
    let odd = MarketSpec {
        id: MarketId(2),
        symbol: Symbol::new("BTC_USDC_ODD").unwrap(),
        tick_size: Decimal::parse("0.05", Sign::Unsigned).unwrap(),
        step_size: Decimal::parse("0.00003", Sign::Unsigned).unwrap(),
        maker_fee_bps: 0,
        taker_fee_bps: 0,
        kind: rucksack_types::MarketKind::Spot,
        ..fixtures::btc_usdc()
    };
    h.ok(Command::ListMarket(odd));
    h.deposit(1, BTC, 100_000_000);
    place(&mut h, rucksack_types::NewOrder { market: MarketId(2), ..gtc(1, Side::Ask, 3, 1) });
    let bid = rucksack_types::NewOrder { market: MarketId(2), ..gtc(2, Side::Bid, 3, 1) };
    let trade = trades(&place(&mut h, bid))[0];
    // 4.5 units: the buyer pays 5, the seller receives 4.
    assert_eq!((trade.quote_paid, trade.quote_received), (Amount(5), Amount(4)));
    assert_eq!(h.engine.dust_balance(USDC), Amount(1));
    assert_eq!(h.balance(2, USDC), (USDC_START - 5, 0));
    assert_eq!(h.balance(1, USDC), (USDC_START + 4, 0));
}

#[test]
fn cancel_by_id_releases_the_reservation() {
    let mut h = Harness::new();
    let events = place(&mut h, gtc(2, Side::Bid, 14500, 10));
    let Event::OrderAccepted { order, .. } = events[0] else { panic!("not accepted") };
    let events = h.ok(cancel(2, SOL_USDC, CancelTarget::Order(order)));
    assert!(matches!(events[0], Event::OrderClosed { status: OrderStatus::Cancelled, .. }));
    assert_eq!(h.balance(2, USDC), (USDC_START, 0));
    assert_eq!(h.engine.open_orders(), 0);
}

#[test]
fn cancel_by_client_id_finds_the_order() {
    let mut h = Harness::new();
    place(&mut h, with_client(gtc(2, Side::Ask, 14500, 10), 7));
    let events = h.ok(cancel(2, SOL_USDC, CancelTarget::Client(ClientId(7))));
    assert!(matches!(events[0], Event::OrderClosed { status: OrderStatus::Cancelled, executed: Lots(0), .. }));
    assert_eq!(h.balance(2, SOL), (SOL_START, 0));
}

#[test]
fn a_partially_filled_order_cancels_with_its_fills_kept() {
    let mut h = Harness::new();
    let events = place(&mut h, gtc(2, Side::Ask, 14500, 10));
    let Event::OrderAccepted { order, .. } = events[0] else { panic!("not accepted") };
    place(&mut h, market(1, Side::Bid, 4));
    let events = h.ok(cancel(2, SOL_USDC, CancelTarget::Order(order)));
    assert!(matches!(events[0], Event::OrderClosed { status: OrderStatus::Cancelled, executed: Lots(4), .. }));
    assert_eq!(h.balance(2, SOL), (SOL_START - 40_000_000, 0));
}

#[test]
fn cancels_of_missing_or_foreign_orders_are_refused() {
    let mut h = Harness::new();
    let events = place(&mut h, with_client(gtc(2, Side::Bid, 14500, 10), 7));
    let Event::OrderAccepted { order, .. } = events[0] else { panic!("not accepted") };
    let before = h.engine.content_hash();
    assert_eq!(h.apply(cancel(1, SOL_USDC, CancelTarget::Order(order))), Err(Reject::OrderNotFound));
    assert_eq!(h.apply(cancel(1, SOL_USDC, CancelTarget::Client(ClientId(7)))), Err(Reject::OrderNotFound));
    assert_eq!(h.apply(cancel(2, BTC_USDC, CancelTarget::Order(order))), Err(Reject::OrderNotFound));
    assert_eq!(
        h.apply(cancel(2, SOL_USDC, CancelTarget::Order(rucksack_types::OrderId(999)))),
        Err(Reject::OrderNotFound)
    );
    assert_eq!(h.apply(cancel(2, MarketId(9), CancelTarget::Order(order))), Err(Reject::UnknownMarket));
    assert_eq!(h.engine.content_hash(), before);
}

#[test]
fn cancel_all_cancels_only_that_markets_orders() {
    let mut h = Harness::new();
    h.deposit(2, BTC, 100_000_000);
    place(&mut h, gtc(2, Side::Bid, 14300, 10));
    place(&mut h, gtc(2, Side::Ask, 14600, 10));
    place(&mut h, gtc(1, Side::Ask, 14700, 10));
    place(&mut h, rucksack_types::NewOrder { market: BTC_USDC, ..gtc(2, Side::Ask, 990_000, 100) });
    let events =
        h.ok(Command::CancelAll { account: AccountId(2), market: SOL_USDC, scope: rucksack_types::CancelScope::All });
    assert_eq!(events.len(), 2);
    assert!(
        events
            .iter()
            .all(|e| matches!(e, Event::OrderClosed { status: OrderStatus::Cancelled, account: AccountId(2), .. }))
    );
    assert_eq!(h.engine.depth(SOL_USDC, Side::Ask), vec![(Ticks(14700), Lots(10))]);
    assert_eq!(h.engine.depth(BTC_USDC, Side::Ask), vec![(Ticks(990_000), Lots(100))]);
}

#[test]
fn a_client_id_is_unique_among_open_orders_and_free_again_after_cancel() {
    let mut h = Harness::new();
    place(&mut h, with_client(gtc(2, Side::Bid, 14300, 10), 5));
    assert_eq!(
        h.apply(Command::PlaceOrder(with_client(gtc(2, Side::Bid, 14200, 10), 5))),
        Err(Reject::DuplicateClientId)
    );
    // Another account may use the same client id.
    place(&mut h, with_client(gtc(1, Side::Bid, 14200, 10), 5));
    h.ok(cancel(2, SOL_USDC, CancelTarget::Client(ClientId(5))));
    place(&mut h, with_client(gtc(2, Side::Bid, 14200, 10), 5));
}

#[test]
fn a_repeated_deposit_transaction_changes_nothing() {
    let mut h = Harness::new();
    h.ok(fixtures::deposit(7, USDC, 500, 1_000));
    let before = h.engine.content_hash();
    assert_eq!(h.ok(fixtures::deposit(7, USDC, 500, 1_000)), vec![]);
    assert_eq!(h.ok(fixtures::deposit(7, USDC, 900, 1_000)), vec![]);
    assert_eq!(h.engine.content_hash(), before);
    assert_eq!(h.balance(7, USDC), (500, 0));
}

#[test]
fn withdrawals_take_only_available_funds_once() {
    let mut h = Harness::new();
    place(&mut h, gtc(2, Side::Ask, 14500, 100_000)); // locks all but 0 of 1,000 SOL
    let withdraw = |amount, tx| Command::Withdraw {
        account: AccountId(2),
        asset: SOL,
        amount: Amount(amount),
        tx: fixtures::tx(tx),
        margin: rucksack_types::MarginFlags::NONE,
    };
    assert_eq!(h.apply(withdraw(1, 50)), Err(Reject::InsufficientFunds));
    h.deposit(2, SOL, 1_000);
    h.ok(withdraw(600, 51));
    assert_eq!(h.ok(withdraw(600, 51)), vec![]);
    assert_eq!(h.balance(2, SOL), (400, SOL_START));
    assert_eq!(h.apply(withdraw(0, 52)), Err(Reject::NonPositiveAmount));
    assert_eq!(h.apply(withdraw(1_000, 53)), Err(Reject::InsufficientFunds));
}

#[test]
fn deposits_that_would_overflow_an_asset_are_refused() {
    let mut h = Harness::new();
    let huge = Command::Deposit { account: AccountId(9), asset: USDC, amount: Amount(i64::MAX), tx: fixtures::tx(77) };
    assert_eq!(h.apply(huge), Err(Reject::Overflow));
}

#[test]
fn listings_must_be_dense_unique_and_valid() {
    let mut h = Harness::new();
    assert_eq!(h.apply(Command::ListMarket(fixtures::sol_usdc())), Err(Reject::InvalidListingId));
    let duplicate = MarketSpec { id: MarketId(2), ..fixtures::sol_usdc() };
    assert_eq!(h.apply(Command::ListMarket(duplicate)), Err(Reject::DuplicateSymbol));
    let unlisted = MarketSpec {
        id: MarketId(2),
        symbol: Symbol::new("X_USDC").unwrap(),
        base: rucksack_types::AssetId(9),
        ..fixtures::sol_usdc()
    };
    assert_eq!(h.apply(Command::ListMarket(unlisted)), Err(Reject::UnknownAsset));
}

#[test]
fn accounts_are_created_with_keys_that_survive_a_snapshot() {
    use rucksack_types::{ApiKey, Permissions};
    let mut h = Harness::new();
    let events = h.ok(Command::CreateAccount { key: ApiKey([7; 32]), permissions: Permissions::ALL });
    let Event::AccountCreated { account, .. } = events[0] else { panic!("no account") };
    assert_eq!(account, AccountId(5), "ids continue after the highest in use");
    assert_eq!(
        h.apply(Command::CreateAccount { key: ApiKey([7; 32]), permissions: Permissions::READ }),
        Err(Reject::DuplicateApiKey)
    );
    h.ok(Command::AddApiKey { account, key: ApiKey([8; 32]), permissions: Permissions::READ });
    assert_eq!(
        h.apply(Command::AddApiKey { account: AccountId(77), key: ApiKey([9; 32]), permissions: Permissions::READ }),
        Err(Reject::UnknownAccount)
    );
    let restored = rucksack_engine::Engine::decode_snapshot(&h.engine.encode_snapshot()).unwrap();
    assert_eq!(restored.api_key(&ApiKey([8; 32])), Some((account, Permissions::READ)));
    assert_eq!(restored.state_hash(), h.engine.state_hash());
}

#[test]
fn every_book_change_advances_the_update_id() {
    let mut h = Harness::new();
    let start = h.engine.book_update_id(SOL_USDC);
    let events = place(&mut h, gtc(1, Side::Ask, 14500, 10));
    let Event::OrderAccepted { order, .. } = events[0] else { panic!("not accepted") };
    assert_eq!(h.engine.book_update_id(SOL_USDC), start + 1);
    place(&mut h, market(2, Side::Bid, 3));
    assert_eq!(h.engine.book_update_id(SOL_USDC), start + 2);
    h.ok(cancel(1, SOL_USDC, CancelTarget::Order(order)));
    assert_eq!(h.engine.book_update_id(SOL_USDC), start + 3);
    assert_eq!(h.engine.book_update_id(BTC_USDC), 0);
}

#[test]
fn account_settings_change_field_by_field_and_survive_a_snapshot() {
    use rucksack_types::{AccountSettings, SettingsChange};
    let mut h = Harness::new();
    let change = SettingsChange { auto_lend: Some(true), leverage_limit: Some(20), ..SettingsChange::default() };
    h.ok(Command::UpdateAccountSettings { account: AccountId(2), change });
    let expected = AccountSettings { auto_lend: true, leverage_limit: 20, ..AccountSettings::default() };
    assert_eq!(h.engine.account_settings(AccountId(2)), expected);
    for leverage in [0, 101] {
        let bad = SettingsChange { leverage_limit: Some(leverage), ..SettingsChange::default() };
        assert_eq!(
            h.apply(Command::UpdateAccountSettings { account: AccountId(2), change: bad }),
            Err(Reject::InvalidLeverage)
        );
    }
    let unknown = Command::UpdateAccountSettings { account: AccountId(99), change };
    assert_eq!(h.apply(unknown), Err(Reject::UnknownAccount));
    let restored = rucksack_engine::Engine::decode_snapshot(&h.engine.encode_snapshot()).unwrap();
    assert_eq!(restored.account_settings(AccountId(2)), expected);
    assert_eq!(restored.state_hash(), h.engine.state_hash());
}
