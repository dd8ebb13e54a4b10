//! Fuzz target: the PromQL parser (queries from the API, rule files and dashboards).

fn main() {
    afl::fuzz!(|data: &[u8]| {
        if let Ok(q) = std::str::from_utf8(data) {
            let _ = firewatch_promql::parser::parse(q);
        }
    });
}
