//! Where checkpoint files live: the [`CheckpointStore`] trait, the local
//! filesystem ([`LocalCheckpoint`]) and memory ([`MemoryCheckpoint`]).

use std::collections::BTreeMap;
use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::java::random_uuid;

/// Storage of a checkpoint's files, addressed by relative paths with `/`
/// separators (`metadata`, `offsets/7`, `sources/0/0`).
///
/// [`Checkpoint`](super::Checkpoint) needs nothing else, so an object store
/// can be added by implementing these five methods; what it must guarantee
/// is in [`write_atomically`](Self::write_atomically).
pub trait CheckpointStore: fmt::Debug + Send + Sync {
    /// Where `path` is, for messages: a filesystem path or a URL.
    fn location(&self, path: &str) -> String;

    /// The contents of the file at `path`, or `None` when there is none.
    fn read(&self, path: &str) -> io::Result<Option<Vec<u8>>>;

    /// The names of the files directly in the directory `dir` (`""` is the
    /// root), in any order; empty when the directory does not exist.
    fn list(&self, dir: &str) -> io::Result<Vec<String>>;

    /// Writes `contents` to `path` so that readers, also after a crash, see
    /// either the whole file or no file (or the file it replaced), never a
    /// part. With `overwrite` false, fails with
    /// [`io::ErrorKind::AlreadyExists`] when `path` exists: that is how a
    /// second query writing to the same checkpoint is noticed.
    fn write_atomically(&self, path: &str, contents: &[u8], overwrite: bool) -> io::Result<()>;

    /// Deletes the file at `path`; a missing file is not an error.
    fn delete(&self, path: &str) -> io::Result<()>;
}

impl<S: CheckpointStore + ?Sized> CheckpointStore for Box<S> {
    fn location(&self, path: &str) -> String {
        (**self).location(path)
    }

    fn read(&self, path: &str) -> io::Result<Option<Vec<u8>>> {
        (**self).read(path)
    }

    fn list(&self, dir: &str) -> io::Result<Vec<String>> {
        (**self).list(dir)
    }

    fn write_atomically(&self, path: &str, contents: &[u8], overwrite: bool) -> io::Result<()> {
        (**self).write_atomically(path, contents, overwrite)
    }

    fn delete(&self, path: &str) -> io::Result<()> {
        (**self).delete(path)
    }
}

/// A checkpoint in a directory of the local filesystem, laid out as Spark
/// lays out its checkpoints.
///
/// A file is written as Spark's checkpoint file manager writes it: into a
/// temporary file `.<name>.<uuid>.tmp` in the same directory, flushed to
/// disk (`fsync`), then moved to its name, and the directory flushed too so
/// that the move survives a power loss. A file that must not exist yet is
/// moved with a hard link, which fails when the name is taken, so two
/// writers cannot both succeed.
///
/// What is atomic where: on local POSIX filesystems (ext4, XFS, btrfs,
/// ZFS, APFS, tmpfs) the rename and the link are atomic and durable after
/// the directory `fsync`. On NFS they are atomic on the server, but a
/// client's cache may show another client's new files late, so do not share
/// a checkpoint between hosts over NFS. Where hard links are refused (FAT,
/// some FUSE and SMB mounts) a file that must be new is checked for and then
/// renamed, which is atomic but cannot exclude a concurrent writer. On
/// Windows the directory is not flushed (the OS offers no such call).
/// Temporary files left by a crash are never read and are removed when the
/// checkpoint is next opened.
#[derive(Debug, Clone)]
pub struct LocalCheckpoint {
    root: PathBuf,
}

impl LocalCheckpoint {
    /// A checkpoint in the directory `root`, created (with its parents) if
    /// missing.
    pub fn new(root: impl Into<PathBuf>) -> io::Result<Self> {
        let root = root.into();
        create_dir_durably(&root)?;
        Ok(LocalCheckpoint { root })
    }

    /// The checkpoint directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn resolve(&self, path: &str) -> io::Result<PathBuf> {
        let mut resolved = self.root.clone();
        if path.is_empty() {
            return Ok(resolved);
        }
        for part in path.split('/') {
            if part.is_empty() || part == "." || part == ".." || part.contains('\\') {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!(
                        "checkpoint path {path:?} must be relative, with plain names between '/'"
                    ),
                ));
            }
            resolved.push(part);
        }
        Ok(resolved)
    }
}

impl CheckpointStore for LocalCheckpoint {
    fn location(&self, path: &str) -> String {
        match self.resolve(path) {
            Ok(resolved) => resolved.display().to_string(),
            Err(_) => format!("{}/{path}", self.root.display()),
        }
    }

    fn read(&self, path: &str) -> io::Result<Option<Vec<u8>>> {
        match fs::read(self.resolve(path)?) {
            Ok(contents) => Ok(Some(contents)),
            Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(err) => Err(err),
        }
    }

    fn list(&self, dir: &str) -> io::Result<Vec<String>> {
        let entries = match fs::read_dir(self.resolve(dir)?) {
            Ok(entries) => entries,
            Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(err) => return Err(err),
        };
        let mut names = Vec::new();
        for entry in entries {
            let entry = entry?;
            if entry.file_type()?.is_file() {
                if let Some(name) = entry.file_name().to_str() {
                    names.push(name.to_owned());
                }
            }
        }
        Ok(names)
    }

