//! Cross-node long-poll wake-ups over PostgreSQL `LISTEN`/`NOTIFY`.
//!
//! Why: with several nodes behind a load balancer, the device long-polling
//! node B must wake when node A creates a request for its account, and the
//! browser long-polling node A must wake when the phone's answer lands on
//! node B. The in-process [`LocalHub`] cannot see that; PostgreSQL, which
//! every node already talks to, can carry it.
//!
//! How:
//! - publishing: [`PgWake::publish`] (called by `Hub::notify_*` after the
//!   store committed) queues `<a|r>:<node>:<key>` on a bounded channel; one
//!   task per node drains it in batches into
//!   `SELECT pg_notify('countersign_wake', …)` on a pooled connection.
//!   A full queue or a failed publish drops the wake-up (waiters still
//!   re-read the database when their long-poll ends);
//! - listening: one task per node holds a dedicated connection with
//!   `LISTEN countersign_wake` and feeds every notification from another
//!   node into the local hub (its own are skipped: they were delivered
//!   locally already). If the connection drops it reconnects with
//!   exponential backoff (0.2 s … 10 s) and, once listening again, wakes
//!   every local waiter, since notifications in between were lost. A
//!   `SELECT 1` every 30 s notices a silently dead connection.
//!
//! Payloads carry an account name or a request id: neither is a secret.

use std::future::poll_fn;
use std::sync::Arc;
use std::time::Duration;

use deadpool_postgres::Pool;
use tokio::sync::{mpsc, watch};
use tokio_postgres::{AsyncMessage, NoTls};

use super::{PgStore, StoreError};
use crate::clock::Clock;
use crate::crypto::random_id;
use crate::hub::{LocalHub, WakeRemote, WakeTopic};
use crate::log::Logger;

/// The `LISTEN`/`NOTIFY` channel.
pub(crate) const CHANNEL: &str = "countersign_wake";
/// Wake-ups queued for publishing before new ones are dropped.
const QUEUE: usize = 4096;
/// Most wake-ups sent in one statement.
const BATCH: usize = 256;
const BACKOFF_MIN: Duration = Duration::from_millis(200);
const BACKOFF_MAX: Duration = Duration::from_secs(10);
const HEALTH_EVERY: Duration = Duration::from_secs(30);
const HEALTH_TIMEOUT: Duration = Duration::from_secs(10);

/// The publishing half, held by the [`crate::hub::Hub`].
pub(crate) struct PgWake {
    node: String,
    queue: mpsc::Sender<String>,
}

impl WakeRemote for PgWake {
    fn publish(&self, topic: WakeTopic, key: &str) {
        let tag = match topic {
            WakeTopic::Account => 'a',
            WakeTopic::Request => 'r',
        };
        // Full queue (database unreachable for long): drop, waiters re-read.
        let _ = self.queue.try_send(format!("{tag}:{}:{key}", self.node));
    }
}

/// Starts the publisher and listener tasks of this node; they end when
/// `shutdown` becomes `true` (listener) or the returned [`PgWake`] is
/// dropped (publisher).
pub(crate) fn start(
    store: &PgStore,
    local: Arc<LocalHub>,
    shutdown: watch::Receiver<bool>,
    logger: Logger,
    clock: Arc<dyn Clock>,
) -> Result<PgWake, StoreError> {
    let node: String = random_id()
        .map_err(|_| StoreError::Random)?
        .chars()
        .take(12)
        .collect();
    let (queue, rx) = mpsc::channel(QUEUE);
    let log = Log { logger, clock };
    tokio::spawn(publish_loop(store.pool().clone(), rx, log.clone()));
    let mut config = store.config().clone();
    config.keepalives(true);
    config.keepalives_idle(Duration::from_secs(30));
    tokio::spawn(listen_loop(config, local, node.clone(), shutdown, log));
    Ok(PgWake { node, queue })
}

#[derive(Clone)]
struct Log {
    logger: Logger,
    clock: Arc<dyn Clock>,
}

