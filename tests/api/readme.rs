//! The README is tested: every command line in its shell code blocks runs, and the CLI's `--json`
//! is the API's answer.
//!
//! Code blocks tagged `sh`, `bash`, `shell`, `console` (a leading `$ ` is dropped) or untagged are
//! read line by line; `\` continuations are joined, and a quoted argument may span lines (the
//! multi-line `-d '{...}'` bodies). Each command line then runs:
//!
//! - `hwcost ARGS`, `cargo run [--release] -- ARGS`: the real binary with ARGS (split like a shell
//!   splits them), from the repository root; it must exit 0, or the code a trailing `# exit N`
//!   comment gives.
//! - `curl ...`: against the test server (`localhost:8080` and `127.0.0.1:8080` become its
//!   address), with the method, headers and body curl would send; it must answer 2xx, or the
//!   status a trailing comment starting with that status gives (`# 404`, `# 404: did you mean`).
//! - `head -c N FILE | ...` and `cat FILE | ...` feed the next command's standard input (`@-`, or
//!   `-` for the CLI); a FILE the reader is expected to have comes from [`FIXTURES`].
//! - `... | jq FILTER`: jq is not needed; the output must be JSON, and a filter in the small subset
//!   [`jq`] understands (paths, `[]`, `[N]`, `|`, `{...}`, `[...]`) must find every field it names.
//!   When the trailing comment is just a number, it is the filter's expected result.
//!
//! Lines that start the server or run this very test are listed in [`NOT_RUN`], each with its
//! reason. Any other command fails the test, so a new README command cannot go untested.

use std::collections::BTreeSet;
use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app};

const README: &str = include_str!("../../README.md");
const REPO: &str = env!("CARGO_MANIFEST_DIR");
const HWCOST: &str = env!("CARGO_BIN_EXE_hwcost");

/// README commands that are not run, by their exact text (trailing comment left out), and why.
const NOT_RUN: &[(&str, &str)] = &[
    (
        "cargo run --release",
        "starts the server on 127.0.0.1:8080 and never returns; the README's curl lines run against \
         the test server instead",
    ),
    (
        "vllm bench serve --model meta-llama/Llama-3.1-8B-Instruct --dataset-name random --random-input-len 1024 --random-output-len 256 --num-prompts 200 --request-rate 2 --save-result --result-filename rate2.json",
        "runs a benchmark against a vLLM server on a GPU; the files it writes stand in data/examples/benchmarks/",
    ),
    ("cargo test", "the whole test suite, which is what is running this test (CI runs it)"),
];

/// Files a README command expects the reader to have, and the committed fixture standing in.
const FIXTURES: &[(&str, &str)] = &[
    // The header of the real all-MiniLM-L6-v2 checkpoint: what `head -c` of a model.safetensors gives.
    ("model.safetensors", "tests/fixtures/all-minilm-l6-v2.header.safetensors"),
];

// ---------------------------------------------------------------------------------------------
// Reading the README

/// One command line of a README code block (continuations joined).
#[derive(Debug)]
struct Snippet {
    /// 1-based line of README.md where it starts.
    line: usize,
    /// The text as written.
    text: String,
    /// Its words, split into pipeline stages.
    stages: Vec<Vec<String>>,
    /// The trailing comment, without `#`.
    comment: Option<String>,
}

impl Snippet {
    /// The command as the allow-list spells it: stages' words joined by spaces and ` | `.
    fn key(&self) -> String {
        self.stages.iter().map(|s| s.join(" ")).collect::<Vec<_>>().join(" | ")
    }
}

/// Every command line of the runnable code blocks of `markdown`, or the problems found reading them.
fn snippets(markdown: &str) -> Result<Vec<Snippet>, Vec<String>> {
    let mut found = Vec::new();
    let mut problems = Vec::new();
    // None: outside a block; Some(runnable, console).
    let mut block: Option<(bool, bool)> = None;
    let mut pending: Option<(usize, String)> = None;
    for (index, raw) in markdown.lines().enumerate() {
        let number = index + 1;
        if let Some(tag) = raw.trim_start().strip_prefix("```") {
            match block {
                None => {
                    let tag = tag.trim();
                    block = Some((matches!(tag, "" | "sh" | "bash" | "shell" | "console"), tag == "console"));
                }
                Some(_) => {
                    if let Some((start, text)) = pending.take() {
                        problems.push(format!("README.md:{start}: the code block ends inside a command: {text}"));
                    }
                    block = None;
                }
            }
            continue;
        }
        let Some((true, console)) = block else { continue };
        let mut line = raw;
        if console && pending.is_none() {
            line = line.trim_start().strip_prefix("$ ").unwrap_or(line);
        }
        let (start, text) = match pending.take() {
            Some((start, mut text)) => {
                text.push('\n');
                text.push_str(line);
                (start, text)
            }
            None => (number, line.to_owned()),
        };
        match tokenize(&text) {
            Ok((stages, comment)) => {
                if !stages.is_empty() {
                    found.push(Snippet { line: start, text, stages, comment });
                }
            }
            Err(Lex::Incomplete) => pending = Some((start, text)),
            Err(Lex::Unsupported(what)) => {
                problems.push(format!("README.md:{start}: {what} is shell syntax this test cannot run: {text}"))
            }
        }
    }
    if block.is_some() {
        problems.push("README.md: a code block is never closed".into());
    }
    if problems.is_empty() { Ok(found) } else { Err(problems) }
}

