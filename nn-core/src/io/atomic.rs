//! Atomic file replacement: write a temporary file beside the target, then rename it over.

use std::fs;
use std::io::Write;
use std::path::Path;

use crate::Error;

/// Writes `bytes` to `path` so that a crash leaves either the old file or the new one, never a
/// partial one: the data goes to a temporary file in the same directory, is flushed to disk,
/// and is renamed over `path`. On error the temporary file is removed.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    let name = path.file_name().ok_or_else(|| {
        Error::io(
            path,
            std::io::Error::new(std::io::ErrorKind::InvalidInput, "the path names no file"),
        )
    })?;
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let tmp = dir.join(format!(
        ".{}.tmp-{}",
        name.to_string_lossy(),
        std::process::id()
    ));
    let result = (|| {
        let mut file = fs::File::create(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        fs::rename(&tmp, path)
    })();
    result.map_err(|e| {
        let _ = fs::remove_file(&tmp);
        Error::io(path, e)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_the_file_and_reports_unwritable_paths() {
        let dir = std::env::temp_dir().join(format!("typed-nn-atomic-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join("weights.bin");
        write_atomic(&path, b"old").unwrap();
        write_atomic(&path, b"new").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"new");
        assert_eq!(
            fs::read_dir(&dir).unwrap().count(),
            1,
            "no temporary file left behind"
        );
        let err = write_atomic(&dir.join("missing/dir/w.bin"), b"x")
            .unwrap_err()
            .to_string();
        assert!(err.contains("missing/dir/w.bin"), "{err}");
        fs::remove_dir_all(&dir).unwrap();
    }
}
