//! Offer configuration: the product, its order bump, the post-purchase upsell and downsell, the exit
//! offer, and their copy, prices (integer minor units) and A/B variants.
//!
//! [`OfferConfig`] is the wire/config shape (what `GET /v1/offers/{id}` returns and what a creator
//! writes). [`OfferConfig::validate`] checks it strictly and names every problem by its field path
//! (`bump.price`, `variants[1].upsell_price`); [`OfferConfig::resolve`] applies a variant and gives
//! the typed [`ResolvedOffer`] that quotes and orders are computed from.

use core::fmt;

use crate::exit_intent::Thresholds;
use crate::money::{Currency, MAX_PRICE_MINOR};
use crate::tax::TaxMode;

mod locales;
pub use locales::{
    lookup, message_for_key, LocaleConfig, Pairs, COPY_FIELDS, MAX_MESSAGE, PLURAL_CATEGORIES,
};

/// Longest label (receipt line) a creator may write, in characters.
pub const MAX_LABEL: usize = 80;
/// Longest headline, in characters.
pub const MAX_HEADLINE: usize = 120;
/// Longest body text (description, deliverable, refund terms), in characters.
pub const MAX_TEXT: usize = 600;
/// Longest offer or variant id.
pub const MAX_ID: usize = 64;
/// Largest exit-offer discount, in percent.
pub const MAX_EXIT_DISCOUNT_PERCENT: u8 = 90;

/// The main product.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(deny_unknown_fields))]
pub struct ProductConfig {
    /// Short name, used on the receipt line.
    pub label: String,
    /// One or two sentences shown on the checkout.
    pub description: String,
    /// Price in minor units.
    pub price: i64,
}

/// The order bump: a checkbox on the checkout itself, never pre-ticked.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(deny_unknown_fields))]
pub struct BumpConfig {
    /// Checkbox text and receipt line, e.g. "Add the 40 mobile presets pack".
    pub label: String,
    /// What the shopper gets, one sentence.
    pub description: String,
    /// Price in minor units; must be below the product's price.
    pub price: i64,
    /// Must be `false`: EU Consumer Rights Directive art. 22 forbids pre-ticked extra payments.
    #[cfg_attr(feature = "serde", serde(default))]
    pub pre_checked: bool,
}

/// A post-purchase add-on (upsell or downsell), charged to the saved payment method.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(deny_unknown_fields))]
pub struct AddOnConfig {
    /// Receipt line, e.g. "1:1 portfolio review video".
    pub label: String,
    /// Benefit headline.
    pub headline: String,
    /// The concrete deliverable.
    pub deliverable: String,
    /// Price in minor units.
    pub price: i64,
}

/// A share of shoppers who see no offers at all (no upsell, downsell or exit offer, and, with
/// `hide_bump`, no bump): the baseline that shows what the offers add (issue 13's holdout).
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(deny_unknown_fields))]
pub struct HoldoutConfig {
    /// Share of visitors in the holdout, 1–50 %.
    pub percent: u8,
    /// The holdout sees no order bump either.
    #[cfg_attr(feature = "serde", serde(default))]
    pub hide_bump: bool,
}

/// Largest holdout share: more would starve the offers of the traffic they are measured on.
pub const MAX_HOLDOUT_PERCENT: u8 = 50;

/// One last offer for a shopper about to leave without paying: a discount on the product.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(deny_unknown_fields))]
pub struct ExitOfferConfig {
    /// Headline, e.g. "Wait — take 10 % off".
    pub headline: String,
    /// One sentence of body text.
    pub body: String,
    /// Discount on the product price in percent (1–90), rounded half up in minor units.
    pub discount_percent: u8,
    /// Overrides of the exit-intent detector's thresholds; absent fields keep the defaults.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub detector: Option<Thresholds>,
}

