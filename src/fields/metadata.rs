//! A Salesforce DX project that creates an integration's custom fields, deployable with
//! `sf project deploy start` (Salesforce CLI Command Reference, "project deploy start"):
//!
//! ```text
//! DIR/sfdx-project.json                         the project: one package directory, force-app
//! DIR/package.xml                               the manifest: every field and the permission set
//! DIR/force-app/main/default/objects/<Object>/fields/<Field>.field-meta.xml
//! DIR/force-app/main/default/permissionsets/<Name>.permissionset-meta.xml
//! ```
//!
//! The permission set matters: a field deployed through the Metadata API is visible to no profile
//! (no field-level security), so the integration user could not write it (research §9). Elements
//! are written in the order of the Metadata API's XSD sequences (alphabetical after `fullName`).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use super::{FieldSpec, Kind, Role};

const XML_HEADER: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
const NAMESPACE: &str = "http://soap.sforce.com/2006/04/metadata";
const PACKAGE_DIR: &str = "force-app";

/// What was written, for the command's summary.
#[derive(Debug)]
pub struct Written {
    pub files: Vec<PathBuf>,
    pub permission_set: String,
    /// `sfdx-project.json` was already there and kept.
    pub kept_project: bool,
}

/// Escapes text for XML content and attribute values.
#[must_use]
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // XML 1.0 allows no other control characters, even escaped.
            c if c.is_control() && !matches!(c, '\t' | '\n' | '\r') => {}
            c => out.push(c),
        }
    }
    out
}

fn element(out: &mut String, indent: usize, name: &str, value: &str) {
    let _ = writeln!(
        out,
        "{:indent$}<{name}>{}</{name}>",
        "",
        escape(value),
        indent = indent
    );
}

/// The `CustomField` of one field (Metadata API Developer Guide, CustomField): Checkbox needs
/// `defaultValue`; Number and Percent `precision` and `scale`; Text `length`; Long Text Area
/// `length` and `visibleLines`.
#[must_use]
pub fn custom_field(field: &FieldSpec, integration: &str, report: &str) -> String {
    let mut x = String::from(XML_HEADER);
    let _ = writeln!(x, "<CustomField xmlns=\"{NAMESPACE}\">");
    element(&mut x, 4, "fullName", &field.api_name);
    if field.kind == Kind::Checkbox {
        element(&mut x, 4, "defaultValue", "false");
    }
    let what = match field.role {
        Role::Key => "the key the sync matches on",
        Role::Mapping => "written by the sync",
    };
    element(
        &mut x,
        4,
        "description",
        &format!(
            "WalkMe Insights: column \"{}\" of the report \"{report}\", {what} (walkme-sf \
             integration {integration}).",
            field.report_column
        ),
    );
    element(&mut x, 4, "externalId", bool_text(field.external_id));
    element(&mut x, 4, "label", &field.label);
    match field.kind {
        Kind::Text { length } | Kind::LongTextArea { length } => {
            element(&mut x, 4, "length", &length.to_string());
        }
        _ => {}
    }
    if let Kind::Number { precision, scale } | Kind::Percent { precision, scale } = field.kind {
        element(&mut x, 4, "precision", &precision.to_string());
        element(&mut x, 4, "required", "false");
        element(&mut x, 4, "scale", &scale.to_string());
    } else if field.kind != Kind::Checkbox {
        // A Checkbox cannot be required (it is always true or false).
        element(&mut x, 4, "required", "false");
    }
    element(&mut x, 4, "trackTrending", "false");
    element(&mut x, 4, "type", field.kind.metadata_type());
    if matches!(
        field.kind,
        Kind::Text { .. } | Kind::Email | Kind::Number { .. }
    ) {
        element(&mut x, 4, "unique", "false");
    }
    if let Kind::LongTextArea { .. } = field.kind {
        element(&mut x, 4, "visibleLines", "3");
    }
    x.push_str("</CustomField>\n");
    x
}

fn bool_text(b: bool) -> &'static str {
    if b { "true" } else { "false" }
}

/// The permission set's API name for an integration: `WalkMe_` and the integration's name with
/// every run of other characters as one underscore (PermissionSet `name`: letters, digits and
/// single underscores, beginning with a letter, at most 80 characters).
#[must_use]
pub fn permission_set_name(integration: &str) -> String {
    let mut name = String::from("WalkMe_Sync");
    let mut pending = true;
    for c in integration.chars() {
        if c.is_ascii_alphanumeric() {
            if pending {
                name.push('_');
                pending = false;
            }
            name.push(c);
        } else {
            pending = true;
        }
    }
    name.truncate(80);
    name.trim_end_matches('_').to_owned()
}

