//! SOQL string literals (research §3.3, SOQL "Quoted String Escape Sequences"): single quotes;
//! `\` escaped first, then `'`, `"`, the named control characters; any other control
//! character as `\uXXXX`. `%` and `_` are left alone: they are special only in LIKE, and
//! walkme-sf matches with `=` and `IN`.

/// The quoted SOQL literal of `value`, safe to put into a query.
#[must_use]
pub fn quote(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    quote_into(value, &mut out);
    out
}

/// Append [`quote`]'s literal of `value` to `out`.
pub fn quote_into(value: &str, out: &mut String) {
    out.push('\'');
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if c.is_control() => {
                // Controls outside the BMP do not exist, so four hex digits suffice.
                use std::fmt::Write as _;
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('\'');
}

#[cfg(test)]
mod tests {
    use super::quote;

    #[test]
    fn quotes_and_escapes() {
        assert_eq!(quote("o'brien@example.com"), r"'o\'brien@example.com'");
        assert_eq!(quote(r"a\b"), r"'a\\b'");
        assert_eq!(quote(r"\'"), r"'\\\''");
        assert_eq!(quote("say \"hi\""), r#"'say \"hi\"'"#);
        assert_eq!(quote("a\nb\rc\td\u{8}e\u{c}f"), r"'a\nb\rc\td\be\ff'");
        assert_eq!(quote("x\u{0}y\u{1b}z\u{7f}"), r"'x\u0000y\u001bz\u007f'");
        assert_eq!(quote("100%_done"), "'100%_done'");
        assert_eq!(quote("Zoë ✓"), "'Zoë ✓'");
        assert_eq!(quote(""), "''");
    }

    #[test]
    fn keys_that_look_like_soql_stay_inside_the_literal() {
        let key = "x' OR Email != '";
        let q = quote(key);
        assert_eq!(q, r"'x\' OR Email != \''");
        // Every quote inside is escaped: the literal ends only at the last character.
        let inner = &q[1..q.len() - 1];
        let mut chars = inner.chars();
        while let Some(c) = chars.next() {
            if c == '\\' {
                chars.next();
            } else {
                assert_ne!(c, '\'', "{q}");
            }
        }
        assert_eq!(quote("') LIMIT 1 --"), r"'\') LIMIT 1 --'");
    }
}