/// An A/B variant: overrides of prices or copy. Absent fields keep the base offer's value.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(deny_unknown_fields))]
pub struct VariantConfig {
    /// Variant id, e.g. `"b"`.
    pub id: String,
    /// Relative weight for assignment. 0 pauses the variant: never assigned, and refused in new
    /// quotes and orders (`variant_paused`); orders already placed with it keep it.
    #[cfg_attr(feature = "serde", serde(default))]
    pub weight: u32,
    /// Product price override.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub product_price: Option<i64>,
    /// Bump price override.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub bump_price: Option<i64>,
    /// Bump label override.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub bump_label: Option<String>,
    /// Upsell price override.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub upsell_price: Option<i64>,
    /// Upsell headline override.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub upsell_headline: Option<String>,
    /// Downsell price override.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub downsell_price: Option<i64>,
}

/// A creator's offer, as configured.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(deny_unknown_fields))]
pub struct OfferConfig {
    /// Offer id: lower-case letters, digits and `-`, 1–64 characters.
    pub id: String,
    /// ISO 4217 code; prices are in its minor unit.
    pub currency: String,
    /// Whether prices include VAT.
    pub tax_mode: TaxMode,
    /// The main product.
    pub product: ProductConfig,
    /// Optional order bump.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub bump: Option<BumpConfig>,
    /// Optional post-purchase upsell.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub upsell: Option<AddOnConfig>,
    /// Optional downsell, offered only after the upsell is declined; requires an upsell.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub downsell: Option<AddOnConfig>,
    /// Optional exit-intent offer.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub exit_offer: Option<ExitOfferConfig>,
    /// Refund terms shown on the checkout, the add-on cards and the receipt.
    pub refund_terms: String,
    /// Where to pay when the widget cannot run (https, or http on localhost).
    pub fallback_url: String,
    /// A/B variants.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Vec::is_empty")
    )]
    pub variants: Vec<VariantConfig>,
    /// Optional holdout.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub holdout: Option<HoldoutConfig>,
    /// The offer in other languages, by language tag (`de`, `pt-BR`): overrides of the widget's
    /// strings and translations of the copy above.
    #[cfg_attr(
        feature = "serde",
        serde(
            default,
            with = "locales::pairs",
            skip_serializing_if = "Vec::is_empty"
        )
    )]
    pub locales: Pairs<LocaleConfig>,
}

/// One problem with an offer config (or a request), named by field path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// Path of the field, e.g. `bump.price` or `variants[0].upsell_price`.
    pub field: String,
    /// Stable machine-readable code, e.g. `invalid_amount`.
    pub code: &'static str,
    /// Human-readable explanation.
    pub message: String,
}

impl FieldError {
    /// A new error for `field`.
    pub fn new(
        field: impl Into<String>,
        code: &'static str,
        message: impl Into<String>,
    ) -> FieldError {
        FieldError {
            field: field.into(),
            code,
            message: message.into(),
        }
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

/// An offer element that can be charged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PricedItem {
    /// Receipt line text.
    pub label: String,
    /// Price in minor units.
    pub price: i64,
}

/// An offer with a variant applied, ready to price.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedOffer {
    /// Offer id.
    pub id: String,
    /// Variant applied, if any.
    pub variant: Option<String>,
    /// Currency of every price.
    pub currency: Currency,
    /// Whether prices include VAT.
    pub tax_mode: TaxMode,
    /// Main product.
    pub product: PricedItem,
    /// Order bump.
    pub bump: Option<PricedItem>,
    /// Upsell.
    pub upsell: Option<PricedItem>,
    /// Downsell.
    pub downsell: Option<PricedItem>,
    /// Exit-offer discount in percent, if the offer has one.
    pub exit_discount_percent: Option<u8>,
}

/// Why an offer could not be resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResolveError {
    /// The variant id is not one of the offer's variants.
    UnknownVariant,
    /// The config is invalid (first problem).
    Invalid(FieldError),
}

