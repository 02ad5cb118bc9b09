//! JSONL metric logs: one JSON object per iteration, appended and flushed line by line.
//! On resume the lines at or after the resumed iteration are dropped first, so the log of a
//! killed-and-resumed run equals that of an uninterrupted one (apart from wall times).

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::error::TrainError;

/// Appends JSON lines to a file in the run directory.
#[derive(Debug)]
pub struct MetricLog {
    path: PathBuf,
    out: BufWriter<File>,
}

impl MetricLog {
    /// Opens `path` for appending after keeping only the lines whose `"iteration"` is below
    /// `resume_from` (all lines are dropped when starting from 0).
    pub fn open(path: &Path, resume_from: u64) -> Result<Self, TrainError> {
        let kept: Vec<String> = if resume_from > 0 && path.exists() {
            let f = File::open(path).map_err(|e| TrainError::io(path, e))?;
            BufReader::new(f)
                .lines()
                .map_while(Result::ok)
                .filter(|line| {
                    serde_json::from_str::<serde_json::Value>(line)
                        .ok()
                        .and_then(|v| v.get("iteration").and_then(|i| i.as_u64()))
                        .is_some_and(|i| i < resume_from)
                })
                .collect()
        } else {
            Vec::new()
        };
        dmd_io::write_atomic_with(path, |tmp| -> std::io::Result<()> {
            let mut w = BufWriter::new(File::create(tmp)?);
            for line in &kept {
                writeln!(w, "{line}")?;
            }
            w.flush()
        })
        .map_err(|e| TrainError::io(path, e.into_io()))?;
        let f = OpenOptions::new()
            .append(true)
            .open(path)
            .map_err(|e| TrainError::io(path, e))?;
        Ok(MetricLog {
            path: path.to_path_buf(),
            out: BufWriter::new(f),
        })
    }

    /// Writes one record as a line and flushes it.
    pub fn write<T: Serialize>(&mut self, record: &T) -> Result<(), TrainError> {
        serde_json::to_writer(&mut self.out, record)?;
        self.out
            .write_all(b"\n")
            .and_then(|_| self.out.flush())
            .map_err(|e| TrainError::io(&self.path, e))
    }

    /// The log file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resume_truncates_later_lines() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("m.jsonl");
        let mut log = MetricLog::open(&p, 0).unwrap();
        for i in 0..5u64 {
            log.write(&serde_json::json!({"iteration": i})).unwrap();
        }
        drop(log);
        let mut log = MetricLog::open(&p, 3).unwrap();
        log.write(&serde_json::json!({"iteration": 3})).unwrap();
        drop(log);
        let text = std::fs::read_to_string(&p).unwrap();
        assert_eq!(text.lines().count(), 4);
        assert!(text.lines().last().unwrap().contains("\"iteration\":3"));
    }
}
