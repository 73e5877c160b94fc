//! The local outbox: each message is an RFC 5322 `.eml` file under `{data dir}/outbox/`,
//! openable in any mail client. Sending the same message key twice writes one file.

use std::path::{Path, PathBuf};

use async_trait::async_trait;

use crate::{Email, MailError, Mailer, Sent};

#[derive(Debug, Clone)]
pub struct OutboxMailer {
    dir: PathBuf,
}

/// A message in the outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxEntry {
    pub file_name: String,
    pub path: PathBuf,
}

fn safe_key(key: &str) -> String {
    key.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

impl OutboxMailer {
    /// An outbox in `{data_dir}/outbox`.
    pub fn new(data_dir: &Path) -> Self {
        OutboxMailer {
            dir: data_dir.join("outbox"),
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The messages written so far, oldest first.
    pub fn list(&self) -> std::io::Result<Vec<OutboxEntry>> {
        let mut entries = match std::fs::read_dir(&self.dir) {
            Ok(rd) => rd
                .filter_map(|e| e.ok())
                .filter(|e| e.path().extension().is_some_and(|x| x == "eml"))
                .map(|e| OutboxEntry {
                    file_name: e.file_name().to_string_lossy().into_owned(),
                    path: e.path(),
                })
                .collect::<Vec<_>>(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(e),
        };
        entries.sort_by(|a, b| a.file_name.cmp(&b.file_name));
        Ok(entries)
    }

    /// Reads one message by file name; `None` for names that are not in the outbox.
    pub fn read(&self, file_name: &str) -> std::io::Result<Option<Vec<u8>>> {
        if !self.list()?.iter().any(|e| e.file_name == file_name) {
            return Ok(None);
        }
        std::fs::read(self.dir.join(file_name)).map(Some)
    }
}

/// Where each message key's file name is kept: `{data dir}/.outbox-keys/{key}`, so that a
/// send looks up its key in one file open instead of listing the outbox (which grew with
/// every message sent). Beside the outbox, not in it: the outbox holds only messages.
fn key_dir(dir: &Path) -> PathBuf {
    dir.with_file_name(".outbox-keys")
}

/// Creates the key index, from the messages already in the outbox (written before it
/// existed) when it is new. An outbox folder someone removed starts afresh, as it did
/// before the index existed: its index goes with it.
fn ensure_key_index(dir: &Path) -> std::io::Result<()> {
    let keys = key_dir(dir);
    // In this order: an index is built only after its folder was made, so an index seen
    // without its folder is stale, not one a simultaneous first send is building.
    let indexed = keys.is_dir();
    if !dir.is_dir() {
        std::fs::create_dir_all(dir)?;
        if indexed {
            std::fs::remove_dir_all(&keys)?;
        }
    } else if indexed {
        return Ok(());
    }
    // Its own folder for each builder (simultaneous first sends, in this process or another).
    static BUILDS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let build = BUILDS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let building = dir.with_file_name(format!(".outbox-keys-{}-{build}.tmp", std::process::id()));
    std::fs::create_dir_all(&building)?;
    for entry in std::fs::read_dir(dir)?.filter_map(|e| e.ok()) {
        let name = entry.file_name().to_string_lossy().into_owned();
        // `{timestamp}-{key}.eml`: the timestamp has no `-`.
        if let Some((_, key)) = name.strip_suffix(".eml").and_then(|n| n.split_once('-')) {
            std::fs::write(building.join(key), &name)?;
        }
    }
    // Another process may have built it meanwhile: either index is complete.
    match std::fs::rename(&building, &keys) {
        Ok(()) => Ok(()),
        Err(_) if keys.is_dir() => std::fs::remove_dir_all(&building),
        Err(e) => Err(e),
    }
}

/// Writes `bytes` as a new message for `key`, unless a message with that key exists:
/// the message file is written first (then renamed into place), then its key is claimed
/// with a hard link, which fails if the key was already claimed, atomically. The loser of
/// two simultaneous sends of one key removes its file and answers with the winner's.
fn write_once(dir: &Path, key: &str, bytes: &[u8]) -> std::io::Result<String> {
    ensure_key_index(dir)?;
    let marker = key_dir(dir).join(key);
    if let Ok(name) = std::fs::read_to_string(&marker) {
        return Ok(name);
    }
    let name = format!(
        "{}-{key}.eml",
        chrono::Utc::now().format("%Y%m%dT%H%M%S%.6fZ")
    );
    // Write then rename, so a reader never sees half a message.
    let tmp = dir.join(format!(".{name}.tmp"));
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, dir.join(&name))?;
    let claim = key_dir(dir).join(format!(".{name}.tmp"));
    std::fs::write(&claim, &name)?;
    let linked = std::fs::hard_link(&claim, &marker);
    std::fs::remove_file(&claim)?;
    match linked {
        Ok(()) => Ok(name),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            std::fs::remove_file(dir.join(&name))?;
            std::fs::read_to_string(&marker)
        }
        Err(e) => Err(e),
    }
}

#[async_trait]
impl Mailer for OutboxMailer {
    async fn send(&self, email: &Email) -> Result<Sent, MailError> {
        let bytes = email.to_rfc5322()?;
        let dir = self.dir.clone();
        let key = safe_key(&email.key);
        tokio::task::spawn_blocking(move || {
            let name =
                write_once(&dir, &key, &bytes).map_err(|e| MailError::Delivery(e.to_string()))?;
            tracing::info!(file = %name, "message written to the outbox");
            Ok(Sent { id: name })
        })
        .await
        .map_err(|e| MailError::Delivery(e.to_string()))?
    }
}
