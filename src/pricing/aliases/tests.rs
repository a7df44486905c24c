use super::*;

/// `None`: the name resolves to nothing with the shipped tables.
type Case = (&'static str, &'static str, Option<&'static str>);

/// Real names with the slug each resolves to on the shipped tables. Where each was seen:
///
/// - **L**: a key of LiteLLM's `model_prices_and_context_window.json` as the `litellm` package
///   1.110.2 ships it (`model_prices_and_context_window_backup.json`), read 2026; the key's
///   `litellm_provider` in brackets.
/// - **L0**: a key of the same file at BerriAI/litellm commit 00035b69
///   (tests/fixtures/litellm/berriai_entries.json holds the entries verbatim).
/// - **OA**: the `model` column of OpenAI's completions usage export
///   (tests/fixtures/grain/openai_usage_by_model.csv, a published export) and costs export
///   `line_item` (tests/fixtures/exports/openai_costs.csv).
/// - **AN**: Anthropic's usage export `model_version` and cost export `model`
///   (tests/fixtures/exports/).
/// - **OR**: OpenRouter permaslugs (`canonical_slug`, the sources in rates/aliases.csv) and
///   public slugs.
const REAL_NAMES: &[Case] = &[
    // L [openai]: dated snapshots and undated names.
    ("openai", "gpt-5", Some("openai/gpt-5")),
    ("openai", "gpt-5-2025-08-07", Some("openai/gpt-5")),
    ("openai", "gpt-5-nano-2025-08-07", Some("openai/gpt-5-nano")),
    ("openai", "gpt-5.1-2025-11-13", Some("openai/gpt-5.1")),
    ("openai", "gpt-5.2-2025-12-11", Some("openai/gpt-5.2")),
    ("openai", "gpt-5.4-2026-03-05", Some("openai/gpt-5.4")),
    (
        "openai",
        "gpt-5.4-mini-2026-03-17",
        Some("openai/gpt-5.4-mini"),
    ),
    ("openai", "o3-2025-04-16", Some("openai/o3")),
    ("openai", "o4-mini-2025-04-16", Some("openai/o4-mini")),
    ("openai", "o4-mini", Some("openai/o4-mini")),
    // Not priced in rates/models.csv: nothing, whatever the rules make of them.
    ("openai", "gpt-5.4-nano-2026-03-17", None),
    ("openai", "o3-mini-2025-01-31", None),
    ("openai", "gpt-4o-2024-08-06", None),
    ("openai", "gpt-5-codex", None),
    // L [azure]: Azure's deployments under OpenAI's names; a regional one is priced apart.
    (
        "azure",
        "azure/gpt-5-mini-2025-08-07",
        Some("openai/gpt-5-mini"),
    ),
    ("azure", "azure/eu/gpt-5", None),
    // L [anthropic]: the API's model ids, dated and undated.
    (
        "anthropic",
        "claude-opus-4-5-20251101",
        Some("anthropic/claude-opus-4.5"),
    ),
    (
        "anthropic",
        "claude-opus-4-5",
        Some("anthropic/claude-opus-4.5"),
    ),
    (
        "anthropic",
        "claude-opus-4-6",
        Some("anthropic/claude-opus-4.6"),
    ),
    (
        "anthropic",
        "claude-opus-4-6-20260205",
        Some("anthropic/claude-opus-4.6"),
    ),
    (
        "anthropic",
        "claude-opus-4-7-20260416",
        Some("anthropic/claude-opus-4.7"),
    ),
    (
        "anthropic",
        "claude-sonnet-4-5-20250929",
        Some("anthropic/claude-sonnet-4.5"),
    ),
    (
        "anthropic",
        "claude-sonnet-4-6",
        Some("anthropic/claude-sonnet-4.6"),
    ),
    (
        "anthropic",
        "claude-haiku-4-5",
        Some("anthropic/claude-haiku-4.5"),
    ),
    ("anthropic", "claude-opus-4-8", None),
    ("anthropic", "claude-sonnet-5", None),
    // L [vertex_ai-anthropic_models]: Vertex pins.
    (
        "vertex_ai",
        "vertex_ai/claude-opus-4-5@20251101",
        Some("anthropic/claude-opus-4.5"),
    ),
    (
        "vertex_ai",
        "vertex_ai/claude-sonnet-4-6@default",
        Some("anthropic/claude-sonnet-4.6"),
    ),
    (
        "vertex_ai",
        "vertex_ai/claude-3-5-haiku@20241022",
        Some("anthropic/claude-3.5-haiku"),
    ),
    // L [bedrock_converse]: Bedrock model ids, with and without a region.
    (
        "bedrock",
        "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
        Some("anthropic/claude-sonnet-4.5"),
    ),
    (
        "bedrock",
        "anthropic.claude-opus-4-6-v1",
        Some("anthropic/claude-opus-4.6"),
    ),
    (
        "bedrock",
        "eu.anthropic.claude-opus-4-20250514-v1:0",
        Some("anthropic/claude-opus-4-20250514"),
    ),
    (
        "bedrock",
        "anthropic.claude-opus-4-1-20250805-v1:0",
        Some("anthropic/claude-opus-4.1"),
    ),
    // L [gemini], [vertex_ai-language-models].
    (
        "gemini",
        "gemini/gemini-2.5-pro",
        Some("google/gemini-2.5-pro"),
    ),
    (
        "gemini",
        "gemini/gemini-3.1-flash-lite-preview",
        Some("google/gemini-3.1-flash-lite-preview"),
    ),
    (
        "vertex_ai",
        "gemini-2.5-flash",
        Some("google/gemini-2.5-flash"),
    ),
    ("gemini", "gemini/gemini-3.5-flash", None),
    // L [deepseek], [meta_llama].
    ("deepseek", "deepseek-chat", Some("deepseek/deepseek-chat")),
    (
        "deepseek",
        "deepseek-v4-pro",
        Some("deepseek/deepseek-v4-pro"),
    ),
    (
        "deepseek",
        "deepseek/deepseek-v4-flash",
        Some("deepseek/deepseek-v4-flash"),
    ),
    ("deepseek", "deepseek-reasoner", None),
    (
        "meta_llama",
        "meta_llama/Llama-3.3-70B-Instruct",
        Some("meta-llama/llama-3.3-70b-instruct"),
    ),
    // L0 [anthropic]: version-first keys of the dated Claude 4 snapshots (priced themselves).
    (
        "anthropic",
        "claude-3-7-sonnet-20250219",
        Some("anthropic/claude-3.7-sonnet"),
    ),
    (
        "anthropic",
        "claude-4-opus-20250514",
        Some("anthropic/claude-opus-4-20250514"),
    ),
    (
        "anthropic",
        "claude-4-sonnet-20250514",
        Some("anthropic/claude-sonnet-4-20250514"),
    ),
    (
        "anthropic",
        "claude-sonnet-4-20250514",
        Some("anthropic/claude-sonnet-4-20250514"),
    ),
    (
        "anthropic",
        "claude-opus-4-20250514",
        Some("anthropic/claude-opus-4-20250514"),
    ),
    // L0 [bedrock]: a Bedrock id without its maker, and one behind `bedrock/`.
    (
        "bedrock",
        "claude-sonnet-4-5-20250929-v1:0",
        Some("anthropic/claude-sonnet-4.5"),
    ),
    (
        "bedrock",
        "bedrock/us.anthropic.claude-3-5-haiku-20241022-v1:0",
        Some("anthropic/claude-3.5-haiku"),
    ),
    // L0 [openrouter]: LiteLLM's names of OpenRouter slugs.
    (
        "openrouter",
        "openrouter/anthropic/claude-3.7-sonnet",
        Some("anthropic/claude-3.7-sonnet"),
    ),
    (
        "openrouter",
        "openrouter/anthropic/claude-sonnet-4.5",
        Some("anthropic/claude-sonnet-4.5"),
    ),
    (
        "openrouter",
        "openrouter/openai/gpt-5",
        Some("openai/gpt-5"),
    ),
    (
        "litellm_proxy",
        "litellm_proxy/openrouter/anthropic/claude-sonnet-4.6",
        Some("anthropic/claude-sonnet-4.6"),
    ),
    // OA: OpenAI's exports (the export's provider is `openai`).
    ("openai", "gpt-5-mini-2025-08-07", Some("openai/gpt-5-mini")),
    ("openai", "gpt-5-nano", Some("openai/gpt-5-nano")),
    // AN: Anthropic's exports.
    (
        "anthropic",
        "claude-haiku-4-5-20251001",
        Some("anthropic/claude-haiku-4.5"),
    ),
    (
        "anthropic",
        "Claude Haiku 4.5",
        Some("anthropic/claude-haiku-4.5"),
    ),
    (
        "anthropic",
        "Claude Opus 4.5",
        Some("anthropic/claude-opus-4.5"),
    ),
    (
        "anthropic",
        "Claude Sonnet 3.7",
        Some("anthropic/claude-3.7-sonnet"),
    ),
    ("openai", "GPT-5", Some("openai/gpt-5")),
    ("openai", "GPT-5 mini", Some("openai/gpt-5-mini")),
    // OR: permaslugs of the activity export, on a gateway's logs too.
    (
        "openrouter",
        "anthropic/claude-4.6-sonnet-20260217",
        Some("anthropic/claude-sonnet-4.6"),
    ),
    (
        "openrouter",
        "anthropic/claude-4.5-opus-20251124",
        Some("anthropic/claude-opus-4.5"),
    ),
    (
        "openrouter",
        "openai/gpt-5-mini-2025-08-07",
        Some("openai/gpt-5-mini"),
    ),
    (
        "openrouter",
        "google/gemini-3.1-pro-preview-20260219",
        Some("google/gemini-3.1-pro-preview"),
    ),
    (
        "openrouter",
        "deepseek/deepseek-v4-flash-20260423",
        Some("deepseek/deepseek-v4-flash"),
    ),
    // OR: public slugs, as logs write them; names without a maker on a gateway.
    ("openrouter", "openai/gpt-5-mini", Some("openai/gpt-5-mini")),
    (
        "ominigate",
        "anthropic/claude-sonnet-4.6",
        Some("anthropic/claude-sonnet-4.6"),
    ),
    (
        "openrouter",
        "claude-sonnet-4-6",
        Some("anthropic/claude-sonnet-4.6"),
    ),
    ("ominigate", "gpt-5", Some("openai/gpt-5")),
    (
        "openrouter",
        "Anthropic/Claude-Sonnet-4.6",
        Some("anthropic/claude-sonnet-4.6"),
    ),
    // Never listed by a gateway (docs/formats.md §6's example): nothing.
    ("openrouter", "google/gemini-3.1-pro", None),
];

#[test]
fn real_names_resolve_to_the_priced_slug() {
    let names = ModelNames::builtin();
    let mut wrong = Vec::new();
    for &(provider, written, want) in REAL_NAMES {
        let got = names.resolve(provider, written);
        if got.slug.as_deref() != want {
            wrong.push(format!(
                "{provider} {written:?}: {:?}, want {want:?}",
                got.slug
            ));
        }
        assert_eq!(got.slug.is_none(), got.how == How::Unresolved, "{written}");
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn how_each_name_resolved() {
    let names = ModelNames::builtin();
    let how = |p: &str, w: &str| names.resolve(p, w).how;
    assert_eq!(how("openrouter", "openai/gpt-5-mini"), How::Slug);
    // A priced snapshot is its own slug, not its undated model's.
    assert_eq!(
        how("openrouter", "anthropic/claude-sonnet-4-20250514"),
        How::Slug
    );
    assert!(matches!(
        how("openai", "gpt-5-mini-2025-08-07"),
        How::Alias { slugs: false, .. }
    ));
    assert_eq!(how("openai", "gpt-5-mini-2099-01-01"), How::Rule);
    assert_eq!(how("openrouter", "OPENAI/GPT-5"), How::Rule);
    assert_eq!(how("openrouter", "acme/unknown"), How::Unresolved);
}

#[test]
fn shipped_table_loads_and_every_alias_names_a_known_slug() {
    let (rates, slugs) = (RateTable::builtin(), SlugMap::builtin());
    let names = ModelNames::builtin_with(&rates, &slugs);
    assert!(names.rows().len() > 60);
    for r in names.rows() {
        assert!(
            rates.knows_model(&r.slug)
                || slugs
                    .rows()
                    .iter()
                    .any(|s| s.from_model == r.slug || s.to_model == r.slug),
            "line {}: {} → {} is neither priced nor in slugs.csv",
            r.line,
            r.alias,
            r.slug
        );
        assert!(!r.source.is_empty(), "line {}: no source", r.line);
        // Each row resolves as written (no row is shadowed by a priced slug or another row).
        assert_eq!(
            names.resolve("", &r.alias).slug.as_deref(),
            Some(r.slug.as_str()),
            "line {}",
            r.line
        );
    }
    // The permaslug rows agree with docs/formats.md §3's prefix rule: the table pins them down.
    for r in names
        .rows()
        .iter()
        .filter(|r| r.note.starts_with("OpenRouter permaslug"))
    {
        assert_eq!(
            rules::permaslug_form(&r.alias).as_deref(),
            Some(r.slug.as_str()),
            "line {}",
            r.line
        );
    }
}

fn table(aliases: &str, models: &[&str], slug_rows: &str) -> Result<ModelNames, RateError> {
    let mut rates =
        String::from("provider,model,effective_from,effective_to,input_per_mtok,output_per_mtok,cache_read_per_mtok,cache_write_per_mtok,long_context_threshold,long_input_per_mtok,long_output_per_mtok\n");
    for m in models {
        rates.push_str(&format!("*,{m},2026-01-01,,1,2,,,,,\n"));
    }
    let rates = RateTable::parse(Path::new("models.csv"), rates.as_bytes()).unwrap();
    let slugs = SlugMap::parse(
        Path::new("slugs.csv"),
        format!("from_provider,from_model,to_provider,to_model,retired_on,note\n{slug_rows}")
            .as_bytes(),
    )
    .unwrap();
    ModelNames::parse(
        Path::new("aliases.csv"),
        format!("alias,slug,source,note\n{aliases}").as_bytes(),
        &rates,
        &slugs,
    )
}

#[test]
fn a_priced_name_wins_over_aliases_and_rules_and_an_alias_needs_a_known_slug() {
    // The dated snapshot is priced: it is its own slug though a row and the rules say otherwise.
    let t = table(
        "gpt-5-mini-2025-08-07,openai/gpt-5-mini,test,\nmy-model,acme/ghost,test,\n",
        &["openai/gpt-5-mini-2025-08-07", "openai/gpt-5-mini"],
        "",
    )
    .unwrap();
    assert_eq!(
        t.resolve("openai", "gpt-5-mini-2025-08-07").slug.as_deref(),
        Some("openai/gpt-5-mini-2025-08-07")
    );
    // An alias whose slug no table knows is passed over.
    assert_eq!(t.resolve("openrouter", "my-model").slug, None);
    // The slug map's names are known; its permaslug rows are aliases.
    let t = table(
        "",
        &[],
        "openrouter,acme/a,ominigate,acme/b,,\nopenrouter-permaslug,acme/a-odd,openrouter,acme/a,,\n",
    )
    .unwrap();
    assert_eq!(t.resolve("x", "acme/b").how, How::Slug);
    assert_eq!(
        t.resolve("openrouter", "acme/a-odd"),
        Resolved {
            slug: Some("acme/a".into()),
            how: How::Alias {
                slugs: true,
                line: 3
            }
        }
    );
}

#[test]
fn export_forms_keep_todays_slugs_for_names_nothing_resolves() {
    let names = ModelNames::builtin();
    let form = |maker: &str, w: &str, dated: bool| names.export_form(maker, w, dated).unwrap();
    // OpenAI's dated name keeps its date; Anthropic's loses it and gets the dotted version.
    let (m, r) = form("openai", "gpt-4o-2024-08-06", false);
    assert_eq!(
        (m.as_str(), r.how),
        ("openai/gpt-4o-2024-08-06", How::Unresolved)
    );
    assert_eq!(
        form("anthropic", "claude-opus-4-8-20270101", true).0,
        "anthropic/claude-opus-4.8"
    );
    assert_eq!(
        form("anthropic", "Claude Opus 4.8", true).0,
        "anthropic/claude-opus-4.8"
    );
    assert_eq!(
        form("openai", "gpt-5-mini-2025-08-07", false).0,
        "openai/gpt-5-mini"
    );
    // A permaslug no table resolves: §3's prefix rule.
    let (m, r) = names
        .permaslug("anthropic/claude-4.8-haiku-20260701")
        .unwrap();
    assert_eq!((m.as_str(), r.slug), ("anthropic/claude-haiku-4.8", None));
    assert_eq!(
        names
            .permaslug("meta-llama/llama-3.3-70b-instruct")
            .unwrap()
            .0,
        "meta-llama/llama-3.3-70b-instruct"
    );
    for bad in ["", "not a slug", "/x", "x/", "a/b/c", "a/-20260101"] {
        assert_eq!(names.permaslug(bad), None, "{bad:?}");
    }
}

#[test]
fn errors_name_file_and_line() {
    let e = table("x,not-a-slug,s,\n", &[], "").unwrap_err();
    assert_eq!(e.line, 2);
    assert!(e.message.contains("not an author/model slug"), "{e}");
    let e = table("GPT 5,openai/gpt-5,s,\ngpt-5,openai/gpt-5,s,\n", &[], "").unwrap_err();
    assert_eq!(e.line, 3);
    assert!(e.message.contains("first on line 2"), "{e}");
    let e = table(",openai/gpt-5,s,\n", &[], "").unwrap_err();
    assert!(e.message.contains("alias is empty"), "{e}");
    let e = ModelNames::parse(
        Path::new("aliases.csv"),
        b"alias,source\n",
        &RateTable::default(),
        &SlugMap::default(),
    )
    .unwrap_err();
    assert!(e.message.contains("`slug`"), "{e}");
}