/// Why a line could not be split into words.
#[derive(Debug)]
enum Lex {
    /// An open quote or a trailing `\`: the command goes on on the next line.
    Incomplete,
    /// Syntax outside what the test runs (variables, `;`, `&&`, redirections).
    Unsupported(String),
}

/// Splits a command line like a POSIX shell: words (quotes removed, escapes applied), `|`
/// between pipeline stages, and a trailing `#` comment.
fn tokenize(text: &str) -> Result<(Vec<Vec<String>>, Option<String>), Lex> {
    let mut stages: Vec<Vec<String>> = vec![Vec::new()];
    let mut word: Option<String> = None;
    let mut comment = None;
    let mut chars = text.chars().peekable();
    fn end(word: &mut Option<String>, stages: &mut [Vec<String>]) {
        if let Some(w) = word.take() {
            stages.last_mut().expect("a stage").push(w);
        }
    }
    while let Some(c) = chars.next() {
        match c {
            ' ' | '\t' | '\n' => end(&mut word, &mut stages),
            '#' if word.is_none() => {
                let rest: String = chars.by_ref().collect();
                comment = Some(rest.trim().to_owned());
                break;
            }
            '|' => {
                if chars.peek() == Some(&'|') {
                    return Err(Lex::Unsupported("`||`".into()));
                }
                end(&mut word, &mut stages);
                stages.push(Vec::new());
            }
            '\'' => {
                let w = word.get_or_insert_with(String::new);
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => w.push(c),
                        None => return Err(Lex::Incomplete),
                    }
                }
            }
            '"' => {
                let w = word.get_or_insert_with(String::new);
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some('\n') => {}
                            Some(c @ ('"' | '\\' | '$' | '`')) => w.push(c),
                            Some(c) => {
                                w.push('\\');
                                w.push(c);
                            }
                            None => return Err(Lex::Incomplete),
                        },
                        Some(c @ ('$' | '`')) => return Err(Lex::Unsupported(format!("`{c}` in double quotes"))),
                        Some(c) => w.push(c),
                        None => return Err(Lex::Incomplete),
                    }
                }
            }
            '\\' => match chars.next() {
                Some('\n') => {}
                Some(c) => word.get_or_insert_with(String::new).push(c),
                None => return Err(Lex::Incomplete),
            },
            '$' | '`' | ';' | '&' | '<' | '>' | '(' | ')' => return Err(Lex::Unsupported(format!("`{c}`"))),
            c => word.get_or_insert_with(String::new).push(c),
        }
    }
    end(&mut word, &mut stages);
    if stages.len() == 1 && stages[0].is_empty() {
        return Ok((Vec::new(), comment));
    }
    if stages.iter().any(Vec::is_empty) {
        return match stages.last() {
            Some(last) if last.is_empty() && stages[..stages.len() - 1].iter().all(|s| !s.is_empty()) => {
                Err(Lex::Incomplete)
            }
            _ => Err(Lex::Unsupported("an empty pipeline stage".into())),
        };
    }
    Ok((stages, comment))
}

// ---------------------------------------------------------------------------------------------
// What a line asks for

/// How a README command is run.
#[derive(Debug)]
enum Run {
    /// The hwcost binary with these arguments.
    Cli(Vec<String>),
    /// A request to the test server.
    Http(Curl),
}

/// What curl would send.
#[derive(Debug, Default)]
struct Curl {
    method: Option<String>,
    headers: Vec<(String, String)>,
    /// `-d` text, or `@FILE` (`@-`: standard input).
    body: Option<String>,
    /// The body's bytes, once `@FILE` or `@-` is read.
    bytes: Option<Vec<u8>>,
    url: Option<String>,
}

