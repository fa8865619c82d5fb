//! Request bodies read as strictly as the widget reads an offer config (`src/decode.rs`).
//!
//! serde's derives take more than the API does: a struct may also be written as an array of its
//! field values (`"product": ["Course", "…", 4900]`), a unit enum variant as a one-key object
//! (`"tax_mode": {"inclusive": null}`), and serde_json calls a wrong type for an enum
//! (`"tax_mode": true`) a syntax error. So a body is first parsed into a [`Document`] (JSON syntax,
//! no key twice in an object, keys kept in document order), then deserialized through [`Strict`],
//! which takes a struct only from an object and an enum only from a string. Everything else reads
//! as it would from serde_json, with serde's own error messages.

use std::collections::HashSet;
use std::fmt;

use serde::de::value::StringDeserializer;
use serde::de::{
    self, DeserializeSeed, Deserializer, IntoDeserializer, MapAccess, SeqAccess, Unexpected,
    Visitor,
};
use serde::forward_to_deserialize_any;

/// A parsed JSON value.
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    Null,
    Bool(bool),
    /// A non-negative integer.
    Unsigned(u64),
    /// A negative integer.
    Signed(i64),
    /// A number with a fraction or an exponent, `-0`, or an integer beyond 64 bits (as serde_json
    /// parses them).
    Float(f64),
    String(String),
    Array(Vec<Node>),
    /// Keys in document order, each once.
    Object(Vec<(String, Node)>),
}

/// A JSON document; a key twice in one object is an error (`duplicate field `…``, at the
/// object's path).
pub struct Document(pub Node);

impl<'de> de::Deserialize<'de> for Document {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(DocumentVisitor).map(Document)
    }
}

struct DocumentVisitor;

