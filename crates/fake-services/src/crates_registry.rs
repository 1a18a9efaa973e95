//! A cargo registry: a sparse index and the publish, yank and download API.