/// A README command, ready to run.
#[derive(Debug)]
struct Plan {
    /// Bytes for standard input, from a `head`/`cat` stage.
    stdin: Option<Vec<u8>>,
    run: Run,
    /// The filter of a `| jq` tail.
    jq: Option<String>,
}

/// Reads a file a README command names: a fixture standing in for it, or the repository's file.
fn local_file(name: &str, fixtures_used: &mut BTreeSet<&'static str>) -> Result<Vec<u8>, String> {
    let path = match FIXTURES.iter().find(|(n, _)| *n == name) {
        Some((n, fixture)) => {
            fixtures_used.insert(n);
            Path::new(REPO).join(fixture)
        }
        None => Path::new(REPO).join(name),
    };
    std::fs::read(&path).map_err(|e| {
        format!(
            "cannot read {} ({e}); a file the reader is expected to have needs an entry in FIXTURES",
            path.display()
        )
    })
}

/// Turns a snippet into what to run; `Err` for a command the test does not know.
fn plan(snippet: &Snippet, fixtures_used: &mut BTreeSet<&'static str>) -> Result<Plan, String> {
    let mut stages: &[Vec<String>] = &snippet.stages;
    let mut stdin = None;
    // A leading `head -c N FILE` or `cat FILE` feeding the next stage.
    if stages.len() > 1 {
        let first: Vec<&str> = stages[0].iter().map(String::as_str).collect();
        match first.as_slice() {
            ["head", "-c", n, file] => {
                let n: usize = n.parse().map_err(|_| format!("`head -c {n}`: not a byte count"))?;
                let mut bytes = local_file(file, fixtures_used)?;
                bytes.truncate(n);
                stdin = Some(bytes);
                stages = &stages[1..];
            }
            ["cat", file] => {
                stdin = Some(local_file(file, fixtures_used)?);
                stages = &stages[1..];
            }
            ["head", ..] | ["cat", ..] => {
                return Err(format!("`{}`: only `head -c N FILE` and `cat FILE` are run", first.join(" ")));
            }
            _ => {}
        }
    }
    let (main, tail) = stages.split_first().expect("a stage");
    let jq = match tail {
        [] => None,
        [jq] if jq.first().map(String::as_str) == Some("jq") => {
            let filter: Vec<&String> = jq[1..].iter().filter(|a| !a.starts_with('-') || a.as_str() == "-").collect();
            match filter.as_slice() {
                [] => Some(".".to_owned()),
                [f] => Some((*f).clone()),
                _ => return Err(format!("`{}`: jq with files or arguments is not run", jq.join(" "))),
            }
        }
        _ => {
            let names: Vec<&str> = tail.iter().map(|s| s[0].as_str()).collect();
            return Err(format!("unknown pipeline stage(s) {names:?}: only a final `| jq FILTER` is understood"));
        }
    };
    let run = match main[0].as_str() {
        "hwcost" => Run::Cli(main[1..].to_vec()),
        "cargo" => match main.iter().position(|a| a == "--") {
            Some(dashes) if main[1] == "run" && main[2..dashes].iter().all(|a| a == "--release" || a == "--locked") => {
                Run::Cli(main[dashes + 1..].to_vec())
            }
            _ => {
                return Err(format!(
                    "`{}` is a cargo command this test does not run: run the binary with `cargo run --release -- ARGS`, or add it to NOT_RUN with the reason",
                    main.join(" ")
                ));
            }
        },
        "curl" => {
            let mut c = curl(&main[1..])?;
            c.bytes = match c.body.as_deref() {
                None => None,
                Some("@-") => Some(stdin.take().ok_or("`@-` without a `head`/`cat` stage before curl")?),
                Some(at) if at.starts_with('@') => Some(local_file(&at['@'.len_utf8()..], fixtures_used)?),
                Some(text) => Some(text.as_bytes().to_vec()),
            };
            Run::Http(c)
        }
        other => {
            return Err(format!(
                "unknown command `{other}`: teach tests/api/readme.rs to run it, or add the line to NOT_RUN with the reason"
            ));
        }
    };
    if let Run::Cli(args) = &run {
        let first = args.first().map(String::as_str).unwrap_or("");
        let serves = first == "serve"
            || first.is_empty()
            || (first.starts_with('-') && !matches!(first, "--help" | "-h" | "--version" | "-V"));
        if serves {
            return Err("this starts the server, which never returns: add the line to NOT_RUN with the reason".into());
        }
    }
    if matches!(run, Run::Http(_)) && stdin.is_some() {
        return Err("a `head`/`cat` stage feeds curl, whose body is not `@-`".into());
    }
    Ok(Plan { stdin, run, jq })
}

