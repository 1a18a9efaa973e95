//! Why a command did not run to completion, and its exit code.

use trainyard_core::{Error, ErrorKind};

/// Why a command did not run to completion.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// An error from the core.
    #[error(transparent)]
    Core(#[from] Error),
    /// Writing output failed (a broken pipe exits quietly).
    #[error("cannot write output: {0}")]
    Io(#[from] std::io::Error),
}

impl CliError {
    /// The documented exit code: 2 for input, 3 for the environment, 4 for
    /// internal errors.
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Core(e) => match e.kind() {
                ErrorKind::Input => 2,
                ErrorKind::Environment => 3,
                ErrorKind::Internal => 4,
            },
            CliError::Io(_) => 3,
        }
    }

    /// The error's kind as written in `--json` output.
    pub fn kind_name(&self) -> &'static str {
        match self.exit_code() {
            2 => "input",
            3 => "environment",
            _ => "internal",
        }
    }
}
