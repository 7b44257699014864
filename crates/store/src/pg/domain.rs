//! Small helpers shared by the PostgreSQL domain modules (`pg/water.rs`, `pg/alarms.rs`, …).

use std::collections::HashMap;
use std::hash::Hash;

use postgres::error::SqlState;
use postgres::types::ToSql;

use crate::{Result, StoreError};

/// A float as SQLite stores it: SQLite turns NaN into NULL (so an optional value reads back
/// as `None` and a NaN in a NOT NULL column is refused); PostgreSQL would keep the NaN.
pub(crate) fn num(v: f64) -> Option<f64> {
    (!v.is_nan()).then_some(v)
}

/// [`num`] for an optional float.
pub(crate) fn opt_num(v: Option<f64>) -> Option<f64> {
    v.filter(|v| !v.is_nan())
}

/// Refuses text PostgreSQL cannot store (a NUL byte; SQLite keeps it), naming the field, so
/// the caller gets "what and where" rather than the server's encoding error.
pub(crate) fn no_nul(fields: &[(&str, &str)]) -> Result<()> {
    match fields.iter().find(|(_, v)| v.contains('\0')) {
        Some((what, _)) => Err(StoreError::Invalid(format!(
            "{what} contains a NUL byte, which PostgreSQL text cannot store"
        ))),
        None => Ok(()),
    }
}

/// Whether `e` is a unique-constraint violation (the case SQLite reports as a constraint error).
pub(crate) fn is_unique_violation(e: &postgres::Error) -> bool {
    e.code() == Some(&SqlState::UNIQUE_VIOLATION)
}

/// `$n` placeholders for optional equality filters (`AND col = $n`), numbered after `first`
/// bound parameters. Returns the clause and the values to bind, in order.
pub(crate) fn and_eq<'a>(
    first: usize,
    filters: &[(&str, Option<&'a str>)],
) -> (String, Vec<&'a str>) {
    let mut sql = String::new();
    let mut args = Vec::new();
    for (col, v) in filters {
        if let Some(v) = v {
            args.push(*v);
            sql.push_str(&format!(" AND {col} = ${}", first + args.len()));
        }
    }
    (sql, args)
}

/// `col = excluded.col` for every column of `cols` not in `key`.
fn set_excluded(cols: &str, key: &[&str]) -> String {
    cols.split(',')
        .map(str::trim)
        .filter(|c| !key.contains(c))
        .map(|c| format!("{c} = excluded.{c}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// One value of a row written by [`upsert_all`], typed even when NULL so that a column can be
/// sent as one PostgreSQL array. Floats go through [`num`]: NaN is NULL, as in SQLite.
pub(crate) enum Val<'a> {
    Text(Option<&'a str>),
    Int(Option<i64>),
    Float(Option<f64>),
    Bool(bool),
}

impl<'a> From<&'a String> for Val<'a> {
    fn from(v: &'a String) -> Self {
        Val::Text(Some(v))
    }
}
impl<'a> From<&'a str> for Val<'a> {
    fn from(v: &'a str) -> Self {
        Val::Text(Some(v))
    }
}
impl<'a> From<&'a Option<String>> for Val<'a> {
    fn from(v: &'a Option<String>) -> Self {
        Val::Text(v.as_deref())
    }
}
impl From<i64> for Val<'_> {
    fn from(v: i64) -> Self {
        Val::Int(Some(v))
    }
}
impl From<Option<i64>> for Val<'_> {
    fn from(v: Option<i64>) -> Self {
        Val::Int(v)
    }
}
impl From<f64> for Val<'_> {
    fn from(v: f64) -> Self {
        Val::Float(num(v))
    }
}
impl From<Option<f64>> for Val<'_> {
    fn from(v: Option<f64>) -> Self {
        Val::Float(opt_num(v))
    }
}
impl From<bool> for Val<'_> {
    fn from(v: bool) -> Self {
        Val::Bool(v)
    }
}

/// `vec![Val::from(a), …]`.
macro_rules! vals {
    ($($e:expr),* $(,)?) => { vec![$($crate::pg::domain::Val::from($e)),*] };
}
pub(crate) use vals;

/// One column of a chunk, as the array bound for `unnest`.
enum Column<'a> {
    Text(Vec<Option<&'a str>>),
    Int(Vec<Option<i64>>),
    Float(Vec<Option<f64>>),
    Bool(Vec<bool>),
}

