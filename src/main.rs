//! The `hwcost` binary: everything lives in the library; see `cli`.

fn main() -> std::process::ExitCode {
    hwcost::cli::run()
}
