//! Copy budget for the three-second upsell card: what the shopper must read to decide — benefit
//! headline, concrete deliverable and the price frame ("Add for €27") — has to fit a skim of about
//! three seconds, right after paying, while purchase momentum is high. Longer copy is not read; the
//! card is dismissed instead. (The friction frame and refund line are read only by shoppers who
//! want them, so they are not in the budget.)
//!
//! The rate: adults read non-fiction silently at about 238 words per minute on average (Brysbaert,
//! "How many words do we read per minute?", Journal of Memory and Language, 2019). Nobody studies
//! an upsell card, though: they skim it. Carver's reading "gears" (Carver, "Reading rate: theory,
//! research, and practical implications", Journal of Reading, 1992) put skimming at about 450 wpm
//! for college readers — roughly twice the average rate, where comprehension of the gist still
//! holds; faster than that is scanning for a single item, not reading. 450 wpm × 3 s = 22.5, so the
//! budget is 22 words ([`WORD_BUDGET`]). At the plain 238 wpm the same card would take 5.5 s, which
//! is why the copy must be tight rather than the rate generous.

use core::fmt;

use crate::advice::Warning;
use crate::money::Currency;
use crate::offer::{AddOnConfig, OfferConfig};

/// Skimming rate, words per minute (Carver 1992; about twice Brysbaert's 238 wpm average).
pub const SKIM_WPM: usize = 450;
/// Time a shopper gives the card, seconds.
pub const SKIM_SECONDS: usize = 3;
/// Words that fit: 450 wpm × 3 s = 22.5, rounded down.
pub const WORD_BUDGET: usize = SKIM_WPM * SKIM_SECONDS / 60;

/// Copy that takes longer than the budget to skim.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OverBudget {
    /// Words the shopper must read.
    pub words: usize,
    /// Words that fit in the skim.
    pub budget: usize,
}

impl fmt::Display for OverBudget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} words to read; a {SKIM_SECONDS}-second skim fits {}",
            self.words, self.budget
        )
    }
}

/// Checks the words a shopper must read on an add-on card against [`WORD_BUDGET`].
pub fn check(headline: &str, deliverable: &str, price_frame: &str) -> Result<(), OverBudget> {
    let n = words(headline) + words(deliverable) + words(price_frame);
    if n <= WORD_BUDGET {
        Ok(())
    } else {
        Err(OverBudget {
            words: n,
            budget: WORD_BUDGET,
        })
    }
}

/// The price frame as read for the budget: "Add for EUR 27.00" counts like "Add for €27" (three
/// words); the widget formats the price with the shopper's locale.
pub fn price_frame(price_minor: i64, currency: &str) -> String {
    match Currency::from_code(currency) {
        Ok(c) => format!(
            "Add for {} {}",
            c.code(),
            crate::money::Money::new(price_minor, c).to_decimal_string()
        ),
        Err(_) => format!("Add for {price_minor}"),
    }
}

/// Words a reader has to take in, counted the way they are read:
/// - split on Unicode whitespace (including no-break and thin spaces) and on em/en dashes;
/// - punctuation alone (`·`, `—`, `&`) is not a word; hyphenated compounds ("20-minute") are one;
/// - a number with its currency is one word: `€27`, `27 €`, `EUR 27.00`, `1 000,00 €`, `10%`;
///   a currency symbol alone is nothing, a currency code alone is a word;
/// - Chinese and Japanese run without spaces: one word per 1.5 characters (IReST, Trauzettel-
///   Klosinski & Dietz 2012: 255–357 characters per minute against ~230 English words). Other
///   scripts without spaces (Thai, Lao, Khmer) count per space-separated chunk: an undercount.
pub fn words(text: &str) -> usize {
    let tokens: Vec<(Kind, &str)> = text
        .split(|c: char| c.is_whitespace() || matches!(c, '—' | '–' | '―' | '…'))
        .map(|t| {
            t.trim_matches(|c: char| !c.is_alphanumeric() && !is_currency_symbol(c) && c != '%')
        })
        .map(|t| (classify(t), t))
        .filter(|(k, _)| *k != Kind::Nothing)
        .collect();
    let mut n = 0;
    for (i, (kind, text)) in tokens.iter().enumerate() {
        let prev = i.checked_sub(1).map(|j| tokens[j]);
        let next = tokens.get(i + 1).copied();
        let near_number = |t: Option<(Kind, &str)>| t.is_some_and(|(k, _)| k == Kind::Number);
        n += match kind {
            Kind::Word(w) => *w,
            Kind::Symbol => 0,
            Kind::Code if near_number(prev) || near_number(next) => 0,
            Kind::Code => 1,
            // "1 000" written with a (thin) space between digit groups is one number.
            Kind::Number
                if prev.is_some_and(|(k, p)| k == Kind::Number && is_digit_group(p))
                    && is_group_continuation(text) =>
            {
                0
            }
            Kind::Number => 1,
            Kind::Nothing => 0,
        };
    }
    n
}

