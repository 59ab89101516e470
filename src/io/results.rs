//! Result files in and out: the load results `synwave merge` reads (files,
//! directories, stdin) and the `--interval` lines a run writes.

use super::Error;
use crate::app::interval::Intervals;
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

/// Where `--interval` writes its lines, and what cuts them.
pub struct IntervalLog {
    intervals: Intervals,
    out: Box<dyn Write + Send>,
}

impl IntervalLog {
    /// A line every `every`, to `file` or else stderr.
    pub fn open(every: std::time::Duration, file: Option<&Path>) -> Result<Self, Error> {
        let out: Box<dyn Write + Send> = match file {
            Some(p) => Box::new(std::io::LineWriter::new(std::fs::File::create(p).map_err(
                |e| Error::os(format!("creating the --interval-file {}", p.display()), e),
            )?)),
            None => Box::new(std::io::stderr()),
        };
        Ok(IntervalLog {
            intervals: Intervals::new(every),
            out,
        })
    }

    /// Writes the interval that ended, if one did by `sum`.
    pub fn tick(&mut self, sum: &Summary) {
        if let Some(line) = self.intervals.tick(sum) {
            let _ = writeln!(self.out, "{line}");
        }
    }

    /// Writes the last interval, up to the final summary.
    pub fn finish(&mut self, sum: &Summary) {
        let line = self.intervals.finish(sum);
        let _ = writeln!(self.out, "{line}");
        let _ = self.out.flush();
    }
}
