//! Fuzz target: loading a prometheus.yml (YAML, then validation of every section).

fn main() {
    afl::fuzz!(|data: &[u8]| {
        if let Ok(text) = std::str::from_utf8(data) {
            let _ = firewatch_config::Config::from_yaml_str(text, "/nonexistent");
        }
    });
}
