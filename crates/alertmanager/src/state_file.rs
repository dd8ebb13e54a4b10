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
    {
        use std::io::Write as _;
        let mut f = std::fs::File::create(&tmp).map_err(io)?;
        f.write_all(&bytes).map_err(io)?;
        f.sync_all().map_err(io)?;
    }
    std::fs::rename(&tmp, path).map_err(io)?;
    Ok(bytes.len())
}
