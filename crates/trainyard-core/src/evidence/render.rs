//! Values rendered as YAML documents.

use serde::Serialize;

use crate::{Error, Result};

/// Renders a value as a YAML document with serde-saphyr.
///
/// # Errors
///
/// [`Error::Internal`] when serde-saphyr cannot render the value.
pub fn render_yaml<T: Serialize + ?Sized>(value: &T) -> Result<String> {
    serde_saphyr::to_string(&value).map_err(|e| Error::Internal(format!("cannot render yaml: {e}")))
}
