//! `qingshan migrate`: moves an embedded installation (a SQLite data folder) into PostgreSQL.
//!
//! Table by table, generically: every table of the data folder that the PostgreSQL schema also
//! has is copied with binary `COPY`, each value converted to the PostgreSQL column's type, in
//! one transaction, then the id sequences are moved past the copied ids. Derived tables and
//! their watermarks come along, so the engines carry on where the embedded store left off
//! instead of re-deriving years. The target must be empty: a half-filled database would mix
//! two installations.

use postgres::binary_copy::BinaryCopyInWriter;
use postgres::types::{ToSql, Type};
use rusqlite::types::Value;

use crate::pg::PgStore;
use crate::{Result, SqliteStore, StoreError};

/// What was copied of one table.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TableCopied {
    pub table: String,
    pub rows: u64,
}

/// Tables that belong to one store's own bookkeeping and are not copied.
const SKIP: &[&str] = &["meta", "schema_migrations"];

/// Copies every table of `src` into `dst` (which must hold no data). `progress` is told about
/// each table when it is done. Blocking: call it from a plain thread, not inside a tokio
/// runtime.
pub fn sqlite_to_postgres(
    src: &SqliteStore,
    dst: &PgStore,
    progress: &mut dyn FnMut(&TableCopied),
) -> Result<Vec<TableCopied>> {
    let tables: Vec<String> = {
        let mut st = src.conn.prepare(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'
             ORDER BY name",
        )?;
        let rows = st.query_map([], |r| r.get::<_, String>(0))?;
        rows.collect::<rusqlite::Result<_>>()?
    };
    let mut plan = Vec::new();
    for t in &tables {
        if SKIP.contains(&t.as_str()) {
            continue;
        }
        let cols = dst.columns_of(t)?;
        if cols.is_empty() {
            return Err(StoreError::Invalid(format!(
                "table {t} of the data folder has no counterpart in PostgreSQL (schema mismatch: \
                 is this qingshan older than the data folder?)"
            )));
        }
        let src_cols: Vec<String> = {
            let mut st = src.conn.prepare(&format!("PRAGMA table_info(\"{t}\")"))?;
            let rows = st.query_map([], |r| r.get::<_, String>(1))?;
            rows.collect::<rusqlite::Result<_>>()?
        };
        for c in &src_cols {
            if !cols.iter().any(|(n, _)| n == c) {
                return Err(StoreError::Invalid(format!(
                    "column {t}.{c} of the data folder has no counterpart in PostgreSQL"
                )));
            }
        }
        // Copy the columns both have; PostgreSQL-only columns take their defaults.
        let cols: Vec<(String, Type)> = cols
            .into_iter()
            .filter(|(n, _)| src_cols.contains(n))
            .collect();
        plan.push((t.clone(), cols));
    }
    for (t, _) in &plan {
        if dst.has_rows(t)? {
            return Err(StoreError::Invalid(format!(
                "PostgreSQL table {t} already holds rows: migrate into an empty database"
            )));
        }
    }
    if tables.iter().any(|t| t == "measurements") {
        // Every month that holds a value gets its partition before the copy routes rows.
        let mut months = std::collections::BTreeSet::new();
        let mut st = src
            .conn
            .prepare("SELECT DISTINCT time / 86400 FROM measurements")?;
        let mut rows = st.query([])?;
        while let Some(r) = rows.next()? {
            // SQLite divides toward zero: cover the days either side of the boundary too
            // (times before 1970); a spare empty partition is harmless.
            let day: i64 = r.get(0)?;
            let t = day.saturating_mul(86_400);
            for t in [t.saturating_sub(86_400), t, t.saturating_add(86_399)] {
                months.insert(crate::pg::base::month_of(t));
            }
        }
        let months: Vec<i64> = months.into_iter().collect();
        dst.with(move |c| crate::pg::base::create_partitions(c, &months, None))?;
    }
    // One transaction for every table: a failure leaves the database as it was (empty), so
    // the migration can simply be run again. The SQLite cursor feeds the COPY directly (it is
    // not `Send`, so not through `PgStore::with`): call this from a plain thread.
    let mut guard = dst.client.borrow_mut();
    let c: &mut postgres::Client = &mut guard;
    let mut tx = c.transaction()?;
    let mut done = Vec::new();
    for (t, cols) in &plan {
        let names: Vec<String> = cols.iter().map(|(n, _)| format!("\"{n}\"")).collect();
        let types: Vec<Type> = cols.iter().map(|(_, ty)| ty.clone()).collect();
        let select = format!("SELECT {} FROM \"{t}\"", names.join(", "));
        let copy = format!("COPY \"{t}\" ({}) FROM STDIN BINARY", names.join(", "));
        let mut st = src.conn.prepare(&select)?;
        let mut rows = st.query([])?;
        let sink = tx.copy_in(&copy)?;
        let mut w = BinaryCopyInWriter::new(sink, &types);
        let mut n: u64 = 0;
        let mut vals: Vec<Box<dyn ToSql + Sync + Send>> = Vec::with_capacity(cols.len());
        while let Some(r) = rows.next()? {
            vals.clear();
            for (i, (name, ty)) in cols.iter().enumerate() {
                let v: Value = r.get(i)?;
                vals.push(
                    convert(v, ty).map_err(|e| {
                        StoreError::Invalid(format!("{t}.{name}, row {}: {e}", n + 1))
                    })?,
                );
            }
            let refs: Vec<&(dyn ToSql + Sync)> =
                vals.iter().map(|b| &**b as &(dyn ToSql + Sync)).collect();
            w.write(&refs)?;
            n += 1;
        }
        w.finish()?;
        // Identity columns continue after the ids copied.
        for (name, _) in cols {
            let seq: Option<String> = tx
                .query_one(
                    "SELECT pg_get_serial_sequence($1, $2)",
                    &[&format!("\"{t}\""), &name],
                )?
                .get(0);
            if let Some(seq) = seq {
                tx.execute(
                    &format!(
                        "SELECT setval($1::text::regclass, \
                         GREATEST(COALESCE((SELECT max(\"{name}\") FROM \"{t}\"), 0), 1), \
                         (SELECT max(\"{name}\") FROM \"{t}\") IS NOT NULL)"
                    ),
                    &[&seq],
                )?;
            }
        }
        // Both sides must now hold the same number of rows.
        let had: i64 = src
            .conn
            .query_row(&format!("SELECT count(*) FROM \"{t}\""), [], |r| r.get(0))?;
        let has: i64 = tx
            .query_one(&format!("SELECT count(*) FROM \"{t}\""), &[])?
            .get(0);
        if had != has || n != has as u64 {
            return Err(StoreError::Invalid(format!(
                "{t}: the data folder holds {had} rows, {n} were copied, PostgreSQL holds {has}"
            )));
        }
        let c = TableCopied {
            table: t.clone(),
            rows: n,
        };
        progress(&c);
        done.push(c);
    }
    tx.commit()?;
    Ok(done)
}

