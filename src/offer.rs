//! The offer as the widget reads it from the backend's JSON.

use momentum_core::money::{Currency, Money};
use wasm_bindgen::JsValue;

use crate::js;

/// The fields of an offer the widget shows.
#[derive(Clone, Debug, PartialEq)]
pub struct Offer {
    pub id: String,
    pub product_name: String,
    pub product_description: String,
    pub product_price: Money,
}

impl Offer {
    /// Reads an offer, naming the first field that is missing or of the wrong type.
    pub fn read(json: &JsValue) -> Result<Self, String> {
        let product = js::get(json, "product");
        let text = |value: &JsValue, key: &str, path: &str| {
            js::get_string(value, key)
                .ok_or_else(|| ["offer field ", path, ": missing or not text"].concat())
        };
        let integer = |value: &JsValue, key: &str, path: &str| {
            js::get_integer(value, key)
                .ok_or_else(|| ["offer field ", path, ": missing or not an integer"].concat())
        };
        let code = text(json, "currency", "currency")?;
        let currency = Currency::from_code(&code)
            .map_err(|_| ["offer field currency: unknown currency ", &code].concat())?;
        Ok(Self {
            id: text(json, "id", "id")?,
            product_name: text(&product, "label", "product.label")?,
            product_description: text(&product, "description", "product.description")?,
            product_price: Money::new(integer(&product, "price", "product.price")?, currency),
        })
    }
}