    fn write_atomically(&self, path: &str, contents: &[u8], overwrite: bool) -> io::Result<()> {
        let target = self.resolve(path)?;
        let (Some(dir), Some(name)) = (target.parent(), target.file_name()) else {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "the checkpoint root is a directory, not a file",
            ));
        };
        create_dir_durably(dir)?;
        let temporary = dir.join(format!(".{}.{}.tmp", name.to_string_lossy(), random_uuid()));
        let published = write_synced(&temporary, contents)
            .and_then(|()| publish(&temporary, &target, overwrite));
        // After a link the temporary name is a second name of the file;
        // after a failure it is garbage. Either way it goes.
        let _ = fs::remove_file(&temporary);
        published?;
        sync_dir(dir)
    }

    fn delete(&self, path: &str) -> io::Result<()> {
        match fs::remove_file(self.resolve(path)?) {
            Err(err) if err.kind() != io::ErrorKind::NotFound => Err(err),
            _ => Ok(()),
        }
    }
}

fn write_synced(path: &Path, contents: &[u8]) -> io::Result<()> {
    let mut file = OpenOptions::new().write(true).create_new(true).open(path)?;
    file.write_all(contents)?;
    file.sync_all()
}

/// Gives the synced `temporary` file the name `target`.
fn publish(temporary: &Path, target: &Path, overwrite: bool) -> io::Result<()> {
    if overwrite {
        return fs::rename(temporary, target);
    }
    match fs::hard_link(temporary, target) {
        Ok(()) => Ok(()),
        Err(err) if err.kind() == io::ErrorKind::AlreadyExists => Err(err),
        // No hard links on this filesystem: check, then rename.
        Err(_) if target.exists() => Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            format!("{} already exists", target.display()),
        )),
        Err(_) => fs::rename(temporary, target),
    }
}

/// Creates `dir` and its missing parents, flushing each parent's entry.
fn create_dir_durably(dir: &Path) -> io::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
        create_dir_durably(parent)?;
    }
    match fs::create_dir(dir) {
        Err(err) if err.kind() != io::ErrorKind::AlreadyExists => return Err(err),
        _ => {}
    }
    match dir.parent().filter(|p| !p.as_os_str().is_empty()) {
        Some(parent) => sync_dir(parent),
        None => Ok(()),
    }
}

/// Flushes a directory's entries (new, renamed and linked names) to disk.
fn sync_dir(dir: &Path) -> io::Result<()> {
    if cfg!(unix) {
        File::open(dir)?.sync_all()
    } else {
        Ok(())
    }
}

/// A checkpoint held in memory: for tests, and for queries whose progress
/// need not survive the process. Clones share the same files.
///
/// ```
/// use ferrokafka_streaming::checkpoint::{CheckpointStore, MemoryCheckpoint};
/// let store = MemoryCheckpoint::new();
/// store.write_atomically("offsets/0", b"v1", false).unwrap();
/// assert!(store.write_atomically("offsets/0", b"v1", false).is_err());
/// assert_eq!(store.list("offsets").unwrap(), ["0"]);
/// ```
#[derive(Debug, Clone, Default)]
pub struct MemoryCheckpoint {
    files: Arc<Mutex<BTreeMap<String, Vec<u8>>>>,
}

impl MemoryCheckpoint {
    /// An empty checkpoint.
    pub fn new() -> Self {
        Self::default()
    }

    /// Puts a file as it is, bypassing every check: to set up the leftovers
    /// of a crash or a file written by another program in tests.
    pub fn put(&self, path: &str, contents: impl Into<Vec<u8>>) {
        self.lock().insert(path.to_owned(), contents.into());
    }

    /// Every file path, sorted.
    pub fn paths(&self) -> Vec<String> {
        self.lock().keys().cloned().collect()
    }

    fn lock(&self) -> MutexGuard<'_, BTreeMap<String, Vec<u8>>> {
        // A panic while holding the lock cannot leave the map half-changed.
        self.files
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl CheckpointStore for MemoryCheckpoint {
    fn location(&self, path: &str) -> String {
        format!("memory:/{path}")
    }

    fn read(&self, path: &str) -> io::Result<Option<Vec<u8>>> {
        Ok(self.lock().get(path).cloned())
    }

    fn list(&self, dir: &str) -> io::Result<Vec<String>> {
        let prefix = if dir.is_empty() {
            String::new()
        } else {
            format!("{dir}/")
        };
        Ok(self
            .lock()
            .keys()
            .filter_map(|path| path.strip_prefix(&prefix))
            .filter(|name| !name.contains('/'))
            .map(str::to_owned)
            .collect())
    }

    fn write_atomically(&self, path: &str, contents: &[u8], overwrite: bool) -> io::Result<()> {
        let mut files = self.lock();
        if !overwrite && files.contains_key(path) {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!("{path} already exists"),
            ));
        }
        files.insert(path.to_owned(), contents.to_vec());
        Ok(())
    }

    fn delete(&self, path: &str) -> io::Result<()> {
        self.lock().remove(path);
        Ok(())
    }
}
