//! JSON (already parsed by the browser) → `momentum-core` types, strictly: unknown fields, wrong
//! types and non-integer money are errors that name the field path (`bump.price`). The core then
//! validates the result with the same rules the reference backend uses. Reading through `Reflect`
//! keeps serde's JSON machinery out of the wasm every shopper downloads.
//!
//! An offer config gets the same field path and error code here as from the backend's
//! `PUT /v1/offers/{id}`: both readers run the corpus `core/testdata/offer_configs.json`.

use js_sys::{Array, Object};
use momentum_core::exit_intent::Thresholds;
use momentum_core::offer::{
    AddOnConfig, BumpConfig, ExitOfferConfig, FieldError, HoldoutConfig, LocaleConfig, OfferConfig,
    ProductConfig, VariantConfig,
};
use momentum_core::quote::{LineKind, Quote, QuoteLine, TaxLine};
use momentum_core::tax::TaxMode;
use wasm_bindgen::{JsCast, JsValue};

use crate::js;

type Result<T> = core::result::Result<T, FieldError>;

/// One JSON object being read, with its path for error messages.
///
/// Error codes are the backend's (`docs/api.md`, Errors), so an offer config is reported the same
/// way whichever reader sees it: `unknown_field`, `missing_field`, and `invalid_field` for a wrong
/// type, a number that is not an integer of the field's range, an unknown enum value or a `null`
/// where no value is optional. A field absent or `null` is "none" only where the backend's type is
/// an `Option`; elsewhere `null` is a wrong type, as it is for serde.
pub struct Fields {
    value: JsValue,
    path: String,
    /// Offer configs take any whole number in `i64`'s range, like serde's `i64` (`validate` then
    /// bounds every config number far below 2^53, so none is used imprecisely); other payloads
    /// (quotes, receipts) only integers a float holds exactly, so an amount is never misread.
    config: bool,
}

impl Fields {
    /// `value` as an object whose keys are all in `known` (an offer config, or part of one).
    pub fn object(value: JsValue, path: &str, known: &[&str]) -> Result<Self> {
        let Some(object) = value
            .dyn_ref::<Object>()
            .filter(|_| !Array::is_array(&value))
        else {
            // The whole body: the backend's `invalid_body`, which names no field.
            let code = if path.is_empty() {
                "invalid_body"
            } else {
                "invalid_field"
            };
            return Err(FieldError::new(path, code, "must be an object"));
        };
        for key in Object::keys(object).iter().filter_map(|k| k.as_string()) {
            if !known.contains(&key.as_str()) {
                return Err(FieldError::new(
                    join(path, &key),
                    "unknown_field",
                    "is not a known field",
                ));
            }
        }
        Ok(Self {
            value,
            path: path.to_owned(),
            config: true,
        })
    }

    /// The value at `key`, `None` when absent; `null` is a value.
    fn get(&self, key: &str) -> Option<JsValue> {
        let value = js::get(&self.value, key);
        (!value.is_undefined()).then_some(value)
    }

    /// The value of an optional field: absent and `null` are both none.
    fn field(&self, key: &str) -> Option<JsValue> {
        self.get(key).filter(|v| !v.is_null())
    }

    fn error(&self, key: &str, code: &'static str, message: &str) -> FieldError {
        FieldError::new(join(&self.path, key), code, message)
    }

    fn missing(&self, key: &str) -> FieldError {
        self.error(key, "missing_field", "is missing")
    }

    fn text(&self, key: &str, value: JsValue) -> Result<String> {
        value
            .as_string()
            .ok_or_else(|| self.error(key, "invalid_field", "must be text"))
    }

    pub fn opt_string(&self, key: &str) -> Result<Option<String>> {
        self.field(key).map(|v| self.text(key, v)).transpose()
    }

    pub fn string(&self, key: &str) -> Result<String> {
        self.text(key, self.get(key).ok_or_else(|| self.missing(key))?)
    }

