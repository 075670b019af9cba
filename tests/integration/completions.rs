//! `walkme-sf completions SHELL` and `walkme-sf man`: generated from the clap definitions.

use crate::support::TestEnv;

const SUBCOMMANDS: [&str; 5] = ["validate", "run", "fields", "completions", "man"];

#[test]
fn every_shell_gets_a_script_naming_the_subcommands() {
    let env = TestEnv::new();
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let run = env.run(&["completions", shell]);
        run.assert_code(0);
        assert!(run.stdout.len() > 500, "{shell}: {}", run.stdout);
        for sub in SUBCOMMANDS {
            assert!(run.stdout.contains(sub), "{shell} lacks {sub}");
        }
        // fish spells long options `-l config`, the others `--config`.
        assert!(
            run.stdout.contains("config"),
            "{shell} lacks the global options"
        );
    }
}

#[test]
fn bash_script_passes_bash_n() {
    let env = TestEnv::new();
    let run = env.run(&["completions", "bash"]);
    run.assert_code(0);
    let path = env.write("walkme-sf.bash", &run.stdout);
    let status = std::process::Command::new("bash")
        .arg("-n")
        .arg(&path)
        .status()
        .expect("bash runs");
    assert!(status.success(), "bash -n failed on:\n{}", run.stdout);
    // Sourcing it registers the completion function.
    let output = std::process::Command::new("bash")
        .arg("-c")
        .arg(format!(
            "source {} && complete -p walkme-sf",
            path.display()
        ))
        .output()
        .expect("bash runs");
    let registered = String::from_utf8_lossy(&output.stdout);
    assert!(registered.contains("walkme-sf"), "{registered}");
}

#[test]
fn unknown_shell_is_a_usage_error() {
    let env = TestEnv::new();
    let run = env.run(&["completions", "tcsh"]);
    run.assert_code(2);
    assert!(run.stderr.contains("possible values"), "{}", run.stderr);
}

#[test]
fn man_page_is_roff_with_every_subcommand() {
    let env = TestEnv::new();
    let run = env.run(&["man"]);
    run.assert_code(0);
    assert!(
        run.stdout.starts_with(".ie") || run.stdout.contains(".TH walkme-sf"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains(".TH walkme-sf 1"), "{}", run.stdout);
    for sub in SUBCOMMANDS {
        assert!(run.stdout.contains(sub), "man page lacks {sub}");
    }
}

#[test]
fn man_dir_writes_a_page_per_command() {
    let env = TestEnv::new();
    let run = env.run(&["man", "--dir", "man1"]);
    run.assert_code(0);
    for page in [
        "walkme-sf.1",
        "walkme-sf-run.1",
        "walkme-sf-fields.1",
        "walkme-sf-validate.1",
    ] {
        let text = std::fs::read_to_string(env.file("man1").join(page))
            .unwrap_or_else(|e| panic!("{page}: {e}"));
        assert!(text.contains(".TH"), "{page}");
    }
    // `man` renders it when installed here; roff that man cannot read would fail.
    if let Ok(out) = std::process::Command::new("man")
        .args(["-l", "-P", "cat"])
        .arg(env.file("man1").join("walkme-sf-run.1"))
        .env("MANWIDTH", "100")
        .output()
        && out.status.success()
    {
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("--dry-run"), "{text}");
    }
}
