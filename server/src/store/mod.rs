//! TEMPORARY interface stub, replaced by the real store.
#![allow(missing_docs)]

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    #[error("database unavailable: {0}")]
    Unavailable(String),
    #[error("database error: {0}")]
    Other(String),
}

#[derive(Clone)]
pub struct Store;

impl Store {
    pub async fn connect(_url: &str) -> Result<Store, StoreError> {
        Ok(Store)
    }
    pub async fn migrate(&self) -> Result<(), StoreError> {
        Ok(())
    }
    pub async fn ping(&self) -> Result<(), StoreError> {
        Ok(())
    }
    pub async fn ensure_system_user(&self, _session_id: &str) -> Result<(), StoreError> {
        Ok(())
    }
}
