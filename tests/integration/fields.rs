//! `walkme-sf fields`: the custom fields an integration needs, inferred from the report, as the
//! e-mail to the admin, as JSON, and as a metadata folder that parses as the Metadata API expects.

use std::path::Path;

use crate::support::TestEnv;

const CONFIG: &str = r#"[integrations.lead-logins]
environment = "sandbox"
object = "Lead"
report = { name = "Logins Review", path = "reports/logins-*.csv" }
key = { report = "User ID", salesforce = "Email" }

[[integrations.lead-logins.fields]]
report = "First Login"
salesforce = "WalkMe_First_Login__c"

[[integrations.lead-logins.fields]]
report = "Last Login"
salesforce = "WalkMe_Last_Login__c"
format = "%m/%d/%Y %H:%M"

[[integrations.lead-logins.fields]]
report = "Logins Last 30 Days"
salesforce = "WalkMe_Logins_Last_30_Days__c"

[[integrations.lead-logins.fields]]
report = "Score"
salesforce = "WalkMe_Score__c"

[[integrations.lead-logins.fields]]
report = "Completion"
salesforce = "WalkMe_Completion__c"

[[integrations.lead-logins.fields]]
report = "Active"
salesforce = "WalkMe_Active__c"

[[integrations.lead-logins.fields]]
report = "Course"
salesforce = "Course_Name__c"

[[integrations.lead-logins.fields]]
report = "Renewal"
salesforce = "WalkMe_Renewal__c"

[[integrations.lead-logins.fields]]
report = "Manager"
salesforce = "WalkMe_Manager_Email__c"

[[integrations.lead-logins.fields]]
report = "Course"
salesforce = "Description"
"#;

const REPORT: &str = "\
User ID,First Login,Last Login,Logins Last 30 Days,Score,Completion,Active,Course,Renewal,Manager
anna@acme.com,2026-05-09T05:35:00Z,11/27/2026 06:08,21,4.25,25%,yes,Salesforce <Basics> & More,2026-12-01,boss@acme.com
ben@globex.io,2026-09-03T02:23:00Z,11/26/2026 23:47,0,-3.5,12.5%,No,Pipeline Hygiene,2027-01-15,chief@globex.io
carla@initech.de,,,,7,,,,,
";

fn env() -> TestEnv {
    let env = TestEnv::new();
    env.write("integrations.toml", CONFIG);
    env.write("reports/logins-2026-11-30.csv", REPORT);
    env
}

#[test]
fn json_lists_every_custom_field_with_its_inferred_type() {
    let env = env();
    let run = env.run(&["fields", "lead-logins", "--json"]);
    run.assert_code(0);
    let doc: serde_json::Value = serde_json::from_str(&run.stdout).expect("JSON");
    assert_eq!(doc["schema_version"], 1);
    assert_eq!(doc["object"], "Lead");
    assert!(doc["environment"].is_null());
    let fields = doc["fields"].as_array().expect("fields");
    let by_name = |name: &str| {
        fields
            .iter()
            .find(|f| f["api_name"] == name)
            .unwrap_or_else(|| panic!("{name} missing in {fields:?}"))
    };
    let expect = [
        ("WalkMe_First_Login__c", "DateTime"),
        ("WalkMe_Last_Login__c", "DateTime"),
        ("WalkMe_Logins_Last_30_Days__c", "Number"),
        ("WalkMe_Score__c", "Number"),
        ("WalkMe_Completion__c", "Percent"),
        ("WalkMe_Active__c", "Checkbox"),
        ("Course_Name__c", "Text"),
        ("WalkMe_Renewal__c", "Date"),
        ("WalkMe_Manager_Email__c", "Email"),
    ];
    for (name, ty) in expect {
        assert_eq!(by_name(name)["type"], ty, "{name}");
    }
    assert_eq!(fields.len(), expect.len(), "standard fields are not listed");
    let score = by_name("WalkMe_Score__c");
    assert_eq!(
        (score["precision"].as_u64(), score["scale"].as_u64()),
        (Some(18), Some(2))
    );
    let logins = by_name("WalkMe_Logins_Last_30_Days__c");
    assert_eq!(logins["scale"], 0);
    let completion = by_name("WalkMe_Completion__c");
    assert_eq!(
        (
            completion["precision"].as_u64(),
            completion["scale"].as_u64()
        ),
        (Some(4), Some(1))
    );
    assert_eq!(by_name("Course_Name__c")["length"], 100);
    assert_eq!(by_name("WalkMe_First_Login__c")["label"], "First Login");
    assert_eq!(by_name("WalkMe_First_Login__c")["values_seen"], 2);
    // The standard field is explained, the unprefixed one warned about.
    let skipped = doc["skipped"].to_string();
    assert!(
        skipped.contains("`Description` is a standard field"),
        "{skipped}"
    );
    let warnings = doc["warnings"].to_string();
    assert!(
        warnings.contains("`Course_Name__c` lacks the `WalkMe_` prefix"),
        "{warnings}"
    );
    assert!(
        run.stderr.contains("warning: `Course_Name__c` lacks"),
        "{}",
        run.stderr
    );
}