impl<'a> Column<'a> {
    fn of(v: &Val<'a>, n: usize) -> Self {
        match v {
            Val::Text(_) => Column::Text(Vec::with_capacity(n)),
            Val::Int(_) => Column::Int(Vec::with_capacity(n)),
            Val::Float(_) => Column::Float(Vec::with_capacity(n)),
            Val::Bool(_) => Column::Bool(Vec::with_capacity(n)),
        }
    }
    fn push(&mut self, v: Val<'a>) {
        match (self, v) {
            (Column::Text(c), Val::Text(v)) => c.push(v),
            (Column::Int(c), Val::Int(v)) => c.push(v),
            (Column::Float(c), Val::Float(v)) => c.push(v),
            (Column::Bool(c), Val::Bool(v)) => c.push(v),
            _ => unreachable!("a column keeps the type of its first row (same code writes all)"),
        }
    }
    fn sql_type(&self) -> &'static str {
        match self {
            Column::Text(_) => "TEXT[]",
            Column::Int(_) => "BIGINT[]",
            Column::Float(_) => "DOUBLE PRECISION[]",
            Column::Bool(_) => "BOOLEAN[]",
        }
    }
    fn param(&self) -> &(dyn ToSql + Sync) {
        match self {
            Column::Text(c) => c,
            Column::Int(c) => c,
            Column::Float(c) => c,
            Column::Bool(c) => c,
        }
    }
}

/// Rows per statement of [`upsert_all`].
const CHUNK_ROWS: usize = 10_000;

/// Writes `rows` into `table` as SQLite's `INSERT OR REPLACE` does one row at a time on a
/// table whose only unique key is `key` — the last row of a key wins — but a column at a time:
/// `INSERT … SELECT unnest($1::TEXT[]), … ON CONFLICT DO UPDATE`, one round trip per ten
/// thousand rows rather than per row (`unnest` in the select list, as the base store's commit:
/// `FROM unnest(…)` would first copy the rows into a tuplestore). Rows repeating a key are reduced to the last one
/// first, since one statement may not update a row twice. `values_of` gives a row's values in
/// the order of `cols`.
pub(crate) fn upsert_all<'a, T, K: Eq + Hash>(
    tx: &mut postgres::Transaction<'_>,
    table: &str,
    cols: &str,
    key: &[&str],
    rows: &'a [T],
    key_of: impl Fn(&'a T) -> K,
    values_of: impl Fn(&'a T) -> Vec<Val<'a>>,
) -> Result<()> {
    let mut last: HashMap<K, usize> = HashMap::with_capacity(rows.len());
    for (i, r) in rows.iter().enumerate() {
        last.insert(key_of(r), i);
    }
    let keep: Vec<&'a T> = rows
        .iter()
        .enumerate()
        .filter(|(i, r)| last.len() == rows.len() || last[&key_of(r)] == *i)
        .map(|(_, r)| r)
        .collect();
    let ncols = cols.split(',').count();
    for chunk in keep.chunks(CHUNK_ROWS) {
        let mut columns: Vec<Column<'a>> = Vec::with_capacity(ncols);
        for r in chunk {
            let vals = values_of(r);
            debug_assert_eq!(vals.len(), ncols, "one value per column of {table}");
            if columns.is_empty() {
                columns = vals.iter().map(|v| Column::of(v, chunk.len())).collect();
            }
            for (c, v) in columns.iter_mut().zip(vals) {
                c.push(v);
            }
        }
        let arrays = columns
            .iter()
            .enumerate()
            .map(|(i, c)| format!("unnest(${}::{})", i + 1, c.sql_type()))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "INSERT INTO {table}({cols}) SELECT {arrays}
             ON CONFLICT({}) DO UPDATE SET {}",
            key.join(", "),
            set_excluded(cols, key)
        );
        let params: Vec<&(dyn ToSql + Sync)> = columns.iter().map(Column::param).collect();
        tx.execute(sql.as_str(), &params)?;
    }
    Ok(())
}

/// A `LIMIT` as the SQLite store binds it (`n as i64`): a count past `i64::MAX` wraps negative,
/// which SQLite reads as "no limit"; PostgreSQL refuses a negative LIMIT but reads NULL so.
pub(crate) fn limit(n: usize) -> Option<i64> {
    Some(n as i64).filter(|n| *n >= 0)
}

/// An `OFFSET` as the SQLite store binds it: SQLite reads a negative one as 0.
pub(crate) fn offset(n: usize) -> i64 {
    (n as i64).max(0)
}
