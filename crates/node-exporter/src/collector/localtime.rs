//! The process's local time zone as Go's `time.Local` finds it (`time/zoneinfo_unix.go`,
//! `initLocal`), for the time collector's `node_time_zone_offset_seconds`: `$TZ` unset reads
//! `/etc/localtime`; `TZ=""` or `TZ=UTC` is UTC; an absolute path (after an optional `:`) is
//! read as is; any other name is looked up in the zoneinfo directories; what cannot be read or
//! parsed falls back to UTC. Read once, as Go reads it once per process.
//!
//! Firewatch reads the one TZif file itself instead of asking jiff for the system zone: jiff's
//! system lookup also loads the list of every zone name in the zoneinfo database (about 110 KiB
//! kept for the life of the exporter, the largest single item of its heap at rest).

use std::path::{Path, PathBuf};

use jiff::tz::TimeZone;

/// Where Go looks for a zone named by `$TZ` (`platformZoneSources`, with `$ZONEINFO` first).
const ZONE_SOURCES: &[&str] = &[
    "/usr/share/zoneinfo/",
    "/usr/share/lib/zoneinfo/",
    "/usr/lib/locale/TZ/",
    "/etc/zoneinfo/",
];

/// The local time zone for the value of `$TZ` (`None` when unset), UTC where Go falls back.
#[must_use]
pub fn local_zone(tz: Option<&str>, zoneinfo: Option<&Path>) -> TimeZone {
    let read = |path: &Path, name: &str| {
        let data = std::fs::read(path).ok()?;
        TimeZone::tzif(name, &data).ok()
    };
    let found = match tz {
        None => read(Path::new("/etc/localtime"), "Local"),
        Some(value) => {
            let value = value.strip_prefix(':').unwrap_or(value);
            if value.starts_with('/') {
                read(Path::new(value), value)
            } else if value.is_empty() || value == "UTC" {
                None
            } else {
                zoneinfo
                    .map(Path::to_path_buf)
                    .into_iter()
                    .chain(ZONE_SOURCES.iter().map(PathBuf::from))
                    .find_map(|dir| read(&dir.join(value), value))
            }
        }
    };
    found.unwrap_or(TimeZone::UTC)
}

/// The local time zone of this process (from its environment).
#[must_use]
pub fn from_env() -> TimeZone {
    let tz = std::env::var("TZ").ok();
    let zoneinfo = std::env::var_os("ZONEINFO").map(PathBuf::from);
    local_zone(tz.as_deref(), zoneinfo.as_deref())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn abbreviation_and_offset(tz: &TimeZone, at: jiff::Timestamp) -> (String, i32) {
        let info = tz.to_offset_info(at);
        (info.abbreviation().to_owned(), info.offset().seconds())
    }

    #[test]
    fn empty_and_utc_names_are_utc() {
        let at = jiff::Timestamp::UNIX_EPOCH;
        for tz in [Some(""), Some("UTC"), Some(":UTC")] {
            assert_eq!(
                abbreviation_and_offset(&local_zone(tz, None), at),
                ("UTC".to_owned(), 0)
            );
        }
    }

    #[test]
    fn unknown_names_and_unreadable_files_fall_back_to_utc() {
        let at = jiff::Timestamp::UNIX_EPOCH;
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("Broken"), b"not a TZif file").unwrap();
        for tz in ["No/Such_Zone", "Broken", "/no/such/file"] {
            let zone = local_zone(Some(tz), Some(dir.path()));
            assert_eq!(abbreviation_and_offset(&zone, at), ("UTC".to_owned(), 0));
        }
    }

    #[test]
    fn names_are_read_from_the_zoneinfo_directories() {
        // A zone from the system's database, copied under $ZONEINFO, and by absolute path.
        let Some(data) = ZONE_SOURCES
            .iter()
            .find_map(|d| std::fs::read(Path::new(d).join("Europe/Berlin")).ok())
        else {
            eprintln!("skipped: no zoneinfo database on this machine");
            return;
        };
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("Europe")).unwrap();
        let file = dir.path().join("Europe/Berlin");
        std::fs::write(&file, data).unwrap();
        let winter: jiff::Timestamp = "2024-01-15T12:00:00Z".parse().unwrap();
        let summer: jiff::Timestamp = "2024-07-15T12:00:00Z".parse().unwrap();
        for zone in [
            local_zone(Some("Europe/Berlin"), Some(dir.path())),
            local_zone(Some(":Europe/Berlin"), Some(dir.path())),
            local_zone(Some(file.to_str().unwrap()), None),
        ] {
            assert_eq!(
                abbreviation_and_offset(&zone, winter),
                ("CET".to_owned(), 3600)
            );
            assert_eq!(
                abbreviation_and_offset(&zone, summer),
                ("CEST".to_owned(), 7200)
            );
        }
    }
}
