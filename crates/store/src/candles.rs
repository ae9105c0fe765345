//! Candles from pieces: a piece is one trade or one stored one-minute candle. Pieces carry the
//! ids of the trades that opened and closed them, so they merge in any order, and every sum is
//! checked.

use std::collections::BTreeMap;

use rucksack_types::{Amount, Lots, Ticks, TradeId};

use crate::StoreError;
use crate::interval::CandleInterval;
use crate::records::Candle;

/// The trades of one stretch of time, summarised.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Piece {
    pub open: Ticks,
    pub high: Ticks,
    pub low: Ticks,
    pub close: Ticks,
    pub volume: Lots,
    pub quote_volume: Amount,
    pub trades: u64,
    pub first_trade: TradeId,
    pub last_trade: TradeId,
}

impl Piece {
    pub(crate) fn trade(id: TradeId, price: Ticks, quantity: Lots, quote: Amount) -> Piece {
        Piece {
            open: price,
            high: price,
            low: price,
            close: price,
            volume: quantity,
            quote_volume: quote,
            trades: 1,
            first_trade: id,
            last_trade: id,
        }
    }

    pub(crate) fn merge(&mut self, other: &Piece) -> Result<(), StoreError> {
        let overflow = |_| StoreError::Overflow("candle volume");
        self.volume = self.volume.checked_add(other.volume).map_err(overflow)?;
        self.quote_volume = self.quote_volume.checked_add(other.quote_volume).map_err(overflow)?;
        self.trades = self.trades.checked_add(other.trades).ok_or(StoreError::Overflow("candle trade count"))?;
        self.high = self.high.max(other.high);
        self.low = self.low.min(other.low);
        if other.first_trade < self.first_trade {
            self.first_trade = other.first_trade;
            self.open = other.open;
        }
        if other.last_trade > self.last_trade {
            self.last_trade = other.last_trade;
            self.close = other.close;
        }
        Ok(())
    }

    fn candle(&self, start_secs: u64, end_secs: u64) -> Candle {
        Candle {
            start_secs,
            end_secs,
            open: self.open,
            high: self.high,
            low: self.low,
            close: self.close,
            volume: self.volume,
            quote_volume: self.quote_volume,
            trades: self.trades,
        }
    }
}

/// The seconds whose pieces make up the candles that start in `[start, end)`: from the first
/// bucket boundary at or after `start` to the end of the bucket holding `end - 1`. `None` when
/// no candle can start in the range.
pub(crate) fn span(interval: CandleInterval, start: u64, end: Option<u64>) -> Option<(u64, Option<u64>)> {
    let (bucket_start, bucket_end) = interval.bounds(start);
    let first = if bucket_start == start { start } else { bucket_end };
    match end {
        None => Some((first, None)),
        Some(end) if end <= first => None,
        Some(end) => Some((first, Some(interval.bounds(end - 1).1))),
    }
}

/// Folds pieces, each keyed by the second its time starts at, into the interval's candles,
/// oldest first.
pub(crate) fn aggregate(
    interval: CandleInterval,
    pieces: impl IntoIterator<Item = Result<(u64, Piece), StoreError>>,
) -> Result<Vec<Candle>, StoreError> {
    let mut buckets: BTreeMap<u64, (u64, Piece)> = BTreeMap::new();
    for piece in pieces {
        let (secs, piece) = piece?;
        let (start, end) = interval.bounds(secs);
        match buckets.get_mut(&start) {
            Some((_, bucket)) => bucket.merge(&piece)?,
            None => {
                buckets.insert(start, (end, piece));
            }
        }
    }
    Ok(buckets.into_iter().map(|(start, (end, piece))| piece.candle(start, end)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trade(id: u64, price: i64, quantity: i64) -> Piece {
        Piece::trade(TradeId(id), Ticks(price), Lots(quantity), Amount(price * quantity))
    }

    #[test]
    fn open_and_close_follow_trade_ids_whatever_the_merge_order() {
        let mut forward = trade(1, 10, 1);
        forward.merge(&trade(2, 30, 2)).unwrap();
        forward.merge(&trade(3, 20, 3)).unwrap();
        let mut backward = trade(3, 20, 3);
        backward.merge(&trade(2, 30, 2)).unwrap();
        backward.merge(&trade(1, 10, 1)).unwrap();
        assert_eq!(forward, backward);
        assert_eq!(
            (forward.open, forward.high, forward.low, forward.close),
            (Ticks(10), Ticks(30), Ticks(10), Ticks(20))
        );
        assert_eq!((forward.volume, forward.quote_volume, forward.trades), (Lots(6), Amount(130), 3));
    }

    #[test]
    fn an_overflowing_volume_is_an_error() {
        let mut piece = trade(1, 1, i64::MAX);
        assert!(matches!(piece.merge(&trade(2, 1, 1)), Err(StoreError::Overflow(_))));
    }

    #[test]
    fn span_covers_whole_candles_that_start_in_the_range() {
        let hour = CandleInterval::Hour1;
        assert_eq!(span(hour, 3_600, Some(7_200)), Some((3_600, Some(7_200))));
        assert_eq!(span(hour, 3_601, Some(7_201)), Some((7_200, Some(10_800))));
        assert_eq!(span(hour, 3_601, Some(7_200)), None);
        assert_eq!(span(hour, 3_601, None), Some((7_200, None)));
    }

    #[test]
    fn pieces_fold_into_their_buckets_in_time_order() {
        let pieces = [(125, trade(3, 7, 1)), (61, trade(1, 5, 1)), (119, trade(2, 9, 2))];
        let candles = aggregate(CandleInterval::Minute1, pieces.map(Ok)).unwrap();
        assert_eq!(candles.len(), 2);
        assert_eq!((candles[0].start_secs, candles[0].end_secs, candles[0].trades), (60, 120, 2));
        assert_eq!((candles[0].open, candles[0].close, candles[0].volume), (Ticks(5), Ticks(9), Lots(3)));
        assert_eq!((candles[1].start_secs, candles[1].open), (120, Ticks(7)));
    }
}
