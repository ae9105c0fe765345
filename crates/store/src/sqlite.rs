//! SQLite: one file beside the node, written ahead (WAL) so readers never wait on the projector.

use std::str::FromStr;
use std::time::Duration;

use sqlx::SqlitePool;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

use crate::StoreError;
use crate::sql::embedded;

/// Readers run beside the projector's writes; a few connections are plenty for one file.
const CONNECTIONS: u32 = 4;
/// How long a writer waits for another's lock before reporting the database busy.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// The schema's versions, oldest first; a schema change is a new file and a new line here.
const MIGRATIONS: &[(i64, &str, &str)] = &[
    (1, "history", include_str!("../migrations/sqlite/0001_history.sql")),
    (2, "lending", include_str!("../migrations/sqlite/0002_lending.sql")),
    (3, "perps", include_str!("../migrations/sqlite/0003_perps.sql")),
    (4, "liquidations", include_str!("../migrations/sqlite/0004_liquidations.sql")),
    (5, "position volumes", include_str!("../migrations/sqlite/0005_position_volumes.sql")),
];

pub(crate) async fn open(url: &str) -> Result<SqlitePool, StoreError> {
    let options = SqliteConnectOptions::from_str(url)?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        // With WAL, NORMAL loses at most the last transactions on power loss, never consistency;
        // the journal replays whatever the store lost.
        .synchronous(SqliteSynchronous::Normal)
        .busy_timeout(BUSY_TIMEOUT);
    let pool = SqlitePoolOptions::new().max_connections(CONNECTIONS).connect_with(options).await?;
    embedded(MIGRATIONS).run(&pool).await?;
    Ok(pool)
}
