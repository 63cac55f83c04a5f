//! Apps and their bearer tokens.

use crate::error::{Error, LedgerError};
use crate::model::{ApiToken, AppName, AppRecord, Timestamp, UsageTotals, UsageWindow};
use crate::ports::{Clock, IdSource, Ledger};
use std::sync::Arc;

/// The app registry: authentication and the operator's app commands.
pub struct Apps {
    ledger: Arc<dyn Ledger>,
    clock: Arc<dyn Clock>,
    ids: Arc<dyn IdSource>,
}

impl Apps {
    /// Builds the use case over its ports.
    pub fn new(ledger: Arc<dyn Ledger>, clock: Arc<dyn Clock>, ids: Arc<dyn IdSource>) -> Self {
        Self { ledger, clock, ids }
    }

    /// The active app that holds `token`.
    pub async fn authenticate(&self, token: &ApiToken) -> Result<AppName, Error> {
        let hash = token.hash();
        match self.ledger.app_by_token_hash(&hash).await? {
            // The store found it by hash; compare again in constant time so no
            // backend's lookup becomes a timing oracle.
            Some(app) if app.is_active() && app.token_hash.matches(&hash) => Ok(app.name),
            _ => Err(Error::Unauthorized),
        }
    }

    /// Adds an app and returns its token, which is shown this once.
    pub async fn add(&self, name: &str) -> Result<(AppName, ApiToken), Error> {
        let name = AppName::new(name).map_err(|e| Error::invalid("name", e.to_string()))?;
        let token = self.ids.token();
        let record =
            AppRecord { name: name.clone(), token_hash: token.hash(), created_at: self.clock.now(), revoked_at: None };
        match self.ledger.insert_app(&record).await {
            Ok(()) => Ok((name, token)),
            Err(LedgerError::Conflict(_)) => Err(Error::AppExists(name.to_string())),
            Err(e) => Err(e.into()),
        }
    }

    /// Every app.
    pub async fn list(&self) -> Result<Vec<AppRecord>, Error> {
        Ok(self.ledger.list_apps().await?)
    }

    /// Revokes an app's token for good.
    pub async fn revoke(&self, name: &str) -> Result<(), Error> {
        let name = AppName::new(name).map_err(|e| Error::invalid("name", e.to_string()))?;
        if self.ledger.revoke_app(&name, self.clock.now()).await? {
            Ok(())
        } else {
            Err(Error::UnknownApp(name.to_string()))
        }
    }

    /// Replaces an app's token; the old one stops working at once.
    pub async fn rotate(&self, name: &str) -> Result<ApiToken, Error> {
        let name = AppName::new(name).map_err(|e| Error::invalid("name", e.to_string()))?;
        let token = self.ids.token();
        if self.ledger.replace_token(&name, &token.hash()).await? {
            Ok(token)
        } else {
            Err(Error::UnknownApp(name.to_string()))
        }
    }

    /// What `app` spent from `since` up to (not including) `until`, in Unix
    /// seconds; no `until` counts up to now and beyond.
    pub async fn usage(&self, app: &AppName, since: Option<u64>, until: Option<u64>) -> Result<UsageTotals, Error> {
        let secs = |field: &str, v: u64| {
            i64::try_from(v)
                .ok()
                .filter(|s| *s <= i64::MAX / 1000)
                .map(Timestamp::from_secs)
                .ok_or_else(|| Error::invalid(field, "is too large"))
        };
        let since = secs("since", since.unwrap_or(0))?;
        let until = until.map(|u| secs("until", u)).transpose()?;
        if until.is_some_and(|u| u <= since) {
            // An empty window: nothing happened in it.
            return Ok(UsageTotals::default());
        }
        Ok(self.ledger.usage(app, UsageWindow { since, until }).await?)
    }

    /// On a ledger with no apps, adds `default` and returns its token.
    pub async fn ensure_default(&self) -> Result<Option<(AppName, ApiToken)>, Error> {
        if !self.ledger.list_apps().await?.is_empty() {
            return Ok(None);
        }
        match self.add("default").await {
            Ok(added) => Ok(Some(added)),
            // Another process won the race: it printed the token.
            Err(Error::AppExists(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }
}
