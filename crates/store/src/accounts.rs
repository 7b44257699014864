//! Store extension: accounts of the web platform — users, login sessions and API tokens, and
//! the append-only audit log (审计日志).
//!
//! The store keeps what it is given: password hashes (argon2 PHC strings) are made by the
//! caller (`web::auth`), and sessions/tokens are stored by the SHA-256 of their secret only, so
//! a copy of the data folder does not let anyone log in. The audit table refuses UPDATE and
//! DELETE (triggers): entries are only ever appended.

use rusqlite::{params, OptionalExtension, Row};
use serde::Serialize;

use crate::{Result, SqliteStore, StoreError};

/// Tables of this domain, created when a store opens.
pub(crate) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS users (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    display TEXT NOT NULL DEFAULT '',
    role TEXT NOT NULL,
    scope TEXT,
    pw_hash TEXT NOT NULL,
    disabled INTEGER NOT NULL DEFAULT 0,
    created_ms INTEGER NOT NULL,
    updated_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS auth_sessions (
    secret_sha256 TEXT PRIMARY KEY,
    user_id INTEGER NOT NULL,
    kind TEXT NOT NULL,
    label TEXT NOT NULL DEFAULT '',
    created_ms INTEGER NOT NULL,
    expires_ms INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS auth_sessions_user ON auth_sessions(user_id);
CREATE TABLE IF NOT EXISTS audit_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at_ms INTEGER NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    object TEXT NOT NULL,
    before TEXT,
    after TEXT,
    peer TEXT NOT NULL DEFAULT ''
);
CREATE TRIGGER IF NOT EXISTS audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
";

/// A platform user. `role` and `scope` are plain text here; `web::auth::Role` gives them
/// meaning (scope = town code for a town official, enterprise code for an operator).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct User {
    pub id: i64,
    pub name: String,
    pub display: String,
    pub role: String,
    pub scope: Option<String>,
    #[serde(skip)]
    pub pw_hash: String,
    pub disabled: bool,
    pub created_ms: i64,
    pub updated_ms: i64,
}

/// A new user (or the fields of an update).
#[derive(Debug, Clone, Default)]
pub struct NewUser {
    pub name: String,
    pub display: String,
    pub role: String,
    pub scope: Option<String>,
    pub pw_hash: String,
}

/// A login session (`kind = "session"`) or an API token (`kind = "token"`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuthSession {
    #[serde(skip)]
    pub secret_sha256: String,
    pub user_id: i64,
    pub kind: String,
    pub label: String,
    pub created_ms: i64,
    pub expires_ms: i64,
}

/// One audit entry: who did what to which object, with the object before and after (JSON).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditEntry {
    pub id: i64,
    pub at_ms: i64,
    pub actor: String,
    pub action: String,
    pub object: String,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
    pub peer: String,
}

/// Accounts and audit: implemented by [`SqliteStore`] and [`crate::PgStore`].
pub trait AccountStore {
    fn create_user(&mut self, u: &NewUser, now_ms: i64) -> Result<User>;
    fn user(&self, id: i64) -> Result<Option<User>>;
    fn user_by_name(&self, name: &str) -> Result<Option<User>>;
    fn users(&self) -> Result<Vec<User>>;
    fn user_count(&self) -> Result<i64>;
    fn set_password(&mut self, id: i64, pw_hash: &str, now_ms: i64) -> Result<()>;
    /// Disables (or re-enables) a user; disabling also ends their sessions and tokens.
    fn set_disabled(&mut self, id: i64, disabled: bool, now_ms: i64) -> Result<()>;

    fn put_session(&mut self, s: &AuthSession) -> Result<()>;
    /// The session or token with this secret hash and its user, if neither expired nor disabled.
    fn session(&self, secret_sha256: &str, now_ms: i64) -> Result<Option<(AuthSession, User)>>;
    fn delete_session(&mut self, secret_sha256: &str) -> Result<bool>;
    fn prune_sessions(&mut self, now_ms: i64) -> Result<u64>;

    /// Appends an audit entry; returns its id.
    #[allow(clippy::too_many_arguments)]
    fn append_audit(
        &mut self,
        at_ms: i64,
        actor: &str,
        action: &str,
        object: &str,
        before: Option<&serde_json::Value>,
        after: Option<&serde_json::Value>,
        peer: &str,
    ) -> Result<i64>;
    /// Newest first, `offset`/`limit` for paging; with the total count.
    fn audit(&self, offset: usize, limit: usize) -> Result<(Vec<AuditEntry>, u64)>;
}

const USER_COLS: &str = "id, name, display, role, scope, pw_hash, disabled, created_ms, updated_ms";

fn user_row(r: &Row<'_>) -> rusqlite::Result<User> {
    Ok(User {
        id: r.get(0)?,
        name: r.get(1)?,
        display: r.get(2)?,
        role: r.get(3)?,
        scope: r.get(4)?,
        pw_hash: r.get(5)?,
        disabled: r.get::<_, i64>(6)? != 0,
        created_ms: r.get(7)?,
        updated_ms: r.get(8)?,
    })
}

/// A JSON text column (text that is not JSON comes back a string); both stores.
pub(crate) fn json_col(t: Option<String>) -> Option<serde_json::Value> {
    t.map(|s| serde_json::from_str(&s).unwrap_or(serde_json::Value::String(s)))
}

impl AccountStore for SqliteStore {
    fn create_user(&mut self, u: &NewUser, now_ms: i64) -> Result<User> {
        if u.name.trim().is_empty() {
            return Err(StoreError::Invalid("user name is empty".into()));
        }
        if self.user_by_name(&u.name)?.is_some() {
            return Err(StoreError::Invalid(format!("user {} exists", u.name)));
        }
        self.conn.execute(
            "INSERT INTO users (name, display, role, scope, pw_hash, disabled, created_ms, updated_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, 0, ?6, ?6)",
            params![u.name, u.display, u.role, u.scope, u.pw_hash, now_ms],
        )?;
        let id = self.conn.last_insert_rowid();
        self.user(id)?
            .ok_or_else(|| StoreError::NotFound(format!("user {id}")))
    }

