//! The perpetual clock: mark prices from the index and the book, and funding at each interval
//! end. O(markets) per sample: funding reaches positions through the cumulative index.

use rucksack_types::{BookPrices, Event, FinePrice, Fraction, MarketId, Reject, Rounding, Timestamp};

use crate::engine::Engine;

/// The most intervals one clock sample pays; a clock that stopped for longer catches up over
/// the following samples.
const MAX_INTERVALS_PER_SAMPLE: u32 = 24;

impl Engine {
    pub(crate) fn update_mark_prices(&mut self) -> Result<(), Reject> {
        for market_index in 0..self.markets.len() {
            if self.markets[market_index].perp.is_some() {
                self.sample_market(market_index);
            }
        }
        Ok(())
    }

    fn sample_market(&mut self, market_index: usize) {
        let now = self.time;
        let market = &self.markets[market_index];
        let tick = market.spec.tick_size;
        let index = self.risk.prices[usize::from(market.spec.base.0)]
            .and_then(|point| FinePrice::from_index(point.price, tick));
        let book = BookPrices {
            best_bid: market.book.best_bid().map(FinePrice::from_ticks),
            best_ask: market.book.best_ask().map(FinePrice::from_ticks),
            last: market.perp.as_ref().and_then(|p| p.last_trade).map(FinePrice::from_ticks),
        };
        let Some(perp) = self.markets[market_index].perp.as_mut() else { return };
        perp.index = index;
        if let (Some(index), Some(mid)) = (index, book.mid()) {
            let elapsed = perp.last_sample.map_or(0, |last| now.0.saturating_sub(last.0));
            perp.smoothed_premium =
                Some(rucksack_types::perp::smoothed_premium(perp.smoothed_premium, mid.0 - index.0, elapsed));
        }
        let elapsed = perp.last_sample.map_or(0, |last| now.0.saturating_sub(last.0));
        perp.last_sample = Some(now);
        let Some(mark) = rucksack_types::perp::mark_price(index, perp.smoothed_premium, perp.spec.mark_band, book)
        else {
            return;
        };
        perp.mark = Some(mark);
        let window = rucksack_types::perp::MEAN_MARK_WINDOW_MICROS;
        let mean = rucksack_types::perp::moving_average(perp.mean_mark.map(|m| m.0), mark.0, elapsed, window);
        perp.mean_mark = Some(FinePrice(mean));
        if perp.interval_end == Timestamp(0) {
            perp.interval_end = perp.spec.interval_end(now);
        }
        let mut paid = 0;
        while perp.interval_end <= now && paid < MAX_INTERVALS_PER_SAMPLE {
            let rate = perp.funding_estimate();
            // Longs pay `rate × mark` per lot (shorts receive it); the same amount per lot on
            // both sides, so funding sums to zero whatever the rounding.
            let per_lot = rate.of(mark.0, Rounding::Down).unwrap_or(0);
            perp.cumulative_funding += per_lot;
            let event = Event::FundingPaid {
                market: MarketId(market_index as u16),
                interval_end: perp.interval_end,
                rate,
                mark,
                per_lot,
                cumulative: perp.cumulative_funding,
            };
            perp.interval_end = Timestamp(perp.interval_end.0 + perp.spec.funding_interval_micros);
            perp.premium_sum = 0;
            perp.premium_samples = 0;
            paid += 1;
            self.events.push(event);
        }
        let Some(perp) = self.markets[market_index].perp.as_mut() else { return };
        let premium = index.and_then(|index| mark.premium_over(index)).unwrap_or(Fraction::ZERO);
        perp.premium_sum += i128::from(premium.0);
        perp.premium_samples += 1;
        let (funding_rate, open_interest) = (perp.funding_estimate(), rucksack_types::Lots(perp.open_interest));
        self.events.push(Event::MarkPriceSet {
            market: MarketId(market_index as u16),
            index,
            mark,
            funding_rate,
            open_interest,
        });
    }
}
