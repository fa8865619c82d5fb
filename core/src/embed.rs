//! The creator-facing embed settings: what the attributes on the script tag or on a
//! `<momentum-checkout>` element mean, checked strictly so a typo shows up as a clear error in the
//! widget's place instead of a silently broken checkout.
//!
//! The loader copies the script tag's `data-offer`, `data-api`, … onto the element it creates as
//! `offer`, `api`, …, so both embed styles arrive here under the same names.

use core::fmt;

/// Attributes the widget understands; anything else named `data-*`/plain on the element is ignored
/// (host pages put their own attributes on elements), but these are validated.
pub const ATTRIBUTES: [&str; 7] = [
    "offer", "api", "fallback", "locale", "config", "sticky", "theme",
];

/// Where the widget keeps the shopper's A/B assignment (see the README's privacy section).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Sticky {
    /// For this tab's session only (`sessionStorage`): nothing outlives the visit. The default,
    /// because a lasting identifier needs the shopper's consent in the EU (ePrivacy art. 5(3)).
    #[default]
    Tab,
    /// In this browser for [`STICKY_BROWSER_DAYS`] (`localStorage`), for creators who have the
    /// shopper's consent: returning shoppers see the same variant.
    Browser,
}

/// How long a `sticky="browser"` assignment lasts.
pub const STICKY_BROWSER_DAYS: u32 = 90;

/// Validated embed settings for one widget.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmbedConfig {
    /// Offer id, as the creator's backend knows it; may be left out when `inline` config is given.
    pub offer: Option<String>,
    /// CSS selector of a `<script type="application/json">` holding the offer config inline.
    pub inline: Option<String>,
    /// Base URL of the creator's backend (absolute, or relative to the host page).
    pub api: String,
    /// Where to send shoppers when the widget cannot run (no WebAssembly, broken config).
    pub fallback: Option<String>,
    /// BCP 47 locale for the widget's language, prices and dates; the browser's languages when
    /// absent.
    pub locale: Option<String>,
    /// Where the A/B assignment is kept.
    pub sticky: Sticky,
}

/// A setting that is missing or malformed, named as the creator wrote it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmbedError {
    /// The attribute name without the `data-` prefix (`offer`, `api`, …).
    pub field: &'static str,
    /// What is wrong, in words a creator can act on.
    pub problem: &'static str,
}

impl fmt::Display for EmbedError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "data-{}: {}", self.field, self.problem)
    }
}

impl EmbedConfig {
    /// Reads and validates the settings through `attr`, which returns an attribute's value.
    pub fn parse(attr: impl Fn(&str) -> Option<String>) -> Result<Self, EmbedError> {
        let get = |field: &str| attr(field).map(|v| v.trim().to_owned());
        let inline = get("config").filter(|v| !v.is_empty());
        let offer = get("offer").filter(|v| !v.is_empty());
        if offer.is_none() && inline.is_none() {
            return Err(EmbedError {
                field: "offer",
                problem: "missing; set it to your offer id, e.g. data-offer=\"my-course\"",
            });
        }
        if offer
            .as_ref()
            .is_some_and(|o| o.len() > 64 || !o.bytes().all(is_id_byte))
        {
            return Err(EmbedError {
                field: "offer",
                problem: "must be 1-64 letters, digits, '-' or '_'",
            });
        }
        let api = get("api").filter(|v| !v.is_empty()).ok_or(EmbedError {
            field: "api",
            problem:
                "missing; set it to your backend's URL, e.g. data-api=\"https://shop.example\"",
        })?;
        if !(is_http_url(&api) || (api.starts_with('/') && !api.starts_with("//")))
            || api.contains(char::is_whitespace)
        {
            return Err(EmbedError {
                field: "api",
                problem: "must be an http(s) URL or a path starting with '/'",
            });
        }
        let fallback = get("fallback").filter(|v| !v.is_empty());
        // Only http(s): a `javascript:` link here would run script on the host page.
        if fallback.is_some() && safe_fallback(fallback.clone()).is_none() {
            return Err(EmbedError {
                field: "fallback",
                problem: "must be an absolute http(s) URL",
            });
        }
        let locale = get("locale").filter(|v| !v.is_empty());
        if let Some(tag) = &locale {
            let well_formed = tag.len() <= 35
                && tag.split('-').all(|part| {
                    (1..=8).contains(&part.len()) && part.bytes().all(|b| b.is_ascii_alphanumeric())
                });
            if !well_formed {
                return Err(EmbedError {
                    field: "locale",
                    problem: "must be a language tag such as en-GB or de",
                });
            }
        }
        let sticky =
            match get("sticky").as_deref() {
                None | Some("" | "tab") => Sticky::Tab,
                Some("browser") => Sticky::Browser,
                Some(_) => return Err(EmbedError {
                    field: "sticky",
                    problem:
                        "must be \"tab\" (the default) or \"browser\" (with the shopper's consent)",
                }),
            };
        // The palette is pure CSS (`:host([theme=…])`); a typo must still be an error, not light.
        if !matches!(
            get("theme").as_deref(),
            None | Some("" | "light" | "dark" | "auto")
        ) {
            return Err(EmbedError {
                field: "theme",
                problem: "must be \"light\" (the default), \"dark\" or \"auto\" (the shopper's system setting)",
            });
        }
        Ok(Self {
            offer,
            inline,
            api: api.trim_end_matches('/').to_owned(),
            fallback,
            locale,
            sticky,
        })
    }

