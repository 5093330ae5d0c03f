//! Private files: the data directory holds password hashes, private keys and every
//! row, so nothing in it may be readable by other users.
//!
//! Modes are set explicitly after creation rather than left to the umask: `mode()` on open or
//! mkdir is narrowed by whatever umask the server was started with (a umask of 0277 would even
//! make a database read-only to its owner), and SQLite creates database files 0644 whatever the
//! umask allows. SQLite gives a database's `-wal` and `-shm` files the mode of the database file
//! itself (`robust_open` with the main file's `st_mode`), so a database created 0600 here keeps
//! its WAL and shared memory 0600 too.

use std::fs::{self, DirBuilder, File, OpenOptions, Permissions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

/// A directory only the server's user can enter.
pub const DIR_MODE: u32 = 0o700;

/// A file only the server's user can read and write: keys, `system.db`, database files.
pub const PRIVATE_MODE: u32 = 0o600;

/// A file the server's group may read: certificates and the public RSA key. Group access
/// matters only when the operator opens the data directory to a group (0750).
pub const GROUP_READABLE_MODE: u32 = 0o640;

/// What a directory may keep beyond owner access: group read and traverse (0750).
const DIR_KEEP: u32 = 0o750;

/// The SQLite companions of a database file, which must be as private as the file.
const SQLITE_SIDECARS: [&str; 3] = ["-wal", "-shm", "-journal"];

/// Creates the data directory 0700, or checks an existing one.
///
/// An existing directory without group write and without any access for others (0700, 0750,
/// 0710) is left as the operator set it. A more open one is tightened to 0700, with a warning,
/// when it is empty or already holds `marker` (it is a tlsql data directory, possibly made by an
/// older version that created it 0755); any other open directory (`/tmp`, a home directory) is
/// an error rather than a chmod of a directory that other programs share.
pub fn data_dir(path: &Path, marker: &str) -> io::Result<()> {
    let meta = match fs::metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return create_dir(path),
        Err(e) => return Err(e),
    };
    if !meta.is_dir() {
        return Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            "exists and is not a directory",
        ));
    }
    let mode = meta.permissions().mode() & 0o7777;
    if mode & !DIR_KEEP & 0o777 == 0 {
        return Ok(());
    }
    let ours = path.join(marker).exists() || fs::read_dir(path)?.next().is_none();
    if !ours {
        return Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            format!(
                "it is accessible to other users (mode {mode:o}) and is not a tlsql data directory, so its mode is left alone; `chmod 700` it or choose another data-dir"
            ),
        ));
    }
    log::warn!(
        "data directory {} was accessible to other users (mode {mode:o}); changed to 0700",
        path.display()
    );
    fs::set_permissions(path, Permissions::from_mode(DIR_MODE))
}

/// Creates a directory inside the data directory 0700, or tightens an existing one that
/// other users could enter or write.
pub fn private_subdir(path: &Path) -> io::Result<()> {
    match fs::metadata(path) {
        Ok(meta) => {
            if meta.permissions().mode() & !DIR_KEEP & 0o777 != 0 {
                fs::set_permissions(path, Permissions::from_mode(DIR_MODE))?;
            }
            Ok(())
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => create_dir(path),
        Err(e) => Err(e),
    }
}

fn create_dir(path: &Path) -> io::Result<()> {
    DirBuilder::new()
        .recursive(true)
        .mode(DIR_MODE)
        .create(path)?;
    fs::set_permissions(path, Permissions::from_mode(DIR_MODE))
}

/// Creates an empty file with exactly `mode`; fails if it exists.
pub fn create_new(path: &Path, mode: u32) -> io::Result<()> {
    let file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)?;
    file.set_permissions(Permissions::from_mode(mode))
}

/// Makes sure the SQLite database `path` exists with exactly `mode` before SQLite opens it, so
/// it and the `-wal`/`-shm` files SQLite derives from it are never more open than `mode`. An
/// existing database and its companions lose the bits `mode` does not grant (0644 → 0600).
pub fn sqlite_file(path: &Path, mode: u32) -> io::Result<()> {
    match create_new(path, mode) {
        Ok(()) => return Ok(()),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(e),
    }
    tighten(path, mode)?;
    for suffix in SQLITE_SIDECARS {
        let mut sidecar = path.as_os_str().to_os_string();
        sidecar.push(suffix);
        match tighten(Path::new(&sidecar), mode) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            other => other?,
        }
    }
    Ok(())
}

