//! Problems found in a configuration, located in the file and rendered the way compilers do:
//! `FILE:LINE:COLUMN`, the source line and a caret under the offending text.

use std::fmt::Write as _;
use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::model::Loc;

/// One problem with a configuration (SPEC §8 `validate --json` shape, plus what rendering needs).
#[derive(Debug, Clone, Serialize)]
pub struct Problem {
    pub file: PathBuf,
    /// 1-based; `None` when the problem has no place in the file (a name on the command line).
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub integration: Option<String>,
    pub message: String,
    pub hint: Option<String>,
    #[serde(skip)]
    snippet: Option<Snippet>,
}

#[derive(Debug, Clone)]
struct Snippet {
    text: String,
    /// Caret start and width, in characters of `text`.
    start: usize,
    width: usize,
}

impl Problem {
    /// A problem at a byte range of the source.
    pub fn at(source: &Source, span: Range<usize>, message: impl Into<String>) -> Self {
        let (line, column, snippet) = source.locate(span);
        Self {
            file: source.path.clone(),
            line: Some(line),
            column: Some(column),
            integration: None,
            message: message.into(),
            hint: None,
            snippet: Some(snippet),
        }
    }

    /// A problem with no place in the file.
    pub fn general(file: &Path, message: impl Into<String>) -> Self {
        Self {
            file: file.to_path_buf(),
            line: None,
            column: None,
            integration: None,
            message: message.into(),
            hint: None,
            snippet: None,
        }
    }

    #[must_use]
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    #[must_use]
    pub fn hint_opt(mut self, hint: Option<String>) -> Self {
        self.hint = hint;
        self
    }

    #[must_use]
    pub fn integration(mut self, name: &str) -> Self {
        self.integration = Some(name.to_owned());
        self
    }

    /// The location as `Loc` (0,0 when none).
    #[must_use]
    pub fn loc(&self) -> Loc {
        Loc {
            line: self.line.unwrap_or(0),
            column: self.column.unwrap_or(0),
        }
    }

    /// Render for a terminal, in the style of `just` and `rustc`.
    #[must_use]
    pub fn render(&self, color: bool) -> String {
        let paint = |code: &str, s: &str| {
            if color {
                format!("\x1b[{code}m{s}\x1b[0m")
            } else {
                s.to_owned()
            }
        };
        let mut out = String::new();
        let _ = writeln!(
            out,
            "{} {}",
            paint("1;31", "error:"),
            crate::output::sanitize(&self.message)
        );
        let file = self.file.display();
        let pad = " ".repeat(self.line.map_or(0, |l| l.to_string().len()));
        match (self.line, self.column, &self.snippet) {
            (Some(line), Some(column), Some(snippet)) => {
                let number = line.to_string();
                let _ = writeln!(out, "{pad}{} {file}:{line}:{column}", paint("1;34", "-->"));
                let _ = writeln!(out, "{pad} {}", paint("1;34", "|"));
                let _ = writeln!(
                    out,
                    "{} {} {}",
                    paint("1;34", &number),
                    paint("1;34", "|"),
                    crate::output::sanitize(&snippet.text)
                );
                let lead: String = snippet
                    .text
                    .chars()
                    .take(snippet.start)
                    .map(|c| if c == '\t' { '\t' } else { ' ' })
                    .collect();
                let _ = writeln!(
                    out,
                    "{pad} {} {lead}{}",
                    paint("1;34", "|"),
                    paint("1;31", &"^".repeat(snippet.width.max(1)))
                );
            }
            _ => {
                let _ = writeln!(out, " {} {file}", paint("1;34", "-->"));
            }
        }
        if let Some(hint) = &self.hint {
            let _ = writeln!(
                out,
                "{pad} = {} {}",
                paint("1", "hint:"),
                crate::output::sanitize(hint)
            );
        }
        out
    }
}

/// A config file's text, for locating byte spans.
#[derive(Debug)]
pub struct Source {
    pub path: PathBuf,
    pub text: String,
}

impl Source {
    /// Line (1-based), column (1-based, in characters) and the snippet for a byte span.
    fn locate(&self, span: Range<usize>) -> (usize, usize, Snippet) {
        let at = self.position(span);
        let line_text = &self.text[at.line_start..at.line_end];
        // The caret is placed in the shown line, whose secret values are hidden.
        let text = hide_secrets(line_text);
        let shown = |to: usize| hide_secrets(&self.text[at.line_start..to]).chars().count();
        let caret = shown(at.start).min(text.chars().count());
        (
            at.line,
            at.column,
            Snippet {
                width: shown(at.span_end).saturating_sub(caret),
                text,
                start: caret,
            },
        )
    }

    /// Where a byte span lies: its line, the line's bytes (without a line break) and the span
    /// clamped to them.
    fn position(&self, span: Range<usize>) -> Position {
        let start = floor_char_boundary(&self.text, span.start.min(self.text.len()));
        let end = floor_char_boundary(&self.text, span.end.clamp(start, self.text.len()));
        let line_start = self.text[..start].rfind('\n').map_or(0, |i| i + 1);
        let line_end = self.text[start..]
            .find('\n')
            .map_or(self.text.len(), |i| start + i);
        let line_end = line_start + self.text[line_start..line_end].trim_end_matches('\r').len();
        Position {
            line: self.text[..start].matches('\n').count() + 1,
            column: self.text[line_start..start].chars().count() + 1,
            line_start,
            line_end,
            start,
            // A span running past the end of its line is underlined to the line's end.
            span_end: end.min(line_end).max(start),
        }
    }

