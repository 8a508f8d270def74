//! The api crate's layers (see `ARCHITECTURE.md`): each folder of `api/src` is one layer,
//! a module imports only from its own layer or a lower one, and no two modules import each
//! other, directly or round a circle. Read from the source, so a wrong import fails CI
//! before anyone has to find it in review.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Each top-level module of `api/src` and its layer: higher numbers may import lower ones,
/// never the reverse. Two folders on one layer may import each other's modules as long as
/// no circle forms.
const LAYERS: &[(&str, u8)] = &[
    ("db", 0),
    ("auth", 1),
    ("infra", 1),
    ("commands", 2),
    ("sync", 3),
    ("http", 4),
    ("jobs", 4),
    ("console", 5),
    ("cli", 5),
];

/// A module path inside the crate, e.g. `["commands", "cases"]`.
type ModPath = Vec<String>;

fn api_src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../api/src")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// `db/store.rs` is `["db", "store"]`, `db/mod.rs` is `["db"]`, `lib.rs` is `[]`.
fn module_of(root: &Path, file: &Path) -> ModPath {
    let rel = file.strip_prefix(root).unwrap().with_extension("");
    let mut parts: ModPath = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if parts.last().is_some_and(|p| p == "mod" || p == "lib") {
        parts.pop();
    }
    parts
}