/// Parses curl's arguments (the options the README uses; anything else is refused).
fn curl(args: &[String]) -> Result<Curl, String> {
    let mut c = Curl::default();
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().cloned().ok_or_else(|| format!("curl `{name}` without a value"));
        match arg.as_str() {
            "-X" | "--request" => c.method = Some(value(arg)?),
            "-H" | "--header" => {
                let header = value(arg)?;
                let (name, v) = header.split_once(':').ok_or_else(|| format!("curl header `{header}` has no `:`"))?;
                c.headers.push((name.trim().to_owned(), v.trim().to_owned()));
            }
            "-d" | "--data" | "--data-raw" | "--data-binary" => {
                if c.body.replace(value(arg)?).is_some() {
                    return Err("curl with more than one body".into());
                }
            }
            "--json" => {
                if c.body.replace(value(arg)?).is_some() {
                    return Err("curl with more than one body".into());
                }
                c.headers.push(("content-type".into(), "application/json".into()));
                c.headers.push(("accept".into(), "application/json".into()));
            }
            short
                if short.strip_prefix('-').is_some_and(|f| !f.is_empty() && f.chars().all(|f| "sSfL".contains(f))) => {}
            "--silent" | "--show-error" | "--fail" | "--location" => {}
            option if option.starts_with('-') => {
                return Err(format!("curl option `{option}` is not understood by this test"));
            }
            url => {
                if c.url.replace(url.to_owned()).is_some() {
                    return Err("curl with more than one URL".into());
                }
            }
        }
    }
    if c.url.is_none() {
        return Err("curl without a URL".into());
    }
    Ok(c)
}

