//! TensorBoard's event files: TFRecord framing (a little-endian `u64` length, its masked
//! CRC-32C, the data, the data's masked CRC-32C) around `Event` protobufs, as TensorFlow's
//! `tensorflow/core/util/event.proto` defines them. Only the messages TensorBoard needs for
//! scalars and histograms are declared here (prost encodes them; field numbers are TF's).

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use prost::Message;

use crate::Error;

/// `tensorflow.Event`, with the two payloads written here.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Event {
    /// Seconds since the Unix epoch.
    #[prost(double, tag = "1")]
    pub wall_time: f64,
    /// The training step (the epoch, for epoch summaries).
    #[prost(int64, tag = "2")]
    pub step: i64,
    /// The file's format version (`brain.Event:2`), in the first event only.
    #[prost(string, optional, tag = "3")]
    pub file_version: Option<String>,
    /// Summary values.
    #[prost(message, optional, tag = "5")]
    pub summary: Option<Summary>,
}

/// `tensorflow.Summary`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Summary {
    /// The values.
    #[prost(message, repeated, tag = "1")]
    pub value: Vec<SummaryValue>,
}

/// `tensorflow.Summary.Value`: a scalar or a histogram under a tag.
#[derive(Clone, PartialEq, prost::Message)]
pub struct SummaryValue {
    /// The tag (`epoch_loss`, `mnist/dense/kernel/histogram`).
    #[prost(string, tag = "1")]
    pub tag: String,
    /// A scalar.
    #[prost(float, optional, tag = "2")]
    pub simple_value: Option<f32>,
    /// A histogram.
    #[prost(message, optional, tag = "5")]
    pub histo: Option<Histogram>,
}

/// `tensorflow.HistogramProto`: bucket `i` counts the values up to `bucket_limit[i]` (and
/// above the previous limit).
#[derive(Clone, PartialEq, prost::Message)]
pub struct Histogram {
    /// The smallest value.
    #[prost(double, tag = "1")]
    pub min: f64,
    /// The largest value.
    #[prost(double, tag = "2")]
    pub max: f64,
    /// How many values.
    #[prost(double, tag = "3")]
    pub num: f64,
    /// Their sum.
    #[prost(double, tag = "4")]
    pub sum: f64,
    /// The sum of their squares.
    #[prost(double, tag = "5")]
    pub sum_squares: f64,
    /// Each bucket's upper edge.
    #[prost(double, repeated, tag = "6")]
    pub bucket_limit: Vec<f64>,
    /// Each bucket's count.
    #[prost(double, repeated, tag = "7")]
    pub bucket: Vec<f64>,
}

/// Buckets of a histogram, as TensorFlow 2's `tf.summary.histogram` makes them.
const BUCKETS: usize = 30;

impl Histogram {
    /// The histogram of `values` in 30 buckets of equal width between their least and
    /// greatest (one bucket when those are equal).
    pub fn of(values: &[f64]) -> Self {
        let (min, max) = values
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| {
                (lo.min(v), hi.max(v))
            });
        let (min, max) = if values.is_empty() {
            (0.0, 0.0)
        } else {
            (min, max)
        };
        let buckets = if max > min { BUCKETS } else { 1 };
        let width = (max - min) / buckets as f64;
        let bucket_limit: Vec<f64> = (1..=buckets)
            .map(|i| {
                if i == buckets {
                    max
                } else {
                    min + width * i as f64
                }
            })
            .collect();
        let mut bucket = vec![0.0; buckets];
        for &v in values {
            let i = if width > 0.0 {
                ((v - min) / width) as usize
            } else {
                0
            };
            bucket[i.min(buckets - 1)] += 1.0;
        }
        Histogram {
            min,
            max,
            num: values.len() as f64,
            sum: values.iter().sum(),
            sum_squares: values.iter().map(|v| v * v).sum(),
            bucket_limit,
            bucket,
        }
    }
}

/// TFRecord's masked CRC-32C.
fn masked_crc(data: &[u8]) -> u32 {
    let crc = crc32c::crc32c(data);
    crc.rotate_right(15).wrapping_add(0xa282_ead8)
}

/// One TFRecord around `data`.
fn record(data: &[u8]) -> Vec<u8> {
    let len = (data.len() as u64).to_le_bytes();
    let mut out = Vec::with_capacity(data.len() + 16);
    out.extend_from_slice(&len);
    out.extend_from_slice(&masked_crc(&len).to_le_bytes());
    out.extend_from_slice(data);
    out.extend_from_slice(&masked_crc(data).to_le_bytes());
    out
}

/// Seconds since the Unix epoch.
fn now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// An event file being written: `events.out.tfevents.<seconds>.<host>.<pid>.<n>.v2` in its
/// directory, which TensorBoard shows as one run.
pub struct EventWriter {
    path: PathBuf,
    file: BufWriter<File>,
}

