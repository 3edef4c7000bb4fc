//! tinycats-models (work in progress)
