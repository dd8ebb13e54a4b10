//! Content negotiation: which format to answer a scrape with, from its `Accept` header, as
//! client_golang's `expfmt.NegotiateIncludingOpenMetrics` decides.

use super::Format;

/// The `Content-Type` of OpenMetrics 0.0.1, answered when a client asks for that version.
pub const OPENMETRICS_0_0_1: &str = "application/openmetrics-text; version=0.0.1; charset=utf-8";

/// Chooses the format for an `Accept` header (`None` or unusable: text 0.0.4) and the
/// `Content-Type` string to answer with.
///
/// Media ranges are tried by descending `q` (ties keep their order); `q=0` ranges are
/// refused. `text/plain` with version `0.0.4` or none gives text; `application/openmetrics-text`
/// with version `1.0.0`, `0.0.1` or none gives OpenMetrics.
#[must_use]
pub fn negotiate(accept: Option<&str>) -> (Format, &'static str) {
    let Some(accept) = accept else {
        return (Format::Text, Format::Text.content_type());
    };
    let mut ranges: Vec<(f64, usize, &str, Option<&str>)> = Vec::new();
    for (i, part) in accept.split(',').enumerate() {
        let mut params = part.split(';');
        let media = params.next().unwrap_or("").trim();
        let mut q = 1.0;
        let mut version = None;
        for p in params {
            let Some((k, v)) = p.split_once('=') else {
                continue;
            };
            let v = v.trim().trim_matches('"');
            match k.trim().to_ascii_lowercase().as_str() {
                "q" => q = v.parse().unwrap_or(0.0),
                "version" => version = Some(v),
                _ => {}
            }
        }
        if q > 0.0 {
            ranges.push((q, i, media, version));
        }
    }
    ranges.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    for (_, _, media, version) in ranges {
        if media.eq_ignore_ascii_case("text/plain") && matches!(version, None | Some("0.0.4")) {
            return (Format::Text, Format::Text.content_type());
        }
        if media.eq_ignore_ascii_case("application/openmetrics-text") {
            match version {
                None | Some("1.0.0") => {
                    return (Format::OpenMetrics, Format::OpenMetrics.content_type());
                }
                Some("0.0.1") => return (Format::OpenMetrics, OPENMETRICS_0_0_1),
                _ => {}
            }
        }
    }
    (Format::Text, Format::Text.content_type())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prometheus_scrape_accept_header() {
        // The header Prometheus 2.42 sends when scraping.
        let h = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;\
                 version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
        assert_eq!(
            negotiate(Some(h)),
            (
                Format::OpenMetrics,
                "application/openmetrics-text; version=1.0.0; charset=utf-8"
            )
        );
    }

    #[test]
    fn q_values_and_defaults() {
        let text = (Format::Text, "text/plain; version=0.0.4; charset=utf-8");
        assert_eq!(negotiate(None), text);
        assert_eq!(negotiate(Some("*/*")), text);
        assert_eq!(negotiate(Some("application/json")), text);
        assert_eq!(
            negotiate(Some("application/openmetrics-text;q=0.2,text/plain;q=0.9")),
            text
        );
        assert_eq!(
            negotiate(Some(
                "text/plain;version=0.0.5,application/openmetrics-text;q=0.1"
            ))
            .0,
            Format::OpenMetrics
        );
        assert_eq!(
            negotiate(Some("application/openmetrics-text; version=0.0.1")).1,
            OPENMETRICS_0_0_1
        );
        assert_eq!(negotiate(Some("application/openmetrics-text;q=0")), text);
    }
}
