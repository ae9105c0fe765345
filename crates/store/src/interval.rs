//! Candle intervals with the venue's names, and the bucket each second falls in. Every bucket is
//! aligned in UTC: fixed widths on multiples of their width since the epoch, weeks on Mondays,
//! months on the first day of the calendar month.

use std::fmt;
use std::str::FromStr;

const MINUTE: u64 = 60;
const HOUR: u64 = 60 * MINUTE;
const DAY: u64 = 24 * HOUR;
/// 1970-01-01 was a Thursday; the first Monday is four days later.
const FIRST_MONDAY: u64 = 4 * DAY;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CandleInterval {
    Second1,
    Minute1,
    Minute3,
    Minute5,
    Minute15,
    Minute30,
    Hour1,
    Hour2,
    Hour4,
    Hour6,
    Hour8,
    Hour12,
    Day1,
    Day3,
    Week1,
    Month1,
}

/// A name that is not one of the venue's intervals.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown candle interval {0:?}")]
pub struct UnknownInterval(pub String);

impl CandleInterval {
    pub const ALL: [CandleInterval; 16] = [
        CandleInterval::Second1,
        CandleInterval::Minute1,
        CandleInterval::Minute3,
        CandleInterval::Minute5,
        CandleInterval::Minute15,
        CandleInterval::Minute30,
        CandleInterval::Hour1,
        CandleInterval::Hour2,
        CandleInterval::Hour4,
        CandleInterval::Hour6,
        CandleInterval::Hour8,
        CandleInterval::Hour12,
        CandleInterval::Day1,
        CandleInterval::Day3,
        CandleInterval::Week1,
        CandleInterval::Month1,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            CandleInterval::Second1 => "1s",
            CandleInterval::Minute1 => "1m",
            CandleInterval::Minute3 => "3m",
            CandleInterval::Minute5 => "5m",
            CandleInterval::Minute15 => "15m",
            CandleInterval::Minute30 => "30m",
            CandleInterval::Hour1 => "1h",
            CandleInterval::Hour2 => "2h",
            CandleInterval::Hour4 => "4h",
            CandleInterval::Hour6 => "6h",
            CandleInterval::Hour8 => "8h",
            CandleInterval::Hour12 => "12h",
            CandleInterval::Day1 => "1d",
            CandleInterval::Day3 => "3d",
            CandleInterval::Week1 => "1w",
            CandleInterval::Month1 => "1month",
        }
    }

    /// The width in seconds of every bucket but a month's.
    const fn fixed_width(self) -> Option<u64> {
        Some(match self {
            CandleInterval::Second1 => 1,
            CandleInterval::Minute1 => MINUTE,
            CandleInterval::Minute3 => 3 * MINUTE,
            CandleInterval::Minute5 => 5 * MINUTE,
            CandleInterval::Minute15 => 15 * MINUTE,
            CandleInterval::Minute30 => 30 * MINUTE,
            CandleInterval::Hour1 => HOUR,
            CandleInterval::Hour2 => 2 * HOUR,
            CandleInterval::Hour4 => 4 * HOUR,
            CandleInterval::Hour6 => 6 * HOUR,
            CandleInterval::Hour8 => 8 * HOUR,
            CandleInterval::Hour12 => 12 * HOUR,
            CandleInterval::Day1 => DAY,
            CandleInterval::Day3 => 3 * DAY,
            CandleInterval::Week1 => 7 * DAY,
            CandleInterval::Month1 => return None,
        })
    }

    /// The bucket `[start, end)` (epoch seconds) that contains `secs`. Ends saturate at
    /// `u64::MAX` at the far end of time.
    pub fn bounds(self, secs: u64) -> (u64, u64) {
        match (self, self.fixed_width()) {
            (CandleInterval::Week1, Some(width)) if secs < FIRST_MONDAY => (0, FIRST_MONDAY.min(width)),
            (CandleInterval::Week1, Some(width)) => {
                let start = secs - (secs - FIRST_MONDAY) % width;
                (start, start.saturating_add(width))
            }
            (_, Some(width)) => {
                let start = secs - secs % width;
                (start, start.saturating_add(width))
            }
            (_, None) => {
                let (year, month) = civil_month(secs / DAY);
                let next = if month == 12 { (year + 1, 1) } else { (year, month + 1) };
                let start = month_start(year, month);
                (start, month_start(next.0, next.1))
            }
        }
    }
}

