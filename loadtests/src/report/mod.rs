//! `sogs-loadtest report`: a standard matrix of runs against servers it starts itself, written
//! as a self-contained HTML page with SVG plots, plus the raw numbers (JSON, CSV).

pub mod launch;
pub mod machine;
pub mod results;
