//! `firewatch kube-state-exporter`: kube-state-metrics' flags handed to the kube-state
//! exporter crate.

use std::path::PathBuf;
use std::process::ExitCode;

/// `firewatch kube-state-exporter ...`
#[derive(Debug, clap::Args)]
pub struct KubeStateExporterArgs {
    /// Address to serve `/metrics` on.
    #[arg(long = "web.listen-address", default_value = ":8080")]
    pub listen_address: String,
    /// Comma-separated resources to export.
    #[arg(
        long = "resources",
        default_value = "configmaps,cronjobs,daemonsets,deployments,endpoints,horizontalpodautoscalers,jobs,namespaces,nodes,persistentvolumeclaims,persistentvolumes,pods,replicasets,secrets,services,statefulsets"
    )]
    pub resources: String,
    /// Comma-separated namespaces to watch; empty for all.
    #[arg(long = "namespaces", default_value = "")]
    pub namespaces: String,
    /// Path to a web configuration file (TLS, client certificates, basic authentication,
    /// headers), as the exporter toolkit reads it.
    #[arg(long = "web.config.file")]
    pub web_config_file: Option<PathBuf>,
    /// Kubernetes labels exported as `label_*` on `kube_<kind>_labels`, per resource:
    /// `pods=[app,team],namespaces=[*]`.
    #[arg(long = "metric-labels-allowlist", default_value = "")]
    pub metric_labels_allowlist: String,
    /// Kubernetes annotations exported as `annotation_*` on `kube_<kind>_annotations`, per
    /// resource, same syntax.
    #[arg(long = "metric-annotations-allowlist", default_value = "")]
    pub metric_annotations_allowlist: String,
    /// Comma-separated opt-in families to turn on (`kube_pod_nodeselectors`,
    /// `kube_persistentvolume_csi_attributes`).
    #[arg(long = "metric-opt-in-list", default_value = "")]
    pub metric_opt_in_list: String,
    /// Log level (debug, info, warn, error).
    #[arg(long = "log.level", default_value = "info")]
    pub log_level: String,
    /// Log format (logfmt, json).
    #[arg(long = "log.format", default_value = "logfmt")]
    pub log_format: String,
}

fn list(s: &str) -> Vec<String> {
    s.split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Watches the Kubernetes API and serves until the process ends.
pub fn run(args: KubeStateExporterArgs) -> ExitCode {
    let known = kube_state_exporter::server::RESOURCES;
    if let Some(bad) = list(&args.resources)
        .into_iter()
        .find(|r| !known.contains(&r.as_str()))
    {
        eprintln!(
            "firewatch kube-state-exporter: --resources: {bad:?} is not supported (supported: {})",
            known.join(",")
        );
        return ExitCode::from(2);
    }
    let parse = kube_state_exporter::allowlist::parse;
    let (labels_allowlist, annotations_allowlist) = match (
        parse(&args.metric_labels_allowlist),
        parse(&args.metric_annotations_allowlist),
    ) {
        (Ok(l), Ok(a)) => (l, a),
        (Err(e), _) => {
            eprintln!("firewatch kube-state-exporter: --metric-labels-allowlist: {e}");
            return ExitCode::from(2);
        }
        (_, Err(e)) => {
            eprintln!("firewatch kube-state-exporter: --metric-annotations-allowlist: {e}");
            return ExitCode::from(2);
        }
    };
    let opt_in = list(&args.metric_opt_in_list);
    let opt_known = kube_state_exporter::kinds::OPT_IN;
    if let Some(bad) = opt_in.iter().find(|m| !opt_known.contains(&m.as_str())) {
        eprintln!(
            "firewatch kube-state-exporter: --metric-opt-in-list: {bad:?} is no opt-in family (they are: {})",
            opt_known.join(",")
        );
        return ExitCode::from(2);
    }
    crate::init_logging(&args.log_level, &args.log_format);
    let web_config = match crate::web_config(args.web_config_file.as_deref()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("firewatch kube-state-exporter: {e}");
            return ExitCode::from(2);
        }
    };
    let opts = kube_state_exporter::Options {
        listen_address: args.listen_address,
        namespaces: list(&args.namespaces),
        resources: list(&args.resources),
        web_config,
        labels_allowlist,
        annotations_allowlist,
        opt_in,
    };
    crate::block_on("kube-state-exporter", kube_state_exporter::run(opts))
}
