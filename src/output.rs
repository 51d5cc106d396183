//! Writing output files atomically, and all of a run's files together.
//!
//! A report or snapshot is written to a temporary file in the destination's directory and
//! renamed over the target, so a crash, a full disk or Ctrl-C never leaves a half-written file
//! where a pipeline expects a complete one. A run that writes several files stages them all
//! (`Staged`) and renames them only once every one was written, so a failure or an interrupt
//! never leaves a new HTML report next to the previous run's JSON.
//!
//! Every temporary file is listed in a process-wide registry from the moment it exists until
//! it is renamed or removed. On SIGINT or SIGTERM, `interrupt` calls `abandon`, which removes
//! them all; the registry's lock also makes a commit's renames all-or-nothing with respect to
//! an interrupt, which either comes before the first rename or after the last.

use std::io::Write;
use std::path::{Component, Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError};

use tempfile::NamedTempFile;
use thiserror::Error;

/// The temporary files that exist right now, and the files this process has written.
#[derive(Debug, Default)]
pub struct Registry {
    next_id: u64,
    pending: Vec<Pending>,
    written: Vec<PathBuf>,
}

#[derive(Debug)]
struct Pending {
    id: u64,
    temp: PathBuf,
    /// The target as the user named it, for messages.
    shown: PathBuf,
}

impl Registry {
    pub const fn new() -> Registry {
        Registry {
            next_id: 0,
            pending: Vec::new(),
            written: Vec::new(),
        }
    }

    fn register(&mut self, temp: &Path, shown: &Path) -> u64 {
        self.next_id += 1;
        self.pending.push(Pending {
            id: self.next_id,
            temp: temp.to_path_buf(),
            shown: shown.to_path_buf(),
        });
        self.next_id
    }

    fn deregister(&mut self, id: u64) {
        self.pending.retain(|p| p.id != id);
    }
}

static REGISTRY: Mutex<Registry> = Mutex::new(Registry::new());

/// A panic elsewhere while holding the lock leaves the registry consistent (every change is
/// one push or retain), so a poisoned lock is still usable, and an interrupt still cleans up.
fn lock(registry: &Mutex<Registry>) -> MutexGuard<'_, Registry> {
    registry.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Output files written to temporaries, to be renamed into place together by `commit`.
/// Dropping it without committing removes the temporaries and leaves every target as it was.
pub struct Staged<'r> {
    registry: &'r Mutex<Registry>,
    files: Vec<StagedFile>,
}

struct StagedFile {
    id: u64,
    file: NamedTempFile,
    target: PathBuf,
    shown: PathBuf,
}

impl Default for Staged<'static> {
    fn default() -> Self {
        Staged::new()
    }
}

impl Staged<'static> {
    pub fn new() -> Staged<'static> {
        Staged::in_registry(&REGISTRY)
    }
}

impl<'r> Staged<'r> {
    /// A set tracked by `registry` instead of the process's, so tests do not see each other's
    /// temporary files.
    pub fn in_registry(registry: &'r Mutex<Registry>) -> Staged<'r> {
        Staged {
            registry,
            files: Vec::new(),
        }
    }

    /// Writes `contents` to a temporary file next to where `path` resolves (see `resolve`).
    /// On error nothing of this file remains; the files staged before it stay staged.
    pub fn add(&mut self, path: &Path, contents: &[u8]) -> std::io::Result<()> {
        self.add_with(path, |out| out.write_all(contents))
    }

    /// Like `add`, with the contents streamed by `write` into the temporary file (through a
    /// buffer), so a large output (a snapshot) is never held in memory whole.
    pub fn add_with(
        &mut self,
        path: &Path,
        write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
    ) -> std::io::Result<()> {
        let target = resolve(path)?;
        if target.is_dir() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::IsADirectory,
                "it is a directory",
            ));
        }
        let dir = target.parent().unwrap_or(Path::new("/"));
        let (mut file, id) = {
            // Created and registered under the lock: an interrupt in between would miss it.
            let mut registry = lock(self.registry);
            let file = tempfile::Builder::new()
                .prefix(".lzaudit-")
                .suffix(".tmp")
                .tempfile_in(dir)?;
            let id = registry.register(file.path(), path);
            (file, id)
        };
        if let Err(err) = write_contents(&mut file, &target, write) {
            let mut registry = lock(self.registry);
            drop(file);
            registry.deregister(id);
            return Err(err);
        }
        self.files.push(StagedFile {
            id,
            file,
            target,
            shown: path.to_path_buf(),
        });
        Ok(())
    }

    /// Renames every staged file over its target. The renames happen under the registry's
    /// lock, so an interrupt sees either none or all of them done. A rename can still fail
    /// (the directory was removed meanwhile): then the remaining temporaries are removed and
    /// the error says which targets were already replaced.
    pub fn commit(mut self) -> Result<Vec<PathBuf>, CommitError> {
        let files = std::mem::take(&mut self.files);
        let mut registry = lock(self.registry);
        let mut replaced = Vec::new();
        let mut files = files.into_iter();
        while let Some(staged) = files.next() {
            registry.deregister(staged.id);
            if let Err(err) = staged.file.persist(&staged.target) {
                drop(err.file);
                for rest in files {
                    registry.deregister(rest.id);
                }
                return Err(CommitError {
                    path: staged.shown,
                    replaced,
                    reason: err.error,
                });
            }
            registry.written.push(staged.shown.clone());
            replaced.push(staged.shown);
        }
        Ok(replaced)
    }
}

