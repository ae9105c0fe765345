//! The one place that knows there are two backends. Statements are written once: both SQLite
//! and PostgreSQL take `$n` placeholders and `ON CONFLICT .. DO UPDATE`, so only connecting and
//! the schema differ (see [`crate::sqlite`] and [`crate::postgres`]).

use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::postgres::PgRow;
use sqlx::sqlite::SqliteRow;
use sqlx::{AssertSqlSafe, Decode, PgPool, Postgres, Row as _, Sqlite, SqlitePool, Transaction, Type};

use crate::StoreError;

/// A value bound to a statement. A null keeps its type: PostgreSQL types every parameter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Value {
    Int(Option<i64>),
    Text(Option<&'static str>),
    Bool(bool),
    Bytes(Vec<u8>),
}

impl From<i64> for Value {
    fn from(value: i64) -> Value {
        Value::Int(Some(value))
    }
}

impl From<Option<i64>> for Value {
    fn from(value: Option<i64>) -> Value {
        Value::Int(value)
    }
}

impl From<&'static str> for Value {
    fn from(value: &'static str) -> Value {
        Value::Text(Some(value))
    }
}

impl From<Option<&'static str>> for Value {
    fn from(value: Option<&'static str>) -> Value {
        Value::Text(value)
    }
}

impl From<bool> for Value {
    fn from(value: bool) -> Value {
        Value::Bool(value)
    }
}

/// Binds `values` in order to `$1`, `$2`, ...
macro_rules! bind_all {
    ($query:expr, $values:expr) => {{
        let mut query = $query;
        for value in $values {
            query = match value {
                Value::Int(v) => query.bind(*v),
                Value::Text(v) => query.bind(*v),
                Value::Bool(v) => query.bind(*v),
                Value::Bytes(v) => query.bind(v.clone()),
            };
        }
        query
    }};
}

/// A result row of either backend, decoded column by column.
pub(crate) enum Row {
    Sqlite(SqliteRow),
    Postgres(PgRow),
}

impl Row {
    /// Column `index` as `T`; a column of another type means the table holds what we never wrote.
    pub(crate) fn get<T>(&self, index: usize) -> Result<T, StoreError>
    where
        T: for<'r> Decode<'r, Sqlite> + Type<Sqlite> + for<'r> Decode<'r, Postgres> + Type<Postgres>,
    {
        match self {
            Row::Sqlite(row) => row.try_get(index),
            Row::Postgres(row) => row.try_get(index),
        }
        .map_err(|e| StoreError::Corrupt(format!("column {index}: {e}")))
    }
}

#[derive(Clone, Debug)]
pub(crate) enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

impl Pool {
    pub(crate) async fn fetch(&self, sql: &str, values: &[Value]) -> Result<Vec<Row>, StoreError> {
        Ok(match self {
            Pool::Sqlite(pool) => bind_all!(sqlx::query(AssertSqlSafe(sql)), values)
                .fetch_all(pool)
                .await?
                .into_iter()
                .map(Row::Sqlite)
                .collect(),
            Pool::Postgres(pool) => bind_all!(sqlx::query(AssertSqlSafe(sql)), values)
                .fetch_all(pool)
                .await?
                .into_iter()
                .map(Row::Postgres)
                .collect(),
        })
    }

    pub(crate) async fn begin(&self) -> Result<Tx, StoreError> {
        Ok(match self {
            Pool::Sqlite(pool) => Tx::Sqlite(pool.begin().await?),
            Pool::Postgres(pool) => Tx::Postgres(pool.begin().await?),
        })
    }
}

/// An open transaction; dropped without [`Tx::commit`], it rolls back.
pub(crate) enum Tx {
    Sqlite(Transaction<'static, Sqlite>),
    Postgres(Transaction<'static, Postgres>),
}

impl Tx {
    /// Placeholders for a multi-row statement in the style this backend binds fastest.
    pub(crate) fn rows_of_placeholders(&self, count: usize, columns: usize) -> String {
        rows_of_placeholders(count, columns, matches!(self, Tx::Postgres(_)))
    }

    pub(crate) async fn execute(&mut self, sql: &str, values: &[Value]) -> Result<u64, StoreError> {
        Ok(match self {
            Tx::Sqlite(tx) => {
                bind_all!(sqlx::query(AssertSqlSafe(sql)), values).execute(&mut **tx).await?.rows_affected()
            }
            Tx::Postgres(tx) => {
                bind_all!(sqlx::query(AssertSqlSafe(sql)), values).execute(&mut **tx).await?.rows_affected()
            }
        })
    }

    pub(crate) async fn fetch(&mut self, sql: &str, values: &[Value]) -> Result<Vec<Row>, StoreError> {
        Ok(match self {
            Tx::Sqlite(tx) => bind_all!(sqlx::query(AssertSqlSafe(sql)), values)
                .fetch_all(&mut **tx)
                .await?
                .into_iter()
                .map(Row::Sqlite)
                .collect(),
            Tx::Postgres(tx) => bind_all!(sqlx::query(AssertSqlSafe(sql)), values)
                .fetch_all(&mut **tx)
                .await?
                .into_iter()
                .map(Row::Postgres)
                .collect(),
        })
    }

    pub(crate) async fn commit(self) -> Result<(), StoreError> {
        match self {
            Tx::Sqlite(tx) => tx.commit().await?,
            Tx::Postgres(tx) => tx.commit().await?,
        }
        Ok(())
    }
}

/// Migrations compiled into the binary, each `(version, description, sql)` as its file
/// `<version>_<description>.sql` names it (the checksums match what sqlx's own tools compute).
pub(crate) fn embedded(migrations: &[(i64, &'static str, &'static str)]) -> Migrator {
    Migrator::with_migrations(
        migrations
            .iter()
            .map(|&(version, description, sql)| {
                Migration::new(
                    version,
                    description.into(),
                    MigrationType::Simple,
                    sqlx::SqlSafeStr::into_sql_str(sql),
                    false,
                )
            })
            .collect(),
    )
}

/// `count` rows of `columns` placeholders each, numbered from `$1`: `($1, $2), ($3, $4)`; or
/// all `?` (bound in order), which SQLite needs for long lists: binding a statement's numbered
/// parameters looks each one's name up in a list, which makes thousands of them quadratic.
pub(crate) fn rows_of_placeholders(count: usize, columns: usize, numbered: bool) -> String {
    let mut text = String::with_capacity(count * columns * 6);
    for row in 0..count {
        if row > 0 {
            text.push_str(", ");
        }
        text.push('(');
        for column in 0..columns {
            if column > 0 {
                text.push_str(", ");
            }
            if numbered {
                text.push('$');
                text.push_str(&(row * columns + column + 1).to_string());
            } else {
                text.push('?');
            }
        }
        text.push(')');
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_numbered_across_rows() {
        assert_eq!(rows_of_placeholders(1, 1, true), "($1)");
        assert_eq!(rows_of_placeholders(2, 3, true), "($1, $2, $3), ($4, $5, $6)");
        assert_eq!(rows_of_placeholders(2, 2, false), "(?, ?), (?, ?)");
    }
}
