//! Request parsing never panics, whatever JSON arrives, and what it accepts means exactly what
//! was sent.

use std::collections::VecDeque;
use std::sync::Arc;

use proptest::prelude::*;
use rucksack_api::request::new_order;
use rucksack_api::views::{Depth, MarketView, Views};
use rucksack_types::decimal::Sign;
use rucksack_types::{
    AccountId, AssetId, AssetSpec, Command, Decimal, Lots, MarketId, MarketSpec, OrderSpec, Symbol, Ticks,
};
use serde_json::{Value, json};

fn venue() -> Views {
    let asset = |id, name: &str, decimals| AssetSpec { id: AssetId(id), symbol: Symbol::new(name).unwrap(), decimals };
    let spec = MarketSpec {
        id: MarketId(0),
        symbol: Symbol::new("SOL_USDC").unwrap(),
        base: AssetId(1),
        quote: AssetId(0),
        tick_size: Decimal::parse("0.01", Sign::Unsigned).unwrap(),
        step_size: Decimal::parse("0.01", Sign::Unsigned).unwrap(),
        min_price: Ticks(1),
        max_price: Ticks(100_000_000),
        min_quantity: Lots(1),
        max_quantity: Lots(100_000_000),
        maker_fee_bps: 2,
        taker_fee_bps: 5,
        kind: rucksack_types::MarketKind::Spot,
    };
    Views {
        assets: vec![asset(0, "USDC", 6), asset(1, "SOL", 9)],
        markets: vec![
            MarketView { spec, depth: Arc::new(Depth::default()), trades: VecDeque::new(), perp: None },
            MarketView {
                spec: MarketSpec {
                    id: MarketId(1),
                    symbol: Symbol::new("SOL_USDC_PERP").unwrap(),
                    kind: rucksack_testkit::fixtures::sol_perp().kind,
                    ..spec
                },
                depth: Arc::new(Depth::default()),
                trades: VecDeque::new(),
                perp: None,
            },
        ],
        ..Views::default()
    }
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|f| json!(f)),
        "\\PC{0,12}".prop_map(Value::String),
        Just(Value::String("SOL_USDC_PERP".to_string())),
        "[0-9]{1,25}(\\.[0-9]{0,12})?".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            proptest::collection::btree_map(
                prop_oneof![
                    Just("symbol".to_string()),
                    Just("side".to_string()),
                    Just("orderType".to_string()),
                    Just("price".to_string()),
                    Just("quantity".to_string()),
                    Just("quoteQuantity".to_string()),
                    Just("timeInForce".to_string()),
                    Just("postOnly".to_string()),
                    Just("clientId".to_string()),
                    Just("selfTradePrevention".to_string()),
                    Just("reduceOnly".to_string()),
                    Just("autoBorrow".to_string()),
                    "[a-zA-Z]{1,8}",
                ],
                inner,
                0..8
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #[test]
    fn any_json_is_parsed_or_refused_without_panicking(body in json_value()) {
        let _ = new_order(&venue(), AccountId(1), &body);
    }

    #[test]
    fn accepted_limit_orders_mean_exactly_what_was_sent(price in 1i64..100_000_000, lots in 1i64..100_000_000, bid in any::<bool>()) {
        let body = json!({
            "symbol": "SOL_USDC",
            "side": if bid { "Bid" } else { "Ask" },
            "orderType": "Limit",
            "price": Decimal::format_units(price, Decimal::parse("0.01", Sign::Unsigned).unwrap()),
            "quantity": Decimal::format_units(lots, Decimal::parse("0.01", Sign::Unsigned).unwrap()),
        });
        let command = new_order(&venue(), AccountId(1), &body).map_err(|e| TestCaseError::fail(e.message))?;
        let Command::PlaceOrder(order) = command else { return Err(TestCaseError::fail("not an order")) };
        prop_assert_eq!(order.spec, OrderSpec::Limit { price: Ticks(price), quantity: Lots(lots), time_in_force: rucksack_types::TimeInForce::Gtc });
    }
}
