//! Log schemas (`--schema NAME|FILE`, docs/schemas.md): a record's shape named apart from its
//! file format. `spendrecon` (the default) is docs/formats.md §1, read by the hand-tuned
//! scanner in `jsonl.rs`; every other schema is a [`Mapping`] from the user's paths onto the
//! same fields, compiled once and read by the key-tree scanner in `rows.rs` or, for OTLP/JSON,
//! by `otlp.rs`.

pub(crate) mod columns;
pub(crate) mod mapping;
pub(crate) mod otlp;
mod otlp_scan;
pub(crate) mod rows;

use std::path::Path;
use std::sync::Arc;

pub(crate) use mapping::{Mapping, Records, SchemaError};

/// The built-in schemas, as schema files (`spendrecon schema show NAME` prints them).
pub(crate) const BUILTIN: [(&str, &str); 5] = [
    ("spendrecon", include_str!("builtin/spendrecon.toml")),
    ("otel", include_str!("builtin/otel.toml")),
    ("litellm", include_str!("builtin/litellm.toml")),
    ("openrouter", include_str!("builtin/openrouter.toml")),
    ("langfuse", include_str!("builtin/langfuse.toml")),
];

/// How log records are read.
#[derive(Debug, Clone, Default)]
pub(crate) enum Schema {
    /// docs/formats.md §1, the built-in scanner.
    #[default]
    Native,
    Mapped(Arc<Mapping>),
}

impl Schema {
    /// A built-in name, else a schema file's path.
    pub(crate) fn resolve(spec: &str) -> Result<Schema, SchemaError> {
        let spec = spec.trim();
        if spec == "spendrecon" {
            return Ok(Schema::Native);
        }
        if let Some(text) = builtin_text(spec) {
            let m = Mapping::parse(Path::new(&format!("<built-in schema {spec}>")), text, spec)?;
            return Ok(Schema::Mapped(Arc::new(m)));
        }
        let path = Path::new(spec);
        let text = std::fs::read_to_string(path).map_err(|e| SchemaError {
            file: spec.to_string(),
            line: 0,
            message: if path.extension().is_none() && !path.exists() {
                format!(
                    "no such schema: not a built-in ({}) nor a file ({e})",
                    BUILTIN.map(|(n, _)| n).join(", ")
                )
            } else {
                format!("cannot read the schema file: {e}")
            },
        })?;
        let stem = path
            .file_stem()
            .map_or("schema".into(), |s| s.to_string_lossy().into_owned());
        Ok(Schema::Mapped(Arc::new(Mapping::parse(
            path, &text, &stem,
        )?)))
    }

    /// The schema's name for messages and run.json.
    pub(crate) fn name(&self) -> &str {
        match self {
            Schema::Native => "spendrecon",
            Schema::Mapped(m) => &m.name,
        }
    }

    /// The mapping of a schema that reads rows through one (not OTLP, not the native scanner).
    pub(crate) fn rows(&self) -> Option<&Arc<Mapping>> {
        match self {
            Schema::Mapped(m) if m.records == Records::Rows => Some(m),
            _ => None,
        }
    }
}

/// A built-in schema's file text.
pub(crate) fn builtin_text(name: &str) -> Option<&'static str> {
    BUILTIN
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name.trim()))
        .map(|(_, t)| *t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_compiles() {
        for (name, text) in BUILTIN {
            let m = Mapping::parse(Path::new(name), text, name)
                .unwrap_or_else(|e| panic!("built-in schema {name}: {e}"));
            assert_eq!(m.name, name);
        }
    }
}
