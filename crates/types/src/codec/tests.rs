use super::*;
use crate::decimal::Sign;
use crate::{ApiKey, Permissions};
use proptest::prelude::*;

fn sample_commands() -> Vec<Command> {
    let market = MarketSpec {
        id: MarketId(3),
        symbol: Symbol::new("SOL_USDC").unwrap(),
        base: AssetId(0),
        quote: AssetId(1),
        tick_size: Decimal::parse("0.01", Sign::Unsigned).unwrap(),
        step_size: Decimal::parse("0.001", Sign::Unsigned).unwrap(),
        min_price: Ticks(1),
        max_price: Ticks(1_000_000),
        min_quantity: Lots(1),
        max_quantity: Lots(1_000_000),
        maker_fee_bps: -1,
        taker_fee_bps: 5,
        kind: crate::perp::MarketKind::Spot,
    };
    vec![
        Command::UpdateAccountSettings {
            account: AccountId(4),
            change: SettingsChange {
                auto_lend: Some(true),
                auto_repay_borrows: Some(false),
                leverage_limit: Some(20),
                ..Default::default()
            },
        },
        Command::CreateAccount { key: ApiKey([9; 32]), permissions: Permissions::READ.union(Permissions::TRADE) },
        Command::AddApiKey { account: AccountId(3), key: ApiKey([8; 32]), permissions: Permissions::ALL },
        Command::ListAsset(AssetSpec { id: AssetId(7), symbol: Symbol::new("AAPL.US").unwrap(), decimals: 6 }),
        Command::ListMarket(market),
        Command::ListMarket(MarketSpec {
            symbol: Symbol::new("SOL_USDC_PERP").unwrap(),
            kind: crate::perp::MarketKind::Perp(crate::perp::PerpSpec {
                imf: crate::MarginFunction {
                    base: crate::Fraction(20_000_000_000),
                    factor: crate::Fraction(127_500_000),
                },
                mmf: crate::MarginFunction {
                    base: crate::Fraction(12_500_000_000),
                    factor: crate::Fraction(76_500_000),
                },
                funding_interval_micros: 3_600_000_000,
                funding_rate_upper: crate::Fraction(10_000_000_000),
                funding_rate_lower: crate::Fraction(-10_000_000_000),
                open_interest_limit: Lots(4_000_000),
                mark_band: crate::Fraction(50_000_000_000),
                bands: crate::PriceBands::OPEN,
                basis: Some(crate::BasisSpec {
                    haircut: crate::Fraction(10_000_000_000),
                    imf: crate::Fraction(15_000_000_000),
                    mmf: crate::Fraction(10_000_000_000),
                }),
            }),
            ..market
        }),
        Command::UpdateMarkPrices,
        Command::RealizePnl,
        Command::SetLiquidationSpec(crate::liquidation::LiquidationSpec::DEFAULT),
        Command::Liquidate,
        Command::SetVolatilitySpec(None),
        Command::SetVolatilitySpec(Some(crate::volatility::VolatilitySpec {
            window_micros: 600_000_000,
            ramp_micros: 900_000_000,
            tiers: [
                crate::volatility::VolatilityTier {
                    threshold: crate::Fraction(20_000_000_000),
                    multiplier: crate::Fraction(1_500_000_000_000),
                },
                crate::volatility::VolatilityTier::default(),
                crate::volatility::VolatilityTier::default(),
                crate::volatility::VolatilityTier::default(),
            ],
        })),
        Command::FundInsurance { account: AccountId(3), asset: AssetId(1), amount: Amount(1_000_000) },
        Command::SetBackstopProvider { account: AccountId(7), capacity: Amount(5_000_000_000) },
        Command::PlaceOrderWithExits {
            order: NewOrder {
                account: AccountId(9),
                market: MarketId(3),
                side: Side::Bid,
                client_id: Some(ClientId(3)),
                self_trade_prevention: SelfTradePrevention::RejectTaker,
                spec: OrderSpec::Limit { price: Ticks(15_000), quantity: Lots(10), time_in_force: TimeInForce::Gtc },
                margin: MarginFlags::NONE,
                reduce_only: false,
                trigger: None,
            },
            take_profit: Some(crate::Exit {
                trigger: crate::Trigger { price: Ticks(16_000), by: crate::TriggerBy::MarkPrice },
                limit: Some(Ticks(15_990)),
            }),
            stop_loss: Some(crate::Exit {
                trigger: crate::Trigger { price: Ticks(14_000), by: crate::TriggerBy::LastPrice },
                limit: None,
            }),
        },
        Command::Deposit { account: AccountId(9), asset: AssetId(1), amount: Amount(55), tx: TxId([3; 32]) },
        Command::Withdraw {
            account: AccountId(9),
            asset: AssetId(1),
            amount: Amount(5),
            tx: TxId([4; 32]),
            margin: MarginFlags::NONE,
        },
        Command::Withdraw {
            account: AccountId(9),
            asset: AssetId(1),
            amount: Amount(5),
            tx: TxId([5; 32]),
            margin: MarginFlags { auto_borrow: true, auto_borrow_repay: false, auto_lend_redeem: true },
        },
        Command::PlaceOrder(NewOrder {
            account: AccountId(9),
            market: MarketId(3),
            side: Side::Ask,
            client_id: Some(ClientId(u32::MAX)),
            self_trade_prevention: SelfTradePrevention::RejectBoth,
            margin: MarginFlags::NONE,
            reduce_only: false,
            trigger: None,
            spec: OrderSpec::Limit { price: Ticks(14327), quantity: Lots(250), time_in_force: TimeInForce::PostOnly },
        }),
        Command::PlaceOrder(NewOrder {
            account: AccountId(9),
            market: MarketId(3),
            side: Side::Bid,
            client_id: None,
            self_trade_prevention: SelfTradePrevention::RejectMaker,
            margin: MarginFlags { auto_borrow: true, auto_borrow_repay: true, auto_lend_redeem: false },
            reduce_only: false,
            trigger: None,
            spec: OrderSpec::Market { size: MarketSize::Quote(Amount(1_000_000)), time_in_force: TimeInForce::Ioc },
        }),
        Command::CancelOrder { account: AccountId(9), market: MarketId(3), target: CancelTarget::Order(OrderId(77)) },
        Command::CancelOrder { account: AccountId(9), market: MarketId(3), target: CancelTarget::Client(ClientId(5)) },
        Command::CancelAll { account: AccountId(9), market: MarketId(3), scope: CancelScope::All },
        Command::CancelAll { account: AccountId(9), market: MarketId(3), scope: CancelScope::Triggers },
        Command::CancelAll { account: AccountId(9), market: MarketId(3), scope: CancelScope::Resting },
        Command::SetAssetRisk(sample_risk(true)),
        Command::SetAssetRisk(sample_risk(false)),
        Command::SetIndexPrice { asset: AssetId(2), price: crate::IndexPrice(150_250_000_000_000) },
        Command::BorrowLend {
            account: AccountId(9),
            asset: AssetId(2),
            action: crate::command::BorrowLendAction::Redeem,
            amount: Amount(12),
        },
        Command::AccrueInterest,
    ]
}

