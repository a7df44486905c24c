//! Parquet logs, decoded by polars in slices of row groups (so memory stays bounded however large
//! the file) and handed to the same workers and the same field rules as the text formats.
//!
//! Columns are found by name like CSV headers; string, integer, float and boolean columns are
//! read. A rejected Parquet row is reported by its 1-based row number in the `line` column.

use std::borrow::Cow;
use std::fs::File;
use std::sync::atomic::{AtomicBool, Ordering};

use crossbeam_channel::Sender;
use polars::prelude::*;

use std::sync::Arc;

use super::record::{FieldId, FieldSet, Fields, RowError, Scalar};
use super::schema::columns::{self, ColumnUse};
use super::schema::rows::Found;
use super::schema::{Mapping, Schema};
use super::{LogFile, Work};
use crate::domain::Call;

/// Rows decoded per slice (at least; slices are whole row groups): large enough to keep polars'
/// decoders busy, small enough that a slice of a wide file stays within tens of MiB.
const SLICE_ROWS: usize = 1 << 16;

/// Sends the file as frames of up to [`SLICE_ROWS`] rows holding only the contract's columns.
pub(super) fn pump(
    file: usize,
    f: &LogFile,
    needed: FieldSet,
    log_schema: &Schema,
    tx: &Sender<Work>,
    stop: &AtomicBool,
) -> Result<(), String> {
    if f.gzip {
        return Err(
            "gzip-compressed Parquet is not supported (Parquet compresses its own pages)".into(),
        );
    }
    let open = || File::open(&f.path).map_err(|e| e.to_string());
    let mut reader = ParquetReader::new(open()?);
    let schema = reader
        .schema()
        .map_err(|e| format!("not a readable Parquet file: {e}"))?;
    let metadata = reader
        .get_metadata()
        .map_err(|e| format!("not a readable Parquet file: {e}"))?
        .clone();
    let names: Vec<&str> = schema.iter_names().map(|n| n.as_str()).collect();
    let columns: Vec<String> = match log_schema.rows() {
        Some(m) => {
            let uses = columns::columns(m, &names)?;
            names
                .iter()
                .zip(&uses)
                .filter(|(_, u)| !matches!(u, ColumnUse::Skip))
                .map(|(n, _)| n.to_string())
                .collect()
        }
        None => names
            .iter()
            .filter(|n| FieldId::from_name(n).is_some_and(|id| needed.contains(id)))
            .map(|n| n.to_string())
            .collect(),
    };
    let total = metadata.num_rows;
    // Slices end on row-group boundaries: a slice that cuts a row group makes polars decode that
    // group twice, once for each slice it touches.
    let mut ends = Vec::new();
    let (mut at, mut since) = (0usize, 0usize);
    for g in &metadata.row_groups {
        // A huge row group is still read in pieces, so memory stays bounded.
        let mut left = g.num_rows();
        while left > 4 * SLICE_ROWS {
            at += SLICE_ROWS;
            left -= SLICE_ROWS;
            ends.push(at);
            since = 0;
        }
        at += left;
        since += left;
        if since >= SLICE_ROWS {
            ends.push(at);
            since = 0;
        }
    }
    if ends.last() != Some(&total) {
        ends.push(total);
    }
    let mut offset = 0;
    for end in ends {
        if stop.load(Ordering::Relaxed) || offset >= total {
            break;
        }
        let len = end.saturating_sub(offset).max(1);
        let mut r = ParquetReader::new(open()?)
            .with_columns(Some(columns.clone()))
            .with_slice(Some((offset, len)));
        r.set_metadata(metadata.clone());
        let frame = r
            .finish()
            .map_err(|e| format!("rows {}..: unreadable Parquet data: {e}", offset + 1))?;
        let n = frame.height();
        let _ = tx.send(Work::Frame {
            file,
            first_row: offset as u64,
            frame,
        });
        if n == 0 {
            break;
        }
        offset += n;
    }

    Ok(())
}

enum Col {
    Str(StringChunked),
    Int(Int64Chunked),
    UInt(UInt64Chunked),
    Float(Float64Chunked),
    Bool(BooleanChunked),
}

/// The frame's contract columns, typed once per frame.
pub(crate) struct FrameColumns {
    cols: Vec<(FieldId, Col)>,
    primary: Vec<bool>,
    height: usize,
    /// With a schema: its mapping, and what each of `mapped_cols` feeds.
    mapping: Option<Arc<Mapping>>,
    mapped_cols: Vec<(ColumnUse, Col)>,
    needed: FieldSet,
}

