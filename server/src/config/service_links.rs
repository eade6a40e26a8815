//! Kubernetes "service link" variables, told apart from mistyped options.
//!
//! For every Service in a namespace, Kubernetes injects Docker-links-style variables into each
//! pod: for a Service named `sogs` (or `sogs-metrics`, `sogs-redis`, …) they start with `SOGS_`,
//! the prefix of our own options. Refusing them would stop the server in any namespace that
//! has such a Service (`SOGS_PORT=tcp://10.0.0.1:80` → "unknown configuration key"); ignoring
//! every unknown `SOGS_` variable would let a typo go unnoticed. So a variable is taken as
//! injected only when both its name and its value have the exact shape Kubernetes gives them:
//!
//! | name | value |
//! |---|---|
//! | `X_SERVICE_HOST` | an IP address |
//! | `X_SERVICE_PORT`, `X_SERVICE_PORT_<PORT NAME>` | a port number |
//! | `X_PORT`, `X_PORT_<N>_<PROTO>` | `<proto>://<ip>:<port>` (with `<N>`, `<PROTO>` matching) |
//! | `X_PORT_<N>_<PROTO>_PROTO` | `tcp`, `udp` or `sctp`, matching `<PROTO>` |
//! | `X_PORT_<N>_<PROTO>_PORT` | `<N>` |
//! | `X_PORT_<N>_<PROTO>_ADDR` | an IP address |

use std::net::{IpAddr, SocketAddr};

const PROTOCOLS: &[&str] = &["TCP", "UDP", "SCTP"];

/// True when `name=value` is a variable Kubernetes injects for a Service (see the module
/// documentation), not an option someone meant to set.
pub fn is_injected(name: &str, value: &str) -> bool {
    let parts: Vec<&str> = name.split('_').collect();
    // At least one part names the Service before the suffix.
    let Some((service, _)) = parts.split_first() else {
        return false;
    };
    if service.is_empty() || parts.iter().any(|p| p.is_empty()) {
        return false;
    }
    let tail = &parts[1..];
    match tail {
        [.., "SERVICE", "HOST"] if tail.len() >= 2 => value.parse::<IpAddr>().is_ok(),
        [.., "PORT", number, proto] if PROTOCOLS.contains(proto) => {
            is_port_url(value, Some((number, proto)))
        }
        [.., "PORT", number, proto, "PROTO"] if PROTOCOLS.contains(proto) => {
            is_port_number(number) && value == proto.to_ascii_lowercase()
        }
        [.., "PORT", number, proto, "PORT"] if PROTOCOLS.contains(proto) => {
            is_port_number(number) && value == *number
        }
        [.., "PORT", number, proto, "ADDR"] if PROTOCOLS.contains(proto) => {
            is_port_number(number) && value.parse::<IpAddr>().is_ok()
        }
        _ if is_service_port(tail) => is_port_number(value),
        [.., "PORT"] => is_port_url(value, None),
        _ => false,
    }
}

/// `…_SERVICE_PORT` or `…_SERVICE_PORT_<PORT NAME>`.
fn is_service_port(tail: &[&str]) -> bool {
    tail.windows(2).any(|w| w == ["SERVICE", "PORT"])
}

fn is_port_number(text: &str) -> bool {
    text.parse::<u16>().is_ok_and(|p| p > 0) && !text.starts_with('0')
}

/// `tcp://10.0.0.1:80` or `tcp://[fd00::1]:80`; when `expected` is given, its port number and
/// protocol must be the URL's.
fn is_port_url(value: &str, expected: Option<(&str, &str)>) -> bool {
    let Some((scheme, address)) = value.split_once("://") else {
        return false;
    };
    if !PROTOCOLS.iter().any(|p| p.eq_ignore_ascii_case(scheme))
        || scheme != scheme.to_ascii_lowercase()
    {
        return false;
    }
    let Ok(address) = address.parse::<SocketAddr>() else {
        return false;
    };
    match expected {
        Some((number, proto)) => {
            scheme.eq_ignore_ascii_case(proto) && address.port().to_string() == number
        }
        None => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_variable_kubernetes_injects_for_a_service_is_recognised() {
        for (name, value) in [
            ("SOGS_PORT", "tcp://10.0.0.1:80"),
            ("SOGS_PORT_80_TCP", "tcp://10.0.0.1:80"),
            ("SOGS_PORT_80_TCP_PROTO", "tcp"),
            ("SOGS_PORT_80_TCP_PORT", "80"),
            ("SOGS_PORT_80_TCP_ADDR", "10.0.0.1"),
            ("SOGS_SERVICE_HOST", "10.0.0.1"),
            ("SOGS_SERVICE_PORT", "80"),
            ("SOGS_SERVICE_PORT_HTTP", "80"),
            ("SOGS_METRICS_PORT", "tcp://10.0.0.2:9090"),
            ("SOGS_METRICS_SERVICE_HOST", "10.0.0.2"),
            ("SOGS_METRICS_SERVICE_PORT_HTTP_METRICS", "9090"),
            ("SOGS_REDIS_PORT_6379_TCP", "tcp://10.0.0.3:6379"),
            ("SOGS_PORT", "tcp://[fd00::1]:80"),
            ("SOGS_SERVICE_HOST", "fd00::1"),
            ("SOGS_PORT_53_UDP", "udp://10.0.0.1:53"),
            ("SOGS_PORT_53_UDP_PROTO", "udp"),
        ] {
            assert!(is_injected(name, value), "{name}={value}");
        }
    }

    #[test]
    fn variables_of_the_right_name_but_the_wrong_value_are_not_injected() {
        for (name, value) in [
            ("SOGS_PORT", "80"),
            ("SOGS_PORT", "tcp://example.net:80"),
            ("SOGS_PORT", "http://10.0.0.1:80"),
            ("SOGS_PORT", "TCP://10.0.0.1:80"),
            ("SOGS_PORT_80_TCP", "tcp://10.0.0.1:81"),
            ("SOGS_PORT_80_TCP", "udp://10.0.0.1:80"),
            ("SOGS_PORT_80_TCP_PROTO", "udp"),
            ("SOGS_PORT_80_TCP_PORT", "8080"),
            ("SOGS_PORT_80_TCP_ADDR", "sogs"),
            ("SOGS_PORT_080_TCP_PORT", "080"),
            ("SOGS_PORT_80_HTTP", "tcp://10.0.0.1:80"),
            ("SOGS_SERVICE_HOST", "sogs.default.svc"),
            ("SOGS_SERVICE_PORT", "http"),
            ("SOGS_SERVICE_PORT", "0"),
            ("SOGS_SERVICE_PORT", "70000"),
            ("SOGS__SERVICE_HOST", "10.0.0.1"),
        ] {
            assert!(!is_injected(name, value), "{name}={value}");
        }
    }

    #[test]
    fn mistyped_options_are_not_taken_for_injected_variables() {
        for (name, value) in [
            ("SOGS_SERVER_LISTEN", "0.0.0.0:8080"),
            ("SOGS_SERVER_PORT", "8080"),
            ("SOGS_DATABSE_URL", "postgres://sogs@db/sogs"),
            ("SOGS_REDIS_HOST", "10.0.0.3"),
            ("SOGS_METRICS_LISTEN_PORT", "9090"),
            ("SOGS_SERVICE", "10.0.0.1"),
            ("SOGS_HOST", "10.0.0.1"),
        ] {
            assert!(!is_injected(name, value), "{name}={value}");
        }
    }
}
