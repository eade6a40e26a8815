//! Pure business rules, free of HTTP and SQL.
