//! The README's "Try it" section run as printed (issue 19), so that it cannot drift: on a
//! fresh data directory, `serve --demo` as command 1 starts it, then every command of the
//! section's `sh` blocks runs through `bash` in order, with only what a reader fills in
//! themselves filled in: `cargo run -p cobro --` is the built binary, `$KEY` the key the
//! `keys create` before it printed, `cli_…`, `inv_…` and `RF…` the ids and payment
//! reference the answers before them gave, and port 8080 the port this test's serve got. Each answer is checked against the
//! `# ->` line printed under its command: every `"field":value` shown must be in the answer
//! (`…` stands for anything), a status shown (`-> 200`) must be the one answered, and a curl
//! must answer 2xx.

// A test fails loudly, and its README parser works on the README only.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

use std::path::Path;
use std::process::Command;

mod common;

use serde_json::Value;

const README: &str = include_str!("../../README.md");
const CARGO_RUN: &str = "cargo run -p cobro --";

/// One command of the README and what the README says it answers.
#[derive(Debug)]
struct Step {
    command: String,
    /// The `# -> …` text under the command (continuation lines joined), and the thing it
    /// describes when it names one (`escalated.csv -> …`).
    expect: Option<(Option<String>, String)>,
}

/// The section's commands, in order.
fn steps() -> Vec<Step> {
    let start = README
        .find("\n## Try it\n")
        .expect("README has a Try it section");
    let rest = &README[start + 1..];
    let end = rest[3..].find("\n## ").map_or(rest.len(), |e| e + 3);
    let section = &rest[..end];
    let mut steps: Vec<Step> = Vec::new();
    let mut in_block = false;
    let mut open_expectation = false;
    let mut lines = section.lines();
    while let Some(line) = lines.next() {
        if line.starts_with("```") {
            in_block = line == "```sh";
            open_expectation = false;
            continue;
        }
        if !in_block {
            continue;
        }
        let trimmed = line.trim_start();
        if let Some(comment) = trimmed.strip_prefix('#') {
            let comment = comment.trim();
            if let Some((subject, expected)) = expectation(comment) {
                let last = steps.last_mut().expect("an expectation follows a command");
                assert!(
                    last.expect.is_none(),
                    "two expectations for {}",
                    last.command
                );
                last.expect = Some((subject, expected));
                open_expectation = true;
            } else if open_expectation && comment.starts_with('"') {
                let last = steps.last_mut().unwrap();
                last.expect.as_mut().unwrap().1.push_str(comment);
            } else {
                open_expectation = false;
            }
            continue;
        }
        open_expectation = false;
        if trimmed.is_empty() {
            continue;
        }
        // A command goes on while it ends in `\` or a single quote is open.
        let mut command = line.to_string();
        while command.ends_with('\\') || quote_open(&command) {
            command.push('\n');
            command.push_str(lines.next().expect("a command ends inside its block"));
        }
        steps.push(Step {
            command,
            expect: None,
        });
    }
    steps
}

/// Whether a single quote is still open at the end of `command` (a `#` outside quotes
/// starts a comment, where quotes are words: "F-000001's reminder").
fn quote_open(command: &str) -> bool {
    let (mut single, mut double, mut before) = (false, false, ' ');
    for c in command.chars() {
        match c {
            '\'' if !double => single = !single,
            '"' if !single => double = !double,
            '#' if !single && !double && before.is_whitespace() => {
                // the comment runs to the end of its line
                return false;
            }
            _ => {}
        }
        before = c;
    }
    single
}

/// `-> answer`, `evt_… -> answer` or `escalated.csv -> answer`.
fn expectation(comment: &str) -> Option<(Option<String>, String)> {
    if let Some(answer) = comment.strip_prefix("-> ") {
        return Some((None, answer.to_string()));
    }
    let (subject, answer) = comment.split_once(" -> ")?;
    (!subject.contains(' ')).then(|| (Some(subject.to_string()), answer.to_string()))
}

/// What an expected value may be.
#[derive(Debug, PartialEq)]
enum Shown {
    Text(String),
    Literal(Value),
    EmptyArray,
    AnyArray,
    AnyObject,
}

/// The `"field":value` pairs an expectation shows, nested ones included.
fn shown_fields(expected: &str) -> Vec<(String, Shown)> {
    let mut out = Vec::new();
    let chars: Vec<char> = expected.chars().collect();
    let mut i = 0;
    let string_at = |mut j: usize| -> (String, usize) {
        let mut s = String::new();
        j += 1;
        while j < chars.len() && chars[j] != '"' {
            if chars[j] == '\\' {
                j += 1;
            }
            s.push(chars[j]);
            j += 1;
        }
        (s, j + 1)
    };
    while i < chars.len() {
        if chars[i] != '"' {
            i += 1;
            continue;
        }
        let (key, after) = string_at(i);
        i = after;
        if chars.get(i) != Some(&':') {
            continue; // a string value scanned as a key: move on
        }
        i += 1;
        let rest: String = chars[i..].iter().collect();
        let shown = if rest.starts_with("[]") {
            i += 2;
            Shown::EmptyArray
        } else if rest.starts_with("[…]") || rest.starts_with('[') {
            i += 1;
            Shown::AnyArray
        } else if rest.starts_with('{') {
            i += 1;
            Shown::AnyObject
        } else if rest.starts_with('"') {
            let (value, after) = string_at(i);
            i = after;
            Shown::Text(value)
        } else {
            let token: String = rest
                .chars()
                .take_while(|c| !matches!(c, ',' | '}' | ']' | ' '))
                .collect();
            i += token.chars().count();
            Shown::Literal(serde_json::from_str(&token).expect(&token))
        };
        out.push((key, shown));
    }
    out
}

