//! tinycats-runtime (work in progress)