/// A permission set granting what the sync needs on `object`: API access, read and edit on the
/// object, edit on every mapped field and read on a custom key field.
#[must_use]
pub fn permission_set(integration: &str, object: &str, fields: &[FieldSpec]) -> String {
    let mut x = String::from(XML_HEADER);
    let _ = writeln!(x, "<PermissionSet xmlns=\"{NAMESPACE}\">");
    element(
        &mut x,
        4,
        "description",
        &format!("What the walkme-sf integration {integration} needs to update {object} records."),
    );
    for f in fields {
        x.push_str("    <fieldPermissions>\n");
        element(&mut x, 8, "editable", bool_text(f.role == Role::Mapping));
        element(&mut x, 8, "field", &format!("{object}.{}", f.api_name));
        element(&mut x, 8, "readable", "true");
        x.push_str("    </fieldPermissions>\n");
    }
    element(&mut x, 4, "hasActivationRequired", "false");
    element(&mut x, 4, "label", &format!("WalkMe sync {integration}"));
    x.push_str("    <objectPermissions>\n");
    for (tag, value) in [
        ("allowCreate", "false"),
        ("allowDelete", "false"),
        ("allowEdit", "true"),
        ("allowRead", "true"),
        ("modifyAllRecords", "false"),
        ("object", object),
        ("viewAllRecords", "false"),
    ] {
        element(&mut x, 8, tag, value);
    }
    x.push_str("    </objectPermissions>\n");
    x.push_str("    <userPermissions>\n");
    element(&mut x, 8, "enabled", "true");
    element(&mut x, 8, "name", "ApiEnabled");
    x.push_str("    </userPermissions>\n");
    x.push_str("</PermissionSet>\n");
    x
}

/// The manifest (`package.xml`): every field as `Object.Field` and the permission set.
#[must_use]
pub fn package(
    object: &str,
    fields: &[FieldSpec],
    permission_set: &str,
    api_version: &str,
) -> String {
    let mut x = String::from(XML_HEADER);
    let _ = writeln!(x, "<Package xmlns=\"{NAMESPACE}\">");
    x.push_str("    <types>\n");
    let mut members: Vec<String> = fields
        .iter()
        .map(|f| format!("{object}.{}", f.api_name))
        .collect();
    members.sort();
    for m in &members {
        element(&mut x, 8, "members", m);
    }
    element(&mut x, 8, "name", "CustomField");
    x.push_str("    </types>\n    <types>\n");
    element(&mut x, 8, "members", permission_set);
    element(&mut x, 8, "name", "PermissionSet");
    x.push_str("    </types>\n");
    element(&mut x, 4, "version", api_version);
    x.push_str("</Package>\n");
    x
}

fn project(api_version: &str) -> String {
    let project = serde_json::json!({
        "packageDirectories": [{ "path": PACKAGE_DIR, "default": true }],
        "name": "walkme-sf-fields",
        "sourceApiVersion": api_version,
    });
    let mut text = serde_json::to_string_pretty(&project).unwrap_or_default();
    text.push('\n');
    text
}

/// What to write where.
pub struct Request<'a> {
    pub integration: &'a str,
    pub report: &'a str,
    pub object: &'a str,
    pub api_version: &'a str,
    pub fields: &'a [FieldSpec],
}

/// Writes the project into `dir` (created when missing). Generated files are replaced; an
/// existing `sfdx-project.json` is kept, so the folder may be an existing project.
pub fn write(dir: &Path, request: &Request<'_>) -> std::io::Result<Written> {
    let source = dir.join(PACKAGE_DIR).join("main").join("default");
    let fields_dir = source.join("objects").join(request.object).join("fields");
    let perm_dir = source.join("permissionsets");
    std::fs::create_dir_all(&fields_dir)?;
    std::fs::create_dir_all(&perm_dir)?;
    let mut files = Vec::new();
    let project_path = dir.join("sfdx-project.json");
    let kept_project = project_path.exists();
    if !kept_project {
        std::fs::write(&project_path, project(request.api_version))?;
        files.push(project_path);
    }
    for f in request.fields {
        let path = fields_dir.join(format!("{}.field-meta.xml", f.api_name));
        std::fs::write(&path, custom_field(f, request.integration, request.report))?;
        files.push(path);
    }
    let name = permission_set_name(request.integration);
    let path = perm_dir.join(format!("{name}.permissionset-meta.xml"));
    std::fs::write(
        &path,
        permission_set(request.integration, request.object, request.fields),
    )?;
    files.push(path);
    let path = dir.join("package.xml");
    std::fs::write(
        &path,
        package(request.object, request.fields, &name, request.api_version),
    )?;
    files.push(path);
    Ok(Written {
        files,
        permission_set: name,
        kept_project,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_drops_controls() {
        assert_eq!(
            escape("a<b>&\"c\" 'd'\u{1}"),
            "a&lt;b&gt;&amp;&quot;c&quot; &apos;d&apos;"
        );
    }

    #[test]
    fn permission_set_names_are_valid() {
        assert_eq!(
            permission_set_name("lead-logins"),
            "WalkMe_Sync_lead_logins"
        );
        assert_eq!(permission_set_name("a--b_"), "WalkMe_Sync_a_b");
        assert_eq!(permission_set_name("ünï"), "WalkMe_Sync_n");
        assert!(permission_set_name(&"x".repeat(200)).len() <= 80);
    }
}
