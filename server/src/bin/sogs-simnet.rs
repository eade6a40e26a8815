//! `sogs-simnet`: runs a simulated Session service-node network on 127.0.0.2… for local
//! development, and prints the `[snode]` settings that point a server or `sogs-admin` at it.

use std::process::ExitCode;

use clap::Parser;
use sogs::snode::sim::{SimNetwork, TEST_NAMES};

/// A simulated service-node network (plain HTTP on loopback addresses).
#[derive(Parser)]
#[command(version, about)]
struct Args {
    /// How many service nodes to run (a 3-hop path per guard needs at least 6).
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u16).range(4..=250))]
    nodes: u16,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    let sim = match SimNetwork::start(usize::from(args.nodes)).await {
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
        "  SOGS_SNODE_ENABLED=true SOGS_SNODE_SCHEME=http SOGS_SNODE_SEEDS={}",
        sim.seeds()
    );
    println!("ONS test names:");
    for (name, sid) in TEST_NAMES {
        println!("  {name} -> {sid}");
    }
    println!("\nCtrl-C to stop.");
    let _ = tokio::signal::ctrl_c().await;
    sim.stop().await;
    ExitCode::SUCCESS
}
