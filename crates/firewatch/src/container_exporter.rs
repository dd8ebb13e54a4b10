//! `firewatch container-exporter`: the flags handed to the container exporter crate.

use std::path::PathBuf;
use std::process::ExitCode;

/// `firewatch container-exporter ...`
#[derive(Debug, clap::Args)]
pub struct ContainerExporterArgs {
    /// Address to serve `/metrics` on.
    #[arg(long = "web.listen-address", default_value = ":8080")]
    pub listen_address: String,
    /// Where the cgroup hierarchy is mounted (v2, or the v1 controller directories).
    #[arg(long = "path.cgroup", default_value = "/sys/fs/cgroup")]
    pub cgroup: PathBuf,
    /// The proc filesystem (network counters of a container's process).
    #[arg(long = "path.procfs", default_value = "/proc")]
    pub procfs: PathBuf,
    /// The root under which containerd, CRI-O and Docker keep their container files.
    #[arg(long = "path.rootfs", default_value = "/")]
    pub rootfs: PathBuf,
    /// Path to a web configuration file (TLS, client certificates, basic authentication,
    /// headers), as the exporter toolkit reads it.
    #[arg(long = "web.config.file")]
    pub web_config_file: Option<PathBuf>,
    /// Log level (debug, info, warn, error).
    #[arg(long = "log.level", default_value = "info")]
    pub log_level: String,
    /// Log format (logfmt, json).
    #[arg(long = "log.format", default_value = "logfmt")]
    pub log_format: String,
}

/// Serves the container exporter until the process ends.
pub fn run(args: ContainerExporterArgs) -> ExitCode {
    crate::init_logging(&args.log_level, &args.log_format);
    let web_config = match crate::web_config(args.web_config_file.as_deref()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("firewatch container-exporter: {e}");
            return ExitCode::from(2);
        }
    };
    let opts = container_exporter::Options {
        listen_address: args.listen_address,
        cgroup: args.cgroup,
        procfs: args.procfs,
        rootfs: args.rootfs,
        web_config,
    };
    crate::block_on("container-exporter", container_exporter::run(opts))
}

/// The scrape job the all-in-one configuration gets when the container exporter runs.
const ALL_IN_ONE_JOB: &str = "
  # The all-in-one container exporter (cAdvisor's metric names) on :8080.
  - job_name: cadvisor
    static_configs:
      - targets: [\"localhost:8080\"]
";

/// Whether this machine has a cgroup hierarchy the container exporter can read.
pub fn cgroups_readable() -> bool {
    container_exporter::Options::default().sources().is_ok()
}

/// The all-in-one configuration: `base` plus the container exporter's job when `with_job`.
pub fn all_in_one_config(base: &str, with_job: bool) -> String {
    if with_job {
        format!("{}\n{}", base.trim_end(), ALL_IN_ONE_JOB)
    } else {
        base.to_owned()
    }
}

/// Starts the container exporter with its defaults on `address` in a thread of its own, for
/// the all-in-one `firewatch`; a failure (the port taken) is logged, the rest goes on.
pub fn all_in_one(address: &str) {
    let opts = container_exporter::Options {
        listen_address: address.to_owned(),
        ..container_exporter::Options::default()
    };
    let spawned = std::thread::Builder::new()
        .name("container-exporter".into())
        .spawn(move || {
            let runtime = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(rt) => rt,
                Err(e) => {
                    tracing::error!("container exporter: cannot start its runtime: {e}");
                    return;
                }
            };
            if let Err(e) = runtime.block_on(container_exporter::run(opts)) {
                tracing::error!("container exporter: {e}");
            }
        });
    if let Err(e) = spawned {
        eprintln!("firewatch: cannot start the container exporter: {e}");
    }
}
