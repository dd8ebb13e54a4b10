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
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("firewatch: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(node_exporter::run(opts)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e}");
            ExitCode::FAILURE
        }
    }
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
