//! Report keys as Salesforce compares them: trimmed of Unicode white space and, unless the
//! integration is case-sensitive, case-folded (SOQL compares text case-insensitively; research
//! §3.4).

/// Normalise a key for matching.
#[must_use]
pub fn normalise(raw: &str, case_sensitive: bool) -> String {
    let trimmed = raw.trim();
    if case_sensitive {
        trimmed.to_owned()
    } else {
        fold(trimmed)
    }
}

/// Unicode case folding, close enough to Salesforce's: lowercase, then the few characters whose
/// lowercase still differs from their fold (`ß` → `ss`, final sigma).
fn fold(text: &str) -> String {
    let lower = text.to_lowercase();
    if lower.is_ascii() {
        return lower;
    }
    lower
        .replace('ß', "ss")
        .replace('ς', "σ")
        .replace("i\u{307}", "i")
}

#[cfg(test)]
mod tests {
    use super::normalise;

    #[test]
    fn trims_and_folds() {
        assert_eq!(normalise("  Ann@X.com\u{a0}", false), "ann@x.com");
        assert_eq!(normalise(" Ann@X.com ", true), "Ann@X.com");
        assert_eq!(normalise("STRASSE", false), normalise("straße", false));
        assert_eq!(normalise("İstanbul", false), normalise("istanbul", false));
    }
}
