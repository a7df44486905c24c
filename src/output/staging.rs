//! A run's files appear together or not at all (docs/formats.md §6). Each file is first written
//! whole into a staging directory beside its target (`.spendrecon-staging-*`: one inside
//! `--out`, one beside a `--xlsx` or `--focus` file elsewhere), hashed as it is written; only
//! when every file of the run is written are they renamed into place, one after the other. A
//! run that fails before that (a full disk, a target that cannot be replaced) leaves the
//! previous run's files as they were, and its staging directories are removed when the
//! [`Staging`] is dropped, on every error path.
//!
//! The renames are not one atomic step: if one of them fails, the files already renamed are put
//! back (the previous file was kept as a hard link in the staging directory), so the set stays
//! the previous run's.

use std::fs;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::sources::digest::hex;

/// The files staged so far, and where they go.
#[derive(Default)]
pub(crate) struct Staging {
    dirs: Vec<StageDir>,
    files: Vec<Staged>,
    /// Directories the run owns whole: after the commit, they hold only this run's files.
    owned: Vec<PathBuf>,
}

/// A staging directory and the directory its files go to.
struct StageDir {
    /// The target directory, canonical (so one directory named two ways is one).
    target: PathBuf,
    tmp: tempfile::TempDir,
}

/// One file written to staging.
pub(crate) struct Staged {
    /// Where it goes, as the run named it.
    pub target: PathBuf,
    /// Its staging directory (index into `dirs`) and file name there.
    dir: usize,
    name: std::ffi::OsString,
    pub size: u64,
    /// Lower-case hex SHA-256 of the bytes written.
    pub sha256: String,
}

impl Staging {
    /// The files staged, in the order written.
    pub(crate) fn files(&self) -> &[Staged] {
        &self.files
    }

    /// The canonical directory `f` goes to.
    pub(crate) fn dir_of(&self, f: &Staged) -> &Path {
        &self.dirs[f.dir].target
    }

    /// The canonical directory `target` goes to (created when missing).
    pub(crate) fn target_dir(target: &Path) -> io::Result<PathBuf> {
        let dir = target
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        fs::create_dir_all(dir)?;
        dir.canonicalize()
    }

    /// Declares `dir` the run's own ([`Staging::commit`] removes the files there it did not
    /// write).
    pub(crate) fn own_dir(&mut self, dir: &Path) {
        self.owned.push(dir.to_path_buf());
    }

    /// Removes the files of the owned directories that this run did not write: a previous
    /// run's evidence must not sit beside this run's as if it were a claim. Only after every
    /// file of the run is in place; a file that cannot be removed is named in the error.
    fn clear_owned(&self) -> io::Result<()> {
        for dir in &self.owned {
            let Ok(entries) = fs::read_dir(dir) else {
                continue;
            };
            let Ok(canonical) = dir.canonicalize() else {
                continue;
            };
            let written: Vec<&std::ffi::OsStr> = self
                .files
                .iter()
                .filter(|f| self.dirs[f.dir].target == canonical)
                .map(|f| f.name.as_os_str())
                .collect();
            for e in entries.flatten() {
                let stale = e.file_type().is_ok_and(|t| t.is_file())
                    && !written.contains(&e.file_name().as_os_str());
                if stale {
                    fs::remove_file(e.path()).map_err(|err| {
                        io::Error::new(
                            err.kind(),
                            format!(
                                "{}: a previous run's file not removed: {err}",
                                e.path().display()
                            ),
                        )
                    })?;
                }
            }
        }
        Ok(())
    }

    /// Writes `body` to staging as the future `target`: whole, flushed to disk, hashed.
    pub(crate) fn stage(&mut self, target: &Path, body: &mut dyn Read) -> io::Result<()> {
        let name = target
            .file_name()
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "not a file name"))?
            .to_os_string();
        let canonical = Self::target_dir(target)?;
        let dir = match self.dirs.iter().position(|d| d.target == canonical) {
            Some(i) => i,
            None => {
                let tmp = tempfile::Builder::new()
                    .prefix(".spendrecon-staging-")
                    .tempdir_in(&canonical)?;
                self.dirs.push(StageDir {
                    target: canonical,
                    tmp,
                });
                self.dirs.len() - 1
            }
        };
        if self.files.iter().any(|f| f.dir == dir && f.name == name) {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                "this run writes the file twice (two outputs name the same file)",
            ));
        }
        let path = self.dirs[dir].tmp.path().join(&name);
        let file = fs::File::create(&path)?;
        let mut w = HashWriter {
            inner: io::BufWriter::with_capacity(1 << 20, file),
            sha: Sha256::new(),
            size: 0,
        };
        io::copy(body, &mut w)?;
        let file = w.inner.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        // A replaced file keeps its permissions; a new one gets the usual 0644.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(target).map_or(0o644, |m| m.permissions().mode() & 0o777);
            fs::set_permissions(&path, fs::Permissions::from_mode(mode))?;
        }
        self.files.push(Staged {
            target: target.to_path_buf(),
            dir,
            name,
            size: w.size,
            sha256: hex(&w.sha.finalize()),
        });
        Ok(())
    }

    /// Renames every staged file into place. Before the first rename, every target is checked
    /// to be replaceable (a directory in the way fails the run with nothing changed); a rename
    /// that fails puts back the files already renamed. The staging directories go when `self`
    /// is dropped.
    pub(crate) fn commit(self) -> io::Result<()> {
        for f in &self.files {
            if fs::symlink_metadata(&f.target).is_ok_and(|m| m.is_dir()) {
                return Err(io::Error::new(
                    io::ErrorKind::IsADirectory,
                    format!(
                        "{}: a directory is in the way of the output file",
                        f.target.display()
                    ),
                ));
            }
        }
        let mut done: Vec<(&Staged, Option<PathBuf>)> = Vec::new();
        for f in &self.files {
            if let Err(e) = self.place(f, &mut done) {
                for (f, previous) in done.iter().rev() {
                    let _ = match previous {
                        Some(p) => fs::rename(p, &f.target),
                        None => fs::remove_file(&f.target),
                    };
                }
                return Err(io::Error::new(
                    e.kind(),
                    format!("{}: {e}", f.target.display()),
                ));
            }
        }
        for d in &self.dirs {
            // The renames reach the disk with the directory (best effort: not every file
            // system can sync a directory).
            let _ = fs::File::open(&d.target).and_then(|dir| dir.sync_all());
        }
        self.clear_owned()
    }

    /// Renames `f` into place, keeping the file it replaces in staging (a hard link, so the
    /// target never goes missing; a rename where links are not supported); records the step in
    /// `done`.
    fn place<'a>(
        &self,
        f: &'a Staged,
        done: &mut Vec<(&'a Staged, Option<PathBuf>)>,
    ) -> io::Result<()> {
        let tmp = self.dirs[f.dir].tmp.path();
        let staged = tmp.join(&f.name);
        let previous = if fs::symlink_metadata(&f.target).is_ok() {
            let keep = tmp.join(".previous");
            fs::create_dir_all(&keep)?;
            let keep = keep.join(&f.name);
            if fs::hard_link(&f.target, &keep).is_err() {
                fs::rename(&f.target, &keep)?;
            }
            Some(keep)
        } else {
            None
        };
        if let Err(e) = fs::rename(&staged, &f.target) {
            if let Some(p) = &previous {
                let _ = fs::rename(p, &f.target);
            }
            return Err(e);
        }
        done.push((f, previous));
        Ok(())
    }
}

