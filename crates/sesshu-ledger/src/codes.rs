//! The clinic and vaccine-product code tables.
//!
//! Primitives only: rows arrive validated by `sesshu_domain::codes`, and the caller writes the
//! audit entry in the same [`Mutation`].

use crate::ledger::{Mutation, Reader};
use crate::LedgerError;
use rusqlite::params;
use sesshu_domain::codes::{LotFormat, Product};
use sesshu_domain::ids::ClinicCode;
use sesshu_domain::record::Clinic;

impl Reader<'_> {
    /// Every clinic, by code.
    pub fn clinics(&self) -> Result<Vec<Clinic>, LedgerError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT code, name FROM clinic ORDER BY code")?;
        let rows = stmt
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?
            .collect::<Result<Vec<_>, _>>()?;
        rows.into_iter()
            .map(|(code, name)| {
                Ok(Clinic {
                    code: ClinicCode::parse(&code)
                        .map_err(|_| LedgerError::InvalidData("clinic code".into()))?,
                    name,
                })
            })
            .collect()
    }

    pub fn clinic_count(&self) -> Result<u64, LedgerError> {
        let n: i64 = self
            .conn
            .query_row("SELECT count(*) FROM clinic", [], |r| r.get(0))?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    pub fn clinic_exists(&self, code: &ClinicCode) -> Result<bool, LedgerError> {
        Ok(self
            .conn
            .prepare_cached("SELECT EXISTS (SELECT 1 FROM clinic WHERE code = ?1)")?
            .query_row([code.as_str()], |r| r.get(0))?)
    }

    /// Every product, by code.
    pub fn products(&self) -> Result<Vec<Product>, LedgerError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT code, vaccine, name, maker, lot_format FROM product ORDER BY code",
        )?;
        let rows = stmt
            .query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, Option<String>>(4)?,
                ))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        rows.into_iter()
            .map(|(code, vaccine, name, maker, lot)| {
                Ok(Product {
                    code,
                    vaccine,
                    name,
                    maker,
                    lot_format: lot
                        .map(|l| LotFormat::parse(&l))
                        .transpose()
                        .map_err(|_| LedgerError::InvalidData("lot format".into()))?,
                })
            })
            .collect()
    }

    pub fn product_count(&self) -> Result<u64, LedgerError> {
        let n: i64 = self
            .conn
            .query_row("SELECT count(*) FROM product", [], |r| r.get(0))?;
        Ok(u64::try_from(n).unwrap_or(0))
    }
}

impl Mutation<'_> {
    /// Empties the clinic table (a full import then inserts the new rows in this transaction).
    pub fn clear_clinics(&mut self) -> Result<u64, LedgerError> {
        Ok(self.tx.execute("DELETE FROM clinic", [])? as u64)
    }

    /// Inserts or replaces one clinic; true when the code was new.
    pub fn upsert_clinic(&mut self, c: &Clinic) -> Result<bool, LedgerError> {
        let existed: bool = self
            .tx
            .prepare_cached("SELECT EXISTS (SELECT 1 FROM clinic WHERE code = ?1)")?
            .query_row([c.code.as_str()], |r| r.get(0))?;
        self.tx
            .prepare_cached(
                "INSERT INTO clinic (code, name) VALUES (?1, ?2) \
                 ON CONFLICT (code) DO UPDATE SET name = excluded.name",
            )?
            .execute(params![c.code.as_str(), c.name])?;
        Ok(!existed)
    }

    /// Empties the product table.
    pub fn clear_products(&mut self) -> Result<u64, LedgerError> {
        Ok(self.tx.execute("DELETE FROM product", [])? as u64)
    }

    /// Inserts or replaces one product; true when the code was new.
    pub fn upsert_product(&mut self, p: &Product) -> Result<bool, LedgerError> {
        let existed: bool = self
            .tx
            .prepare_cached("SELECT EXISTS (SELECT 1 FROM product WHERE code = ?1)")?
            .query_row([p.code.as_str()], |r| r.get(0))?;
        self.tx
            .prepare_cached(
                "INSERT INTO product (code, vaccine, name, maker, lot_format) \
                 VALUES (?1, ?2, ?3, ?4, ?5) \
                 ON CONFLICT (code) DO UPDATE SET vaccine = excluded.vaccine, \
                 name = excluded.name, maker = excluded.maker, lot_format = excluded.lot_format",
            )?
            .execute(params![
                p.code,
                p.vaccine,
                p.name,
                p.maker,
                p.lot_format.as_ref().map(LotFormat::as_str)
            ])?;
        Ok(!existed)
    }
}
