//! `sogs-simnet`: runs a simulated Session service-node network on 127.0.0.2… for local
//! development, and prints the `[snode]` settings that point a server or `sogs-admin` at it.

use std::process::ExitCode;

use clap::Parser;
use sogs::snode::sim::{SimNetwork, TEST_NAMES};

/// A simulated service-node network on loopback addresses (plain HTTP, or HTTPS with
/// self-signed certificates).
#[derive(Parser)]
#[command(version, about)]
struct Args {
    /// How many service nodes to run (a 3-hop path per guard needs at least 6).
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u16).range(4..=250))]
    nodes: u16,
    /// Serve HTTPS with a self-signed certificate per node, as real service nodes do.
    #[arg(long)]
    tls: bool,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    let count = usize::from(args.nodes);
    let started = if args.tls {
        SimNetwork::start_tls(count).await
    } else {
        SimNetwork::start(count).await
    };
    let sim = match started {
        Ok(sim) => sim,
        Err(e) => {
            eprintln!("sogs-simnet: cannot start the nodes: {e}");
            return ExitCode::FAILURE;
        }
    };
    for node in sim.nodes() {
        println!("node {:?}", node.info);
    }
    println!("\nPoint a server or sogs-admin at it with:");
    println!(
        "  SOGS_SNODE_ENABLED=true SOGS_SNODE_SCHEME={} SOGS_SNODE_SEEDS={}",
        sim.scheme(),
        sim.seeds()
    );
    let pins = sim.seed_fingerprints();
    if !pins.is_empty() {
        println!("  SOGS_SNODE_SEED_CERT_SHA256={}", pins.join(","));
    }
    println!("ONS test names:");
    for (name, sid) in TEST_NAMES {
        println!("  {name} -> {sid}");
    }
    println!("\nCtrl-C to stop.");
    let _ = tokio::signal::ctrl_c().await;
    sim.stop().await;
    ExitCode::SUCCESS
}