/// The expectation a trailing comment states: `# exit N` for the CLI; `# NNN` (optionally
/// followed by `:` or text) for an HTTP status.
fn expected_exit(comment: Option<&str>) -> i32 {
    comment
        .and_then(|c| c.strip_prefix("exit "))
        .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

fn expected_status(comment: Option<&str>) -> Option<u16> {
    let c = comment?;
    let digits: String = c.chars().take_while(char::is_ascii_digit).collect();
    let next = c[digits.len()..].chars().next();
    if digits.len() != 3 || !matches!(next, None | Some(':' | ' ' | ',')) {
        return None;
    }
    digits.parse().ok().filter(|s| (100..600).contains(s))
}

/// A comment that is just a number: the jq filter's expected result.
fn expected_value(comment: Option<&str>) -> Option<Value> {
    let v: Value = serde_json::from_str(comment?).ok()?;
    v.is_number().then_some(v)
}

fn excerpt(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let text = text.trim();
    if text.chars().count() > 600 {
        format!("{}...", text.chars().take(600).collect::<String>())
    } else {
        text.to_owned()
    }
}

// ---------------------------------------------------------------------------------------------
// Running

/// Runs the binary with `args` from the repository root; returns the exit code, stdout and stderr.
fn run_cli(args: &[String], stdin: Option<&[u8]>) -> (i32, Vec<u8>, Vec<u8>) {
    let mut child = Command::new(HWCOST)
        .args(args)
        .current_dir(REPO)
        .env_remove("HWCOST_DATA_DIR")
        .stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the hwcost binary starts");
    let writer = stdin.map(|bytes| {
        let mut pipe = child.stdin.take().expect("piped stdin");
        let bytes = bytes.to_vec();
        std::thread::spawn(move || {
            // The command may stop reading early; that is its business.
            let _ = pipe.write_all(&bytes);
        })
    });
    let output = child.wait_with_output().expect("hwcost runs");
    if let Some(writer) = writer {
        writer.join().expect("the stdin writer ends");
    }
    (output.status.code().unwrap_or(-1), output.stdout, output.stderr)
}

/// Runs one planned README command; `Err` says what went wrong.
async fn execute(app: &TestApp, snippet: &Snippet, plan: Plan) -> Result<(), String> {
    let comment = snippet.comment.as_deref();
    let output = match &plan.run {
        Run::Cli(args) => {
            let expected = expected_exit(comment);
            let (code, stdout, stderr) = run_cli(args, plan.stdin.as_deref());
            if code != expected {
                return Err(format!(
                    "exit code {code}, expected {expected}\n    stderr: {}\n    stdout: {}",
                    excerpt(&stderr),
                    excerpt(&stdout)
                ));
            }
            stdout
        }
        Run::Http(c) => {
            let url = c.url.as_deref().expect("a URL");
            let rest = url.strip_prefix("http://").unwrap_or(url);
            let path = ["localhost:8080", "127.0.0.1:8080"]
                .iter()
                .find_map(|host| rest.strip_prefix(host))
                .ok_or_else(|| format!("`{url}` is not the local server (localhost:8080 or 127.0.0.1:8080)"))?;
            let body = c.bytes.clone();
            let method = c.method.clone().unwrap_or_else(|| if body.is_some() { "POST" } else { "GET" }.to_owned());
            let method = reqwest::Method::from_bytes(method.as_bytes()).map_err(|e| format!("method {method}: {e}"))?;
            let mut request = app.client.request(method, format!("{}{path}", app.address));
            let mut content_type = false;
            for (name, value) in &c.headers {
                content_type |= name.eq_ignore_ascii_case("content-type");
                request = request.header(name, value);
            }
            if let Some(body) = body {
                if !content_type {
                    // What curl sends with -d and no content type.
                    request = request.header("content-type", "application/x-www-form-urlencoded");
                }
                request = request.body(body);
            }
            let response = request.send().await.map_err(|e| format!("request failed: {e}"))?;
            let status = response.status().as_u16();
            let bytes = response.bytes().await.map_err(|e| format!("body unreadable: {e}"))?.to_vec();
            match expected_status(comment) {
                Some(expected) if status != expected => {
                    return Err(format!("status {status}, expected {expected}\n    body: {}", excerpt(&bytes)));
                }
                None if !(200..300).contains(&status) => {
                    return Err(format!("status {status}, expected 2xx\n    body: {}", excerpt(&bytes)));
                }
                _ => {}
            }
            bytes
        }
    };
    if let Some(filter) = &plan.jq {
        let value: Value = serde_json::from_slice(&output)
            .map_err(|e| format!("the output piped to jq is not JSON ({e}): {}", excerpt(&output)))?;
        if let Some(expr) = jq::parse(filter) {
            let results = jq::eval(&expr, &value).map_err(|e| format!("jq `{filter}`: {e}"))?;
            if let Some(expected) = expected_value(comment)
                && results != [expected.clone()]
            {
                return Err(format!("jq `{filter}` gives {results:?}, the comment says {expected}"));
            }
        }
    }
    Ok(())
}

#[tokio::test]
async fn every_readme_command_runs() {
    let app = spawn_app().await;
    let snippets =
        snippets(README).unwrap_or_else(|problems| panic!("README.md cannot be read:\n{}", problems.join("\n")));
    let mut failures = Vec::new();
    let mut not_run_used = BTreeSet::new();
    let mut fixtures_used = BTreeSet::new();
    let (mut ran, mut skipped) = (0, 0);
    for snippet in &snippets {
        let key = snippet.key();
        if let Some((k, _reason)) = NOT_RUN.iter().find(|(k, _)| *k == key) {
            not_run_used.insert(*k);
            skipped += 1;
            continue;
        }
        let outcome = match plan(snippet, &mut fixtures_used) {
            Ok(plan) => {
                ran += 1;
                eprintln!("README.md:{}: {}", snippet.line, snippet.key().replace('\n', " "));
                execute(&app, snippet, plan).await
            }
            Err(problem) => Err(problem),
        };
        if let Err(problem) = outcome {
            failures.push(format!(
                "README.md:{}: {}\n    {problem}",
                snippet.line,
                snippet.text.replace('\n', "\n      ")
            ));
        }
    }
    for (k, reason) in NOT_RUN {
        if !not_run_used.contains(k) {
            failures.push(format!("NOT_RUN lists `{k}` ({reason}), which README.md no longer has"));
        }
    }
    for (name, fixture) in FIXTURES {
        if !fixtures_used.contains(name) {
            failures.push(format!("FIXTURES maps {name} to {fixture}, which no README command reads"));
        }
    }
    eprintln!("README.md: {ran} commands run, {skipped} not run (NOT_RUN)");
    assert!(ran >= 10, "only {ran} README commands found: is the block parser still right?");
    assert!(failures.is_empty(), "{} README command(s) failed:\n\n{}", failures.len(), failures.join("\n\n"));
}

// ---------------------------------------------------------------------------------------------
// The reader's own checks

#[test]
fn the_reader_joins_continuations_and_multi_line_bodies() {
    let md = "text\n```sh\n# a comment\ncurl -s localhost:8080/x -d '{\n  \"a\": 1}' \\\n  | jq .a   # 404: no\n\nhwcost check \"a b\" # exit 1\n```\n```json\n{\"not\": \"run\"}\n```\n";
    let found = snippets(md).unwrap();
    assert_eq!(found.len(), 2, "{found:?}");
    assert_eq!(found[0].line, 4);
    assert_eq!(found[0].stages, vec![vec!["curl", "-s", "localhost:8080/x", "-d", "{\n  \"a\": 1}"], vec!["jq", ".a"]]);
    assert_eq!(expected_status(found[0].comment.as_deref()), Some(404));
    assert_eq!(found[1].stages, vec![vec!["hwcost", "check", "a b"]]);
    assert_eq!(expected_exit(found[1].comment.as_deref()), 1);
    assert_eq!(expected_status(Some("8030261248")), None);
    assert_eq!(expected_value(Some("8030261248")), Some(json!(8030261248u64)));
    assert!(matches!(snippets("```sh\necho $HOME\n```\n"), Err(p) if p[0].contains('$')));
    assert!(snippets("```sh\ncurl -d '{\n```\n").is_err(), "an unterminated quote is reported");
}

#[test]
fn unknown_commands_are_refused() {
    let mut used = BTreeSet::new();
    for text in [
        "rm -rf target",
        "cargo build",
        "hwcost serve",
        "cargo run --release -- --addr 0.0.0.0:80",
        "curl -s localhost:8080/x | grep y",
    ] {
        let (stages, comment) = tokenize(text).unwrap();
        let snippet = Snippet { line: 1, text: text.into(), stages, comment };
        assert!(plan(&snippet, &mut used).is_err(), "{text} should be refused");
    }
}

#[test]
fn the_jq_subset_finds_or_misses_fields() {
    let v = json!({"a": {"b": [1, 2]}, "items": [{"id": "x", "n": 1}, {"id": "y", "n": 2}]});
    let run = |f: &str| jq::eval(&jq::parse(f).unwrap_or_else(|| panic!("{f} parses")), &v);
    assert_eq!(run(".a.b[1]").unwrap(), vec![json!(2)]);
    assert_eq!(run(".items[] | {id}").unwrap(), vec![json!({"id": "x"}), json!({"id": "y"})]);
    assert_eq!(run("{a, ids: [.items[] | .id]}").unwrap(), vec![json!({"a": {"b": [1, 2]}, "ids": ["x", "y"]})]);
    assert!(run("{a, latency}").unwrap_err().contains("latency"));
    assert!(jq::parse(".a | select(.b)").is_none(), "outside the subset: not checked");
}

/// The small subset of jq the README's filters use, strict about missing fields (real jq would
/// print `null`, which is how a README drifts from the API unnoticed).
mod jq {
    use serde_json::{Map, Value};

    #[derive(Debug)]
    pub enum Expr {
        /// `.`, `.a.b[]`, `.a[0]`: path steps from the input.
        Path(Vec<Step>),
        Pipe(Box<Expr>, Box<Expr>),
        Object(Vec<(String, Expr)>),
        Array(Box<Expr>),
    }

    #[derive(Debug)]
    pub enum Step {
        Field(String),
        Iterate,
        Index(usize),
    }

    /// The filter, or `None` when it is outside the subset (then only JSON validity is checked).
    pub fn parse(filter: &str) -> Option<Expr> {
        let mut p = Parser { s: filter.as_bytes(), i: 0 };
        let e = p.pipe()?;
        p.ws();
        (p.i == p.s.len()).then_some(e)
    }

    struct Parser<'a> {
        s: &'a [u8],
        i: usize,
    }

    impl Parser<'_> {
        fn ws(&mut self) {
            while self.s.get(self.i).is_some_and(u8::is_ascii_whitespace) {
                self.i += 1;
            }
        }
        fn eat(&mut self, c: u8) -> bool {
            self.ws();
            if self.s.get(self.i) == Some(&c) {
                self.i += 1;
                true
            } else {
                false
            }
        }
        fn ident(&mut self) -> Option<String> {
            let start = self.i;
            while self.s.get(self.i).is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_') {
                self.i += 1;
            }
            (self.i > start && !self.s[start].is_ascii_digit())
                .then(|| String::from_utf8_lossy(&self.s[start..self.i]).into_owned())
        }
        fn pipe(&mut self) -> Option<Expr> {
            let mut e = self.term()?;
            while self.eat(b'|') {
                e = Expr::Pipe(Box::new(e), Box::new(self.term()?));
            }
            Some(e)
        }
        fn term(&mut self) -> Option<Expr> {
            if self.eat(b'{') {
                let mut entries = Vec::new();
                if !self.eat(b'}') {
                    loop {
                        self.ws();
                        let key = self.ident()?;
                        let value =
                            if self.eat(b':') { self.pipe()? } else { Expr::Path(vec![Step::Field(key.clone())]) };
                        entries.push((key, value));
                        if self.eat(b'}') {
                            break;
                        }
                        if !self.eat(b',') {
                            return None;
                        }
                    }
                }
                return Some(Expr::Object(entries));
            }
            if self.eat(b'[') {
                let e = self.pipe()?;
                return self.eat(b']').then(|| Expr::Array(Box::new(e)));
            }
            if !self.eat(b'.') {
                return None;
            }
            let mut steps = Vec::new();
            if let Some(name) = self.ident() {
                steps.push(Step::Field(name));
            }
            loop {
                if self.s.get(self.i) == Some(&b'.') {
                    self.i += 1;
                    steps.push(Step::Field(self.ident()?));
                } else if self.s.get(self.i) == Some(&b'[') {
                    self.i += 1;
                    if self.eat(b']') {
                        steps.push(Step::Iterate);
                    } else {
                        self.ws();
                        let start = self.i;
                        while self.s.get(self.i).is_some_and(u8::is_ascii_digit) {
                            self.i += 1;
                        }
                        let n = std::str::from_utf8(&self.s[start..self.i]).ok()?.parse().ok()?;
                        if !self.eat(b']') {
                            return None;
                        }
                        steps.push(Step::Index(n));
                    }
                } else {
                    break;
                }
            }
            Some(Expr::Path(steps))
        }
    }

    /// The values `expr` yields on `input`; `Err` names a field or element that is not there.
    pub fn eval(expr: &Expr, input: &Value) -> Result<Vec<Value>, String> {
        match expr {
            Expr::Path(steps) => {
                let mut values = vec![input.clone()];
                for step in steps {
                    let mut next = Vec::new();
                    for v in values {
                        match (step, &v) {
                            (Step::Field(name), Value::Object(map)) => {
                                next.push(map.get(name).cloned().ok_or_else(|| {
                                    let keys: Vec<&String> = map.keys().collect();
                                    format!("no field `{name}` (the object has {keys:?})")
                                })?)
                            }
                            (Step::Iterate, Value::Array(items)) => next.extend(items.iter().cloned()),
                            (Step::Iterate, Value::Object(map)) => next.extend(map.values().cloned()),
                            (Step::Index(n), Value::Array(items)) => next.push(
                                items
                                    .get(*n)
                                    .cloned()
                                    .ok_or_else(|| format!("no element [{n}] (length {})", items.len()))?,
                            ),
                            (step, v) => {
                                return Err(format!(
                                    "{step:?} applied to {}",
                                    super::excerpt(v.to_string().as_bytes())
                                ));
                            }
                        }
                    }
                    values = next;
                }
                Ok(values)
            }
            Expr::Pipe(a, b) => {
                let mut out = Vec::new();
                for v in eval(a, input)? {
                    out.extend(eval(b, &v)?);
                }
                Ok(out)
            }
            Expr::Array(e) => Ok(vec![Value::Array(eval(e, input)?)]),
            Expr::Object(entries) => {
                let mut objects = vec![Map::new()];
                for (key, e) in entries {
                    let values = eval(e, input)?;
                    objects = objects
                        .into_iter()
                        .flat_map(|o| {
                            values.iter().map(move |v| {
                                let mut o = o.clone();
                                o.insert(key.clone(), v.clone());
                                o
                            })
                        })
                        .collect();
                }
                Ok(objects.into_iter().map(Value::Object).collect())
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// `hwcost estimate ... --json` is the API's answer

/// Requests answered both by the API and by the CLI (from flags, `--request FILE` and
/// `--request -`). Flags are derived from the body: each field by its name with `-` for `_`,
/// the fields of `parallelism` and `overrides` by their own names, `budget.x` as `--budget-x`.
fn parity_cases() -> Vec<(&'static str, Value)> {
    vec![
        // Every field given, overrides included.
        (
            "inference",
            json!({"model": "llama-3.1-70b", "hardware": "nvidia-h100-sxm-80gb", "devices": 4,
                   "parallelism": {"tensor": 4}, "weights": "fp8", "kv_cache": "fp8", "batch_size": 32,
                   "input_tokens": 2048, "output_tokens": 256, "engine": "tensorrt-llm",
                   "overrides": {"memory_fraction": 0.9, "usd_per_device_hour": 2.5}}),
        ),
        // The README's CLI example: most fields left to their defaults (and listed as assumptions),
        // aliases for ids, a MoE model and `max` batch.
        ("inference", json!({"model": "gpt3", "hardware": "h100", "parallelism": {"tensor": 8}, "batch_size": 16})),
        (
            "inference",
            json!({"model": "mixtral-8x7b", "hardware": "nvidia-a100-sxm4-80gb", "parallelism": {"tensor": 2}, "batch_size": "max", "weights_group_size": 64, "weights": "int4"}),
        ),
        // The README's Llama-2-70B pre-training run.
        (
            "training",
            json!({"model": "llama-2-70b", "hardware": "nvidia-a100-sxm4-80gb", "devices": 2048,
                   "tokens": 2_000_000_000_000u64, "sequence_length": 4096, "global_batch_tokens": 4194304,
                   "sharding": "zero1", "parallelism": {"tensor": 8, "pipeline": 4, "sequence_parallel": true},
                   "activation_checkpointing": "selective", "engine": "megatron", "pue": 1.2,
                   "budget": {"gpu_hours": 100000}}),
        ),
    ]
}

/// The CLI flags that say the same as `body`.
fn flags_of(body: &Value) -> Vec<String> {
    fn push(flags: &mut Vec<String>, name: &str, value: &Value) {
        flags.push(format!("--{}", name.replace('_', "-")));
        flags.push(match value {
            Value::String(s) => s.clone(),
            Value::Number(_) | Value::Bool(_) => value.to_string(),
            other => panic!("no flag form for {name} = {other}"),
        });
    }
    let mut flags = Vec::new();
    for (name, value) in body.as_object().expect("a request object") {
        match name.as_str() {
            "parallelism" | "overrides" => {
                for (inner, v) in value.as_object().expect("an object") {
                    push(&mut flags, inner, v);
                }
            }
            "budget" => {
                for (inner, v) in value.as_object().expect("an object") {
                    push(&mut flags, &format!("budget_{inner}"), v);
                }
            }
            _ => push(&mut flags, name, value),
        }
    }
    flags
}

/// The first JSON pointer where `a` and `b` differ, with both values there.
fn first_difference(a: &Value, b: &Value, at: &str) -> Option<String> {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for key in x.keys().chain(y.keys()) {
                let here = format!("{at}/{key}");
                match (x.get(key), y.get(key)) {
                    (Some(p), Some(q)) => {
                        if let Some(d) = first_difference(p, q, &here) {
                            return Some(d);
                        }
                    }
                    (p, q) => return Some(format!("{here}: {p:?} vs {q:?}")),
                }
            }
            None
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            x.iter().zip(y).enumerate().find_map(|(i, (p, q))| first_difference(p, q, &format!("{at}/{i}")))
        }
        _ => (a != b).then(|| format!("{}: {a} vs {b}", if at.is_empty() { "/" } else { at })),
    }
}

#[tokio::test]
async fn the_cli_json_is_the_api_answer() {
    let app = spawn_app().await;
    let mut failures = Vec::new();
    for (n, (kind, body)) in parity_cases().into_iter().enumerate() {
        let (status, api) = app.post_json(&format!("/v1/estimate/{kind}"), &body).await;
        assert_eq!(status, 200, "{kind} {body}: {api}");
        assert!(api["assumptions"].is_array(), "{kind} answers carry assumptions: {api}");

        let file = std::env::temp_dir().join(format!("hwcost-readme-parity-{}-{n}.json", std::process::id()));
        std::fs::write(&file, serde_json::to_vec_pretty(&body).unwrap()).unwrap();
        let stdin = serde_json::to_vec(&body).unwrap();
        let estimate = ["estimate".to_owned(), kind.to_owned(), "--json".to_owned()];
        let ways = [
            ("flags", flags_of(&body), None),
            ("--request FILE", vec!["--request".into(), file.display().to_string()], None),
            ("--request -", vec!["--request".into(), "-".into()], Some(stdin.as_slice())),
        ];
        for (way, args, input) in ways {
            let args: Vec<String> = estimate.iter().cloned().chain(args).collect();
            let (code, stdout, stderr) = run_cli(&args, input);
            let cli: Value = match (code, serde_json::from_slice(&stdout)) {
                (0, Ok(v)) => v,
                (code, parsed) => {
                    failures.push(format!(
                        "{kind} via {way} (hwcost {}): exit {code}, JSON {:?}\n    stderr: {}",
                        args.join(" "),
                        parsed.err().map(|e| e.to_string()),
                        excerpt(&stderr)
                    ));
                    continue;
                }
            };
            if let Some(difference) = first_difference(&cli, &api, "") {
                failures.push(format!(
                    "{kind} {body} via {way} (hwcost {}): the CLI's --json differs from the API's answer at {difference} (CLI vs API)",
                    args.join(" ")
                ));
            }
        }
        let _ = std::fs::remove_file(&file);
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
