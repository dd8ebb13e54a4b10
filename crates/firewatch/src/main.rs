//! The `firewatch` binary: parses flags and wires components together, nothing else.

mod alerting;
mod alertmanager;
mod cli;
mod container_exporter;
mod import;
mod kube_state_exporter;
mod node_exporter;
mod operator;
mod server;
mod tool;
mod web_sources;

use std::process::ExitCode;

use clap::Parser;

use cli::{Cli, Command};

/// mimalloc instead of glibc's malloc: glibc keeps freed memory in its per-thread arenas, which
/// made most of a busy server's resident memory (a 200k-series soak after 20 minutes: 361 MB in
/// use, 2.4 GB taken from the system). mimalloc returns freed pages, once told to do it at once
/// (see [`return_freed_memory_at_once`]). It is built without its transparent-huge-page advice
/// (`no_thp`): 2 MiB pages added about 75 MB to the agent's resident memory.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Sets mimalloc to give freed pages back to the system as soon as they are free. Its defaults
/// (a purge delay of 1 s, ten times that inside arenas, and arenas committed eagerly) kept
/// memory freed after a burst resident: 108 MB against 58 MB for the same 20k-series ingestion,
/// and 100 MiB against 53 MiB at the Alertmanager benchmark's peak, for no CPU gained. It runs
/// from `.init_array`, before Rust's runtime allocates for the first time, because mimalloc
/// reads the arena option when it reserves its first arena. `firewatch node-exporter` (a
/// process of a few MiB) reserves arenas 4 MiB at a time instead of 1 GiB: the bookkeeping of
/// a 1 GiB arena kept 150 KiB resident. glibc hands `.init_array` functions `argc` and `argv`.
extern "C" fn return_freed_memory_at_once(
    argc: std::ffi::c_int,
    argv: *const *const std::ffi::c_char,
) {
    // Positions in mimalloc's `mi_option_e` (v3, the one libmimalloc-sys builds), which
    // libmimalloc-sys does not name.
    const ARENA_EAGER_COMMIT: libmimalloc_sys::mi_option_t = 4;
    const PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;
    const ARENA_RESERVE_KIB: libmimalloc_sys::mi_option_t = 23;
    // SAFETY: glibc passes `.init_array` functions the `argc` strings of `argv`, each
    // NUL-terminated (std reads its arguments the same way); other C libraries pass nothing,
    // hence the `target_env` condition.
    let node_exporter = cfg!(target_env = "gnu")
        && argc > 1
        && unsafe { std::ffi::CStr::from_ptr(*argv.add(1)) }.to_bytes() == b"node-exporter";
    // mimalloc's own `MIMALLOC_PURGE_DELAY`, when set, is left for mimalloc to read (to
    // measure or tune the trade between resident memory and page faults).
    // SAFETY: `getenv` is given a NUL-terminated name and only reads the environment, which
    // nothing changes before `main`.
    let purge_delay_set = !unsafe { getenv(c"MIMALLOC_PURGE_DELAY".as_ptr()) }.is_null();
    // SAFETY: `mi_option_set` is not thread safe; this runs as a constructor, before `main`
    // and before any thread of ours exists, and only stores option values.
    unsafe {
        if !purge_delay_set {
            libmimalloc_sys::mi_option_set(PURGE_DELAY, 0);
        }
        libmimalloc_sys::mi_option_set(ARENA_EAGER_COMMIT, 0);
        if node_exporter {
            libmimalloc_sys::mi_option_set(ARENA_RESERVE_KIB, 4 * 1024);
        }
    }
}

unsafe extern "C" {
    /// The C library's environment lookup (no allocation, unlike `std::env`).
    fn getenv(name: *const std::ffi::c_char) -> *const std::ffi::c_char;
}

#[cfg(target_os = "linux")]
#[used]
#[unsafe(link_section = ".init_array")]
static RETURN_FREED_MEMORY_AT_ONCE: extern "C" fn(std::ffi::c_int, *const *const std::ffi::c_char) =
    return_freed_memory_at_once;

fn main() -> ExitCode {
    // The node exporter parses its own flags: going straight to it spares a small, long-running
    // process clap's tree of every subcommand (code and memory it would keep mapped).
    let mut args = std::env::args();
    if args.nth(1).as_deref() == Some("node-exporter") {
        return node_exporter::run(cli::NodeExporterArgs {
            flags: args.collect(),
        });
    }
    let cli = Cli::parse();
    match cli.command {
        Some(Command::Tool(tool)) => tool::run(tool),
        Some(Command::Server(args)) => serve(*args),
        None => all_in_one(),
        Some(Command::Alertmanager(args)) => alertmanager::run(&args),
        Some(Command::NodeExporter(args)) => node_exporter::run(args),
        Some(Command::ContainerExporter(args)) => container_exporter::run(args),
        Some(Command::KubeStateExporter(args)) => kube_state_exporter::run(args),
    }
}

