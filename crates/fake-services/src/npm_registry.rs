//! An npm registry: packuments, publish, deprecate and tarballs.
