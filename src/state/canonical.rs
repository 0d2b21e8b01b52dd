//! Canonical JSON and sha256 digests: the one definition of "the same content" that the state file,
//! saved plans and snapshots share.
//!
//! Canonical JSON is compact with every object's keys sorted (bytewise), recursively, so two values
//! that are equal as JSON always hash alike whatever order their keys were inserted in. This module
//! is pure: it never reads files or knows what the values mean.

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

/// Compact JSON of `value` with object keys sorted recursively.
pub(crate) fn canonical_json(value: &Value) -> String {
    let mut out = Vec::new();
    write_canonical(value, &mut out);
    // Only serde_json's own output and ASCII punctuation were written: valid UTF-8.
    String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// Lowercase hex of the sha256 of `bytes`.
pub fn sha256_hex(bytes: impl AsRef<[u8]>) -> String {
    to_hex(&Sha256::digest(bytes.as_ref()))
}

/// Lowercase hex of `bytes`.
pub(crate) fn to_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    out
}

/// A copy of `value` whose objects list their keys in sorted order, so that pretty-printing it is
/// deterministic too.
pub(crate) fn sorted(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            let mut out = Map::with_capacity(entries.len());
            for (k, v) in entries {
                out.insert(k.clone(), sorted(v));
            }
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(items.iter().map(sorted).collect()),
        other => other.clone(),
    }
}

// Hot: the state file's digest, each resource's config digest and the snapshot's bodies go
// through here (tens of thousands of values per plan), so text is written straight into one
// buffer instead of a `String` per key and scalar.
pub(crate) fn write_canonical(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::Object(map) => {
            out.push(b'{');
            // Most objects arrive sorted already (the state file and raw bodies are written
            // sorted): then no sorted copy of the entries is needed.
            if map.keys().is_sorted() {
                write_entries(map.iter(), out);
            } else {
                let mut entries: Vec<(&String, &Value)> = map.iter().collect();
                entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
                write_entries(entries.into_iter(), out);
            }
            out.push(b'}');
        }
        Value::Array(items) => {
            out.push(b'[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_canonical(v, out);
            }
            out.push(b']');
        }
        scalar => write_json(scalar, out),
    }
}

fn write_entries<'a>(entries: impl Iterator<Item = (&'a String, &'a Value)>, out: &mut Vec<u8>) {
    for (i, (k, v)) in entries.enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_json(k, out);
        out.push(b':');
        write_canonical(v, out);
    }
}

/// The compact JSON text of a string or scalar (what its `Display` gives, strings quoted and
/// escaped), appended to `out`.
pub(crate) fn write_json<T: serde::Serialize + ?Sized>(value: &T, out: &mut Vec<u8>) {
    // Writing a string or scalar into a `Vec` cannot fail.
    let _ = serde_json::to_writer(&mut *out, value);
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keys_are_sorted_recursively_and_output_is_compact() {
        let value = json!({"b": 1, "a": {"z": [3, {"y": null, "x": "é\"q"}], "c": true}});
        assert_eq!(
            canonical_json(&value),
            r#"{"a":{"c":true,"z":[3,{"x":"é\"q","y":null}]},"b":1}"#
        );
    }

    #[test]
    fn sorted_and_unsorted_objects_mix_at_any_depth() {
        let value = json!({"a": {"z": 1, "b": [{"a": 1, "b": {"d": 2, "c": 3}}]}, "b": {"x": 0}});
        assert_eq!(
            canonical_json(&value),
            r#"{"a":{"b":[{"a":1,"b":{"c":3,"d":2}}],"z":1},"b":{"x":0}}"#
        );
    }

    #[test]
    fn insertion_order_does_not_change_the_canonical_form() {
        let a: Value = serde_json::from_str(r#"{"x": 1, "y": {"p": 2, "q": 3}}"#).unwrap();
        let b: Value = serde_json::from_str(r#"{"y": {"q": 3, "p": 2}, "x": 1}"#).unwrap();
        assert_eq!(canonical_json(&a), canonical_json(&b));
        assert_eq!(
            serde_json::to_string(&sorted(&b)).unwrap(),
            canonical_json(&a)
        );
    }

    #[test]
    fn sha256_hex_matches_known_vector() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    /// serde_json's `float_roundtrip` (on in Cargo.toml) reads every finite float back from its
    /// own text exactly, so an attribute's digest taken before the state is written equals the one
    /// taken after it is read. Without the feature, parsing may land one ulp away (17-digit
    /// numbers, subnormals), and this test fails.
    #[test]
    fn every_float_reads_back_from_its_own_text_unchanged() {
        let mut rng = fastrand::Rng::with_seed(19);
        let edges = [
            0.1,
            1.0e-7,
            123_456.789,
            2.5e300,
            f64::MAX,
            f64::MIN_POSITIVE,
            5e-324,
            0.300_000_000_000_000_04,
            -0.0,
            9_007_199_254_740_993.0,
        ];
        let random = (0..200_000).map(|_| f64::from_bits(rng.u64(..)));
        for f in edges.into_iter().chain(random).filter(|f| f.is_finite()) {
            let value = json!({ "x": f });
            let text = canonical_json(&value);
            let back: Value = serde_json::from_str(&text).unwrap();
            assert_eq!(
                back["x"].as_f64().map(f64::to_bits),
                Some(f.to_bits()),
                "{text}"
            );
            assert_eq!(canonical_json(&back), text);
        }
        assert_eq!(serde_json::from_str::<Value>("5").unwrap(), json!(5));
    }
}
