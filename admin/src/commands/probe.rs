//! `sogs-admin probe`: sends `GET /capabilities` to this server's own `/oxen/v4/lsrpc`
//! through a real 3-hop onion path and reports each stage with its latency; and the ONS
//! lookup behind `moderator add --ons NAME`. Both use the `[snode]` settings (seeds,
//! scheme, timeouts) and the stored service-node list when no seed answers.

use std::io::Write;
use std::sync::Arc;

use sogs::crypto::keys::SessionId;
use sogs::snode::{OnionClient, ServerTarget, Settings, probe};

use super::{AdminError, Context, failed, say};

fn onion_client(ctx: &Context) -> Result<OnionClient, AdminError> {
    OnionClient::new(
        Settings::from_config(&ctx.config.snode),
        Arc::default(),
        Some(ctx.store.clone()),
    )
    .map_err(failed)
}

/// `probe [--url URL]`: the URL defaults to `[snode] probe_url`, then `server.base_url`.
pub async fn run(ctx: &Context, url: Option<&str>, out: &mut impl Write) -> Result<(), AdminError> {
    let url = url
        .or(Some(ctx.config.snode.probe_url.as_str()).filter(|u| !u.is_empty()))
        .unwrap_or(ctx.config.server.base_url.as_str());
    let key = ctx.server_key()?;
    let target = ServerTarget::from_url(url, key.public_key())
        .map_err(|e| AdminError::Usage(e.to_string()))?;
    say(
        out,
        format!("probing {url}{} through 3 hops", target.target),
    );
    let report = probe::run(&onion_client(ctx)?, &target).await;
    let _ = write!(out, "{}", report.render());
    match report.stages.iter().find(|s| !s.ok) {
        None => {
            say(out, "probe succeeded");
            Ok(())
        }
        Some(stage) => Err(AdminError::Failed(anyhow::anyhow!(
            "probe failed at stage `{}`: {}",
            stage.name,
            stage.detail
        ))),
    }
}

/// Resolves an ONS name to a Session ID through the network.
pub async fn resolve_ons(
    ctx: &Context,
    name: &str,
    out: &mut impl Write,
) -> Result<SessionId, AdminError> {
    let sid = onion_client(ctx)?.resolve_ons(name).await.map_err(failed)?;
    say(out, format!("ONS name {name} is {sid}"));
    Ok(sid)
}

#[cfg(test)]
mod tests {
    use sogs::snode::sim::{SimNetwork, TEST_NAMES};
    use sogs::startup::Application;

    use super::super::test_env::TestEnv;
    use super::*;
    use crate::cli::Scope;