static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// Writes `contents` to a temporary file in the same directory with exactly `mode`, flushes it
/// to disk and renames it over `path`: readers see the old file or the new one, never a part.
pub fn write_atomic(path: &Path, contents: &[u8], mode: u32) -> io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(
        ".{name}.{}.{}.tmp",
        std::process::id(),
        TEMP_COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let result = (|| {
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(&tmp)?;
        file.set_permissions(Permissions::from_mode(mode))?;
        file.write_all(contents)?;
        file.sync_all()?;
        fs::rename(&tmp, path)?;
        // Make the rename itself durable.
        File::open(dir)?.sync_all()
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// Removes from an existing file the permission bits `mode` does not grant.
pub fn tighten(path: &Path, mode: u32) -> io::Result<()> {
    let current = fs::metadata(path)?.permissions().mode() & 0o777;
    let allowed = current & mode;
    if allowed != current {
        log::warn!(
            "{} was mode {current:o}; changed to {allowed:o}",
            path.display()
        );
        fs::set_permissions(path, Permissions::from_mode(allowed))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(path: &Path) -> u32 {
        fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    fn set(path: &Path, mode: u32) {
        fs::set_permissions(path, Permissions::from_mode(mode)).unwrap();
    }

    #[test]
    fn a_new_data_dir_is_0700() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("a/b");
        data_dir(&dir, "system.db").unwrap();
        assert_eq!(mode(&dir), 0o700);
    }

    #[test]
    fn an_existing_0750_data_dir_is_kept() {
        let tmp = tempfile::tempdir().unwrap();
        set(tmp.path(), 0o750);
        data_dir(tmp.path(), "system.db").unwrap();
        assert_eq!(mode(tmp.path()), 0o750);
    }

    #[test]
    fn an_open_tlsql_data_dir_is_tightened() {
        let tmp = tempfile::tempdir().unwrap();
        fs::write(tmp.path().join("system.db"), "").unwrap();
        set(tmp.path(), 0o755);
        data_dir(tmp.path(), "system.db").unwrap();
        assert_eq!(mode(tmp.path()), 0o700);
        // Empty: about to become a data directory.
        let empty = tempfile::tempdir().unwrap();
        set(empty.path(), 0o777);
        data_dir(empty.path(), "system.db").unwrap();
        assert_eq!(mode(empty.path()), 0o700);
    }

    #[test]
    fn an_open_foreign_dir_is_refused_and_left_alone() {
        let tmp = tempfile::tempdir().unwrap();
        fs::write(tmp.path().join("notes.txt"), "").unwrap();
        set(tmp.path(), 0o1777);
        let err = data_dir(tmp.path(), "system.db").unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::PermissionDenied);
        assert!(err.to_string().contains("mode 1777"), "{err}");
        assert_eq!(mode(tmp.path()), 0o777);
        set(tmp.path(), 0o700);
    }

    #[test]
    fn sqlite_files_are_created_exact_and_tightened_with_their_companions() {
        let tmp = tempfile::tempdir().unwrap();
        let db = tmp.path().join("x.sqlite");
        sqlite_file(&db, PRIVATE_MODE).unwrap();
        assert_eq!(mode(&db), 0o600);
        let wal = tmp.path().join("x.sqlite-wal");
        fs::write(&wal, "").unwrap();
        set(&db, 0o644);
        set(&wal, 0o666);
        sqlite_file(&db, PRIVATE_MODE).unwrap();
        assert_eq!((mode(&db), mode(&wal)), (0o600, 0o600));
        set(&db, 0o644);
        sqlite_file(&db, GROUP_READABLE_MODE).unwrap();
        assert_eq!(mode(&db), 0o640);
    }

    #[test]
    fn sqlite_gives_wal_and_shm_the_mode_of_the_database() {
        let tmp = tempfile::tempdir().unwrap();
        let db = tmp.path().join("x.sqlite");
        sqlite_file(&db, PRIVATE_MODE).unwrap();
        let conn = rusqlite::Connection::open(&db).unwrap();
        conn.execute_batch(
            "PRAGMA journal_mode=WAL; CREATE TABLE t (a); INSERT INTO t VALUES (1);",
        )
        .unwrap();
        for suffix in ["-wal", "-shm"] {
            let p = tmp.path().join(format!("x.sqlite{suffix}"));
            assert_eq!(mode(&p), 0o600, "{}", p.display());
        }
    }
}
