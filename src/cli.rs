//! The command line: `hwcost serve` (the default) and `hwcost openapi`.
//!
//! Flags mirror environment variables (`HWCOST_ADDR`, ...), so the same settings work in a
//! shell and in a container. This module parses arguments and wires adapters together; it holds
//! no domain logic.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Args, Parser, Subcommand};

use crate::catalog::Catalog;
use crate::startup::{Application, Settings};
use crate::telemetry::{self, LogFormat};

/// hwcost: what a model needs from hardware (memory, FLOPs, time, latency, cost).
#[derive(Debug, Parser)]
#[command(name = "hwcost", version, about, args_conflicts_with_subcommands = true)]
pub struct Cli {
    /// What to do; `serve` when omitted.
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Server settings, when no subcommand is given.
    #[command(flatten)]
    pub serve: ServeArgs,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP service.
    Serve(ServeArgs),
    /// Print the OpenAPI document (the same as `openapi/openapi.json`).
    Openapi,
}

/// Settings of `hwcost serve`.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "HWCOST_ADDR", default_value = "127.0.0.1:8080")]
    pub addr: String,
    /// Load the catalog from this directory (with hardware/, models/, formats.toml) instead of
    /// the copy embedded in the binary.
    #[arg(long, env = "HWCOST_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Log line format.
    #[arg(long, env = "HWCOST_LOG_FORMAT", value_enum, default_value_t = LogFormat::Pretty)]
    pub log_format: LogFormat,
    /// An origin allowed by CORS (repeatable; `*` allows any). None by default.
    #[arg(long = "cors-origin", env = "HWCOST_CORS_ORIGINS", value_delimiter = ',')]
    pub cors_origins: Vec<String>,
    /// Largest accepted request body, bytes.
    #[arg(long, env = "HWCOST_BODY_LIMIT_BYTES", default_value_t = 256 * 1024)]
    pub body_limit_bytes: usize,
    /// Largest accepted body for `POST /v1/models/import`, bytes.
    #[arg(long, env = "HWCOST_IMPORT_LIMIT_BYTES", default_value_t = 64 * 1024 * 1024)]
    pub import_limit_bytes: usize,
    /// Worker threads (default: one per physical core).
    #[arg(long, env = "HWCOST_WORKERS")]
    pub workers: Option<usize>,
}

/// Parses the command line and runs it.
pub fn run() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Some(Command::Openapi) => {
            print!("{}", crate::api::openapi_json());
            ExitCode::SUCCESS
        }
        Some(Command::Serve(args)) => serve(args),
        None => serve(cli.serve),
    }
}

fn load_catalog(data_dir: Option<&PathBuf>) -> Result<Catalog, crate::catalog::CatalogError> {
    match data_dir {
        Some(dir) => Catalog::from_dir(dir),
        None => Catalog::embedded(),
    }
}

fn serve(args: ServeArgs) -> ExitCode {
    telemetry::init(args.log_format, std::io::stdout);
    let catalog = match load_catalog(args.data_dir.as_ref()) {
        Ok(catalog) => Arc::new(catalog),
        Err(error) => {
            tracing::error!(%error, "catalog failed to load");
            eprintln!("hwcost: catalog failed to load: {error}");
            return ExitCode::from(2);
        }
    };
    let host = crate::host::describe();
    tracing::info!(counts = ?catalog.counts(), cpu = %host.cpu_brand, cores = host.physical_cores, memory_gib = host.total_memory_gib, "catalog loaded");
    let settings = Settings {
        addr: args.addr.clone(),
        catalog,
        cors_origins: args.cors_origins,
        body_limit_bytes: args.body_limit_bytes,
        import_limit_bytes: args.import_limit_bytes,
        workers: args.workers,
    };
    let result = actix_web::rt::System::new().block_on(async move {
        let app = Application::build(settings)?;
        tracing::info!(addr = %args.addr, port = app.port(), "listening");
        app.run_until_stopped().await
    });
    match result {
        Ok(()) => {
            tracing::info!("stopped");
            ExitCode::SUCCESS
        }
        Err(error) => {
            tracing::error!(%error, "server failed");
            eprintln!("hwcost: {error}");
            ExitCode::FAILURE
        }
    }
}
