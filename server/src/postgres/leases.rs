//! [`Store::try_lease`](crate::store::Store::try_lease) on Postgres: a session advisory lock per
//! key, taken on a few dedicated connections of this process ([`SESSIONS`]). Postgres makes them
//! exclusive across sessions (so across server processes), and drops them when the session ends,
//! so a process that dies leaves no lease behind. Within a session they stack (a second
//! `pg_try_advisory_lock` of the same key succeeds), so each session also keeps the set of keys
//! this process holds on it, under the mutex that orders its short lock and unlock calls.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, MutexGuard};

use postgres::{Client, NoTls, Statement};
use sha2::{Digest, Sha256};

use crate::store::{IdemKey, Lease, StoreError, StoreResult};

/// The advisory lock key of an idempotency key: 64 bits of its SHA-256 (a collision would only
/// make two keys wait for each other).
fn lock_id(key: &IdemKey) -> i64 {
    let mut h = Sha256::new();
    for part in [key.endpoint, key.scope.as_str(), key.key.as_str()] {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part.as_bytes());
    }
    let digest = h.finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    i64::from_be_bytes(first)
}

/// The session's connection, with `pg_try_advisory_lock` and `pg_advisory_unlock` prepared.
struct Conn {
    client: Client,
    lock: Statement,
    unlock: Statement,
}

struct Session {
    config: postgres::Config,
    conn: Option<Conn>,
    /// Lock ids held by this process.
    held: HashSet<i64>,
}

impl Session {
    /// The live connection, reconnecting after a failure (leases of the lost session were
    /// released by Postgres when it ended; their holders' unlocks then find nothing).
    fn conn(&mut self) -> Result<&mut Conn, postgres::Error> {
        let conn = match self.conn.take() {
            Some(c) if !c.client.is_closed() => c,
            _ => {
                // The old session's locks are gone: its holders' keys could be taken elsewhere.
                if !self.held.is_empty() {
                    eprintln!(
                        "momentum-server: postgres: the lease connection was lost with {} lease(s)",
                        self.held.len()
                    );
                }
                let mut client = self.config.connect(NoTls)?;
                let lock = client.prepare("SELECT pg_try_advisory_lock($1)")?;
                let unlock = client.prepare("SELECT pg_advisory_unlock($1)")?;
                Conn {
                    client,
                    lock,
                    unlock,
                }
            }
        };
        Ok(self.conn.insert(conn))
    }
}

/// Lease sessions per process: a key always goes to the same one (by its lock id), so each
/// session's `held` set sees every lease of its keys, and calls on different sessions run side by
/// side instead of queueing on one connection.
const SESSIONS: usize = 4;

/// The lease sessions of one store.
pub struct Leases(Vec<Arc<Mutex<Session>>>);

fn session(m: &Mutex<Session>) -> MutexGuard<'_, Session> {
    // A panic mid-call leaves at worst a closed client, which `conn()` replaces.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Leases {
    /// Connects lazily, on the first lease of each session.
    pub fn new(config: postgres::Config) -> Leases {
        Leases(
            (0..SESSIONS)
                .map(|_| {
                    Arc::new(Mutex::new(Session {
                        config: config.clone(),
                        conn: None,
                        held: HashSet::new(),
                    }))
                })
                .collect(),
        )
    }

    /// Takes the lease of `key`, or `None` while another session holds it.
    pub fn try_take(&self, key: &IdemKey) -> StoreResult<Option<Lease>> {
        let id = lock_id(key);
        let home = &self.0[id.rem_euclid(SESSIONS as i64) as usize];
        let mut s = session(home);
        if s.held.contains(&id) {
            return Ok(None);
        }
        let taken: bool = s
            .conn()
            .and_then(|c| c.client.query_one(&c.lock, &[&id]))
            .and_then(|r| r.try_get(0))
            .map_err(|e| StoreError(format!("postgres: lease: {e}")))?;
        if !taken {
            return Ok(None);
        }
        s.held.insert(id);
        drop(s);
        let shared = home.clone();
        Ok(Some(Lease::new(move || {
            let mut s = session(&shared);
            s.held.remove(&id);
            if let Err(e) = s.conn().and_then(|c| c.client.execute(&c.unlock, &[&id])) {
                // The session is gone, and its locks with it.
                eprintln!("momentum-server: postgres: releasing a lease: {e}");
            }
        })))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_ids_tell_the_parts_apart() {
        let key = |endpoint, scope: &str, k: &str| IdemKey {
            endpoint,
            scope: scope.into(),
            key: k.into(),
        };
        assert_eq!(
            lock_id(&key("addon", "o", "k")),
            lock_id(&key("addon", "o", "k"))
        );
        assert_ne!(
            lock_id(&key("addon", "ok", "")),
            lock_id(&key("addon", "o", "k"))
        );
        assert_ne!(
            lock_id(&key("addon", "o", "k")),
            lock_id(&key("charge", "o", "k"))
        );
    }
}
