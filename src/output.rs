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
    /// Progress bars allowed (stderr is a terminal, not quiet, not verbose).
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
            // `-v` lines on stderr would tear through a bar drawn there.
            progress: !quiet && verbose == 0 && std::io::stderr().is_terminal() && !dumb,
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

    /// One JSON document on stdout, readable on a terminal too ([`terminal_safe_json`]).
    pub fn json<T: serde::Serialize>(&self, value: &T) -> anyhow::Result<()> {
        let mut text = terminal_safe_json(&serde_json::to_string_pretty(value)?);
        text.push('\n');
        self.data(&text);
        Ok(())
    }
}

/// JSON text with the characters a terminal would act on or hide, which JSON lets through
/// unescaped (DEL, the C1 controls such as U+009B, [`invisible`] ones), written as `\uXXXX`
/// escapes: the same document, safe to print. Such characters occur only inside strings,
/// where the escape means the same character.
#[must_use]
pub fn terminal_safe_json(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    for c in json.chars() {
        if ('\u{7f}'..='\u{9f}').contains(&c) || invisible(c) {
            let _ = std::fmt::Write::write_fmt(&mut out, format_args!("\\u{:04x}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    out
}

/// Make untrusted text (report cells, Salesforce messages) safe for a terminal: control
/// characters other than tab and newline, and the invisible characters that reorder or hide
/// text ([`invisible`]), are shown as `\u{..}` escapes, never interpreted.
#[must_use]
pub fn sanitize(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if (c.is_control() && c != '\n' && c != '\t') || invisible(c) {
            out.push_str(&c.escape_unicode().to_string());
        } else {
            out.push(c);
        }
    }
    out
}

/// Characters a terminal shows as nothing while they reorder or hide the text around them (the
/// format characters of Unicode, category Cf, that text needs least): bidirectional overrides,
/// embeddings, isolates and marks, zero-width space, word joiner, invisible operators and the
/// deprecated format characters, the Mongolian vowel separator, the byte-order mark,
/// interlinear annotation marks and tag characters. The joiners (U+200C, U+200D) stay:
/// scripts and emoji need them; so does the soft hyphen.
fn invisible(c: char) -> bool {
    matches!(
        c,
        '\u{061C}'
            | '\u{180E}'
            | '\u{200B}'
            | '\u{200E}'
            | '\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{206F}'
            | '\u{FEFF}'
            | '\u{FFF9}'..='\u{FFFB}'
            | '\u{E0000}'..='\u{E007F}'
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn sanitize_escapes_terminal_controls() {
        assert_eq!(super::sanitize("a\x1b[31mred\x07"), "a\\u{1b}[31mred\\u{7}");
        assert_eq!(super::sanitize("ok\ttab\nline"), "ok\ttab\nline");
        assert_eq!(super::sanitize("x\u{9b}31m"), "x\\u{9b}31m");
    }

    #[test]
    fn json_escapes_what_a_terminal_would_act_on() {
        let value = serde_json::json!({"error": "a\u{9b}31m\u{7f}\u{202E}b é"});
        let text = super::terminal_safe_json(&serde_json::to_string(&value).unwrap());
        assert_eq!(text, r#"{"error":"a\u009b31m\u007f\u202eb é"}"#);
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&text).unwrap(),
            value
        );
    }

    #[test]
    fn sanitize_shows_text_reordering_characters() {
        assert_eq!(
            super::sanitize("user\u{202E}gnp.exe\u{2066}a\u{200B}b\u{FEFF}\u{E0041}"),
            "user\\u{202e}gnp.exe\\u{2066}a\\u{200b}b\\u{feff}\\u{e0041}"
        );
        assert_eq!(super::sanitize("Zoë 👩\u{200D}💻"), "Zoë 👩\u{200D}💻");
    }
}