/// Copy-budget warnings for an offer's upsell and downsell, including variant headlines.
pub fn warnings(offer: &OfferConfig) -> Vec<Warning> {
    let mut out = Vec::new();
    let cards = [
        ("upsell", "upsell.headline", offer.upsell.as_ref()),
        ("downsell", "downsell.headline", offer.downsell.as_ref()),
    ];
    for (name, field, card) in cards {
        let Some(card) = card else { continue };
        if let Some(message) = over_budget(name, card, &card.headline, &offer.currency) {
            out.push(Warning { field, message });
        }
        if name != "upsell" {
            continue;
        }
        for v in &offer.variants {
            let Some(headline) = &v.upsell_headline else {
                continue;
            };
            if let Some(message) = over_budget(name, card, headline, &offer.currency) {
                out.push(Warning {
                    field,
                    message: format!("in variant \"{}\": {message}", v.id),
                });
            }
        }
    }
    out
}

fn over_budget(name: &str, card: &AddOnConfig, headline: &str, currency: &str) -> Option<String> {
    let frame = price_frame(card.price, currency);
    let over = check(headline, &card.deliverable, &frame).err()?;
    Some(format!(
        "the {name} card asks for {over} (headline {}, deliverable {}, price {}); shorten the headline or the deliverable",
        words(headline),
        words(&card.deliverable),
        words(&frame),
    ))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Letters: one word, or more for a run of CJK characters.
    Word(usize),
    /// A number, possibly with its currency attached or a percent sign.
    Number,
    /// A currency symbol on its own.
    Symbol,
    /// A currency code or abbreviation on its own ("EUR", "kr").
    Code,
    /// Punctuation only.
    Nothing,
}

/// Currency abbreviations written with letters, as prefixes or on their own.
const CURRENCY_WORDS: [&str; 14] = [
    "US$", "A$", "C$", "NZ$", "HK$", "S$", "R$", "kr", "zł", "Kč", "Ft", "lei", "Fr", "CHF",
];

fn classify(t: &str) -> Kind {
    if t.is_empty() {
        return Kind::Nothing;
    }
    if t.chars().all(is_currency_symbol) {
        return Kind::Symbol;
    }
    if is_currency_word(t) {
        return Kind::Code;
    }
    let core = strip_currency(t);
    let numeric = core.chars().any(|c| c.is_ascii_digit())
        && core.chars().all(|c| {
            c.is_ascii_digit()
                || matches!(
                    c,
                    '.' | ',' | '\'' | '’' | ':' | '/' | '+' | '-' | '×' | '%'
                )
        });
    if numeric {
        return Kind::Number;
    }
    if !t.chars().any(char::is_alphanumeric) {
        return Kind::Nothing;
    }
    let cjk = t.chars().filter(|&c| is_cjk(c)).count();
    if cjk == 0 {
        return Kind::Word(1);
    }
    // Runs of other letters or digits inside the token ("30分のビデオ") are words of their own.
    let other_runs = t
        .split(is_cjk)
        .filter(|s| s.chars().any(char::is_alphanumeric))
        .count();
    Kind::Word((cjk * 2).div_ceil(3) + other_runs)
}

