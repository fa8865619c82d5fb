//! VAT on digital goods, by the buyer's country (destination principle).
//!
//! # The rule
//! Momentum's reference setup is a creator established in the EU selling electronically supplied
//! services (courses, presets, templates) to consumers, registered for the EU One-Stop-Shop:
//!
//! * buyer in an EU member state → that state's **standard** VAT rate ([`EU_VAT_RATES`], rates in
//!   force in 2025; e-services take the standard rate);
//! * buyer anywhere else → **no VAT** (rate 0, and no tax line). A seller registered elsewhere
//!   (UK, Norway, Switzerland, …) extends the table; the shape of quotes does not change.
//!
//! # Rounding (the one rule)
//! Tax is computed **per line**, in minor units, rounded **half up** (half away from zero) with
//! [`crate::money::mul_div_round_half_up`]:
//!
//! * `exclusive` prices: `tax = round(amount × rate_bp / 10 000)`, charged on top;
//! * `inclusive` prices: `tax = round(amount × rate_bp / (10 000 + rate_bp))`, already contained
//!   in the amount.
//!
//! A quote's tax line is the sum of its lines' taxes, so refunding one line refunds exactly the
//! tax that line carried.

use core::fmt;

use crate::money::{mul_div_round_half_up, MoneyError};

/// Whether offer prices already contain VAT (EU consumer pricing) or VAT is added on top.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum TaxMode {
    /// Prices include VAT; the total is the sum of the prices; the tax line is informative.
    Inclusive,
    /// VAT is added to the prices; the total is the sum of the prices plus the tax lines.
    Exclusive,
}

impl TaxMode {
    /// `"inclusive"` / `"exclusive"`.
    pub fn as_str(self) -> &'static str {
        match self {
            TaxMode::Inclusive => "inclusive",
            TaxMode::Exclusive => "exclusive",
        }
    }

    /// Parses `"inclusive"` / `"exclusive"`.
    pub fn parse(s: &str) -> Option<TaxMode> {
        match s {
            "inclusive" => Some(TaxMode::Inclusive),
            "exclusive" => Some(TaxMode::Exclusive),
            _ => None,
        }
    }
}

/// Standard VAT rates of the 27 EU member states in basis points (1 % = 100 bp), 2025.
/// Greece is `GR` (ISO 3166), although its VAT prefix is `EL`.
pub const EU_VAT_RATES: [(&str, u32); 27] = [
    ("AT", 2000),
    ("BE", 2100),
    ("BG", 2000),
    ("CY", 1900),
    ("CZ", 2100),
    ("DE", 1900),
    ("DK", 2500),
    ("EE", 2400),
    ("ES", 2100),
    ("FI", 2550),
    ("FR", 2000),
    ("GR", 2400),
    ("HR", 2500),
    ("HU", 2700),
    ("IE", 2300),
    ("IT", 2200),
    ("LT", 2100),
    ("LU", 1700),
    ("LV", 2100),
    ("MT", 1800),
    ("NL", 2100),
    ("PL", 2300),
    ("PT", 2300),
    ("RO", 2100),
    ("SE", 2500),
    ("SI", 2200),
    ("SK", 2300),
];

/// ISO 3166-1 alpha-2 codes (plus `XK`, Kosovo, which payment providers use).
pub const COUNTRIES: &str = "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR \
BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ \
FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE \
JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR \
MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU \
RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG \
UM US UY UZ VA VC VE VG VI VN VU WF WS XK YE YT ZA ZM ZW";

/// `true` for an upper-case ISO 3166-1 alpha-2 country code.
pub fn is_country_code(code: &str) -> bool {
    code.len() == 2
        && code.bytes().all(|b| b.is_ascii_uppercase())
        && COUNTRIES.split(' ').any(|c| c == code)
}

/// The buyer's country was not an ISO 3166-1 alpha-2 code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnknownCountry;

impl fmt::Display for UnknownCountry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("not an ISO 3166-1 alpha-2 country code (e.g. \"DE\")")
    }
}

/// The VAT that applies to a sale to one country.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TaxRule {
    /// Buyer country, ISO 3166-1 alpha-2.
    pub country: [u8; 2],
    /// Rate in basis points; 0 means no VAT and no tax line.
    pub rate_bp: u32,
}

impl TaxRule {
    /// The rule for a sale of digital goods to a consumer in `country`.
    pub fn for_country(country: &str) -> Result<TaxRule, UnknownCountry> {
        if !is_country_code(country) {
            return Err(UnknownCountry);
        }
        let b = country.as_bytes();
        let rate_bp = EU_VAT_RATES
            .iter()
            .find(|(c, _)| *c == country)
            .map(|(_, r)| *r)
            .unwrap_or(0);
        Ok(TaxRule {
            country: [b[0], b[1]],
            rate_bp,
        })
    }

    /// Country code as a string.
    pub fn country_str(&self) -> &str {
        core::str::from_utf8(&self.country).unwrap_or("??")
    }

    /// Label of the tax line, e.g. `"VAT 21% (NL)"`, `"VAT 25.5% (FI)"`.
    pub fn label(&self) -> String {
        let whole = self.rate_bp / 100;
        let frac = self.rate_bp % 100;
        let pct = if frac == 0 {
            whole.to_string()
        } else if frac.is_multiple_of(10) {
            format!("{whole}.{}", frac / 10)
        } else {
            format!("{whole}.{frac:02}")
        };
        format!("VAT {pct}% ({})", self.country_str())
    }

    /// Tax carried by a line of `amount` minor units, rounded half up per line (see module docs).
    pub fn tax_for(&self, amount: i64, mode: TaxMode) -> Result<i64, MoneyError> {
        let rate = i64::from(self.rate_bp);
        match mode {
            TaxMode::Exclusive => mul_div_round_half_up(amount, rate, 10_000),
            TaxMode::Inclusive => mul_div_round_half_up(amount, rate, 10_000 + rate),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn country_table() {
        assert_eq!(COUNTRIES.split(' ').count(), 250);
        assert!(is_country_code("DE"));
        assert!(is_country_code("US"));
        assert!(!is_country_code("de"));
        assert!(!is_country_code("ZZ"));
        assert!(!is_country_code("DEU"));
        assert!(!is_country_code(""));
        for (c, _) in EU_VAT_RATES {
            assert!(is_country_code(c), "{c}");
        }
    }

    #[test]
    fn rates_and_labels() {
        let nl = TaxRule::for_country("NL").unwrap();
        assert_eq!(nl.rate_bp, 2100);
        assert_eq!(nl.label(), "VAT 21% (NL)");
        assert_eq!(
            TaxRule::for_country("FI").unwrap().label(),
            "VAT 25.5% (FI)"
        );
        assert_eq!(TaxRule::for_country("US").unwrap().rate_bp, 0);
        assert_eq!(TaxRule::for_country("XX"), Err(UnknownCountry));
    }

    #[test]
    fn per_line_rounding() {
        let de = TaxRule::for_country("DE").unwrap();
        // €49.00 incl. 19 %: 4900 * 19/119 = 782.35… → 782
        assert_eq!(de.tax_for(4900, TaxMode::Inclusive), Ok(782));
        // €9.00 incl. 19 %: 143.69… → 144
        assert_eq!(de.tax_for(900, TaxMode::Inclusive), Ok(144));
        // €0.50 excl. 19 %: 9.5 → 10 (half up)
        assert_eq!(de.tax_for(50, TaxMode::Exclusive), Ok(10));
        let us = TaxRule::for_country("US").unwrap();
        assert_eq!(us.tax_for(4900, TaxMode::Exclusive), Ok(0));
    }
}