    /// The 1-based line and column of a byte offset.
    #[must_use]
    pub fn loc(&self, span: Range<usize>) -> Loc {
        let at = self.position(span);
        Loc {
            line: at.line,
            column: at.column,
        }
    }
}

/// A span's place in a [`Source`]: line and column (1-based, in characters), byte offsets.
struct Position {
    line: usize,
    column: usize,
    line_start: usize,
    line_end: usize,
    start: usize,
    span_end: usize,
}

/// Words that mark a key's value as a secret, wherever they stand in its name (`-` read as `_`).
const SECRET_WORDS: &[&str] = &[
    "secret",
    "token",
    "password",
    "passwd",
    "passphrase",
    "pwd",
    "private_key",
    "privatekey",
    "api_key",
    "apikey",
    "credential",
    "bearer",
    "signature",
];

/// Whether a key's value is a secret by its name (`client_secret`, `refresh-token`, …); a
/// file's or path's name (`jwt_key_file`) is not.
fn hides_value(key: &str) -> bool {
    let key = key.to_ascii_lowercase().replace('-', "_");
    SECRET_WORDS.iter().any(|word| key.contains(word))
        && !key.ends_with("_file")
        && !key.ends_with("_path")
}

/// A config line as a problem shows it: the value of every secret-named key replaced by
/// `<hidden>`, and a URL's user name, password and query left out (`url`, `login_url`). A
/// config holds no secret (SPEC §3), but a user may write one in by mistake, and stderr reaches
/// cron's mail and CI logs.
fn hide_secrets(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    while let Some(eq) = rest.find('=') {
        let (before, after) = (&rest[..eq], &rest[eq + 1..]);
        out.push_str(before);
        out.push('=');
        let key = last_key(before);
        let secret = key.is_some_and(hides_value);
        let url = key.is_some_and(|k| k.to_ascii_lowercase().ends_with("url"));
        if !secret && !url {
            rest = after;
            continue;
        }
        let value = after.trim_start();
        out.push_str(&after[..after.len() - value.len()]);
        let len = value_len(value);
        if secret && len > 0 {
            out.push_str("<hidden>");
        } else if url {
            out.push_str(&shown_url_value(&value[..len]));
        }
        rest = &value[len..];
    }
    out.push_str(rest);
    out
}

/// A quoted URL value as [`hide_secrets`] shows it: through
/// [`crate::auth::http::shown_url`] when it carries a user name, password or query.
fn shown_url_value(value: &str) -> String {
    let inner = value
        .strip_prefix(['"', '\''])
        .and_then(|v| v.strip_suffix(['"', '\'']));
    match inner {
        Some(text)
            if url::Url::parse(text)
                .is_ok_and(|u| u.query().is_some() || !u.username().is_empty()) =>
        {
            format!("\"{}\"", crate::auth::http::shown_url(text))
        }
        _ => value.to_owned(),
    }
}

/// The last key before a `=`: a bare word or a quoted name (a dotted key's last part).
fn last_key(before: &str) -> Option<&str> {
    let before = before.trim_end();
    if let Some(quoted) = before.strip_suffix(['"', '\'']) {
        let quote = before.chars().last()?;
        return quoted.rfind(quote).map(|open| &quoted[open + 1..]);
    }
    let start = before
        .char_indices()
        .rev()
        .find(|&(_, c)| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))
        .map_or(0, |(i, c)| i + c.len_utf8());
    (start < before.len()).then(|| &before[start..])
}

/// The length of the TOML value at the start of `value`: a quoted string to its closing quote,
/// an array or inline table to its closing bracket (either to the line's end when it does not
/// close there), anything else to the next `,`, `}`, `]` or `#`.
fn value_len(value: &str) -> usize {
    for quote in ["\"\"\"", "\'\'\'"] {
        if let Some(body) = value.strip_prefix(quote) {
            return body.find(quote).map_or(value.len(), |i| i + 6);
        }
    }
    if let Some(body) = value.strip_prefix('"') {
        let mut escaped = false;
        for (i, c) in body.char_indices() {
            match c {
                '"' if !escaped => return i + 2,
                '\\' => escaped = !escaped,
                _ => escaped = false,
            }
        }
        return value.len();
    }
    if let Some(body) = value.strip_prefix('\'') {
        return body.find('\'').map_or(value.len(), |i| i + 2);
    }
    if value.starts_with(['[', '{']) {
        // Brackets inside strings are counted too: at worst more of the line is hidden.
        let mut depth = 0usize;
        for (i, c) in value.char_indices() {
            match c {
                '[' | '{' => depth += 1,
                ']' | '}' => {
                    depth -= 1;
                    if depth == 0 {
                        return i + 1;
                    }
                }
                _ => {}
            }
        }
        return value.len();
    }
    let end = value.find([',', '}', ']', '#']).unwrap_or(value.len());
    value[..end].trim_end().len()
}

fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// "did you mean `x`?" for a name close to one of the candidates.
#[must_use]
pub fn did_you_mean<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<String> {
    let lower = name.to_lowercase();
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(&lower, &c.to_lowercase()), c))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| format!("did you mean `{c}`?"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_with_caret_under_the_span() {
        let source = Source {
            path: "c.toml".into(),
            text: "a = 1\nobjekt = \"Lead\"\n".into(),
        };
        let p = Problem::at(&source, 6..12, "unknown key `objekt`").hint("did you mean `object`?");
        assert_eq!(
            p.render(false),
            "error: unknown key `objekt`\n --> c.toml:2:1\n  |\n2 | objekt = \"Lead\"\n  | ^^^^^^\n  = hint: did you mean `object`?\n"
        );
    }

    #[test]
    fn secret_values_are_hidden_from_the_shown_line() {
        for (line, shown) in [
            ("client_secret = \"s3cr3t\"", "client_secret = <hidden>"),
            (
                "refresh_token='s3cr3t' # note",
                "refresh_token=<hidden> # note",
            ),
            ("\"Api-Token\" = s3cr3t", "\"Api-Token\" = <hidden>"),
            ("a.password = \"s3\\\"cr=3t\" ", "a.password = <hidden> "),
            ("password = \"\"\"s3cr3t", "password = <hidden>"),
            (
                "production = { client_secret = 's3cr3t', client_id = \"3MVG\" }",
                "production = { client_secret = <hidden>, client_id = \"3MVG\" }",
            ),
            (
                "url = \"https://x.example.com/r.csv?access_token=s3cr3t\"",
                "url = \"https://x.example.com/r.csv?…\"",
            ),
            (
                "jwt_key_file = \"keys/server.key\"",
                "jwt_key_file = \"keys/server.key\"",
            ),
            (
                "client_id = \"3MVG\" # = token",
                "client_id = \"3MVG\" # = token",
            ),
            ("Zoë_token = s3cr3t", "Zoë_token = <hidden>"),
            ("api-key = s3cr3t", "api-key = <hidden>"),
            ("tokens = [\"s3\", \"cr3t\"] # x", "tokens = <hidden> # x"),
            ("secret = { a = \"s3\", b = \"cr3t\" }", "secret = <hidden>"),
            ("client_secret =", "client_secret ="),
            (
                "report = { name = \"R\", url = \"https://u:pw@x.example.com/r.csv?sig=s3cr3t\" }",
                "report = { name = \"R\", url = \"https://x.example.com/r.csv?…\" }",
            ),
            (
                "login_url = \"https://acme.my.salesforce.com\"",
                "login_url = \"https://acme.my.salesforce.com\"",
            ),
            ("obje\u{FFFD}t = 1", "obje\u{FFFD}t = 1"),
        ] {
            assert_eq!(hide_secrets(line), shown, "{line}");
        }
    }

    /// A problem at the first `len` bytes from `needle` in the one-file `text`, rendered.
    fn rendered_at(text: &str, needle: &str, len: usize) -> String {
        let source = Source {
            path: "c.toml".into(),
            text: text.into(),
        };
        let at = text.find(needle).unwrap();
        Problem::at(&source, at..at + len, "a problem").render(false)
    }

    #[test]
    fn the_caret_stays_under_its_key_after_a_hidden_value() {
        let text = "production = { client_secret = \"s3cr3t-and-more\", objekt = 1 }\n";
        let rendered = rendered_at(text, "objekt", 6);
        assert!(!rendered.contains("s3cr3t"), "{rendered}");
        assert!(rendered.contains(" --> c.toml:1:51\n"), "{rendered}");
        let lines: Vec<&str> = rendered.lines().collect();
        let shown = lines[3].find("objekt").unwrap();
        assert_eq!(lines[4].find('^'), Some(shown), "{rendered}");
        assert_eq!(lines[4].matches('^').count(), 6, "{rendered}");
    }

    #[test]
    fn a_problem_at_a_hidden_value_is_underlined_where_it_is_shown() {
        let rendered = rendered_at("client_secret = s3cr3t-value\n", "s3cr3t", 12);
        let lines: Vec<&str> = rendered.lines().collect();
        assert_eq!(lines[3], "1 | client_secret = <hidden>", "{rendered}");
        assert_eq!(lines[4], "  |                 ^^^^^^^^", "{rendered}");
    }

    #[test]
    fn columns_count_characters_not_bytes() {
        let source = Source {
            path: "c.toml".into(),
            text: "name = \"Zoë\" x".into(),
        };
        let loc = source.loc(13..14);
        assert_eq!((loc.line, loc.column), (1, 13));
    }

    #[test]
    fn suggestions_need_a_close_name() {
        assert_eq!(
            did_you_mean("objekt", ["object", "key"]).as_deref(),
            Some("did you mean `object`?")
        );
        assert_eq!(did_you_mean("zzz", ["object", "key"]), None);
    }
}