/// The (year, month) of a day counted from 1970-01-01 (the proleptic Gregorian calendar, by
/// the era arithmetic of Howard Hinnant's `civil_from_days`).
fn civil_month(days: u64) -> (u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let day_of_era = z % 146_097;
    let year_of_era = (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153; // 0 = March
    let month = if shifted_month < 10 { shifted_month + 3 } else { shifted_month - 9 };
    let year = year_of_era + era * 400 + u64::from(month <= 2);
    (year, month)
}

/// The first second of a month, saturating past the representable range.
fn month_start(year: u64, month: u64) -> u64 {
    let (y, m) = if month <= 2 { (year - 1, month + 9) } else { (year, month - 3) };
    let era = y / 400;
    let year_of_era = y % 400;
    let day_of_year = (153 * m + 2) / 5;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    let days = (era * 146_097 + day_of_era).saturating_sub(719_468);
    days.saturating_mul(DAY)
}

impl FromStr for CandleInterval {
    type Err = UnknownInterval;

    fn from_str(text: &str) -> Result<CandleInterval, UnknownInterval> {
        CandleInterval::ALL
            .into_iter()
            .find(|interval| interval.as_str() == text)
            .ok_or_else(|| UnknownInterval(text.to_owned()))
    }
}

impl fmt::Display for CandleInterval {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_to_their_interval_and_nothing_else_parses() {
        for interval in CandleInterval::ALL {
            assert_eq!(interval.as_str().parse::<CandleInterval>(), Ok(interval));
        }
        for bad in ["", "1M", "1mo", "2d", "1 m", "60s"] {
            assert!(bad.parse::<CandleInterval>().is_err(), "{bad}");
        }
    }

    #[test]
    fn fixed_buckets_are_aligned_on_their_width() {
        // 2025-11-24 16:00:00 UTC plus 7 minutes 13 seconds.
        let t = 1_764_000_000 + 433;
        assert_eq!(CandleInterval::Second1.bounds(t), (t, t + 1));
        assert_eq!(CandleInterval::Minute1.bounds(t), (1_764_000_420, 1_764_000_480));
        assert_eq!(CandleInterval::Minute5.bounds(t), (1_764_000_300, 1_764_000_600));
        assert_eq!(CandleInterval::Hour1.bounds(t), (1_764_000_000, 1_764_003_600));
        assert_eq!(CandleInterval::Day1.bounds(t), (1_763_942_400, 1_764_028_800));
    }

    #[test]
    fn weeks_start_on_monday_and_months_on_the_first() {
        // 2025-11-26 (a Wednesday) 12:00 UTC: the week from Monday 2025-11-24, November.
        let t = 1_764_158_400;
        assert_eq!(CandleInterval::Week1.bounds(t), (1_763_942_400, 1_764_547_200));
        assert_eq!(CandleInterval::Month1.bounds(t), (1_761_955_200, 1_764_547_200));
        // A leap February: 2024-02-29 23:59:59 belongs to [2024-02-01, 2024-03-01).
        assert_eq!(CandleInterval::Month1.bounds(1_709_251_199), (1_706_745_600, 1_709_251_200));
        // December rolls into the next year.
        assert_eq!(CandleInterval::Month1.bounds(1_735_603_200), (1_733_011_200, 1_735_689_600));
        assert_eq!(CandleInterval::Month1.bounds(0), (0, 31 * DAY));
        assert_eq!(CandleInterval::Week1.bounds(0), (0, FIRST_MONDAY));
    }

    #[test]
    fn every_second_lies_in_its_bucket_and_buckets_tile_time() {
        for interval in CandleInterval::ALL {
            let mut t = 1_700_000_000;
            let mut previous_end = None;
            for _ in 0..50 {
                let (start, end) = interval.bounds(t);
                assert!(start <= t && t < end, "{interval} {t}");
                assert_eq!(interval.bounds(start), (start, end), "{interval}");
                assert_eq!(interval.bounds(end - 1), (start, end), "{interval}");
                if let Some(previous) = previous_end {
                    assert_eq!(previous, start, "{interval} buckets must touch");
                }
                previous_end = Some(end);
                t = end;
            }
        }
    }

    #[test]
    fn the_far_end_of_time_saturates_instead_of_overflowing() {
        for interval in CandleInterval::ALL {
            let (start, end) = interval.bounds(u64::MAX);
            assert!(start <= end, "{interval}");
        }
    }
}
