//! Parameters held as JSON text until they are read back: about a hundred
//! bytes for a typical target of a batch file, where the parsed parameters
//! take over 600, so a batch of 10,000 targets is held in little memory.
//! Held by a [`Holder`], each of a batch's targets keeps only the fields
//! that differ from the batch's first target: every target of a batch's
//! own `params.yaml` writes out the same cluster, region, method and so on
//! (about 230 bytes each), and keeps about 50 (its bucket and namespace).
//!
//! A field is absent or holds a value, never JSON `null`, in the values a
//! [`Holder`] holds (every field of the parameters is skipped when unset):
//! over the base, `null` stands for a field the value does not have.

use std::sync::Arc;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

/// Fields of a JSON object.
type Fields = Map<String, Value>;

/// A value held as JSON text, on its own or over a base shared by a batch.
#[derive(Debug, Clone)]
pub struct Held {
    /// The fields `text` is written against, shared by a batch.
    base: Option<Arc<Fields>>,
    /// The value as JSON; over `base`, the fields that differ from it, and
    /// `null` for each field `base` has and the value does not.
    text: Box<str>,
}

impl Held {
    /// Holds `value` on its own.
    pub fn new<T: Serialize>(value: &T) -> Result<Held, serde_json::Error> {
        Ok(Held {
            base: None,
            text: serde_json::to_string(value)?.into_boxed_str(),
        })
    }

    /// The value held.
    pub fn get<T: DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        serde_json::from_value(self.json()?)
    }

    /// The value held, as JSON.
    fn json(&self) -> Result<Value, serde_json::Error> {
        let Some(base) = &self.base else {
            return serde_json::from_str(&self.text);
        };
        let mut fields = Fields::clone(base);
        for (key, value) in serde_json::from_str::<Fields>(&self.text)? {
            if value.is_null() {
                fields.remove(&key);
            } else {
                fields.insert(key, value);
            }
        }
        Ok(Value::Object(fields))
    }
}

/// Two holdings are equal when they hold the same JSON, however written.
/// (A holding's text is always JSON: it is only ever written by serde_json.)
impl PartialEq for Held {
    fn eq(&self, other: &Held) -> bool {
        self.json().ok() == other.json().ok()
    }
}

impl Eq for Held {}

/// Holds a batch's values, each as what differs from the first one held.
#[derive(Debug, Default)]
pub struct Holder {
    base: Option<Arc<Fields>>,
}

impl Holder {
    /// Holds `value` over the first value held (a value that is not a JSON
    /// object is held on its own).
    pub fn hold<T: Serialize>(&mut self, value: &T) -> Result<Held, serde_json::Error> {
        let Value::Object(fields) = serde_json::to_value(value)? else {
            return Held::new(value);
        };
        let base = Arc::clone(self.base.get_or_insert_with(|| Arc::new(fields.clone())));
        let mut differ = Fields::new();
        for (key, value) in &fields {
            if base.get(key) != Some(value) {
                differ.insert(key.clone(), value.clone());
            }
        }
        for key in base.keys().filter(|k| !fields.contains_key(*k)) {
            differ.insert(key.clone(), Value::Null);
        }
        let over = serde_json::to_string(&differ)?;
        let alone = serde_json::to_string(&fields)?;
        // A value with few of the first one's fields is shorter alone.
        Ok(if alone.len() < over.len() {
            Held {
                base: None,
                text: alone.into_boxed_str(),
            }
        } else {
            Held {
                base: Some(base),
                text: over.into_boxed_str(),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    /// Fields shaped like the parameters': optional strings, lists, flags
    /// and numbers, absent when unset.
    #[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
    struct Shaped {
        #[serde(skip_serializing_if = "Option::is_none")]
        cluster: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        bucket: Option<Vec<String>>,
        #[serde(skip_serializing_if = "Option::is_none")]
        cleanup: Option<bool>,
        #[serde(skip_serializing_if = "Option::is_none")]
        duration: Option<u32>,
    }

    fn batch() -> Vec<Shaped> {
        let first = Shaped {
            cluster: Some("c".into()),
            bucket: Some(vec!["b-1".into()]),
            ..Shaped::default()
        };
        vec![
            first.clone(),
            // The same cluster, another bucket, a field the first lacks.
            Shaped {
                bucket: Some(vec!["b-2".into(), "b-3".into()]),
                cleanup: Some(false),
                ..first.clone()
            },
            // Without a field the first has.
            Shaped {
                cluster: None,
                duration: Some(3600),
                ..first.clone()
            },
            first,
            Shaped::default(),
        ]
    }

    /// [`batch`] held by one holder, in order.
    fn held_batch() -> Vec<Held> {
        let mut holder = Holder::default();
        batch()
            .iter()
            .map(|v| holder.hold(v).expect("held"))
            .collect()
    }

    #[test]
    fn a_batch_held_over_its_first_value_reads_back_each_value_whole() {
        let mut holder = Holder::default();
        for value in batch() {
            let held = holder.hold(&value).expect("held");
            assert_eq!(held.get::<Shaped>().expect("read back"), value);
            assert_eq!(held, Held::new(&value).expect("held alone"), "{value:?}");
        }
    }

    #[test]
    fn only_what_differs_from_the_first_value_is_written() {
        let texts: Vec<Box<str>> = held_batch().into_iter().map(|h| h.text).collect();
        assert_eq!(&*texts[0], "{}");
        assert_eq!(&*texts[1], r#"{"bucket":["b-2","b-3"],"cleanup":false}"#);
        assert_eq!(&*texts[2], r#"{"duration":3600,"cluster":null}"#);
        assert_eq!(&*texts[3], "{}");
        // Alone, the empty value is shorter than its nulls over the base.
        assert_eq!(&*texts[4], "{}");
    }

    #[test]
    fn a_value_shorter_alone_than_over_the_base_is_held_alone() {
        let held = held_batch();
        assert!(held[..4].iter().all(|h| h.base.is_some()));
        assert!(held[4].base.is_none());
    }

    #[test]
    fn holdings_of_different_values_differ() {
        let held = held_batch();
        assert_ne!(held[0], held[1]);
        assert_ne!(held[0], held[2]);
        assert_eq!(held[0], held[3]);
        assert_ne!(held[0], held[4]);
        assert_ne!(held[4], Held::new(&batch()[2]).expect("held alone"));
    }
}
