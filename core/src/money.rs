//! Money in integer minor units (`i64`), with ISO 4217 currencies and their exponents.
//!
//! Every amount in Momentum is an integer count of the currency's minor unit (cents for EUR, yen
//! for JPY, fils for KWD). There are no floats anywhere. Arithmetic is checked: an overflow is an
//! error, never a wrap or a panic.

use core::fmt;

/// Largest price a single offer element may have, in minor units (10^9: €10,000,000.00,
/// ¥1,000,000,000, 1,000,000.000 KWD). Anything above is treated as a configuration mistake.
pub const MAX_PRICE_MINOR: i64 = 1_000_000_000;

/// A supported ISO 4217 currency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Currency {
    /// Euro, exponent 2.
    Eur,
    /// US dollar, exponent 2.
    Usd,
    /// Pound sterling, exponent 2.
    Gbp,
    /// Swiss franc, exponent 2.
    Chf,
    /// Swedish krona, exponent 2.
    Sek,
    /// Danish krone, exponent 2.
    Dkk,
    /// Norwegian krone, exponent 2.
    Nok,
    /// Polish złoty, exponent 2.
    Pln,
    /// Czech koruna, exponent 2.
    Czk,
    /// Canadian dollar, exponent 2.
    Cad,
    /// Australian dollar, exponent 2.
    Aud,
    /// Japanese yen, exponent 0.
    Jpy,
    /// South Korean won, exponent 0.
    Krw,
    /// Kuwaiti dinar, exponent 3.
    Kwd,
    /// Bahraini dinar, exponent 3.
    Bhd,
}

const ALL: [(Currency, &str, u8); 15] = [
    (Currency::Eur, "EUR", 2),
    (Currency::Usd, "USD", 2),
    (Currency::Gbp, "GBP", 2),
    (Currency::Chf, "CHF", 2),
    (Currency::Sek, "SEK", 2),
    (Currency::Dkk, "DKK", 2),
    (Currency::Nok, "NOK", 2),
    (Currency::Pln, "PLN", 2),
    (Currency::Czk, "CZK", 2),
    (Currency::Cad, "CAD", 2),
    (Currency::Aud, "AUD", 2),
    (Currency::Jpy, "JPY", 0),
    (Currency::Krw, "KRW", 0),
    (Currency::Kwd, "KWD", 3),
    (Currency::Bhd, "BHD", 3),
];

impl Currency {
    /// Every supported currency.
    pub fn all() -> impl Iterator<Item = Currency> {
        ALL.iter().map(|(c, _, _)| *c)
    }

    /// Parses an upper-case ISO 4217 code (`"EUR"`). Anything else is [`MoneyError::UnknownCurrency`].
    pub fn from_code(code: &str) -> Result<Currency, MoneyError> {
        ALL.iter()
            .find(|(_, c, _)| *c == code)
            .map(|(cur, _, _)| *cur)
            .ok_or(MoneyError::UnknownCurrency)
    }

    /// The ISO 4217 code.
    pub fn code(self) -> &'static str {
        ALL.iter()
            .find(|(c, _, _)| *c == self)
            .map(|(_, s, _)| *s)
            .unwrap_or("XXX")
    }

    /// Number of decimal digits of the minor unit (EUR 2, JPY 0, KWD 3).
    pub fn exponent(self) -> u8 {
        ALL.iter()
            .find(|(c, _, _)| *c == self)
            .map(|(_, _, e)| *e)
            .unwrap_or(2)
    }

    /// Minor units per major unit (10^exponent).
    pub fn minor_per_major(self) -> i64 {
        10_i64.pow(u32::from(self.exponent()))
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// Why a money operation failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MoneyError {
    /// The currency code is not one Momentum supports.
    UnknownCurrency,
    /// Two amounts in different currencies were combined.
    CurrencyMismatch,
    /// The result does not fit in an `i64` of minor units.
    Overflow,
    /// A decimal string could not be read as an amount in this currency.
    InvalidDecimal,
}

impl fmt::Display for MoneyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            MoneyError::UnknownCurrency => "unknown currency",
            MoneyError::CurrencyMismatch => "currencies differ",
            MoneyError::Overflow => "amount out of range",
            MoneyError::InvalidDecimal => "not a valid amount",
        })
    }
}

impl std::error::Error for MoneyError {}

/// An amount of money: integer minor units plus the currency they count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Money {
    minor: i64,
    currency: Currency,
}

impl Money {
    /// An amount of `minor` units of `currency`.
    pub const fn new(minor: i64, currency: Currency) -> Money {
        Money { minor, currency }
    }