    /// An integer: money in minor units, never a fraction or a string.
    fn whole(&self, key: &str, value: &JsValue) -> Result<i64> {
        let n = if self.config {
            value
                .as_f64()
                .filter(|n| n.fract() == 0.0 && (-I64_LIMIT..I64_LIMIT).contains(n))
                // JSON's `-0` is a float to serde.
                .filter(|n| *n != 0.0 || n.is_sign_positive())
                .map(|n| n as i64)
        } else {
            js::get_integer(&self.value, key)
        };
        n.ok_or_else(|| {
            self.error(
                key,
                "invalid_field",
                "must be a whole number (money is in minor units, e.g. 4900 for 49.00)",
            )
        })
    }

    pub fn opt_integer(&self, key: &str) -> Result<Option<i64>> {
        self.field(key).map(|v| self.whole(key, &v)).transpose()
    }

    pub fn integer(&self, key: &str) -> Result<i64> {
        self.whole(key, &self.get(key).ok_or_else(|| self.missing(key))?)
    }

    /// An integer of `T`'s range, `None` when absent (the caller's default; `null` is invalid).
    fn bounded<T: TryFrom<i64>>(&self, key: &str) -> Result<Option<T>> {
        self.get(key)
            .map(|v| {
                T::try_from(self.whole(key, &v)?)
                    .map_err(|_| self.error(key, "invalid_field", "is out of range"))
            })
            .transpose()
    }

    /// `false` when absent.
    pub fn boolean(&self, key: &str) -> Result<bool> {
        self.get(key)
            .map(|v| {
                v.as_bool()
                    .ok_or_else(|| self.error(key, "invalid_field", "must be true or false"))
            })
            .transpose()
            .map(|b| b.unwrap_or(false))
    }

    pub fn opt_object(&self, key: &str, known: &[&str]) -> Result<Option<Fields>> {
        self.field(key)
            .map(|v| Fields::object(v, &join(&self.path, key), known))
            .transpose()
    }

    pub fn object_field(&self, key: &str, known: &[&str]) -> Result<Fields> {
        Fields::object(
            self.get(key).ok_or_else(|| self.missing(key))?,
            &join(&self.path, key),
            known,
        )
    }

    /// The entries of a field that is an object with keys of the creator's choosing (none when
    /// absent; `null` is a wrong type, as it is for serde's maps), each as (key, value).
    fn entries(&self, key: &str) -> Result<Vec<(String, JsValue)>> {
        let Some(value) = self.get(key) else {
            return Ok(Vec::new());
        };
        let Some(object) = value
            .dyn_ref::<Object>()
            .filter(|_| !Array::is_array(&value))
        else {
            return Err(self.error(key, "invalid_field", "must be an object"));
        };
        Ok(Object::entries(object)
            .iter()
            .filter_map(|entry| {
                let entry = Array::from(&entry);
                Some((entry.get(0).as_string()?, entry.get(1)))
            })
            .collect())
    }

    /// An object of texts with any keys, empty when absent.
    pub fn text_map(&self, key: &str) -> Result<Vec<(String, String)>> {
        let path = join(&self.path, key);
        self.entries(key)?
            .into_iter()
            .map(|(k, v)| match v.as_string() {
                Some(text) => Ok((k, text)),
                None => Err(FieldError::new(
                    join(&path, &k),
                    "invalid_field",
                    "must be text",
                )),
            })
            .collect()
    }

    /// The elements of an array field (empty when absent), each with its indexed path.
    pub fn array(&self, key: &str) -> Result<Vec<(String, JsValue)>> {
        let Some(value) = self.get(key) else {
            return Ok(Vec::new());
        };
        if !Array::is_array(&value) {
            return Err(self.error(key, "invalid_field", "must be a list"));
        }
        let base = join(&self.path, key);
        Ok(Array::from(&value)
            .iter()
            .enumerate()
            .map(|(i, v)| ([base.as_str(), "[", &i.to_string(), "]"].concat(), v))
            .collect())
    }
}

