//! `firewatch node-exporter`: node_exporter's flags handed to the node exporter crate.

use std::process::ExitCode;

use crate::cli::NodeExporterArgs;

/// Parses node_exporter's flags and serves until the process ends.
pub fn run(args: NodeExporterArgs) -> ExitCode {
    let names = node_exporter::all_collector_names();
    let opts = match node_exporter::Options::parse(args.flags, &names) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("firewatch node-exporter: {e}");
            return ExitCode::from(2);
        }
    };
    if opts.flag("help", false) {
        println!(
            "usage: firewatch node-exporter [--collector.NAME | --no-collector.NAME]... \
             [--collector.disable-defaults] [--path.procfs=/proc] [--path.sysfs=/sys] \
             [--path.rootfs=/] [--path.udev.data=/run/udev/data] [--web.listen-address=:9100] \
             [--web.telemetry-path=/metrics] [--web.max-requests=40]\ncollectors: {}",
            names.join(" ")
        );
        return ExitCode::SUCCESS;
    }
    crate::init_logging(
        &opts.string("log.level", "info"),
        &opts.string("log.format", "logfmt"),
    );
    let runtime = match node_exporter::server::runtime() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("firewatch: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(serve(opts)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e}");
            ExitCode::FAILURE
        }
    }
}

/// Serves the node exporter's router; with `--web.config.file`, through the web crate's server
/// (TLS, basic authentication, headers), as node_exporter uses the exporter toolkit.
async fn serve(opts: node_exporter::Options) -> Result<(), String> {
    let Some(file) = opts.get("web.config.file").filter(|f| !f.is_empty()) else {
        return node_exporter::run(opts).await.map_err(|e| e.to_string());
    };
    let config = web::webconfig::WebConfig::load(std::path::Path::new(file))
        .map_err(|e| format!("invalid --web.config.file: {e}"))?;
    let app = node_exporter::server::router(&opts).map_err(|e| e.to_string())?;
    let addr = opts.string("web.listen-address", ":9100");
    let addr = if addr.starts_with(':') {
        format!("0.0.0.0{addr}")
    } else {
        addr
    };
    let listener = tokio::net::TcpListener::bind(&addr)
        .await
        .map_err(|e| format!("listen {addr}: {e}"))?;
    web::serve::serve(listener, app, Some(config), std::future::pending())
        .await
        .map_err(|e| e.to_string())
}

/// Starts the node exporter with node_exporter's defaults on `address` in a thread of its
/// own, for the all-in-one `firewatch`; a failure (the port taken) is logged, the rest goes on.
pub fn all_in_one(address: &str) {
    let names = node_exporter::all_collector_names();
    let flags = vec![format!("--web.listen-address={address}")];
    let opts = match node_exporter::Options::parse(flags, &names) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("firewatch: node exporter: {e}");
            return;
        }
    };
    let spawned = std::thread::Builder::new()
        .name("node-exporter".into())
        .spawn(move || {
            let runtime = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(rt) => rt,
                Err(e) => {
                    tracing::error!("node exporter: cannot start its runtime: {e}");
                    return;
                }
            };
            if let Err(e) = runtime.block_on(node_exporter::run(opts)) {
                tracing::error!("node exporter: {e}");
            }
        });
    if let Err(e) = spawned {
        eprintln!("firewatch: cannot start the node exporter: {e}");
    }
}
