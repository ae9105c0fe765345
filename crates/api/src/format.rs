//! Rendering integers the way the venue prints them: decimals as strings with the tick, step or
//! asset precision, and the several timestamp formats of the wire.

use rucksack_types::{Amount, AssetSpec, Decimal, FinePrice, Lots, MarketSpec, Ticks, Timestamp};

pub fn price(spec: &MarketSpec, price: Ticks) -> String {
    Decimal::format_units(price.0, spec.tick_size)
}

pub fn quantity(spec: &MarketSpec, lots: Lots) -> String {
    Decimal::format_units(lots.0, spec.step_size)
}

/// A fine price as a decimal with at least the market's tick places, and as many more as it
/// takes to be exact.
pub fn exact_price(spec: &MarketSpec, price: FinePrice) -> String {
    let text = price.to_decimal_string(spec.tick_size);
    let places = spec.tick_size.scale() as usize;
    let (whole, fraction) = text.split_once('.').unwrap_or((&text, ""));
    if places == 0 || fraction.len() >= places {
        return text;
    }
    format!("{whole}.{fraction:0<places$}")
}

pub fn amount(asset: &AssetSpec, amount: Amount) -> String {
    match Decimal::unit(asset.decimals) {
        Ok(unit) => Decimal::format_units(amount.0, unit),
        Err(_) => amount.0.to_string(),
    }
}

/// Days since 1970-01-01 to a civil (year, month, day), proleptic Gregorian.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

fn parts(time: Timestamp) -> (i64, u32, u32, u64, u64, u64, u64) {
    let micros = time.0;
    let seconds = micros / 1_000_000;
    let (year, month, day) = civil_from_days((seconds / 86_400) as i64);
    let of_day = seconds % 86_400;
    (year, month, day, of_day / 3_600, of_day % 3_600 / 60, of_day % 60, micros % 1_000_000)
}

/// `2025-07-27T17:39:00.092`: naive UTC with milliseconds (fills, order history, deposits).
pub fn naive_datetime(time: Timestamp) -> String {
    let (y, mo, d, h, mi, s, us) = parts(time);
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{:03}", us / 1_000)
}

/// A signed amount of `asset` (a lend positive, a borrow negative), with the asset's places.
pub fn signed_amount(asset: &AssetSpec, value: i128) -> String {
    let magnitude = amount(asset, Amount(value.unsigned_abs().min(i64::MAX as u128) as i64));
    if value < 0 { format!("-{magnitude}") } else { magnitude }
}

/// `2025-07-27T17:39:00.092Z`: RFC 3339 in UTC (borrow-lend markets, which clients parse with a
/// zone).
pub fn rfc3339(time: Timestamp) -> String {
    format!("{}Z", naive_datetime(time))
}

/// `2025-07-19 13:09:00`: kline `start`/`end`.
pub fn kline_time(time: Timestamp) -> String {
    let (y, mo, d, h, mi, s, _) = parts(time);
    format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_render_in_the_wire_formats() {
        // 2025-07-27T17:39:00.092Z
        let time = Timestamp(1_753_637_940_092_000);
        assert_eq!(naive_datetime(time), "2025-07-27T17:39:00.092");
        assert_eq!(kline_time(time), "2025-07-27 17:39:00");
        assert_eq!(naive_datetime(Timestamp(0)), "1970-01-01T00:00:00.000");
        // A leap day.
        assert_eq!(kline_time(Timestamp(1_709_164_800_000_000)), "2024-02-29 00:00:00");
    }
}

/// The (year, month) holding `seconds` since the epoch.
pub fn year_month(seconds: u64) -> (i64, u32) {
    let (year, month, _) = civil_from_days((seconds / 86_400) as i64);
    (year, month)
}

/// Seconds since the epoch at 00:00 UTC on the first of `month` in `year`.
pub fn month_start(year: i64, month: u32) -> u64 {
    // Inverse of civil_from_days for day 1.
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    (days.max(0) as u64) * 86_400
}

#[cfg(test)]
mod month_tests {
    use super::*;

    #[test]
    fn month_starts_round_trip() {
        for (year, month) in [(1970, 1), (2024, 2), (2024, 3), (2025, 12), (2026, 11)] {
            let start = month_start(year, month);
            assert_eq!(year_month(start), (year, month));
            assert_eq!(kline_time(Timestamp(start * 1_000_000)), format!("{year:04}-{month:02}-01 00:00:00"));
        }
    }
}