impl Log {
    fn line(&self, line: std::fmt::Arguments<'_>) {
        self.logger.info(self.clock.now(), line);
    }
}

async fn publish_loop(pool: Pool, mut rx: mpsc::Receiver<String>, log: Log) {
    while let Some(first) = rx.recv().await {
        let mut batch = vec![first];
        while batch.len() < BATCH {
            match rx.try_recv() {
                Ok(p) => batch.push(p),
                Err(_) => break,
            }
        }
        let result: Result<(), StoreError> = async {
            let client = pool.get().await?;
            client
                .execute(
                    "SELECT pg_notify('countersign_wake', p) FROM unnest($1::text[]) AS p",
                    &[&batch],
                )
                .await?;
            Ok(())
        }
        .await;
        if let Err(e) = result {
            log.line(format_args!(
                "cross-node wake-up not sent ({} dropped): {e}",
                batch.len()
            ));
        }
    }
}

async fn listen_loop(
    config: tokio_postgres::Config,
    local: Arc<LocalHub>,
    node: String,
    mut shutdown: watch::Receiver<bool>,
    log: Log,
) {
    let mut backoff = BACKOFF_MIN;
    loop {
        if *shutdown.borrow() {
            return;
        }
        let mut listening = false;
        let result = tokio::select! {
            r = listen_once(&config, &local, &node, &mut listening) => r,
            _ = shutdown.changed() => return,
        };
        if listening {
            backoff = BACKOFF_MIN;
        }
        match result {
            Ok(()) => log.line(format_args!(
                "wake-up listener: connection closed, reconnecting"
            )),
            Err(e) => log.line(format_args!(
                "wake-up listener: {}, retrying in {} ms",
                StoreError::from(e),
                backoff.as_millis()
            )),
        }
        tokio::select! {
            _ = tokio::time::sleep(backoff) => {}
            _ = shutdown.changed() => return,
        }
        backoff = (backoff * 2).min(BACKOFF_MAX);
    }
}

/// One connection's life: `LISTEN`, then dispatch until it fails.
async fn listen_once(
    config: &tokio_postgres::Config,
    local: &LocalHub,
    node: &str,
    listening: &mut bool,
) -> Result<(), tokio_postgres::Error> {
    let (client, mut connection) = config.connect(NoTls).await?;
    let (tx, mut rx) = mpsc::unbounded_channel();
    // Drives the socket: answers to our queries and notifications.
    let driver = async move {
        loop {
            match poll_fn(|cx| connection.poll_message(cx)).await {
                Some(Ok(AsyncMessage::Notification(n))) => {
                    let _ = tx.send(n);
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(e),
                None => return Ok(()),
            }
        }
    };
    let work = async {
        client.batch_execute(&format!("LISTEN {CHANNEL}")).await?;
        *listening = true;
        // Notifications sent before this point (while reconnecting) are
        // lost: every local waiter re-reads the database.
        local.notify_all();
        let mut health = tokio::time::interval(HEALTH_EVERY);
        health.tick().await;
        loop {
            tokio::select! {
                n = rx.recv() => match n {
                    Some(n) => dispatch(local, node, n.payload()),
                    None => return Ok(()),
                },
                _ = health.tick() => {
                    match tokio::time::timeout(HEALTH_TIMEOUT, client.simple_query("SELECT 1")).await {
                        Ok(r) => { r?; }
                        Err(_) => return Ok(()),
                    }
                }
            }
        }
    };
    tokio::select! {
        r = driver => r,
        r = work => r,
    }
}

/// Wakes local waiters for a payload from another node.
fn dispatch(local: &LocalHub, node: &str, payload: &str) {
    let mut parts = payload.splitn(3, ':');
    let (Some(tag), Some(from), Some(key)) = (parts.next(), parts.next(), parts.next()) else {
        return;
    };
    if from == node {
        return;
    }
    match tag {
        "a" => local.notify(WakeTopic::Account, key),
        "r" => local.notify(WakeTopic::Request, key),
        _ => {}
    }
}