/// The code that counts: comments dropped, and everything from the first
/// `#[cfg(test)]` on (unit tests sit at the end of a file and may reach anywhere).
fn code_of(text: &str) -> String {
    let text = text.split("#[cfg(test)]").next().unwrap_or("");
    text.lines()
        .map(|l| match l.find("//") {
            Some(i) => &l[..i],
            None => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// Every path that starts at `prefix` (`crate::` or `super::`), with `use` groups
/// (`crate::{a::b, c::{d, e}}`) expanded, as segment lists after the prefix.
fn paths_after(code: &str, prefix: &str) -> Vec<ModPath> {
    fn parse(
        s: &[char],
        mut i: usize,
        base: &ModPath,
        in_group: bool,
        out: &mut Vec<ModPath>,
    ) -> usize {
        let mut path = base.clone();
        loop {
            let start = i;
            while i < s.len() && is_ident(s[i]) {
                i += 1;
            }
            if i > start {
                path.push(s[start..i].iter().collect());
            }
            if i + 1 < s.len() && s[i] == ':' && s[i + 1] == ':' {
                i += 2;
                if i < s.len() && s[i] == '{' {
                    i += 1;
                    loop {
                        while i < s.len() && (s[i].is_whitespace() || s[i] == ',') {
                            i += 1;
                        }
                        if i >= s.len() || s[i] == '}' {
                            return i + 1;
                        }
                        i = parse(s, i, &path, true, out);
                    }
                }
                continue;
            }
            out.push(path);
            // Skip what follows an item in a group (`as name`) up to its separator.
            while in_group && i < s.len() && !matches!(s[i], ',' | '}') {
                i += 1;
            }
            return i;
        }
    }
    let chars: Vec<char> = code.chars().collect();
    let pat: Vec<char> = prefix.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i + pat.len() <= chars.len() {
        let before_ok = i == 0 || !is_ident(chars[i - 1]) && chars[i - 1] != ':';
        if before_ok && chars[i..i + pat.len()] == pat[..] {
            // Back onto the `::` so that `parse` sees a path continuing from the prefix.
            let at = i + pat.len() - 2;
            let mut found = Vec::new();
            i = parse(&chars, at, &Vec::new(), false, &mut found).max(i + 1);
            out.extend(found);
        } else {
            i += 1;
        }
    }
    out
}

/// The longest prefix of `path` that names a module of the crate.
fn resolve(modules: &BTreeSet<ModPath>, path: &[String]) -> Option<ModPath> {
    (1..=path.len())
        .rev()
        .map(|n| path[..n].to_vec())
        .find(|p| modules.contains(p))
}

fn graph() -> BTreeMap<ModPath, BTreeSet<ModPath>> {
    let root = api_src();
    let mut files = Vec::new();
    rust_files(&root, &mut files);
    // The binary's `main.rs` is a crate of its own that reaches the library by name.
    files.retain(|f| f != &root.join("main.rs"));
    let modules: BTreeSet<ModPath> = files.iter().map(|f| module_of(&root, f)).collect();
    let mut edges = BTreeMap::new();
    for file in &files {
        let module = module_of(&root, file);
        let code = code_of(&std::fs::read_to_string(file).unwrap());
        // In `a/b.rs`, `super` is `a`; in `a/mod.rs` (module `a`) it is the crate root.
        let parent: ModPath = module[..module.len().saturating_sub(1)].to_vec();
        let mut deps = BTreeSet::new();
        let targets = paths_after(&code, "crate::").into_iter().chain(
            paths_after(&code, "super::")
                .into_iter()
                .map(|p| parent.iter().cloned().chain(p).collect()),
        );
        for path in targets {
            if let Some(target) = resolve(&modules, &path) {
                // A module's own items and its children (declared by it) are not imports.
                if !target.starts_with(&module) || module.is_empty() && target.is_empty() {
                    deps.insert(target);
                }
            }
        }
        deps.remove(&module);
        edges.insert(module, deps);
    }
    edges
}

fn layer_of(module: &ModPath) -> Option<u8> {
    let top = module.first()?;
    LAYERS
        .iter()
        .find(|(name, _)| name == top)
        .map(|&(_, rank)| rank)
}

fn show(m: &ModPath) -> String {
    if m.is_empty() {
        "crate".into()
    } else {
        m.join("::")
    }
}

#[test]
fn every_module_of_the_api_crate_lives_in_a_layer_folder() {
    let mut stray = Vec::new();
    for entry in std::fs::read_dir(api_src()).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let in_layer = path.is_dir() && LAYERS.iter().any(|(layer, _)| *layer == name);
        if !in_layer && name != "lib.rs" && name != "main.rs" {
            stray.push(name);
        }
    }
    assert!(
        stray.is_empty(),
        "outside the layer folders {:?} (move them into one, or add a folder to LAYERS \
         and ARCHITECTURE.md): {stray:?}",
        LAYERS.iter().map(|l| l.0).collect::<Vec<_>>()
    );
}

#[test]
fn no_layer_of_the_api_crate_imports_a_higher_one() {
    let mut wrong = Vec::new();
    for (from, deps) in graph() {
        let Some(rank) = layer_of(&from) else {
            continue;
        };
        for to in deps {
            if to.is_empty() || layer_of(&to).is_none_or(|r| r > rank) {
                wrong.push(format!("{} imports {}", show(&from), show(&to)));
            }
        }
    }
    assert!(wrong.is_empty(), "imports that point up: {wrong:#?}");
}

#[test]
fn the_api_crate_has_no_import_circle() {
    let edges = graph();
    // Depth-first search; a back edge closes a circle, printed from where it starts.
    fn visit(
        m: &ModPath,
        edges: &BTreeMap<ModPath, BTreeSet<ModPath>>,
        stack: &mut Vec<ModPath>,
        done: &mut BTreeSet<ModPath>,
        circles: &mut Vec<String>,
    ) {
        if done.contains(m) {
            return;
        }
        if let Some(i) = stack.iter().position(|s| s == m) {
            let mut circle: Vec<String> = stack[i..].iter().map(show).collect();
            circle.push(show(m));
            circles.push(circle.join(" -> "));
            return;
        }
        stack.push(m.clone());
        for d in edges.get(m).into_iter().flatten() {
            visit(d, edges, stack, done, circles);
        }
        stack.pop();
        done.insert(m.clone());
    }
    let mut done = BTreeSet::new();
    let mut circles = Vec::new();
    for m in edges.keys() {
        visit(m, &edges, &mut Vec::new(), &mut done, &mut circles);
    }
    assert!(circles.is_empty(), "import circles: {circles:#?}");
}

#[test]
fn the_layer_checker_sees_grouped_and_relative_imports() {
    let code = "use crate::db::{self, store::{CaseRow, PhotoRow}, DbConn};\n\
                use super::{make_page, page_params};\n\
                let x = crate::commands::cases::report(crate::db::ids::now_ms()); // crate::http::not_this\n";
    let code = code_of(code);
    let paths: Vec<String> = paths_after(&code, "crate::")
        .iter()
        .map(|p| p.join("::"))
        .collect();
    assert_eq!(
        paths,
        [
            "db::self",
            "db::store::CaseRow",
            "db::store::PhotoRow",
            "db::DbConn",
            "commands::cases::report",
            "db::ids::now_ms"
        ]
    );
    let rel: Vec<String> = paths_after(&code, "super::")
        .iter()
        .map(|p| p.join("::"))
        .collect();
    assert_eq!(rel, ["make_page", "page_params"]);
}

/// Every folder the codemap names exists, so the map cannot drift from the tree.
#[test]
fn every_folder_architecture_md_names_exists() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let text = std::fs::read_to_string(root.join("ARCHITECTURE.md")).unwrap();
    let folders: Vec<&str> = text
        .split('`')
        .skip(1)
        .step_by(2)
        .filter(|s| s.ends_with('/') && !s.contains(' '))
        .collect();
    assert!(folders.len() >= 8, "the codemap names folders: {folders:?}");
    let missing: Vec<&&str> = folders.iter().filter(|f| !root.join(f).is_dir()).collect();
    assert!(
        missing.is_empty(),
        "named in ARCHITECTURE.md, missing: {missing:?}"
    );
    for (layer, _) in LAYERS {
        let folder = format!("api/src/{layer}/");
        assert!(
            folders.contains(&folder.as_str()),
            "ARCHITECTURE.md does not describe {folder}"
        );
    }
}
