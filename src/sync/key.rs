//! Report keys as Salesforce compares them: trimmed of Unicode white space and, unless the
//! integration is case-sensitive, case-folded (SOQL compares text case-insensitively; research
//! §3.4).

/// Normalise a key for matching on `field`. Salesforce Ids are compared in their 18-character
/// case-safe form, never case-folded (15-character Ids are case-sensitive; research §2.4); other
/// keys as [`normalise`] does.
#[must_use]
pub fn normalise_for(
    raw: &str,
    field: &crate::salesforce::describe::Field,
    case_sensitive: bool,
) -> String {
    normal_form(raw, field, case_sensitive).into_owned()
}

/// [`normalise_for`], borrowing `raw` when it is in normal form already (the usual lower-case
/// e-mail address): no allocation per report row (issue 6).
#[must_use]
pub fn normal_form<'a>(
    raw: &'a str,
    field: &crate::salesforce::describe::Field,
    case_sensitive: bool,
) -> std::borrow::Cow<'a, str> {
    use crate::salesforce::describe::FieldType;
    let trimmed = crate::report::convert::trim(raw);
    // One pass: ASCII and no upper-case letter, every byte looked at without an early exit, so
    // the compiler compares many at once.
    #[allow(clippy::needless_bitwise_bool)] // a branch per byte is what this avoids
    let other = |b: u8| !b.is_ascii() | b.is_ascii_uppercase();
    if !matches!(field.field_type, FieldType::Id | FieldType::Reference)
        && (case_sensitive || !trimmed.bytes().fold(false, |any, b| any | other(b)))
    {
        return std::borrow::Cow::Borrowed(trimmed);
    }
    std::borrow::Cow::Owned(normalise_slow(raw, field, case_sensitive))
}

fn normalise_slow(
    raw: &str,
    field: &crate::salesforce::describe::Field,
    case_sensitive: bool,
) -> String {
    use crate::salesforce::describe::FieldType;
    if matches!(field.field_type, FieldType::Id | FieldType::Reference) {
        let trimmed = raw.trim();
        return crate::report::convert::normalise_id(trimmed).unwrap_or_else(|| trimmed.to_owned());
    }
    normalise(raw, case_sensitive)
}

/// Whether a key field's type can match report text: text-like fields and Ids. Numbers, dates
/// and booleans would need typed SOQL literals and typed comparison; they are refused up front.
#[must_use]
pub fn supported(field: &crate::salesforce::describe::Field) -> bool {
    use crate::salesforce::describe::FieldType;
    matches!(
        field.field_type,
        FieldType::String
            | FieldType::Email
            | FieldType::Phone
            | FieldType::Url
            | FieldType::Id
            | FieldType::Reference
            | FieldType::Picklist
            | FieldType::Combobox
    )
}

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
    use super::{normal_form, normalise};

    #[test]
    fn the_normal_form_is_borrowed_only_when_it_is_the_key_itself() {
        // Random keys of lower- and upper-case letters, non-ASCII ones and spaces: the
        // borrowed form is exactly the key, and whatever comes out is `normalise`'s answer.
        let field =
            crate::report::test_support::field(crate::salesforce::describe::FieldType::Email);
        let chars: Vec<char> = "aZ@.1 é\u{a0}ßK-".chars().collect();
        let mut rng = crate::testrng::XorShift::new(0xbb67_ae85_84ca_a73b);
        let mut borrowed = 0;
        for _ in 0..20_000 {
            let key: String = (0..rng.below(12))
                .map(|_| chars[rng.below(chars.len())])
                .collect();
            for case_sensitive in [false, true] {
                let form = normal_form(&key, &field, case_sensitive);
                assert_eq!(form, normalise(&key, case_sensitive), "{key:?}");
                if let std::borrow::Cow::Borrowed(form) = form {
                    borrowed += 1;
                    let folded = form.bytes().any(|b| b >= 0x80 || b.is_ascii_uppercase());
                    assert!(case_sensitive || !folded, "{key:?}");
                }
            }
        }
        assert!(borrowed > 5_000, "only {borrowed} borrowed");
    }

    #[test]
    fn trims_and_folds() {
        assert_eq!(normalise("  Ann@X.com\u{a0}", false), "ann@x.com");
        assert_eq!(normalise(" Ann@X.com ", true), "Ann@X.com");
        assert_eq!(normalise("STRASSE", false), normalise("straße", false));
        assert_eq!(normalise("İstanbul", false), normalise("istanbul", false));
    }
}