/// The bidirectional formatting characters that reorder a run of text: embeddings and overrides
/// (U+202A–U+202E) and isolates (U+2066–U+2069). In creator copy or an e-mail address they make
/// the text read differently from what it is ("Trojan Source", CVE-2021-42574).
pub fn is_bidi_override(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// [`is_bidi_override`] or a directional mark (U+200E, U+200F, U+061C). Copy in a right-to-left
/// language may need the marks (they reorder nothing beyond the neighbouring punctuation), so
/// texts only refuse overrides; addresses and URLs never need either.
pub fn is_bidi_control(c: char) -> bool {
    is_bidi_override(c) || matches!(c, '\u{200E}' | '\u{200F}' | '\u{061C}')
}

/// Characters that take no space: zero-width space, non-joiner and joiner, word joiner, and the
/// byte-order mark. Text made only of these (and whitespace) shows nothing.
pub fn is_invisible(c: char) -> bool {
    matches!(c, '\u{200B}'..='\u{200D}' | '\u{2060}' | '\u{FEFF}')
}

fn check_text(errors: &mut Vec<FieldError>, field: &str, value: &str, max: usize) {
    if value.chars().all(|c| c.is_whitespace() || is_invisible(c)) {
        errors.push(FieldError::new(field, "required", "must not be empty"));
    } else if value.chars().count() > max {
        errors.push(FieldError::new(
            field,
            "too_long",
            format!("must be at most {max} characters"),
        ));
    } else if value
        .chars()
        .any(|c| (c.is_control() && c != '\n') || is_bidi_override(c))
    {
        errors.push(FieldError::new(
            field,
            "invalid_text",
            "must not contain control characters or bidirectional overrides",
        ));
    }
}

fn check_price(errors: &mut Vec<FieldError>, field: &str, price: i64) -> bool {
    if price <= 0 {
        errors.push(FieldError::new(
            field,
            "invalid_amount",
            "must be a positive amount in minor units",
        ));
        false
    } else if price > MAX_PRICE_MINOR {
        errors.push(FieldError::new(
            field,
            "invalid_amount",
            format!("must be at most {MAX_PRICE_MINOR} minor units"),
        ));
        false
    } else {
        true
    }
}

/// `true` for an id of lower-case ASCII letters, digits and `-`, 1–64 characters.
pub fn is_valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_ID
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

fn is_valid_fallback_url(url: &str) -> bool {
    let rest = if let Some(r) = url.strip_prefix("https://") {
        r
    } else if let Some(r) = url.strip_prefix("http://") {
        let host = r.split(['/', '?', '#']).next().unwrap_or("");
        let host = host.rsplit_once(':').map(|(h, _)| h).unwrap_or(host);
        if host != "localhost" && host != "127.0.0.1" {
            return false;
        }
        r
    } else {
        return false;
    };
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    !host.is_empty()
        && url.len() <= 2048
        && !url
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || is_bidi_control(c))
}

