//! HTML escaping, the page shell, and the dashboard's number, money and date formats.
//!
//! Every value that reaches a page goes through [`esc`] (text and attribute values alike): offer
//! copy, e-mails, ids and query strings are untrusted. Markup is written by this module's callers
//! as string literals only.
//!
//! **Money** ([`money`]): the currency's exponent from core (`Currency::exponent`), thousands
//! grouped with commas, a symbol in front for EUR `€`, USD `$`, GBP `£`, JPY `¥` and KRW `₩`,
//! the ISO code after the number for every other currency (`1,234.500 KWD`); negative amounts
//! carry U+2212 `−`. Means (per buyer, per visitor) are rounded to the minor unit, half away
//! from zero. **Rates** are percentages with one decimal (`33.3%`), rounded half up; differences
//! of rates are percentage points (`+12.5 pp`). **Days** are ISO dates in UTC (`2026-01-31`).

use momentum_core::metrics::Day;
use momentum_core::money::{Currency, Money};

/// Escapes `s` for HTML text and for double- or single-quoted attribute values.
pub fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

/// Percent-encodes `s` for a query-string value.
pub fn url_enc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            o.push(char::from(b));
        } else {
            o.push_str(&format!("%{b:02X}"));
        }
    }
    o
}

/// Which entry of the navigation is the current page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nav {
    /// The overview (figures and pictures).
    Overview,
    /// Orders and refunds.
    Orders,
    /// Costs.
    Costs,
    /// No entry (sign-in, errors).
    None,
}

/// A whole page. With `csrf`, the header has the navigation and the sign-out form; `main` is
/// trusted markup (already escaped by its builder).
pub fn page(title: &str, nav: Nav, csrf: Option<&str>, main: &str) -> String {
    let header = match csrf {
        Some(token) => {
            let item = |href: &str, label: &str, which: Nav| {
                let current = if nav == which {
                    " aria-current=\"page\""
                } else {
                    ""
                };
                format!("<li><a href=\"{href}\"{current}>{label}</a></li>")
            };
            format!(
                "<header class=\"top\"><p class=\"brand\">Momentum</p>\
<nav aria-label=\"Dashboard\"><ul>{}{}{}</ul></nav>\
<form class=\"signout\" method=\"post\" action=\"/admin/logout\">\
<input type=\"hidden\" name=\"csrf\" value=\"{}\"><button type=\"submit\" class=\"secondary\">Sign out</button></form></header>",
                item("/admin", "Overview", Nav::Overview),
                item("/admin/orders", "Orders", Nav::Orders),
                item("/admin/costs", "Costs", Nav::Costs),
                esc(token),
            )
        }
        None => "<header class=\"top\"><p class=\"brand\">Momentum</p></header>".to_string(),
    };
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<title>{} · Momentum dashboard</title><link rel=\"icon\" href=\"data:,\">\
<link rel=\"stylesheet\" href=\"/admin/admin.css\"></head>\
<body><a class=\"skip\" href=\"#main\">Skip to content</a>{header}\
<main id=\"main\" tabindex=\"-1\">{main}</main></body></html>\n",
        esc(title)
    )
}

// ------------------------------------------------------------------------ numbers

/// Groups the integer digits of a plain decimal string (`"1234.50"` → `"1,234.50"`).
fn group(decimal: &str) -> String {
    let (int, frac) = match decimal.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (decimal, None),
    };
    let mut out = String::with_capacity(decimal.len() + int.len() / 3);
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if let Some(f) = frac {
        out.push('.');
        out.push_str(f);
    }
    out
}

fn symbol(currency: Currency) -> Option<&'static str> {
    match currency.code() {
        "EUR" => Some("€"),
        "USD" => Some("$"),
        "GBP" => Some("£"),
        "JPY" => Some("¥"),
        "KRW" => Some("₩"),
        _ => None,
    }
}

/// Formats `minor` units of `currency` (`€1,234.50`, `¥4,900`, `1,234.500 KWD`, `−€9.00`).
pub fn money(minor: i64, currency: Currency) -> String {
    let digits = group(&Money::new(minor.saturating_abs(), currency).to_decimal_string());
    let sign = if minor < 0 { "−" } else { "" };
    match symbol(currency) {
        Some(s) => format!("{sign}{s}{digits}"),
        None => format!("{sign}{digits} {}", currency.code()),
    }
}

/// [`money`] with an explicit `+` for positive amounts (differences).
pub fn money_signed(minor: i64, currency: Currency) -> String {
    if minor > 0 {
        format!("+{}", money(minor, currency))
    } else {
        money(minor, currency)
    }
}

/// A mean in (fractional) minor units, rounded to the minor unit half away from zero.
pub fn money_f(minor: f64, currency: Currency) -> String {
    money(round_minor(minor), currency)
}

/// [`money_f`] with an explicit `+` for positive amounts.
pub fn money_f_signed(minor: f64, currency: Currency) -> String {
    money_signed(round_minor(minor), currency)
}

fn round_minor(minor: f64) -> i64 {
    if minor.is_finite() {
        // `as` saturates; `round` is half away from zero.
        minor.round() as i64
    } else {
        0
    }
}

/// The exact mean `sum / n` in minor units, rounded half away from zero (no float involved).
pub fn exact_mean_minor(sum: i64, n: u64) -> Option<i64> {
    if n == 0 {
        return None;
    }
    let (sum, n) = (i128::from(sum), i128::from(n));
    let q = (sum.abs() * 2 + n) / (2 * n);
    i64::try_from(if sum < 0 { -q } else { q }).ok()
}

