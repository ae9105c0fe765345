//! Stream names as clients write them (`depth.200ms.SOL_USDC`, `account.orderUpdate`), parsed
//! strictly, and the topics they resolve to once the symbol and the subscriber are known.

use rucksack_types::{AccountId, MarketId, Timestamp};

use crate::format;

/// How often a depth stream sends: every batch, or conflated over a window.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DepthWindow {
    Realtime,
    Ms200,
    Ms600,
    Ms1000,
}

impl DepthWindow {
    /// The conflated windows, each with its length in 200 ms ticks.
    pub const CONFLATED: [(DepthWindow, u32); 3] =
        [(DepthWindow::Ms200, 1), (DepthWindow::Ms600, 3), (DepthWindow::Ms1000, 5)];

    fn parse(text: &str) -> Option<DepthWindow> {
        match text {
            "200ms" => Some(DepthWindow::Ms200),
            "600ms" => Some(DepthWindow::Ms600),
            "1000ms" => Some(DepthWindow::Ms1000),
            _ => None,
        }
    }
}

/// A candle length of `kline.<interval>.<symbol>`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KlineInterval {
    Minutes(u32),
    Hours(u32),
    Days(u32),
    Week,
    Month,
}

impl KlineInterval {
    fn parse(text: &str) -> Option<KlineInterval> {
        Some(match text {
            "1m" => KlineInterval::Minutes(1),
            "3m" => KlineInterval::Minutes(3),
            "5m" => KlineInterval::Minutes(5),
            "15m" => KlineInterval::Minutes(15),
            "30m" => KlineInterval::Minutes(30),
            "1h" => KlineInterval::Hours(1),
            "2h" => KlineInterval::Hours(2),
            "4h" => KlineInterval::Hours(4),
            "6h" => KlineInterval::Hours(6),
            "8h" => KlineInterval::Hours(8),
            "12h" => KlineInterval::Hours(12),
            "1d" => KlineInterval::Days(1),
            "3d" => KlineInterval::Days(3),
            "1w" => KlineInterval::Week,
            "1month" => KlineInterval::Month,
            _ => return None,
        })
    }

    /// The candle holding `time`, as [start, end) in microseconds.
    pub fn candle(self, time: Timestamp) -> (Timestamp, Timestamp) {
        const MINUTE: u64 = 60_000_000;
        let fixed = |length: u64| {
            let start = time.0 - time.0 % length;
            (Timestamp(start), Timestamp(start + length))
        };
        match self {
            KlineInterval::Minutes(n) => fixed(u64::from(n) * MINUTE),
            KlineInterval::Hours(n) => fixed(u64::from(n) * 60 * MINUTE),
            KlineInterval::Days(n) => fixed(u64::from(n) * 1_440 * MINUTE),
            // Weeks start on Monday; the epoch was a Thursday.
            KlineInterval::Week => {
                let week = 7 * 1_440 * MINUTE;
                let shifted = time.0 + 3 * 1_440 * MINUTE;
                let start = shifted - shifted % week - 3 * 1_440 * MINUTE;
                (Timestamp(start), Timestamp(start + week))
            }
            KlineInterval::Month => {
                let (year, month) = format::year_month(time.0 / 1_000_000);
                let (next_year, next_month) = if month == 12 { (year + 1, 1) } else { (year, month + 1) };
                (
                    Timestamp(format::month_start(year, month) * 1_000_000),
                    Timestamp(format::month_start(next_year, next_month) * 1_000_000),
                )
            }
        }
    }
}

