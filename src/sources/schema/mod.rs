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
        Schema::resolve_grouped(spec, None)
    }

    /// As [`Schema::resolve`], reading the `[by]` field `group` into the tenant slot.
    fn resolve_grouped(spec: &str, group: Option<&str>) -> Result<Schema, SchemaError> {
        let spec = spec.trim();
        if spec == "spendrecon" {
            return Ok(Schema::Native);
        }
        if let Some(text) = builtin_text(spec) {
            let m = Mapping::parse_grouped(
                Path::new(&format!("<built-in schema {spec}>")),
                text,
                spec,
                group,
            )?;
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
        Ok(Schema::Mapped(Arc::new(Mapping::parse_grouped(
            path, &text, &stem, group,
        )?)))
    }

    /// The group fields `--by` may name: `tenant` for §1 records; for a mapping, `tenant` where
    /// it is mapped and the names of its `[by]` table.
    pub(crate) fn groups(&self) -> Vec<String> {
        match self {
            Schema::Native => vec!["tenant".into()],
            Schema::Mapped(m) => m.groups.clone(),
        }
    }

    /// The schema that reads the `--by` field into the tenant slot: itself for `tenant`, the
    /// mapping compiled again from `spec` (how it was resolved) for a `[by]` field. A field the
    /// schema does not map is refused with the ones it does, rather than every call shown as
    /// `(none)`.
    pub(crate) fn grouped_by(&self, spec: Option<&str>, by: &str) -> Result<Schema, String> {
        let groups = self.groups();
        if !groups.iter().any(|g| g == by) {
            return Err(format!(
                "--by {by}: the log schema `{}` maps no field `{by}`; supported: --by {} (a schema file names more group fields in its [by] table: docs/schemas.md)",
                self.name(),
                if groups.is_empty() {
                    "nothing (it maps no tenant)".to_string()
                } else {
                    groups.join(", ")
                }
            ));
        }
        match (self, spec) {
            (Schema::Mapped(_), Some(spec)) if by != "tenant" => {
                Schema::resolve_grouped(spec, Some(by)).map_err(|e| e.to_string())
            }
            _ => Ok(self.clone()),
        }
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
            for g in &m.groups {
                Mapping::parse_grouped(Path::new(name), text, name, Some(g))
                    .unwrap_or_else(|e| panic!("built-in schema {name} --by {g}: {e}"));
            }
        }
    }

    #[test]
    fn by_names_a_mapped_group_field_or_is_refused_with_those_it_maps() {
        let native = Schema::Native;
        assert!(native.grouped_by(None, "tenant").is_ok());
        let e = native.grouped_by(None, "api_key").unwrap_err();
        assert!(
            e.contains("`spendrecon` maps no field `api_key`")
                && e.contains("supported: --by tenant"),
            "{e}"
        );
        let litellm = Schema::resolve("litellm").unwrap();
        assert_eq!(
            litellm.groups(),
            [
                "tenant",
                "api_key",
                "end_user",
                "key_alias",
                "organization_id",
                "team_alias",
                "team_id",
                "user"
            ]
        );
        let by_key = litellm.grouped_by(Some("litellm"), "api_key").unwrap();
        let Schema::Mapped(m) = by_key else {
            panic!("a mapping")
        };
        // The tenant slot reads api_key alone: team_id and user are no longer read.
        let tenant: Vec<&str> = m
            .paths
            .iter()
            .filter(|p| {
                p.leaves.iter().any(|l| {
                    l.dest == mapping::Dest::Field(crate::sources::record::FieldId::Tenant)
                })
            })
            .map(|p| p.text.as_str())
            .collect();
        assert_eq!(tenant, ["api_key"]);
        let e = litellm.grouped_by(Some("litellm"), "team").unwrap_err();
        assert!(
            e.contains("supported: --by tenant, api_key, end_user"),
            "{e}"
        );
    }
}
