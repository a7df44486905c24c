//! The schema file's compilation: the key tree, messages with lines, hosts, status texts.
use super::*;

fn parse(text: &str) -> Result<Mapping, SchemaError> {
    Mapping::parse(Path::new("s.toml"), text, "test")
}

const MIN: &str = "[fields]\nts = \"t\"\nmodel = \"m\"\nprovider = \"p\"\nprompt_tokens = \"usage.in\"\ncompletion_tokens = [\"usage.out\", \"out\"]\n";

#[test]
fn compiles_a_key_tree() {
    let m = parse(MIN).unwrap();
    assert_eq!(m.paths.len(), 6);
    let usage = m.nodes[0].find(b"usage").unwrap();
    let child = &m.nodes[usage.child.unwrap() as usize];
    let out = child.find(b"out").unwrap();
    assert_eq!(
        out.leaves,
        vec![Leaf {
            dest: Dest::Field(FieldId::CompletionTokens),
            rank: 0
        }]
    );
    assert_eq!(m.nodes[0].find(b"out").unwrap().leaves[0].rank, 1);
    assert_eq!(
        m.token_fields,
        vec![FieldId::PromptTokens, FieldId::CompletionTokens]
    );
}

#[test]
fn typos_name_the_line_and_key() {
    let e = parse(&format!("{MIN}modle = \"x\"\n")).unwrap_err();
    assert_eq!(e.line, 7, "{e}");
    assert!(e.message.contains("modle"), "{e}");
    let e = parse(&format!("{MIN}[timestamp]\nform = \"epoch_sec\"\n")).unwrap_err();
    assert_eq!(e.line, 8, "{e}");
    assert!(e.message.contains("epoch_sec"), "{e}");
    let e = parse(&MIN.replace("usage.in", "usage..in")).unwrap_err();
    assert_eq!(e.line, 5, "{e}");
    assert!(e.message.contains("bad path"), "{e}");
    let e = parse(&format!("{MIN}[timestamp]\nzone = \"Mars/Olympus\"\n")).unwrap_err();
    assert_eq!(e.line, 8, "{e}");
    let e = parse("[fields]\nts = \"t\"\n").unwrap_err();
    assert!(e.message.contains("model"), "{e}");
}

#[test]
fn hosts_and_status_text() {
    let m = parse(&format!(
        "{MIN}[gateway]\nhosts = {{ \"llm.corp.example\" = \"OminiGate\" }}\n[status]\ntext = {{ Success = 200, failure = 500 }}\n"
    ))
    .unwrap();
    for (v, want) in [
        ("openrouter.ai", Some("openrouter")),
        ("https://openrouter.ai/api/v1", Some("openrouter")),
        ("eu.openrouter.ai:443", Some("openrouter")),
        ("notopenrouter.ai", None),
        ("https://llm.corp.example/v1", Some("ominigate")),
        ("api.ominigate.ai", Some("ominigate")),
        ("api.openai.com", None),
    ] {
        assert_eq!(m.gateway_of_host(v), want, "{v}");
    }
    assert_eq!(m.status_of_text("SUCCESS"), Some(200));
    assert_eq!(m.status_of_text("failure "), Some(500));
    assert_eq!(m.status_of_text("pending"), None);
}

#[test]
fn root_reads_the_wrapper_like_the_record() {
    let m = parse(&format!("[schema]\nroot = \"data\"\n{MIN}")).unwrap();
    assert_eq!(m.nodes[0].find(b"data").unwrap().child, Some(0));
}

#[test]
fn by_names_group_fields_read_into_the_tenant_slot_only_when_chosen() {
    let text = format!("{MIN}tenant = \"team\"\n[by]\napi_key = \"key\"\nproject = [\"meta.project\", \"project\"]\n");
    let m = parse(&text).unwrap();
    assert_eq!(m.groups, ["tenant", "api_key", "project"]);
    let tenant_paths = |m: &Mapping| -> Vec<(String, u8)> {
        m.paths
            .iter()
            .flat_map(|p| {
                p.leaves
                    .iter()
                    .filter(|l| l.dest == Dest::Field(FieldId::Tenant))
                    .map(|l| (p.text.clone(), l.rank))
            })
            .collect()
    };
    // Unchosen [by] paths are not compiled: the reader never looks at them.
    assert_eq!(tenant_paths(&m), [("team".to_string(), 0)]);
    assert!(!m.paths.iter().any(|p| p.text == "key"));
    let by = Mapping::parse_grouped(Path::new("s.toml"), &text, "t", Some("project")).unwrap();
    assert_eq!(
        tenant_paths(&by),
        [("meta.project".to_string(), 0), ("project".to_string(), 1)]
    );
    assert!(!by.paths.iter().any(|p| p.text == "team"));

    // A §1 field or a name that is no identifier is refused with its line.
    let e = parse(&format!("{MIN}[by]\nmodel = \"m2\"\n")).unwrap_err();
    assert_eq!(e.line, 8, "{e}");
    assert!(e.message.contains("map it in [fields]"), "{e}");
    let e = parse(&format!("{MIN}[by]\n\"team.x\" = \"t\"\n")).unwrap_err();
    assert!(e.message.contains("letters, digits and `_`"), "{e}");
    let e = parse(&format!("{MIN}[by]\nteam = \"a..b\"\n")).unwrap_err();
    assert!(e.message.contains("bad path"), "{e}");
}
