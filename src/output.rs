//! The printer: data to stdout, status and progress to stderr, and the rules for colour,
//! `--quiet`, `--json` and terminals. Untrusted text is sanitised before it reaches a terminal.

use std::io::{IsTerminal, Write};

/// How a command should print.
#[derive(Debug, Clone)]
pub struct Printer {
    /// `--quiet`: only errors on stderr.
    pub quiet: bool,
    /// Colour on stdout.
    pub color_stdout: bool,
    /// Colour on stderr.
    pub color_stderr: bool,
    /// Progress bars allowed (stderr is a terminal, not quiet).
    pub progress: bool,
    /// `-v` count.
    pub verbose: u8,
}

/// `--color` choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum ColorChoice {
    #[default]
    Auto,
    Always,
    Never,
}

impl Printer {
    /// Decide colours and progress from the choice, `NO_COLOR`, `TERM` and whether the streams
    /// are terminals.
    #[must_use]
    pub fn new(color: ColorChoice, quiet: bool, verbose: u8) -> Self {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        let dumb = std::env::var("TERM").map_or(true, |t| t == "dumb");
        let auto = |tty: bool| tty && !no_color && !dumb;
        let (out, err) = match color {
            ColorChoice::Always => (true, true),
            ColorChoice::Never => (false, false),
            ColorChoice::Auto => (
                auto(std::io::stdout().is_terminal()),
                auto(std::io::stderr().is_terminal()),
            ),
        };
        console::set_colors_enabled(out);
        console::set_colors_enabled_stderr(err);
        Self {
            quiet,
            color_stdout: out,
            color_stderr: err,
            progress: !quiet && std::io::stderr().is_terminal() && !dumb,
            verbose,
        }
    }

    /// A status line on stderr (suppressed by `--quiet`).
    pub fn status(&self, line: &str) {
        if !self.quiet {
            eprintln!("{line}");
        }
    }

    /// A warning on stderr (suppressed by `--quiet`).
    pub fn warn(&self, line: &str) {
        if !self.quiet {
            if self.color_stderr {
                eprintln!("\x1b[1;33mwarning:\x1b[0m {line}");
            } else {
                eprintln!("warning: {line}");
            }
        }
    }

    /// A detail line on stderr, shown with `-v`.
    pub fn verbose(&self, line: &str) {
        if self.verbose > 0 && !self.quiet {
            eprintln!("{line}");
        }
    }

    /// Data on stdout.
    pub fn data(&self, text: &str) {
        let mut out = std::io::stdout().lock();
        // A closed pipe (`| head`) is not an error worth a message.
        let _ = out.write_all(text.as_bytes());
        let _ = out.flush();
    }

    /// One JSON document on stdout.
    pub fn json<T: serde::Serialize>(&self, value: &T) -> anyhow::Result<()> {
        let mut text = serde_json::to_string_pretty(value)?;
        text.push('\n');
        self.data(&text);
        Ok(())
    }
}

/// Make untrusted text (report cells, Salesforce messages) safe for a terminal: control
/// characters other than tab and newline are shown as `\u{..}` escapes, never interpreted.
#[must_use]
pub fn sanitize(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_control() && c != '\n' && c != '\t' {
            out.push_str(&c.escape_unicode().to_string());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn sanitize_escapes_terminal_controls() {
        assert_eq!(super::sanitize("a\x1b[31mred\x07"), "a\\u{1b}[31mred\\u{7}");
        assert_eq!(super::sanitize("ok\ttab\nline"), "ok\ttab\nline");
    }
}