/// Text with `…` for anything matches `actual`.
fn matches_text(pattern: &str, actual: &str) -> bool {
    let pieces: Vec<&str> = pattern.split('…').collect();
    if pieces.len() == 1 {
        return pattern == actual;
    }
    let (first, last) = (pieces[0], pieces[pieces.len() - 1]);
    if !actual.starts_with(first) || !actual[first.len()..].ends_with(last) {
        return false;
    }
    let mut at = first.len();
    let stop = actual.len() - last.len();
    for piece in &pieces[1..pieces.len() - 1] {
        match actual[at..stop].find(piece) {
            Some(p) => at += p + piece.len(),
            None => return false,
        }
    }
    true
}

fn shown_in(key: &str, shown: &Shown, value: &Value) -> bool {
    let here = |v: &Value| match shown {
        Shown::Text(t) => v.as_str().is_some_and(|s| matches_text(t, s)),
        Shown::Literal(l) => v == l,
        Shown::EmptyArray => v.as_array().is_some_and(Vec::is_empty),
        Shown::AnyArray => v.is_array(),
        Shown::AnyObject => v.is_object(),
    };
    match value {
        Value::Object(map) => map
            .iter()
            .any(|(k, v)| (k == key && here(v)) || shown_in(key, shown, v)),
        Value::Array(items) => items.iter().any(|v| shown_in(key, shown, v)),
        _ => false,
    }
}

/// Checks an answer against what the README shows of it.
fn check(command: &str, expected: &str, answer: &str) {
    if let Some(status) = expected
        .split_whitespace()
        .next()
        .filter(|s| s.len() == 3 && s.chars().all(|c| c.is_ascii_digit()))
    {
        assert!(
            answer.contains(&format!("-> {status}")),
            "{command}\nshould answer {status}, answered:\n{answer}"
        );
    }
    let fields = shown_fields(expected);
    if fields.is_empty() {
        // Not JSON (a CSV): the pieces between `…` appear in order.
        let pattern = format!("…{}…", expected.trim().trim_matches('…'));
        assert!(
            matches_text(&pattern, answer),
            "{command}\nshould show {expected}, answered:\n{answer}"
        );
        return;
    }
    let json = json_in(answer).unwrap_or_else(|| panic!("{command}\nanswered no JSON:\n{answer}"));
    for (key, shown) in &fields {
        assert!(
            shown_in(key, shown, &json),
            "{command}\nshould answer \"{key}\": {shown:?}, answered:\n{json:#}"
        );
    }
}

/// The JSON object in an answer (a curl's body, `evt_… -> 200 {…}`, a sweep's report).
fn json_in(answer: &str) -> Option<Value> {
    let (start, end) = (answer.find('{')?, answer.rfind('}')?);
    serde_json::from_str(answer.get(start..=end)?).ok()
}

/// Starts command 1 (`serve --demo`) on a free port; its base URL.
fn serve(dir: &Path) -> (common::Server, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_cobro"));
    command
        .current_dir(dir)
        .args(["serve", "--demo", "--addr", "127.0.0.1:0"])
        .env_clear()
        .envs(clean_env());
    common::serve_demo(command)
}

/// The environment without any COBRO_ setting of the machine running the test.
fn clean_env() -> Vec<(String, String)> {
    std::env::vars()
        .filter(|(k, _)| !k.starts_with("COBRO_") && k != "AWS_ENDPOINT_URL")
        .collect()
}

