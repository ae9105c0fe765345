//! A small harness around the engine: the standard venue, funded accounts, and shorthands for
//! orders, with the invariants checked after every command.
#![allow(dead_code)]

use rucksack_engine::Engine;
use rucksack_testkit::Stamp;
use rucksack_testkit::fixtures::{self, SOL, SOL_USDC, USDC};
use rucksack_types::{
    AccountId, Amount, AssetId, CancelTarget, ClientId, Command, Event, Lots, MarketId, MarketSize, NewOrder,
    OrderSpec, Reject, SelfTradePrevention, Side, Ticks, TimeInForce,
};

pub struct Harness {
    pub engine: Engine,
    pub stamp: Stamp,
    next_tx: u64,
}

impl Harness {
    /// The standard venue with accounts 1..=4 holding 1,000 SOL and 100,000 USDC each.
    pub fn new() -> Harness {
        let mut harness = Harness { engine: Engine::new(), stamp: Stamp::default(), next_tx: 1 };
        for command in fixtures::listings() {
            harness.ok(command);
        }
        for account in 1..=4 {
            harness.deposit(account, SOL, 1_000_000_000_000);
            harness.deposit(account, USDC, 100_000_000_000);
        }
        harness
    }

    /// The standard venue with its risk settings (SOL $143), the perpetual markets, and a first
    /// mark price.
    pub fn with_perps() -> Harness {
        let mut harness = Harness::new();
        for command in fixtures::risk_settings().into_iter().chain(fixtures::perp_listings()) {
            harness.ok(command);
        }
        harness.ok(Command::UpdateMarkPrices);
        harness
    }

    pub fn apply(&mut self, command: Command) -> Result<Vec<Event>, Reject> {
        let sequenced = self.stamp.next(command);
        let result = self.engine.apply(&sequenced).map(<[Event]>::to_vec);
        if let Err(violation) = self.engine.check() {
            panic!("invariant violated after {command:?}: {violation}");
        }
        result
    }

    pub fn ok(&mut self, command: Command) -> Vec<Event> {
        match self.apply(command) {
            Ok(events) => events,
            Err(reject) => panic!("{command:?} refused: {reject}"),
        }
    }

    pub fn deposit(&mut self, account: u64, asset: AssetId, amount: i64) {
        self.next_tx += 1;
        self.ok(fixtures::deposit(account, asset, amount, self.next_tx));
    }

    pub fn balance(&self, account: u64, asset: AssetId) -> (i64, i64) {
        let balance = self.engine.balance(AccountId(account), asset);
        (balance.available.0, balance.locked.0)
    }
}

pub fn order(account: u64, side: Side, spec: OrderSpec) -> NewOrder {
    NewOrder {
        account: AccountId(account),
        market: SOL_USDC,
        side,
        client_id: None,
        self_trade_prevention: SelfTradePrevention::RejectTaker,
        spec,
        margin: rucksack_types::MarginFlags::NONE,
        reduce_only: false,
        trigger: None,
    }
}

pub fn limit(account: u64, side: Side, price: i64, quantity: i64, time_in_force: TimeInForce) -> NewOrder {
    order(account, side, OrderSpec::Limit { price: Ticks(price), quantity: Lots(quantity), time_in_force })
}

pub fn gtc(account: u64, side: Side, price: i64, quantity: i64) -> NewOrder {
    limit(account, side, price, quantity, TimeInForce::Gtc)
}

pub fn market(account: u64, side: Side, quantity: i64) -> NewOrder {
    order(account, side, OrderSpec::Market { size: MarketSize::Base(Lots(quantity)), time_in_force: TimeInForce::Ioc })
}

pub fn market_quote(account: u64, side: Side, quote: i64) -> NewOrder {
    order(account, side, OrderSpec::Market { size: MarketSize::Quote(Amount(quote)), time_in_force: TimeInForce::Ioc })
}

pub fn with_client(mut new: NewOrder, client_id: u32) -> NewOrder {
    new.client_id = Some(ClientId(client_id));
    new
}

pub fn with_stp(mut new: NewOrder, stp: SelfTradePrevention) -> NewOrder {
    new.self_trade_prevention = stp;
    new
}

pub fn cancel(account: u64, market: MarketId, target: CancelTarget) -> Command {
    Command::CancelOrder { account: AccountId(account), market, target }
}

/// The perpetual shorthands: orders on SOL_USDC_PERP.
pub mod perp {
    use rucksack_testkit::fixtures::SOL_USDC_PERP;
    use rucksack_types::{Command, Lots, MarketSize, NewOrder, OrderSpec, Side, Ticks, TimeInForce};

    pub fn perp(new: NewOrder) -> Command {
        Command::PlaceOrder(NewOrder { market: SOL_USDC_PERP, ..new })
    }

    pub fn gtc(account: u64, side: Side, price: i64, lots: i64) -> Command {
        perp(super::order(
            account,
            side,
            OrderSpec::Limit { price: Ticks(price), quantity: Lots(lots), time_in_force: TimeInForce::Gtc },
        ))
    }

    pub fn take(account: u64, side: Side, lots: i64) -> Command {
        perp(super::order(
            account,
            side,
            OrderSpec::Market { size: MarketSize::Base(Lots(lots)), time_in_force: TimeInForce::Ioc },
        ))
    }
}
