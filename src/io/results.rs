//! Result files in and out: the load results `synwave merge` reads (files,
//! directories, stdin) and the `--interval` lines a run writes.

use super::Error;
use crate::app::interval::{hdr_log_header, Interval, Intervals};
use crate::app::report::Summary;
use std::io::{Read as _, Write};
use std::path::{Path, PathBuf};

/// Each input's name and text: a file, every non-hidden file of a
/// directory (in name order), or stdin for `-`.
pub fn read(inputs: &[PathBuf]) -> Result<Vec<(String, String)>, Error> {
    let mut out = Vec::new();
    for input in inputs {
        out.extend(read_one(input)?);
    }
    Ok(out)
}

fn read_one(input: &Path) -> Result<Vec<(String, String)>, Error> {
    if input.as_os_str() == "-" {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|e| Error::os("reading stdin", e))?;
        return Ok(vec![("stdin".into(), text)]);
    }
    let read = |p: &Path| {
        std::fs::read_to_string(p)
            .map(|t| (p.display().to_string(), t))
            .map_err(|e| Error::os(format!("reading {}", p.display()), e))
    };
    if !input.is_dir() {
        return Ok(vec![read(input)?]);
    }
    let mut files: Vec<_> = std::fs::read_dir(input)
        .map_err(|e| Error::os(format!("reading {}", input.display()), e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| !n.to_string_lossy().starts_with('.'))
        })
        .collect();
    files.sort();
    files.iter().map(|p| read(p)).collect()
}

/// Where `--interval` writes its lines (JSON, or CSV with `--csv`) and
/// `--hdr-log` its HdrHistogram interval log, and what cuts them.
pub struct IntervalLog {
    intervals: Intervals,
    out: Box<dyn Write + Send>,
    csv: bool,
    /// The interval log, and whether its header is written yet: it needs
    /// the run's start, which the first totals bring.
    hdr: Option<(Box<dyn Write + Send>, bool)>,
}

/// What `--interval` writes besides its cut: the line file (else stderr),
/// CSV instead of JSON lines, and the HdrHistogram log file, if any.
#[derive(Clone, Debug, Default)]
pub struct IntervalFiles<'a> {
    pub lines: Option<&'a Path>,
    pub csv: bool,
    pub hdr_log: Option<&'a Path>,
}

fn create(p: &Path, flag: &str) -> Result<Box<dyn Write + Send>, Error> {
    let f = std::fs::File::create(p)
        .map_err(|e| Error::os(format!("creating the {flag} {}", p.display()), e))?;
    Ok(Box::new(std::io::LineWriter::new(f)))
}

impl IntervalLog {
    /// A line every `every` to `files`; the CSV header at once.
    pub fn open(every: std::time::Duration, files: IntervalFiles) -> Result<Self, Error> {
        let mut out = match files.lines {
            Some(p) => create(p, "--interval-file")?,
            None => Box::new(std::io::stderr()),
        };
        let hdr = match files.hdr_log {
            Some(p) => Some((create(p, "--hdr-log")?, false)),
            None => None,
        };
        if files.csv {
            let _ = writeln!(out, "{}", Interval::csv_header());
        }
        Ok(IntervalLog {
            intervals: Intervals::new(every),
            out,
            csv: files.csv,
            hdr,
        })
    }

    fn write(&mut self, i: &Interval) {
        let line = if self.csv {
            i.csv_row()
        } else {
            i.json().to_string()
        };
        let _ = writeln!(self.out, "{line}");
        if let Some((w, started)) = self.hdr.as_mut() {
            if !*started {
                let _ = w.write_all(&hdr_log_header(i.unix_start));
                *started = true;
            }
            let _ = w.write_all(&i.hdr_log_lines());
        }
    }

    /// Writes the interval that ended, if one did by `sum`.
    pub fn tick(&mut self, sum: &Summary) {
        if let Some(i) = self.intervals.tick(sum) {
            self.write(&i);
        }
    }

    /// Writes the last interval, up to the final summary.
    pub fn finish(&mut self, sum: &Summary) {
        let i = self.intervals.finish(sum);
        self.write(&i);
        let _ = self.out.flush();
        if let Some((w, _)) = self.hdr.as_mut() {
            let _ = w.flush();
        }
    }
}