fn is_currency_word(t: &str) -> bool {
    CURRENCY_WORDS.contains(&t)
        || (t.len() == 3
            && t.bytes().all(|b| b.is_ascii_uppercase())
            && Currency::from_code(t).is_ok())
}

/// `t` without currency symbols or a currency abbreviation at either end.
fn strip_currency(t: &str) -> &str {
    let mut t = t.trim_matches(is_currency_symbol);
    for w in CURRENCY_WORDS {
        if let Some(rest) = t.strip_prefix(w) {
            t = rest;
        } else if let Some(rest) = t.strip_suffix(w) {
            t = rest;
        }
    }
    t.trim_matches(is_currency_symbol)
}

/// One to three digits: the head of a number grouped with spaces ("1 000").
fn is_digit_group(t: &str) -> bool {
    let core = strip_currency(t);
    (1..=3).contains(&core.len()) && core.bytes().all(|b| b.is_ascii_digit())
}

/// Exactly three digits, then nothing or a decimal part ("000", "000,00", "000.50").
fn is_group_continuation(t: &str) -> bool {
    let core = strip_currency(t);
    let (group, rest) = core.split_at(core.len().min(3));
    group.len() == 3
        && group.bytes().all(|b| b.is_ascii_digit())
        && (rest.is_empty()
            || (rest.len() > 1
                && rest.starts_with(['.', ','])
                && rest[1..].bytes().all(|b| b.is_ascii_digit())))
}

fn is_currency_symbol(c: char) -> bool {
    matches!(
        c,
        '$' | '¢'
            | '£'
            | '¤'
            | '¥'
            | '֏'
            | '؋'
            | '৳'
            | '฿'
            | '៛'
            | '﷼'
            | '＄'
            | '￠'
            | '￡'
            | '￥'
            | '￦'
    ) || ('\u{20A0}'..='\u{20C0}').contains(&c)
}