/// 2^63: `i64` holds every whole number below it (and -2^63).
const I64_LIMIT: f64 = 9_223_372_036_854_775_808.0;

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        [path, ".", key].concat()
    }
}

const ADDON: &[&str] = &["label", "headline", "deliverable", "price"];

fn addon(f: Fields) -> Result<AddOnConfig> {
    Ok(AddOnConfig {
        label: f.string("label")?,
        headline: f.string("headline")?,
        deliverable: f.string("deliverable")?,
        price: f.integer("price")?,
    })
}

/// The exit-intent thresholds an offer may override (`exit_offer.detector`).
const DETECTOR: &[&str] = &[
    "min_time_on_page_ms",
    "exit_grace_ms",
    "top_edge_px",
    "min_exit_speed_px_per_s",
    "entry_window_ms",
    "entry_band_px",
    "scroll_min_depth_pct",
    "scroll_up_min_distance_pct",
    "scroll_up_min_speed_px_per_s",
    "scroll_jitter_px",
    "scroll_run_gap_ms",
    "short_page_pct",
    "hidden_min_ms",
    "idle_ms",
    "form_trip_ms",
    "cooldown_days",
];

/// Threshold overrides; absent fields keep the defaults. Ranges are checked by `validate`.
fn detector(f: Fields) -> Result<Thresholds> {
    let mut t = Thresholds::default();
    let ms = [
        (&mut t.min_time_on_page_ms, "min_time_on_page_ms"),
        (&mut t.exit_grace_ms, "exit_grace_ms"),
        (&mut t.entry_window_ms, "entry_window_ms"),
        (&mut t.scroll_run_gap_ms, "scroll_run_gap_ms"),
        (&mut t.hidden_min_ms, "hidden_min_ms"),
        (&mut t.idle_ms, "idle_ms"),
        (&mut t.form_trip_ms, "form_trip_ms"),
    ];
    for (slot, key) in ms {
        if let Some(v) = f.bounded(key)? {
            *slot = v;
        }
    }
    let small = [
        (&mut t.top_edge_px, "top_edge_px"),
        (&mut t.min_exit_speed_px_per_s, "min_exit_speed_px_per_s"),
        (&mut t.entry_band_px, "entry_band_px"),
        (&mut t.scroll_min_depth_pct, "scroll_min_depth_pct"),
        (
            &mut t.scroll_up_min_distance_pct,
            "scroll_up_min_distance_pct",
        ),
        (
            &mut t.scroll_up_min_speed_px_per_s,
            "scroll_up_min_speed_px_per_s",
        ),
        (&mut t.scroll_jitter_px, "scroll_jitter_px"),
        (&mut t.short_page_pct, "short_page_pct"),
        (&mut t.cooldown_days, "cooldown_days"),
    ];
    for (slot, key) in small {
        if let Some(v) = f.bounded(key)? {
            *slot = v;
        }
    }
    Ok(t)
}