impl OfferConfig {
    /// Every problem with this config, each named by field path; empty when valid.
    pub fn validate(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        if !is_valid_id(&self.id) {
            errors.push(FieldError::new(
                "id",
                "invalid_id",
                "must be 1–64 characters of a-z, 0-9 and '-'",
            ));
        }
        if Currency::from_code(&self.currency).is_err() {
            errors.push(FieldError::new(
                "currency",
                "unknown_currency",
                format!("unknown currency {:?}", self.currency),
            ));
        }
        check_text(&mut errors, "product.label", &self.product.label, MAX_LABEL);
        check_text(
            &mut errors,
            "product.description",
            &self.product.description,
            MAX_TEXT,
        );
        let product_ok = check_price(&mut errors, "product.price", self.product.price);
        if let Some(b) = &self.bump {
            check_text(&mut errors, "bump.label", &b.label, MAX_LABEL);
            check_text(&mut errors, "bump.description", &b.description, MAX_TEXT);
            if check_price(&mut errors, "bump.price", b.price)
                && product_ok
                && b.price >= self.product.price
            {
                errors.push(FieldError::new(
                    "bump.price",
                    "bump_price_too_high",
                    "the order bump must cost less than the product",
                ));
            }
            if b.pre_checked {
                errors.push(FieldError::new(
                    "bump.pre_checked",
                    "pre_checked_bump",
                    "an order bump must not be pre-ticked (EU Consumer Rights Directive art. 22)",
                ));
            }
        }
        if let Some(u) = &self.upsell {
            check_addon(&mut errors, "upsell", u);
        }
        if let Some(d) = &self.downsell {
            check_addon(&mut errors, "downsell", d);
            match &self.upsell {
                None => errors.push(FieldError::new(
                    "downsell",
                    "downsell_without_upsell",
                    "a downsell needs an upsell to follow",
                )),
                Some(u) if d.price > 0 && u.price > 0 && d.price >= u.price => {
                    errors.push(FieldError::new(
                        "downsell.price",
                        "downsell_price_too_high",
                        "the downsell must cost less than the upsell",
                    ))
                }
                Some(_) => {}
            }
        }
        if let Some(x) = &self.exit_offer {
            check_text(
                &mut errors,
                "exit_offer.headline",
                &x.headline,
                MAX_HEADLINE,
            );
            check_text(&mut errors, "exit_offer.body", &x.body, MAX_TEXT);
            if x.discount_percent == 0 || x.discount_percent > MAX_EXIT_DISCOUNT_PERCENT {
                errors.push(FieldError::new(
                    "exit_offer.discount_percent",
                    "invalid_percent",
                    format!("must be between 1 and {MAX_EXIT_DISCOUNT_PERCENT}"),
                ));
            }
            for (field, message) in x.detector.as_ref().map_or(Vec::new(), Thresholds::problems) {
                errors.push(FieldError::new(
                    format!("exit_offer.detector.{field}"),
                    "invalid_threshold",
                    message,
                ));
            }
        }
        if let Some(h) = &self.holdout {
            if h.percent == 0 || h.percent > MAX_HOLDOUT_PERCENT {
                errors.push(FieldError::new(
                    "holdout.percent",
                    "invalid_percent",
                    format!("must be between 1 and {MAX_HOLDOUT_PERCENT}"),
                ));
            }
        }
        check_text(&mut errors, "refund_terms", &self.refund_terms, MAX_TEXT);
        self.locale_problems(&mut errors);
        if !is_valid_fallback_url(&self.fallback_url) {
            errors.push(FieldError::new(
                "fallback_url",
                "invalid_url",
                "must be an https:// URL (http:// only for localhost)",
            ));
        }
        for (i, v) in self.variants.iter().enumerate() {
            let p = format!("variants[{i}]");
            if !is_valid_id(&v.id) {
                errors.push(FieldError::new(
                    format!("{p}.id"),
                    "invalid_id",
                    "must be 1–64 characters of a-z, 0-9 and '-'",
                ));
            } else if self.variants[..i].iter().any(|o| o.id == v.id) {
                errors.push(FieldError::new(
                    format!("{p}.id"),
                    "duplicate_variant",
                    "variant ids must be unique",
                ));
            }
            let overrides: [(&str, Option<i64>, bool); 4] = [
                ("product_price", v.product_price, true),
                ("bump_price", v.bump_price, self.bump.is_some()),
                ("upsell_price", v.upsell_price, self.upsell.is_some()),
                ("downsell_price", v.downsell_price, self.downsell.is_some()),
            ];
            for (name, value, present) in overrides {
                if let Some(value) = value {
                    if !present {
                        errors.push(FieldError::new(
                            format!("{p}.{name}"),
                            "not_applicable",
                            "the offer has no such element",
                        ));
                    } else {
                        check_price(&mut errors, &format!("{p}.{name}"), value);
                    }
                }
            }
            if let Some(l) = &v.bump_label {
                check_text(&mut errors, &format!("{p}.bump_label"), l, MAX_LABEL);
            }
            if let Some(h) = &v.upsell_headline {
                check_text(
                    &mut errors,
                    &format!("{p}.upsell_headline"),
                    h,
                    MAX_HEADLINE,
                );
            }
            // Relations (bump < product, downsell < upsell) must also hold with the overrides.
            let prod = v.product_price.unwrap_or(self.product.price);
            if let (Some(b), true) = (
                &self.bump,
                v.product_price.is_some() || v.bump_price.is_some(),
            ) {
                let bp = v.bump_price.unwrap_or(b.price);
                if bp > 0 && prod > 0 && bp >= prod {
                    errors.push(FieldError::new(
                        format!("{p}.bump_price"),
                        "bump_price_too_high",
                        "the order bump must cost less than the product",
                    ));
                }
            }
            if let (Some(u), Some(d)) = (&self.upsell, &self.downsell) {
                let up = v.upsell_price.unwrap_or(u.price);
                let dp = v.downsell_price.unwrap_or(d.price);
                if (v.upsell_price.is_some() || v.downsell_price.is_some())
                    && dp > 0
                    && up > 0
                    && dp >= up
                {
                    errors.push(FieldError::new(
                        format!("{p}.downsell_price"),
                        "downsell_price_too_high",
                        "the downsell must cost less than the upsell",
                    ));
                }
            }
        }
        errors
    }

