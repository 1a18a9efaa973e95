//! Typed evidence documents: a type that knows its kind is recorded and
//! read without a hand-written wrapper. A document's one top-level key is
//! its kind (`sync_approval: {...}`), as the spec's templates have it.

use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, DeserializeOwned, MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::index::Record;
use super::store::{EvidenceStore, Parsed, WriteReport};
use crate::Result;

/// A kind of evidence document.
pub trait Document: Serialize + DeserializeOwned {
    /// The evidence kind, which is also the document's top-level key
    /// (`sync_approval`).
    const KIND: &'static str;
}

/// `value` as it is recorded: under its kind's key.
struct Keyed<'a, T>(&'a T);

impl<T: Document> Serialize for Keyed<'_, T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(1))?;
        map.serialize_entry(T::KIND, self.0)?;
        map.end()
    }
}

/// A recorded document read back: the value under its kind's key, and no
/// other key.
struct Unkeyed<T>(T);

impl<'de, T: Document> Deserialize<'de> for Unkeyed<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        struct Expect<T>(PhantomData<T>);
        impl<'de, T: Document> Visitor<'de> for Expect<T> {
            type Value = Unkeyed<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "a document with the one key `{}`", T::KIND)
            }
            fn visit_map<A: MapAccess<'de>>(
                self,
                mut map: A,
            ) -> std::result::Result<Self::Value, A::Error> {
                let mut value = None;
                while let Some(key) = map.next_key::<String>()? {
                    if key != T::KIND {
                        return Err(de::Error::unknown_field(&key, &[T::KIND]));
                    }
                    if value.is_some() {
                        return Err(de::Error::duplicate_field(T::KIND));
                    }
                    value = Some(map.next_value::<T>()?);
                }
                value
                    .map(Unkeyed)
                    .ok_or_else(|| de::Error::missing_field(T::KIND))
            }
        }
        deserializer.deserialize_map(Expect(PhantomData))
    }
}

/// The YAML text `value` is recorded as (see [`render_yaml`]).
///
/// # Errors
///
/// As [`render_yaml`].
///
/// [`render_yaml`]: super::render_yaml
pub fn document_yaml<T: Document>(value: &T) -> Result<String> {
    super::render_yaml(&Keyed(value))
}

/// `text` read as a document of `T`'s kind.
///
/// # Errors
///
/// Returns an [`Error::Input`](crate::Error::Input) when it does not parse
/// as one.
pub fn parse_document<T: Document>(text: &str) -> Result<T> {
    serde_saphyr::from_str::<Unkeyed<T>>(text)
        .map(|document| document.0)
        .map_err(|e| crate::Error::input(format!("not a {} document: {e}", T::KIND)))
}

impl dyn EvidenceStore + '_ {
    /// Records `value` under the first free name from `base` (see
    /// [`EvidenceStore::write_unique`]), as a document of its kind.
    ///
    /// # Errors
    ///
    /// As [`write_value_unique`](Self::write_value_unique).
    pub fn record_document<T: Document>(&self, base: &str, value: &T) -> Result<WriteReport> {
        self.write_value_unique(T::KIND, base, &Keyed(value))
    }

    /// The documents of `T`'s kind whose path contains `name_part`, oldest
    /// first, each parsed (see [`parsed`](Self::parsed)).
    ///
    /// # Errors
    ///
    /// As reading the store.
    pub fn parsed_documents<T: Document>(&self, name_part: &str) -> Result<Vec<Parsed<T>>> {
        Ok(self
            .parsed::<Unkeyed<T>>(T::KIND, name_part)?
            .into_iter()
            .map(|parsed| Parsed {
                document: parsed.document.map(|d| d.0),
                record: parsed.record,
                intact: parsed.intact,
            })
            .collect())
    }

    /// [`parsed_documents`](Self::parsed_documents), refusing a document
    /// edited since it was recorded with `remedy` (see
    /// [`trusted`](Self::trusted)).
    ///
    /// # Errors
    ///
    /// As [`trusted`](Self::trusted).
    pub fn trusted_documents<T: Document>(
        &self,
        name_part: &str,
        remedy: &str,
    ) -> Result<Vec<(T, Record)>> {
        Ok(self
            .trusted::<Unkeyed<T>>(T::KIND, name_part, remedy)?
            .into_iter()
            .map(|(document, record)| (document.0, record))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evidence::DirStore;

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    struct Stamp {
        by: String,
    }

    impl Document for Stamp {
        const KIND: &'static str = "stamp";
    }

    #[test]
    fn a_document_is_recorded_under_its_kind_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let store = DirStore::new(dir.path());
        let store: &dyn EvidenceStore = &store;
        let stamp = Stamp { by: "ana".into() };
        let written = store.record_document("first", &stamp).unwrap();
        assert_eq!(written.record.kind, "stamp");
        let text = std::fs::read_to_string(dir.path().join(&written.record.path)).unwrap();
        assert!(text.starts_with("stamp:"), "{text}");
        let read = store
            .trusted_documents::<Stamp>("first", "restore it")
            .unwrap();
        assert_eq!(read.len(), 1);
        assert_eq!(read[0].0, stamp);
    }

    #[test]
    fn a_document_with_another_key_is_not_read_as_this_kind() {
        let dir = tempfile::tempdir().unwrap();
        let store = DirStore::new(dir.path());
        let store: &dyn EvidenceStore = &store;
        store
            .write_value_unique("stamp", "odd", &serde_json::json!({"other": {"by": "x"}}))
            .unwrap();
        let parsed = store.parsed_documents::<Stamp>("odd").unwrap();
        let error = parsed[0].document.as_ref().unwrap_err().to_string();
        assert!(error.contains("other"), "{error}");
    }
}
