//! The core's one error: a value out of range, named with the field, the value and what
//! would be accepted.

/// A `Result` whose error is [`Invalid`].
pub type Result<T, E = Invalid> = std::result::Result<T, E>;

/// A configuration or request value outside its allowed range.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid config: `{field}` = {value}: {expected}")]
pub struct Invalid {
    /// The field (or flag) that is wrong.
    pub field: String,
    /// Its value, as given.
    pub value: String,
    /// What would be accepted.
    pub expected: String,
}

impl Invalid {
    /// `field` = `value` is not `expected`.
    pub fn new(field: &str, value: impl std::fmt::Display, expected: &str) -> Self {
        Invalid {
            field: field.to_string(),
            value: value.to_string(),
            expected: expected.to_string(),
        }
    }
}
