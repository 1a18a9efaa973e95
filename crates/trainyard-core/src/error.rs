//! The one error type of the core, and the kind that decides the exit code.
//!
//! Messages are lowercase with no final period, and say where: a file, a
//! line and column, a key, a tag or a commit.

use std::path::PathBuf;

/// What went wrong, in the terms the binary turns into an exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// Bad usage, configuration or input: the user can fix it (exit 2).
    Input,
    /// The environment failed: an I/O error, a missing tool, a lock held
    /// elsewhere (exit 3).
    Environment,
    /// A bug in trainyard (exit 4).
    Internal,
}

/// An error from the trainyard core.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Input the user can correct: a bad version, a malformed file, a
    /// missing tag. The message names what is wrong and where.
    #[error("{0}")]
    Input(String),
    /// An I/O failure on a named path.
    #[error("{action} {}: {source}", path.display())]
    Io {
        /// What trainyard was doing, e.g. "cannot read".
        action: &'static str,
        /// The file or directory concerned.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A failure of the environment that is not a plain I/O error on a path
    /// (git missing, a lock held by another run).
    #[error("{0}")]
    Environment(String),
    /// A sync target's lock is held by another run (an environment
    /// failure, exit 3), or was left by one that is gone: who holds it,
    /// since when, and what to do.
    #[error("{0}")]
    Locked(Box<crate::sync::lock::LockHeld>),
    /// An invariant trainyard relies on did not hold.
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    /// The kind of this error, which the binary maps to an exit code.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Input(_) => ErrorKind::Input,
            Error::Io { .. } | Error::Environment(_) | Error::Locked(_) => ErrorKind::Environment,
            Error::Internal(_) => ErrorKind::Internal,
        }
    }

    /// An input error with the given message.
    pub fn input(message: impl Into<String>) -> Self {
        Error::Input(message.into())
    }

    /// An environment error with the given message.
    pub fn environment(message: impl Into<String>) -> Self {
        Error::Environment(message.into())
    }

    /// The same error, its message given a prefix and a suffix: what was
    /// going on, and how to go on. The kind (and so the exit code) stays.
    pub fn within(self, prefix: &str, suffix: &str) -> Self {
        let message = match &self {
            Error::Internal(m) => m.clone(),
            other => other.to_string(),
        };
        let text = format!("{prefix}{message}{suffix}");
        match self.kind() {
            ErrorKind::Input => Error::Input(text),
            ErrorKind::Environment => Error::Environment(text),
            ErrorKind::Internal => Error::Internal(text),
        }
    }

    /// Wraps an I/O error with what was being done and to which path.
    pub fn io(action: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            action,
            path: path.into(),
            source,
        }
    }
}

/// The result type of the core.
pub type Result<T, E = Error> = std::result::Result<T, E>;
