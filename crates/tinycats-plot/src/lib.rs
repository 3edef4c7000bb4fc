//! tinycats-plot (work in progress)
