//! Command-line flags, with Prometheus's and Alertmanager's names.

use clap::{Parser, Subcommand};

use crate::server::ServerArgs;

/// A Prometheus-compatible monitoring stack in one binary.
#[derive(Debug, Parser)]
#[command(name = "firewatch", version, about)]
pub struct Cli {
    /// What to run; with none, the all-in-one server.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// The monitoring server: discovery, scraping, TSDB, PromQL, rules, HTTP API.
    Server(Box<ServerArgs>),
    /// The Alertmanager: grouping, silences, inhibition, routing, notifications.
    Alertmanager(Box<crate::alertmanager::AlertmanagerArgs>),
    /// Host metrics with node_exporter's names and flags (`--collector.X`, `--no-collector.X`,
    /// `--collector.X.option=...`, `--path.procfs=...`, `--web.listen-address=...`).
    NodeExporter(NodeExporterArgs),
    /// Container metrics with cAdvisor's names, from cgroups and /proc.
    ContainerExporter(crate::container_exporter::ContainerExporterArgs),
    /// Kubernetes object state with kube-state-metrics' names, from the Kubernetes API.
    KubeStateExporter(crate::kube_state_exporter::KubeStateExporterArgs),
    /// What promtool and amtool do.
    #[command(subcommand)]
    Tool(ToolCommand),
}

/// `firewatch node-exporter ...`: node_exporter's flags, parsed by the node exporter crate
/// (its collector switches are too many and too dynamic for clap).
#[derive(Debug, clap::Args)]
#[command(disable_help_flag = true)]
pub struct NodeExporterArgs {
    /// node_exporter's flags, e.g. `--collector.cpu.info --no-collector.wifi`.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, num_args = 0..)]
    pub flags: Vec<String>,
}

/// `firewatch tool ...`
#[derive(Debug, Subcommand)]
pub enum ToolCommand {
    /// Check files and expositions.
    #[command(subcommand)]
    Check(CheckCommand),
    /// Inspect TSDB blocks, like `promtool tsdb`.
    #[command(subcommand)]
    Tsdb(TsdbCommand),
    /// Unit tests, like `promtool test`.
    #[command(subcommand)]
    Test(TestCommand),
    /// Check Alertmanager configuration files, like `amtool check-config`.
    CheckConfig {
        /// The alertmanager.yml files.
        #[arg(required = true)]
        files: Vec<std::path::PathBuf>,
    },
    /// Run PromQL conformance scripts (Prometheus's promqltest format).
    PromqlTest {
        /// The script files.
        #[arg(required = true)]
        files: Vec<std::path::PathBuf>,
    },
}

/// `firewatch tool test ...`
#[derive(Debug, Subcommand)]
pub enum TestCommand {
    /// Unit tests for rules, in promtool's test file format.
    Rules {
        /// The test files.
        #[arg(required = true)]
        files: Vec<std::path::PathBuf>,
    },
}

/// `firewatch tool check ...`
#[derive(Debug, Subcommand)]
pub enum CheckCommand {
    /// Lint an exposition read from standard input, like `promtool check metrics`.
    Metrics,
    /// Check configuration files and the rule files they name, like `promtool check config`.
    Config {
        /// The configuration files.
        #[arg(required = true)]
        files: Vec<std::path::PathBuf>,
        /// Only check the syntax: do not read rule files or other referenced files.
        #[arg(long)]
        syntax_only: bool,
        /// Check the configuration for agent mode.
        #[arg(long)]
        agent: bool,
    },
    /// Check rule files, like `promtool check rules`.
    Rules {
        /// The rule files.
        #[arg(required = true)]
        files: Vec<std::path::PathBuf>,
    },
}

/// `firewatch tool tsdb ...`
#[derive(Debug, Subcommand)]
pub enum TsdbCommand {
    /// List tsdb blocks, like `promtool tsdb list`.
    List {
        /// Print human readable values.
        #[arg(short = 'r', long = "human-readable")]
        human_readable: bool,
        /// Database path.
        #[arg(default_value = "data/")]
        path: std::path::PathBuf,
    },
    /// Analyze churn, label pair cardinality, like `promtool tsdb analyze`.
    Analyze {
        /// How many items to show in each list.
        #[arg(long, default_value_t = 20)]
        limit: usize,
        /// Database path.
        #[arg(default_value = "data/")]
        path: std::path::PathBuf,
        /// Block to analyze (default is the last block).
        block_id: Option<String>,
    },
    /// Create blocks of data for new recordings.
    #[command(name = "create-blocks-from", subcommand)]
    CreateBlocksFrom(CreateBlocksFrom),
}

/// `firewatch tool tsdb create-blocks-from ...`
#[derive(Debug, Subcommand)]
pub enum CreateBlocksFrom {
    /// Import samples from OpenMetrics input and produce TSDB blocks, like promtool's.
    Openmetrics {
        /// Print human readable values.
        #[arg(short = 'r', long = "human-readable")]
        human_readable: bool,
        /// Do not print created blocks.
        #[arg(short = 'q', long)]
        quiet: bool,
        /// Maximum duration of the created blocks (rounded down to 2h × 3ⁿ, at least 2h).
        #[arg(long = "max-block-duration", default_value = "2h")]
        max_block_duration: String,
        /// OpenMetrics file to read samples from.
        input: std::path::PathBuf,
        /// Output directory for generated blocks.
        #[arg(default_value = "data/")]
        output: std::path::PathBuf,
    },
}