/// Reads an offer config and validates it with the core's rules; the first problem is returned.
pub fn offer(json: JsValue) -> Result<OfferConfig> {
    let f = Fields::object(
        json,
        "",
        &[
            "id",
            "currency",
            "tax_mode",
            "product",
            "bump",
            "upsell",
            "downsell",
            "exit_offer",
            "refund_terms",
            "fallback_url",
            "variants",
            "holdout",
            "locales",
        ],
    )?;
    let tax_mode = f.string("tax_mode")?;
    let product = f.object_field("product", &["label", "description", "price"])?;
    let bump = f.opt_object("bump", &["label", "description", "price", "pre_checked"])?;
    let exit = f.opt_object(
        "exit_offer",
        &["headline", "body", "discount_percent", "detector"],
    )?;
    let variant_fields = [
        "id",
        "weight",
        "product_price",
        "bump_price",
        "bump_label",
        "upsell_price",
        "upsell_headline",
        "downsell_price",
    ];
    let mut variants = Vec::new();
    for (path, value) in f.array("variants")? {
        let v = Fields::object(value, &path, &variant_fields)?;
        variants.push(VariantConfig {
            id: v.string("id")?,
            weight: v.bounded("weight")?.unwrap_or(0),
            product_price: v.opt_integer("product_price")?,
            bump_price: v.opt_integer("bump_price")?,
            bump_label: v.opt_string("bump_label")?,
            upsell_price: v.opt_integer("upsell_price")?,
            upsell_headline: v.opt_string("upsell_headline")?,
            downsell_price: v.opt_integer("downsell_price")?,
        });
    }
    let mut locales = Vec::new();
    for (lang, value) in f.entries("locales")? {
        let l = Fields::object(value, &join("locales", &lang), &["messages", "copy"])?;
        let texts = LocaleConfig {
            messages: l.text_map("messages")?,
            copy: l.text_map("copy")?,
        };
        locales.push((lang, texts));
    }
    let config = OfferConfig {
        id: f.string("id")?,
        currency: f.string("currency")?,
        tax_mode: TaxMode::parse(&tax_mode).ok_or_else(|| {
            f.error(
                "tax_mode",
                "invalid_field",
                "must be \"inclusive\" or \"exclusive\"",
            )
        })?,
        product: ProductConfig {
            label: product.string("label")?,
            description: product.string("description")?,
            price: product.integer("price")?,
        },
        bump: bump
            .map(|b| -> Result<BumpConfig> {
                Ok(BumpConfig {
                    label: b.string("label")?,
                    description: b.string("description")?,
                    price: b.integer("price")?,
                    pre_checked: b.boolean("pre_checked")?,
                })
            })
            .transpose()?,
        upsell: f.opt_object("upsell", ADDON)?.map(addon).transpose()?,
        downsell: f.opt_object("downsell", ADDON)?.map(addon).transpose()?,
        exit_offer: exit
            .map(|e| -> Result<ExitOfferConfig> {
                Ok(ExitOfferConfig {
                    headline: e.string("headline")?,
                    body: e.string("body")?,
                    discount_percent: e
                        .bounded("discount_percent")?
                        .ok_or_else(|| e.missing("discount_percent"))?,
                    detector: e
                        .opt_object("detector", DETECTOR)?
                        .map(detector)
                        .transpose()?,
                })
            })
            .transpose()?,
        refund_terms: f.string("refund_terms")?,
        fallback_url: f.string("fallback_url")?,
        variants,
        holdout: f
            .opt_object("holdout", &["percent", "hide_bump"])?
            .map(|h| -> Result<HoldoutConfig> {
                Ok(HoldoutConfig {
                    percent: h.bounded("percent")?.ok_or_else(|| h.missing("percent"))?,
                    hide_bump: h.boolean("hide_bump")?,
                })
            })
            .transpose()?,
        locales,
    };
    match config.validate().into_iter().next() {
        Some(error) => Err(error),
        None => Ok(config),
    }
}

/// Reads a quote or the money part of a receipt (`lines`, `tax`, `total`). Extra fields are
/// allowed here: the backend may add to its responses without breaking deployed widgets.
pub fn quote(json: &JsValue, path: &str) -> Result<Quote> {
    let f = Fields {
        value: json.clone(),
        path: path.to_owned(),
        config: false,
    };
    let mut lines = Vec::new();
    for (path, value) in f.array("lines")? {
        let l = Fields {
            value,
            path,
            config: false,
        };
        let kind = l.string("kind")?;
        lines.push(QuoteLine {
            id: l.string("id")?,
            kind: LineKind::parse(&kind)
                .ok_or_else(|| l.error("kind", "invalid_field", "is not a line kind"))?,
            label: l.string("label")?,
            amount: l.integer("amount")?,
            tax_amount: l.opt_integer("tax_amount")?.unwrap_or(0),
        });
    }
    let mut tax = Vec::new();
    for (path, value) in f.array("tax")? {
        let t = Fields {
            value,
            path,
            config: false,
        };
        tax.push(TaxLine {
            label: t.string("label")?,
            rate_bp: t.bounded("rate_bp")?.unwrap_or(0),
            amount: t.integer("amount")?,
            included: t.boolean("included")?,
        });
    }
    Ok(Quote {
        lines,
        tax,
        total: f.integer("total")?,
    })
}

