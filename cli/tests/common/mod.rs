//! What the binary's tests share: a `cobro serve --demo` started and read up to its seed.
// Each test binary uses part of it.
#![allow(dead_code, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

/// A running serve, stopped when dropped.
pub struct Server(pub Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `command` (a `cobro serve --demo …`), reads its output until the demo is seeded
/// and keeps reading it after (so it never blocks on a full pipe): the server and its base
/// URL.
pub fn serve_demo(command: Command) -> (Server, String) {
    let (server, base, _) = serve_demo_keyed(command);
    (server, base)
}

/// [`serve_demo`], with the API key the demo printed.
pub fn serve_demo_keyed(mut command: Command) -> (Server, String, String) {
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("cobro starts");
    let mut lines = BufReader::new(child.stdout.take().expect("its output")).lines();
    let server = Server(child);
    let first = lines.next().and_then(Result::ok).unwrap_or_default();
    let base = first
        .strip_prefix("cobro listening on ")
        .unwrap_or_else(|| panic!("serve said {first}"))
        .to_string();
    let mut key = String::new();
    for line in lines.by_ref() {
        let line = line.unwrap_or_default();
        if let Some(k) = line.strip_prefix("demo: API key (shown once)  ") {
            key = k.trim().to_string();
        }
        if line.starts_with("demo: F-000003") {
            break;
        }
    }
    std::thread::spawn(move || for _ in lines {});
    (server, base, key)
}