    /// Zero in `currency`.
    pub const fn zero(currency: Currency) -> Money {
        Money { minor: 0, currency }
    }

    /// The amount in minor units.
    pub const fn minor(self) -> i64 {
        self.minor
    }

    /// The currency.
    pub const fn currency(self) -> Currency {
        self.currency
    }

    /// `self + other`, or an error on currency mismatch or overflow.
    pub fn checked_add(self, other: Money) -> Result<Money, MoneyError> {
        if self.currency != other.currency {
            return Err(MoneyError::CurrencyMismatch);
        }
        let minor = self
            .minor
            .checked_add(other.minor)
            .ok_or(MoneyError::Overflow)?;
        Ok(Money::new(minor, self.currency))
    }

    /// `self - other`, or an error on currency mismatch or overflow.
    pub fn checked_sub(self, other: Money) -> Result<Money, MoneyError> {
        if self.currency != other.currency {
            return Err(MoneyError::CurrencyMismatch);
        }
        let minor = self
            .minor
            .checked_sub(other.minor)
            .ok_or(MoneyError::Overflow)?;
        Ok(Money::new(minor, self.currency))
    }

    /// `self * factor`, or [`MoneyError::Overflow`].
    pub fn checked_mul(self, factor: i64) -> Result<Money, MoneyError> {
        let minor = self.minor.checked_mul(factor).ok_or(MoneyError::Overflow)?;
        Ok(Money::new(minor, self.currency))
    }

    /// Sum of amounts that must all be in `currency`.
    pub fn checked_sum<I: IntoIterator<Item = Money>>(
        currency: Currency,
        items: I,
    ) -> Result<Money, MoneyError> {
        items
            .into_iter()
            .try_fold(Money::zero(currency), Money::checked_add)
    }

    /// The amount as a plain decimal string with exactly `exponent` decimals and no grouping:
    /// `4900 EUR` → `"49.00"`, `4900 JPY` → `"4900"`, `1500 KWD` → `"1.500"`.
    pub fn to_decimal_string(self) -> String {
        let exp = usize::from(self.currency.exponent());
        let neg = self.minor < 0;
        let digits = self.minor.unsigned_abs().to_string();
        let mut out = String::with_capacity(digits.len() + 3);
        if neg {
            out.push('-');
        }
        if exp == 0 {
            out.push_str(&digits);
            return out;
        }
        let padded = if digits.len() <= exp {
            format!("{}{}", "0".repeat(exp + 1 - digits.len()), digits)
        } else {
            digits
        };
        let split = padded.len() - exp;
        out.push_str(&padded[..split]);
        out.push('.');
        out.push_str(&padded[split..]);
        out
    }

    /// Reads a decimal string (`"49"`, `"49.5"`, `"49.00"`, `"-1.250"`) with at most `exponent`
    /// decimals. More decimals than the currency has is an error, not a rounding.
    pub fn parse_decimal(s: &str, currency: Currency) -> Result<Money, MoneyError> {
        let exp = usize::from(currency.exponent());
        let (neg, body) = match s.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, s),
        };
        let (int, frac) = match body.split_once('.') {
            Some((i, f)) => (i, f),
            None => (body, ""),
        };
        let all_digits = |p: &str| p.bytes().all(|b| b.is_ascii_digit());
        if int.is_empty()
            || !all_digits(int)
            || !all_digits(frac)
            || frac.len() > exp
            || (body.contains('.') && frac.is_empty())
        {
            return Err(MoneyError::InvalidDecimal);
        }
        let mut minor: i64 = 0;
        for b in int
            .bytes()
            .chain(frac.bytes())
            .chain(core::iter::repeat_n(b'0', exp - frac.len()))
        {
            minor = minor
                .checked_mul(10)
                .and_then(|m| m.checked_add(i64::from(b - b'0')))
                .ok_or(MoneyError::Overflow)?;
        }
        Ok(Money::new(if neg { -minor } else { minor }, currency))
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.to_decimal_string(), self.currency.code())
    }
}

