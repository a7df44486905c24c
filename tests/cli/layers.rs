//! The shape of `src/`, checked: imports point one way (command layer → output → stages →
//! domain), the top-level modules form no cycle, a command file never imports another, `domain`
//! imports nothing of the crate, no global mutable state, no source file over 800 lines.
//!
//! Reads the `crate::` paths of every source file (comments and unit-test modules left out), so
//! a wrong-way import fails here with the file that made it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Lower ranks are imported by higher ones, never the other way. Stages of one rank may import
/// each other as long as no cycle forms.
fn rank(module: &str) -> Option<u8> {
    Some(match module {
        "domain" => 0,
        "pricing" => 1,
        "sources" => 2,
        "aggregate" => 3,
        "fees" | "reconcile" | "forecast" | "insight" | "showback" | "engines" => 4,
        "output" => 5,
        "cli" | "config" | "context" | "cmd" => 6,
        _ => return None,
    })
}

fn sources() -> Vec<(PathBuf, String)> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    walk(&src, &mut files);
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let text = std::fs::read_to_string(&p).unwrap();
            (p.strip_prefix(&src).unwrap().to_path_buf(), text)
        })
        .collect()
}

/// The code without comments and without the unit-test module at its end. (A module's unit
/// tests in a file of their own, `tests.rs`, are left out by the callers.)
fn code(text: &str) -> String {
    let text = match text.find("#[cfg(test)]\nmod tests") {
        Some(i) => &text[..i],
        None => text,
    };
    text.lines()
        .map(|l| match l.find("//") {
            // `//` inside a string literal (a URL) is rare in this crate; a line that starts a
            // comment is what matters.
            Some(i) if !l[..i].contains('"') => &l[..i],
            _ => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn ident(s: &str) -> &str {
    let end = s
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(s.len());
    &s[..end]
}

/// The top-level modules a file's code names through `crate::`.
fn imports(code: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut rest = code;
    while let Some(i) = rest.find("crate::") {
        rest = &rest[i + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            // `crate::{a::X, b}`: the first segment of each item at the top level.
            let mut depth = 0;
            let mut item_start = true;
            for (j, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => item_start = true,
                    c if item_start && !c.is_whitespace() => {
                        out.insert(ident(&group[j..]).to_string());
                        item_start = false;
                    }
                    _ => {}
                }
            }
        } else {
            out.insert(ident(rest).to_string());
        }
    }
    out.remove("");
    out
}

fn top_module(rel: &Path) -> String {
    let first = rel
        .components()
        .next()
        .unwrap()
        .as_os_str()
        .to_string_lossy();
    first.trim_end_matches(".rs").to_string()
}

#[test]
fn imports_point_one_way_and_form_no_cycle() {
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut wrong = Vec::new();
    for (rel, text) in sources() {
        let from = top_module(&rel);
        // Unit tests (a `tests.rs` beside the code) may use any module to set up a case.
        if from == "lib" || from == "main" || rel.ends_with("tests.rs") {
            continue;
        }
        let from_rank = rank(&from).unwrap_or_else(|| {
            panic!(
                "{}: a top-level module this test does not place; give it a rank",
                rel.display()
            )
        });
        for to in imports(&code(&text)) {
            if to == from {
                continue;
            }
            let to_rank = rank(&to)
                .unwrap_or_else(|| panic!("{}: names crate::{to}, unknown", rel.display()));
            if to_rank > from_rank {
                wrong.push(format!(
                    "{} (rank {from_rank}) imports {to} (rank {to_rank})",
                    rel.display()
                ));
            }
            graph.entry(from.clone()).or_default().insert(to);
        }
    }
    assert!(
        wrong.is_empty(),
        "imports against the layers:\n{}",
        wrong.join("\n")
    );
    assert!(
        graph.get("domain").is_none_or(|d| d.is_empty()),
        "domain imports {:?}: it is the bottom layer",
        graph["domain"]
    );
    // No cycle: depth-first search with colours.
    fn visit<'a>(
        n: &'a str,
        graph: &'a BTreeMap<String, BTreeSet<String>>,
        state: &mut BTreeMap<&'a str, u8>,
        path: &mut Vec<&'a str>,
    ) {
        match state.get(n) {
            Some(2) => return,
            Some(1) => panic!("import cycle: {} → {n}", path.join(" → ")),
            _ => {}
        }
        state.insert(n, 1);
        path.push(n);
        for m in graph.get(n).into_iter().flatten() {
            visit(m, graph, state, path);
        }
        path.pop();
        state.insert(n, 2);
    }
    let mut state = BTreeMap::new();
    for n in graph.keys() {
        visit(n, &graph, &mut state, &mut Vec::new());
    }
}

#[test]
fn the_checker_sees_grouped_and_nested_imports() {
    let c = code("use crate::{domain::{Day, Money}, output::Table};\n// crate::cmd in a comment\nlet x = crate::pricing::cost(1);\n#[cfg(test)]\nmod tests { use crate::cli; }");
    let got: Vec<String> = imports(&c).into_iter().collect();
    assert_eq!(got, ["domain", "output", "pricing"]);
}

#[test]
fn commands_never_import_each_other() {
    for (rel, text) in sources() {
        if top_module(&rel) != "cmd" || rel.ends_with("mod.rs") {
            continue;
        }
        let c = code(&text);
        assert!(
            !c.contains("super::") && !c.contains("crate::cmd"),
            "{}: a command file imports the command layer; shared computation belongs in its stage",
            rel.display()
        );
    }
}

#[test]
fn spreadsheet_safe_text_is_a_leaf() {
    let text =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("src/domain/text.rs"))
            .unwrap();
    let c = code(&text);
    assert!(!c.contains("crate::") && !c.contains("super::"));
}

#[test]
fn no_global_mutable_state() {
    for (rel, text) in sources() {
        for (i, line) in code(&text).lines().enumerate() {
            let l = line.trim_start();
            let l = l
                .strip_prefix("pub ")
                .or_else(|| l.strip_prefix("pub(crate) "))
                .unwrap_or(l);
            if let Some(decl) = l.strip_prefix("static ") {
                let mutable = decl.starts_with("mut ")
                    || ["Atomic", "Mutex", "RwLock", "Cell", "OnceLock"]
                        .iter()
                        .any(|t| decl.contains(t));
                assert!(
                    !mutable,
                    "{}:{}: global mutable state: {line}",
                    rel.display(),
                    i + 1
                );
            }
        }
    }
}

#[test]
fn no_source_file_over_800_lines() {
    let long: Vec<String> = sources()
        .into_iter()
        .filter(|(_, t)| t.lines().count() > 800)
        .map(|(p, t)| format!("{}: {} lines", p.display(), t.lines().count()))
        .collect();
    assert!(
        long.is_empty(),
        "split along its seams:\n{}",
        long.join("\n")
    );
}
