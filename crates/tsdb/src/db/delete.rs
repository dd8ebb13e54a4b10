//! Deleting series data (`/api/v1/admin/tsdb/delete_series`): blocks get tombstones, the head
//! drops the samples and logs a tombstones record so a replay drops them again;
//! `clean_tombstones` rewrites blocks without their deleted samples.

use model::Matcher;

use crate::block::BlockReader;
use crate::error::TsdbError;
use crate::index::postings::postings_for_matchers;
use crate::tombstones::Interval;

/// Adds tombstones for `[mint, maxt]` of the series matching `matchers` to block `b`;
/// returns the reopened block when something was marked.
///
/// # Errors
/// I/O errors.
pub fn delete_in_block(
    b: &BlockReader,
    mint: i64,
    maxt: i64,
    matchers: &[Matcher],
) -> Result<Option<BlockReader>, TsdbError> {
    let m = b.meta();
    if m.min_time > maxt || m.max_time <= mint {
        return Ok(None);
    }
    let refs = postings_for_matchers(b.index(), matchers)?;
    if refs.is_empty() {
        return Ok(None);
    }
    let mut stones = b.tombstones().clone();
    let iv = Interval {
        mint: mint.max(m.min_time),
        maxt: maxt.min(m.max_time - 1),
    };
    for r in refs {
        stones.add_interval(r, iv);
    }
    stones.write(b.dir())?;
    Ok(Some(BlockReader::open(b.dir())?))
}
