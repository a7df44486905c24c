//! `run.json` (docs/formats.md §6): what a run was asked, what it read and what it wrote, so a
//! number can be traced, months later, to the exact inputs that produced it. Keys come in a
//! fixed order (the structs' field order) and nothing in it depends on the clock, so the same
//! run gives the same bytes.

use serde::Serialize;

use super::staging::Staged;
use crate::sources::digest::FileDigest;

/// What the command layer knows about a run: its command line and every input file it read.
#[derive(Debug, Default)]
pub(crate) struct RunRecord {
    /// The arguments as given (argv), secrets masked.
    pub command_line: Vec<String>,
    pub inputs: Vec<Input>,
}

/// One input file with its role (`logs`, `invoices`, `topups`, `rates`, `slugs`, `fees`,
/// `rates_override`, `config`).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub(crate) struct Input {
    pub role: &'static str,
    pub path: String,
    pub size: u64,
    pub sha256: String,
}

impl Input {
    pub(crate) fn new(role: &'static str, d: FileDigest) -> Input {
        Input {
            role,
            path: d.path,
            size: d.size,
            sha256: d.sha256,
        }
    }
}

#[derive(Serialize)]
struct Manifest<'a> {
    tool: &'static str,
    version: &'static str,
    command_line: &'a [String],
    inputs: &'a [Input],
    outputs: Vec<Output>,
}

#[derive(Serialize)]
struct Output {
    path: String,
    size: u64,
    sha256: String,
}

/// The text of run.json: `record`, and `outputs` (each with the path run.json shows for it:
/// the file name inside `--out`, else the path as given), sorted by path.
pub(crate) fn render(record: &RunRecord, outputs: &[(String, &Staged)]) -> Vec<u8> {
    let mut outputs: Vec<Output> = outputs
        .iter()
        .map(|(path, f)| Output {
            path: path.clone(),
            size: f.size,
            sha256: f.sha256.clone(),
        })
        .collect();
    outputs.sort_by(|a, b| a.path.cmp(&b.path));
    let m = Manifest {
        tool: "spendrecon",
        version: env!("CARGO_PKG_VERSION"),
        command_line: &record.command_line,
        inputs: &record.inputs,
        outputs,
    };
    let mut body = serde_json::to_vec_pretty(&m).expect("serialising to memory");
    body.push(b'\n');
    body
}