/// `firewatch` without a subcommand: the server with its defaults, and where to look.
fn all_in_one() -> ExitCode {
    let Cli {
        command: Some(Command::Server(args)),
        ..
    } = Cli::parse_from(["firewatch", "server"])
    else {
        unreachable!("the server subcommand parses without flags")
    };
    let mut args = *args;
    if !std::path::Path::new(&args.config_file).exists() {
        let path = std::path::Path::new(&args.tsdb_path).join("firewatch.yml");
        if !path.exists() {
            let rules = path.with_file_name("firewatch-rules.yml");
            let written = std::fs::create_dir_all(&args.tsdb_path)
                .and_then(|()| {
                    let config = container_exporter::all_in_one_config(
                        include_str!("default-config.yml"),
                        container_exporter::cgroups_readable(),
                    );
                    std::fs::write(&path, config)
                })
                .and_then(|()| std::fs::write(&rules, include_str!("default-rules.yml")));
            if let Err(e) = written {
                eprintln!("firewatch: cannot write {}: {e}", path.display());
                return ExitCode::FAILURE;
            }
        }
        args.config_file = path.display().to_string();
    }
    let am = match alertmanager::all_in_one(std::path::Path::new(&args.tsdb_path)) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("firewatch: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!("Firewatch configuration: {}", args.config_file);
    let port = args
        .listen_address
        .rsplit(':')
        .next()
        .unwrap_or("9090")
        .to_owned();
    println!("Firewatch is starting: open http://localhost:{port}/ (API under /api/v1)");
    println!(
        "Alertmanager: http://localhost:9093/api/v2/alerts, configuration {}",
        am.config_file.display()
    );
    node_exporter::all_in_one(":9100");
    println!("Node exporter: http://localhost:9100/metrics");
    if container_exporter::cgroups_readable() {
        container_exporter::all_in_one(":8080");
        println!("Container exporter: http://localhost:8080/metrics");
    }
    serve_with(args, Some(am))
}

fn serve(args: server::ServerArgs) -> ExitCode {
    serve_with(args, None)
}

/// Runs the server, and with `am` the Alertmanager beside it in the same runtime.
fn serve_with(args: server::ServerArgs, am: Option<::alertmanager::Options>) -> ExitCode {
    init_logging(&args.log_level, &args.log_format);
    tsdb::head::release::set_release_hook(collect_freed_memory);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("firewatch: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    if let Some(opts) = am {
        runtime.spawn(async move {
            if let Err(e) =
                ::alertmanager::run_until(opts, ::alertmanager::Stop::default(), false).await
            {
                tracing::error!("alertmanager: {e}");
            }
        });
    }
    match runtime.block_on(server::run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Gives back to the system the pages of the calling thread's mimalloc heap whose blocks
/// other threads freed: mimalloc returns them only when their owner collects. The head calls
/// it on each appending thread once after a truncation removed series (a deploy that replaced
/// every pod left ~10% of the head's memory resident without it; `tsdb::head::release`).
fn collect_freed_memory() {
    // SAFETY: `mi_collect` only walks the calling thread's own heap and the allocator's
    // shared state under its own synchronization; it may be called from any thread.
    unsafe { libmimalloc_sys::mi_collect(false) };
}

/// Runs a subcommand's server on a new multi-threaded runtime until it ends; its error is
/// logged and printed as `firewatch <what>: <error>`.
pub(crate) fn block_on<E: std::fmt::Display>(
    what: &str,
    fut: impl Future<Output = Result<(), E>>,
) -> ExitCode {
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("firewatch: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(fut) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e}");
            eprintln!("firewatch {what}: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Reads `--web.config.file` when given (TLS, basic authentication, headers for a listener).
///
/// # Errors
/// The file cannot be read or is invalid; the message names the flag and the file.
pub(crate) fn web_config(
    file: Option<&std::path::Path>,
) -> Result<Option<web::webconfig::WebConfig>, String> {
    let Some(file) = file.filter(|f| !f.as_os_str().is_empty()) else {
        return Ok(None);
    };
    web::webconfig::WebConfig::load(file)
        .map(Some)
        .map_err(|e| format!("invalid --web.config.file {}: {e}", file.display()))
}

pub(crate) fn init_logging(level: &str, format: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    if format == "json" {
        builder.json().init();
    } else {
        builder.init();
    }
}