    /// Reaches `sim` as it serves (http or https), its seeds pinned when it has certificates.
    fn use_network(env: &mut TestEnv, sim: &SimNetwork) {
        env.config.snode.seeds = sim.seeds();
        env.config.snode.scheme = sim.scheme().into();
        env.config.snode.seed_cert_sha256 = sim.seed_fingerprints();
        env.config.snode.request_timeout_secs = 3.0;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_probe_reaches_the_running_server_through_three_hops() {
        probe_a_running_server(SimNetwork::start(6).await.unwrap()).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_probe_reaches_the_running_server_through_three_tls_hops_with_the_seeds_pinned() {
        probe_a_running_server(SimNetwork::start_tls(6).await.unwrap()).await;
    }

    async fn probe_a_running_server(sim: SimNetwork) {
        let mut env = TestEnv::sqlite();
        use_network(&mut env, &sim);
        env.config.server.listen = "127.0.0.1:0".into();
        let app = Application::build(env.config.clone(), sogs::clock::Clock::system())
            .await
            .unwrap();
        let url = format!("http://127.0.0.1:{}", app.port());
        let stop = app.shutdown_token();
        let server = tokio::spawn(app.run_until_stopped());
        let ctx = Context::open(env.config.clone()).await.unwrap();
        let mut out = Vec::new();
        run(&ctx, Some(&url), &mut out).await.unwrap();
        let text = String::from_utf8(out).unwrap();
        for stage in [
            "node list",
            "paths",
            "hop 1 reachable",
            "hop 3 reachable",
            "onion round trip",
        ] {
            assert!(text.contains(stage), "{text}");
        }
        assert!(text.contains("HTTP 200"), "{text}");
        assert!(text.ends_with("probe succeeded\n"), "{text}");
        // The probe stored the node list it learned.
        assert_eq!(ctx.store.service_nodes().await.unwrap().len(), 6);
        stop.cancel();
        let _ = server.await;
        sim.stop().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_probe_of_a_server_that_is_not_running_fails_at_the_round_trip() {
        let sim = SimNetwork::start(6).await.unwrap();
        let mut env = TestEnv::sqlite();
        use_network(&mut env, &sim);
        let ctx = Context::open(env.config.clone()).await.unwrap();
        let err = run(&ctx, Some("http://127.0.0.1:9"), &mut Vec::new())
            .await
            .unwrap_err();
        assert_eq!(err.exit_code(), 1);
        assert!(err.to_string().contains("onion round trip"), "{err}");
        let err = run(&ctx, Some("ftp://x"), &mut Vec::new())
            .await
            .unwrap_err();
        assert!(matches!(err, AdminError::Usage(_)), "{err}");
        sim.stop().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn with_no_seed_and_no_stored_list_the_probe_says_so() {
        let mut env = TestEnv::sqlite();
        env.config.snode.seeds = "http://127.0.0.1:9".into();
        env.config.snode.scheme = "http".into();
        let ctx = Context::open(env.config.clone()).await.unwrap();
        let err = run(&ctx, Some("http://127.0.0.1:9"), &mut Vec::new())
            .await
            .unwrap_err();
        let text = err.to_string();
        assert!(text.contains("`node list`"), "{text}");
        assert!(text.contains("no service-node list is stored"), "{text}");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_seed_certificate_that_matches_no_pin_fails_the_node_list_stage_naming_it() {
        let sim = SimNetwork::start_tls(6).await.unwrap();
        let mut env = TestEnv::sqlite();
        use_network(&mut env, &sim);
        env.config.snode.seed_cert_sha256 = vec!["ab".repeat(32)];
        let ctx = Context::open(env.config.clone()).await.unwrap();
        let err = run(&ctx, Some("http://127.0.0.1:9"), &mut Vec::new())
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("`node list`"), "{err}");
        assert!(
            err.contains(&format!(
                "seed certificate SHA-256 {} matches none of snode.seed_cert_sha256",
                sim.seed_fingerprints()[0]
            )),
            "{err}"
        );
        sim.stop().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_moderator_can_be_named_by_ons_name() {
        let sim = SimNetwork::start(6).await.unwrap();
        let mut env = TestEnv::sqlite();
        use_network(&mut env, &sim);
        let ctx = Context::open(env.config.clone()).await.unwrap();
        super::super::room::add(&ctx, "lobby", None, None, None, &mut Vec::new())
            .await
            .unwrap();
        let (name, sid) = TEST_NAMES[0];
        let mut out = Vec::new();
        let resolved = resolve_ons(&ctx, name, &mut out).await.unwrap();
        assert_eq!(resolved.to_string(), sid);
        let scope = Scope {
            room: Some("lobby".into()),
            global: false,
        };
        super::super::moderator::add(&ctx, &resolved, &scope, false, None, &mut out)
            .await
            .unwrap();
        let room = ctx.store.room_by_token("lobby").await.unwrap().unwrap();
        assert_eq!(ctx.store.room_moderators(room.id).await.unwrap().len(), 1);
        let err = resolve_ons(&ctx, "nobody", &mut Vec::new())
            .await
            .unwrap_err();
        assert!(err.to_string().contains("not registered"), "{err}");
        sim.stop().await;
    }
}
