//! The node exporter alone, with node_exporter's flags (for quick runs of the end-to-end
//! fixtures while the rest of the workspace is being built): `cargo run --example serve -- FLAGS`.

fn main() {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .init();
    let names = firewatch_node_exporter::all_collector_names();
    let opts = match firewatch_node_exporter::Options::parse(std::env::args().skip(1), &names) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    let rt = firewatch_node_exporter::server::runtime().expect("runtime");
    if let Err(e) = rt.block_on(firewatch_node_exporter::run(opts)) {
        eprintln!("{e}");
        std::process::exit(1);
    }
}
