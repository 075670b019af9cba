//! The scheduling recipes in examples/schedule/: each checked for syntax with the tools this
//! machine has (`sh -n`, `systemd-analyze verify`) and structurally where no tool exists (the
//! crontab's fields, the workflow's keys), so a typo cannot ship.

use std::path::{Path, PathBuf};
use std::process::Command;

fn recipe(name: &str) -> (PathBuf, String) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples/schedule")
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
    (path, text)
}

fn have(tool: &str) -> bool {
    Command::new(tool)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// `sh -n`: the shell parses the command without running it.
#[track_caller]
fn assert_shell_parses(command: &str) {
    let out = Command::new("sh")
        .args(["-n", "-c", command])
        .output()
        .expect("sh runs");
    assert!(
        out.status.success(),
        "sh -n rejects {command:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// One crontab time field: `*`, numbers, ranges, lists and steps within `min..=max`.
fn cron_field_ok(field: &str, min: u32, max: u32) -> bool {
    field.split(',').all(|part| {
        let (range, step) = match part.split_once('/') {
            Some((r, s)) => (r, Some(s)),
            None => (part, None),
        };
        let step_ok = step.is_none_or(|s| s.parse::<u32>().is_ok_and(|s| s >= 1 && s <= max));
        let in_range = |s: &str| s.parse::<u32>().is_ok_and(|n| (min..=max).contains(&n));
        let range_ok = range == "*"
            || match range.split_once('-') {
                Some((a, b)) => in_range(a) && in_range(b),
                None => in_range(range),
            };
        step_ok && range_ok
    })
}

/// A job line: five time fields and the command (cron's own `%` rule: unescaped means newline).
fn cron_job(line: &str) -> Option<([&str; 5], &str)> {
    let mut rest = line.trim_start();
    let mut fields = [""; 5];
    for field in &mut fields {
        let end = rest.find(char::is_whitespace)?;
        *field = &rest[..end];
        rest = rest[end..].trim_start();
    }
    Some((fields, rest))
}

#[test]
fn crontab_runs_at_eight_utc_and_every_line_is_valid() {
    let (_, text) = recipe("crontab");
    let mut jobs = Vec::new();
    let mut vars = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line_no = i + 1;
        let trimmed = line.trim();
        if trimmed.is_empty() {
            continue;
        }
        // A commented-out job is an offered alternative: it must be as valid as a live one.
        let (job_text, live) = match trimmed.strip_prefix("# ") {
            Some(rest) if rest.starts_with(|c: char| c.is_ascii_digit() || c == '*') => {
                (rest, false)
            }
            _ if trimmed.starts_with('#') => continue,
            _ => (trimmed, true),
        };
        if live
            && let Some((name, _)) = job_text.split_once('=')
            && !name.contains(' ')
        {
            assert!(
                name.chars()
                    .all(|c| c.is_ascii_uppercase() || c == '_' || c.is_ascii_digit()),
                "line {line_no}: bad variable {name}"
            );
            vars.push(job_text.to_owned());
            continue;
        }
        let (fields, command) =
            cron_job(job_text).unwrap_or_else(|| panic!("line {line_no}: not a job: {line}"));
        let limits = [(0, 59), (0, 23), (1, 31), (1, 12), (0, 7)];
        for (field, (min, max)) in fields.iter().zip(limits) {
            assert!(
                cron_field_ok(field, min, max),
                "line {line_no}: bad time field {field:?}"
            );
        }
        let unescaped = command
            .char_indices()
            .any(|(j, c)| c == '%' && !command[..j].ends_with('\\'));
        assert!(!unescaped, "line {line_no}: unescaped % in {command:?}");
        assert_shell_parses(&command.replace("\\%", "%"));
        jobs.push((fields, command.to_owned(), live));
    }
    assert!(vars.iter().any(|v| v == "CRON_TZ=UTC"), "{vars:?}");
    assert!(vars.iter().any(|v| v.starts_with("MAILTO=")), "{vars:?}");
    let live: Vec<_> = jobs.iter().filter(|j| j.2).collect();
    assert_eq!(live.len(), 1, "{jobs:?}");
    assert_eq!(live[0].0, ["0", "8", "*", "*", "*"]);
    assert!(live[0].1.contains("walkme-sf run --all"), "{:?}", live[0].1);
    assert!(
        !live[0].1.contains("--wait"),
        "an overlapping run must exit, not queue"
    );
    assert!(
        jobs.iter().any(|j| j.1.contains("logger -t walkme-sf")),
        "the syslog variant"
    );
}

/// `[Section]` → `key=value` lines of a systemd unit.
fn unit_values(text: &str, section: &str, key: &str) -> Vec<String> {
    let mut current = String::new();
    let mut values = Vec::new();
    for line in text.lines().map(str::trim) {
        if line.starts_with('#') || line.is_empty() {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            name.clone_into(&mut current);
        } else if current == section
            && let Some((k, v)) = line.split_once('=')
            && k.trim() == key
        {
            values.push(v.trim().to_owned());
        }
    }
    values
}

#[test]
fn systemd_timer_and_service_are_what_the_recipe_promises() {
    let (_, timer) = recipe("walkme-sf.timer");
    let (_, service) = recipe("walkme-sf.service");
    assert_eq!(
        unit_values(&timer, "Timer", "OnCalendar"),
        ["*-*-* 08:00:00 UTC"]
    );
    assert_eq!(unit_values(&timer, "Timer", "Persistent"), ["true"]);
    assert_eq!(
        unit_values(&timer, "Install", "WantedBy"),
        ["timers.target"]
    );
    assert_eq!(unit_values(&service, "Service", "Type"), ["oneshot"]);
    let exec = unit_values(&service, "Service", "ExecStart");
    assert_eq!(exec, ["/usr/local/bin/walkme-sf run --all"]);
    let creds = unit_values(&service, "Service", "LoadCredential");
    assert!(creds.iter().any(|c| c.starts_with("jwt-key:")), "{creds:?}");
    for (key, value) in [
        ("NoNewPrivileges", "yes"),
        ("ProtectSystem", "strict"),
        ("ProtectHome", "yes"),
        ("PrivateTmp", "yes"),
        ("DynamicUser", "yes"),
        ("StateDirectory", "walkme-sf"),
        ("CapabilityBoundingSet", ""),
    ] {
        assert_eq!(
            unit_values(&service, "Service", key),
            [value],
            "Service {key}"
        );
    }
    // No secret in the unit: only the credential files' paths.
    for env in unit_values(&service, "Service", "Environment") {
        assert!(!env.contains("TOKEN") && !env.contains("SECRET"), "{env}");
    }
    // The refresh-token alternative's shell script parses.
    let alternative = service
        .lines()
        .find_map(|l| l.strip_prefix("#ExecStart=/bin/sh -c '"))
        .and_then(|l| l.strip_suffix('\''))
        .expect("the refresh-token alternative");
    assert_shell_parses(alternative);
}

#[test]
fn systemd_analyze_verifies_the_units() {
    if !have("systemd-analyze") {
        // Structure is checked above; systemd itself is not part of the test image everywhere.
        eprintln!("systemd-analyze not installed: verify skipped");
        return;
    }
    let (_, timer) = recipe("walkme-sf.timer");
    let (_, service) = recipe("walkme-sf.service");
    let dir = tempfile::tempdir().expect("temp dir");
    // verify checks that ExecStart's program exists: point it at the binary under test.
    let bin = assert_cmd::cargo::cargo_bin("walkme-sf");
    let service = service.replace("/usr/local/bin/walkme-sf", &bin.display().to_string());
    std::fs::write(dir.path().join("walkme-sf.service"), service).expect("write");
    std::fs::write(dir.path().join("walkme-sf.timer"), timer).expect("write");
    // --man=no: the man page is installed by `walkme-sf man --dir`, not on the test machine.
    let out = Command::new("systemd-analyze")
        .args(["verify", "--man=no", "walkme-sf.service", "walkme-sf.timer"])
        .current_dir(dir.path())
        .output()
        .expect("systemd-analyze runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stderr.trim().is_empty(),
        "systemd-analyze verify: {stderr}"
    );
    let out = Command::new("systemd-analyze")
        .args(["calendar", "*-*-* 08:00:00 UTC"])
        .output()
        .expect("systemd-analyze runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("08:00:00 UTC"), "{text}");
}

/// Each `key: value` line of a YAML file as `path/to/key` → value, list items as part of their
/// parent's path. Enough for the flat style GitHub workflows use; not a YAML parser.
fn yaml_paths(text: &str) -> Vec<(String, String)> {
    let mut stack: Vec<(usize, String)> = Vec::new();
    let mut out = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        assert!(!raw.contains('\t'), "line {}: tab in YAML", i + 1);
        let content = raw.trim_start();
        if content.is_empty() || content.starts_with('#') {
            continue;
        }
        let mut indent = raw.len() - content.len();
        assert_eq!(indent % 2, 0, "line {}: odd indentation", i + 1);
        let mut item = content;
        if let Some(rest) = content.strip_prefix("- ") {
            indent += 2;
            item = rest;
        }
        while stack.last().is_some_and(|(d, _)| *d >= indent) {
            stack.pop();
        }
        let Some((key, value)) = item.split_once(':') else {
            continue;
        };
        if key.contains(' ') || key.starts_with(['\'', '"']) {
            continue;
        }
        let value = value.split(" #").next().unwrap_or("").trim().to_owned();
        let path = stack
            .iter()
            .map(|(_, k)| k.as_str())
            .chain([key])
            .collect::<Vec<_>>()
            .join("/");
        out.push((path, value));
        stack.push((indent, key.to_owned()));
    }
    out
}

#[test]
fn github_workflow_has_the_schedule_secrets_artifact_and_pr_validation() {
    let (path, text) = recipe("github-actions.yml");
    assert_eq!(
        text.matches("${{").count(),
        text.matches("}}").count(),
        "unbalanced expressions"
    );
    let paths = yaml_paths(&text);
    let get = |p: &str| -> Vec<&str> {
        paths
            .iter()
            .filter(|(k, _)| k == p)
            .map(|(_, v)| v.as_str())
            .collect()
    };
    assert_eq!(get("on/schedule/cron"), ["'0 8 * * *'"]);
    assert_eq!(get("on/pull_request/paths").len(), 1);
    assert_eq!(
        get("jobs/validate/if"),
        ["github.event_name == 'pull_request'"]
    );
    assert!(get("jobs/validate/steps/run").contains(&"walkme-sf validate"));
    assert_eq!(
        get("jobs/sync/env/WALKME_SF_REFRESH_TOKEN"),
        ["${{ secrets.WALKME_SF_REFRESH_TOKEN }}"]
    );
    assert!(get("jobs/sync/steps/run").contains(&"walkme-sf run --all"));
    assert!(
        get("jobs/sync/steps/uses")
            .iter()
            .any(|u| u.starts_with("actions/upload-artifact@"))
    );
    assert!(get("jobs/sync/steps/if").contains(&"always()"));
    assert_eq!(get("jobs/sync/steps/with/path"), ["walkme-sf-state/runs/"]);
    assert_eq!(
        get("jobs/sync/env/WALKME_SF_STATE_DIR"),
        ["${{ github.workspace }}/walkme-sf-state"]
    );
    // Every one-line `run:` is a shell command that parses (expressions stand in as words).
    for (key, value) in &paths {
        if key.ends_with("/run") {
            assert_shell_parses(&value.replace("${{", "\"").replace("}}", "\""));
        }
    }
    // Where Python with PyYAML is installed, a real YAML parser reads it too.
    if let Ok(out) = Command::new("python3")
        .args(["-c", "import sys, yaml; yaml.safe_load(open(sys.argv[1]))"])
        .arg(&path)
        .output()
        && !String::from_utf8_lossy(&out.stderr).contains("No module named")
    {
        assert!(
            out.status.success(),
            "PyYAML: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn the_checkers_accept_and_refuse() {
    let paths = yaml_paths("on:\n  schedule:\n    - cron: '0 8 * * *'\njobs:\n  a:\n    if: x\n");
    assert!(paths.contains(&("on/schedule/cron".into(), "'0 8 * * *'".into())));
    assert!(paths.contains(&("jobs/a/if".into(), "x".into())));
    assert!(!cron_field_ok("60", 0, 59));
    assert!(cron_field_ok("*/15", 0, 59));
    assert!(cron_field_ok("1-5", 0, 7));
    assert!(!cron_field_ok("8-", 0, 23));
}

#[test]
fn readme_links_to_the_recipes_and_the_setup_guide_resolve() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).expect("README");
    let mut checked = 0;
    for (i, _) in readme.match_indices("](") {
        let target = &readme[i + 2..];
        let Some(end) = target.find(')') else {
            continue;
        };
        let target = &target[..end];
        if target.starts_with("examples/") || target.starts_with("docs/") {
            assert!(
                root.join(target).exists(),
                "README links to missing {target}"
            );
            checked += 1;
        }
    }
    assert!(checked >= 5, "{checked} links checked");
    let guide = std::fs::read_to_string(root.join("docs/salesforce-setup.md")).expect("guide");
    for fact in [
        "http://localhost:1717/OauthRedirect",
        "refresh_token, offline_access",
        "Enable Device Flow",
        "openssl req -x509",
        "API Enabled",
        "External Client App",
    ] {
        assert!(guide.contains(fact), "the setup guide lacks {fact:?}");
    }
}
