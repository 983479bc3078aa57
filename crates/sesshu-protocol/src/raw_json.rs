//! A string that holds JSON, written into the enclosing JSON document as that JSON, byte for
//! byte, instead of as an escaped string (`#[serde(with = "crate::raw_json")]`).
//!
//! A signed body is a JSON text whose exact bytes the signature covers. As a JSON string, every
//! quote in it was escaped on the way out and unescaped on the way in, and the escapes of the
//! item payloads inside a batch were escaped a second time. Embedded, the bytes are copied as
//! they are, and the reader gets the very same bytes back. (Item payloads stay JSON strings:
//! embedding them too measured no gain, since a reader scans an embedded value's strings for
//! their ends as it scans a string for escapes.)
//!
//! Only an object or an array is embedded, and only when it is exactly one JSON value without
//! surrounding whitespace; anything else (including text that is not JSON at all) is written
//! as a string, as before. A reader therefore tells the two forms apart by the first byte: a
//! quote is the string form (still read, from writers that never embedded), anything else was
//! embedded.

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serializer};
use serde_json::value::RawValue;

/// Whether `text` can be embedded: one JSON object or array, nothing around it.
fn embeddable(text: &str) -> Option<&RawValue> {
    if !(text.starts_with('{') || text.starts_with('[')) {
        return None;
    }
    let raw: &RawValue = serde_json::from_str(text).ok()?;
    (raw.get().len() == text.len()).then_some(raw)
}

pub fn serialize<S: Serializer>(text: &str, s: S) -> Result<S::Ok, S::Error> {
    match embeddable(text) {
        Some(raw) => serde::Serialize::serialize(raw, s),
        None => s.serialize_str(text),
    }
}

pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let raw = Box::<RawValue>::deserialize(d)?;
    if raw.get().starts_with('"') {
        serde_json::from_str::<String>(raw.get()).map_err(D::Error::custom)
    } else {
        Ok(String::from(Box::<str>::from(raw)))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use serde::{Deserialize, Serialize};

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Holder {
        #[serde(with = "super")]
        text: String,
    }

    fn round_trip(text: &str) -> String {
        let json = serde_json::to_string(&Holder { text: text.into() }).unwrap();
        let back: Holder = serde_json::from_str(&json).unwrap();
        assert_eq!(back.text, text, "through {json}");
        let back: Holder = serde_json::from_reader(json.as_bytes()).unwrap();
        assert_eq!(back.text, text);
        json
    }

    #[test]
    fn objects_and_arrays_are_embedded_everything_else_is_a_string() {
        assert_eq!(
            round_trip(r#"{"a":"予診","b":[1,2]}"#),
            r#"{"text":{"a":"予診","b":[1,2]}}"#
        );
        assert_eq!(round_trip("[1,\"x\\\"y\"]"), "{\"text\":[1,\"x\\\"y\"]}");
        // A JSON string, a number, whitespace around an object, broken JSON, plain text.
        for s in [
            "\"quoted\"",
            "42",
            " {\"a\":1}",
            "{\"a\":1} ",
            "{\"a\":",
            "not json",
            "",
        ] {
            let json = round_trip(s);
            assert!(
                json.starts_with("{\"text\":\""),
                "{s:?} was embedded: {json}"
            );
        }
    }

    #[test]
    fn exact_bytes_survive_escapes_and_key_order() {
        // Escapes and key order a parse-and-reprint would change.
        for s in [r#"{"z":1,"a":"\u00e9\n\/"}"#, r#"{"a":1.0e3,"b":"𠮷"}"#] {
            let json = round_trip(s);
            assert!(json.contains(s), "{json}");
        }
    }
}
