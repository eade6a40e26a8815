//! The stored service-node list: the fallback when no seed node answers at startup.

use sqlx::Row;

use super::{Store, StoreResult, with_pool, write_tx};
use crate::snode::ServiceNode;

impl Store {
    /// Replaces the stored list with `nodes`, learned at `now`.
    pub async fn replace_service_nodes(&self, nodes: &[ServiceNode], now: f64) -> StoreResult<()> {
        const INSERT: &str = "INSERT INTO service_nodes \
             (pubkey_ed25519, pubkey_x25519, public_ip, storage_port, updated) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (pubkey_ed25519) DO NOTHING";
        write_tx!(self, |tx| {
            sqlx::query("DELETE FROM service_nodes")
                .execute(&mut *tx)
                .await?;
            for node in nodes {
                sqlx::query(INSERT)
                    .bind(hex::encode(node.ed25519))
                    .bind(hex::encode(node.x25519))
                    .bind(&node.ip)
                    .bind(i32::from(node.port))
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
            }
            Ok(())
        })
    }

    /// The stored list; rows that no longer parse are skipped.
    pub async fn service_nodes(&self) -> StoreResult<Vec<ServiceNode>> {
        const SQL: &str = "SELECT pubkey_ed25519, pubkey_x25519, public_ip, storage_port \
             FROM service_nodes ORDER BY pubkey_ed25519";
        with_pool!(self, |pool| {
            let rows = sqlx::query(SQL).fetch_all(pool).await?;
            Ok(rows
                .iter()
                .filter_map(|row| {
                    let key = |col: &str| {
                        let text: String = row.try_get(col).ok()?;
                        let mut out = [0u8; 32];
                        hex::decode_to_slice(text, &mut out).ok()?;
                        Some(out)
                    };
                    let port: i32 = row.try_get("storage_port").ok()?;
                    Some(ServiceNode {
                        ip: row.try_get("public_ip").ok()?,
                        port: u16::try_from(port).ok()?,
                        ed25519: key("pubkey_ed25519")?,
                        x25519: key("pubkey_x25519")?,
                    })
                })
                .collect())
        })
    }
}