    fn user(&self, id: i64) -> Result<Option<User>> {
        Ok(self
            .conn
            .query_row(
                &format!("SELECT {USER_COLS} FROM users WHERE id = ?1"),
                [id],
                user_row,
            )
            .optional()?)
    }

    fn user_by_name(&self, name: &str) -> Result<Option<User>> {
        Ok(self
            .conn
            .query_row(
                &format!("SELECT {USER_COLS} FROM users WHERE name = ?1"),
                [name],
                user_row,
            )
            .optional()?)
    }

    fn users(&self) -> Result<Vec<User>> {
        let mut st = self
            .conn
            .prepare(&format!("SELECT {USER_COLS} FROM users ORDER BY id"))?;
        let rows = st.query_map([], user_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn user_count(&self) -> Result<i64> {
        Ok(self
            .conn
            .query_row("SELECT count(*) FROM users", [], |r| r.get(0))?)
    }

    fn set_password(&mut self, id: i64, pw_hash: &str, now_ms: i64) -> Result<()> {
        let n = self.conn.execute(
            "UPDATE users SET pw_hash = ?2, updated_ms = ?3 WHERE id = ?1",
            params![id, pw_hash, now_ms],
        )?;
        if n == 0 {
            return Err(StoreError::NotFound(format!("user {id}")));
        }
        // A new password ends the old sessions (tokens stay: they are separate credentials).
        self.conn.execute(
            "DELETE FROM auth_sessions WHERE user_id = ?1 AND kind = 'session'",
            [id],
        )?;
        Ok(())
    }

    fn set_disabled(&mut self, id: i64, disabled: bool, now_ms: i64) -> Result<()> {
        let n = self.conn.execute(
            "UPDATE users SET disabled = ?2, updated_ms = ?3 WHERE id = ?1",
            params![id, disabled as i64, now_ms],
        )?;
        if n == 0 {
            return Err(StoreError::NotFound(format!("user {id}")));
        }
        if disabled {
            self.conn
                .execute("DELETE FROM auth_sessions WHERE user_id = ?1", [id])?;
        }
        Ok(())
    }

    fn put_session(&mut self, s: &AuthSession) -> Result<()> {
        self.conn.execute(
            "INSERT OR REPLACE INTO auth_sessions (secret_sha256, user_id, kind, label, created_ms, expires_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![s.secret_sha256, s.user_id, s.kind, s.label, s.created_ms, s.expires_ms],
        )?;
        Ok(())
    }

    fn session(&self, secret_sha256: &str, now_ms: i64) -> Result<Option<(AuthSession, User)>> {
        let s = self
            .conn
            .prepare_cached(
                "SELECT secret_sha256, user_id, kind, label, created_ms, expires_ms
                 FROM auth_sessions WHERE secret_sha256 = ?1 AND expires_ms > ?2",
            )?
            .query_row(params![secret_sha256, now_ms], |r| {
                Ok(AuthSession {
                    secret_sha256: r.get(0)?,
                    user_id: r.get(1)?,
                    kind: r.get(2)?,
                    label: r.get(3)?,
                    created_ms: r.get(4)?,
                    expires_ms: r.get(5)?,
                })
            })
            .optional()?;
        let Some(s) = s else { return Ok(None) };
        match self.user(s.user_id)? {
            Some(u) if !u.disabled => Ok(Some((s, u))),
            _ => Ok(None),
        }
    }

    fn delete_session(&mut self, secret_sha256: &str) -> Result<bool> {
        Ok(self.conn.execute(
            "DELETE FROM auth_sessions WHERE secret_sha256 = ?1",
            [secret_sha256],
        )? > 0)
    }

    fn prune_sessions(&mut self, now_ms: i64) -> Result<u64> {
        Ok(self
            .conn
            .execute("DELETE FROM auth_sessions WHERE expires_ms <= ?1", [now_ms])?
            as u64)
    }

    fn append_audit(
        &mut self,
        at_ms: i64,
        actor: &str,
        action: &str,
        object: &str,
        before: Option<&serde_json::Value>,
        after: Option<&serde_json::Value>,
        peer: &str,
    ) -> Result<i64> {
        self.conn.execute(
            "INSERT INTO audit_log (at_ms, actor, action, object, before, after, peer)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                at_ms,
                actor,
                action,
                object,
                before.map(|v| v.to_string()),
                after.map(|v| v.to_string()),
                peer
            ],
        )?;
        Ok(self.conn.last_insert_rowid())
    }

    fn audit(&self, offset: usize, limit: usize) -> Result<(Vec<AuditEntry>, u64)> {
        let total: i64 = self
            .conn
            .query_row("SELECT count(*) FROM audit_log", [], |r| r.get(0))?;
        let mut st = self.conn.prepare(
            "SELECT id, at_ms, actor, action, object, before, after, peer FROM audit_log
             ORDER BY id DESC LIMIT ?1 OFFSET ?2",
        )?;
        let rows = st.query_map(params![limit as i64, offset as i64], |r| {
            Ok(AuditEntry {
                id: r.get(0)?,
                at_ms: r.get(1)?,
                actor: r.get(2)?,
                action: r.get(3)?,
                object: r.get(4)?,
                before: json_col(r.get(5)?),
                after: json_col(r.get(6)?),
                peer: r.get(7)?,
            })
        })?;
        Ok((rows.collect::<rusqlite::Result<_>>()?, total as u64))
    }
}
