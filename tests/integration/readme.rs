//! README.md's configuration reference is generated from the schema's doc comments
//! (src/config/schema.rs); this test fails when they drift apart. Regenerate with
//! `WALKME_SF_UPDATE_README=1 cargo test --test integration readme`.

use std::fmt::Write as _;

const START: &str = "<!-- config-reference:start (generated from src/config/schema.rs) -->\n";
const END: &str = "<!-- config-reference:end -->";

/// (table heading, struct name) in the order the reference lists them.
const TABLES: &[(&str, &str)] = &[
    ("`[environments.NAME]`", "RawEnvironment"),
    ("`[integrations.NAME]`", "RawIntegration"),
    ("`report = { … }`", "RawReport"),
    ("`key = { … }`", "RawKey"),
    ("`[[integrations.NAME.fields]]`", "RawMapping"),
];

fn reference(schema: &str) -> String {
    let mut out = String::new();
    for (heading, name) in TABLES {
        let start = schema
            .find(&format!("pub struct {name} {{"))
            .expect("struct in schema.rs");
        let before = &schema[..start];
        let doc: Vec<&str> = before
            .lines()
            .rev()
            .skip_while(|l| l.trim_start().starts_with("#["))
            .take_while(|l| l.trim_start().starts_with("///"))
            .collect();
        let doc: Vec<String> = doc
            .iter()
            .rev()
            .map(|l| l.trim_start().trim_start_matches("///").trim().to_owned())
            .collect();
        let doc = doc.join(" ");
        // The struct doc starts by naming its table, which the heading already does.
        let doc = doc.split_once("`: ").map_or(doc.as_str(), |(_, rest)| rest);
        let _ = write!(
            out,
            "#### {heading}\n\n{doc}\n\n| key | meaning |\n| --- | --- |\n"
        );
        let body = &schema[start..];
        let body = &body[..body.find("\n}\n").expect("struct end")];
        let mut pending: Vec<String> = Vec::new();
        for line in body.lines().skip(1) {
            let t = line.trim();
            if let Some(d) = t.strip_prefix("///") {
                pending.push(d.trim().to_owned());
            } else if let Some(rest) = t.strip_prefix("pub ") {
                let field = rest.split(':').next().expect("field").trim();
                let required = !rest.contains("Option<") && !rest.contains("Vec<");
                let mark = if required { " (required)" } else { "" };
                let _ = writeln!(
                    out,
                    "| `{field}`{mark} | {} |",
                    pending.join(" ").replace('|', "\\|")
                );
                pending.clear();
            }
        }
        out.push('\n');
    }
    out
}

#[test]
fn readme_config_reference_matches_the_schema() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let schema = std::fs::read_to_string(root.join("src/config/schema.rs")).expect("schema.rs");
    let readme_path = root.join("README.md");
    let readme = std::fs::read_to_string(&readme_path).expect("README.md");
    let generated = reference(&schema);
    let start = readme
        .find(START)
        .expect("README has the config-reference start marker")
        + START.len();
    let end = readme
        .find(END)
        .expect("README has the config-reference end marker");
    if std::env::var_os("WALKME_SF_UPDATE_README").is_some() {
        let updated = format!("{}{}{}", &readme[..start], generated, &readme[end..]);
        std::fs::write(&readme_path, updated).expect("write README");
        return;
    }
    assert_eq!(
        &readme[start..end],
        generated,
        "README's configuration reference is stale: run WALKME_SF_UPDATE_README=1 cargo test --test integration readme"
    );
}
