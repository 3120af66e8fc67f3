//! Logging setup: one `tracing` subscriber for the whole process.
//!
//! The subscriber is built from a [`LogFormat`] and any `MakeWriter` sink, so tests can capture
//! output; [`init`] installs it once and later calls are no-ops (a second global subscriber would
//! be an error, and tests start many apps in one process). The level comes from `RUST_LOG`
//! (default `info`). Colour is the caller's decision ([`use_ansi`]): only the caller knows
//! whether its sink is a terminal.

use std::ffi::OsStr;
use std::sync::OnceLock;

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// One JSON object per line, for log collectors.
    Json,
    /// Human-readable, for terminals.
    Pretty,
}

static INSTALLED: OnceLock<()> = OnceLock::new();

/// Whether pretty logs may carry ANSI colour codes: only on a terminal (in a redirected file or a
/// pipe the codes are noise), and never when `NO_COLOR` is set to anything non-empty
/// (<https://no-color.org>). `no_color` is the variable's value, taken as an argument so the
/// decision is testable without touching the process environment.
pub fn use_ansi(is_terminal: bool, no_color: Option<&OsStr>) -> bool {
    is_terminal && no_color.is_none_or(OsStr::is_empty)
}

/// Installs the global subscriber writing to `sink`, once per process; `ansi` says whether the
/// pretty format may colour its lines (see [`use_ansi`]; JSON lines never carry colour).
pub fn init<W>(format: LogFormat, sink: W, ansi: bool)
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    INSTALLED.get_or_init(|| {
        let filter = filter(std::env::var("RUST_LOG").ok().as_deref());
        let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(sink);
        // `try_init` fails only when another subscriber is already global (a test harness may
        // install one); logging then goes there, which is what that harness wants.
        let _ = match format {
            LogFormat::Json => builder.with_ansi(false).json().flatten_event(true).with_current_span(true).try_init(),
            LogFormat::Pretty => builder.with_ansi(ansi).compact().try_init(),
        };
    });
}

/// The level filter for `rust_log` (default `info`). `actix_web_prom` warns on every request
/// whose route has parameters it did not match (every 405 on `/v1/hardware/{id}`): unsampled,
/// that was 16 MB of a 20 MB log under load. Its warnings are dropped unless `rust_log` names
/// the crate; 4xx answers follow the access-log sampling like every other answer.
pub fn filter(rust_log: Option<&str>) -> EnvFilter {
    let mut filter = rust_log.and_then(|spec| EnvFilter::try_new(spec).ok()).unwrap_or_else(|| EnvFilter::new("info"));
    if !rust_log.is_some_and(|spec| spec.contains("actix_web_prom"))
        && let Ok(quiet) = "actix_web_prom=error".parse()
    {
        filter = filter.add_directive(quiet);
    }
    filter
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colour_only_on_a_terminal_without_no_color() {
        // (stdout is a terminal, NO_COLOR, colour expected)
        let cases: &[(bool, Option<&str>, bool)] = &[
            (true, None, true),
            (false, None, false),
            (true, Some("1"), false),
            (true, Some("anything"), false),
            // no-color.org: an empty NO_COLOR does not disable colour.
            (true, Some(""), true),
            (false, Some("1"), false),
        ];
        for &(terminal, no_color, expected) in cases {
            assert_eq!(
                use_ansi(terminal, no_color.map(OsStr::new)),
                expected,
                "terminal {terminal}, NO_COLOR {no_color:?}"
            );
        }
    }
}
