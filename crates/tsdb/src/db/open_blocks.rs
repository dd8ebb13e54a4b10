//! Opening the blocks of a data directory at start-up (Prometheus's `openBlocks` and
//! `reloadBlocks` in tsdb/db.go), with damaged blocks moved aside instead of refused.
//!
//! What Prometheus 2.42 does, and what Firewatch does:
//! - leftovers of interrupted writes (`*.tmp-for-creation`) and deletions
//!   (`*.tmp-for-deletion`): both remove them;
//! - a garbage or missing `meta.json`: Prometheus logs "Failed to read meta.json ... Skipping"
//!   and leaves the directory in place, read again at every reload; Firewatch moves it aside;
//! - a block that does not open (corrupt index, bad chunk file header): Prometheus refuses to
//!   start ("unexpected corrupted block") unless a loaded block lists it as a parent;
//!   Firewatch deletes it in that case too, and otherwise moves it aside and serves the rest;
//! - a missing or truncated chunk file, a damaged series entry: Prometheus opens the block
//!   and fails the queries that reach it; Firewatch finds it with [`BlockReader::verify`] and
//!   moves the block aside;
//! - a block listed as a parent of another loaded block (compaction finished, the deletion
//!   of its sources did not): both delete it.
//!
//! "Aside" is `<ulid>.corrupted` in the same directory: not a block name, so neither Firewatch
//! nor Prometheus reads it, and it stays there for inspection. Each is logged at error level
//! with the block's directory and the reason.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use crate::block::{BlockReader, TMP_FOR_CREATION_SUFFIX, Ulid};
use crate::error::TsdbError;

/// Suffix of a block directory moved aside because it could not be read.
pub const CORRUPTED_SUFFIX: &str = ".corrupted";

/// Whether `e` says the block's files are damaged (rather than the machine failing: out of
/// file descriptors, permission denied), so that moving the block aside is right.
fn is_damage(e: &TsdbError) -> bool {
    match e {
        TsdbError::Io { source, .. } => matches!(
            source.kind(),
            std::io::ErrorKind::NotFound
                | std::io::ErrorKind::UnexpectedEof
                | std::io::ErrorKind::InvalidData
        ),
        TsdbError::Corruption { .. }
        | TsdbError::Meta { .. }
        | TsdbError::NotFound { .. }
        | TsdbError::Chunk(_) => true,
        _ => false,
    }
}

/// Renames the block directory `path` to `<name>.corrupted` (or `.corrupted.N` when taken).
fn move_aside(path: &Path, why: &TsdbError) -> Result<PathBuf, TsdbError> {
    let name = path
        .file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    let mut to = path.with_file_name(format!("{name}{CORRUPTED_SUFFIX}"));
    let mut n = 1;
    while to.exists() {
        to = path.with_file_name(format!("{name}{CORRUPTED_SUFFIX}.{n}"));
        n += 1;
    }
    std::fs::rename(path, &to).map_err(|e| TsdbError::io("rename", path, e))?;
    if let Some(parent) = path.parent() {
        crate::chunks::sync_dir(parent)?;
    }
    tracing::error!(
        block = %path.display(),
        moved_to = %to.display(),
        error = %why,
        "block is unreadable; moved aside, its data is not served"
    );
    Ok(to)
}

/// Opens the blocks of `dir` (directories named by a ULID), removing leftovers of
/// interrupted writes and deletions and blocks already compacted into another one, moving
/// damaged blocks aside; sorted by min time.
///
/// # Errors
/// I/O errors that are not damage to a block (listing `dir`, renaming, removing).
pub fn load_blocks(dir: &Path) -> Result<Vec<BlockReader>, TsdbError> {
    let mut blocks = Vec::new();
    let mut damaged: Vec<(Ulid, PathBuf, TsdbError)> = Vec::new();
    let entries = std::fs::read_dir(dir).map_err(|e| TsdbError::io("read dir", dir, e))?;
    for entry in entries.flatten() {
        let path = entry.path();
        if !path.is_dir() {
            continue;
        }
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.ends_with(TMP_FOR_CREATION_SUFFIX) || name.ends_with(".tmp-for-deletion") {
            tracing::info!(dir = %path.display(), "removing leftover block directory");
            std::fs::remove_dir_all(&path).map_err(|e| TsdbError::io("remove", &path, e))?;
            continue;
        }
        let Ok(ulid) = name.parse::<Ulid>() else {
            continue;
        };
        match BlockReader::open(&path).and_then(|b| b.verify().map(|()| b)) {
            Ok(b) if b.meta().compaction.deletable => {
                std::fs::remove_dir_all(&path).map_err(|e| TsdbError::io("remove", &path, e))?;
            }
            Ok(b) => blocks.push(b),
            Err(e) if is_damage(&e) => damaged.push((ulid, path, e)),
            Err(e) => return Err(e),
        }
    }
    // Blocks another block was compacted from: the compaction finished, the deletion of its
    // sources did not.
    let parents: HashSet<Ulid> = blocks
        .iter()
        .flat_map(|b| b.meta().compaction.parents.iter().map(|p| p.ulid))
        .collect();
    let (compacted, mut kept): (Vec<_>, Vec<_>) = blocks
        .into_iter()
        .partition(|b| parents.contains(&b.meta().ulid));
    for b in compacted {
        tracing::info!(block = %b.dir().display(), "removing block already compacted into another");
        std::fs::remove_dir_all(b.dir()).map_err(|e| TsdbError::io("remove", b.dir(), e))?;
    }
    for (ulid, path, e) in damaged {
        if parents.contains(&ulid) {
            tracing::warn!(block = %path.display(), error = %e, "removing unreadable block already compacted into another");
            std::fs::remove_dir_all(&path).map_err(|e| TsdbError::io("remove", &path, e))?;
        } else {
            move_aside(&path, &e)?;
        }
    }
    kept.sort_by_key(|b| b.meta().min_time);
    Ok(kept)
}