fn sample_risk(lendable: bool) -> crate::AssetRisk {
    let risk = crate::risk::tests::sample(AssetId(2));
    if lendable { risk } else { crate::AssetRisk { haircut: crate::Haircut::Identity, lending: None, ..risk } }
}

#[test]
fn every_command_round_trips() {
    for command in sample_commands() {
        let mut out = Writer::default();
        encode_command(Timestamp(1_700_000_000_000_000), &command, &mut out);
        assert_eq!(decode_command(&out.bytes), Ok((Timestamp(1_700_000_000_000_000), command)));
        // Every strict prefix is refused, never misread.
        for cut in 0..out.bytes.len() {
            assert!(decode_command(&out.bytes[..cut]).is_err(), "prefix {cut} of {command:?}");
        }
    }
}

proptest! {
    #[test]
    fn decoding_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..128)) {
        let _ = decode_command(&bytes);
    }

    #[test]
    fn decoding_mutated_commands_never_panics(index in 0usize..18, flip in any::<(usize, u8)>()) {
        let commands = sample_commands();
        let mut out = Writer::default();
        encode_command(Timestamp(1), &commands[index], &mut out);
        let at = flip.0 % out.bytes.len();
        out.bytes[at] ^= flip.1 | 1;
        let _ = decode_command(&out.bytes);
    }
}