/// Multiplies `amount` by `num / den` and rounds half away from zero (half-up for the positive
/// amounts of a checkout), in minor units. `den` must be positive. This is Momentum's one rounding
/// rule; see `tax.rs`.
pub fn mul_div_round_half_up(amount: i64, num: i64, den: i64) -> Result<i64, MoneyError> {
    if den <= 0 {
        return Err(MoneyError::Overflow);
    }
    let prod = i128::from(amount) * i128::from(num);
    let den = i128::from(den);
    let q = prod / den;
    let r = prod % den;
    let rounded = if 2 * r.abs() >= den {
        q + prod.signum()
    } else {
        q
    };
    i64::try_from(rounded).map_err(|_| MoneyError::Overflow)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn exponents() {
        assert_eq!(Currency::from_code("EUR").unwrap().exponent(), 2);
        assert_eq!(Currency::from_code("USD").unwrap().exponent(), 2);
        assert_eq!(Currency::from_code("GBP").unwrap().exponent(), 2);
        assert_eq!(Currency::from_code("JPY").unwrap().exponent(), 0);
        assert_eq!(Currency::from_code("KWD").unwrap().exponent(), 3);
        assert_eq!(Currency::from_code("XXX"), Err(MoneyError::UnknownCurrency));
        assert_eq!(Currency::from_code("eur"), Err(MoneyError::UnknownCurrency));
        for c in Currency::all() {
            assert_eq!(Currency::from_code(c.code()), Ok(c));
        }
    }

    #[test]
    fn decimal_strings() {
        assert_eq!(Money::new(4900, Currency::Eur).to_decimal_string(), "49.00");
        assert_eq!(Money::new(5, Currency::Eur).to_decimal_string(), "0.05");
        assert_eq!(Money::new(-5, Currency::Eur).to_decimal_string(), "-0.05");
        assert_eq!(Money::new(4900, Currency::Jpy).to_decimal_string(), "4900");
        assert_eq!(Money::new(1500, Currency::Kwd).to_decimal_string(), "1.500");
        assert_eq!(
            Money::new(i64::MIN, Currency::Eur).to_decimal_string(),
            "-92233720368547758.08"
        );
        assert_eq!(
            Money::parse_decimal("49.5", Currency::Eur),
            Ok(Money::new(4950, Currency::Eur))
        );
        assert_eq!(
            Money::parse_decimal("1.5", Currency::Jpy),
            Err(MoneyError::InvalidDecimal)
        );
        assert_eq!(
            Money::parse_decimal("1.", Currency::Eur),
            Err(MoneyError::InvalidDecimal)
        );
        assert_eq!(
            Money::parse_decimal("99999999999999999999", Currency::Eur),
            Err(MoneyError::Overflow)
        );
    }

    #[test]
    fn checked_ops() {
        let e = Money::new(i64::MAX, Currency::Eur);
        assert_eq!(
            e.checked_add(Money::new(1, Currency::Eur)),
            Err(MoneyError::Overflow)
        );
        assert_eq!(
            Money::new(1, Currency::Eur).checked_add(Money::new(1, Currency::Usd)),
            Err(MoneyError::CurrencyMismatch)
        );
        assert_eq!(
            Money::new(i64::MIN, Currency::Eur).checked_sub(Money::new(1, Currency::Eur)),
            Err(MoneyError::Overflow)
        );
        assert_eq!(e.checked_mul(2), Err(MoneyError::Overflow));
    }

    #[test]
    fn rounding_half_up() {
        assert_eq!(mul_div_round_half_up(5, 1, 2), Ok(3));
        assert_eq!(mul_div_round_half_up(-5, 1, 2), Ok(-3));
        assert_eq!(mul_div_round_half_up(4, 1, 3), Ok(1));
        assert_eq!(
            mul_div_round_half_up(i64::MAX, 3, 1),
            Err(MoneyError::Overflow)
        );
    }

    fn currency() -> impl Strategy<Value = Currency> {
        prop::sample::select(Currency::all().collect::<Vec<_>>())
    }

    proptest! {
        #[test]
        fn decimal_round_trip(minor in any::<i64>().prop_filter("not MIN", |m| *m != i64::MIN), cur in currency()) {
            let m = Money::new(minor, cur);
            prop_assert_eq!(Money::parse_decimal(&m.to_decimal_string(), cur), Ok(m));
        }

        #[test]
        fn add_is_checked(a in any::<i64>(), b in any::<i64>(), cur in currency()) {
            let r = Money::new(a, cur).checked_add(Money::new(b, cur));
            match a.checked_add(b) {
                Some(s) => prop_assert_eq!(r, Ok(Money::new(s, cur))),
                None => prop_assert_eq!(r, Err(MoneyError::Overflow)),
            }
        }

        #[test]
        fn rounding_is_within_half_unit(amount in -1_000_000_000_000i64..1_000_000_000_000, num in 0i64..100_000, den in 1i64..100_000) {
            let r = mul_div_round_half_up(amount, num, den).unwrap();
            // |r*den - amount*num| <= den/2
            let diff = (i128::from(r) * i128::from(den) - i128::from(amount) * i128::from(num)).abs();
            prop_assert!(2 * diff <= i128::from(den));
        }
    }
}
