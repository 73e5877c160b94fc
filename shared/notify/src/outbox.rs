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

#[async_trait]
impl Mailer for OutboxMailer {
    async fn send(&self, email: &Email) -> Result<Sent, MailError> {
        let bytes = email.to_rfc5322()?;
        let dir = self.dir.clone();
        let key = safe_key(&email.key);
        tokio::task::spawn_blocking(move || {
            std::fs::create_dir_all(&dir).map_err(|e| MailError::Delivery(e.to_string()))?;
            let suffix = format!("-{key}.eml");
            let existing = std::fs::read_dir(&dir)
                .map_err(|e| MailError::Delivery(e.to_string()))?
                .filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .find(|name| name.ends_with(&suffix));
            if let Some(name) = existing {
                return Ok(Sent { id: name });
            }
            let name = format!(
                "{}{suffix}",
                chrono::Utc::now().format("%Y%m%dT%H%M%S%.6fZ")
            );
            // Write then rename, so a reader never sees half a message.
            let tmp = dir.join(format!(".{name}.tmp"));
            std::fs::write(&tmp, &bytes).map_err(|e| MailError::Delivery(e.to_string()))?;
            std::fs::rename(&tmp, dir.join(&name))
                .map_err(|e| MailError::Delivery(e.to_string()))?;
            tracing::info!(file = %name, "message written to the outbox");
            Ok(Sent { id: name })
        })
        .await
        .map_err(|e| MailError::Delivery(e.to_string()))?
    }
}
