//! Shared test helpers: fresh databases (and, later, a running server and a client).

pub mod db;