#[cfg(test)]
mod tests {
    use js_sys::Array;
    use wasm_bindgen_test::*;

    use crate::js;

    /// The offer config conformance corpus; the backend runs it too (`server/tests/offer_configs.rs`).
    const CORPUS: &str = include_str!("../core/testdata/offer_configs.json");

    /// `"valid"`, `"<code> at <field>"`, or just `"<code>"` for the body as a whole.
    fn outcome(code: &str, field: &str) -> String {
        if field.is_empty() {
            code.to_owned()
        } else {
            [code, " at ", field].concat()
        }
    }

    #[wasm_bindgen_test]
    fn offer_configs_are_read_as_the_backend_reads_them() {
        let corpus = js_sys::JSON::parse(CORPUS).expect("the corpus is JSON");
        let cases = Array::from(&js::get(&corpus, "cases"));
        let (mut valid, mut failures) = (0, Vec::new());
        for case in cases.iter() {
            let name = js::get_string(&case, "name").expect("name");
            let expect = js::get(&case, "expect");
            let want = if expect.as_string().as_deref() == Some("valid") {
                valid += 1;
                "valid".to_owned()
            } else {
                outcome(
                    &js::get_string(&expect, "code").expect("expect.code"),
                    &js::get_string(&expect, "field").unwrap_or_default(),
                )
            };
            let got = match super::offer(js::get(&case, "config")) {
                Ok(_) => "valid".to_owned(),
                Err(e) => outcome(e.code, &e.field),
            };
            if got != want {
                failures.push(format!("{name}: expected {want}, got {got}"));
            }
        }
        assert!(
            valid >= 2 && cases.length() > valid + 50,
            "the corpus is too small"
        );
        assert!(
            failures.is_empty(),
            "{} of {} corpus cases:\n{}",
            failures.len(),
            cases.length(),
            failures.join("\n")
        );
    }

    /// A valid config is read, not just accepted: every element of the full case arrives.
    #[wasm_bindgen_test]
    fn the_full_corpus_config_is_read_completely() {
        let corpus = js_sys::JSON::parse(CORPUS).expect("the corpus is JSON");
        let full = Array::from(&js::get(&corpus, "cases"))
            .iter()
            .find(|c| js::get_string(c, "name").is_some_and(|n| n.starts_with("full:")))
            .expect("a full case");
        let offer = super::offer(js::get(&full, "config")).expect("valid");
        let b = &offer.variants[1];
        assert_eq!(
            (
                b.weight,
                b.product_price,
                b.bump_price,
                b.upsell_price,
                b.downsell_price
            ),
            (2, Some(5900), Some(700), Some(2900), Some(1500))
        );
        assert!(b.bump_label.is_some() && b.upsell_headline.is_some());
        assert_eq!(offer.variants.len(), 3);
        let exit = offer.exit_offer.expect("exit offer");
        let detector = exit.detector.expect("detector");
        assert_eq!(
            (
                detector.min_time_on_page_ms,
                detector.idle_ms,
                detector.form_trip_ms
            ),
            (8_000, 45_000, 0)
        );
        assert_eq!(
            detector.hidden_min_ms,
            momentum_core::exit_intent::HIDDEN_MIN_MS
        );
        assert_eq!(
            (
                offer.bump.map(|b| b.price),
                offer.upsell.map(|u| u.price),
                offer.downsell.map(|d| d.price)
            ),
            (Some(900), Some(2700), Some(1200))
        );
    }
}