#[test]
fn text_reads_like_the_mail_to_the_admin() {
    let env = env();
    let run = env.run(&["fields", "lead-logins"]);
    run.assert_code(0);
    let out = &run.stdout;
    // Prose is wrapped: compare it with the line breaks folded into spaces.
    let prose = out.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(out.lines().all(|l| l.chars().count() <= 90), "{out}");
    for needle in [
        "Dear Salesforce admin",
        "report \"Logins Review\"",
        "to the Lead object, first in the sandbox and, once the sync is tested there, in production",
        "Field Name",
        "WalkMe_First_Login First Login Date/Time",
        "Date/Time",
        "Number(18, 0)",
        "Number(16, 2)",
        "Percent(3, 1)",
        "Checkbox",
        "Text(100)",
        "permission set",
        "sf project deploy start",
    ] {
        assert!(prose.contains(needle), "{needle:?} missing in:\n{out}");
    }
    // Columns line up: each field name starts a row at the same indentation.
    let rows: Vec<&str> = out.lines().filter(|l| l.starts_with("  WalkMe_")).collect();
    assert_eq!(rows.len(), 8, "{out}");
    let label_col = rows[0].find("First Login").expect("label");
    assert!(
        rows.iter()
            .all(|r| r.len() > label_col && &r[label_col - 2..label_col] == "  ")
    );
}

#[test]
fn a_custom_key_field_is_listed_as_an_external_id() {
    let env = TestEnv::new();
    env.write(
        "integrations.toml",
        r#"[integrations.teachme]
environment = "production"
object = "WalkMe_Course_Progress__c"
report = { name = "TeachMe", path = "teachme.csv" }
key = { report = "User Email", salesforce = "WalkMe_User_Email__c" }

[[integrations.teachme.fields]]
report = "Progress"
salesforce = "WalkMe_Progress__c"
"#,
    );
    env.write("teachme.csv", "User Email,Progress\na@b.co,70\nc@d.de,85\n");
    let run = env.run(&["fields", "teachme", "--json"]);
    run.assert_code(0);
    let doc: serde_json::Value = serde_json::from_str(&run.stdout).expect("JSON");
    let key = &doc["fields"][0];
    assert_eq!(key["api_name"], "WalkMe_User_Email__c");
    assert_eq!(key["type"], "Email");
    assert_eq!(key["role"], "key");
    assert_eq!(key["external_id"], true);
}

#[test]
fn a_missing_report_gives_guesses_with_a_warning() {
    let env = TestEnv::new();
    env.write("integrations.toml", CONFIG);
    let run = env.run(&["fields", "lead-logins", "--json"]);
    run.assert_code(0);
    let doc: serde_json::Value = serde_json::from_str(&run.stdout).expect("JSON");
    assert!(doc["report"]["file"].is_null());
    assert_eq!(doc["fields"][0]["type"], "Text");
    assert_eq!(doc["fields"][1]["type"], "DateTime", "the format says so");
    assert!(run.stderr.contains("no report to read"), "{}", run.stderr);
}

