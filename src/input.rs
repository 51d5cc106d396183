//! Reading input files — snapshots, profiles, check files, diff inputs — with a size bound and
//! UTF-8 checked as the bytes arrive.
//!
//! A path on the command line can name anything: a 3 GB file by mistake, `/dev/zero`, a FIFO
//! fed by an endless producer. Reading it whole with `fs::read_to_string` would grow memory
//! until the machine gives out, so every input goes through `read_text` with the limit of its
//! kind. A regular file larger than the limit is refused from its metadata before any byte is
//! read; a stream (pipe, FIFO, device) is read in chunks and refused as soon as it passes the
//! limit. Every input lzaudit reads is JSON or TOML, where a NUL byte or invalid UTF-8 can never
//! appear, so each chunk is checked as it arrives: binary data (`/dev/zero`, `/dev/urandom`, a
//! gzip file) is refused at its first offending byte instead of after reading gigabytes.
//!
//! Opening a FIFO still waits for a writer, as `cat` does: a producer that opens it later is
//! the normal way to use one, and the wait ends on Ctrl-C like any other.

use std::fmt;
use std::io::Read;
use std::path::Path;

use thiserror::Error;

/// The most lzaudit reads of one kind of input, and what errors call that kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    pub what: &'static str,
    pub bytes: u64,
}

/// Snapshots: a 1,000-subscription tenant is about 190 MB of JSON today. Ten times that still
/// parses in memory on a CI agent; anything larger is far more likely a wrong path than a
/// tenant, and is refused before lzaudit commits gigabytes of memory to it.
pub const SNAPSHOT: Limit = Limit {
    what: "snapshot",
    bytes: 2 << 30,
};

/// A `diff` input is a JSON report or a snapshot; a report of a large tenant is of the same
/// order as its snapshot, so both get the snapshot bound.
pub const DIFF_INPUT: Limit = Limit {
    what: "report or snapshot",
    bytes: SNAPSHOT.bytes,
};

/// Profiles are written by hand: the shipped ones are a few KB, and even a profile with
/// thousands of waivers (about 200 bytes each) stays well under 1 MiB.
pub const PROFILE: Limit = Limit {
    what: "profile",
    bytes: 1 << 20,
};

/// Check files are written by hand too: the largest built-in one is under 10 KB.
pub const CHECK_FILE: Limit = Limit {
    what: "check file",
    bytes: 1 << 20,
};

/// Why an input could not be read. Every message names the file; the causes are part of the
/// message rather than `source`s, because `main` prints the error chain and would repeat them.
#[derive(Debug, Error)]
pub enum InputError {
    #[error("cannot read {what} {path}: {reason}")]
    Io {
        what: &'static str,
        path: String,
        reason: std::io::Error,
    },
    #[error(
        "cannot read {what} {path}: it is larger than {limit}, the most lzaudit reads for a {what}",
        limit = Size(*limit)
    )]
    TooLarge {
        what: &'static str,
        path: String,
        limit: u64,
    },
    #[error(
        "cannot read {what} {path}: invalid UTF-8 at byte {offset} (line {line}, column {column}); save it as UTF-8"
    )]
    NotUtf8 {
        what: &'static str,
        path: String,
        offset: usize,
        line: usize,
        column: usize,
    },
    #[error(
        "cannot read {what} {path}: NUL byte at byte {offset} (line {line}, column {column}); lzaudit reads JSON or TOML text, and this looks like binary data"
    )]
    Binary {
        what: &'static str,
        path: String,
        offset: usize,
        line: usize,
        column: usize,
    },
}

/// A byte count as people write limits: `2 GiB`, `1 MiB`, `512 bytes`.
struct Size(u64);

impl fmt::Display for Size {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (unit, name) in [(1u64 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")] {
            if self.0 >= unit && self.0.is_multiple_of(unit) {
                return write!(f, "{} {name}", self.0 / unit);
            }
        }
        write!(f, "{} bytes", self.0)
    }
}

/// Reads a whole input file as UTF-8 text, within `limit`.
pub fn read_text(path: &Path, limit: &Limit) -> Result<String, InputError> {
    let shown = path.display().to_string();
    let io = |reason| InputError::Io {
        what: limit.what,
        path: shown.clone(),
        reason,
    };
    let file = std::fs::File::open(path).map_err(io)?;
    let metadata = file.metadata().map_err(io)?;
    let expected = if metadata.is_file() {
        if metadata.len() > limit.bytes {
            return Err(InputError::TooLarge {
                what: limit.what,
                path: shown,
                limit: limit.bytes,
            });
        }
        Some(metadata.len())
    } else {
        None
    };
    read_bounded(file, expected, limit, &shown)
}

/// How much one read step asks for: small enough that binary data is refused after one step,
/// large enough that a 190 MB snapshot takes a few hundred steps.
const CHUNK: u64 = 1 << 20;