impl<'de> Visitor<'de> for DocumentVisitor {
    type Value = Node;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Node, E> {
        Ok(Node::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Node, E> {
        Ok(u64::try_from(v).map_or(Node::Signed(v), Node::Unsigned))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Node, E> {
        Ok(Node::Unsigned(v))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Node, E> {
        Ok(Node::Float(v))
    }

    fn visit_str<E>(self, v: &str) -> Result<Node, E> {
        Ok(Node::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Node, E> {
        Ok(Node::String(v))
    }

    fn visit_unit<E>(self) -> Result<Node, E> {
        Ok(Node::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
        let mut items = Vec::new();
        while let Some(Document(item)) = seq.next_element()? {
            items.push(item);
        }
        Ok(Node::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
        let (mut entries, mut seen) = (Vec::new(), HashSet::new());
        while let Some(key) = map.next_key::<String>()? {
            if !seen.insert(key.clone()) {
                return Err(de::Error::custom(format_args!("duplicate field `{key}`")));
            }
            let Document(value) = map.next_value()?;
            entries.push((key, value));
        }
        Ok(Node::Object(entries))
    }
}

/// Deserializes a [`Document`]'s value: structs only from objects, enums only from strings.
pub struct Strict(pub Node);

fn unexpected(node: &Node) -> Unexpected<'_> {
    match node {
        Node::Null => Unexpected::Unit,
        Node::Bool(b) => Unexpected::Bool(*b),
        Node::Unsigned(u) => Unexpected::Unsigned(*u),
        Node::Signed(i) => Unexpected::Signed(*i),
        Node::Float(f) => Unexpected::Float(*f),
        Node::String(s) => Unexpected::Str(s),
        Node::Array(_) => Unexpected::Seq,
        Node::Object(_) => Unexpected::Map,
    }
}

impl<'de> Deserializer<'de> for Strict {
    type Error = serde_json::Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        match self.0 {
            Node::Null => visitor.visit_unit(),
            Node::Bool(b) => visitor.visit_bool(b),
            Node::Unsigned(u) => visitor.visit_u64(u),
            Node::Signed(i) => visitor.visit_i64(i),
            Node::Float(f) => visitor.visit_f64(f),
            Node::String(s) => visitor.visit_string(s),
            Node::Array(items) => visitor.visit_seq(Items(items.into_iter())),
            Node::Object(entries) => visitor.visit_map(Entries {
                entries: entries.into_iter(),
                value: None,
            }),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        match self.0 {
            Node::Null => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        match self.0 {
            Node::Object(_) => self.deserialize_any(visitor),
            other => Err(de::Error::invalid_type(unexpected(&other), &visitor)),
        }
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        match self.0 {
            Node::String(s) => {
                let variant: StringDeserializer<Self::Error> = s.into_deserializer();
                visitor.visit_enum(variant)
            }
            other => Err(de::Error::invalid_type(unexpected(&other), &visitor)),
        }
    }

    forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf unit
        unit_struct seq tuple tuple_struct map identifier ignored_any
    }
}

struct Items(std::vec::IntoIter<Node>);

impl<'de> SeqAccess<'de> for Items {
    type Error = serde_json::Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Self::Error> {
        self.0
            .next()
            .map(|item| seed.deserialize(Strict(item)))
            .transpose()
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.0.len())
    }
}

struct Entries {
    entries: std::vec::IntoIter<(String, Node)>,
    value: Option<Node>,
}

impl<'de> MapAccess<'de> for Entries {
    type Error = serde_json::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Self::Error> {
        match self.entries.next() {
            Some((key, value)) => {
                self.value = Some(value);
                seed.deserialize(Strict(Node::String(key))).map(Some)
            }
            None => Ok(None),
        }
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(
        &mut self,
        seed: V,
    ) -> Result<V::Value, Self::Error> {
        let value = self
            .value
            .take()
            .ok_or_else(|| de::Error::custom("a value was asked for before its key"))?;
        seed.deserialize(Strict(value))
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.entries.len())
    }
}

#[cfg(test)]
mod tests {
    use momentum_core::api::QuoteRequest;
    use momentum_core::offer::OfferConfig;

    use crate::http::parse_json;

    fn error<T: serde::de::DeserializeOwned>(body: &str) -> (&'static str, Option<String>) {
        match parse_json::<T>(body.as_bytes()) {
            Ok(_) => ("ok", None),
            Err(e) => (e.code, e.field),
        }
    }

    #[test]
    fn a_key_twice_is_an_error_naming_it() {
        let e = error::<QuoteRequest>(r#"{"offer_id": "a", "offer_id": "b", "country": "DE"}"#);
        assert_eq!(e, ("invalid_field", Some("offer_id".into())));
        let body = r#"{"id": "c", "product": {"label": "a", "label": "b"}}"#;
        let e = error::<OfferConfig>(body);
        assert_eq!(e, ("invalid_field", Some("product.label".into())));
    }

    #[test]
    fn structs_only_from_objects_and_enums_only_from_strings() {
        let base = r#""id": "c", "currency": "EUR", "refund_terms": "14 days.",
            "fallback_url": "https://pay.example/c""#;
        let offer = |rest: &str| error::<OfferConfig>(&format!("{{{base}, {rest}}}"));
        let product = r#""product": {"label": "Course", "description": "Lessons.", "price": 4900}"#;
        assert_eq!(
            offer(&format!(r#""tax_mode": "inclusive", {product}"#)).0,
            "ok"
        );
        assert_eq!(
            offer(r#""tax_mode": "inclusive", "product": ["Course", "Lessons.", 4900]"#),
            ("invalid_field", Some("product".into()))
        );
        for tax_mode in [r#"{"inclusive": null}"#, "true", "1", "null"] {
            assert_eq!(
                offer(&format!(r#""tax_mode": {tax_mode}, {product}"#)),
                ("invalid_field", Some("tax_mode".into())),
                "{tax_mode}"
            );
        }
    }

    #[test]
    fn fields_are_read_in_document_order() {
        // The first problem in the body is the one reported, as before the two-pass parse.
        let e = error::<QuoteRequest>(r#"{"zone": 1, "offer_id": 7, "country": "DE"}"#);
        assert_eq!(e, ("unknown_field", Some("zone".into())));
        let e = error::<QuoteRequest>(r#"{"offer_id": 7, "zone": 1, "country": "DE"}"#);
        assert_eq!(e, ("invalid_field", Some("offer_id".into())));
    }

    #[test]
    fn numbers_read_as_serde_json_reads_them() {
        let quote = |variant: &str| {
            error::<QuoteRequest>(&format!(
                r#"{{"offer_id": "c", "country": "DE", "exit_offer": {variant}}}"#
            ))
        };
        assert_eq!(quote("false").0, "ok");
        assert_eq!(quote("0").0, "invalid_field");
        let price = |p: &str| {
            let body = format!(
                r#"{{"id": "c", "currency": "EUR", "tax_mode": "inclusive",
                    "product": {{"label": "Course", "description": "Lessons.", "price": {p}}},
                    "refund_terms": "14 days.", "fallback_url": "https://pay.example/c"}}"#
            );
            parse_json::<OfferConfig>(body.as_bytes()).map(|o| o.product.price)
        };
        assert_eq!(price("4900").ok(), Some(4900));
        assert_eq!(price("-5").ok(), Some(-5));
        assert_eq!(price("9223372036854775807").ok(), Some(i64::MAX));
        for bad in ["49.5", "4900.0", "1e3", "-0", "9223372036854775808", "1e30"] {
            assert_eq!(
                price(bad).map_err(|e| (e.code, e.field)),
                Err(("invalid_field", Some("product.price".into()))),
                "{bad}"
            );
        }
    }
}