impl EventWriter {
    /// Creates the directory if needed and a new event file in it, starting with the
    /// file-version event.
    pub fn create(dir: &Path) -> Result<Self, Error> {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        let host = std::fs::read_to_string("/etc/hostname")
            .ok()
            .map(|h| h.trim().to_string())
            .filter(|h| !h.is_empty() && !h.contains(['/', '\\']))
            .unwrap_or_else(|| "localhost".into());
        let seconds = now() as u64;
        let pid = std::process::id();
        let (path, file) = (0..)
            .map(|n| dir.join(format!("events.out.tfevents.{seconds}.{host}.{pid}.{n}.v2")))
            .find_map(
                |path| match File::options().write(true).create_new(true).open(&path) {
                    Ok(file) => Some(Ok((path, file))),
                    Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => None,
                    Err(e) => Some(Err(Error::io(&path, e))),
                },
            )
            .expect("some file name is free")?;
        let mut writer = EventWriter {
            path,
            file: BufWriter::new(file),
        };
        writer.write(&Event {
            wall_time: now(),
            step: 0,
            file_version: Some("brain.Event:2".into()),
            summary: None,
        })?;
        writer.flush()?;
        Ok(writer)
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn write(&mut self, event: &Event) -> Result<(), Error> {
        self.file
            .write_all(&record(&event.encode_to_vec()))
            .map_err(|e| Error::io(&self.path, e))
    }

    /// Writes summary `values` at `step`.
    pub fn summary(&mut self, step: i64, values: Vec<SummaryValue>) -> Result<(), Error> {
        self.write(&Event {
            wall_time: now(),
            step,
            file_version: None,
            summary: Some(Summary { value: values }),
        })
    }

    /// Writes scalar `value` under `tag` at `step`.
    pub fn scalar(&mut self, tag: &str, step: i64, value: f64) -> Result<(), Error> {
        let value = SummaryValue {
            tag: tag.into(),
            simple_value: Some(value as f32),
            histo: None,
        };
        self.summary(step, vec![value])
    }

    /// Hands what is buffered to the operating system, so that TensorBoard sees it.
    pub fn flush(&mut self) -> Result<(), Error> {
        self.file.flush().map_err(|e| Error::io(&self.path, e))
    }
}

/// Every event of an event file, each record's length and data checked against its CRCs.
pub fn read_events(path: &Path) -> Result<Vec<Event>, Error> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let mut offset = 0;
    let mut events = Vec::new();
    while offset < bytes.len() {
        let rest = &bytes[offset..];
        let bad = |what: &str| Error::format(path, format!("the record at byte {offset}: {what}"));
        if rest.len() < 12 {
            return Err(bad("truncated header"));
        }
        let (len_bytes, crc) = (&rest[..8], &rest[8..12]);
        if masked_crc(len_bytes) != u32::from_le_bytes(crc.try_into().expect("4 bytes")) {
            return Err(bad("the length's CRC does not match"));
        }
        let len = u64::from_le_bytes(len_bytes.try_into().expect("8 bytes"));
        let len = usize::try_from(len).map_err(|_| bad("length out of range"))?;
        if rest.len() < 16 + len {
            return Err(bad("truncated data"));
        }
        let (data, crc) = (&rest[12..12 + len], &rest[12 + len..16 + len]);
        if masked_crc(data) != u32::from_le_bytes(crc.try_into().expect("4 bytes")) {
            return Err(bad("the data's CRC does not match"));
        }
        events.push(Event::decode(data).map_err(|e| bad(&format!("not an Event: {e}")))?);
        offset += 16 + len;
    }
    Ok(events)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_masked_crc_is_tensorflows() {
        // CRC-32C of "a" is 0xc1d04330; masked: rotate right by 15, add 0xa282ead8.
        assert_eq!(crc32c::crc32c(b"a"), 0xc1d0_4330);
        assert_eq!(
            masked_crc(b"a"),
            0xc1d0_4330u32.rotate_right(15).wrapping_add(0xa282_ead8)
        );
    }

    #[test]
    fn records_read_back_and_a_flipped_bit_is_caught() {
        let dir = std::env::temp_dir().join(format!("typed-nn-tfevents-{}", std::process::id()));
        let mut w = EventWriter::create(&dir).unwrap();
        w.scalar("epoch_loss", 3, 0.25).unwrap();
        let histo = Histogram::of(&[1.0, 2.0, 2.0, 5.0]);
        w.summary(
            3,
            vec![SummaryValue {
                tag: "m/dense/kernel/histogram".into(),
                simple_value: None,
                histo: Some(histo.clone()),
            }],
        )
        .unwrap();
        w.flush().unwrap();
        let path = w.path().to_path_buf();
        let events = read_events(&path).unwrap();
        assert_eq!(events[0].file_version.as_deref(), Some("brain.Event:2"));
        let scalar = &events[1].summary.as_ref().unwrap().value[0];
        assert_eq!(
            (scalar.tag.as_str(), scalar.simple_value, events[1].step),
            ("epoch_loss", Some(0.25), 3)
        );
        assert_eq!(
            events[2].summary.as_ref().unwrap().value[0].histo.as_ref(),
            Some(&histo)
        );
        assert_eq!(histo.num, 4.0);
        assert_eq!(histo.bucket.iter().sum::<f64>(), 4.0);
        assert_eq!(*histo.bucket_limit.last().unwrap(), 5.0);
        let mut bytes = std::fs::read(&path).unwrap();
        let last = bytes.len() - 6;
        bytes[last] ^= 1;
        std::fs::write(&path, &bytes).unwrap();
        assert!(read_events(&path).unwrap_err().to_string().contains("CRC"));
        std::fs::remove_dir_all(dir).unwrap();
    }
}