/// Reads `reader` to its end as text, refusing it once it passes `limit` or at its first NUL
/// byte or invalid UTF-8. `expected` (a regular file's length) sizes the buffer up front so a
/// large snapshot is not copied while the buffer doubles; `path` only names the input in errors.
pub fn read_bounded(
    reader: impl Read,
    expected: Option<u64>,
    limit: &Limit,
    path: &str,
) -> Result<String, InputError> {
    let capacity = expected.map_or(CHUNK, |n| n.min(limit.bytes) + 1);
    let mut buf = Vec::with_capacity(usize::try_from(capacity).unwrap_or(usize::MAX));
    // One byte past the limit tells "exactly at the limit" from "over it".
    let mut reader = reader.take(limit.bytes.saturating_add(1));
    // `buf[..valid]` is UTF-8 without NUL; a multi-byte character split across two reads waits
    // in `buf[valid..]` for its remaining bytes.
    let mut valid = 0;
    loop {
        let start = buf.len();
        let read = (&mut reader)
            .take(CHUNK)
            .read_to_end(&mut buf)
            .map_err(|reason| InputError::Io {
                what: limit.what,
                path: path.to_string(),
                reason,
            })?;
        if read == 0 {
            break;
        }
        if buf.len() as u64 > limit.bytes {
            return Err(InputError::TooLarge {
                what: limit.what,
                path: path.to_string(),
                limit: limit.bytes,
            });
        }
        // `contains` is memchr, fast enough to scan a whole snapshot; `position` runs only on a hit.
        if buf[start..].contains(&0) {
            let offset = start + buf[start..].iter().position(|&b| b == 0).unwrap_or(0);
            // Invalid UTF-8 before the NUL is the earlier, and so the reported, problem.
            check_utf8(&buf[..offset], valid, true, limit, path)?;
            let (line, column) = position(&buf[..offset]);
            return Err(InputError::Binary {
                what: limit.what,
                path: path.to_string(),
                offset,
                line,
                column,
            });
        }
        valid = check_utf8(&buf, valid, false, limit, path)?;
    }
    check_utf8(&buf, valid, true, limit, path)?;
    String::from_utf8(buf).map_err(|e| {
        let offset = e.utf8_error().valid_up_to();
        not_utf8(&e.as_bytes()[..offset], limit, path)
    })
}

/// Extends the known-valid prefix `buf[..valid]` over the bytes read since, returning its new
/// end. Unless `at_end`, an incomplete character at the end of `buf` is not an error yet: its
/// remaining bytes may come with the next read.
fn check_utf8(
    buf: &[u8],
    valid: usize,
    at_end: bool,
    limit: &Limit,
    path: &str,
) -> Result<usize, InputError> {
    match std::str::from_utf8(&buf[valid..]) {
        Ok(_) => Ok(buf.len()),
        Err(e) if e.error_len().is_none() && !at_end => Ok(valid + e.valid_up_to()),
        Err(e) => Err(not_utf8(&buf[..valid + e.valid_up_to()], limit, path)),
    }
}

/// The error for invalid UTF-8 right after `valid`, the input's valid prefix.
fn not_utf8(valid: &[u8], limit: &Limit, path: &str) -> InputError {
    let (line, column) = position(valid);
    InputError::NotUtf8 {
        what: limit.what,
        path: path.to_string(),
        offset: valid.len(),
        line,
        column,
    }
}

