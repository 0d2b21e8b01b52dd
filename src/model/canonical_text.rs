//! The canonical text of a JSON text, written without building a tree of it.
//!
//! Canonical means what [`super::attrs::sort_keys`] followed by `serde_json`'s compact
//! `to_string` gives: every object's keys in byte order (the last of duplicate keys wins, as when
//! parsing into a map), no whitespace, and serde_json's own forms of strings and numbers. Refresh
//! turns tens of thousands of load-all items into their raw bodies; parsing each into a `Value`
//! (a map per object, a string per field) only to print it again was most of the cost of reading
//! them. Here the text is copied where it already is canonical (strings without escapes, plain
//! integers, literals) and only the rest goes through serde_json.

use std::borrow::Cow;
use std::fmt;

use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;

/// Appends the canonical text of the JSON text `raw` to `out`; an error if `raw` is not JSON.
pub(crate) fn write_canonical_text(raw: &str, out: &mut String) -> serde_json::Result<()> {
    let raw = raw.trim_matches([' ', '\t', '\n', '\r']);
    match raw.as_bytes().first() {
        Some(b'{') => {
            let Entries(mut entries) = serde_json::from_str(raw)?;
            // Stable: of equal keys, the one written last stays last, and is the one kept.
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            out.push('{');
            let mut first = true;
            for (i, (key, value)) in entries.iter().enumerate() {
                if entries.get(i + 1).is_some_and(|next| next.0 == *key) {
                    continue;
                }
                if !first {
                    out.push(',');
                }
                first = false;
                write_string(key, out)?;
                out.push(':');
                write_canonical_text(value.get(), out)?;
            }
            out.push('}');
        }
        Some(b'[') => {
            let items: Vec<&RawValue> = serde_json::from_str(raw)?;
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical_text(item.get(), out)?;
            }
            out.push(']');
        }
        Some(b'"') if !raw.contains('\\') => {
            // Checked to be one string (and nothing after it); with no escape in it, serde_json
            // would print it back byte for byte (a JSON string holds no raw control character).
            serde_json::from_str::<&str>(raw)?;
            out.push_str(raw);
        }
        Some(b'0'..=b'9') if raw.len() <= 19 && raw.bytes().all(|b| b.is_ascii_digit()) => {
            // A plain integer below 10^19 is read as a u64 and printed back the same (JSON has no
            // leading zeros; serde_json refuses them).
            serde_json::from_str::<u64>(raw)?;
            out.push_str(raw);
        }
        _ => {
            // Negative, fractional or exponent numbers, strings with escapes, literals: what
            // serde_json makes of them.
            let value: serde_json::Value = serde_json::from_str(raw)?;
            out.push_str(&value.to_string());
        }
    }
    Ok(())
}

/// A key as serde_json prints it.
fn write_string(key: &str, out: &mut String) -> serde_json::Result<()> {
    if key.bytes().any(|b| b == b'"' || b == b'\\' || b < 0x20) {
        out.push_str(&serde_json::to_string(key)?);
    } else {
        out.push('"');
        out.push_str(key);
        out.push('"');
    }
    Ok(())
}

/// An object's entries in the order written, keys unescaped, values as raw text.
struct Entries<'a>(Vec<(Cow<'a, str>, &'a RawValue)>);

impl<'de> Deserialize<'de> for Entries<'de> {
    fn deserialize<D: Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        struct EntriesVisitor;

        impl<'de> Visitor<'de> for EntriesVisitor {
            type Value = Entries<'de>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Entries<'de>, A::Error> {
                let mut entries = Vec::with_capacity(map.size_hint().unwrap_or(8));
                while let Some(Key(key)) = map.next_key()? {
                    entries.push((key, map.next_value()?));
                }
                Ok(Entries(entries))
            }
        }

        de.deserialize_map(EntriesVisitor)
    }
}

/// A key, borrowed from the text where it has no escapes.
struct Key<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        struct KeyVisitor;

        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }

            fn visit_borrowed_str<E>(self, key: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(key)))
            }

            fn visit_str<E>(self, key: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(key.to_owned())))
            }

            fn visit_string<E>(self, key: String) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(key)))
            }
        }

        de.deserialize_str(KeyVisitor)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use serde_json::Value;

    use super::write_canonical_text;

    /// What the tree path gives: parse, sort every object's keys, print compactly.
    fn through_a_tree(text: &str) -> String {
        let mut value: Value = serde_json::from_str(text).unwrap();
        crate::model::attrs::sort_keys(&mut value);
        value.to_string()
    }

    fn canonical(text: &str) -> String {
        let mut out = String::new();
        write_canonical_text(text, &mut out).unwrap();
        out
    }

    #[test]
    fn the_text_is_what_a_sorted_tree_prints() {
        for text in [
            r#"{"b":1,"a":{"d":[1,2,{"z":null,"y":true}],"c":"x"}}"#,
            r#" { "name" : "Acme" , "selfProvisioningDomains" : [ "acme.com" ] } "#,
            r#"{"a":1,"a":2}"#,
            r#"{"a":{"x":1},"b":0,"a":[3]}"#,
            r#"{"k\"ey":"v\u00e9\/\n","\u0041":"\ud83d\ude00","e":""}"#,
            r#"{"n":[0,-0,-1,1.5,1e3,1E-2,12345678901234567890,9999999999999999999,-9223372036854775808,0.1]}"#,
            r#"[]"#,
            r#"{}"#,
            r#""plain""#,
            r#"18446744073709551615"#,
            r#"{"ü":"ö","a":"é"}"#,
        ] {
            assert_eq!(canonical(text), through_a_tree(text), "{text}");
        }
    }

    #[test]
    fn text_that_is_not_json_is_an_error() {
        for text in [
            "",
            "{",
            r#"{"a":}"#,
            r#"["a",]"#,
            r#""a" "b""#,
            "01",
            "1 2",
            "nul",
        ] {
            let mut out = String::new();
            assert!(write_canonical_text(text, &mut out).is_err(), "{text:?}");
        }
    }

    fn json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            any::<f64>()
                .prop_filter("finite", |f| f.is_finite())
                .prop_map(Value::from),
            ".{0,8}".prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 48, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                prop::collection::vec(("[a-c\"\\\\é]{0,3}", inner), 0..6)
                    .prop_map(|entries| Value::Object(entries.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn any_json_printed_any_way_comes_out_as_through_a_tree(
            value in json(),
            pretty in any::<bool>(),
            escaped in any::<bool>(),
        ) {
            let mut text = if pretty {
                serde_json::to_string_pretty(&value).unwrap()
            } else {
                value.to_string()
            };
            if escaped {
                // `é` occurs only inside strings (keys included): written as an escape there.
                text = text.replace('é', "\\u00e9");
            }
            prop_assert_eq!(canonical(&text), through_a_tree(&text));
        }
    }
}
