//! The IDX format of MNIST (LeCun), plain or gzip-compressed.
//!
//! Layout: two zero bytes, a type code (0x08 = unsigned byte), the number of dimensions, then
//! each dimension as a big-endian `u32`, then the data in row-major order.

use std::io::Read;
use std::path::Path;

use flate2::read::GzDecoder;

use crate::Error;

/// An IDX array of unsigned bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdxArray {
    /// The dimensions, outermost first (`[60000, 28, 28]` for MNIST training images).
    pub dims: Vec<usize>,
    /// The values, row-major.
    pub data: Vec<u8>,
}

/// The largest element count accepted, so that a corrupt header cannot ask for terabytes.
const MAX_ELEMENTS: usize = 1 << 30;

/// Reads an IDX file of unsigned bytes; gzip is recognised by its magic number.
///
/// Every malformation is an [`Error::Format`] naming the file: a bad magic number, an
/// unsupported element type, a corrupt gzip stream, or data shorter or longer than the header
/// promises.
pub fn read_idx(path: impl AsRef<Path>) -> Result<IdxArray, Error> {
    let path = path.as_ref();
    let raw = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    parse_idx_bytes(&raw, path)
}

/// [`read_idx`] on bytes already in memory; `origin` names them in errors.
pub fn parse_idx_bytes(raw: &[u8], origin: &Path) -> Result<IdxArray, Error> {
    let unpacked;
    let bytes = if raw.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        GzDecoder::new(raw)
            .take(MAX_ELEMENTS as u64 + 1024)
            .read_to_end(&mut out)
            .map_err(|e| Error::format(origin, format!("corrupt or truncated gzip stream: {e}")))?;
        unpacked = out;
        &unpacked[..]
    } else {
        raw
    };
    parse_idx(bytes).map_err(|reason| Error::format(origin, reason))
}

/// Parses IDX bytes; the error says what is wrong.
fn parse_idx(bytes: &[u8]) -> Result<IdxArray, String> {
    if bytes.len() < 4 {
        return Err(format!(
            "not an IDX file: {} bytes, shorter than the 4-byte magic number",
            bytes.len()
        ));
    }
    if bytes[0] != 0 || bytes[1] != 0 {
        return Err(format!(
            "not an IDX file: magic number starts {:#04x} {:#04x}, expected 0x00 0x00",
            bytes[0], bytes[1]
        ));
    }
    if bytes[2] != 0x08 {
        return Err(format!(
            "unsupported IDX element type {:#04x} (only 0x08, unsigned byte, is supported)",
            bytes[2]
        ));
    }
    let ndims = bytes[3] as usize;
    let header = 4 + 4 * ndims;
    if bytes.len() < header {
        return Err(format!(
            "truncated header: {ndims} dimensions need {header} bytes, file has {}",
            bytes.len()
        ));
    }
    let dims: Vec<usize> = bytes[4..header]
        .chunks_exact(4)
        .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]) as usize)
        .collect();
    let count = dims
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .filter(|&n| n <= MAX_ELEMENTS)
        .ok_or_else(|| format!("dimensions {dims:?} are too large"))?;
    let data = &bytes[header..];
    if data.len() < count {
        return Err(format!(
            "truncated: dimensions {dims:?} need {count} bytes of data, found {}",
            data.len()
        ));
    }
    if data.len() > count {
        return Err(format!(
            "{} bytes of trailing data after the {count} the header describes",
            data.len() - count
        ));
    }
    Ok(IdxArray {
        dims,
        data: data.to_vec(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn idx(dims: &[u32], data: &[u8]) -> Vec<u8> {
        let mut b = vec![0, 0, 8, dims.len() as u8];
        dims.iter()
            .for_each(|d| b.extend_from_slice(&d.to_be_bytes()));
        b.extend_from_slice(data);
        b
    }

    #[test]
    fn parses_a_small_array() {
        let a = parse_idx(&idx(&[2, 3], &[1, 2, 3, 4, 5, 6])).unwrap();
        assert_eq!(a.dims, vec![2, 3]);
        assert_eq!(a.data, vec![1, 2, 3, 4, 5, 6]);
    }

    #[test]
    fn every_malformation_is_a_clear_error() {
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (vec![0, 0], "shorter than"),
            (vec![1, 0, 8, 1, 0, 0, 0, 0], "magic number"),
            (vec![0, 0, 0x0d, 1, 0, 0, 0, 1, 0, 0, 0, 0], "element type"),
            (vec![0, 0, 8, 2, 0, 0, 0, 1], "truncated header"),
            (
                idx(&[2, 3], &[1, 2, 3]),
                "truncated: dimensions [2, 3] need 6 bytes",
            ),
            (idx(&[1], &[1, 2]), "trailing"),
            (idx(&[u32::MAX, u32::MAX, u32::MAX], &[]), "too large"),
        ];
        for (bytes, want) in cases {
            let err = parse_idx(&bytes).unwrap_err();
            assert!(err.contains(want), "{err:?} should mention {want:?}");
        }
    }

    #[test]
    fn file_errors_name_the_file() {
        let dir = std::env::temp_dir().join(format!("typed-nn-idx-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("broken.gz");
        std::fs::write(&path, [0x1f, 0x8b, 8, 0, 0, 0]).unwrap();
        let err = read_idx(&path).unwrap_err().to_string();
        assert!(err.contains("broken.gz") && err.contains("gzip"), "{err}");
        let err = read_idx(dir.join("missing")).unwrap_err().to_string();
        assert!(err.contains("missing"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