    /// URL of the offer endpoint, relative to the page when `api` is a path.
    pub fn offer_url(&self) -> String {
        [
            &self.api,
            "/v1/offers/",
            self.offer.as_deref().unwrap_or_default(),
        ]
        .concat()
    }

    /// URL of the checkout-start endpoint (the offer and its quotes in one answer) for a buyer in
    /// `country`. The loader requests the same URL while the wasm downloads (`src/loader.js`); the
    /// widget uses that answer only when the URLs are equal.
    pub fn checkout_url(&self, country: &str) -> String {
        [&self.offer_url(), "/checkout?country=", country].concat()
    }
}

/// The buyer country the checkout starts with, from a BCP 47 tag (`data-locale`, else the
/// browser's language): its region subtag when that is a country, else `US`. The shopper can
/// change it in the form.
pub fn buyer_country(locale: Option<&str>) -> String {
    locale
        .into_iter()
        .flat_map(|tag| tag.split('-').skip(1))
        .find(|part| part.len() == 2 && part.bytes().all(|b| b.is_ascii_alphabetic()))
        .map(str::to_ascii_uppercase)
        .filter(|code| crate::tax::is_country_code(code))
        .unwrap_or_else(|| "US".into())
}

/// The fallback checkout URL when it is safe to link to (absolute http(s)), whatever else is wrong.
pub fn safe_fallback(value: Option<String>) -> Option<String> {
    value
        .map(|v| v.trim().to_owned())
        .filter(|v| is_http_url(v) && !v.contains(char::is_whitespace))
}

fn is_id_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'_'
}

