//! UTC calendar days as `YYYY-MM-DD` (the metrics' days are UTC, see `docs/api.md`).

use momentum_core::metrics::Day;

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's `days_from_civil`).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_from_march = i64::from((month + 9) % 12);
    let day_of_year = (153 * month_from_march + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The date of a day count (H. Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * month_from_march + 2) / 5 + 1) as u32;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Parses `YYYY-MM-DD` (years 1970–9999) into its UTC day.
pub fn parse_day(text: &str) -> Option<Day> {
    let bytes = text.as_bytes();
    let digits = |range: std::ops::Range<usize>| -> Option<u32> {
        let part = text.get(range)?;
        part.bytes()
            .all(|b| b.is_ascii_digit())
            .then(|| part.parse().ok())?
    };
    if bytes.len() != 10 || bytes[4] != b'-' || bytes[7] != b'-' {
        return None;
    }
    let (year, month, day) = (digits(0..4)?, digits(5..7)?, digits(8..10)?);
    if year < 1970 || !(1..=12).contains(&month) || day == 0 {
        return None;
    }
    let days = days_from_civil(i64::from(year), month, day);
    // 2025-02-30 would be 2025-03-02: the date must come back as written.
    (civil_from_days(days) == (i64::from(year), month, day))
        .then(|| i32::try_from(days).ok().map(Day))?
}

/// `YYYY-MM-DD` of a UTC day.
pub fn format_day(day: Day) -> String {
    let (year, month, day) = civil_from_days(i64::from(day.0));
    format!("{year:04}-{month:02}-{day:02}")
}

/// `YYYY-MM-DDTHH:MM:SSZ` of Unix seconds.
pub fn format_timestamp(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rest = secs.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rest / 3600,
        rest / 60 % 60,
        rest % 60
    )
}

/// The UTC day of Unix seconds.
pub fn day_of(secs: i64) -> Day {
    Day(i32::try_from(secs.div_euclid(86_400)).unwrap_or(i32::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_round_trip() {
        assert_eq!(parse_day("1970-01-01"), Some(Day(0)));
        assert_eq!(parse_day("2000-03-01"), Some(Day(11_017)));
        assert_eq!(
            parse_day("2024-02-29").map(format_day).as_deref(),
            Some("2024-02-29")
        );
        for day in (0..200_000).step_by(37) {
            assert_eq!(parse_day(&format_day(Day(day))), Some(Day(day)));
        }
        assert_eq!(format_timestamp(1_767_225_600), "2026-01-01T00:00:00Z");
        assert_eq!(
            format_timestamp(1_767_225_600 + 3_723),
            "2026-01-01T01:02:03Z"
        );
        assert_eq!(day_of(1_767_225_599), Day(20_453));
    }

    #[test]
    fn bad_dates_are_refused() {
        for bad in [
            "",
            "2025-1-01",
            "2025-02-30",
            "2023-02-29",
            "2025-13-01",
            "2025-00-10",
            "1969-12-31",
            "2025/01/01",
            "+025-01-01",
            "2025-01-01T00:00",
            " 2025-01-01",
            "２０２５-01-01",
        ] {
            assert_eq!(parse_day(bad), None, "{bad:?}");
        }
    }
}