fn is_cjk(c: char) -> bool {
    matches!(c,
        '\u{3040}'..='\u{30FF}' // Hiragana, Katakana
        | '\u{31F0}'..='\u{31FF}' // Katakana phonetic extensions
        | '\u{3400}'..='\u{4DBF}' // CJK extension A
        | '\u{4E00}'..='\u{9FFF}' // CJK unified ideographs
        | '\u{F900}'..='\u{FAFF}' // CJK compatibility ideographs
        | '\u{FF66}'..='\u{FF9F}' // half-width Katakana
        | '\u{20000}'..='\u{2FFFF}' // CJK extensions B–F
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::offer::demo_offer;

    #[test]
    fn the_budget_is_three_seconds_at_a_skim() {
        assert_eq!(WORD_BUDGET, 22);
    }

    #[test]
    fn plain_words_split_on_unicode_whitespace() {
        assert_eq!(words(""), 0);
        assert_eq!(words("   \n\t "), 0);
        assert_eq!(words("Get your portfolio reviewed by me"), 6);
        assert_eq!(words("no\u{00A0}break\u{2009}thin\u{3000}ideographic"), 4);
        assert_eq!(words("Überprüfung  deines   Portfolios"), 3);
        assert_eq!(words("Revisión de tu portafolio."), 4);
    }

    #[test]
    fn punctuation_is_not_a_word_and_compounds_are_one() {
        assert_eq!(words("One-click add · charged now"), 4);
        assert_eq!(words("Wait — take 10 % off"), 4);
        assert_eq!(words("Wait—take it"), 3);
        assert_eq!(words("a 20-minute review, 1:1 (on video)"), 6);
        assert_eq!(words("“Quoted” words!"), 2);
        assert_eq!(words("Tips & tricks"), 2);
    }

    #[test]
    fn a_price_is_one_word_however_it_is_written() {
        for price in [
            "€27",
            "27€",
            "€ 27",
            "27 €",
            "EUR 27",
            "27.00 EUR",
            "$1,234.50",
            "1 000 €",
            "1\u{202F}000,00\u{00A0}€",
            "€1 000 000",
            "US$27",
            "R$ 27,90",
            "27 kr",
            "CHF 27.–",
            "¥2,980",
            "10%",
        ] {
            assert_eq!(words(price), 1, "{price}");
        }
        assert_eq!(words("Add for €27"), 3);
        assert_eq!(words("Add for EUR 27.00"), 3);
        assert_eq!(words("prices in EUR"), 3);
        assert_eq!(words("€"), 0);
        assert_eq!(words("10 of your 12 photos"), 5);
        assert_eq!(words("from 10 to 30"), 4);
    }

    #[test]
    fn cjk_counts_about_one_word_per_one_and_a_half_characters() {
        assert_eq!(words("ポートフォリオ"), 5); // 7 characters
        assert_eq!(words("作品集点评"), 4); // 5 characters
        assert_eq!(words("30分のビデオ"), 5); // "30" + 5 characters
    }

    #[test]
    fn check_sums_the_three_parts() {
        assert_eq!(
            check("Short headline", "One deliverable", "Add for €27"),
            Ok(())
        );
        let long = "word ".repeat(17);
        assert_eq!(check("Two words", &long, "Add for €27"), Ok(())); // 2 + 17 + 3 = 22
        let longer = "word ".repeat(18);
        assert_eq!(
            check("Two words", &longer, "Add for €27"),
            Err(OverBudget {
                words: 23,
                budget: 22
            })
        );
        assert_eq!(
            OverBudget {
                words: 23,
                budget: 22
            }
            .to_string(),
            "23 words to read; a 3-second skim fits 22"
        );
    }

    #[test]
    fn the_price_frame_reads_as_three_words() {
        assert_eq!(price_frame(2_700, "EUR"), "Add for EUR 27.00");
        assert_eq!(price_frame(2_980, "JPY"), "Add for JPY 2980");
        assert_eq!(price_frame(5_005, "KWD"), "Add for KWD 5.005");
        for f in [
            price_frame(2_700, "EUR"),
            price_frame(2_980, "JPY"),
            price_frame(123_456_789, "KWD"),
            price_frame(1, "XXX"),
        ] {
            assert_eq!(words(&f), 3, "{f}");
        }
    }

    #[test]
    fn the_demo_offers_are_within_budget() {
        let o = demo_offer();
        let u = o.upsell.as_ref().unwrap();
        let d = o.downsell.as_ref().unwrap();
        assert_eq!(
            check(&u.headline, &u.deliverable, &price_frame(u.price, "EUR")),
            Ok(())
        );
        assert_eq!(
            check(&d.headline, &d.deliverable, &price_frame(d.price, "EUR")),
            Ok(())
        );
        for o in [
            demo_offer(),
            crate::offer::demo_offer_jpy(),
            crate::offer::demo_offer_kwd(),
        ] {
            assert_eq!(warnings(&o), vec![], "{}", o.id);
        }
    }

    #[test]
    fn over_budget_copy_is_flagged_on_the_headline_field() {
        let mut o = demo_offer();
        o.upsell.as_mut().unwrap().deliverable =
            "A 20-minute personal video review of 10 of your photos, with notes, within 7 days."
                .into();
        o.downsell.as_mut().unwrap().headline =
            "Review your own portfolio like a pro, with the very same tools I use myself".into();
        let w = warnings(&o);
        assert_eq!(
            w.iter().map(|w| w.field).collect::<Vec<_>>(),
            ["upsell.headline", "downsell.headline"]
        );
        assert_eq!(
            w[0].message,
            "the upsell card asks for 24 words to read; a 3-second skim fits 22 (headline 6, deliverable 15, price 3); shorten the headline or the deliverable"
        );
    }

    #[test]
    fn variant_headlines_are_checked_too() {
        let mut o = demo_offer();
        o.variants[1].upsell_headline =
            Some("Get your whole portfolio reviewed, personally, by me".into());
        let w = warnings(&o);
        assert_eq!(w.len(), 1);
        assert_eq!(w[0].field, "upsell.headline");
        assert!(w[0]
            .message
            .starts_with("in variant \"b\": the upsell card asks for 24 words"));
    }

    #[test]
    fn offers_without_add_ons_have_no_copy_warnings() {
        let mut o = demo_offer();
        o.upsell = None;
        o.downsell = None;
        assert_eq!(warnings(&o), vec![]);
    }
}
