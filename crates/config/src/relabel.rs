//! Relabeling rules in the configuration: Prometheus's `relabel_config` from the model crate,
//! with the checks that depend on where the list appears.

use serde::{Deserialize, Deserializer};

use model::relabel::NameValidation;
pub use model::relabel::RelabelConfig;

use crate::global::ValidationScheme;
use crate::yaml::{At, Invalid};

/// A list of relabel rules in which `- ` alone (a null rule) is kept as `None`, so that it can
/// be refused with the text Prometheus uses for that list.
pub type RelabelList = Vec<Option<RelabelConfig>>;

/// `deserialize_with` for a [`RelabelList`]: `null` is an empty list.
pub(crate) fn relabel_list<'de, D: Deserializer<'de>>(d: D) -> Result<RelabelList, D::Error> {
    Ok(Option::<RelabelList>::deserialize(d)?.unwrap_or_default())
}

/// Refuses null rules with `empty_msg` and checks each rule under `scheme`.
pub(crate) fn validate_list(
    list: &RelabelList,
    empty_msg: &str,
    scheme: ValidationScheme,
) -> Result<(), Invalid> {
    let names = match scheme {
        ValidationScheme::Legacy => NameValidation::Legacy,
        _ => NameValidation::Utf8,
    };
    for (i, rule) in list.iter().enumerate() {
        let Some(rule) = rule else {
            return Err(Invalid::new(empty_msg)).index(i);
        };
        rule.validate_with(names)
            .map_err(|e| Invalid::new(e.to_string()))
            .index(i)?;
    }
    Ok(())
}

/// The rules of a list without the null entries (which validation refuses).
#[must_use]
pub fn rules(list: &RelabelList) -> Vec<RelabelConfig> {
    list.iter().flatten().cloned().collect()
}
