//! Snapshot files under `--storage.path`: JSON written to a temporary file and renamed, so
//! a crash leaves either the old or the new snapshot.

use std::path::Path;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::StateError;

/// Reads a snapshot; `None` when the file does not exist.
///
/// # Errors
/// An unreadable or undecodable file.
pub fn read<T: DeserializeOwned>(path: &Path) -> Result<Option<T>, StateError> {
    match std::fs::read(path) {
        Ok(b) => serde_json::from_slice(&b)
            .map(Some)
            .map_err(|e| StateError::Corrupt {
                file: path.to_path_buf(),
                message: e.to_string(),
            }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(StateError::Io {
            file: path.to_path_buf(),
            source,
        }),
    }
}

/// Writes a snapshot atomically (temporary file, fsync, rename); returns its size in bytes.
///
/// # Errors
/// The file cannot be written.
pub fn write<T: Serialize + ?Sized>(path: &Path, value: &T) -> Result<usize, StateError> {
    let io = |source| StateError::Io {
        file: path.to_path_buf(),
        source,
    };
    let bytes = serde_json::to_vec(value).map_err(|e| io(std::io::Error::other(e)))?;
    let tmp = path.with_extension("tmp");
    let written = (|| {
        use std::io::Write as _;
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(&bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if let Err(e) = written {
        // A partial snapshot would hold the space a full disk needs back.
        let _ = std::fs::remove_file(&tmp);
        return Err(io(e));
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        sync_dir(dir)?;
    }
    Ok(bytes.len())
}

/// Fsyncs a directory so that a new or renamed file in it survives a crash.
///
/// # Errors
/// The directory cannot be opened or synced.
pub fn sync_dir(dir: &Path) -> Result<(), StateError> {
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|source| StateError::Io {
            file: dir.to_path_buf(),
            source,
        })
}
