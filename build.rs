//! Embeds the catalog (`data/hardware`, `data/models`, `data/engines`, `data/prices`, `data/formats.toml`, `data/networks.toml`, `data/scaling.toml`) and
//! the dashboard (`web/`) into the binary, so `cargo run` needs no files beside it. Generates
//! `$OUT_DIR/embedded_catalog.rs` and `$OUT_DIR/embedded_web.rs`, each holding
//! `(relative path, contents)` pairs in sorted order, via `include_str!` so cargo tracks them.

use std::fs;
use std::path::{Path, PathBuf};

const EMBEDDED: &[&str] = &["hardware", "models", "engines", "prices", "formats.toml", "networks.toml", "scaling.toml"];

fn main() {
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let data = root.join("data");
    println!("cargo:rerun-if-changed=data");
    let mut files = Vec::new();
    for entry in EMBEDDED {
        let path = data.join(entry);
        println!("cargo:rerun-if-changed={}", path.display());
        collect(&path, &mut files);
    }
    files.sort();
    let mut out = String::from(
        "/// Catalog files compiled into the binary: (path relative to `data/`, contents).\npub static FILES: &[(&str, &str)] = &[\n",
    );
    for file in &files {
        let relative = file.strip_prefix(&data).expect("collected under data/").to_string_lossy().replace('\\', "/");
        out.push_str(&format!("    ({relative:?}, include_str!({:?})),\n", file.display().to_string()));
    }
    out.push_str("];\n");
    let out_dir = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    fs::write(out_dir.join("embedded_catalog.rs"), out).expect("OUT_DIR is writable");

    // The dashboard: every page file under web/ (a new view module is served without a line of
    // Rust); `api::dashboard` gives each its media type.
    let web = root.join("web");
    println!("cargo:rerun-if-changed=web");
    let mut pages = Vec::new();
    collect_with(&web, &["html", "js", "css"], &mut pages);
    pages.sort();
    let mut out = String::from(
        "/// Dashboard files compiled into the binary: (path relative to `web/`, contents).\npub static FILES: &[(&str, &str)] = &[\n",
    );
    for file in &pages {
        let relative = file.strip_prefix(&web).expect("collected under web/").to_string_lossy().replace('\\', "/");
        out.push_str(&format!("    ({relative:?}, include_str!({:?})),\n", file.display().to_string()));
    }
    out.push_str("];\n");
    fs::write(out_dir.join("embedded_web.rs"), out).expect("OUT_DIR is writable");
}

fn collect(path: &Path, files: &mut Vec<PathBuf>) {
    collect_with(path, &["toml"], files);
}

fn collect_with(path: &Path, extensions: &[&str], files: &mut Vec<PathBuf>) {
    if path.is_file() {
        if path.extension().is_some_and(|e| extensions.iter().any(|x| e == *x)) {
            files.push(path.to_path_buf());
        }
    } else if let Ok(entries) = fs::read_dir(path) {
        for entry in entries.flatten() {
            println!("cargo:rerun-if-changed={}", entry.path().display());
            collect_with(&entry.path(), extensions, files);
        }
    }
}
