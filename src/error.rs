//! Why a command could not run, as the `synwave` command reports it: the
//! flags asked for something impossible (a [`PlanError`], found before
//! anything is attached), or the system refused (an [`io::Error`]). Both
//! display as one line.

use crate::app::merge::MergeError;
use crate::app::plan::PlanError;
use crate::io;
use core::fmt;

/// A command's failure, one line for the user.
#[derive(Debug)]
pub enum Failure {
    Plan(PlanError),
    Io(io::Error),
    /// `synwave merge` refused its results.
    Merge(MergeError),
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Plan(e) => write!(f, "invalid configuration: {e}"),
            Failure::Io(e) => e.fmt(f),
            Failure::Merge(e) => write!(f, "cannot merge: {e}"),
        }
    }
}

impl std::error::Error for Failure {}

impl From<PlanError> for Failure {
    fn from(e: PlanError) -> Self {
        Failure::Plan(e)
    }
}

impl From<MergeError> for Failure {
    fn from(e: MergeError) -> Self {
        Failure::Merge(e)
    }
}

impl From<io::Error> for Failure {
    fn from(e: io::Error) -> Self {
        Failure::Io(e)
    }
}