impl Drop for Staged<'_> {
    fn drop(&mut self) {
        if self.files.is_empty() {
            return;
        }
        let mut registry = lock(self.registry);
        for staged in self.files.drain(..) {
            // Removed before it leaves the registry, so an interrupt waiting for the lock
            // cannot find it gone from the list but still on disk.
            drop(staged.file);
            registry.deregister(staged.id);
        }
    }
}

fn write_contents(
    file: &mut NamedTempFile,
    target: &Path,
    write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> std::io::Result<()> {
    write_behind(file.as_file_mut(), write)?;
    file.as_file().sync_all()?;
    set_permissions(file.as_file(), target)
}

/// Bytes handed to the writing thread at a time.
const CHUNK: usize = 1 << 20;
/// Chunks rendered ahead of the writing thread at most (bounds the memory it takes).
const CHUNKS_AHEAD: usize = 4;

/// Runs `write` (a renderer) with its output copied to `file` by a second thread: rendering a
/// report of a few hundred megabytes and copying it into the page cache each take a good
/// part of a second at a thousand subscriptions, and need not take them one after the other.
/// A failed write stops the renderer at its next chunk; the file's error is the one reported.
fn write_behind(
    file: &mut std::fs::File,
    write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> std::io::Result<()> {
    std::thread::scope(|scope| {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<u8>>(CHUNKS_AHEAD);
        let writer = scope.spawn(move || -> std::io::Result<()> {
            for chunk in rx {
                file.write_all(&chunk)?;
            }
            file.flush()
        });
        let mut out = Chunks {
            buf: Vec::with_capacity(CHUNK),
            tx: Some(tx),
        };
        let rendered = write(&mut out).and_then(|()| out.finish());
        drop(out);
        let written = writer
            .join()
            .unwrap_or_else(|_| Err(std::io::Error::other("the writing thread panicked")));
        // The file's own error explains a renderer stopped by a closed channel.
        written.and(rendered)
    })
}

/// The renderer's side of `write_behind`.
struct Chunks {
    buf: Vec<u8>,
    /// `None` once finished.
    tx: Option<std::sync::mpsc::SyncSender<Vec<u8>>>,
}

impl Chunks {
    fn send(&mut self) -> std::io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK));
        match &self.tx {
            Some(tx) => tx
                .send(chunk)
                .map_err(|_| std::io::Error::other("the file stopped taking writes")),
            None => Err(std::io::Error::other("written after the end")),
        }
    }

    fn finish(&mut self) -> std::io::Result<()> {
        let sent = self.send();
        self.tx = None;
        sent
    }
}

impl Write for Chunks {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(bytes);
        if self.buf.len() >= CHUNK {
            self.send()?;
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        // The bytes reach the file when a chunk fills or at the end; `sync_all` follows.
        Ok(())
    }
}

/// A rename of a staged set that failed part-way.
#[derive(Debug, Error)]
#[error(
    "cannot move the new {} into place: {reason}{}",
    path.display(),
    already(replaced)
)]
pub struct CommitError {
    pub path: PathBuf,
    pub replaced: Vec<PathBuf>,
    pub reason: std::io::Error,
}

fn already(replaced: &[PathBuf]) -> String {
    if replaced.is_empty() {
        return String::new();
    }
    let names: Vec<String> = replaced.iter().map(|p| p.display().to_string()).collect();
    format!(" (already replaced: {})", names.join(", "))
}