    /// Applies `variant` (or none) and returns the priced offer. The config must be valid.
    pub fn resolve(&self, variant: Option<&str>) -> Result<ResolvedOffer, ResolveError> {
        if let Some(e) = self.validate().into_iter().next() {
            return Err(ResolveError::Invalid(e));
        }
        let v = match variant {
            None => None,
            Some(id) => Some(
                self.variants
                    .iter()
                    .find(|v| v.id == id)
                    .ok_or(ResolveError::UnknownVariant)?,
            ),
        };
        let currency = Currency::from_code(&self.currency).map_err(|_| {
            ResolveError::Invalid(FieldError::new(
                "currency",
                "unknown_currency",
                "unknown currency",
            ))
        })?;
        let d = VariantConfig::default();
        let v_or = v.unwrap_or(&d);
        Ok(ResolvedOffer {
            id: self.id.clone(),
            variant: v.map(|v| v.id.clone()),
            currency,
            tax_mode: self.tax_mode,
            product: PricedItem {
                label: self.product.label.clone(),
                price: v_or.product_price.unwrap_or(self.product.price),
            },
            bump: self.bump.as_ref().map(|b| PricedItem {
                label: v_or.bump_label.clone().unwrap_or_else(|| b.label.clone()),
                price: v_or.bump_price.unwrap_or(b.price),
            }),
            upsell: self.upsell.as_ref().map(|u| PricedItem {
                label: u.label.clone(),
                price: v_or.upsell_price.unwrap_or(u.price),
            }),
            downsell: self.downsell.as_ref().map(|u| PricedItem {
                label: u.label.clone(),
                price: v_or.downsell_price.unwrap_or(u.price),
            }),
            exit_discount_percent: self.exit_offer.as_ref().map(|x| x.discount_percent),
        })
    }

    /// Sticky variant assignment: maps a stable per-shopper `bucket` (e.g. a hash of a first-party
    /// id) onto the variants by weight. `None` when the offer has no weighted variants.
    /// Whether the visitor with `bucket` is in the holdout. Drawn from a scrambled copy of the
    /// bucket, so that being held out is independent of the variant `assign_variant` picks.
    pub fn in_holdout(&self, bucket: u64) -> bool {
        let draw = (bucket.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32) % 100;
        self.holdout
            .as_ref()
            .is_some_and(|h| draw < u64::from(h.percent))
    }

    pub fn assign_variant(&self, bucket: u64) -> Option<&str> {
        let total: u64 = self.variants.iter().map(|v| u64::from(v.weight)).sum();
        if total == 0 {
            return None;
        }
        let mut point = bucket % total;
        for v in &self.variants {
            let w = u64::from(v.weight);
            if point < w {
                return Some(&v.id);
            }
            point -= w;
        }
        None
    }
}

fn check_addon(errors: &mut Vec<FieldError>, p: &str, a: &AddOnConfig) {
    check_text(errors, &format!("{p}.label"), &a.label, MAX_LABEL);
    check_text(errors, &format!("{p}.headline"), &a.headline, MAX_HEADLINE);
    check_text(
        errors,
        &format!("{p}.deliverable"),
        &a.deliverable,
        MAX_TEXT,
    );
    check_price(errors, &format!("{p}.price"), a.price);
}

