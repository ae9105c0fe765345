//! PostgreSQL: history for a venue that outgrows one file.

use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;

use crate::StoreError;
use crate::sql::embedded;

const CONNECTIONS: u32 = 8;

/// The schema's versions, oldest first; a schema change is a new file and a new line here.
const MIGRATIONS: &[(i64, &str, &str)] = &[
    (1, "history", include_str!("../migrations/postgres/0001_history.sql")),
    (2, "lending", include_str!("../migrations/postgres/0002_lending.sql")),
    (3, "perps", include_str!("../migrations/postgres/0003_perps.sql")),
    (4, "liquidations", include_str!("../migrations/postgres/0004_liquidations.sql")),
    (5, "position volumes", include_str!("../migrations/postgres/0005_position_volumes.sql")),
];

pub(crate) async fn open(url: &str) -> Result<PgPool, StoreError> {
    let pool = PgPoolOptions::new().max_connections(CONNECTIONS).connect(url).await?;
    embedded(MIGRATIONS).run(&pool).await?;
    Ok(pool)
}
