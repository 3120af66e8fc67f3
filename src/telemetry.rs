//! Logging setup: one `tracing` subscriber for the whole process.
//!
//! The subscriber is built from a [`LogFormat`] and any `MakeWriter` sink, so tests can capture
//! output; [`init`] installs it once and later calls are no-ops (a second global subscriber would
//! be an error, and tests start many apps in one process). The level comes from `RUST_LOG`
//! (default `info`).

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

/// Installs the global subscriber writing to `sink`, once per process.
pub fn init<W>(format: LogFormat, sink: W)
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    INSTALLED.get_or_init(|| {
        let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
        let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(sink);
        // `try_init` fails only when another subscriber is already global (a test harness may
        // install one); logging then goes there, which is what that harness wants.
        let _ = match format {
            LogFormat::Json => builder.json().flatten_event(true).with_current_span(true).try_init(),
            LogFormat::Pretty => builder.compact().try_init(),
        };
    });
}
