//! The pay portal in real headless Chromium (Debian's `chromium`, driven by npm's
//! `playwright-core`; `./scripts/test` installs both): `cobro serve --demo` e-mails the demo
//! invoices to the outbox; the pay link found in the first e-mail is opened, paid in the
//! sandbox checkout and seen paid, with the receipt in the outbox. The console is signed into
//! from a link found in the outbox, worked and left, with axe-core checking each page.
//! Screenshots at 360 px and 1280 px are written to `target/browser-artifacts/`.

// A test fails loudly.
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;
use std::process::Command;

mod common;

use mail_parser::MessageParser;

/// `tests/browser` and the artifacts folder, once Chromium and the npm tools are there.
fn tools() -> (PathBuf, PathBuf) {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let browser_dir = root.join("tests/browser");
    assert!(
        browser_dir.join("node_modules/playwright-core").exists()
            && browser_dir.join("node_modules/axe-core").exists()
            && PathBuf::from("/usr/bin/chromium").exists(),
        "Chromium, playwright-core and axe-core are missing: run the test command (./scripts/test), which installs them"
    );
    let artifacts = root.join("target/browser-artifacts");
    std::fs::create_dir_all(&artifacts).unwrap();
    (browser_dir, artifacts)
}

/// `cobro serve --demo` on a free port over `dir`, seeded, with no schedule.
fn serve_demo(dir: &std::path::Path) -> (common::Server, String) {
    let (server, base, _) = serve_demo_keyed(dir);
    (server, base)
}

fn serve_demo_keyed(dir: &std::path::Path) -> (common::Server, String, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_cobro"));
    command
        .arg("--data-dir")
        .arg(dir)
        .args([
            "serve",
            "--addr",
            "127.0.0.1:0",
            "--demo",
            "--sweep-every",
            "0",
        ])
        .env_remove("COBRO_TABLE")
        .env_remove("COBRO_PUBLIC_URL");
    common::serve_demo_keyed(command)
}

/// Runs a browser script with `args`; fails the test with its output when it fails.
fn run_script(browser_dir: &std::path::Path, script: &str, args: &[&str]) -> String {
    let out = Command::new("node")
        .arg(browser_dir.join(script))
        .args(args)
        .current_dir(browser_dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "browser test failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).to_string()
}

#[test]
fn the_pay_link_from_the_email_pays_in_a_real_browser() {
    let (browser_dir, artifacts) = tools();
    let dir = tempfile::tempdir().unwrap();
    let (server, base) = serve_demo(dir.path());

    // The pay link, as the client finds it: in the first e-mail of the outbox.
    let mut mails: Vec<_> = std::fs::read_dir(dir.path().join("outbox"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "eml"))
        .collect();
    mails.sort();
    let raw = std::fs::read(&mails[0]).unwrap();
    let msg = MessageParser::default().parse(&raw[..]).unwrap();
    let text = msg.body_text(0).unwrap().to_string();
    let link = text
        .split_whitespace()
        .find(|w| w.starts_with(&format!("{base}/pay/")))
        .expect("a pay link in the e-mail")
        .to_string();
    let amount = text
        .lines()
        .find_map(|l| l.strip_prefix("Total a pagar: "))
        .and_then(|l| l.split(" (").next())
        .expect("the amount in the e-mail")
        .to_string();

    run_script(
        &browser_dir,
        "portal.mjs",
        &[&link, &base, artifacts.to_str().unwrap(), &amount],
    );
    drop(server);
    for shot in [
        "portal-360.png",
        "portal-1280.png",
        "paid-360.png",
        "not-found-360.png",
    ] {
        assert!(
            artifacts.join(shot).metadata().unwrap().len() > 1000,
            "{shot}"
        );
    }
}

/// The console in real Chromium, JavaScript off: the demo owner asks for a link, finds it
/// in the outbox, enters; home; adds a viewer through the form (a bad address first); signs
/// out; the viewer sees no actions and a forged POST is refused; axe-core on every page.
#[test]
fn the_console_signs_in_from_the_outbox_in_a_real_browser() {
    let (browser_dir, artifacts) = tools();
    let dir = tempfile::tempdir().unwrap();
    let (server, base, key) = serve_demo_keyed(dir.path());
    // A bank transfer that names no invoice we know, for F-000001's amount: the queue.
    let sent = Command::new(env!("CARGO_BIN_EXE_cobro"))
        .arg("--data-dir")
        .arg(dir.path())
        .args([
            "webhook",
            "send",
            "standard",
            "--reference",
            "RF18 5390 0754 7034",
        ])
        .args(["--amount", "178464", "--currency", "CLP"])
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&sent.stdout);
    assert!(said.contains("\"outcome\":\"unmatched\""), "{said}");
    let out = run_script(
        &browser_dir,
        "console.mjs",
        &[
            &base,
            "duena@demo.cobro.cl",
            artifacts.to_str().unwrap(),
            &key,
        ],
    );
    drop(server);
    assert!(out.contains("\"ok\":true"), "{out}");
    for page in [
        "sign-in",
        "home",
        "unmatched",
        "invoices",
        "invoice",
        "people",
        "settings",
    ] {
        for width in [360, 1280] {
            let shot = artifacts.join(format!("console-{page}-{width}.png"));
            assert!(shot.metadata().unwrap().len() > 1000, "{}", shot.display());
        }
    }
}