/// Line and column (1-based, in characters) just after `prefix`, which is valid UTF-8.
fn position(prefix: &[u8]) -> (usize, usize) {
    let text = std::str::from_utf8(prefix).unwrap_or_default();
    crate::catalogue::spec::line_col(text, text.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMALL: Limit = Limit {
        what: "profile",
        bytes: 64,
    };

    /// A reader that hands out at most `step` bytes per call, to split characters across reads.
    struct Trickle<R> {
        inner: R,
        step: usize,
    }

    impl<R: Read> Read for Trickle<R> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let n = buf.len().min(self.step);
            self.inner.read(&mut buf[..n])
        }
    }

    /// Counts the bytes handed out, to prove reading stopped early.
    struct Counting<R> {
        inner: R,
        read: u64,
    }

    impl<R: Read> Read for Counting<R> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let n = self.inner.read(buf)?;
            self.read += n as u64;
            Ok(n)
        }
    }

    #[test]
    fn an_endless_stream_stops_one_byte_past_the_limit() {
        let mut endless = Counting {
            inner: std::io::repeat(b'a'),
            read: 0,
        };
        let err = read_bounded(&mut endless, None, &SMALL, "p.toml").unwrap_err();
        assert_eq!(
            err.to_string(),
            "cannot read profile p.toml: it is larger than 64 bytes, the most lzaudit reads for a profile"
        );
        assert_eq!(endless.read, 65);
        let exact = "a".repeat(64);
        assert_eq!(
            read_bounded(exact.as_bytes(), None, &SMALL, "p.toml").unwrap(),
            exact
        );
    }

    #[test]
    fn binary_data_is_refused_at_its_first_nul_without_reading_on() {
        let mut zeros = Counting {
            inner: std::io::repeat(0),
            read: 0,
        };
        let err = read_bounded(&mut zeros, None, &SNAPSHOT, "/dev/zero").unwrap_err();
        assert_eq!(
            err.to_string(),
            "cannot read snapshot /dev/zero: NUL byte at byte 0 (line 1, column 1); lzaudit reads JSON or TOML text, and this looks like binary data"
        );
        assert!(zeros.read <= CHUNK, "read {} bytes", zeros.read);
        let err = read_bounded(&b"{\n  \"a\": 1\0"[..], None, &SNAPSHOT, "s.json").unwrap_err();
        assert!(
            err.to_string()
                .contains("NUL byte at byte 10 (line 2, column 9)"),
            "{err}"
        );
    }

    #[test]
    fn invalid_utf8_names_the_byte_offset_line_and_column() {
        let mut text = "name = \"é\"\n# caf".as_bytes().to_vec();
        text.push(0xff);
        text.extend_from_slice(b"\n");
        let err = read_bounded(&text[..], None, &SMALL, "p.toml").unwrap_err();
        assert_eq!(
            err.to_string(),
            "cannot read profile p.toml: invalid UTF-8 at byte 17 (line 2, column 6); save it as UTF-8"
        );
        // Latin-1 `é` (0xE9) followed by ASCII: the lead byte is the bad one.
        let err = read_bounded(&b"ab\xe9cd"[..], None, &SMALL, "p.toml").unwrap_err();
        assert!(
            err.to_string().contains("at byte 2 (line 1, column 3)"),
            "{err}"
        );
        // A character cut off by the end of the file.
        let err = read_bounded(&b"abc\xe2\x82"[..], None, &SMALL, "p.toml").unwrap_err();
        assert!(err.to_string().contains("at byte 3 "), "{err}");
        // Invalid UTF-8 before a NUL is reported as what it is.
        let err = read_bounded(&b"a\xff\0"[..], None, &SMALL, "p.toml").unwrap_err();
        assert!(err.to_string().contains("invalid UTF-8 at byte 1"), "{err}");
    }

    #[test]
    fn characters_split_across_reads_are_valid() {
        let text = "€uro — ünïcödé ✓";
        for step in 1..4 {
            let reader = Trickle {
                inner: text.as_bytes(),
                step,
            };
            let limit = Limit {
                what: "profile",
                bytes: 1 << 20,
            };
            assert_eq!(read_bounded(reader, None, &limit, "p").unwrap(), text);
        }
        // With chunks of one byte the check itself sees the split; `CHUNK`-sized reads of a
        // file see it only at chunk boundaries, which this covers too.
        let mut big = "a".repeat(CHUNK as usize - 1);
        big.push('€');
        let limit = Limit {
            what: "snapshot",
            bytes: 4 << 20,
        };
        assert_eq!(
            read_bounded(big.as_bytes(), None, &limit, "s").unwrap(),
            big
        );
    }

    #[test]
    fn a_file_over_the_limit_is_refused_from_its_length_alone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("huge.json");
        // Sparse: 3 GiB of length, no blocks, and reading it would take seconds.
        std::fs::File::create(&path)
            .unwrap()
            .set_len(3 << 30)
            .unwrap();
        let started = std::time::Instant::now();
        let err = read_text(&path, &SNAPSHOT).unwrap_err();
        assert!(
            err.to_string().ends_with(
                "huge.json: it is larger than 2 GiB, the most lzaudit reads for a snapshot"
            ),
            "{err}"
        );
        assert!(started.elapsed() < std::time::Duration::from_secs(1));
    }

    #[test]
    fn files_read_whole_and_missing_files_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.toml");
        std::fs::write(&path, "name = \"x\"\n").unwrap();
        assert_eq!(read_text(&path, &PROFILE).unwrap(), "name = \"x\"\n");
        std::fs::write(&path, "").unwrap();
        assert_eq!(read_text(&path, &PROFILE).unwrap(), "");
        let missing = dir.path().join("missing.toml");
        let err = read_text(&missing, &PROFILE).unwrap_err().to_string();
        assert!(
            err.starts_with("cannot read profile ") && err.contains("missing.toml: "),
            "{err}"
        );
    }

    #[test]
    fn limits_print_in_the_unit_they_were_chosen_in() {
        assert_eq!(Size(SNAPSHOT.bytes).to_string(), "2 GiB");
        assert_eq!(Size(PROFILE.bytes).to_string(), "1 MiB");
        assert_eq!(Size(1536).to_string(), "1536 bytes");
        assert_eq!(Size(3 << 10).to_string(), "3 KiB");
    }
}