/// Writes `contents` to `path` atomically: a staged set of one.
pub fn write_atomic(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    let mut staged = Staged::new();
    staged.add(path, contents)?;
    staged.commit().map(drop).map_err(|e| e.reason)
}

/// What an interrupt found and did; it holds the registry's lock, so no file is staged or
/// renamed any more while the process exits.
pub struct Abandoned<'r> {
    _registry: MutexGuard<'r, Registry>,
    /// The targets whose unfinished temporaries were removed: they were left as they were.
    pub discarded: Vec<PathBuf>,
    /// Temporaries that could not be removed, with the reason.
    pub not_removed: Vec<(PathBuf, std::io::Error)>,
    /// The files this process had already written.
    pub written: Vec<PathBuf>,
}

/// Removes every temporary file of the process, for the interrupt handler.
pub fn abandon() -> Abandoned<'static> {
    abandon_in(&REGISTRY)
}

pub fn abandon_in(registry: &Mutex<Registry>) -> Abandoned<'_> {
    let mut guard = lock(registry);
    let mut discarded = Vec::new();
    let mut not_removed = Vec::new();
    for pending in std::mem::take(&mut guard.pending) {
        match std::fs::remove_file(&pending.temp) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => not_removed.push((pending.temp, e)),
        }
        discarded.push(pending.shown);
    }
    let written = guard.written.clone();
    Abandoned {
        _registry: guard,
        discarded,
        not_removed,
        written,
    }
}

/// Linux's own bound on symlinks followed while resolving one path (`ELOOP`).
const MAX_SYMLINKS: usize = 40;

/// The file that writing `path` replaces, as an absolute path without symlinks, `.` or `..`,
/// whether or not it exists yet: two outputs are the same file exactly when their resolved
/// paths are equal. A symlink is followed to its target (even a dangling one), as a shell's
/// `>` would, so the link itself survives and the file it points to gets the new contents.
pub fn resolve(path: &Path) -> std::io::Result<PathBuf> {
    let mut path = std::path::absolute(path)?;
    let mut followed = 0;
    while std::fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_symlink()) {
        followed += 1;
        if followed > MAX_SYMLINKS {
            return Err(std::io::Error::other(format!(
                "{}: too many levels of symbolic links",
                path.display()
            )));
        }
        let link = std::fs::read_link(&path)?;
        path = match path.parent() {
            Some(dir) => dir.join(link),
            None => link,
        };
    }
    Ok(match (path.parent(), path.file_name()) {
        (Some(dir), Some(name)) => match std::fs::canonicalize(dir) {
            Ok(dir) => dir.join(name),
            // A missing directory: writing will fail, but the comparison still needs an answer.
            Err(_) => normalize(&path),
        },
        _ => std::fs::canonicalize(&path).unwrap_or_else(|_| normalize(&path)),
    })
}

/// `.` and `..` removed by their text alone, for paths whose directories do not exist.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// A temporary file is created private (0600); a report or snapshot is meant to be published,
/// so it keeps the permissions of the file it replaces, or gets the usual 0644.
#[cfg(unix)]
fn set_permissions(file: &std::fs::File, target: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let permissions = match std::fs::metadata(target) {
        Ok(existing) => existing.permissions(),
        Err(_) => std::fs::Permissions::from_mode(0o644),
    };
    file.set_permissions(permissions)
}

