//! The layout of `src/`: folders named after the stages of the data flow,
//! arrows pointing one way. Each module may use `crate::error`, its own
//! layer, and the layers before it in [`LAYERS`]; no two modules may use each
//! other, directly or through others. Only `use` paths and `crate::` paths in
//! code count; comments and `#[cfg(test)]` modules do not.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// The layers, lowest first.
const LAYERS: [&str; 7] = [
    "formats",
    "input",
    "iam",
    "render",
    "artifacts",
    "output",
    "cli",
];
/// The files allowed at the top of `src/`.
const TOP_LEVEL_MAX: usize = 5;
/// The longest a source file may be.
const LINES_MAX: usize = 600;

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Every `.rs` file below `src/`, by module path (`input::model`, `cli`, `lib`).
fn modules() -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut dirs = vec![src()];
    while let Some(dir) = dirs.pop() {
        for entry in fs::read_dir(&dir).expect("src is readable") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                dirs.push(path);
                continue;
            }
            let rel = path.strip_prefix(src()).expect("below src");
            let rel = rel.to_string_lossy().trim_end_matches(".rs").to_string();
            let name = rel.trim_end_matches("/mod").replace('/', "::");
            out.insert(name, fs::read_to_string(&path).expect("readable"));
        }
    }
    out
}

/// The code of a module without comments and without its test module.
fn code(text: &str) -> String {
    let text = text.split("#[cfg(test)]").next().unwrap_or_default();
    text.lines()
        .map(|l| l.split("//").next().unwrap_or_default())
        .collect::<Vec<_>>()
        .join("\n")
}

/// The modules `text` names through `crate::` paths, resolved to the longest
/// known module path. `use crate::{a, b}` groups are not used in `src/`, and
/// are refused so that they cannot hide an arrow.
fn uses(text: &str, known: &BTreeSet<String>) -> BTreeSet<String> {
    let code = code(text);
    assert!(!code.contains("crate::{"), "use one path per `use`");
    let mut out = BTreeSet::new();
    for (i, _) in code.match_indices("crate::") {
        let path: String = code[i + "crate::".len()..]
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
            .collect();
        let segments: Vec<&str> = path.split("::").filter(|s| !s.is_empty()).collect();
        if let Some(found) = (1..=segments.len())
            .rev()
            .map(|n| segments[..n].join("::"))
            .find(|m| known.contains(m))
        {
            out.insert(found);
        }
    }
    out
}

fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let modules = modules();
    let known: BTreeSet<String> = modules.keys().cloned().collect();
    modules
        .iter()
        .map(|(name, text)| {
            let mut deps = uses(text, &known);
            deps.remove(name);
            (name.clone(), deps)
        })
        .collect()
}

fn layer(module: &str) -> Option<usize> {
    let top = module.split("::").next().unwrap_or_default();
    LAYERS.iter().position(|l| *l == top)
}

#[test]
fn src_has_few_top_level_files_and_every_layer_folder() {
    let top: Vec<String> = fs::read_dir(src())
        .expect("src")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.is_file())
        .map(|p| p.file_name().expect("name").to_string_lossy().into_owned())
        .collect();
    assert!(top.len() <= TOP_LEVEL_MAX, "{top:?}");
    for name in LAYERS {
        let doc = fs::read_to_string(src().join(name).join("mod.rs")).expect("a mod.rs");
        assert!(
            doc.starts_with("//! "),
            "src/{name}/mod.rs opens with a //! paragraph"
        );
    }
}

#[test]
fn no_source_file_is_too_long() {
    let long: Vec<(String, usize)> = modules()
        .into_iter()
        .map(|(name, text)| (name, text.lines().count()))
        .filter(|(_, n)| *n > LINES_MAX)
        .collect();
    assert!(long.is_empty(), "over {LINES_MAX} lines: {long:?}");
}

#[test]
fn every_module_uses_only_its_own_layer_and_those_below() {
    let graph = graph();
    let mut upward = Vec::new();
    for (module, deps) in &graph {
        let Some(own) = layer(module) else {
            continue;
        };
        for dep in deps {
            if layer(dep).is_some_and(|l| l > own) {
                upward.push(format!("{module} -> {dep}"));
            }
        }
    }
    assert!(upward.is_empty(), "arrows pointing up: {upward:?}");
    for module in graph.keys().filter(|m| layer(m).is_none()) {
        assert!(
            ["lib", "main", "error"].contains(&module.as_str()),
            "{module} is in no layer"
        );
    }
    assert!(graph["error"].is_empty(), "error uses nothing");
}

/// Modules on a cycle: those that reach themselves.
fn cycles(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<String> {
    graph
        .keys()
        .filter(|start| {
            let mut seen = BTreeSet::new();
            let mut todo: Vec<&String> = graph[*start].iter().collect();
            while let Some(m) = todo.pop() {
                if m == *start {
                    return true;
                }
                if seen.insert(m) {
                    todo.extend(graph.get(m).into_iter().flatten());
                }
            }
            false
        })
        .cloned()
        .collect()
}

#[test]
fn no_two_modules_use_each_other() {
    let graph = graph();
    assert_eq!(cycles(&graph), Vec::<String>::new());
}

#[test]
fn the_checks_see_an_upward_arrow_and_a_cycle() {
    let known: BTreeSet<String> = ["input::model", "cli::args", "render::context"]
        .map(String::from)
        .into();
    let text = "// crate::cli::args in a comment\nuse crate::cli::args::ParamArgs;\n\
                fn f() { crate::render::context::Context::new(); }\n\
                #[cfg(test)]\nmod tests { use crate::input::model; }";
    let found = uses(text, &known);
    assert_eq!(
        found,
        ["cli::args", "render::context"].map(String::from).into()
    );
    let mut graph = BTreeMap::new();
    graph.insert("a".to_string(), ["b".to_string()].into());
    graph.insert("b".to_string(), ["c".to_string()].into());
    graph.insert("c".to_string(), ["a".to_string()].into());
    graph.insert("d".to_string(), ["a".to_string()].into());
    assert_eq!(cycles(&graph), ["a", "b", "c"].map(String::from).to_vec());
}