/// The demo offer `creator-course` (EUR, prices include VAT).
pub fn demo_offer() -> OfferConfig {
    OfferConfig {
        id: "creator-course".into(),
        currency: "EUR".into(),
        tax_mode: TaxMode::Inclusive,
        product: ProductConfig {
            label: "Lightroom Presets Masterclass".into(),
            description: "12 video lessons and 60 desktop presets to give your photos one consistent, recognisable look.".into(),
            price: 4900,
        },
        bump: Some(BumpConfig {
            label: "Add the 40 mobile presets pack".into(),
            description: "The same looks for Lightroom Mobile, so you can edit on your phone.".into(),
            price: 900,
            pre_checked: false,
        }),
        upsell: Some(AddOnConfig {
            label: "1:1 portfolio review video".into(),
            headline: "Get your portfolio reviewed by me".into(),
            deliverable: "A 20-minute personal video review of 10 of your photos, within 7 days.".into(),
            price: 2700,
        }),
        downsell: Some(AddOnConfig {
            label: "Portfolio review checklist".into(),
            headline: "Review your own portfolio like a pro".into(),
            deliverable: "The 25-point checklist and worksheet I use for every review.".into(),
            price: 1200,
        }),
        exit_offer: Some(ExitOfferConfig {
            headline: "Before you go: 10% off the masterclass".into(),
            body: "Take the full course today for 10% less. This offer is shown once.".into(),
            discount_percent: 10,
            detector: None,
        }),
        refund_terms: "14-day money-back guarantee on every item, no questions asked.".into(),
        fallback_url: "https://example.com/checkout/creator-course".into(),
        variants: vec![
            VariantConfig { id: "a".into(), weight: 1, ..VariantConfig::default() },
            VariantConfig { id: "b".into(), weight: 1, bump_price: Some(700), bump_label: Some("Add the 40 mobile presets pack (launch price)".into()), ..VariantConfig::default() },
        ],
        holdout: None,
        locales: Vec::new(),
    }
}

/// A JPY offer (exponent 0, prices exclusive of VAT), for exponent tests and demos.
pub fn demo_offer_jpy() -> OfferConfig {
    OfferConfig {
        id: "tokyo-night-presets".into(),
        currency: "JPY".into(),
        tax_mode: TaxMode::Exclusive,
        product: ProductConfig {
            label: "Tokyo Night Presets".into(),
            description: "20 presets for neon night photography.".into(),
            price: 4900,
        },
        bump: Some(BumpConfig {
            label: "Add the LUT pack for video".into(),
            description: "The same looks as video LUTs.".into(),
            price: 980,
            pre_checked: false,
        }),
        upsell: Some(AddOnConfig {
            label: "Night editing workshop".into(),
            headline: "Edit night shots live with me".into(),
            deliverable: "A 90-minute recorded workshop.".into(),
            price: 2980,
        }),
        downsell: None,
        exit_offer: None,
        refund_terms: "Refunds within 14 days.".into(),
        fallback_url: "https://example.com/checkout/tokyo-night-presets".into(),
        variants: Vec::new(),
        holdout: None,
        locales: Vec::new(),
    }
}

