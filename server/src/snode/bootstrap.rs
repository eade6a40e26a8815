//! Learning the node list: ask the seed nodes, keep what they say in the database, and fall
//! back to the stored list when no seed answers (a restart while the seeds are down, or a
//! network that blocks them).

use std::time::Duration;

use rand::seq::SliceRandom;

use super::SnodeError;
use super::directory::{Directory, Source};
use super::node::{ServiceNode, list_request_body, parse_list_reply};
use crate::store::Store;

/// Asks the seeds in random order; the first usable list wins.
pub async fn fetch_from_seeds(
    http: &reqwest::Client,
    seeds: &[String],
    timeout: Duration,
) -> Result<Vec<ServiceNode>, SnodeError> {
    if seeds.is_empty() {
        return Err(SnodeError::NoNodes("no seed node is configured".into()));
    }
    let mut order: Vec<&String> = seeds.iter().collect();
    order.shuffle(&mut rand::rng());
    let mut errors = Vec::new();
    for seed in order {
        match fetch_one(http, seed, timeout).await {
            Ok(nodes) => {
                tracing::info!(seed = %seed, nodes = nodes.len(), "service-node list fetched");
                return Ok(nodes);
            }
            Err(e) => {
                tracing::warn!(seed = %seed, error = %e, "seed node failed");
                errors.push(format!("{seed}: {e}"));
            }
        }
    }
    Err(SnodeError::NoNodes(errors.join("; ")))
}

/// `http` checks an `https://` seed's certificate against the pinned fingerprints.
async fn fetch_one(
    http: &reqwest::Client,
    seed: &str,
    timeout: Duration,
) -> Result<Vec<ServiceNode>, SnodeError> {
    let url = format!("{}/json_rpc", seed.trim_end_matches('/'));
    let transport = |reason: String| SnodeError::Transport {
        node: seed.to_string(),
        reason,
    };
    let res = http
        .post(&url)
        .json(&list_request_body())
        .timeout(timeout)
        .send()
        .await
        .map_err(|e| transport(super::client::error_chain(&e)))?;
    let status = res.status();
    let body = res.bytes().await.map_err(|e| transport(e.to_string()))?;
    if !status.is_success() {
        return Err(transport(format!("HTTP {status}")));
    }
    parse_list_reply(&body)
}

/// Refreshes `directory`: from the seeds (and then stores the list), else keeps what it
/// has, else loads the stored list. Errs only when there is no list at all.
pub async fn refresh(
    http: &reqwest::Client,
    seeds: &[String],
    timeout: Duration,
    directory: &Directory,
    store: Option<&Store>,
    now: f64,
) -> Result<Source, SnodeError> {
    let seed_error = match fetch_from_seeds(http, seeds, timeout).await {
        Ok(nodes) => {
            if let Some(store) = store
                && let Err(e) = store.replace_service_nodes(&nodes, now).await
            {
                tracing::warn!(error = ?e, "could not store the service-node list");
            }
            directory.set(nodes, Source::Seed);
            return Ok(Source::Seed);
        }
        Err(e) => e,
    };
    directory.set_error(seed_error.to_string());
    if !directory.is_empty() {
        tracing::warn!(error = %seed_error, "keeping the current service-node list");
        return Ok(directory.source());
    }
    let stored = match store {
        Some(store) => store.service_nodes().await?,
        None => Vec::new(),
    };
    if stored.is_empty() {
        return Err(seed_error);
    }
    tracing::warn!(
        nodes = stored.len(),
        error = %seed_error,
        "no seed node answered; using the stored service-node list"
    );
    directory.set(stored, Source::Stored);
    directory.set_error(seed_error.to_string());
    Ok(Source::Stored)
}