impl FrameColumns {
    pub(crate) fn new(
        frame: &DataFrame,
        needed: FieldSet,
        mapping: Option<&Arc<Mapping>>,
    ) -> Result<FrameColumns, String> {
        let mut cols = Vec::new();
        let mut primary = Vec::new();
        let mut mapped_cols = Vec::new();
        let uses = match mapping {
            Some(m) => {
                let names: Vec<&str> = frame.columns().iter().map(|c| c.name().as_str()).collect();
                Some(columns::columns(m, &names)?)
            }
            None => None,
        };
        for (k, c) in frame.columns().iter().enumerate() {
            let target = match &uses {
                Some(u) if matches!(u[k], ColumnUse::Skip) => continue,
                Some(_) => None,
                None => match FieldId::from_name(c.name()).filter(|&id| needed.contains(id)) {
                    Some(id) => Some(id),
                    None => continue,
                },
            };
            let s = c.as_materialized_series();
            let err = |e: PolarsError| format!("column `{}`: {e}", c.name());
            let col = match s.dtype() {
                DataType::String => Col::Str(s.str().map_err(err)?.clone()),
                DataType::Boolean => Col::Bool(s.bool().map_err(err)?.clone()),
                DataType::Float32 | DataType::Float64 => Col::Float(
                    s.cast(&DataType::Float64)
                        .map_err(err)?
                        .f64()
                        .map_err(err)?
                        .clone(),
                ),
                DataType::UInt64 => Col::UInt(s.u64().map_err(err)?.clone()),
                DataType::Int8
                | DataType::Int16
                | DataType::Int32
                | DataType::Int64
                | DataType::UInt8
                | DataType::UInt16
                | DataType::UInt32 => Col::Int(
                    s.cast(&DataType::Int64)
                        .map_err(err)?
                        .i64()
                        .map_err(err)?
                        .clone(),
                ),
                DataType::Null => continue,
                other => {
                    return Err(format!(
                        "column `{}` has type {other}; expected string, integer, float or boolean",
                        c.name()
                    ))
                }
            };
            match (target, &uses) {
                (Some(id), _) => {
                    primary.push(c.name().trim().eq_ignore_ascii_case(id.name()));
                    cols.push((id, col));
                }
                (None, Some(u)) => mapped_cols.push((u[k].clone(), col)),
                (None, None) => {}
            }
        }
        Ok(FrameColumns {
            cols,
            primary,
            height: frame.height(),
            mapping: mapping.cloned(),
            mapped_cols,
            needed,
        })
    }

    /// Calls `f` with each row read into a call (`None`: a schema's record that is not a
    /// call); the cells borrow from the frame.
    pub(crate) fn for_each_row<'s>(
        &'s self,
        mut f: impl FnMut(usize, Result<Option<Call<'s>>, RowError>),
    ) {
        if let Some(m) = &self.mapping {
            let mut iters: Vec<(&ColumnUse, Cells<'_>)> = self
                .mapped_cols
                .iter()
                .map(|(u, col)| (u, cells(col)))
                .collect();
            for row in 0..self.height {
                let mut found = Found::default();
                for (u, it) in iters.iter_mut() {
                    match (it.next().flatten(), u) {
                        (None, _) | (_, ColumnUse::Skip) => {}
                        (Some(Scalar::S(Cow::Borrowed(t))), u) => {
                            columns::put_cell(m, u, t, &mut found)
                        }
                        (Some(v), ColumnUse::Value(l) | ColumnUse::Json(_, l)) => found.put(l, v),
                    }
                }
                let r = found
                    .finish(m, self.needed)
                    .and_then(|fields| fields.map(|x| x.into_call()).transpose());
                f(row, r);
            }
            return;
        }
        let mut iters: Vec<(FieldId, Cells<'_>)> = self
            .cols
            .iter()
            .map(|(id, col)| (*id, cells(col)))
            .collect();
        let mut fields = Fields::default();
        for row in 0..self.height {
            for &(id, _) in &self.cols {
                *fields.slot(id) = None;
            }
            // As in CSV: the contract's own column name wins over an alias or dotted twin.
            for ((id, it), &primary) in iters.iter_mut().zip(&self.primary) {
                if let Some(v) = it.next().flatten() {
                    let slot = fields.slot(*id);
                    if primary || slot.is_none() {
                        *slot = Some(v);
                    }
                }
            }
            f(row, fields.take_call().map(Some));
        }
    }
}

type Cells<'a> = Box<dyn Iterator<Item = Option<Scalar<'a>>> + 'a>;

fn cells(col: &Col) -> Cells<'_> {
    match col {
        Col::Str(ca) => Box::new(ca.iter().map(|v| v.map(|s| Scalar::S(s.into())))),
        Col::Int(ca) => Box::new(ca.iter().map(|v| v.map(Scalar::I))),
        Col::UInt(ca) => Box::new(ca.iter().map(|v| v.map(Scalar::U))),
        Col::Float(ca) => Box::new(ca.iter().map(|v| v.map(Scalar::F))),
        Col::Bool(ca) => Box::new(ca.iter().map(|v| v.map(Scalar::B))),
    }
}
