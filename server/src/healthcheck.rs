//! `sogs-server --healthcheck`: asks a running server's `/healthz` and exits 0 or 1.
//!
//! Container runtimes run a `HEALTHCHECK` command inside the container; the runtime image has
//! no shell, curl or wget, so the server binary itself is the probe. It reads the same
//! configuration as the server it checks, so it knows the port without being told.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

/// Why the server did not answer healthy.
#[derive(Debug, thiserror::Error)]
pub enum HealthcheckError {
    #[error("GET {url}: {source}")]
    Request { url: String, source: reqwest::Error },
    #[error("GET {url} answered HTTP {status}")]
    Status { url: String, status: u16 },
}

/// The address to probe for a server listening on `listen`: a wildcard listen address is
/// reached over loopback.
pub fn probe_addr(listen: SocketAddr) -> SocketAddr {
    let ip = match listen.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    SocketAddr::new(ip, listen.port())
}

/// `GET http://{addr}/healthz`, healthy on 200 within `timeout`.
pub async fn check(addr: SocketAddr, timeout: Duration) -> Result<(), HealthcheckError> {
    check_url(&format!("http://{addr}/healthz"), timeout).await
}

/// `GET {url}`, healthy on 200 within `timeout` (a `helm test` pod checks a Service's
/// `/healthz` and `/readyz` this way).
pub async fn check_url(url: &str, timeout: Duration) -> Result<(), HealthcheckError> {
    let url = url.to_string();
    let request = |source| HealthcheckError::Request {
        url: url.clone(),
        source,
    };
    let client = reqwest::Client::builder()
        .timeout(timeout)
        .no_proxy()
        .build()
        .map_err(request)?;
    let status = client
        .get(&url)
        .send()
        .await
        .map_err(request)?
        .status()
        .as_u16();
    if status == 200 {
        Ok(())
    } else {
        Err(HealthcheckError::Status { url, status })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wildcard_listen_address_is_probed_over_loopback() {
        let probe = |s: &str| probe_addr(s.parse().unwrap()).to_string();
        assert_eq!(probe("0.0.0.0:8080"), "127.0.0.1:8080");
        assert_eq!(probe("[::]:8080"), "[::1]:8080");
        assert_eq!(probe("10.1.2.3:80"), "10.1.2.3:80");
    }
}