/// A KWD offer (exponent 3, prices exclusive of VAT), for exponent tests and demos.
pub fn demo_offer_kwd() -> OfferConfig {
    OfferConfig {
        id: "desert-light-course".into(),
        currency: "KWD".into(),
        tax_mode: TaxMode::Exclusive,
        product: ProductConfig {
            label: "Desert Light Course".into(),
            description: "Shooting in harsh light, 8 lessons.".into(),
            price: 15_250,
        },
        bump: Some(BumpConfig {
            label: "Add the golden-hour presets".into(),
            description: "15 presets for warm light.".into(),
            price: 2_125,
            pre_checked: false,
        }),
        upsell: Some(AddOnConfig {
            label: "Location guide".into(),
            headline: "Know where to shoot".into(),
            deliverable: "A PDF guide to 30 locations.".into(),
            price: 5_005,
        }),
        downsell: Some(AddOnConfig {
            label: "Location map".into(),
            headline: "Just the map".into(),
            deliverable: "The 30 locations on a map.".into(),
            price: 1_500,
        }),
        exit_offer: None,
        refund_terms: "Refunds within 14 days.".into(),
        fallback_url: "https://example.com/checkout/desert-light-course".into(),
        variants: Vec::new(),
        holdout: None,
        locales: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(o: &OfferConfig) -> Vec<String> {
        o.validate().into_iter().map(|e| e.field).collect()
    }

    #[test]
    fn demo_offers_are_valid() {
        for o in [demo_offer(), demo_offer_jpy(), demo_offer_kwd()] {
            assert_eq!(o.validate(), vec![], "{}", o.id);
        }
    }

    #[test]
    fn errors_name_the_field() {
        let mut o = demo_offer();
        if let Some(b) = o.bump.as_mut() {
            b.price = 4900;
        }
        assert_eq!(fields(&o), ["bump.price"]);
        if let Some(b) = o.bump.as_mut() {
            b.price = 900;
            b.pre_checked = true;
        }
        assert_eq!(fields(&o), ["bump.pre_checked"]);
        let mut o = demo_offer();
        o.currency = "EURO".into();
        o.product.price = -1;
        o.refund_terms = " ".into();
        assert_eq!(fields(&o), ["currency", "product.price", "refund_terms"]);
        let mut o = demo_offer();
        o.product.price = MAX_PRICE_MINOR + 1;
        assert_eq!(o.validate()[0].code, "invalid_amount");
        let mut o = demo_offer();
        o.upsell = None;
        assert_eq!(fields(&o), ["downsell"]);
        let mut o = demo_offer();
        o.variants[1].bump_price = Some(5000);
        assert_eq!(fields(&o), ["variants[1].bump_price"]);
        let mut o = demo_offer();
        o.fallback_url = "javascript:alert(1)".into();
        assert_eq!(fields(&o), ["fallback_url"]);
        o.fallback_url = "http://localhost:8080/pay".into();
        assert_eq!(fields(&o), Vec::<String>::new());
        let mut o = demo_offer();
        o.exit_offer.as_mut().unwrap().detector = Some(Thresholds {
            short_page_pct: 20,
            ..Thresholds::default()
        });
        assert_eq!(fields(&o), ["exit_offer.detector.short_page_pct"]);
        assert_eq!(o.validate()[0].code, "invalid_threshold");
    }

    #[test]
    fn bidi_overrides_are_refused_in_copy_and_urls() {
        for c in [
            '\u{202A}', '\u{202B}', '\u{202C}', '\u{202D}', '\u{202E}', '\u{2066}', '\u{2069}',
        ] {
            let mut o = demo_offer();
            o.product.label = format!("Presets {c}(evil)");
            assert_eq!(fields(&o), ["product.label"], "{c:?}");
            assert_eq!(o.validate()[0].code, "invalid_text");
            let mut o = demo_offer();
            o.refund_terms = format!("14 days{c}");
            assert_eq!(fields(&o), ["refund_terms"], "{c:?}");
        }
        // Right-to-left copy keeps its marks.
        let mut o = demo_offer();
        o.product.label = "\u{5E7}\u{5D5}\u{5E8}\u{5E1} \u{200F}(2025)".into();
        assert_eq!(fields(&o), Vec::<String>::new());
        o.fallback_url = "https://example.com/\u{200F}pay".into();
        assert_eq!(fields(&o), ["fallback_url"]);
        o.fallback_url = "https://example.com/\u{202E}yap".into();
        assert_eq!(fields(&o), ["fallback_url"]);
    }

    #[test]
    fn resolve_applies_variants() {
        let o = demo_offer();
        let r = o.resolve(Some("b")).unwrap();
        assert_eq!(r.bump.as_ref().map(|b| b.price), Some(700));
        assert_eq!(r.currency, Currency::Eur);
        assert_eq!(o.resolve(Some("zz")), Err(ResolveError::UnknownVariant));
        assert_eq!(o.resolve(None).unwrap().bump.map(|b| b.price), Some(900));
    }

    #[test]
    fn assignment_is_sticky_and_weighted() {
        let o = demo_offer();
        assert_eq!(o.assign_variant(0), Some("a"));
        assert_eq!(o.assign_variant(1), Some("b"));
        assert_eq!(o.assign_variant(2), Some("a"));
        assert_eq!(demo_offer_jpy().assign_variant(5), None);
    }
}
