//! File-name globs with Go's `filepath.Glob` / `filepath.Match` semantics (`*`, `?`,
//! `[a-z]`, `[^x]`, `\` escapes; `*` never crosses `/`).

use std::path::{Path, PathBuf};

/// The pattern is malformed (Go's `filepath.ErrBadPattern` text).
pub const BAD_PATTERN: &str = "syntax error in pattern";

fn has_meta(s: &str) -> bool {
    s.contains(['*', '?', '[', '\\'])
}

/// The existing files matching `pattern`, sorted within each directory; a pattern without
/// wildcards gives itself if it exists.
pub fn glob(pattern: &str) -> Result<Vec<PathBuf>, String> {
    // Check the whole pattern's syntax first, as Go does.
    matches(pattern, "").map_err(|_| BAD_PATTERN.to_string())?;
    if !has_meta(pattern) {
        return Ok(if Path::new(pattern).symlink_metadata().is_ok() {
            vec![PathBuf::from(pattern)]
        } else {
            Vec::new()
        });
    }
    let (dir, file) = match pattern.rfind('/') {
        Some(0) => ("/", &pattern[1..]),
        Some(i) => (&pattern[..i], &pattern[i + 1..]),
        None => (".", pattern),
    };
    let dirs = if has_meta(dir) {
        glob(dir)?
    } else {
        vec![PathBuf::from(dir)]
    };
    let mut out = Vec::new();
    for d in dirs {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        let mut names: Vec<String> = entries
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        for n in names {
            if matches(file, &n).map_err(|_| BAD_PATTERN.to_string())? {
                out.push(if pattern.contains('/') {
                    d.join(&n)
                } else {
                    PathBuf::from(&n)
                });
            }
        }
    }
    Ok(out)
}

/// A malformed glob pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BadPattern;

/// Go's `filepath.Match`: whether `name` matches the whole of `pattern`.
pub fn matches(pattern: &str, name: &str) -> Result<bool, BadPattern> {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    let ok = match_at(&p, &n).map_err(|()| BadPattern)?;
    // Validate the rest of the pattern even when matching stopped early.
    validate(&p).map_err(|()| BadPattern)?;
    Ok(ok)
}

fn validate(p: &[char]) -> Result<(), ()> {
    let mut i = 0;
    while i < p.len() {
        match p[i] {
            '\\' => {
                if i + 1 >= p.len() {
                    return Err(());
                }
                i += 2;
            }
            '[' => {
                let (_, len) = class(p, i, None)?;
                i += len;
            }
            _ => i += 1,
        }
    }
    Ok(())
}

fn match_at(p: &[char], n: &[char]) -> Result<bool, ()> {
    if p.is_empty() {
        return Ok(n.is_empty());
    }
    match p[0] {
        '*' => {
            for k in 0..=n.len() {
                if k > 0 && n[k - 1] == '/' {
                    break;
                }
                if match_at(&p[1..], &n[k..])? {
                    return Ok(true);
                }
            }
            Ok(false)
        }
        '?' => Ok(!n.is_empty() && n[0] != '/' && match_at(&p[1..], &n[1..])?),
        '[' => {
            let (hit, len) = class(p, 0, n.first().copied())?;
            Ok(!n.is_empty() && hit && match_at(&p[len..], &n[1..])?)
        }
        '\\' => {
            let c = *p.get(1).ok_or(())?;
            Ok(n.first() == Some(&c) && match_at(&p[2..], &n[1..])?)
        }
        c => Ok(n.first() == Some(&c) && match_at(&p[1..], &n[1..])?),
    }
}

/// Parses the character class starting at `p[start] == '['`; returns whether `c` is in it
/// and the class's length in the pattern.
fn class(p: &[char], start: usize, c: Option<char>) -> Result<(bool, usize), ()> {
    let mut i = start + 1;
    let negated = p.get(i) == Some(&'^');
    if negated {
        i += 1;
    }
    let mut hit = false;
    let mut first = true;
    loop {
        let ch = *p.get(i).ok_or(())?;
        if ch == ']' && !first {
            i += 1;
            break;
        }
        first = false;
        let lo = read_char(p, &mut i)?;
        let hi = if p.get(i) == Some(&'-') && p.get(i + 1).is_some_and(|x| *x != ']') {
            i += 1;
            read_char(p, &mut i)?
        } else {
            lo
        };
        if lo > hi {
            return Err(());
        }
        if let Some(c) = c
            && lo <= c
            && c <= hi
        {
            hit = true;
        }
    }
    Ok((hit != negated && c != Some('/'), i - start))
}

fn read_char(p: &[char], i: &mut usize) -> Result<char, ()> {
    let mut ch = *p.get(*i).ok_or(())?;
    if ch == '\\' {
        *i += 1;
        ch = *p.get(*i).ok_or(())?;
    } else if ch == '-' {
        return Err(());
    }
    *i += 1;
    Ok(ch)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_match_semantics() {
        let m = |p, n| matches(p, n).unwrap();
        assert!(m("*.rules", "a.rules"));
        assert!(!m("*.rules", "dir/a.rules"));
        assert!(m("a?c", "abc"));
        assert!(m("[a-c]x", "bx"));
        assert!(!m("[^a-c]x", "bx"));
        assert!(m("\\*", "*"));
        assert!(matches("[", "x").is_err());
        assert!(matches("a\\", "a").is_err());
    }

    #[test]
    fn globs_files() {
        let dir = std::env::temp_dir().join(format!("fw-glob-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("sub")).unwrap();
        for f in ["b.yml", "a.yml", "c.txt", "sub/d.yml"] {
            std::fs::write(dir.join(f), "").unwrap();
        }
        let d = dir.to_string_lossy();
        let got = glob(&format!("{d}/*.yml")).unwrap();
        assert_eq!(got, vec![dir.join("a.yml"), dir.join("b.yml")]);
        let got = glob(&format!("{d}/*/*.yml")).unwrap();
        assert_eq!(got, vec![dir.join("sub/d.yml")]);
        assert_eq!(
            glob(&format!("{d}/c.txt")).unwrap(),
            vec![dir.join("c.txt")]
        );
        assert!(glob(&format!("{d}/missing")).unwrap().is_empty());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