fn is_http_url(url: &str) -> bool {
    let lower = url.get(..8).unwrap_or(url).to_ascii_lowercase();
    let rest = if lower.starts_with("https://") {
        &url[8..]
    } else if lower.starts_with("http://") {
        &url[7..]
    } else {
        return false;
    };
    !rest.is_empty() && !rest.starts_with('/')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buyer_country_is_the_locale_region_when_it_is_a_country() {
        for (tag, country) in [
            (Some("de-DE"), "DE"),
            (Some("nl-nl"), "NL"),
            (Some("zh-Hant-TW"), "TW"),
            (Some("en"), "US"),
            (Some("es-419"), "US"),
            (Some("en-ZZ"), "US"),
            (None, "US"),
        ] {
            assert_eq!(buyer_country(tag), country, "{tag:?}");
        }
    }

    #[test]
    fn checkout_url_is_the_offer_url_with_the_country() {
        let config = parse(&[("offer", "course"), ("api", "https://shop.example/")]).unwrap();
        assert_eq!(
            config.checkout_url("DE"),
            "https://shop.example/v1/offers/course/checkout?country=DE"
        );
    }

    fn parse(pairs: &[(&str, &str)]) -> Result<EmbedConfig, EmbedError> {
        EmbedConfig::parse(|name| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        })
    }

    #[test]
    fn the_assignment_stays_in_the_tab_unless_the_creator_opts_in() {
        let base = [("offer", "creator-course"), ("api", "/")];
        assert_eq!(parse(&base).unwrap().sticky, Sticky::Tab);
        let with = |value| parse(&[base[0], base[1], ("sticky", value)]);
        assert_eq!(with("browser").unwrap().sticky, Sticky::Browser);
        assert_eq!(with("tab").unwrap().sticky, Sticky::Tab);
        assert_eq!(with("forever").unwrap_err().field, "sticky");
        for theme in ["light", "dark", "auto", ""] {
            assert!(
                parse(&[base[0], base[1], ("theme", theme)]).is_ok(),
                "{theme}"
            );
        }
        let error = parse(&[base[0], base[1], ("theme", "night")]).unwrap_err();
        assert_eq!(error.to_string(), "data-theme: must be \"light\" (the default), \"dark\" or \"auto\" (the shopper's system setting)");
    }

    #[test]
    fn accepts_a_complete_tag() {
        let config = parse(&[
            ("offer", " creator-course "),
            ("api", "https://shop.example/"),
            ("fallback", "https://pay.example/creator-course"),
            ("locale", "de-DE"),
        ])
        .unwrap();
        assert_eq!(config.offer.as_deref(), Some("creator-course"));
        assert_eq!(config.api, "https://shop.example");
        assert_eq!(
            config.offer_url(),
            "https://shop.example/v1/offers/creator-course"
        );
        assert_eq!(config.locale.as_deref(), Some("de-DE"));
    }

    #[test]
    fn accepts_a_relative_api_path() {
        let config = parse(&[("offer", "x"), ("api", "/")]).unwrap();
        assert_eq!(config.offer_url(), "/v1/offers/x");
    }

    #[test]
    fn inline_config_stands_in_for_the_offer_id() {
        let config = parse(&[("config", "#offer-json"), ("api", "/")]).unwrap();
        assert_eq!(config.inline.as_deref(), Some("#offer-json"));
        assert_eq!(config.offer, None);
    }

    #[test]
    fn names_the_missing_or_bad_attribute() {
        let cases: [(&[(&str, &str)], &str); 9] = [
            (&[("api", "/")], "offer"),
            (&[("offer", ""), ("api", "/")], "offer"),
            (&[("offer", "a b"), ("api", "/")], "offer"),
            (&[("offer", "x")], "api"),
            (&[("offer", "x"), ("api", "ftp://x")], "api"),
            (&[("offer", "x"), ("api", "//evil.example")], "api"),
            (
                &[
                    ("offer", "x"),
                    ("api", "/"),
                    ("fallback", "javascript:alert(1)"),
                ],
                "fallback",
            ),
            (
                &[("offer", "x"), ("api", "/"), ("fallback", "/relative")],
                "fallback",
            ),
            (
                &[("offer", "x"), ("api", "/"), ("locale", "en_GB!")],
                "locale",
            ),
        ];
        for (pairs, field) in cases {
            let err = parse(pairs).unwrap_err();
            assert_eq!(err.field, field, "{pairs:?}");
            assert!(err.to_string().starts_with(&format!("data-{field}: ")));
        }
    }

    #[test]
    fn only_http_fallbacks_are_linked() {
        assert_eq!(
            safe_fallback(Some(" https://pay.example/x ".into())).as_deref(),
            Some("https://pay.example/x")
        );
        assert_eq!(safe_fallback(Some("javascript:alert(1)".into())), None);
        assert_eq!(
            safe_fallback(Some("JAVASCRIPT://x%0aalert(1)".into())),
            None
        );
        assert_eq!(safe_fallback(None), None);
    }

    #[test]
    fn offer_ids_are_bounded() {
        let long = "a".repeat(65);
        assert_eq!(
            parse(&[("offer", &long), ("api", "/")]).unwrap_err().field,
            "offer"
        );
        assert!(parse(&[("offer", &long[..64]), ("api", "/")]).is_ok());
    }
}
