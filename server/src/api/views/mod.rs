//! JSON shapes of API responses, built from store rows by pure functions so the exact
//! wire format (which keys appear when, floats vs ints) is unit-tested without a server.

pub mod message;