#[test]
fn unknown_integration_is_a_usage_error() {
    let env = env();
    let run = env.run(&["fields", "lead-login"]);
    run.assert_code(2);
    assert!(
        run.stderr.contains("no integration named `lead-login`"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("lead-logins"), "{}", run.stderr);
}

fn parse(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    roxmltree::Document::parse(&text).unwrap_or_else(|e| panic!("{}: {e}\n{text}", path.display()));
    text
}

/// The text of `parent`'s child elements named `name`.
fn children(
    doc: &roxmltree::Document<'_>,
    parent: roxmltree::Node<'_, '_>,
    name: &str,
) -> Vec<String> {
    let _ = doc;
    parent
        .children()
        .filter(|n| n.has_tag_name(name))
        .map(|n| n.text().unwrap_or_default().to_owned())
        .collect()
}

#[test]
fn metadata_folder_is_well_formed_and_complete() {
    let env = env();
    let run = env.run(&["fields", "lead-logins", "--metadata", "sf"]);
    run.assert_code(0);
    assert!(
        run.stderr
            .contains("sf project deploy start --manifest package.xml"),
        "{}",
        run.stderr
    );
    let root = env.file("sf");
    let project: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root.join("sfdx-project.json")).expect("project"),
    )
    .expect("project JSON");
    assert_eq!(project["packageDirectories"][0]["path"], "force-app");
    let fields_dir = root.join("force-app/main/default/objects/Lead/fields");

    let ns = "http://soap.sforce.com/2006/04/metadata";
    let mut names = Vec::new();
    for entry in std::fs::read_dir(&fields_dir).expect("fields dir") {
        let path = entry.expect("entry").path();
        let text = parse(&path);
        let doc = roxmltree::Document::parse(&text).expect("xml");
        let root_el = doc.root_element();
        assert!(
            root_el.has_tag_name((ns, "CustomField")),
            "{}",
            path.display()
        );
        let one = |name: &str| {
            let v = children(&doc, root_el, name);
            assert!(v.len() <= 1, "{name} twice in {}", path.display());
            v.into_iter().next()
        };
        let full_name = one("fullName").expect("fullName");
        assert_eq!(
            path.file_name().and_then(|n| n.to_str()),
            Some(format!("{full_name}.field-meta.xml").as_str())
        );
        assert!(one("label").is_some_and(|l| !l.is_empty() && l.chars().count() <= 40));
        let ty = one("type").expect("type");
        match ty.as_str() {
            "Checkbox" => {
                assert_eq!(one("defaultValue").as_deref(), Some("false"));
                assert_eq!(one("required"), None, "a checkbox cannot be required");
            }
            "Number" | "Percent" => {
                let precision: u32 = one("precision")
                    .expect("precision")
                    .parse()
                    .expect("number");
                let scale: u32 = one("scale").expect("scale").parse().expect("number");
                assert!(scale <= precision && precision <= 18, "{full_name}");
            }
            "Text" => {
                let length: u32 = one("length").expect("length").parse().expect("number");
                assert!((1..=255).contains(&length), "{full_name}");
            }
            "Date" | "DateTime" | "Email" => assert_eq!(one("length"), None),
            other => panic!("unexpected type {other}"),
        }
        // Metadata API elements follow the XSD sequence: fullName first, the rest alphabetical.
        let order: Vec<&str> = root_el
            .children()
            .filter(roxmltree::Node::is_element)
            .map(|n| n.tag_name().name())
            .collect();
        assert_eq!(order[0], "fullName");
        let mut sorted = order[1..].to_vec();
        sorted.sort_unstable();
        assert_eq!(order[1..], sorted[..], "{}", path.display());
        names.push(format!("Lead.{full_name}"));
    }
    names.sort();
    assert_eq!(names.len(), 9);

    // The description quotes a report cell's text? No: it names the column, escaped all the same.
    let course = parse(&fields_dir.join("Course_Name__c.field-meta.xml"));
    assert!(course.contains("<length>100</length>"), "{course}");

    // package.xml lists every field and the permission set.
    let package = parse(&root.join("package.xml"));
    let doc = roxmltree::Document::parse(&package).expect("xml");
    let mut listed = Vec::new();
    let mut perm_sets = Vec::new();
    for types in doc
        .root_element()
        .children()
        .filter(|n| n.has_tag_name("types"))
    {
        let name = children(&doc, types, "name");
        let members = children(&doc, types, "members");
        match name.first().map(String::as_str) {
            Some("CustomField") => listed.extend(members),
            Some("PermissionSet") => perm_sets.extend(members),
            other => panic!("unexpected type {other:?}"),
        }
    }
    listed.sort();
    assert_eq!(listed, names);
    assert_eq!(perm_sets, ["WalkMe_Sync_lead_logins"]);
    assert!(package.contains("<version>64.0</version>"), "{package}");

    // The permission set grants edit on every field it lists, and on the object.
    let perm = parse(&root.join(
        "force-app/main/default/permissionsets/WalkMe_Sync_lead_logins.permissionset-meta.xml",
    ));
    let doc = roxmltree::Document::parse(&perm).expect("xml");
    let mut granted = Vec::new();
    for fp in doc
        .root_element()
        .children()
        .filter(|n| n.has_tag_name("fieldPermissions"))
    {
        assert_eq!(children(&doc, fp, "editable"), ["true"]);
        assert_eq!(children(&doc, fp, "readable"), ["true"]);
        granted.extend(children(&doc, fp, "field"));
    }
    granted.sort();
    assert_eq!(granted, names);
    assert!(perm.contains("<object>Lead</object>") && perm.contains("<allowEdit>true</allowEdit>"));
    assert!(perm.contains("<name>ApiEnabled</name>"));
}