/// A proportion in tenths of a percent, rounded half up (`1 of 3` → 333).
fn permille(successes: u64, trials: u64) -> Option<u128> {
    (trials > 0)
        .then(|| (u128::from(successes) * 2000 + u128::from(trials)) / (2 * u128::from(trials)))
}

/// `successes / trials` as a percentage (`33.3%`), exactly rounded; `–` without trials.
pub fn percent_exact(successes: u64, trials: u64) -> String {
    match permille(successes, trials) {
        Some(p) => format!("{}.{}%", p / 10, p % 10),
        None => "–".to_string(),
    }
}

fn tenths(value: f64) -> i64 {
    if value.is_finite() {
        (value * 1000.0).round() as i64
    } else {
        0
    }
}

fn tenths_text(t: i64) -> String {
    let sign = if t < 0 { "−" } else { "" };
    format!("{sign}{}.{}", t.unsigned_abs() / 10, t.unsigned_abs() % 10)
}

/// A proportion (0–1) as a percentage with one decimal.
pub fn percent(value: f64) -> String {
    format!("{}%", tenths_text(tenths(value)))
}

/// A difference of proportions in percentage points, signed (`+12.5 pp`).
pub fn points_signed(value: f64) -> String {
    let t = tenths(value);
    let plus = if t > 0 { "+" } else { "" };
    format!("{plus}{} pp", tenths_text(t))
}

/// A count with thousands separators.
pub fn count(n: u64) -> String {
    group(&n.to_string())
}

// ------------------------------------------------------------------------ days

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's `days_from_civil`).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day count (inverse of [`days_from_civil`]).
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// `YYYY-MM-DD` of a day.
pub fn date(day: Day) -> String {
    let (y, m, d) = civil_from_days(i64::from(day.0));
    format!("{y:04}-{m:02}-{d:02}")
}

/// A Unix time as `YYYY-MM-DD HH:MM UTC`.
pub fn datetime(secs: i64) -> String {
    let day = secs.div_euclid(86_400);
    let rest = secs.rem_euclid(86_400);
    let d = i32::try_from(day).map(Day).map(date).unwrap_or_default();
    format!("{d} {:02}:{:02} UTC", rest / 3600, rest % 3600 / 60)
}

/// Reads a `YYYY-MM-DD` date (what `<input type="date">` sends); `None` for anything else.
pub fn parse_date(s: &str) -> Option<Day> {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let part = s.get(r)?;
        part.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| part.parse().ok())?
    };
    let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    let days = days_from_civil(y, m, d);
    // 31 February comes back as 3 March: not a date.
    (civil_from_days(days) == (y, m, d))
        .then(|| i32::try_from(days).ok().map(Day))
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_everything_that_could_open_markup() {
        assert_eq!(
            esc(r#"<img src=x onerror="a('1')">&"#),
            "&lt;img src=x onerror=&quot;a(&#39;1&#39;)&quot;&gt;&amp;"
        );
    }

    #[test]
    fn money_uses_the_currency_exponent() {
        let eur = Currency::from_code("EUR").expect("EUR");
        let jpy = Currency::from_code("JPY").expect("JPY");
        let kwd = Currency::from_code("KWD").expect("KWD");
        assert_eq!(money(123_450, eur), "€1,234.50");
        assert_eq!(money(-900, eur), "−€9.00");
        assert_eq!(money(5, eur), "€0.05");
        assert_eq!(money(4_900, jpy), "¥4,900");
        assert_eq!(money(1_234_500, kwd), "1,234.500 KWD");
        assert_eq!(money_signed(120, eur), "+€1.20");
        assert_eq!(money_f(4733.5, eur), "€47.34");
        assert_eq!(money_f(-4733.5, eur), "−€47.34");
        assert_eq!(exact_mean_minor(14_197, 3), Some(4732));
        assert_eq!(exact_mean_minor(-5, 2), Some(-3));
        assert_eq!(exact_mean_minor(1, 0), None);
    }

    #[test]
    fn rates_round_half_up() {
        assert_eq!(percent_exact(1, 3), "33.3%");
        assert_eq!(percent_exact(1, 16), "6.3%");
        assert_eq!(percent_exact(0, 12), "0.0%");
        assert_eq!(percent_exact(0, 0), "–");
        assert_eq!(percent(0.125), "12.5%");
        assert_eq!(points_signed(-0.031), "−3.1 pp");
        assert_eq!(points_signed(0.2), "+20.0 pp");
        assert_eq!(count(1_234_567), "1,234,567");
    }

    #[test]
    fn dates_round_trip() {
        assert_eq!(parse_date("1970-01-01"), Some(Day(0)));
        assert_eq!(
            parse_date("2026-01-31").map(date).as_deref(),
            Some("2026-01-31")
        );
        assert_eq!(
            parse_date("2024-02-29").map(date).as_deref(),
            Some("2024-02-29")
        );
        for bad in [
            "2023-02-29",
            "2026-13-01",
            "2026-1-01",
            "26-01-01",
            "",
            "2026-01-3x",
            "+026-01-01",
        ] {
            assert_eq!(parse_date(bad), None, "{bad}");
        }
        assert_eq!(date(Day(-1)), "1969-12-31");
        assert_eq!(datetime(1_767_225_600 + 3_723), "2026-01-01 01:02 UTC");
    }
}