/// One SQLite value as the PostgreSQL column type wants it.
fn convert(v: Value, ty: &Type) -> std::result::Result<Box<dyn ToSql + Sync + Send>, String> {
    fn int(v: &Value) -> std::result::Result<Option<i64>, String> {
        Ok(match v {
            Value::Null => None,
            Value::Integer(i) => Some(*i),
            Value::Real(f) if f.fract() == 0.0 => Some(*f as i64),
            Value::Text(s) => Some(
                s.trim()
                    .parse()
                    .map_err(|_| format!("{s:?} is not an integer"))?,
            ),
            other => return Err(format!("{other:?} is not an integer")),
        })
    }
    let out: Box<dyn ToSql + Sync + Send> = match *ty {
        Type::INT8 => Box::new(int(&v)?),
        Type::INT4 => Box::new(
            int(&v)?
                .map(i32::try_from)
                .transpose()
                .map_err(|e| e.to_string())?,
        ),
        Type::INT2 => Box::new(
            int(&v)?
                .map(i16::try_from)
                .transpose()
                .map_err(|e| e.to_string())?,
        ),
        Type::BOOL => Box::new(int(&v)?.map(|i| i != 0)),
        Type::FLOAT8 | Type::FLOAT4 => {
            let f = match v {
                Value::Null => None,
                Value::Integer(i) => Some(i as f64),
                Value::Real(f) => Some(f),
                Value::Text(s) => Some(
                    s.trim()
                        .parse::<f64>()
                        .map_err(|_| format!("{s:?} is not a number"))?,
                ),
                Value::Blob(_) => return Err("a blob is not a number".into()),
            };
            if *ty == Type::FLOAT4 {
                Box::new(f.map(|f| f as f32))
            } else {
                Box::new(f)
            }
        }
        Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME => Box::new(match v {
            Value::Null => None,
            Value::Integer(i) => Some(i.to_string()),
            Value::Real(f) => Some(f.to_string()),
            Value::Text(s) => Some(s),
            Value::Blob(b) => Some(
                String::from_utf8(b).map_err(|_| "a blob that is not UTF-8 text".to_string())?,
            ),
        }),
        Type::BYTEA => Box::new(match v {
            Value::Null => None,
            Value::Blob(b) => Some(b),
            Value::Text(s) => Some(s.into_bytes()),
            other => return Err(format!("{other:?} is not bytes")),
        }),
        ref other => return Err(format!("PostgreSQL type {other} is not handled by migrate")),
    };
    Ok(out)
}

impl PgStore {
    /// Columns of a table of the public schema with their types, in column order (empty when
    /// there is no such table).
    pub(crate) fn columns_of(&self, table: &str) -> Result<Vec<(String, Type)>> {
        let table = table.to_string();
        self.with(move |c| {
            let rows = c.query(
                "SELECT a.attname, a.atttypid FROM pg_attribute a
                 JOIN pg_class k ON k.oid = a.attrelid
                 JOIN pg_namespace n ON n.oid = k.relnamespace
                 WHERE n.nspname = current_schema() AND k.relname = $1
                   AND a.attnum > 0 AND NOT a.attisdropped
                 ORDER BY a.attnum",
                &[&table],
            )?;
            rows.iter()
                .map(|r| {
                    let name: String = r.get(0);
                    let oid: u32 = r.get(1);
                    let ty = Type::from_oid(oid).ok_or_else(|| {
                        StoreError::Invalid(format!("{table}.{name}: unknown type oid {oid}"))
                    })?;
                    Ok((name, ty))
                })
                .collect()
        })
    }

    pub(crate) fn has_rows(&self, table: &str) -> Result<bool> {
        let sql = format!("SELECT EXISTS (SELECT 1 FROM \"{table}\")");
        self.with(move |c| Ok(c.query_one(&sql, &[])?.get(0)))
    }
}