#[cfg(not(unix))]
fn set_permissions(_file: &std::fs::File, _target: &Path) -> std::io::Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_writing_thread_writes_every_chunk_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big");
        let mut file = std::fs::File::create(&path).unwrap();
        // Uneven writes across several chunks, and a tail shorter than one.
        let expected: Vec<u8> = (0..(3 * CHUNK + 12_345)).map(|i| (i % 251) as u8).collect();
        write_behind(&mut file, |out| {
            for piece in expected.chunks(7_919) {
                out.write_all(piece)?;
            }
            Ok(())
        })
        .unwrap();
        drop(file);
        assert_eq!(std::fs::read(&path).unwrap(), expected);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_file_that_refuses_writes_stops_the_renderer_with_the_files_error() {
        let mut full = std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .unwrap();
        let mut written = 0usize;
        let err = write_behind(&mut full, |out| {
            for _ in 0..1_000 {
                out.write_all(&[b'x'; 64 * 1024])?;
                written += 64 * 1024;
            }
            Ok(())
        })
        .unwrap_err();
        assert_eq!(
            err.raw_os_error(),
            Some(28),
            "ENOSPC, not the channel's: {err}"
        );
        assert!(
            written < 1_000 * 64 * 1024,
            "the renderer was stopped early ({written} bytes rendered)"
        );
    }

    #[test]
    fn a_renderers_error_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let mut file = std::fs::File::create(dir.path().join("x")).unwrap();
        let err = write_behind(&mut file, |out| {
            out.write_all(b"partial")?;
            Err(std::io::Error::other("the renderer failed"))
        })
        .unwrap_err();
        assert_eq!(err.to_string(), "the renderer failed");
    }

    #[test]
    fn replaces_whole_file_and_leaves_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("report.json");
        std::fs::write(&target, "old contents that are longer").unwrap();
        write_atomic(&target, b"new").unwrap();
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "new");
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 1, "{names:?}");
    }

    #[cfg(unix)]
    #[test]
    fn new_files_are_readable_and_replaced_files_keep_their_mode() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let fresh = dir.path().join("fresh.json");
        write_atomic(&fresh, b"x").unwrap();
        assert_eq!(
            std::fs::metadata(&fresh).unwrap().permissions().mode() & 0o777,
            0o644
        );
        let kept = dir.path().join("kept.json");
        std::fs::write(&kept, "old").unwrap();
        std::fs::set_permissions(&kept, std::fs::Permissions::from_mode(0o640)).unwrap();
        write_atomic(&kept, b"new").unwrap();
        assert_eq!(
            std::fs::metadata(&kept).unwrap().permissions().mode() & 0o777,
            0o640
        );
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn staged_files_replace_their_targets_only_on_commit_and_all_together() {
        let registry = Mutex::new(Registry::new());
        let dir = tempfile::tempdir().unwrap();
        let json = dir.path().join("r.json");
        let html = dir.path().join("r.html");
        std::fs::write(&json, "old json").unwrap();
        let mut staged = Staged::in_registry(&registry);
        staged.add(&json, b"new json").unwrap();
        staged.add(&html, b"new html").unwrap();
        assert_eq!(std::fs::read_to_string(&json).unwrap(), "old json");
        assert!(!html.exists());
        assert_eq!(lock(&registry).pending.len(), 2);
        let replaced = staged.commit().unwrap();
        assert_eq!(replaced, vec![json.clone(), html.clone()]);
        assert_eq!(std::fs::read_to_string(&json).unwrap(), "new json");
        assert_eq!(std::fs::read_to_string(&html).unwrap(), "new html");
        assert_eq!(names(dir.path()), ["r.html", "r.json"]);
        let registry = lock(&registry);
        assert!(registry.pending.is_empty());
        assert_eq!(registry.written, [json, html]);
    }

    #[test]
    fn a_set_dropped_after_a_failure_leaves_every_target_as_it_was() {
        let registry = Mutex::new(Registry::new());
        let dir = tempfile::tempdir().unwrap();
        let json = dir.path().join("r.json");
        std::fs::write(&json, "old json").unwrap();
        let subdir = dir.path().join("sub");
        std::fs::create_dir(&subdir).unwrap();
        let mut staged = Staged::in_registry(&registry);
        staged.add(&json, b"new json").unwrap();
        // A directory where a report should go, and a missing directory: both refused, and
        // neither leaves a temporary behind or spoils the file staged before.
        let err = staged.add(&subdir, b"x").unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::IsADirectory);
        assert!(staged.add(&dir.path().join("missing/r.csv"), b"x").is_err());
        assert_eq!(lock(&registry).pending.len(), 1);
        drop(staged);
        assert_eq!(std::fs::read_to_string(&json).unwrap(), "old json");
        assert_eq!(names(dir.path()), ["r.json", "sub"]);
        assert!(lock(&registry).pending.is_empty());
    }

    #[test]
    fn a_rename_failing_part_way_names_what_was_already_replaced() {
        let registry = Mutex::new(Registry::new());
        let dir = tempfile::tempdir().unwrap();
        let json = dir.path().join("r.json");
        let gone = dir.path().join("gone");
        std::fs::create_dir(&gone).unwrap();
        let mut staged = Staged::in_registry(&registry);
        staged.add(&json, b"new json").unwrap();
        staged.add(&gone.join("r.html"), b"new html").unwrap();
        staged.add(&dir.path().join("r.csv"), b"new csv").unwrap();
        std::fs::remove_dir_all(&gone).unwrap();
        let err = staged.commit().unwrap_err();
        assert!(
            err.to_string().starts_with(&format!(
                "cannot move the new {} into place: ",
                gone.join("r.html").display()
            )),
            "{err}"
        );
        assert!(
            err.to_string()
                .ends_with(&format!("(already replaced: {})", json.display())),
            "{err}"
        );
        assert_eq!(names(dir.path()), ["r.json"]);
        assert!(lock(&registry).pending.is_empty());
    }

    #[test]
    fn abandon_removes_every_temporary_and_says_which_targets_were_kept() {
        let registry = Mutex::new(Registry::new());
        let dir = tempfile::tempdir().unwrap();
        let written = dir.path().join("done.json");
        let mut first = Staged::in_registry(&registry);
        first.add(&written, b"done").unwrap();
        first.commit().unwrap();
        let kept = dir.path().join("r.json");
        std::fs::write(&kept, "old json").unwrap();
        let mut staged = Staged::in_registry(&registry);
        staged.add(&kept, b"new json").unwrap();
        staged.add(&dir.path().join("r.html"), b"new html").unwrap();
        assert_eq!(names(dir.path()).len(), 4, "{:?}", names(dir.path()));
        let abandoned = abandon_in(&registry);
        assert_eq!(
            abandoned.discarded,
            [kept.clone(), dir.path().join("r.html")]
        );
        assert_eq!(abandoned.written, [written]);
        assert!(abandoned.not_removed.is_empty());
        assert_eq!(names(dir.path()), ["done.json", "r.json"]);
        assert_eq!(std::fs::read_to_string(&kept).unwrap(), "old json");
        drop(abandoned);
        // The set's own clean-up afterwards finds its files gone, and does not mind.
        drop(staged);
        assert_eq!(names(dir.path()), ["done.json", "r.json"]);
    }

    #[test]
    fn resolve_sees_through_dot_dot_relative_paths_and_symlinks() {
        let dir = tempfile::tempdir().unwrap();
        let root = std::fs::canonicalize(dir.path()).unwrap();
        let real = root.join("reports");
        std::fs::create_dir(&real).unwrap();
        let report = real.join("r.json");
        // Not yet existing: the directory is resolved and the name joined.
        assert_eq!(
            resolve(&root.join("reports/./x/../r.json")).unwrap(),
            report
        );
        assert_eq!(resolve(&root.join("reports/r.json")).unwrap(), report);
        // Relative paths are taken from the working directory.
        let cwd = std::env::current_dir().unwrap();
        assert_eq!(
            resolve(Path::new("Cargo.toml")).unwrap(),
            std::fs::canonicalize(cwd.join("Cargo.toml")).unwrap()
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::symlink;
            // A link to the (missing) report, a link to the link, a linked directory.
            symlink(&report, root.join("latest.json")).unwrap();
            symlink("latest.json", root.join("again.json")).unwrap();
            symlink("reports", root.join("linked")).unwrap();
            assert_eq!(resolve(&root.join("latest.json")).unwrap(), report);
            assert_eq!(resolve(&root.join("again.json")).unwrap(), report);
            assert_eq!(resolve(&root.join("linked/r.json")).unwrap(), report);
            std::fs::write(&report, "x").unwrap();
            assert_eq!(resolve(&root.join("latest.json")).unwrap(), report);
            // `..` after a linked directory climbs from its target, as the kernel does.
            std::fs::create_dir(real.join("deeper")).unwrap();
            symlink("reports/deeper", root.join("deep")).unwrap();
            assert_eq!(resolve(&root.join("deep/../r.json")).unwrap(), report);
            symlink("loop", root.join("loop")).unwrap();
            assert!(resolve(&root.join("loop")).is_err());
        }
    }

    #[cfg(unix)]
    #[test]
    fn writing_through_a_symlink_keeps_the_link() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("2026-11-26.json");
        std::fs::write(&target, "old").unwrap();
        let link = dir.path().join("latest.json");
        std::os::unix::fs::symlink("2026-11-26.json", &link).unwrap();
        write_atomic(&link, b"new").unwrap();
        assert!(link.symlink_metadata().unwrap().file_type().is_symlink());
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "new");
    }

    #[test]
    fn a_missing_directory_is_an_error_and_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("no/such/dir/report.json");
        assert!(write_atomic(&target, b"x").is_err());
    }
}