/// A parsed stream name; the symbol is not yet known to exist.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StreamName<'a> {
    Depth(DepthWindow, &'a str),
    Trade(&'a str),
    BookTicker(&'a str),
    Ticker(&'a str),
    Kline(KlineInterval, &'a str),
    MarkPrice(&'a str),
    OpenInterest(&'a str),
    /// Every liquidation's fills and transfers, in every market.
    Liquidation,
    /// All markets (`None`) or one.
    OrderUpdate(Option<&'a str>),
    /// All perpetual markets (`None`) or one.
    PositionUpdate(Option<&'a str>),
    /// Accepted for ccxt's `watch_orders`, which subscribes to it; rucksack has no RFQs yet, so
    /// it carries nothing.
    RfqUpdate(Option<&'a str>),
    BalanceUpdate,
}

/// Why a stream name was refused, with the venue's error code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    #[error("Invalid stream")]
    InvalidStream,
    #[error("Invalid depth window")]
    InvalidDepthWindow,
}

impl NameError {
    pub const fn code(self) -> u16 {
        match self {
            NameError::InvalidStream => 4006,
            NameError::InvalidDepthWindow => 4008,
        }
    }
}

/// A symbol is letters, digits and underscores; anything else cannot name a market.
fn symbol(text: &str) -> Result<&str, NameError> {
    let valid = !text.is_empty() && text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if valid { Ok(text) } else { Err(NameError::InvalidStream) }
}

impl<'a> StreamName<'a> {
    pub fn parse(name: &'a str) -> Result<StreamName<'a>, NameError> {
        if let Some(rest) = name.strip_prefix("account.") {
            return match rest.split_once('.') {
                None if rest == "orderUpdate" => Ok(StreamName::OrderUpdate(None)),
                None if rest == "balanceUpdate" => Ok(StreamName::BalanceUpdate),
                None if rest == "rfqUpdate" => Ok(StreamName::RfqUpdate(None)),
                None if rest == "positionUpdate" => Ok(StreamName::PositionUpdate(None)),
                Some(("positionUpdate", market)) => Ok(StreamName::PositionUpdate(Some(symbol(market)?))),
                Some(("rfqUpdate", market)) => Ok(StreamName::RfqUpdate(Some(symbol(market)?))),
                Some(("orderUpdate", market)) => Ok(StreamName::OrderUpdate(Some(symbol(market)?))),
                _ => Err(NameError::InvalidStream),
            };
        }
        if name == "liquidation" {
            return Ok(StreamName::Liquidation);
        }
        let (kind, rest) = name.split_once('.').ok_or(NameError::InvalidStream)?;
        match kind {
            "depth" => match rest.split_once('.') {
                None => Ok(StreamName::Depth(DepthWindow::Realtime, symbol(rest)?)),
                Some((window, market)) => {
                    let window = DepthWindow::parse(window).ok_or(NameError::InvalidDepthWindow)?;
                    Ok(StreamName::Depth(window, symbol(market)?))
                }
            },
            "trade" => Ok(StreamName::Trade(symbol(rest)?)),
            "bookTicker" => Ok(StreamName::BookTicker(symbol(rest)?)),
            "ticker" => Ok(StreamName::Ticker(symbol(rest)?)),
            "markPrice" => Ok(StreamName::MarkPrice(symbol(rest)?)),
            "openInterest" => Ok(StreamName::OpenInterest(symbol(rest)?)),
            "kline" => {
                let (interval, market) = rest.split_once('.').ok_or(NameError::InvalidStream)?;
                let interval = KlineInterval::parse(interval).ok_or(NameError::InvalidStream)?;
                Ok(StreamName::Kline(interval, symbol(market)?))
            }
            _ => Err(NameError::InvalidStream),
        }
    }

    /// The market symbol the stream is about, if any.
    pub fn symbol(&self) -> Option<&'a str> {
        match *self {
            StreamName::Depth(_, s)
            | StreamName::Trade(s)
            | StreamName::BookTicker(s)
            | StreamName::Ticker(s)
            | StreamName::Kline(_, s)
            | StreamName::MarkPrice(s)
            | StreamName::OpenInterest(s) => Some(s),
            StreamName::OrderUpdate(s) | StreamName::RfqUpdate(s) | StreamName::PositionUpdate(s) => s,
            StreamName::BalanceUpdate | StreamName::Liquidation => None,
        }
    }

    /// Private streams need a signed subscribe.
    pub fn is_private(&self) -> bool {
        matches!(
            self,
            StreamName::OrderUpdate(_)
                | StreamName::RfqUpdate(_)
                | StreamName::BalanceUpdate
                | StreamName::PositionUpdate(_)
        )
    }

    /// The topic this name subscribes to, given its market (if it names one) and, for private
    /// streams, the account the signature proved.
    pub fn topic(&self, market: Option<MarketId>, account: Option<AccountId>) -> Option<Topic> {
        Some(match *self {
            StreamName::Depth(window, _) => Topic::Depth(market?, window),
            StreamName::Trade(_) => Topic::Trade(market?),
            StreamName::BookTicker(_) => Topic::BookTicker(market?),
            StreamName::Ticker(_) => Topic::Ticker(market?),
            StreamName::Kline(interval, _) => Topic::Kline(market?, interval),
            StreamName::MarkPrice(_) => Topic::MarkPrice(market?),
            StreamName::OpenInterest(_) => Topic::OpenInterest(market?),
            StreamName::Liquidation => Topic::Liquidations,
            StreamName::OrderUpdate(None) => Topic::Orders(account?, None),
            StreamName::OrderUpdate(Some(_)) => Topic::Orders(account?, Some(market?)),
            StreamName::RfqUpdate(None) => Topic::Rfqs(account?, None),
            StreamName::RfqUpdate(Some(_)) => Topic::Rfqs(account?, Some(market?)),
            StreamName::BalanceUpdate => Topic::Balances(account?),
            StreamName::PositionUpdate(None) => Topic::Positions(account?, None),
            StreamName::PositionUpdate(Some(_)) => Topic::Positions(account?, Some(market?)),
        })
    }
}

/// What a subscription is to, resolved to ids. Each topic has exactly one stream name, so the
/// name a client subscribed with is the one its frames carry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Topic {
    Depth(MarketId, DepthWindow),
    Trade(MarketId),
    BookTicker(MarketId),
    Ticker(MarketId),
    Kline(MarketId, KlineInterval),
    MarkPrice(MarketId),
    OpenInterest(MarketId),
    Liquidations,
    Orders(AccountId, Option<MarketId>),
    Positions(AccountId, Option<MarketId>),
    Balances(AccountId),
    Rfqs(AccountId, Option<MarketId>),
}
