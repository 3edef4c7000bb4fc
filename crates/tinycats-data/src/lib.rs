//! tinycats-data (work in progress)
