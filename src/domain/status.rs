//! Statuses a finance user reads: a reconciliation row's one status, and the tool's exit status.

use std::process::ExitCode;

/// In the order that picks a row's one status: the first that applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Status {
    MissingInInvoice,
    MissingInLogs,
    TokenMismatch,
    Unpriced,
    CostMismatch,
    RetiredModel,
    Drift,
    Ok,
}

impl Status {
    pub const ALL: [Status; 8] = [
        Status::Ok,
        Status::Drift,
        Status::TokenMismatch,
        Status::CostMismatch,
        Status::MissingInInvoice,
        Status::MissingInLogs,
        Status::Unpriced,
        Status::RetiredModel,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Drift => "drift",
            Status::TokenMismatch => "token_mismatch",
            Status::CostMismatch => "cost_mismatch",
            Status::MissingInInvoice => "missing_in_invoice",
            Status::MissingInLogs => "missing_in_logs",
            Status::Unpriced => "unpriced",
            Status::RetiredModel => "retired_model",
        }
    }

    /// `ok` and `drift` are reconciled; anything else is flagged.
    pub fn reconciled(self) -> bool {
        matches!(self, Status::Ok | Status::Drift)
    }
}

/// The tool's exit statuses (docs/formats.md §5): 0 reconciled, 1 flagged; 2 (bad input or
/// usage) is an error, not an outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Reconciled,
    Flagged,
}

impl Outcome {
    /// `Flagged` when anything asks for attention.
    pub fn flagged_if(flagged: bool) -> Outcome {
        if flagged {
            Outcome::Flagged
        } else {
            Outcome::Reconciled
        }
    }
}

impl From<Outcome> for ExitCode {
    fn from(o: Outcome) -> ExitCode {
        match o {
            Outcome::Reconciled => ExitCode::SUCCESS,
            Outcome::Flagged => ExitCode::from(1),
        }
    }
}