#[test]
fn the_readme_try_it_section_runs_as_printed() {
    let steps = steps();
    assert!(steps.len() >= 20, "{steps:#?}");
    let dir = tempfile::tempdir().unwrap();
    let bin = env!("CARGO_BIN_EXE_cobro");
    let mut server = None;
    let mut port = String::new();
    let (mut key, mut client_id, mut invoice_id) = (String::new(), String::new(), String::new());
    let mut reference = String::new();
    let mut last_output = String::new();
    for step in &steps {
        let fill = |s: &str| {
            s.replace(CARGO_RUN, bin)
                .replace("localhost:8080", &format!("localhost:{port}"))
                .replace("127.0.0.1:8080", &format!("127.0.0.1:{port}"))
                .replace("cli_…", &client_id)
                .replace("inv_…", &invoice_id)
                .replace("RF…", &reference)
        };
        let command = step.command.split(" #").next().unwrap().trim().to_string();
        if command == format!("{CARGO_RUN} serve --demo") {
            let (s, base) = serve(dir.path());
            port = base.rsplit(':').next().unwrap().to_string();
            server = Some(s);
            continue;
        }
        assert!(
            server.is_some(),
            "the section starts serve first: {steps:#?}"
        );
        if command.starts_with("KEY=") {
            assert_eq!(command, "KEY=cobro_sk_...", "the key is pasted");
            key = last_output.lines().last().unwrap().trim().to_string();
            assert!(key.starts_with("cobro_sk_"), "{last_output}");
            continue;
        }
        let (shell, is_curl) = if let Some(url) = command.strip_prefix("open ") {
            (
                format!("curl -s -w '\\n%{{http_code}}' {}", fill(url)),
                true,
            )
        } else if let Some(rest) = step.command.strip_prefix("curl ") {
            (format!("curl -w '\\n%{{http_code}}' {}", fill(rest)), true)
        } else {
            assert!(
                command.starts_with(CARGO_RUN),
                "a command of cobro, curl or open: {command}"
            );
            (fill(&step.command), false)
        };
        let out = Command::new("bash")
            .arg("-c")
            .arg(&shell)
            .current_dir(dir.path())
            .env_clear()
            .envs(clean_env())
            .env("KEY", &key)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).to_string();
        let stderr = String::from_utf8_lossy(&out.stderr);
        let expected = step.expect.as_ref().map(|(subject, e)| {
            let e = e
                .replace("127.0.0.1:8080", &format!("127.0.0.1:{port}"))
                .replace(['\n'], "");
            (subject.clone(), e)
        });
        let answer = if is_curl {
            let (body, status) = stdout.trim_end().rsplit_once('\n').unwrap_or(("", &stdout));
            assert!(
                status.starts_with('2'),
                "{shell}\nanswered {status}: {body}"
            );
            body.to_string()
        } else {
            // A cobro command fails only where the README shows the refusal (`-> 503`).
            let refusal_shown = expected
                .as_ref()
                .is_some_and(|(_, e)| e.starts_with('4') || e.starts_with('5'));
            assert_eq!(
                out.status.success(),
                !refusal_shown,
                "{shell}\n{stdout}\n{stderr}"
            );
            stdout.clone()
        };
        if let Some((subject, expected)) = &expected {
            let answer = match subject {
                Some(file) if file.contains('.') && !file.contains('…') => {
                    std::fs::read_to_string(dir.path().join(file))
                        .unwrap_or_else(|e| panic!("{command}: {file}: {e}"))
                }
                _ => answer.clone(),
            };
            check(&shell, expected, &answer);
        }
        if let Some(json) = json_in(&answer) {
            match json["id"].as_str() {
                Some(id) if id.starts_with("cli_") => client_id = id.to_string(),
                Some(id) if id.starts_with("inv_") => invoice_id = id.to_string(),
                _ => {}
            }
            if let Some(r) = json["payment_reference"].as_str() {
                reference = r.to_string();
            }
        }
        last_output = stdout;
    }
    drop(server);
}

#[test]
fn expectations_are_read_as_the_readme_writes_them() {
    let fields = shown_fields(
        r#"{"object":"list","data":[],"would":[{"n":"F-0…","x":1}],"t":true,"l":[…],"o":{…},…}"#,
    );
    assert_eq!(
        fields,
        [
            ("object".into(), Shown::Text("list".into())),
            ("data".into(), Shown::EmptyArray),
            ("would".into(), Shown::AnyArray),
            ("n".into(), Shown::Text("F-0…".into())),
            ("x".into(), Shown::Literal(1.into())),
            ("t".into(), Shown::Literal(true.into())),
            ("l".into(), Shown::AnyArray),
            ("o".into(), Shown::AnyObject),
        ]
    );
    let answer: Value =
        serde_json::from_str(r#"{"data":[],"would":[{"n":"F-000001","x":1}],"t":true}"#).unwrap();
    for (k, s) in &fields[1..6] {
        assert!(shown_in(k, s, &answer), "{k}");
    }
    assert!(!shown_in("data", &Shown::AnyObject, &answer));
    assert!(!shown_in("x", &Shown::Literal(2.into()), &answer));
    assert!(!shown_in("n", &Shown::Text("F-1…".into()), &answer));
    assert!(matches_text("http://x/pay/…", "http://x/pay/abc"));
    assert!(!matches_text("http://x/pay/…", "http://y/pay/abc"));
    assert!(matches_text("…;F-000001;…", "a;F-000001;b"));
    assert!(!matches_text("…;F-000002;…", "a;F-000001;b"));
    assert_eq!(
        expectation("evt_… -> 200 {}"),
        Some((Some("evt_…".into()), "200 {}".into()))
    );
    assert_eq!(expectation("F-000002 waits a day"), None);
    assert!(quote_open("curl -d '{\"a\":1,"));
    assert!(!quote_open("cobro sweep   # F-000001's reminder"));
    assert!(!quote_open("curl -d '{\"n\":\"#1\"}' # it's"));
    assert_eq!(expectation("the day -> it escalates"), None);
}
