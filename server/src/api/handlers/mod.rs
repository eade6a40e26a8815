//! Thin handlers, one file per group of endpoints: parse the request into domain values,
//! call the domain and store, shape the response.

pub mod batch;
pub mod capabilities;
pub mod onion;