/// Counts and hashes the bytes on their way to the file.
struct HashWriter<W> {
    inner: W,
    sha: Sha256,
    size: u64,
}

impl<W: Write> Write for HashWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.sha.update(&buf[..n]);
        self.size += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn staged_files_appear_only_on_commit_and_staging_goes() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a.csv"), dir.path().join("sub/b.csv"));
        fs::write(&a, "old a\n").unwrap();
        let mut s = Staging::default();
        s.stage(&a, &mut &b"new a\n"[..]).unwrap();
        s.stage(&b, &mut &b"new b\n"[..]).unwrap();
        assert_eq!(fs::read(&a).unwrap(), b"old a\n");
        assert!(!b.exists());
        // Sized and hashed on the way to the file.
        assert_eq!(s.files()[0].size, 6);
        assert_eq!(
            s.files()[0].sha256,
            crate::sources::digest::hash_bytes("", b"new a\n").sha256
        );
        s.commit().unwrap();
        assert_eq!(fs::read(&a).unwrap(), b"new a\n");
        assert_eq!(fs::read(&b).unwrap(), b"new b\n");
        assert_eq!(names(dir.path()), ["a.csv", "sub"]);
        assert_eq!(names(&dir.path().join("sub")), ["b.csv"]);
    }

    #[test]
    fn a_dropped_staging_leaves_the_previous_files_and_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.csv");
        fs::write(&a, "old a\n").unwrap();
        let mut s = Staging::default();
        s.stage(&a, &mut &b"new a\n"[..]).unwrap();
        s.stage(&dir.path().join("b.csv"), &mut &b"new b\n"[..])
            .unwrap();
        drop(s);
        assert_eq!(fs::read(&a).unwrap(), b"old a\n");
        assert_eq!(names(dir.path()), ["a.csv"]);
    }

    #[test]
    fn a_failed_rename_puts_back_the_files_already_placed() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b, c) = (
            dir.path().join("a.csv"),
            dir.path().join("b.csv"),
            dir.path().join("c.csv"),
        );
        fs::write(&a, "old a\n").unwrap();
        let mut s = Staging::default();
        for p in [&a, &b, &c] {
            s.stage(p, &mut &b"new\n"[..]).unwrap();
        }
        // The third staged file vanishes: its rename fails with the first two already placed.
        fs::remove_file(s.dirs[0].tmp.path().join("c.csv")).unwrap();
        let e = s.commit().unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::NotFound, "{e}");
        assert_eq!(fs::read(&a).unwrap(), b"old a\n");
        assert_eq!(names(dir.path()), ["a.csv"]);
    }

    #[test]
    fn a_directory_in_the_way_fails_before_any_rename() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a.csv"), dir.path().join("b.csv"));
        fs::write(&a, "old a\n").unwrap();
        fs::create_dir(&b).unwrap();
        let mut s = Staging::default();
        s.stage(&a, &mut &b"new a\n"[..]).unwrap();
        s.stage(&b, &mut &b"new b\n"[..]).unwrap();
        let e = s.commit().unwrap_err();
        assert!(e.to_string().contains("a directory is in the way"), "{e}");
        assert_eq!(fs::read(&a).unwrap(), b"old a\n");
        assert_eq!(names(dir.path()), ["a.csv", "b.csv"]);
        assert!(b.is_dir());
    }

    #[test]
    fn one_file_named_twice_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Staging::default();
        s.stage(&dir.path().join("a.csv"), &mut &b"1"[..]).unwrap();
        let twice = dir.path().join("x/../a.csv");
        fs::create_dir(dir.path().join("x")).unwrap();
        let e = s.stage(&twice, &mut &b"2"[..]).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::AlreadyExists);
    }
}