#[test]
fn metadata_escapes_what_it_quotes() {
    let env = TestEnv::new();
    env.write(
        "integrations.toml",
        r#"[integrations.odd]
environment = "sandbox"
object = "Contact"
report = { name = "Q&A <weekly> \"report\"", path = "odd.csv" }
key = { report = "Email", salesforce = "Email" }

[[integrations.odd.fields]]
report = "Score <raw> & 'more'"
salesforce = "WalkMe_Score__c"
"#,
    );
    env.write("odd.csv", "Email,Score <raw> & 'more'\na@b.co,3\n");
    let run = env.run(&["fields", "odd", "--metadata", "out"]);
    run.assert_code(0);
    let text =
        parse(&env.file(
            "out/force-app/main/default/objects/Contact/fields/WalkMe_Score__c.field-meta.xml",
        ));
    let doc = roxmltree::Document::parse(&text).expect("xml");
    let label = children(&doc, doc.root_element(), "label");
    assert_eq!(label, ["Score <raw> & 'more'"]);
    let description = children(&doc, doc.root_element(), "description");
    assert!(
        description[0].contains("Q&A <weekly> \"report\""),
        "{description:?}"
    );
}

#[test]
fn with_env_only_the_fields_the_org_lacks() {
    let emu = sf_emulator::Emulator::start(sf_emulator::Config::default()).expect("emulator");
    let env = TestEnv::new();
    env.write(
        "integrations.toml",
        format!(
            "[environments.sandbox]\nlogin_url = \"{}\"\nclient_id = \"3MVG-walkme\"\n\n{CONFIG}",
            emu.url()
        ),
    );
    env.write("reports/logins-2026-11-30.csv", REPORT);
    let output = env
        .command()
        .args(["fields", "lead-logins", "--env", "sandbox", "--json"])
        .env(
            "WALKME_SF_ACCESS_TOKEN",
            emu.issue_access_token("admin@example.com"),
        )
        .env("WALKME_SF_INSTANCE_URL", emu.url())
        .output()
        .expect("run");
    let run = crate::support::Run::from(output);
    run.assert_code(0);
    let doc: serde_json::Value = serde_json::from_str(&run.stdout).expect("JSON");
    assert_eq!(doc["environment"], "sandbox");
    let existing = doc["existing"].to_string();
    // The emulator's Lead has these two (and WalkMe_Active__c) already.
    for name in [
        "WalkMe_First_Login__c",
        "WalkMe_Last_Login__c",
        "WalkMe_Active__c",
    ] {
        assert!(existing.contains(name), "{existing}");
        assert!(
            doc["fields"]
                .as_array()
                .expect("fields")
                .iter()
                .all(|f| f["api_name"] != name),
            "{name} listed although it exists"
        );
    }
    let lacking: Vec<&str> = doc["fields"]
        .as_array()
        .expect("fields")
        .iter()
        .filter_map(|f| f["api_name"].as_str())
        .collect();
    assert_eq!(
        lacking,
        [
            "WalkMe_Score__c",
            "WalkMe_Completion__c",
            "Course_Name__c",
            "WalkMe_Renewal__c",
            "WalkMe_Manager_Email__c"
        ]
    );

    // As text: the e-mail names the sandbox only.
    let output = env
        .command()
        .args(["fields", "lead-logins", "--env", "sandbox"])
        .env(
            "WALKME_SF_ACCESS_TOKEN",
            emu.issue_access_token("admin@example.com"),
        )
        .env("WALKME_SF_INSTANCE_URL", emu.url())
        .output()
        .expect("run");
    let run = crate::support::Run::from(output);
    run.assert_code(0);
    let prose = run.stdout.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        prose.contains("in the sandbox (the org of `sandbox`)"),
        "{}",
        run.stdout
    );
    assert!(
        prose.contains("Already there: WalkMe_First_Login__c"),
        "{}",
        run.stdout
    );
}

#[test]
fn with_env_and_no_login_exits_3_with_the_login_hint() {
    let env = env();
    let run = env.run(&["fields", "lead-logins", "--env", "production"]);
    run.assert_code(3);
    assert!(
        run.stderr.contains("walkme-sf login --env production"),
        "{}",
        run.stderr
    );
}
